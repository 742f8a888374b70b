//go:build !unix

package auth

import "io/fs"

// stampOf has no inode here (Windows, plan9, wasip1): size and mtime only.
func stampOf(fi fs.FileInfo) stamp {
	return stamp{ok: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}
