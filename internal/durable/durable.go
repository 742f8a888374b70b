// Package durable holds the last step of the recipe by which mediasync replaces a file durably
// (write a temp file, fsync it, rename it over the target, fsync the directory): [SyncDir], and
// [Unsupported], the one answer to "this file system cannot sync a directory". The manifest, the
// OAuth 2.0 token store and safefs's moves use them.
package durable

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"
)

// SyncDir makes a rename in dir durable. File systems that cannot fsync a directory ([Unsupported])
// are accepted. Windows cannot open a directory for syncing.
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
	if err != nil && !Unsupported(err) {
		return fmt.Errorf("sync directory: %w", err)
	}
	return cerr
}

// Unsupported reports whether err is a file system's way of saying it cannot fsync a directory:
// EINVAL (Linux's network and FUSE mounts), ENOTSUP or EOPNOTSUPP (distinct errors on the BSDs).
// The rename is done then, and there is nothing more to ask of it.
func Unsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, errors.ErrUnsupported)
}
