//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package alttext

import (
	"errors"
	"os"
	"syscall"
)

// openSidecar opens p for reading without following a symbolic link (the
// open fails instead) and without blocking on a FIFO.
func openSidecar(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// openMedia opens p for reading without blocking on a FIFO.
func openMedia(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}

// isSymlinkErr reports whether err is how openSidecar refuses a symbolic link:
// ELOOP (Linux, macOS, OpenBSD) or EMLINK (FreeBSD, DragonFly). Other errors
// (NetBSD's EFTYPE) still refuse the sidecar, with the system's message.
func isSymlinkErr(err error) bool {
	return errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK)
}
