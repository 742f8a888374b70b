//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package safefs

import (
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// searchFlags open a directory to look names up in it.
const searchFlags = unix.O_RDONLY

// openat2 is Linux only: always walk.
func openat2(int, []string, int) (int, error, bool) { return -1, nil, false }

// lstatBeneath stats the entry through its directory's descriptor, then takes the os.FileInfo of
// the same name by path (so that os.SameFile understands it) and keeps it only if both describe the
// same inode: a parent swapped for a symlink in between makes them differ.
func lstatBeneath(rfd int, comps []string, full string, _ opts) (fs.FileInfo, error) {
	dfd, err := walk(rfd, comps[:len(comps)-1], searchFlags, false)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dfd)
	var st unix.Stat_t
	name := comps[len(comps)-1]
	if err := ignoringEINTR0(func() error { return unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return nil, err
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, err
	}
	if !sameInode(&st, fi) {
		return nil, ErrEscaped
	}
	return fi, nil
}

// sameInode reports whether st and the os.FileInfo fi describe the same file.
func sameInode(st *unix.Stat_t, fi fs.FileInfo) bool {
	s, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(s.Dev) == uint64(st.Dev) && uint64(s.Ino) == uint64(st.Ino)
}
