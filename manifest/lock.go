package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gofrs/flock"
)

// LockPath returns the path of the lock file that guards the manifest at path.
func LockPath(path string) string { return path + ".lock" }

// lockFile is a held lock: the flock on a descriptor of the lock file, and the identity of the
// inode locked. A lock is only worth something while LockPath names that inode: once the file is
// removed (with the whole .mediasync directory, say), another process creates a new one and locks
// it too.
type lockFile struct {
	fl *flock.Flock
	id fs.FileInfo // fstat of the locked descriptor, taken once: its inode never changes
}

// acquire takes the manifest's exclusive lock without waiting, and writes who holds it into the
// lock file so that a refused second writer can name the holder.
func acquire(path string, now time.Time) (*lockFile, error) {
	lp := LockPath(path)
	l := flock.New(lp, flock.SetPermissions(0o644))
	ok, err := l.TryLock()
	if err != nil {
		if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.EOPNOTSUPP) {
			return nil, fmt.Errorf("lock %s: %w (this file system does not support locks; put the manifest on a local disk with folders[].manifest)", lp, err)
		}
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	if !ok {
		if holder := readHolder(lp); holder != "" {
			return nil, fmt.Errorf("%w (%s); only one agent may write a folder's manifest", ErrLocked, holder)
		}
		return nil, fmt.Errorf("%w (lock file %s); only one agent may write a folder's manifest", ErrLocked, lp)
	}
	id, err := l.Stat() // the locked descriptor's fstat
	if err != nil {
		l.Unlock()
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	lf := &lockFile{fl: l, id: id}
	if runtime.GOOS == "windows" {
		return lf, nil // LockFileEx is mandatory there: the lock file cannot be written through another handle
	}
	host, _ := os.Hostname()
	info := fmt.Sprintf("pid %d on host %s since %s\n", os.Getpid(), host, now.UTC().Format(time.RFC3339))
	// Truncating and writing in place keeps the inode that carries the lock.
	if err := os.WriteFile(lp, []byte(info), 0o644); err != nil {
		l.Unlock()
		return nil, fmt.Errorf("lock %s: %w", lp, err)
	}
	return lf, nil
}

// held reports whether the lock file's name still gives the inode locked: one stat(2).
func (l *lockFile) held() (bool, error) {
	fi, err := os.Stat(l.fl.Path())
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, l.id), nil
}

// readHolder returns the holder line of a lock file, or "" when it is unreadable or not ours.
func readHolder(lp string) string {
	data, err := os.ReadFile(lp)
	if err != nil || len(data) > 512 {
		return ""
	}
	s := strings.TrimSpace(string(data))
	if !strings.HasPrefix(s, "pid ") || strings.ContainsAny(s, "\n\r") {
		return ""
	}
	return s
}

// release empties the holder line and unlocks. The lock file itself stays: removing it would let
// two processes lock two different inodes of the same name. A lock file that is no longer ours
// (lost, see held) is left alone: its holder line is another process's.
func (l *lockFile) release() error {
	var terr error
	if runtime.GOOS != "windows" {
		if ours, _ := l.held(); ours {
			terr = os.Truncate(l.fl.Path(), 0)
		}
	}
	if err := l.fl.Unlock(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.fl.Path(), err)
	}
	if terr != nil {
		return fmt.Errorf("clear lock %s: %w", l.fl.Path(), terr)
	}
	return nil
}
