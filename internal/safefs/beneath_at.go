//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package safefs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/mediasync/mediasync/internal/durable"
	"golang.org/x/sys/unix"
)

// The descriptor-based implementation: every name is looked up in a directory descriptor that was
// itself reached without following a symlink, so what is checked is what is used.

func ignoringEINTR[T any](f func() (T, error)) (T, error) {
	for {
		v, err := f()
		if !errors.Is(err, unix.EINTR) {
			return v, err
		}
	}
}

func ignoringEINTR0(f func() error) error {
	_, err := ignoringEINTR(func() (struct{}, error) { return struct{}{}, f() })
	return err
}

// openRoot opens the root directory, following its own symlinks: the root is configuration.
func openRoot(root string, flags int) (int, error) {
	fd, err := ignoringEINTR(func() (int, error) {
		return unix.Open(root, flags|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: root, Err: err}
	}
	return fd, nil
}

// openComponent opens the one name beneath dirfd without following it. The error O_NOFOLLOW gives
// at a symlink (ELOOP; EMLINK on FreeBSD) becomes ErrEscaped; so does any other error (EFTYPE on
// NetBSD, ENOTDIR when a directory was asked for) when fstatat finds a symlink there.
func openComponent(dirfd int, name string, flags int, mode uint32) (int, error) {
	fd, err := ignoringEINTR(func() (int, error) {
		return unix.Openat(dirfd, name, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	})
	switch {
	case err == nil:
		return fd, nil
	case errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EMLINK):
		return -1, ErrEscaped
	case !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EEXIST) && isSymlinkAt(dirfd, name):
		return -1, ErrEscaped
	}
	return -1, err
}

func isSymlinkAt(dirfd int, name string) bool {
	var st unix.Stat_t
	err := ignoringEINTR0(func() error { return unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) })
	return err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK
}

// walk opens the directories comps one below the other, starting beneath dirfd, and returns a new
// descriptor of the last one (of dirfd itself when comps is empty); the caller closes it. With
// mkdir, a missing directory is created (0755 before umask) in the descriptor of its parent.
func walk(dirfd int, comps []string, flags int, mkdir bool) (int, error) {
	if len(comps) == 0 {
		return openComponent(dirfd, ".", flags|unix.O_DIRECTORY, 0)
	}
	fd := dirfd
	for _, c := range comps {
		next, err := openDir(fd, c, flags)
		if mkdir && errors.Is(err, unix.ENOENT) {
			err = ignoringEINTR0(func() error { return unix.Mkdirat(fd, c, 0o755) })
			if err == nil || errors.Is(err, unix.EEXIST) {
				next, err = openDir(fd, c, flags)
			}
		}
		if fd != dirfd {
			unix.Close(fd)
		}
		if err != nil {
			return -1, err
		}
		fd = next
	}
	return fd, nil
}

// openDir opens the directory name beneath dirfd. Not with O_DIRECTORY: at a symlink that gives
// ENOTDIR (Linux, O_PATH), which a look at the name afterwards could misread if the name was
// swapped back meanwhile. The descriptor's own fstat tells a symlink (ErrEscaped) from another
// non-directory (ENOTDIR) without a race; O_NONBLOCK keeps a FIFO from holding the open.
func openDir(dirfd int, name string, flags int) (int, error) {
	fd, err := openComponent(dirfd, name, flags|unix.O_NONBLOCK, 0) // O_PATH ignores O_NONBLOCK
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return fd, nil
	case unix.S_IFLNK:
		unix.Close(fd)
		return -1, ErrEscaped
	}
	unix.Close(fd)
	return -1, unix.ENOTDIR
}

// openBeneath opens comps beneath the root descriptor rfd with flags (O_NOFOLLOW is added): by
// openat2 where the kernel has it, else component by component.
func openBeneath(rfd int, comps []string, flags int, o opts) (int, error) {
	if !o.walk {
		if fd, err, ok := openat2(rfd, comps, flags); ok {
			return fd, err
		}
	}
	if len(comps) == 1 {
		return openComponent(rfd, comps[0], flags, 0)
	}
	dfd, err := walk(rfd, comps[:len(comps)-1], searchFlags, false)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dfd)
	return openComponent(dfd, comps[len(comps)-1], flags, 0)
}

func open(root, rel string, o opts) (*os.File, error) {
	comps, err := split("open", root, rel)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(root, rel)
	rfd, err := openRoot(root, searchFlags)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rfd)
	// O_NONBLOCK: a FIFO swapped in for the file must not hold the caller in open(2). It is cleared
	// at once, so the file reads like one from os.Open.
	fd, err := openBeneath(rfd, comps, unix.O_RDONLY|unix.O_NONBLOCK, o)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: full, Err: err}
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "open", Path: full, Err: err}
	}
	return os.NewFile(uintptr(fd), full), nil
}

func lstat(root, rel string, o opts) (fs.FileInfo, error) {
	comps, err := split("lstat", root, rel)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(root, rel)
	rfd, err := openRoot(root, searchFlags)
	if err != nil {
		return nil, err
	}
	defer unix.Close(rfd)
	fi, err := lstatBeneath(rfd, comps, full, o)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: full, Err: err}
	}
	return fi, nil
}

func move(srcRoot, srcRel, dstRoot, dstRel string, o opts) (string, error) {
	src, dst := filepath.Join(srcRoot, srcRel), filepath.Join(dstRoot, dstRel)
	fail := func(err error) (string, error) {
		return dst, &os.LinkError{Op: "move", Old: src, New: dst, Err: unwrapPath(err)}
	}
	scomps, err := split("move", srcRoot, srcRel)
	if err != nil {
		return fail(fs.ErrInvalid)
	}
	dcomps, err := split("move", dstRoot, dstRel)
	if err != nil {
		return fail(fs.ErrInvalid)
	}

	srfd, err := openRoot(srcRoot, searchFlags)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(srfd)
	sdir, err := walk(srfd, scomps[:len(scomps)-1], unix.O_RDONLY, false)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(sdir)
	sname := scomps[len(scomps)-1]
	var st unix.Stat_t
	if err := ignoringEINTR0(func() error { return unix.Fstatat(sdir, sname, &st, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return fail(err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFLNK:
		return fail(ErrEscaped)
	default:
		return fail(errNotRegular)
	}

	drfd, err := openRoot(dstRoot, searchFlags)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(dstRoot, 0o755); err == nil {
			drfd, err = openRoot(dstRoot, searchFlags)
		}
	}
	if err != nil {
		return fail(err)
	}
	defer unix.Close(drfd)
	ddir, err := walk(drfd, dcomps[:len(dcomps)-1], unix.O_RDONLY, true)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(ddir)
	dname := dcomps[len(dcomps)-1]
	dparent := filepath.Dir(dst)

	if !o.copy {
		name, err := place(dname, func(n string) error { return renameNoReplace(sdir, sname, ddir, n) })
		if err == nil {
			dst = filepath.Join(dparent, name)
			if err := errors.Join(syncDir(ddir), syncDir(sdir)); err != nil {
				return fail(err)
			}
			return dst, nil
		}
		if !errors.Is(err, unix.EXDEV) {
			return fail(err)
		}
	}
	name, err := copyAcross(sdir, sname, ddir, dname)
	if name != "" {
		dst = filepath.Join(dparent, name)
	}
	if err != nil {
		return fail(err)
	}
	return dst, nil
}

var errNotRegular = errors.New("not a regular file")

// place gives a file the first free name among dname, "stem (1).ext", ...: try renames (or links)
// to a name without replacing it and fails with EEXIST when it is taken.
func place(dname string, try func(name string) error) (string, error) {
	for i := range maxNumbered {
		n := numbered(dname, i)
		err := try(n)
		if errors.Is(err, unix.EEXIST) {
			continue
		}
		return n, err
	}
	return "", unix.EEXIST
}

// linkRename renames old to new without replacing new where the kernel has no such rename: link
// the new name (atomic, fails with EEXIST), then unlink the old one. On a file system without hard
// links it checks then renames, which a concurrent creator of the same name can race.
func linkRename(olddir int, old string, newdir int, new string) error {
	err := ignoringEINTR0(func() error { return unix.Linkat(olddir, old, newdir, new, 0) })
	switch {
	case err == nil:
		if err := ignoringEINTR0(func() error { return unix.Unlinkat(olddir, old, 0) }); err != nil {
			unix.Unlinkat(newdir, new, 0) // back to one name, the old one
			return err
		}
		return nil
	case errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.EMLINK):
		var st unix.Stat_t
		if unix.Fstatat(newdir, new, &st, unix.AT_SYMLINK_NOFOLLOW) == nil {
			return unix.EEXIST
		}
		return ignoringEINTR0(func() error { return unix.Renameat(olddir, old, newdir, new) })
	}
	return err
}

// syncDir makes the names in a directory durable; a file system that cannot fsync a directory
// ([durable.Unsupported]) is accepted.
func syncDir(fd int) error {
	err := ignoringEINTR0(func() error { return unix.Fsync(fd) })
	if durable.Unsupported(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// copyAcross moves sname (in sdir) to a free name derived from dname (in ddir) on another device:
// copy to a temp name, keep mode, owner (as root) and mtime, fsync, name it without replacing
// anything, fsync the directory, then remove the source if it is still the file copied. It returns
// the name the copy got ("" if none).
func copyAcross(sdir int, sname string, ddir int, dname string) (string, error) {
	ifd, err := openComponent(sdir, sname, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", err
	}
	in := os.NewFile(uintptr(ifd), sname)
	defer in.Close()
	if err := unix.SetNonblock(ifd, false); err != nil {
		return "", err
	}
	var ist unix.Stat_t
	if err := unix.Fstat(ifd, &ist); err != nil {
		return "", err
	}
	if ist.Mode&unix.S_IFMT != unix.S_IFREG {
		return "", errNotRegular
	}
	fi, err := in.Stat()
	if err != nil {
		return "", err
	}

	var tmp string
	var ofd int
	for range 100 {
		tmp = fmt.Sprintf(".mediasync-move-%08x", rand.Uint32())
		ofd, err = openComponent(ddir, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o600)
		if !errors.Is(err, unix.EEXIST) {
			break
		}
	}
	if err != nil {
		return "", err
	}
	out := os.NewFile(uintptr(ofd), tmp)
	placed := false
	defer func() {
		out.Close()
		if !placed {
			unix.Unlinkat(ddir, tmp, 0)
		}
	}()
	if _, err := io.Copy(out, in); err != nil {
		return "", err
	}
	if os.Geteuid() == 0 {
		// Before the chmod: a chown clears the set-id bits.
		if err := unix.Fchown(ofd, int(ist.Uid), int(ist.Gid)); err != nil {
			return "", err
		}
	}
	if err := out.Chmod(fi.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		return "", err
	}
	ts := []unix.Timespec{unix.NsecToTimespec(time.Now().UnixNano()), unix.NsecToTimespec(fi.ModTime().UnixNano())}
	if err := ignoringEINTR0(func() error { return unix.UtimesNanoAt(ddir, tmp, ts, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return "", err
	}
	if err := ignoringEINTR0(func() error { return unix.Fsync(ofd) }); err != nil {
		return "", err
	}
	name, err := place(dname, func(n string) error { return renameNoReplace(ddir, tmp, ddir, n) })
	if err != nil {
		return "", err
	}
	placed = true
	if err := syncDir(ddir); err != nil {
		return name, err
	}
	// Remove the source only if its name still gives the file copied: a file put there meanwhile
	// was not copied and must stay.
	var now unix.Stat_t
	if err := ignoringEINTR0(func() error { return unix.Fstatat(sdir, sname, &now, unix.AT_SYMLINK_NOFOLLOW) }); err != nil {
		return name, fmt.Errorf("copied; remove source: %w", err)
	}
	if now.Dev != ist.Dev || now.Ino != ist.Ino {
		return name, fmt.Errorf("copied; source left in place: %w", errReplaced)
	}
	if err := ignoringEINTR0(func() error { return unix.Unlinkat(sdir, sname, 0) }); err != nil {
		return name, fmt.Errorf("copied; remove source: %w", err)
	}
	return name, syncDir(sdir)
}

var errReplaced = errors.New("the source name was given to another file during the copy")
