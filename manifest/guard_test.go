package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// reports collects what a store hands to Options.Report.
type reports struct {
	mu   sync.Mutex
	errs []error
}

func (r *reports) add(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *reports) get() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// damagedCopies lists the "<file>.damaged-*" copies beside the manifest at path.
func damagedCopies(t *testing.T, path string) []string {
	t.Helper()
	m, err := filepath.Glob(path + "*.damaged-*")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// wantDamage checks that exactly one damage of file was reported, that its copy is kept with the
// bytes damaged, and returns the report.
func wantDamage(t *testing.T, r *reports, file string, damaged []byte) *DamageError {
	t.Helper()
	got := r.get()
	if len(got) != 1 {
		t.Fatalf("reports = %v, want one damage of %s", got, file)
	}
	var de *DamageError
	if !errors.As(got[0], &de) || !errors.Is(got[0], ErrCorrupt) || de.Path != file {
		t.Fatalf("report %v is not a DamageError of %s wrapping ErrCorrupt", got[0], file)
	}
	if !strings.HasPrefix(de.Kept, file+".damaged-") || !strings.Contains(got[0].Error(), de.Kept) {
		t.Errorf("report %q does not name the copy as %s.damaged-<time>", got[0], file)
	}
	if kept, err := os.ReadFile(de.Kept); err != nil || !bytes.Equal(kept, damaged) {
		t.Errorf("copy %s = %q, %v; want the damaged bytes %q", de.Kept, kept, err, damaged)
	}
	return de
}

func openWith(t *testing.T, r *reports) (*Store, string) {
	t.Helper()
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := OpenWith(path, folder, Options{Report: r.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

// TestCheckLockAfterDirectoryRemoved is issue 17.5's reproduction: .mediasync/ deleted while the
// store runs took the lock with it, and a second agent could start. CheckLock locks again (and
// rewrites the manifest), after which a second Open is refused.
func TestCheckLockAfterDirectoryRemoved(t *testing.T) {
	var r reports
	s, path := openWith(t, &r)
	if err := s.CheckLock(); err != nil || len(r.get()) != 0 || s.Stats().Writes != 0 {
		t.Fatalf("CheckLock with the lock held = %v, reports %v, %d writes; want nil and nothing done", err, r.get(), s.Stats().Writes)
	}
	if err := s.Put("a.jpg", Entry{State: Uploaded, MediaIDString: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := s.CheckLock(); err != nil {
		t.Fatalf("CheckLock after the directory was removed = %v", err)
	}
	if got := r.get(); len(got) != 1 || !errors.Is(got[0], ErrLockLost) {
		t.Errorf("reports = %v, want one ErrLockLost", got)
	}
	if st := s.Stats(); st.Relocked != 1 {
		t.Errorf("Stats.Relocked = %d, want 1", st.Relocked)
	}
	if m, err := Read(path); err != nil || len(m.Files) != 1 {
		t.Errorf("Read after CheckLock = %v, %v; want the manifest rewritten", m, err)
	}
	s2, err := Open(path, "/other")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d ", os.Getpid())) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("second Open after CheckLock = %v, want ErrLocked naming this process", err)
	}
	if err := s.CheckLock(); err != nil || len(r.get()) != 1 {
		t.Errorf("CheckLock again = %v, reports %v; want nil and no new report", err, r.get())
	}
}

// TestPutRelocks: every write checks the lock first, so a Put after the lock file was removed
// locks it again before writing.
func TestPutRelocks(t *testing.T) {
	var r reports
	s, path := openWith(t, &r)
	if err := os.Remove(LockPath(path)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("a.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	if got := r.get(); len(got) != 1 || !errors.Is(got[0], ErrLockLost) {
		t.Errorf("reports = %v, want one ErrLockLost", got)
	}
	if s2, err := Open(path, "/other"); !errors.Is(err, ErrLocked) {
		if err == nil {
			s2.Close()
		}
		t.Fatalf("second Open after the Put = %v, want ErrLocked", err)
	}
}

// TestCheckLockHeldByAnother: after .mediasync/ was removed another process opened the folder and
// holds the new lock. CheckLock says so (ErrLocked), and the store writes nothing more: neither
// Put nor Close touches the other process's manifest or lock file.
func TestCheckLockHeldByAnother(t *testing.T) {
	var r reports
	s, path := openWith(t, &r)
	if err := s.Put("a.jpg", Entry{State: Uploaded, MediaIDString: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	cmd := helperCmd(t, "hold", path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	if line, _ := bufio.NewReader(stdout).ReadString('\n'); line != "locked\n" {
		t.Fatalf("helper said %q", line)
	}
	holder := fmt.Sprintf("pid %d ", cmd.Process.Pid)

	err := s.CheckLock()
	if !errors.Is(err, ErrLocked) || !errors.Is(err, ErrLockLost) || !strings.Contains(err.Error(), holder) {
		t.Fatalf("CheckLock = %v, want ErrLocked and ErrLockLost naming %q", err, holder)
	}
	if err := s.Put("b.jpg", Entry{State: Pending}); !errors.Is(err, ErrLocked) {
		t.Errorf("Put after the lock went to another process = %v, want ErrLocked", err)
	}
	if err := s.Close(); !errors.Is(err, ErrLocked) {
		t.Errorf("Close = %v, want the ErrLocked that stopped the writes", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("the store wrote a manifest into the folder another process holds")
	}
	if got := readHolder(LockPath(path)); !strings.HasPrefix(got, holder) {
		t.Errorf("lock file holder = %q after Close, want the other process's (%q)", got, holder)
	}
	if len(r.get()) != 0 {
		t.Errorf("reports = %v; the refusal is returned, not reported", r.get())
	}
}

// TestManifestChangedBehindTheStore: a manifest overwritten (garbage in place, or replaced by
// another writer's) between two Puts was silently replaced by the next commit. It is now kept
// beside it as manifest.json.damaged-<time> and reported, then the store writes its state.
func TestManifestChangedBehindTheStore(t *testing.T) {
	other := `{"version": 1, "folder": "/elsewhere", "updated_at": "2026-01-01T00:00:00Z", "files": {"x.jpg": {"state": "pending"}}}` + "\n"
	tests := []struct {
		name    string
		journal bool // a large manifest: the next commit would be a journal append
		change  func(t *testing.T, path string) []byte
	}{
		{"garbage in place", false, func(t *testing.T, path string) []byte {
			garbage := []byte("\x00\x13garbage garbage")
			if err := os.WriteFile(path, garbage, 0o644); err != nil {
				t.Fatal(err)
			}
			return garbage
		}},
		{"replaced by another writer", false, func(t *testing.T, path string) []byte {
			tmp := path + ".other"
			if err := os.WriteFile(tmp, []byte(other), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, path); err != nil {
				t.Fatal(err)
			}
			return []byte(other)
		}},
		{"garbage in place, journal mode", true, func(t *testing.T, path string) []byte {
			garbage := []byte("not json")
			if err := os.WriteFile(path, garbage, 0o644); err != nil {
				t.Fatal(err)
			}
			return garbage
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reports
			var s *Store
			var path string
			if tt.journal {
				s, path = journalStoreWith(t, Options{Report: r.add})
			} else {
				s, path = openWith(t, &r)
			}
			if err := s.Put("a.jpg", Entry{State: Uploaded, MediaIDString: "1"}); err != nil {
				t.Fatal(err)
			}
			damaged := tt.change(t, path)
			cps := s.Stats().Checkpoints
			if err := s.Put("b.jpg", Entry{State: Pending}); err != nil {
				t.Fatalf("Put after the manifest was changed = %v", err)
			}
			wantDamage(t, &r, path, damaged)
			if st := s.Stats(); st.Damaged != 1 || st.Checkpoints != cps+1 {
				t.Errorf("Stats = %+v; want 1 damaged and the Put written as a checkpoint", st)
			}
			m, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := m.Files["b.jpg"]; !ok || len(m.Files) != s.Len() {
				t.Errorf("manifest after the Put holds %d entries, want the store's %d", len(m.Files), s.Len())
			}
			if err := s.Put("c.jpg", Entry{State: Pending}); err != nil || len(r.get()) != 1 {
				t.Errorf("next Put = %v, reports %v: the store's own file must not look damaged", err, r.get())
			}
		})
	}
}

// TestManifestRemovedInJournalMode: with the manifest removed, a journal append would extend a
// checkpoint that no longer exists (Read found no manifest at all); the next commit writes the
// whole state instead. Nothing was damaged, so nothing is reported.
func TestManifestRemovedInJournalMode(t *testing.T) {
	var r reports
	s, path := journalStoreWith(t, Options{Report: r.add})
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("b.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	if m, err := Read(path); err != nil || len(m.Files) != s.Len() {
		t.Fatalf("Read = %v, %v; want the whole state", m, err)
	}
	if len(r.get()) != 0 {
		t.Errorf("reports = %v, want none", r.get())
	}
}

// TestJournalChangedBehindTheStore: the journal removed (appends went to the unlinked file, lost
// to readers and to the next Open) or overwritten while the store appends to it. The next commit
// writes the whole state; an overwritten journal is kept aside and reported.
func TestJournalChangedBehindTheStore(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		t.Run(fmt.Sprintf("overwritten=%v", overwrite), func(t *testing.T) {
			var r reports
			s, path := journalStoreWith(t, Options{Report: r.add})
			if err := s.Put("j0.jpg", Entry{State: Pending}); err != nil {
				t.Fatal(err)
			}
			jp := JournalPath(path)
			garbage := []byte("garbage over the journal\n")
			var err error
			if overwrite {
				err = os.WriteFile(jp, garbage, 0o644)
			} else {
				err = os.Remove(jp)
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Put("j1.jpg", Entry{State: Pending}); err != nil {
				t.Fatal(err)
			}
			if m, err := Read(path); err != nil || len(m.Files) != s.Len() {
				t.Fatalf("Read = %d entries, %v; want the store's %d", len(m.Files), err, s.Len())
			}
			if overwrite {
				wantDamage(t, &r, jp, garbage)
			} else if len(r.get()) != 0 {
				t.Errorf("reports = %v for a removed journal, want none", r.get())
			}
		})
	}
}

// TestJournalDamagedLastRecord: a flipped byte in the journal's last complete record was taken for
// a torn tail and cut silently (its upload then done again). Now it is told apart from a torn
// tail: Read fails with ErrCorrupt, and Open keeps a copy of the journal, reports the damage, and
// carries on with the intact records before it (the policy in doc.go).
func TestJournalDamagedLastRecord(t *testing.T) {
	tests := []struct {
		name   string
		damage func(rec []byte) []byte // the last record, changed
	}{
		{"flipped payload byte", func(rec []byte) []byte {
			i := bytes.Index(rec, []byte("j1.jpg"))
			rec[i] ^= 0x01
			return rec
		}},
		{"flipped checksum digit", func(rec []byte) []byte {
			nl := bytes.IndexByte(rec, '\n')
			rec[nl-1] = "1032547698badcfe"[strings.IndexByte("0123456789abcdef", rec[nl-1])]
			return rec
		}},
		{"flipped length digit", func(rec []byte) []byte {
			f := bytes.Fields(rec[:bytes.IndexByte(rec, '\n')])
			n, _ := strconv.Atoi(string(f[1]))
			return bytes.Replace(rec, f[1], []byte(strconv.Itoa(n+1000)), 1)
		}},
		{"damaged header", func(rec []byte) []byte {
			rec[2] = 'K'
			return rec
		}},
		{"damaged, then a torn append", func(rec []byte) []byte {
			rec[len(rec)/2] ^= 0x20
			return append(rec, "MSJ 300 0badf00d\n{\"ba"...)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := journalStore(t)
			if err := s.Put("j0.jpg", Entry{State: Uploaded, MediaIDString: "10"}); err != nil {
				t.Fatal(err)
			}
			if err := s.Put("j1.jpg", Entry{State: Uploaded, MediaIDString: "11"}); err != nil {
				t.Fatal(err)
			}
			crash(t, s)
			jp := JournalPath(path)
			data, _ := os.ReadFile(jp)
			last := bytes.LastIndex(data, []byte("MSJ "))
			damaged := append(data[:last:last], tt.damage(bytes.Clone(data[last:]))...)
			if err := os.WriteFile(jp, damaged, 0o644); err != nil {
				t.Fatal(err)
			}

			if _, err := Read(path); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), fmt.Sprintf("byte %d", last)) {
				t.Errorf("Read = %v, want ErrCorrupt naming byte %d", err, last)
			}
			var r reports
			s2, err := OpenWith(path, "/f", Options{Report: r.add})
			if err != nil {
				t.Fatalf("Open = %v", err)
			}
			defer s2.Close()
			wantDamage(t, &r, jp, damaged)
			if s2.Stats().Damaged != 1 {
				t.Errorf("Stats.Damaged = %d, want 1", s2.Stats().Damaged)
			}
			if _, ok := s2.Get("j0.jpg"); !ok {
				t.Errorf("the intact record before the damaged one was lost")
			}
			if _, ok := s2.Get("j1.jpg"); ok {
				t.Errorf("the damaged record was applied")
			}
			if now, _ := os.ReadFile(jp); !bytes.Equal(now, data[:last]) {
				t.Errorf("journal after Open is %d bytes, want the %d intact ones", len(now), last)
			}
		})
	}
}

// TestJournalDamagedThenIntact: damage followed by an intact record cannot be cut off without
// dropping that record: Open refuses, as it does for any corruption, and keeps no copy.
func TestJournalDamagedThenIntact(t *testing.T) {
	s, path := journalStore(t)
	for i := range 3 {
		if err := s.Put(fmt.Sprintf("j%d.jpg", i), Entry{State: Pending}); err != nil {
			t.Fatal(err)
		}
	}
	crash(t, s)
	jp := JournalPath(path)
	data, _ := os.ReadFile(jp)
	i := bytes.LastIndex(data, []byte("MSJ "))
	data[i-10] ^= 0x01 // inside the second record
	os.WriteFile(jp, data, 0o644)
	if _, err := Open(path, "/f"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open = %v, want ErrCorrupt", err)
	}
	if now, _ := os.ReadFile(jp); !bytes.Equal(now, data) || len(damagedCopies(t, path)) != 0 {
		t.Errorf("a refused Open changed the journal or kept a copy")
	}
}
