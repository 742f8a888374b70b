//go:build !(linux || darwin || freebsd || openbsd || netbsd || dragonfly)

package alttext

import (
	"errors"
	"os"
)

// openSidecar opens p for reading, refusing a symbolic link. Without
// O_NOFOLLOW the check and the open are two steps.
func openSidecar(p string) (*os.File, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return nil, errSymlink
	}
	return os.Open(p)
}

// openMedia opens p for reading.
func openMedia(p string) (*os.File, error) { return os.Open(p) }

// isSymlinkErr reports whether err is openSidecar refusing a symbolic link.
func isSymlinkErr(err error) bool { return errors.Is(err, errSymlink) }
