package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Options tune a [Store]; the zero value is the default.
type Options struct {
	// Report, when set, is told of each problem the store found and dealt with by itself, so that
	// the caller can log it once (this package does not log): a manifest or journal damaged or
	// replaced behind its back (a *[DamageError], wrapping [ErrCorrupt]), or a lost lock taken
	// again (wrapping [ErrLockLost]). It is called from the goroutine of the call that found the
	// problem (OpenWith, Put, PutMany, Flush, Close, CheckLock, or the checkpoint timer), once
	// that call's write is over and without the store's mutex, so it may use the store.
	Report func(err error)
}

// DamageError reports a manifest or journal file that was damaged, or changed by another program,
// behind the [Store]'s back: what was found, where the damaged bytes were kept, and what the store
// did. It wraps [ErrCorrupt].
type DamageError struct {
	Path    string // the damaged file: the manifest or its journal
	Kept    string // where its damaged bytes were kept: Path + ".damaged-" + UTC time (20060102T150405Z)
	Problem string // what was found
	Action  string // what the store did about it
}

func (e *DamageError) Error() string {
	return fmt.Sprintf("%s: %s: %s; the damaged file was kept as %s; %s", ErrCorrupt, e.Path, e.Problem, e.Kept, e.Action)
}

func (e *DamageError) Unwrap() error { return ErrCorrupt }

// CheckLock makes sure the store still holds its lock. The lock is an flock on the lock file's
// inode, so it is lost, without the kernel saying so, when the file is removed or replaced
// (deleting the .mediasync directory while the agent runs): a second agent then creates a new lock
// file, locks it, and both write the folder. CheckLock compares the lock file's name with the inode
// locked: one stat(2), a microsecond or two, so it may be called before every upload or on a
// ticker. Every write of the store makes the same check first, so a write never goes out unlocked.
//
// When the lock was lost, CheckLock creates the lock file again and locks it, reports it through
// [Options.Report] (wrapping [ErrLockLost]) and rewrites the whole manifest, which usually went
// with the lock file. If another process holds the new lock, it returns an error wrapping
// [ErrLocked] and [ErrLockLost]: the store then writes nothing more (Put, Flush and Close return
// that error) and should be closed; the folder belongs to the other process.
func (s *Store) CheckLock() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("check manifest lock: %w", ErrClosed)
	}
	for {
		if s.lockErr != nil {
			return s.lockErr
		}
		held, err := s.lock.held()
		if err != nil {
			return fmt.Errorf("check manifest lock %s: %w", LockPath(s.path), err)
		}
		if held {
			return nil
		}
		if !s.writing {
			break
		}
		done := s.done // the write in flight checks the lock first; see what it found
		s.mu.Unlock()
		<-done
		s.mu.Lock()
	}
	return s.lead(true)
}

// guard checks, before a write, that the store still holds its lock and that the manifest and
// journal on disk are the ones it wrote; force asks for a checkpoint (the whole state) after a
// repair. s.mu is held and the caller owns the write slot.
func (s *Store) guard(now time.Time) (force bool, err error) {
	if s.lockErr != nil {
		return false, s.lockErr
	}
	held, err := s.lock.held()
	if err != nil {
		return false, fmt.Errorf("check manifest lock %s: %w", LockPath(s.path), err)
	}
	if !held {
		if err := s.relock(now); err != nil {
			return false, err
		}
		force = true
	}
	f1, err := s.checkFile(now)
	if err != nil {
		return false, err
	}
	f2, err := s.checkJournal(now)
	if err != nil {
		return false, err
	}
	return force || f1 || f2, nil
}

// relock takes the lock again after it was lost. If another process holds it now, the store stops
// writing for good (s.lockErr).
func (s *Store) relock(now time.Time) error {
	if err := os.MkdirAll(dir(s.path), 0o755); err != nil {
		return fmt.Errorf("manifest %s: %w; locking it again: %w", s.path, ErrLockLost, err)
	}
	l, err := acquire(s.path, now)
	if errors.Is(err, ErrLocked) {
		s.lock.fl.Unlock() // the lock on the old inode protects nothing now
		s.lockErr = fmt.Errorf("manifest %s: %w, and another process locked it since: %w", s.path, ErrLockLost, err)
		return s.lockErr
	}
	if err != nil {
		return fmt.Errorf("manifest %s: %w; locking it again: %w", s.path, ErrLockLost, err)
	}
	s.lock.fl.Unlock()
	s.lock = l
	s.stats.Relocked++
	s.reports = append(s.reports, fmt.Errorf("manifest %s: %w; locked it again and rewrote the manifest", s.path, ErrLockLost))
	return nil
}

// checkFile compares the manifest on disk with the version this store last read or wrote (inode,
// size and mtime: one lstat). A file that differs was overwritten or replaced by another program:
// it is kept aside and reported, and force asks for the whole state to be written in its place. A
// missing one (removed with its directory) is simply written again.
func (s *Store) checkFile(now time.Time) (force bool, err error) {
	fi, err := os.Lstat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if s.disk == nil {
			return false, nil
		}
		s.disk = nil
		return true, nil
	case err != nil:
		return false, fmt.Errorf("check manifest %s: %w", s.path, err)
	case s.disk != nil && sameVersion(fi, s.disk):
		return false, nil
	}
	problem := "changed by another program since this store wrote it (overwritten or replaced)"
	if s.disk == nil {
		problem = "a manifest this store did not write appeared"
	}
	kept, err := keepAside(s.path, now)
	if err != nil {
		return false, fmt.Errorf("manifest %s: %s; keeping it aside: %w", s.path, problem, err)
	}
	s.disk = nil
	s.damaged(&DamageError{Path: s.path, Kept: kept, Problem: problem, Action: "this store's state was written in its place"})
	return true, nil
}

// checkJournal compares the journal on disk with the one this store appends to (inode and
// length). One that differs is kept aside and reported; either way the store stops appending to
// it and asks for a checkpoint, which holds every change.
func (s *Store) checkJournal(now time.Time) (force bool, err error) {
	if s.jfi == nil || s.broken { // broken: its length is unknown, and the next write drops it anyway
		return false, nil
	}
	jp := JournalPath(s.path)
	fi, err := os.Lstat(jp)
	if err == nil && os.SameFile(fi, s.jfi) && fi.Size() == s.jbytes {
		return false, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("check manifest journal %s: %w", jp, err)
	}
	if err == nil {
		kept, err := keepAside(jp, now)
		if err != nil {
			return false, fmt.Errorf("manifest journal %s was changed by another program; keeping it aside: %w", jp, err)
		}
		s.damaged(&DamageError{Path: jp, Kept: kept, Problem: "changed by another program since this store wrote it",
			Action: "this store's state was written to the manifest, and a new journal is started"})
	}
	if s.jf != nil {
		s.jf.Close()
		s.jf = nil
	}
	s.jfi, s.jbytes = nil, 0
	return true, nil
}

// sameVersion reports whether two descriptions are of the same file, unchanged.
func sameVersion(a, b fs.FileInfo) bool {
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// damaged counts a damage and queues its report. s.mu is held.
func (s *Store) damaged(err *DamageError) {
	s.stats.Damaged++
	s.reports = append(s.reports, err)
}

// deliver hands the queued reports to Options.Report. s.mu must not be held.
func (s *Store) deliver() {
	s.mu.Lock()
	rs := s.reports
	s.reports = nil
	s.mu.Unlock()
	if s.report == nil {
		return
	}
	for _, err := range rs {
		s.report(err)
	}
}

// damagedName returns a free name path + ".damaged-" + now in UTC, with "-2", "-3", ... added
// when several damages share a second.
func damagedName(path string, now time.Time) string {
	base := path + ".damaged-" + now.UTC().Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return name
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
}

// keepAside renames a damaged file to its damaged name, durably.
func keepAside(path string, now time.Time) (string, error) {
	name := damagedName(path, now)
	if err := os.Rename(path, name); err != nil {
		return "", err
	}
	return name, syncDir(dir(path))
}

// keepCopy writes data, the damaged contents of path, to its damaged name, durably.
func keepCopy(path string, data []byte, perm fs.FileMode, now time.Time) (string, error) {
	name := damagedName(path, now)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(dir(path))
	}
	if err != nil {
		os.Remove(name)
		return "", err
	}
	return name, nil
}
