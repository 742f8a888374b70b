package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/mediasync/mediasync/internal/safefs"
)

// The agent reaches a folder's files only beneath the folder, never through a symbolic link in any
// component (internal/safefs): a directory swapped for a link to elsewhere, even while a file waits
// for its retry, cannot make it read, record or move a file outside the folder (issue 17.1).

// openFile opens j's file for reading beneath its folder and describes it from the open descriptor
// (never from the path). A file that is gone, or whose path now passes through a symbolic link,
// is reported as not existing (a caller flags its entry removed); a FIFO, a directory or a link as
// the file itself as not regular; in either case no file is returned.
func openFile(j job) (*os.File, observation, error) {
	f, err := safefs.Open(j.f.Path, filepath.FromSlash(j.rel))
	switch {
	case err == nil:
	case gone(err):
		return nil, observation{}, nil
	case errors.Is(err, syscall.ELOOP), errors.Is(err, syscall.EISDIR), errors.Is(err, syscall.ENXIO):
		return nil, observation{Exists: true}, nil
	default:
		return nil, observation{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, observation{}, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, observation{Exists: true}, nil
	}
	return f, observation{Exists: true, Regular: true, Size: fi.Size(), MTime: fi.ModTime(), CTime: changeTime(fi)}, nil
}

// exists reports whether j's path still leads, beneath its folder, to something (a removed file, or
// one behind a symbolic link that appeared above it, does not).
func exists(j job) bool {
	_, err := safefs.Lstat(j.f.Path, filepath.FromSlash(j.rel))
	return !gone(err) // an error of another kind says nothing: the file may well be there
}

// gone reports whether err says a path no longer leads to a file beneath its folder.
func gone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, safefs.ErrEscaped)
}

// moveFile moves j's file under the folder's move target, keeping its relative path, without
// following a symbolic link on either side, never overwriting (a numbered name is taken instead),
// keeping mode and mtime across devices, durably. It returns the path the file got.
func moveFile(j job) (string, error) {
	dstRoot, dstRel := j.f.MoveTo, filepath.FromSlash(j.rel)
	if r, err := filepath.Rel(j.f.Path, j.f.MoveTo); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		dstRoot, dstRel = j.f.Path, filepath.Join(r, dstRel) // inside the folder: beneath it, strictly
	}
	return safefs.Move(j.f.Path, filepath.FromSlash(j.rel), dstRoot, dstRel)
}
