//go:build darwin

package watcher

import (
	"strings"

	"golang.org/x/sys/unix"
)

// remoteFS reports whether path lies on a network or FUSE filesystem, and
// its type name when it does.
func remoteFS(path string) (string, bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return "", false, err
	}
	name := unix.ByteSliceToString(st.Fstypename[:])
	switch {
	case name == "smbfs", name == "nfs", name == "afpfs", name == "webdav", name == "cifs",
		strings.HasPrefix(name, "macfuse"), strings.HasPrefix(name, "osxfuse"), strings.HasPrefix(name, "fuse"):
		return name, true, nil
	}
	return name, false, nil
}
