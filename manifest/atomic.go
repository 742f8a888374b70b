package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/mediasync/mediasync/internal/durable"
)

// writeSyncer is what a manifest is written through: the temp file, or a test's faulty wrapper.
type writeSyncer interface {
	io.Writer
	Sync() error
}

// tempPattern names temp files "." + base + ".tmp-" + random, in the manifest's own directory: the
// rename must not cross file systems, and a leading dot keeps them out of watchers' way.
func tempPattern(path string) string { return "." + filepath.Base(path) + ".tmp-*" }

func dir(path string) string { return filepath.Dir(path) }

// writeFile replaces the manifest with data atomically and durably: a temp file in the same
// directory is written, fsynced and closed, renamed over the manifest, and the directory is
// fsynced. Stdlib rather than google/renameio: the temp name must be predictable so that Open can
// remove what a crash left behind, and the tests need a seam between the steps.
//
// On any error the temp file is removed and the old manifest is untouched, except when only the
// final directory fsync fails: the new version is then in place (renamed is true) but not known to
// be durable, and the error is returned so that the caller does not count on it. fi is the new
// file as written (the rename keeps its inode, size and mtime), for telling it apart later from a
// file another program put there.
func (s *Store) writeFile(data []byte) (renamed bool, fi fs.FileInfo, err error) {
	f, err := os.CreateTemp(dir(s.path), tempPattern(s.path))
	if errors.Is(err, fs.ErrNotExist) {
		// Someone removed the manifest's directory while we run: recreate it and the whole state.
		if err = os.MkdirAll(dir(s.path), 0o755); err == nil {
			f, err = os.CreateTemp(dir(s.path), tempPattern(s.path))
		}
	}
	if err != nil {
		return false, nil, fmt.Errorf("write manifest %s: %w", s.path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil && !renamed {
			f.Close()
			os.Remove(tmp)
		}
		if err != nil {
			err = fmt.Errorf("write manifest %s: %w", s.path, err)
		}
	}()
	if err := f.Chmod(s.perm); err != nil && runtime.GOOS != "windows" {
		return false, nil, err
	}
	var w writeSyncer = f
	if s.hooks.wrapTemp != nil {
		w = s.hooks.wrapTemp(f)
	}
	if _, err := w.Write(data); err != nil {
		return false, nil, err
	}
	if err := w.Sync(); err != nil {
		return false, nil, err
	}
	if fi, err = f.Stat(); err != nil {
		return false, nil, err
	}
	if err := f.Close(); err != nil {
		return false, nil, err
	}
	if s.hooks.beforeRename != nil {
		if err := s.hooks.beforeRename(tmp); err != nil {
			return false, nil, err
		}
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return false, nil, err
	}
	// The attributes as the file system gives them by name from now on (a network file system may
	// settle the mtime only at close), as long as the name still gives our inode.
	if after, err := os.Lstat(s.path); err == nil && os.SameFile(after, fi) {
		fi = after
	}
	sync := syncDir
	if s.hooks.syncDir != nil {
		sync = s.hooks.syncDir
	}
	return true, fi, sync(dir(s.path))
}

// syncDir makes a rename in dir durable (internal/durable).
var syncDir = durable.SyncDir

// removeTemps deletes temp files left by writes that crashed before their rename. Only the lock
// holder calls it, so no write of another store is in progress. Failures are harmless (a leftover
// temp file is never read) and ignored.
func removeTemps(path string) {
	entries, err := os.ReadDir(dir(path))
	if err != nil {
		return
	}
	prefix := strings.TrimSuffix(tempPattern(path), "*")
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) && e.Type().IsRegular() {
			os.Remove(filepath.Join(dir(path), e.Name()))
		}
	}
}
