package safefs

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// searchFlags open a directory only to look names up in it: O_PATH needs no read permission.
const searchFlags = unix.O_PATH

// openat2Missing is set once openat2 turned out to be unavailable (ENOSYS before Linux 5.6, EPERM
// or ENOSYS from a seccomp filter that does not know it); every later call walks instead.
var openat2Missing atomic.Bool

// openat2 opens comps beneath rfd in one system call that refuses every symlink and every way
// out. ok is false when the caller must walk instead.
func openat2(rfd int, comps []string, flags int) (fd int, err error, ok bool) {
	if openat2Missing.Load() {
		return -1, nil, false
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	rel := strings.Join(comps, "/")
	// EAGAIN: a concurrent rename made the kernel unsure the lookup stayed beneath; it asks to retry.
	for range 16 {
		fd, err := unix.Openat2(rfd, rel, &how)
		switch {
		case err == nil:
			return fd, nil, true
		case errors.Is(err, unix.EINTR) || errors.Is(err, unix.EAGAIN):
			continue
		case errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.E2BIG):
			openat2Missing.Store(true)
			return -1, nil, false
		case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EXDEV):
			return -1, ErrEscaped, true // a symlink on the way (RESOLVE_NO_SYMLINKS) or a way out
		default:
			return -1, err, true
		}
	}
	return -1, nil, false
}

// lstatBeneath opens the entry itself with O_PATH|O_NOFOLLOW (a trailing symlink gives a
// descriptor of the link) and stats the descriptor, so the result is a real *os.fileStat that
// os.SameFile understands.
func lstatBeneath(rfd int, comps []string, full string, o opts) (fs.FileInfo, error) {
	fd, err := openBeneath(rfd, comps, unix.O_PATH, o)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), full)
	defer f.Close()
	return f.Stat()
}

// renameNoReplace is renameat2(RENAME_NOREPLACE); file systems that do not support the flag
// (EINVAL) fall back to linkRename.
func renameNoReplace(olddir int, old string, newdir int, new string) error {
	err := ignoringEINTR0(func() error { return unix.Renameat2(olddir, old, newdir, new, unix.RENAME_NOREPLACE) })
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP) {
		return linkRename(olddir, old, newdir, new)
	}
	return err
}
