//go:build unix

package auth

import (
	"io/fs"
	"syscall"
)

func stampOf(fi fs.FileInfo) stamp {
	st := stamp{ok: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
		st.dev, st.ino = uint64(sys.Dev), uint64(sys.Ino)
	}
	return st
}
