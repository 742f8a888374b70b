package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// journalStore opens a store that journals commits (no size threshold, no lag timer), with 51
// entries checkpointed.
func journalStore(t *testing.T) (*Store, string) {
	t.Helper()
	return journalStoreWith(t, Options{})
}

func journalStoreWith(t *testing.T, opts Options) (*Store, string) {
	t.Helper()
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := OpenWith(path, folder, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.smallFile, s.maxLag = 0, time.Hour
	s.lastCheckpoint = time.Now()
	seed := map[string]Entry{"first.jpg": {State: Uploaded, MediaIDString: "1"}}
	for i := range 50 {
		seed[relName(i)] = uploadedEntry(i) // ~29 KB: room for a few journal records
	}
	if err := s.PutMany(seed); err != nil {
		t.Fatal(err)
	}
	return s, path
}

// crash releases the store's lock without writing anything more, as a killed process does.
func crash(t *testing.T, s *Store) {
	t.Helper()
	s.mu.Lock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.jf != nil {
		s.jf.Close()
		s.jf = nil
	}
	s.mu.Unlock()
	if err := s.lock.fl.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestJournalCommits(t *testing.T) {
	s, path := journalStore(t)
	file, _ := os.ReadFile(path)
	for i := range 5 {
		if err := s.Put(fmt.Sprintf("j%d.jpg", i), uploadedEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Checkpoints != 1 || st.Writes != 6 {
		t.Errorf("Stats = %+v, want 1 checkpoint and 5 journal appends", st)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, file) {
		t.Errorf("journal appends rewrote the manifest")
	}
	want := s.Snapshot()
	m, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Files, want) {
		t.Errorf("Read does not see the journaled commits: %v", m.Files)
	}

	crash(t, s)
	s2, err := Open(path, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("after a crash Open replays %d entries, want %d", len(got), len(want))
	}
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Close left the journal: %v", err)
	}
	raw, _ := os.ReadFile(path)
	m2, err := decode(raw)
	if err != nil || !reflect.DeepEqual(m2.Files, want) {
		t.Errorf("after Close the manifest file alone holds %d entries, want %d (%v)", len(m2.Files), len(want), err)
	}
}

func TestJournalCheckpointsWhenHalfTheFile(t *testing.T) {
	s, path := journalStore(t)
	for i := range 40 {
		if err := s.Put(fmt.Sprintf("j%02d.jpg", i), uploadedEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	st := s.Stats()
	if st.Checkpoints < 2 || st.Checkpoints > 20 {
		t.Errorf("Stats = %+v: want a few checkpoints among 41 commits", st)
	}
	fi, _ := os.Stat(path)
	if jf, err := os.Stat(JournalPath(path)); err == nil && jf.Size() > fi.Size()/2+2048 {
		t.Errorf("journal %d bytes for a manifest of %d", jf.Size(), fi.Size())
	}
}

func TestJournalTornTail(t *testing.T) {
	tails := []struct {
		name string
		tail string
	}{
		{"cut header", "MSJ 12"},
		{"cut payload", "MSJ 300 0badf00d\n{\"base\":"},
		{"zeros", "\x00\x00\x00\x00\x00\x00\x00\x00"},
		{"cut header then zeros", "MSJ 3\x00\x00\x00"},
		// A file system that extends the file before its data lands shows the unwritten part
		// as NULs, even within the record's full length.
		{"record of zeros", "MSJ 40 0badf00d\n{\"base\":\"2026" + strings.Repeat("\x00", 40)},
	}
	for _, tt := range tails {
		t.Run(tt.name, func(t *testing.T) {
			s, path := journalStore(t)
			if err := s.Put("second.jpg", Entry{State: Uploaded, MediaIDString: "2"}); err != nil {
				t.Fatal(err)
			}
			want := s.Snapshot()
			crash(t, s)
			jp := JournalPath(path)
			good, _ := os.ReadFile(jp)
			os.WriteFile(jp, append(append([]byte{}, good...), tt.tail...), 0o644)

			m, err := Read(path)
			if err != nil || !reflect.DeepEqual(m.Files, want) {
				t.Errorf("Read with a torn journal tail = %v, %v", m, err)
			}
			var r reports
			s2, err := OpenWith(path, "/f", Options{Report: r.add})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if got := s2.Snapshot(); !reflect.DeepEqual(got, want) {
				t.Errorf("Open with a torn tail: %v", got)
			}
			if now, _ := os.ReadFile(jp); !bytes.Equal(now, good) {
				t.Errorf("Open did not cut the torn tail off the journal")
			}
			// A crash's torn tail is not damage: cut silently, nothing kept or reported.
			if got := r.get(); len(got) != 0 || len(damagedCopies(t, path)) != 0 || s2.Stats().Damaged != 0 {
				t.Errorf("a torn tail was reported as damage: %v", got)
			}
		})
	}
}

func TestJournalCorruptMiddle(t *testing.T) {
	s, path := journalStore(t)
	for i := range 2 {
		if err := s.Put(fmt.Sprintf("j%d.jpg", i), Entry{State: Pending}); err != nil {
			t.Fatal(err)
		}
	}
	crash(t, s)
	jp := JournalPath(path)
	data, _ := os.ReadFile(jp)
	i := bytes.Index(data, []byte(`"state"`))
	data[i+1] = 'X' // inside the first of two records
	os.WriteFile(jp, data, 0o644)
	if _, err := Read(path); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Read = %v, want ErrCorrupt", err)
	}
	_, err := Open(path, "/f")
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), jp) {
		t.Fatalf("Open = %v, want ErrCorrupt naming %s", err, jp)
	}
	if now, _ := os.ReadFile(jp); !bytes.Equal(now, data) {
		t.Errorf("Open changed a corrupt journal")
	}
}

func TestJournalStaleRecordsIgnored(t *testing.T) {
	s, path := journalStore(t)
	if err := s.Put("j.jpg", Entry{State: Uploading}); err != nil {
		t.Fatal(err)
	}
	jp := JournalPath(path)
	old, _ := os.ReadFile(jp)
	// A checkpoint whose journal removal "failed": the old records come back.
	s.mu.Lock()
	err := s.lead(true)
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("j.jpg", Entry{State: Uploaded, MediaIDString: "9"}); err != nil {
		t.Fatal(err)
	}
	newer, _ := os.ReadFile(jp)
	crash(t, s)
	os.WriteFile(jp, append(old, newer...), 0o644)
	s2, err := Open(path, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if e, _ := s2.Get("j.jpg"); e.State != Uploaded {
		t.Errorf("a stale record overrode a newer checkpoint: %+v", e)
	}
}

func TestJournalLagCheckpoint(t *testing.T) {
	s, path := journalStore(t)
	if err := s.Put("late.jpg", Entry{State: Uploaded}); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(path); bytes.Contains(raw, []byte("late.jpg")) {
		t.Fatal("expected late.jpg only in the journal")
	}
	s.lagCheckpoint() // what the timer runs
	raw, _ := os.ReadFile(path)
	if !bytes.Contains(raw, []byte("late.jpg")) {
		t.Errorf("lag checkpoint did not fold the journal into the manifest")
	}
	if _, err := os.Stat(JournalPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("journal still there: %v", err)
	}
}

func TestJournalTimerFires(t *testing.T) {
	s, path := journalStore(t)
	s.mu.Lock()
	s.maxLag = time.Millisecond
	s.mu.Unlock()
	if err := s.Put("late.jpg", Entry{State: Uploaded}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second) // failure guard only
	for {
		raw, _ := os.ReadFile(path)
		if bytes.Contains(raw, []byte("late.jpg")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the lag timer never checkpointed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestJournalWriteFailure(t *testing.T) {
	s, path := journalStore(t)
	if err := s.Put("ok.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	jp := JournalPath(path)
	before, _ := os.ReadFile(jp)
	s.hooks.wrapJournal = func(f *os.File) writeSyncer { return &faultyFile{f: f, n: 20, err: syscall.ENOSPC} }
	err := s.Put("new.jpg", Entry{State: Uploaded, MediaIDString: "2"})
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Put = %v, want ENOSPC", err)
	}
	if now, _ := os.ReadFile(jp); !bytes.Equal(now, before) {
		t.Errorf("failed append not cut back: %d bytes, was %d", len(now), len(before))
	}
	if _, ok := s.Get("new.jpg"); !ok {
		t.Error("entry lost from memory")
	}
	s.hooks.wrapJournal = nil
	if err := s.Put("third.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	m, err := Read(path)
	if err != nil || m.Files["new.jpg"].MediaIDString != "2" || len(m.Files) != 54 {
		t.Errorf("after recovery Read = %v, %v", m, err)
	}
}

// TestJournalFileMatchesState runs random changes in journal mode; after each, Read and a
// reopened store see exactly the store's state.
func TestJournalFileMatchesState(t *testing.T) {
	s, path := journalStore(t)
	for step := range 30 {
		var err error
		switch step % 3 {
		case 0:
			m := make(map[string]Entry)
			for i := range 10 {
				m[fmt.Sprintf("b%02d/%d.png", step, i)] = Entry{State: Pending, Size: int64(i)}
			}
			err = s.PutMany(m)
		case 1:
			s.Stage(fmt.Sprintf("b%02d/0.png", step-1), Entry{State: Uploading, Resume: &Resume{MediaID: "1", Acked: []int{step}}})
			err = s.Put(fmt.Sprintf("b%02d/1.png", step-1), Entry{State: Failed, Error: &Error{Message: "x"}})
		default:
			err = s.Put(fmt.Sprintf("b%02d/2.png", step-2), uploadedEntry(step))
		}
		if err != nil {
			t.Fatal(err)
		}
		m, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := s.Snapshot(); !reflect.DeepEqual(m.Files, want) {
			t.Fatalf("step %d: Read differs from the state", step)
		}
	}
	want := s.Snapshot()
	crash(t, s)
	s2, err := Open(path, "/f")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("reopened state differs")
	}
}

func FuzzJournalReplay(f *testing.F) {
	base := t0
	rec, _ := frameRecord(base, t0.Add(time.Second), [][]byte{[]byte(`"a.jpg": {"state": "uploaded"}`)})
	f.Add(rec)
	f.Add(append(append([]byte{}, rec...), rec[:len(rec)/2]...))
	f.Add([]byte("MSJ 2 00000000\n{}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &Manifest{Version: 1, UpdatedAt: base, Files: map[string]Entry{}}
		valid, _, _, err := replay(data, m)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("replay error %v is not ErrCorrupt", err)
			}
			return
		}
		if valid < 0 || valid > len(data) {
			t.Fatalf("valid = %d for %d bytes", valid, len(data))
		}
		// The intact prefix replays to the same state on its own.
		m2 := &Manifest{Version: 1, UpdatedAt: base, Files: map[string]Entry{}}
		if v2, _, bad, err := replay(data[:valid], m2); err != nil || bad != nil || v2 != valid || !reflect.DeepEqual(m.Files, m2.Files) {
			t.Fatalf("prefix replay: %d %v", v2, err)
		}
	})
}

// A Read that starts after Put returned sees the entry, in journal mode with checkpoints (by the
// lag bound) replacing the manifest while readers run: a reader that read the manifest before a
// checkpoint and the journal after it must notice and read again, even when the new file reuses
// the old one's inode.
func TestJournalReadSeesEveryCommit(t *testing.T) {
	s, path := journalStore(t)
	var committed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var fails, reads, busy atomic.Int64
	var firstErr atomic.Value
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := committed.Load()
				m, err := Read(path)
				if errors.Is(err, ErrBusy) { // checkpoints outpaced this reader: allowed, never wrong
					busy.Add(1)
					continue
				}
				reads.Add(1)
				if err != nil {
					fails.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				for i := range c {
					if _, ok := m.Files[fmt.Sprintf("r%05d.jpg", i)]; !ok {
						fails.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("committed r%05d.jpg missing (committed=%d)", i, c))
						break
					}
				}
			}
		})
	}
	for i := range 450 {
		if err := s.Put(fmt.Sprintf("r%05d.jpg", i), uploadedEntry(i)); err != nil {
			t.Fatal(err)
		}
		committed.Store(int64(i + 1))
		if i%3 == 2 { // a checkpoint after every third journal append
			s.mu.Lock()
			err := s.lead(true)
			s.mu.Unlock()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	close(stop)
	wg.Wait()
	st := s.Stats()
	t.Logf("stats %+v; reads %d, busy %d", st, reads.Load(), busy.Load())
	if st.Checkpoints < 10 || st.Writes-st.Checkpoints < 10 || reads.Load() < 10 {
		t.Errorf("Stats = %+v, %d reads: want checkpoints and journal appends during many reads", st, reads.Load())
	}
	if n := fails.Load(); n > 0 {
		t.Fatalf("%d bad reads; first: %v", n, firstErr.Load())
	}
}

// When only the directory fsync after a checkpoint's rename fails, the new manifest is in place:
// later journal records must name it, or Read (and Open) skip them.
func TestJournalCheckpointDirSyncFails(t *testing.T) {
	s, path := journalStore(t)
	if err := s.Put("before.jpg", uploadedEntry(1)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.hooks.syncDir = func(string) error { return syscall.EIO }
	err := s.lead(true)
	s.hooks.syncDir = nil
	s.mu.Unlock()
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("checkpoint with failing directory fsync: err = %v, want EIO", err)
	}
	if err := s.Put("after.jpg", uploadedEntry(2)); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Checkpoints != 1 {
		t.Fatalf("Stats = %+v: want the Put journaled, not checkpointed", st)
	}
	m, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"before.jpg", "after.jpg"} {
		if _, ok := m.Files[k]; !ok {
			t.Errorf("Read misses %s after a checkpoint whose directory fsync failed", k)
		}
	}
	crash(t, s)
	s2, err := Open(path, filepath.Dir(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, ok := s2.Get("after.jpg"); !ok {
		t.Errorf("Open after a crash misses after.jpg")
	}
}

// A journal whose removal after a checkpoint failed still holds its (stale) records; a failed
// append must cut the journal back to its real length, keeping the records appended since.
func TestJournalRemoveFailsThenAppendFails(t *testing.T) {
	s, path := journalStore(t)
	for i := range 3 {
		if err := s.Put(fmt.Sprintf("old%d.jpg", i), uploadedEntry(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	s.hooks.remove = func(string) error { return syscall.EACCES }
	err := s.lead(true)
	s.hooks.remove = nil
	s.mu.Unlock()
	if err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	if _, err := os.Stat(JournalPath(path)); err != nil {
		t.Fatalf("the journal should still exist after its removal failed: %v", err)
	}
	if err := s.Put("kept.jpg", uploadedEntry(7)); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.hooks.wrapJournal = func(f *os.File) writeSyncer { return failingSync{f} }
	s.mu.Unlock()
	if err := s.Put("failed.jpg", uploadedEntry(8)); err == nil {
		t.Fatal("Put with a failing journal fsync succeeded")
	}
	s.mu.Lock()
	s.hooks.wrapJournal = nil
	s.mu.Unlock()
	m, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Files["kept.jpg"]; !ok {
		t.Errorf("a failed append cut off the committed record of kept.jpg")
	}
	if _, ok := m.Files["failed.jpg"]; ok {
		t.Errorf("Read sees failed.jpg, whose append failed")
	}
}
