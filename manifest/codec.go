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
	"path/filepath"
	"slices"
	"time"
)

// Version is the manifest format version this package reads and writes.
const Version = 1

// Errors returned (wrapped) by this package; test for them with [errors.Is].
var (
	// ErrCorrupt: the manifest file cannot be parsed or violates the format. The file is never
	// overwritten or reset; the user has to repair or move it.
	ErrCorrupt = errors.New("corrupt manifest")
	// ErrNewerVersion: the manifest was written by a newer mediasync in a format this one does not
	// know; it is never overwritten.
	ErrNewerVersion = errors.New("manifest format is newer than this mediasync supports")
	// ErrLocked: another [Store] (usually another mediasync process) holds the manifest's lock.
	ErrLocked = errors.New("manifest is locked by another mediasync process")
	// ErrLockLost: the lock file a [Store] had locked was removed or replaced (see
	// [Store.CheckLock]); reported when the store locked it again, and returned with [ErrLocked]
	// when another process holds the new one.
	ErrLockLost = errors.New("manifest lock was lost (its lock file was removed or replaced)")
	// ErrClosed: the [Store] was closed.
	ErrClosed = errors.New("manifest store is closed")
	// ErrInvalid: a path or entry handed to [Store.Put] cannot be stored.
	ErrInvalid = errors.New("invalid manifest entry")
	// ErrBusy: [Read] found the manifest replaced by a checkpoint during each of its attempts (a
	// writer checkpointing faster than the reader reads); nothing is wrong, try again later.
	ErrBusy = errors.New("manifest replaced during every read attempt")
)

// Manifest is the whole manifest file of one folder (SPEC.md §4).
type Manifest struct {
	Version   int              `json:"version"`
	Folder    string           `json:"folder"`
	UpdatedAt time.Time        `json:"updated_at"`
	Files     map[string]Entry `json:"files"`
}

// DefaultPath is the manifest location of a folder when the config names none:
// <folder>/.mediasync/manifest.json.
func DefaultPath(folder string) string {
	return filepath.Join(folder, ".mediasync", "manifest.json")
}

// Read loads the manifest at path for a reader (status, get, a posting step), with the changes
// recorded in its journal. It takes no lock and never blocks or disturbs the writer: the manifest
// is replaced atomically and the journal only grows until a checkpoint, so Read sees a whole
// version; if a checkpoint replaces the manifest while Read runs, it reads again. A Read that
// starts after [Store.Put] returned sees that Put's entry. A missing manifest gives an error
// wrapping [fs.ErrNotExist]; an unparsable one, or a journal with a damaged record (not a torn
// tail, which is ignored), an error wrapping [ErrCorrupt]; a newer format one
// wrapping [ErrNewerVersion]; a manifest replaced by the writer during each of 10 reads in a row
// an error wrapping [ErrBusy]. UpdatedAt is the time of the last change read.
func Read(path string) (*Manifest, error) {
	pause := time.Millisecond
	for i := range readAttempts {
		m, same, err := readOnce(path)
		if err != nil {
			return nil, err
		}
		if same {
			return m, nil
		}
		if i < readAttempts-1 {
			// The writer replaced the file meanwhile (a burst rewrites a small manifest every few
			// milliseconds): let it get ahead, a little longer each time.
			t := time.NewTimer(pause)
			<-t.C
			pause = min(2*pause, 50*time.Millisecond)
		}
	}
	return nil, fmt.Errorf("read manifest %s: %w (%d attempts); try again", path, ErrBusy, readAttempts)
}

// readAttempts bounds the reads of Read while checkpoints keep replacing the manifest (about 2 s of
// pauses in all).
const readAttempts = 50

// readOnce reads the manifest and its journal. same reports that path still names the manifest
// file read once the journal was read: only then do the journal records read extend that file.
// The file stays open until that comparison, so that its inode cannot be freed and reused by a
// later checkpoint's file, which would make a replaced manifest look unchanged.
func readOnce(path string) (m *Manifest, same bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	var data []byte
	if err == nil {
		data, err = io.ReadAll(f)
	}
	if err != nil {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	m, err = decode(data)
	if err != nil {
		return nil, false, fmt.Errorf("read manifest %s: %w", path, err)
	}
	jdata, err := os.ReadFile(JournalPath(path))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read manifest: %w", err)
	}
	_, last, bad, err := replay(jdata, m)
	if err == nil && bad != nil {
		err = fmt.Errorf("%w: %s; the writer's next Open keeps a copy and carries on without it", ErrCorrupt, bad)
	}
	if err != nil {
		return nil, false, fmt.Errorf("read manifest %s: %s: %w", path, JournalPath(path), err)
	}
	if last.After(m.UpdatedAt) {
		m.UpdatedAt = last
	}
	now, err := os.Stat(path)
	return m, err == nil && os.SameFile(fi, now), nil
}

// decode parses and checks a manifest. Times come back in UTC; Files is never nil.
func decode(data []byte) (*Manifest, error) {
	// Unmarshal fills a non-nil map in place: sizing it up front saves the rehashing and zeroing of
	// a map grown one entry at a time (a third of the load time of a large manifest).
	m := Manifest{Files: make(map[string]Entry, bytes.Count(data, []byte(`"state"`)))}
	if err := json.Unmarshal(data, &m); err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			return nil, fmt.Errorf("%w: %w (at byte %d)", ErrCorrupt, err, se.Offset)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%w: %w (at byte %d)", ErrCorrupt, err, te.Offset)
		}
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	switch {
	case m.Version > Version:
		return nil, fmt.Errorf("%w: file has version %d, this mediasync reads version %d; upgrade mediasync",
			ErrNewerVersion, m.Version, Version)
	case m.Version != Version:
		return nil, fmt.Errorf("%w: version %d, want %d", ErrCorrupt, m.Version, Version)
	}
	if m.Files == nil {
		m.Files = make(map[string]Entry)
	}
	m.UpdatedAt = m.UpdatedAt.UTC()
	for rel, e := range m.Files {
		if err := validEntry(rel, e); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		m.Files[rel] = e.utc()
	}
	return &m, nil
}

// Encoding. The file is json.MarshalIndent(m, "", "  ") plus a newline: keys sorted, two-space
// indent. The store assembles exactly these bytes from per-entry encodings it caches and keys it
// keeps sorted, so that a write costs a copy rather than a reflective re-encoding of every entry
// (TestAssembleMatchesMarshalIndent holds the two equal).

const (
	entryPrefix = "    " // indent of an entry's lines: the entry sits at depth 2
	indent      = "  "
)

// encodeEntry returns the indented encoding of e as it appears at depth 2 of the file.
func encodeEntry(e Entry) ([]byte, error) {
	return json.MarshalIndent(e, entryPrefix, indent)
}

// member returns `"key": ` followed by the encoded entry enc: one member of the "files" object.
func member(key string, enc []byte) ([]byte, error) {
	k, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(k)+2+len(enc))
	b = append(b, k...)
	b = append(b, ": "...)
	return append(b, enc...), nil
}

// assemble writes the whole manifest to buf; members (see member) must be sorted by key.
func assemble(buf *bytes.Buffer, folder string, updatedAt time.Time, members [][]byte) error {
	f, err := json.Marshal(folder)
	if err != nil {
		return err
	}
	u, err := json.Marshal(updatedAt)
	if err != nil {
		return err
	}
	size := 128 + len(f) + len(u)
	for _, m := range members {
		size += len(m) + len(entryPrefix) + 2
	}
	buf.Grow(size)
	fmt.Fprintf(buf, "{\n%s\"version\": %d,\n%s\"folder\": %s,\n%s\"updated_at\": %s,\n%s\"files\": {",
		indent, Version, indent, f, indent, u, indent)
	for i, m := range members {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString("\n" + entryPrefix)
		buf.Write(m)
	}
	if len(members) > 0 {
		buf.WriteString("\n" + indent)
	}
	buf.WriteString("}\n}\n")
	return nil
}

// encode returns the file bytes of m, exactly as the store writes them. It writes version
// [Version] whatever m.Version says.
func encode(m *Manifest) ([]byte, error) {
	keys := slices.Sorted(maps.Keys(m.Files))
	members := make([][]byte, len(keys))
	for i, k := range keys {
		enc, err := encodeEntry(m.Files[k])
		if err == nil {
			members[i], err = member(k, enc)
		}
		if err != nil {
			return nil, fmt.Errorf("encode entry %q: %w", k, err)
		}
	}
	var buf bytes.Buffer
	if err := assemble(&buf, m.Folder, m.UpdatedAt, members); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
