//go:build !unix

package agent

import (
	"errors"
	"io/fs"
	"os"
	"time"
)

// openFile opens j's file for reading and describes it from the open descriptor; see the unix
// version. Here a symlink is refused by an Lstat before the open.
func openFile(j job) (*os.File, observation, error) {
	li, err := os.Lstat(j.abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, observation{}, nil
	}
	if err != nil {
		return nil, observation{}, err
	}
	if !li.Mode().IsRegular() {
		return nil, observation{Exists: true}, nil
	}
	f, err := os.Open(j.abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, observation{}, nil
	}
	if err != nil {
		return nil, observation{}, err
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !os.SameFile(li, fi) {
		f.Close()
		return nil, observation{Exists: true}, err
	}
	return f, observation{Exists: true, Regular: true, Size: fi.Size(), MTime: fi.ModTime()}, nil
}

func changeTime(os.FileInfo) time.Time { return time.Time{} }

func isCrossDevice(error) bool { return false }
