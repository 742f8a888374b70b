package safefs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrEscaped: a component of the path beneath the root is a symbolic link (or the path otherwise
// leads out of the root), so the call refused to go there. The file the caller meant is, for its
// purposes, gone.
var ErrEscaped = errors.New("symbolic link in path beneath root")

// opts are the switches tests use to reach the paths a given machine would not take by itself.
// Production code uses the zero value.
type opts struct {
	walk bool // never use openat2: resolve component by component (the fallback of old kernels)
	copy bool // Move copies as if the roots were on different devices
}

// Open opens the file root/rel for reading without following any symbolic link beneath root.
// See the package documentation for the guarantees and errors.
func Open(root, rel string) (*os.File, error) { return open(root, rel, opts{}) }

// Lstat describes root/rel without following a symbolic link beneath root: a symlink as the last
// component is described (Mode()&fs.ModeSymlink), one above it gives [ErrEscaped].
func Lstat(root, rel string) (fs.FileInfo, error) { return lstat(root, rel, opts{}) }

// Move moves the regular file srcRoot/srcRel to dstRoot/dstRel and returns the path it got there
// (filepath.Join(dstRoot, rel) where rel is dstRel or, when that name is taken, dstRel with " (1)",
// " (2)", ... before its extension). Missing directories of dstRel are created (0755); dstRoot
// itself is created with os.MkdirAll when missing (it is configuration, like the roots' own
// symlinks). Nothing is ever overwritten, no symlink beneath either root is followed, and across
// devices the copy keeps the mode and mtime; see the package documentation.
func Move(srcRoot, srcRel, dstRoot, dstRel string) (string, error) {
	return move(srcRoot, srcRel, dstRoot, dstRel, opts{})
}

// split validates rel and returns its components. A rel that is empty, absolute or climbs out with
// ".." is refused with fs.ErrInvalid: callers build rel from a walk beneath the root, so this is a
// bug, not a race.
func split(op, root, rel string) ([]string, error) {
	c := filepath.Clean(rel)
	if rel == "" || c == "." || !filepath.IsLocal(c) {
		return nil, &fs.PathError{Op: op, Path: filepath.Join(root, rel), Err: fs.ErrInvalid}
	}
	return strings.Split(filepath.ToSlash(c), "/"), nil
}

// numbered returns the i-th candidate name for base: base itself, then "stem (i).ext".
func numbered(base string, i int) string {
	if i == 0 {
		return base
	}
	ext := filepath.Ext(base)
	if ext == base { // ".jpg": a dot file has no extension to keep apart
		ext = ""
	}
	return fmt.Sprintf("%s (%d)%s", base[:len(base)-len(ext)], i, ext)
}

// maxNumbered bounds the search for a free name; a directory with this many copies of one name is
// not a case worth serving.
const maxNumbered = 10000

// unwrapPath returns the cause inside a *fs.PathError, so that an error about two paths (Move's
// *os.LinkError) does not name one of them twice.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
