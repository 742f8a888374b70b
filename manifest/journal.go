package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"strconv"
	"time"
)

// The journal. Rewriting the whole manifest for every commit costs O(entries) bytes, which makes
// a backlog of tens of thousands of files quadratic. So once the manifest is large, a commit
// appends only the changed entries to the journal (path + ".journal") and fsyncs it; the manifest
// itself is rewritten (a checkpoint) when the journal reaches half its size, when the last
// checkpoint is older than the lag bound, and on Close. Read replays the journal, so readers see
// every commit; a program that parses manifest.json itself sees it at most the lag bound late.
//
// A record is a header line "MSJ <length> <crc32 hex>\n", then a JSON object of <length> bytes,
// then "\n". The object names the checkpoint it extends by that checkpoint's updated_at ("base"):
// records of an older checkpoint (a journal whose removal failed, or one a reader reads while a
// checkpoint replaces the manifest) are ignored, since every checkpoint holds all changes before it.

// JournalPath returns the path of the journal beside the manifest at path.
func JournalPath(path string) string { return path + ".journal" }

// record is one journal record: the entries changed by one commit.
type record struct {
	Base  time.Time        `json:"base"`
	At    time.Time        `json:"at"`
	Files map[string]Entry `json:"files"`
}

// frameRecord returns the journal bytes of a record holding members (see member).
func frameRecord(base, at time.Time, members [][]byte) ([]byte, error) {
	b, err := json.Marshal(base)
	if err != nil {
		return nil, err
	}
	a, err := json.Marshal(at)
	if err != nil {
		return nil, err
	}
	var p bytes.Buffer
	p.WriteString(`{"base":`)
	p.Write(b)
	p.WriteString(`,"at":`)
	p.Write(a)
	p.WriteString(`,"files":{`)
	for i, m := range members {
		if i > 0 {
			p.WriteByte(',')
		}
		p.Write(m)
	}
	p.WriteString("}}")
	payload := p.Bytes()
	out := fmt.Appendf(nil, "MSJ %d %08x\n", len(payload), crc32.ChecksumIEEE(payload))
	out = append(out, payload...)
	return append(out, '\n'), nil
}

// A record that does not parse is either a torn tail or damage, and the two are told apart because
// an append cut short by a crash leaves a prefix of what was being written (or, on file systems
// that extend a file before its data reaches the disk, NUL bytes, which the writer never writes):
//   - torn: a header line cut short, a framed length that runs past the end of the file, or a
//     record whose bytes include NULs with nothing but NULs after it. Silently cut off: its commit
//     never returned.
//   - damaged: anything else, e.g. a record whose whole framed length is present but whose checksum
//     fails (a flipped byte), a header that is not one, or a length that runs past the end while
//     the bytes up to the last newline match the checksum (a flipped length digit).

// frame is what parseRecord found at the start of the data.
type frame int

const (
	frameOK   frame = iota
	frameTorn       // the remains of an append cut short by a crash
	frameBad        // damage: see above
)

// parseRecord parses the record at the start of data. n is its framed length in bytes when known
// (frameOK, and frameBad with a readable header); why says what is wrong with a bad one. err is set
// for a record that is intact (its checksum matches) yet does not parse.
func parseRecord(data []byte) (r record, n int, f frame, why string, err error) {
	if allZero(data) {
		return r, 0, frameTorn, "", nil
	}
	nl := bytes.IndexByte(data[:min(len(data), maxHeader+1)], '\n')
	if nl < 0 {
		if len(data) <= maxHeader && headerPrefix(bytes.TrimRight(data, "\x00")) {
			return r, 0, frameTorn, "", nil
		}
		return r, 0, frameBad, "has a damaged header", nil
	}
	fields := bytes.Fields(data[:nl])
	if len(fields) != 3 || string(fields[0]) != "MSJ" {
		return r, 0, frameBad, "has a damaged header", nil
	}
	size, err1 := strconv.Atoi(string(fields[1]))
	sum64, err2 := strconv.ParseUint(string(fields[2]), 16, 32)
	if err1 != nil || err2 != nil || size < 0 {
		return r, 0, frameBad, "has a damaged header", nil
	}
	sum := uint32(sum64)
	end := nl + 1 + size + 1
	if end > len(data) || end < 0 {
		if last := len(data) - 1; last > nl && data[last] == '\n' && crc32.ChecksumIEEE(data[nl+1:last]) == sum {
			return r, len(data), frameBad, "has a damaged length field", nil
		}
		return r, 0, frameTorn, "", nil
	}
	payload := data[nl+1 : end-1]
	if data[end-1] != '\n' || crc32.ChecksumIEEE(payload) != sum {
		if bytes.IndexByte(data[nl+1:end], 0) >= 0 && allZero(data[end:]) {
			return r, 0, frameTorn, "", nil
		}
		return r, end, frameBad, "fails its checksum", nil
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return r, 0, frameBad, "", err // intact (checksum matches) yet unparsable: not a torn write
	}
	return r, end, frameOK, "", nil
}

// maxHeader bounds a header line: "MSJ " + up to 19 digits + " " + 8 hex digits.
const maxHeader = 40

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// headerPrefix reports whether b can be the start of a header line "MSJ <length> <crc32 hex>".
func headerPrefix(b []byte) bool {
	const magic = "MSJ "
	if len(b) < len(magic) {
		return string(b) == magic[:len(b)]
	}
	if string(b[:len(magic)]) != magic {
		return false
	}
	return len(bytes.Trim(b[len(magic):], "0123456789abcdef ")) == 0
}

// badRecord is damage at the end of a journal that can be cut off (see replay).
type badRecord struct {
	off int    // where the damage starts
	why string // what is wrong
}

func (b *badRecord) String() string {
	return fmt.Sprintf("the journal's last record (at byte %d) %s", b.off, b.why)
}

// replay applies to m the journal records that extend it (base equal to m.UpdatedAt). It returns
// valid, the length of the prefix of data made of whole, intact records, and what follows it:
//   - nothing, or a torn tail (see frame): bad and err are nil;
//   - a damaged last record, followed by nothing or a torn tail: bad says where and what, err is
//     nil. Only that record's entries are lost by cutting at valid;
//   - damage followed by an intact record, or by more damage, or an intact record that does not
//     parse: err wraps ErrCorrupt. Cutting there would drop intact commits after it.
func replay(data []byte, m *Manifest) (valid int, last time.Time, bad *badRecord, err error) {
	off := 0
	for off < len(data) {
		r, n, f, why, perr := parseRecord(data[off:])
		if perr != nil {
			return off, last, nil, fmt.Errorf("%w: journal record at byte %d: %w", ErrCorrupt, off, perr)
		}
		switch f {
		case frameTorn:
			return off, last, nil, nil
		case frameBad:
			if n > 0 {
				if _, _, f, _, _ := parseRecord(data[off+n:]); off+n == len(data) || f == frameTorn {
					return off, last, &badRecord{off, why}, nil
				}
				return off, last, nil, fmt.Errorf("%w: journal record at byte %d %s, and more records follow", ErrCorrupt, off, why)
			}
			for i := off + 1; ; i++ { // a header we cannot read: does a whole record start later?
				j := bytes.Index(data[i:], []byte("MSJ "))
				if j < 0 {
					break
				}
				i += j
				if _, _, f, _, _ := parseRecord(data[i:]); f == frameOK {
					return off, last, nil, fmt.Errorf("%w: journal damaged at byte %d", ErrCorrupt, off)
				}
			}
			return off, last, &badRecord{off, why}, nil
		}
		off += n
		if !r.Base.Equal(m.UpdatedAt) {
			continue
		}
		for rel, e := range r.Files {
			if err := validEntry(rel, e); err != nil {
				return off, last, nil, fmt.Errorf("%w: journal: %w", ErrCorrupt, err)
			}
			m.Files[rel] = e.utc()
		}
		last = r.At.UTC()
	}
	return off, last, nil, nil
}

// openJournal opens the journal for appending, creating it when the store has none (jbytes 0). A
// file found where the store has no journal is an empty one left by Open (used) or another
// program's (kept aside and reported, see [DamageError]). s.mu is held and the caller owns the
// write slot.
func (s *Store) openJournal(now time.Time) error {
	jp := JournalPath(s.path)
	flags := os.O_WRONLY | os.O_APPEND
	if s.jbytes == 0 {
		flags |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(jp, flags, s.perm)
	if errors.Is(err, fs.ErrExist) {
		if fi, serr := os.Lstat(jp); serr == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
			f, err = os.OpenFile(jp, os.O_WRONLY|os.O_APPEND, s.perm)
		} else {
			kept, kerr := keepAside(jp, now)
			if kerr != nil {
				return fmt.Errorf("append manifest journal: %s was written by another program; keeping it aside: %w", jp, kerr)
			}
			s.damaged(&DamageError{Path: jp, Kept: kept, Problem: "a journal this store did not write appeared",
				Action: "a new journal was started"})
			f, err = os.OpenFile(jp, flags|os.O_CREATE|os.O_EXCL, s.perm)
		}
	}
	if err != nil {
		return fmt.Errorf("append manifest journal: %w", err)
	}
	fi, err := f.Stat()
	if err == nil {
		err = syncDir(dir(jp)) // the journal's name must survive a crash too
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("append manifest journal %s: %w", jp, err)
	}
	s.jf, s.jfi = f, fi
	return nil
}

// appendJournal writes rec to the open journal and fsyncs it. On failure it cuts the journal back
// to its previous length; if even that fails the store is marked broken, so that the next write is
// a checkpoint (which drops the journal). The caller owns the write slot (s.writing).
func (s *Store) appendJournal(rec []byte) (broken bool, err error) {
	jp := JournalPath(s.path)
	var w writeSyncer = s.jf
	if s.hooks.wrapJournal != nil {
		w = s.hooks.wrapJournal(s.jf)
	}
	_, err = w.Write(rec)
	if err == nil {
		err = w.Sync()
	}
	if err != nil {
		if terr := s.jf.Truncate(s.jbytes); terr != nil {
			broken = true
		}
		return broken, fmt.Errorf("append manifest journal %s: %w", jp, err)
	}
	return false, nil
}

// dropJournal removes the journal after a checkpoint. A failed removal is harmless to readers:
// its records name an older checkpoint and are ignored. But the file keeps them, so jbytes stays
// its real length: a later failed append cuts the journal back to jbytes, which must not cut into
// the records appended after this checkpoint. When even its length is unknown, the store is marked
// broken, so that the next write is a checkpoint and tries the removal again.
func (s *Store) dropJournal() {
	if s.jf != nil {
		s.jf.Close()
		s.jf = nil
	}
	s.jfi = nil
	if s.jbytes == 0 && !s.broken {
		return
	}
	jp := JournalPath(s.path)
	remove := os.Remove
	if s.hooks.remove != nil {
		remove = s.hooks.remove
	}
	s.jbytes, s.broken = 0, false
	if err := remove(jp); err == nil || errors.Is(err, fs.ErrNotExist) {
		return
	}
	switch fi, err := os.Stat(jp); {
	case err == nil:
		s.jbytes, s.jfi = fi.Size(), fi
	case !errors.Is(err, fs.ErrNotExist):
		s.broken = true
	}
}
