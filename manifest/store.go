package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gofrs/flock"
)

// Store is the one writer of a folder's manifest. It holds the manifest in memory and writes the
// whole file atomically on every change, batching concurrent changes into one write (group commit).
// It is safe for concurrent use.
type Store struct {
	path   string
	folder string
	perm   fs.FileMode
	lock   *flock.Flock
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

	buf     bytes.Buffer // owned by the writer in flight
	members [][]byte     // owned by the writer in flight
}

type writeResult struct {
	upTo uint64 // changes 1..upTo were in the write
	err  error
}

// Stats counts a store's work since Open, for metrics and benchmarks.
type Stats struct {
	Puts         int64 // Put, PutMany and Stage calls
	Writes       int64 // manifest files written (committed or failed)
	FailedWrites int64
	BytesWritten int64 // bytes of committed manifest files
}

// hooks are test seams; production code leaves them nil.
type hooks struct {
	now          func() time.Time
	wrapTemp     func(f *os.File) writeSyncer // replaces the temp file as the writer (full-disk tests)
	beforeRename func(tmp string) error       // runs after the temp file is durable, before the rename
}

// Open opens the manifest at path (usually [DefaultPath](folder)) as its only writer.
//
// It creates the directory if needed and takes an exclusive lock on path+".lock"; if another store
// holds it, the error wraps [ErrLocked] and names the holder (pid, host, start time) when known.
// A missing manifest is an empty one. A manifest that cannot be parsed gives an error wrapping
// [ErrCorrupt] (or [ErrNewerVersion]) and the file is left exactly as it is. Temp files left by a
// write that crashed before its rename are removed. folder is recorded in the file's "folder" field.
func Open(path, folder string) (*Store, error) {
	return open(path, folder, hooks{})
}

func open(path, folder string, h hooks) (*Store, error) {
	if path == "" {
		return nil, errors.New("open manifest: empty path")
	}
	if h.now == nil {
		h.now = time.Now
	}
	s := &Store{path: path, folder: folder, perm: 0o644, hooks: h, enc: make(map[string][]byte)}
	if err := os.MkdirAll(dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("open manifest: %w", err)
	}
	l, err := acquire(path, h.now())
	if err != nil {
		return nil, fmt.Errorf("open manifest %s: %w", path, err)
	}
	s.lock = l
	removeTemps(path)

	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.files = make(map[string]Entry)
	case err != nil:
		release(l)
		return nil, fmt.Errorf("open manifest: %w", err)
	default:
		m, err := decode(data)
		if err != nil {
			release(l)
			return nil, fmt.Errorf("open manifest %s: %w; the file was left untouched: repair it or move it aside", path, err)
		}
		s.files = m.Files
		s.keys = slices.Sorted(maps.Keys(m.Files))
		if fi, err := os.Stat(path); err == nil {
			s.perm = fi.Mode().Perm()
		}
	}
	return s, nil
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

// Put records e as the entry of rel and returns once a manifest file containing it is durable on
// disk: a nil return is the commit point. It sets e.UpdatedAt to the current time and stores all
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
		s.writing = true
		s.done = make(chan struct{})
		upTo := s.seq
		err := s.write()
		if err == nil {
			s.durable = max(s.durable, upTo)
		}
		s.last = writeResult{upTo: upTo, err: err}
		s.writing = false
		close(s.done)
		if err != nil {
			return err
		}
	}
	return nil
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
	s.mu.Unlock()

	s.buf.Reset()
	err := assemble(&s.buf, s.folder, now, s.members)
	if err == nil {
		err = s.writeFile(s.buf.Bytes())
	}
	n := int64(s.buf.Len())
	clear(s.members) // drop references to encodings that may be replaced before the next write
	if s.buf.Cap() > 4*s.buf.Len()+64<<10 {
		s.buf = bytes.Buffer{} // the manifest shrank a lot: do not pin the old buffer
	}

	s.mu.Lock()
	s.stats.Writes++
	if err != nil {
		s.stats.FailedWrites++
		return err
	}
	s.stats.BytesWritten += n
	return nil
}

// Close writes staged changes and any change whose write failed earlier (one attempt), then
// releases the lock.
// Puts after Close fail with [ErrClosed]. Close waits for a write in flight; calling it again
// returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	err := s.commit(s.seq)
	s.mu.Unlock()
	if rerr := release(s.lock); rerr != nil {
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
