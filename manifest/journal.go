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

// parseRecord parses the record at the start of data. ok is false when no whole, intact record
// starts there; n is its length in bytes.
func parseRecord(data []byte) (r record, n int, ok bool, err error) {
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 || nl > 40 {
		return r, 0, false, nil
	}
	f := bytes.Fields(data[:nl])
	if len(f) != 3 || string(f[0]) != "MSJ" {
		return r, 0, false, nil
	}
	size, err1 := strconv.Atoi(string(f[1]))
	sum, err2 := strconv.ParseUint(string(f[2]), 16, 32)
	if err1 != nil || err2 != nil || size < 0 || size > len(data)-nl-2 {
		return r, 0, false, nil
	}
	payload := data[nl+1 : nl+1+size]
	if data[nl+1+size] != '\n' || crc32.ChecksumIEEE(payload) != uint32(sum) {
		return r, 0, false, nil
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return r, 0, false, err // intact (checksum matches) yet unparsable: not a torn write
	}
	return r, nl + 2 + size, true, nil
}

// replay applies to m the journal records that extend it (base equal to m.UpdatedAt). It returns
// the length of the intact prefix of data: a record cut short or garbled by a crash can only be at
// the end, and is ignored. A bad record followed by an intact one is corruption (ErrCorrupt).
func replay(data []byte, m *Manifest) (valid int, last time.Time, err error) {
	off := 0
	for off < len(data) {
		r, n, ok, perr := parseRecord(data[off:])
		if perr != nil {
			return off, last, fmt.Errorf("%w: journal record at byte %d: %w", ErrCorrupt, off, perr)
		}
		if !ok {
			for i := off + 1; ; i++ {
				j := bytes.Index(data[i:], []byte("MSJ "))
				if j < 0 {
					break
				}
				i += j
				if _, _, ok, _ := parseRecord(data[i:]); ok {
					return off, last, fmt.Errorf("%w: journal damaged at byte %d", ErrCorrupt, off)
				}
			}
			return off, last, nil // torn tail
		}
		off += n
		if !r.Base.Equal(m.UpdatedAt) {
			continue
		}
		for rel, e := range r.Files {
			if err := validEntry(rel, e); err != nil {
				return off, last, fmt.Errorf("%w: journal: %w", ErrCorrupt, err)
			}
			m.Files[rel] = e.utc()
		}
		last = r.At.UTC()
	}
	return off, last, nil
}

// appendJournal writes rec to the journal and fsyncs it. On failure it cuts the journal back to
// its previous length; if even that fails the store is marked broken, so that the next write is a
// checkpoint (which drops the journal). The caller owns the write slot (s.writing).
func (s *Store) appendJournal(rec []byte) (broken bool, err error) {
	jp := JournalPath(s.path)
	if s.jf == nil {
		f, err := os.OpenFile(jp, os.O_WRONLY|os.O_CREATE|os.O_APPEND, s.perm)
		if err != nil {
			return false, fmt.Errorf("append manifest journal: %w", err)
		}
		if err := syncDir(dir(jp)); err != nil { // the journal's name must survive a crash too
			f.Close()
			return false, fmt.Errorf("append manifest journal %s: %w", jp, err)
		}
		s.jf = f
	}
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
		s.jbytes = fi.Size()
	case !errors.Is(err, fs.ErrNotExist):
		s.broken = true
	}
}
