//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

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
)

// The best-effort implementation for systems without openat (Windows, Plan 9, wasm): each
// component is Lstat'ed before use and the file opened is checked to be the entry Lstat'ed. A swap
// between the checks and the use can still win the race; the descriptor-based implementation is the
// one with guarantees.

// checkDirs Lstats root/comps[0], root/comps[0]/comps[1], ... and fails with ErrEscaped at a
// symlink (or another reparse point) and ENOTDIR-like at a non-directory. With mkdir it creates
// the missing ones.
func checkDirs(root string, comps []string, mkdir bool) (string, error) {
	cur := root
	for _, c := range comps {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if mkdir && errors.Is(err, fs.ErrNotExist) {
			if err = os.Mkdir(cur, 0o755); err == nil || errors.Is(err, fs.ErrExist) {
				fi, err = os.Lstat(cur)
			}
		}
		if err != nil {
			return cur, err
		}
		if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
			return cur, ErrEscaped
		}
		if !fi.IsDir() {
			return cur, errNotDir
		}
	}
	return cur, nil
}

var (
	errNotDir     = errors.New("not a directory")
	errNotRegular = errors.New("not a regular file")
)

func open(root, rel string, o opts) (*os.File, error) {
	if _, err := split("open", root, rel); err != nil {
		return nil, err
	}
	full := filepath.Join(root, rel)
	fi, err := lstat(root, rel, o)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: full, Err: errors.Unwrap(err)}
	}
	if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		return nil, &fs.PathError{Op: "open", Path: full, Err: ErrEscaped}
	}
	f, err := os.Open(full)
	if err != nil {
		return nil, err
	}
	if got, err := f.Stat(); err != nil || !os.SameFile(got, fi) {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: full, Err: ErrEscaped}
	}
	return f, nil
}

func lstat(root, rel string, _ opts) (fs.FileInfo, error) {
	comps, err := split("lstat", root, rel)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(root, rel)
	if _, err := checkDirs(root, comps[:len(comps)-1], false); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: full, Err: unwrapPath(err)}
	}
	fi, err := os.Lstat(full)
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: full, Err: unwrapPath(err)}
	}
	return fi, nil
}

func move(srcRoot, srcRel, dstRoot, dstRel string, o opts) (string, error) {
	src, dst := filepath.Join(srcRoot, srcRel), filepath.Join(dstRoot, dstRel)
	fail := func(err error) (string, error) {
		return dst, &os.LinkError{Op: "move", Old: src, New: dst, Err: unwrapPath(err)}
	}
	if _, err := split("move", srcRoot, srcRel); err != nil {
		return fail(fs.ErrInvalid)
	}
	dcomps, err := split("move", dstRoot, dstRel)
	if err != nil {
		return fail(fs.ErrInvalid)
	}
	fi, err := lstat(srcRoot, srcRel, o)
	if err != nil {
		return fail(err)
	}
	switch {
	case fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
		return fail(ErrEscaped)
	case !fi.Mode().IsRegular():
		return fail(errNotRegular)
	}
	if err := os.MkdirAll(dstRoot, 0o755); err != nil {
		return fail(err)
	}
	dir, err := checkDirs(dstRoot, dcomps[:len(dcomps)-1], true)
	if err != nil {
		return fail(err)
	}
	base := dcomps[len(dcomps)-1]
	for i := range maxNumbered {
		dst = filepath.Join(dir, numbered(base, i))
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if !o.copy {
		err := os.Rename(src, dst)
		if err == nil || filepath.VolumeName(srcRoot) == filepath.VolumeName(dstRoot) {
			if err != nil {
				return fail(err)
			}
			return dst, nil
		}
	}
	if err := copyFile(src, dst, fi); err != nil {
		return fail(err)
	}
	return dst, os.Remove(src)
}

// copyFile copies src to a temp name beside dst, keeps its mode and mtime, syncs it and gives it
// the name dst.
func copyFile(src, dst string, fi fs.FileInfo) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := filepath.Join(filepath.Dir(dst), fmt.Sprintf(".mediasync-move-%08x", rand.Uint32()))
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, fi.Mode().Perm())
	}
	if err == nil {
		err = os.Chtimes(tmp, time.Now(), fi.ModTime())
	}
	if err == nil {
		if _, lerr := os.Lstat(dst); lerr == nil {
			err = fs.ErrExist
		} else {
			err = os.Rename(tmp, dst)
		}
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}
