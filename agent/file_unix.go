//go:build unix

package agent

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// openFile opens j's file for reading without following a symlink in its last component and
// without blocking on a FIFO, and describes it from the open descriptor (never from the path). A
// file that is gone, or whose path no longer leads to it, is reported as not existing; a symlink,
// FIFO or directory as not regular (and no file is returned for either).
func openFile(j job) (*os.File, observation, error) {
	f, err := os.OpenFile(j.abs, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOFOLLOW, 0)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return nil, observation{}, nil
	case errors.Is(err, syscall.ELOOP):
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

// changeTime is the inode's change time: any write, even one that restores the mtime, moves it.
func changeTime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)) //nolint:unconvert // int32 on some platforms
	}
	return time.Time{}
}

func isCrossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }
