// Package durable holds the one recipe mediasync uses to make a rename durable, shared by the
// manifest and the OAuth 2.0 token store: write a temp file, fsync it, rename it over the target,
// then fsync the directory ([SyncDir]).
package durable

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// SyncDir makes a rename in dir durable. File systems that cannot fsync a directory (some network
// and FUSE mounts answer EINVAL or ENOTSUP) are accepted: the rename is done and there is nothing
// more to ask of them. Windows cannot open a directory for syncing.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	cerr := f.Close()
	if err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) && !errors.Is(err, errors.ErrUnsupported) {
		return fmt.Errorf("sync directory: %w", err)
	}
	return cerr
}
