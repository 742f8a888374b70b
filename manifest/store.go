package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
	"time"
)

// Store is the one writer of a folder's manifest. It holds the manifest in memory and makes every
// change durable before Put returns, by rewriting the file atomically or, for a large manifest, by
// appending to its journal; changes that arrive together share one write (group commit).
// It is safe for concurrent use.
type Store struct {
	path   string
	folder string
	perm   fs.FileMode
	report func(error) // Options.Report
	hooks  hooks

	mu       sync.Mutex
	files    map[string]Entry  // the current state, normalised (see Entry.utc)
	enc      map[string][]byte // cached file members (see member); a missing key is encoded at the next write
	keys     []string          // the keys of files, sorted unless unsorted is set
	unsorted bool
	seq      uint64        // number of the last change
	durable  uint64        // every change up to this number is on disk
	writing  bool          // a write is in flight (its writer owns buf and members)
	done     chan struct{} // closed when the write in flight ends
	last     writeResult   // the outcome of the last write
	closed   bool
	stats    Stats
	reports  []error // for Options.Report, delivered by lead once the write slot is free

	// What the store holds on disk, checked before each write (guard.go); changed only by the
	// writer in flight, with s.mu held.
	lock    *lockFile
	lockErr error       // the lock was lost to another process: the store writes nothing more
	disk    fs.FileInfo // the manifest file as this store last read or wrote it; nil: none

	buf     bytes.Buffer // owned by the writer in flight
	members [][]byte     // owned by the writer in flight

	// Journal state (journal.go); changed only by the writer in flight, with s.mu held.
	dirty          map[string]struct{} // keys changed since the last durable write
	base           time.Time           // updated_at of the manifest file on disk
	fbytes         int64               // its size; 0 when there is none
	jf             *os.File            // the journal, open for appending
	jfi            fs.FileInfo         // the journal file this store appends to (nil: none yet)
	jbytes         int64               // the journal's length
	broken         bool                // a failed append could not be cut back: checkpoint next
	lastCheckpoint time.Time
	timer          *time.Timer   // checkpoints a journal left behind by a burst
	smallFile      int64         // manifests smaller than this are always rewritten whole
	maxLag         time.Duration // the manifest file trails the journal by at most about this much
}

// Defaults of the journal policy (see journal.go).
const (
	defaultSmallFile = 256 << 10
	defaultMaxLag    = 10 * time.Second
)

type writeResult struct {
	upTo uint64 // changes 1..upTo were in the write
	err  error
}

// Stats counts a store's work since Open, for metrics and benchmarks.
type Stats struct {
	Puts         int64 // Put, PutMany and Stage calls
	Writes       int64 // durable writes tried: checkpoints and journal appends
	Checkpoints  int64 // whole manifest files written
	FailedWrites int64
	BytesWritten int64 // bytes of committed manifest files and journal records
	Damaged      int64 // manifest or journal files found damaged or replaced, and kept aside
	Relocked     int64 // lost locks taken again (see Store.CheckLock)
}

// hooks are test seams; production code leaves them nil.
type hooks struct {
	now          func() time.Time
	wrapTemp     func(f *os.File) writeSyncer // replaces the temp file as the writer (full-disk tests)
	beforeRename func(tmp string) error       // runs after the temp file is durable, before the rename
	wrapJournal  func(f *os.File) writeSyncer // replaces the journal as the writer
	syncDir      func(dir string) error       // replaces syncDir after the manifest's rename
	remove       func(path string) error      // replaces os.Remove of the journal after a checkpoint
}

// Open opens the manifest at path (usually [DefaultPath](folder)) as its only writer, with the
// default [Options]; see [OpenWith].
func Open(path, folder string) (*Store, error) {
	return open(path, folder, Options{}, hooks{})
}

// OpenWith opens the manifest at path (usually [DefaultPath](folder)) as its only writer.
//
// It creates the directory if needed and takes an exclusive lock on path+".lock"; if another store
// holds it, the error wraps [ErrLocked] and names the holder (pid, host, start time) when known.
// A missing manifest is an empty one. A manifest that cannot be parsed gives an error wrapping
// [ErrCorrupt] (or [ErrNewerVersion]) and the file is left exactly as it is; so does a damaged
// journal record followed by intact ones. A damaged last journal record is cut off after a copy
// of the journal was kept, and reported (see the package documentation). Temp files left by a
// write that crashed before its rename are removed. folder is recorded in the file's "folder" field.
func OpenWith(path, folder string, opts Options) (*Store, error) {
	return open(path, folder, opts, hooks{})
}

func open(path, folder string, opts Options, h hooks) (*Store, error) {
	if path == "" {
		return nil, errors.New("open manifest: empty path")
	}
	if h.now == nil {
		h.now = time.Now
	}
	s := &Store{path: path, folder: folder, perm: 0o644, report: opts.Report, hooks: h, enc: make(map[string][]byte),
		dirty: make(map[string]struct{}), smallFile: defaultSmallFile, maxLag: defaultMaxLag}
	if err := os.MkdirAll(dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	l, err := acquire(path, h.now())
	if err != nil {
		return nil, fmt.Errorf("open manifest %s: %w", path, err)
	}
	s.lock = l
	removeTemps(path)

	data, fi, err := readFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.files = make(map[string]Entry)
		os.Remove(JournalPath(path)) // records of a manifest that is gone extend nothing
	case err != nil:
		l.release()
		return nil, fmt.Errorf("open manifest: %w", err)
	default:
		m, err := decode(data)
		if err != nil {
			l.release()
			return nil, fmt.Errorf("open manifest %s: %w; the file was left untouched: repair it or move it aside", path, err)
		}
		s.base, s.fbytes, s.disk = m.UpdatedAt, int64(len(data)), fi
		s.perm = fi.Mode().Perm()
		jp := JournalPath(path)
		jdata, jfi, err := readFile(jp)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			l.release()
			return nil, fmt.Errorf("open manifest: %w", err)
		}
		valid, _, bad, err := replay(jdata, m)
		if err != nil {
			l.release()
			return nil, fmt.Errorf("open manifest %s: %s: %w; the files were left untouched: repair or move them aside", path, jp, err)
		}
		if bad != nil {
			// Policy (see doc.go): cut the damaged record off, as a torn one would be, but only
			// once its bytes are safe beside the journal, and say so.
			kept, err := keepCopy(jp, jdata, s.perm, h.now())
			if err != nil {
				l.release()
				return nil, fmt.Errorf("open manifest %s: %s: %w: %s, and a copy could not be kept (%w); the files were left untouched",
					path, jp, ErrCorrupt, bad, err)
			}
			s.damaged(&DamageError{Path: jp, Kept: kept, Problem: bad.String(),
				Action: "it was cut off; the commits before it were kept, and the files it recorded will be looked at again"})
		}
		if valid < len(jdata) { // cut off what a crash left half-written, or the damaged record kept above
			if err := os.Truncate(jp, int64(valid)); err != nil {
				l.release()
				return nil, fmt.Errorf("open manifest: %w", err)
			}
		}
		s.jbytes = int64(valid)
		if valid > 0 {
			s.jfi = jfi
		}
		s.files = m.Files
		s.keys = slices.Sorted(maps.Keys(m.Files))
		if s.jbytes > 0 { // fold the journal into the manifest soon, even if nothing changes
			s.timer = time.AfterFunc(s.maxLag, s.lagCheckpoint)
		}
	}
	s.deliver()
	return s, nil
}

// readFile reads the file at path and returns its bytes and the fstat of the descriptor read.
func readFile(path string) ([]byte, fs.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(f)
	return data, fi, err
}

// Path returns the manifest's file path.
func (s *Store) Path() string { return s.path }

// Get returns the entry of rel (relative to the folder, '/'-separated) and whether there is one.
func (s *Store) Get(rel string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.files[rel]
	return e.clone(), ok
}

// Snapshot returns a copy of every entry, keyed by relative path.
func (s *Store) Snapshot() map[string]Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]Entry, len(s.files))
	for k, e := range s.files {
		m[k] = e.clone()
	}
	return m
}

// Len returns the number of entries.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.files)
}

// Stats returns the store's counters.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Put records e as the entry of rel and returns once it is durable on disk, in the manifest or its
// journal: a nil return is the commit point. It sets e.UpdatedAt to the current time and stores all
// times in UTC. Puts that arrive while a write is in flight are written together by the next one.
//
// An invalid rel or state gives an error wrapping [ErrInvalid] and changes nothing. When the write
// fails (a full disk, say) the error says why, the file on disk stays the previous whole version,
// and the entry is kept in memory: the next successful write includes it.
func (s *Store) Put(rel string, e Entry) error {
	return s.PutMany(map[string]Entry{rel: e})
}

// PutMany records several entries with one durable write; see [Store.Put]. Either every entry is
// valid and applied or none is.
func (s *Store) PutMany(entries map[string]Entry) error {
	return s.apply(entries, true)
}

// Stage records e as the entry of rel like [Store.Put], but does not wait for a write: it is
// written with the next one (any Put, PutMany, Flush or Close), and a crash before that loses it.
// It is for changes whose loss costs only repeated work, e.g. a file seen (pending) or the
// acknowledged segments of a chunked upload; Get and Snapshot show it at once.
func (s *Store) Stage(rel string, e Entry) error {
	return s.apply(map[string]Entry{rel: e}, false)
}

// Flush writes staged changes durably; it returns at once when there are none.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("flush manifest: %w", ErrClosed)
	}
	return s.commit(s.seq)
}

// apply validates and applies entries, and with wait returns only once they are durable.
func (s *Store) apply(entries map[string]Entry, wait bool) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.hooks.now()
	type prepared struct {
		e   Entry
		enc []byte
	}
	ready := make(map[string]prepared, len(entries))
	for rel, e := range entries {
		if err := validEntry(rel, e); err != nil {
			return fmt.Errorf("put manifest entry: %w", err)
		}
		e.UpdatedAt = now
		e, enc, err := normalise(e)
		if err == nil {
			enc, err = member(rel, enc)
		}
		if err != nil {
			return fmt.Errorf("put manifest entry %q: %w: %w", rel, ErrInvalid, err)
		}
		ready[rel] = prepared{e, enc}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("put manifest entry: %w", ErrClosed)
	}
	for rel, p := range ready {
		if _, ok := s.files[rel]; !ok {
			s.addKey(rel, len(ready))
		}
		s.files[rel] = p.e
		s.enc[rel] = p.enc
		s.dirty[rel] = struct{}{}
	}
	s.seq++
	s.stats.Puts++
	if !wait {
		return nil
	}
	return s.commit(s.seq)
}

// normalise returns e as it will read back from the file, and its encoding. Encoding then decoding
// puts times in UTC and replaces invalid UTF-8 the way encoding/json does, so Get returns exactly
// what a reader of the file sees.
func normalise(e Entry) (Entry, []byte, error) {
	enc, err := encodeEntry(e.utc())
	if err != nil {
		return Entry{}, nil, err
	}
	var n Entry
	if err := json.Unmarshal(enc, &n); err != nil {
		return Entry{}, nil, err
	}
	return n.utc(), enc, nil
}

// commit returns once change number want is durable, writing the manifest itself when no write is
// in flight (it is then the group's leader), or the error of the write that carried want.
// s.mu is held on entry and on return.
func (s *Store) commit(want uint64) error {
	for s.durable < want {
		if s.writing {
			done := s.done
			s.mu.Unlock()
			<-done
			s.mu.Lock()
			if s.durable < want && s.last.upTo >= want && s.last.err != nil {
				return s.last.err
			}
			continue
		}
		if err := s.lead(false); err != nil {
			return err
		}
	}
	return nil
}

// lead makes every change so far durable, as the one writer in flight: a journal append, or a
// checkpoint when checkpoint is set or the policy asks for one. s.mu is held, s.writing is not set.
func (s *Store) lead(checkpoint bool) error {
	s.writing = true
	s.done = make(chan struct{})
	upTo := s.seq
	now := s.hooks.now()
	force, err := s.guard(now)
	if err == nil {
		if checkpoint || force || s.fbytes == 0 || s.fbytes < s.smallFile || s.broken ||
			s.jbytes >= s.fbytes/2 || now.Sub(s.lastCheckpoint) >= s.maxLag {
			err = s.checkpoint(now)
		} else {
			err = s.journal(now)
		}
	}
	if err == nil {
		s.durable = max(s.durable, upTo)
	}
	s.last = writeResult{upTo: upTo, err: err}
	s.writing = false
	close(s.done)
	if len(s.reports) > 0 {
		s.mu.Unlock()
		s.deliver()
		s.mu.Lock()
	}
	return err
}

// checkpoint rewrites the manifest with the whole state and drops the journal.
func (s *Store) checkpoint(now time.Time) error {
	dirty := s.dirty
	s.dirty = make(map[string]struct{})
	if err := s.write(); err != nil {
		for k := range dirty {
			s.dirty[k] = struct{}{}
		}
		return err
	}
	s.stats.Checkpoints++
	s.lastCheckpoint = now
	s.dropJournal()
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	return nil
}

// journal appends the entries changed since the last durable write to the journal.
func (s *Store) journal(now time.Time) error {
	if s.jf == nil {
		if err := s.openJournal(now); err != nil {
			s.stats.Writes++
			s.stats.FailedWrites++
			return err
		}
	}
	dirty := s.dirty
	s.dirty = make(map[string]struct{})
	members := make([][]byte, 0, len(dirty))
	for k := range dirty {
		members = append(members, s.enc[k]) // set by apply for every dirty key
	}
	base := s.base
	s.mu.Unlock()
	rec, err := frameRecord(base, now.UTC(), members)
	broken := false
	if err == nil {
		broken, err = s.appendJournal(rec)
	}
	s.mu.Lock()
	s.stats.Writes++
	if err != nil {
		s.stats.FailedWrites++
		s.broken = s.broken || broken
		for k := range dirty {
			s.dirty[k] = struct{}{}
		}
		return err
	}
	s.jbytes += int64(len(rec))
	s.stats.BytesWritten += int64(len(rec))
	if s.timer == nil {
		s.timer = time.AfterFunc(s.maxLag, s.lagCheckpoint)
	}
	return nil
}

// lagCheckpoint runs from a timer: it folds the journal into the manifest when no write has done
// so within the lag bound, so that programs reading the manifest file see every commit soon.
// A failure is counted in Stats and retried after another lag bound.
func (s *Store) lagCheckpoint() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.timer = nil
	for s.writing {
		done := s.done
		s.mu.Unlock()
		<-done
		s.mu.Lock()
	}
	if s.closed || s.jbytes == 0 || s.timer != nil {
		return
	}
	if err := s.lead(true); err != nil && !s.closed {
		s.timer = time.AfterFunc(s.maxLag, s.lagCheckpoint)
	}
}

// addKey records a new key. A few are inserted in order; many at once are appended and sorted by
// the next write, so a large PutMany does not cost a quadratic number of moves.
func (s *Store) addKey(rel string, batch int) {
	if s.unsorted || batch > 64 {
		s.keys = append(s.keys, rel)
		s.unsorted = true
		return
	}
	i, _ := slices.BinarySearch(s.keys, rel)
	s.keys = slices.Insert(s.keys, i, rel)
}

// write writes the current state to the file. It is called with s.mu held and s.writing set; it
// releases s.mu while doing I/O and holds it again on return.
func (s *Store) write() error {
	if s.unsorted {
		slices.Sort(s.keys)
		s.unsorted = false
	}
	s.members = s.members[:0]
	for _, k := range s.keys {
		m, ok := s.enc[k]
		if !ok {
			enc, err := encodeEntry(s.files[k])
			if err == nil {
				m, err = member(k, enc)
			}
			if err != nil {
				return fmt.Errorf("write manifest %s: encode entry %q: %w", s.path, k, err)
			}
			s.enc[k] = m
		}
		s.members = append(s.members, m)
	}
	now := s.hooks.now().UTC()
	if !now.After(s.base) { // updated_at identifies the checkpoint for the journal: keep it increasing
		now = s.base.Add(time.Nanosecond)
	}
	s.mu.Unlock()

	s.buf.Reset()
	renamed := false
	var fi fs.FileInfo
	err := assemble(&s.buf, s.folder, now, s.members)
	if err == nil {
		renamed, fi, err = s.writeFile(s.buf.Bytes())
	}
	n := int64(s.buf.Len())
	clear(s.members) // drop references to encodings that may be replaced before the next write
	if s.buf.Cap() > 4*s.buf.Len()+64<<10 {
		s.buf = bytes.Buffer{} // the manifest shrank a lot: do not pin the old buffer
	}

	s.mu.Lock()
	s.stats.Writes++
	if renamed {
		// The new file is in place even if the directory fsync failed: journal records must name
		// it from now on, or readers (which replay only records of the file they read) skip them.
		s.base, s.fbytes, s.disk = now, n, fi
	}
	if err != nil {
		s.stats.FailedWrites++
		return err
	}
	s.stats.BytesWritten += n
	return nil
}

// Close writes staged changes and any change whose write failed earlier (one attempt), folds the
// journal into the manifest file, stops the checkpoint timer and releases the lock.
// Puts after Close fail with [ErrClosed]. Close waits for a write in flight; calling it again
// returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	err := s.commit(s.seq)
	for s.writing { // a timer's checkpoint, or any write in flight: it must end before the unlock
		done := s.done
		s.mu.Unlock()
		<-done
		s.mu.Lock()
	}
	if err == nil && s.jbytes > 0 {
		err = s.lead(true) // leave a complete manifest file behind
	}
	if s.jf != nil {
		s.jf.Close()
		s.jf = nil
	}
	s.mu.Unlock()
	if rerr := s.lock.release(); rerr != nil {
		err = errors.Join(err, fmt.Errorf("close manifest %s: %w", s.path, rerr))
	}
	return err
}

// Keys returns the relative paths of every entry, sorted.
func (s *Store) Keys() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsorted {
		slices.Sort(s.keys)
		s.unsorted = false
	}
	return slices.Clone(s.keys)
}
