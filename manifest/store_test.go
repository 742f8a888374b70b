package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary act as a second process (lock holder, crashing writer).
func TestMain(m *testing.M) {
	if mode := os.Getenv("MANIFEST_TEST_HELPER"); mode != "" {
		os.Exit(helper(mode, os.Getenv("MANIFEST_TEST_PATH")))
	}
	os.Exit(m.Run())
}

// helper runs in a child process. "hold": open the store, say "locked", exit when stdin closes.
// "crash": open, Put, and stop forever right before the rename (the parent SIGKILLs it there).
func helper(mode, path string) int {
	switch mode {
	case "hold":
		s, err := Open(path, "/f")
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n')
		if err := s.Close(); err != nil {
			return 1
		}
		return 0
	case "crash":
		s, err := open(path, "/f", Options{}, hooks{beforeRename: func(tmp string) error {
			fmt.Println("renaming", tmp)
			time.Sleep(time.Hour) // until the parent's SIGKILL; a bare select{} would die of deadlock
			return nil
		}})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		s.Put("new.jpg", Entry{State: Uploaded, MediaIDString: "2"})
		return 1
	case "journal":
		// Commit forever in journal mode, saying which entry each returned Put made durable.
		s, err := Open(path, "/f")
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		s.smallFile, s.maxLag = 0, time.Hour
		s.lastCheckpoint = time.Now()
		for i := 0; ; i++ {
			rel := fmt.Sprintf("c%06d.jpg", i)
			if err := s.Put(rel, uploadedEntry(i)); err != nil {
				fmt.Println("error:", err)
				return 1
			}
			fmt.Println("committed", rel)
		}
	}
	return 2
}

func newStore(t *testing.T) (*Store, string) {
	t.Helper()
	path := DefaultPath(t.TempDir())
	s, err := Open(path, filepath.Dir(filepath.Dir(path)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func TestOpenMissingCreatesDirectory(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 0 || s.Path() != path {
		t.Errorf("new store: Len() = %d, Path() = %q; want 0, %q", s.Len(), s.Path(), path)
	}
	if _, err := os.Stat(filepath.Join(folder, ".mediasync")); err != nil {
		t.Errorf(".mediasync not created: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open wrote a manifest before any Put: %v", err)
	}
}

func TestPutRoundTrip(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	local := time.FixedZone("CET", 3600)
	in := sample().Files
	in["tz.jpg"] = Entry{State: Uploaded, MediaIDString: "9", ExpiresAt: time.Now().In(local), MTime: time.Now()}
	in["latin1.jpg"] = Entry{State: Uploaded, AltText: "caf\xe9 caption"}
	in["nil-acks.mp4"] = Entry{State: Uploading, Resume: &Resume{MediaID: "3", ChunkSize: 1}}
	for rel, e := range in {
		if err := s.Put(rel, e); err != nil {
			t.Fatalf("Put(%q): %v", rel, err)
		}
	}
	want := s.Snapshot()
	if len(want) != len(in) {
		t.Fatalf("Snapshot has %d entries, want %d", len(want), len(in))
	}
	if e := want["tz.jpg"]; e.ExpiresAt.Location() != time.UTC || !e.ExpiresAt.Equal(in["tz.jpg"].ExpiresAt) {
		t.Errorf("ExpiresAt = %v, want %v in UTC", e.ExpiresAt, in["tz.jpg"].ExpiresAt)
	}
	if e := want["nil-acks.mp4"]; e.Resume.Acked == nil {
		t.Errorf("Resume.Acked = nil, want []")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// What a reader and a reopened store see is exactly what Get saw.
	m, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if m.Folder != folder || m.Version != Version || m.UpdatedAt.IsZero() {
		t.Errorf("Read: folder %q version %d updated_at %v", m.Folder, m.Version, m.UpdatedAt)
	}
	if !reflect.DeepEqual(m.Files, want) {
		t.Errorf("Read().Files differs from Snapshot():\n%+v\n%+v", m.Files, want)
	}
	s2, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := s2.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("reopened Snapshot() differs:\n%+v\n%+v", got, want)
	}
	if e, ok := s2.Get("shoot-01/IMG_0001.jpg"); !ok || e.MediaIDString != "1912475018862166016" || !e.Usable(t0) || e.Usable(t0.Add(48*time.Hour)) {
		t.Errorf("Get = %+v, %v", e, ok)
	}
}

func TestPutStampsUpdatedAt(t *testing.T) {
	s, _ := newStore(t)
	before := time.Now()
	if err := s.Put("a.jpg", Entry{State: Pending, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	e, _ := s.Get("a.jpg")
	if e.UpdatedAt.Before(before.Add(-time.Second)) {
		t.Errorf("UpdatedAt = %v, want about %v", e.UpdatedAt, before)
	}
}

func TestGetReturnsCopies(t *testing.T) {
	s, _ := newStore(t)
	in := Entry{State: Uploading, Error: &Error{Message: "x"}, Resume: &Resume{MediaID: "1", Acked: []int{0, 1}},
		Hook: &HookState{State: HookPending}}
	if err := s.Put("a.mp4", in); err != nil {
		t.Fatal(err)
	}
	in.Resume.Acked[0] = 99 // the caller's value is not the store's
	in.Hook.State = HookFailed
	g, _ := s.Get("a.mp4")
	g.Resume.Acked[1] = 98
	g.Error.Message = "changed"
	g.Hook.Attempts = 7
	snap := s.Snapshot()
	snap["a.mp4"].Resume.Acked[0] = 97
	snap["a.mp4"].Hook.LastError = "changed"
	e, _ := s.Get("a.mp4")
	if !reflect.DeepEqual(e.Resume.Acked, []int{0, 1}) || e.Error.Message != "x" || *e.Hook != (HookState{State: HookPending}) {
		t.Errorf("store entry changed through an alias: %+v %+v %+v", e.Resume, e.Error, e.Hook)
	}
}

func TestPutInvalid(t *testing.T) {
	tests := []struct {
		name string
		rel  string
		e    Entry
	}{
		{"empty path", "", Entry{State: Pending}},
		{"escaping path", "../x.jpg", Entry{State: Pending}},
		{"absolute path", "/x.jpg", Entry{State: Pending}},
		{"invalid utf-8 path", "x\xff.jpg", Entry{State: Pending}},
		{"no state", "x.jpg", Entry{}},
		{"unknown state", "x.jpg", Entry{State: "done"}},
		{"time out of range", "x.jpg", Entry{State: Uploaded, ExpiresAt: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, path := newStore(t)
			if err := s.Put("ok.jpg", Entry{State: Pending}); err != nil {
				t.Fatal(err)
			}
			err := s.PutMany(map[string]Entry{tt.rel: tt.e, "also.jpg": {State: Pending}})
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("PutMany(%q, %+v) = %v, want ErrInvalid", tt.rel, tt.e, err)
			}
			if _, ok := s.Get("also.jpg"); ok || s.Len() != 1 {
				t.Errorf("a refused PutMany changed the store: %v", s.Keys())
			}
			// The store still works, and the file holds only the good entry.
			if err := s.Put("later.jpg", Entry{State: Pending}); err != nil {
				t.Fatal(err)
			}
			m, err := Read(path)
			if err != nil || len(m.Files) != 2 {
				t.Errorf("Read = %v, %v; want 2 entries", m, err)
			}
		})
	}
}

func TestOpenCorruptLeavesFileUntouched(t *testing.T) {
	tests := []struct {
		name string
		data string
		want error
	}{
		{"truncated", `{"version": 1, "folder": "/x", "files": {"a.jpg": {"sta`, ErrCorrupt},
		{"zero bytes", "", ErrCorrupt},
		{"binary", "\x89PNG\r\n\x1a\n", ErrCorrupt},
		{"bad entry", `{"version": 1, "files": {"../../x": {"state": "uploaded"}}}`, ErrCorrupt},
		{"newer version", `{"version": 7, "files": {}}`, ErrNewerVersion},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			folder := t.TempDir()
			path := DefaultPath(folder)
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path, folder)
			if !errors.Is(err, tt.want) {
				s.Close()
				t.Fatalf("Open = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "left untouched") {
				t.Errorf("Open error %q does not name the file and say it was left untouched", err)
			}
			got, _ := os.ReadFile(path)
			fi, _ := os.Stat(path)
			if string(got) != tt.data || fi.Mode().Perm() != 0o600 {
				t.Errorf("Open changed the corrupt file: %q %v", got, fi.Mode())
			}
			// The refusal released the lock: once repaired, the folder opens.
			os.WriteFile(path, []byte(`{"version": 1, "files": {}}`), 0o600)
			s, err = Open(path, folder)
			if err != nil {
				t.Fatalf("Open after repair: %v", err)
			}
			s.Close()
		})
	}
}

func TestPreservesFileMode(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	os.MkdirAll(filepath.Dir(path), 0o755)
	os.WriteFile(path, []byte(`{"version": 1, "files": {}}`), 0o600)
	s, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Put("a.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after write = %v, want 0600", fi.Mode().Perm())
	}
}

// faultyFile fails its first write after n bytes, like a disk that fills up mid-write.
type faultyFile struct {
	f   *os.File
	n   int
	err error
}

func (w *faultyFile) Write(p []byte) (int, error) {
	k := min(w.n, len(p))
	w.f.Write(p[:k])
	return k, &fs.PathError{Op: "write", Path: w.f.Name(), Err: w.err}
}
func (w *faultyFile) Sync() error { return w.f.Sync() }

// failingSync writes but fails the fsync, as an I/O error would.
type failingSync struct{ f *os.File }

func (w failingSync) Write(p []byte) (int, error) { return w.f.Write(p) }
func (w failingSync) Sync() error {
	return &fs.PathError{Op: "sync", Path: w.f.Name(), Err: syscall.EIO}
}

func TestWriteFailureLosesNothing(t *testing.T) {
	tests := []struct {
		name    string
		h       hooks
		wantErr error
		wantMsg string
	}{
		{"full disk", hooks{wrapTemp: func(f *os.File) writeSyncer { return &faultyFile{f: f, n: 100, err: syscall.ENOSPC} }},
			syscall.ENOSPC, "no space left on device"},
		{"fsync fails", hooks{wrapTemp: func(f *os.File) writeSyncer { return failingSync{f} }},
			syscall.EIO, "input/output error"},
		{"interrupted before rename", hooks{beforeRename: func(string) error { return errors.New("crash") }},
			nil, "crash"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			folder := t.TempDir()
			path := DefaultPath(folder)
			s, err := Open(path, folder)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.Put("old.jpg", Entry{State: Uploaded, MediaIDString: "1"}); err != nil {
				t.Fatal(err)
			}
			old, _ := os.ReadFile(path)

			s.hooks.wrapTemp, s.hooks.beforeRename = tt.h.wrapTemp, tt.h.beforeRename
			err = s.Put("new.jpg", Entry{State: Uploaded, MediaIDString: "2"})
			if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Put during fault = %v, want error wrapping %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), "write manifest "+path) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not say what and why (%q)", err, tt.wantMsg)
			}
			if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
				t.Errorf("manifest changed by a failed write:\n%s", now)
			}
			if tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".manifest.json.tmp-*")); len(tmps) != 0 {
				t.Errorf("temp files left: %v", tmps)
			}
			if e, ok := s.Get("new.jpg"); !ok || e.MediaIDString != "2" {
				t.Errorf("entry lost from memory: %+v %v", e, ok)
			}
			if st := s.Stats(); st.FailedWrites != 1 {
				t.Errorf("Stats = %+v, want 1 failed write", st)
			}

			// The fault clears; the next Put writes both entries.
			s.hooks.wrapTemp, s.hooks.beforeRename = nil, nil
			if err := s.Put("third.jpg", Entry{State: Pending}); err != nil {
				t.Fatal(err)
			}
			m, err := Read(path)
			if err != nil {
				t.Fatal(err)
			}
			if m.Files["new.jpg"].MediaIDString != "2" || len(m.Files) != 3 {
				t.Errorf("after recovery the file holds %v", m.Files)
			}
		})
	}
}

func TestCloseRetriesFailedWrite(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := open(path, folder, Options{}, hooks{beforeRename: func(string) error { return syscall.ENOSPC }})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("a.jpg", Entry{State: Pending}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put = %v, want ENOSPC", err)
	}
	s.hooks.beforeRename = nil
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if m, err := Read(path); err != nil || len(m.Files) != 1 {
		t.Errorf("Close did not write the pending change: %v %v", m, err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := s.Put("b.jpg", Entry{State: Pending}); !errors.Is(err, ErrClosed) {
		t.Errorf("Put after Close = %v, want ErrClosed", err)
	}
}

func TestGroupCommit(t *testing.T) {
	s, path := newStore(t)
	const goroutines, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				rel := fmt.Sprintf("g%d/f%04d.jpg", g, i)
				if err := s.Put(rel, Entry{State: Uploaded, MediaIDString: rel}); err != nil {
					errs <- err
					return
				}
				// Durable on return: the file on disk already holds it.
				if i%10 == 0 {
					m, err := Read(path)
					if err != nil {
						errs <- err
						return
					}
					if _, ok := m.Files[rel]; !ok {
						errs <- fmt.Errorf("Put(%q) returned before a write holding it", rel)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	m, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Files) != goroutines*each {
		t.Errorf("file holds %d entries, want %d", len(m.Files), goroutines*each)
	}
	st := s.Stats()
	if st.Puts != goroutines*each || st.Writes > st.Puts || st.Writes < 1 {
		t.Errorf("Stats = %+v", st)
	}
	t.Logf("%d puts, %d writes", st.Puts, st.Writes)
}

// TestGroupCommitBatches holds a write in flight while more Puts arrive: they must share the next write.
func TestGroupCommitBatches(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	entered := make(chan struct{})
	releaseWrite := make(chan struct{})
	var once sync.Once
	s, err := open(path, folder, Options{}, hooks{beforeRename: func(string) error {
		once.Do(func() { close(entered); <-releaseWrite })
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	first := make(chan error, 1)
	go func() { first <- s.Put("first.jpg", Entry{State: Pending}) }()
	<-entered // write 1 is in flight
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := s.Put(fmt.Sprintf("f%d.jpg", i), Entry{State: Pending}); err != nil {
				t.Error(err)
			}
		})
	}
	// Every follower has applied its change once Len says so; then let write 1 finish.
	deadline := time.Now().Add(10 * time.Second)
	for s.Len() < n+1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(releaseWrite)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Writes != 2 || st.Puts != n+1 {
		t.Errorf("Stats = %+v, want %d puts in 2 writes", st, n+1)
	}
	if m, err := Read(path); err != nil || len(m.Files) != n+1 {
		t.Errorf("Read = %v entries, %v", len(m.Files), err)
	}
}

func TestReadersNeverSeeTornFile(t *testing.T) {
	s, path := newStore(t)
	if err := s.Put("seed.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var reads, errs int
	var readErr error
	var wg sync.WaitGroup
	wg.Go(func() {
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			m, err := Read(path)
			reads++
			if err != nil {
				errs++
				readErr = err
				continue
			}
			if len(m.Files) < last {
				errs++
				readErr = fmt.Errorf("entries went from %d to %d", last, len(m.Files))
			}
			last = len(m.Files)
		}
	})
	for i := range 120 {
		if err := s.Put(fmt.Sprintf("f%03d.jpg", i), Entry{State: Uploaded, MediaIDString: strings.Repeat("7", 19), AltText: strings.Repeat("x", i)}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if errs > 0 {
		t.Errorf("%d of %d concurrent reads failed; last: %v", errs, reads, readErr)
	}
	t.Logf("%d concurrent reads", reads)
}

func TestLockContention(t *testing.T) {
	s, path := newStore(t)
	s2, err := Open(path, "/other")
	if !errors.Is(err, ErrLocked) {
		s2.Close()
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if want := fmt.Sprintf("pid %d on host", os.Getpid()); !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("ErrLocked message %q does not name the manifest and the holder (%q)", err, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3, err := Open(path, "/other")
	if err != nil {
		t.Fatalf("Open after Close = %v", err)
	}
	s3.Close()
}

func helperCmd(t *testing.T, mode, path string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), "MANIFEST_TEST_HELPER="+mode, "MANIFEST_TEST_PATH="+path)
	cmd.Stderr = os.Stderr
	return cmd
}

func TestLockAcrossProcesses(t *testing.T) {
	path := DefaultPath(t.TempDir())
	cmd := helperCmd(t, "hold", path)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper said %q", line)
	}
	_, err := Open(path, "/f")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d ", cmd.Process.Pid)) {
		t.Errorf("Open while another process holds the lock = %v, want ErrLocked naming pid %d", err, cmd.Process.Pid)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	s, err := Open(path, "/f")
	if err != nil {
		t.Fatalf("Open after the other process exited = %v", err)
	}
	s.Close()
}

// TestCrashBeforeRename kills a writer between its temp write and its rename: the old manifest
// survives whole, and the next Open removes the temp file and loads the old state.
func TestCrashBeforeRename(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, "/f")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put("old.jpg", Entry{State: Uploaded, MediaIDString: "1"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	old, _ := os.ReadFile(path)

	cmd := helperCmd(t, "crash", path)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	tmp, ok := strings.CutPrefix(strings.TrimSpace(line), "renaming ")
	if !ok {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	cmd.Process.Kill()
	cmd.Wait()

	if data, err := os.ReadFile(tmp); err != nil || !strings.Contains(string(data), `"new.jpg"`) {
		t.Fatalf("the crashed write left no complete temp file %s: %v", tmp, err)
	}
	if now, _ := os.ReadFile(path); !bytes.Equal(now, old) {
		t.Fatalf("manifest changed by a crashed write:\n%s", now)
	}
	s, err = Open(path, "/f")
	if err != nil {
		t.Fatalf("Open after crash: %v", err)
	}
	defer s.Close()
	if _, err := os.Stat(tmp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open left the crash's temp file: %v", err)
	}
	if _, ok := s.Get("new.jpg"); ok || s.Len() != 1 {
		t.Errorf("store after crash holds %v, want the old state", s.Keys())
	}
}

func TestStageAndFlush(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	inFile := func(rel string) bool {
		t.Helper()
		m, err := Read(path)
		if errors.Is(err, fs.ErrNotExist) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		_, ok := m.Files[rel]
		return ok
	}
	if err := s.Stage("a.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Get("a.jpg"); !ok || inFile("a.jpg") || s.Stats().Writes != 0 {
		t.Fatalf("after Stage: in memory %v, in file %v, writes %d; want true, false, 0", ok, inFile("a.jpg"), s.Stats().Writes)
	}
	if err := s.Put("b.jpg", Entry{State: Uploaded}); err != nil {
		t.Fatal(err)
	}
	if !inFile("a.jpg") || !inFile("b.jpg") || s.Stats().Writes != 1 {
		t.Errorf("Put did not write the staged entry with its own in one write: %+v", s.Stats())
	}
	if err := s.Flush(); err != nil || s.Stats().Writes != 1 {
		t.Errorf("Flush with nothing staged = %v, %+v; want no write", err, s.Stats())
	}
	if err := s.Stage("c.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil || !inFile("c.jpg") {
		t.Errorf("Flush = %v; c.jpg in file: %v", err, inFile("c.jpg"))
	}
	if err := s.Stage("d.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	if err := s.Stage("../d.jpg", Entry{State: Pending}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Stage(invalid) = %v, want ErrInvalid", err)
	}
	if err := s.Close(); err != nil || !inFile("d.jpg") {
		t.Errorf("Close = %v; d.jpg in file: %v", err, inFile("d.jpg"))
	}
	if err := s.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
}

// TestFileMatchesState runs a random sequence of changes and checks after each durable one that the
// file is exactly the encoding of the store's state (key order, cached encodings, staged entries).
func TestFileMatchesState(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	key := func() string { return fmt.Sprintf("d%d/f%03d.jpg", r.IntN(5), r.IntN(400)) }
	for step := range 40 {
		switch r.IntN(4) {
		case 0: // a large batch of new keys: appended, sorted at the next write
			m := make(map[string]Entry)
			for i := range 70 {
				m[fmt.Sprintf("batch%02d/%03d.png", step, i)] = Entry{State: Pending, Size: int64(i)}
			}
			err = s.PutMany(m)
		case 1:
			if err := s.Stage(key(), Entry{State: Uploading, Resume: &Resume{MediaID: "1", Acked: []int{step}}}); err != nil {
				t.Fatal(err)
			}
			err = s.Put(key(), Entry{State: Failed, Error: &Error{Message: fmt.Sprint(step)}})
		default:
			err = s.Put(key(), uploadedEntry(step))
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := decode(data)
		if err != nil {
			t.Fatal(err)
		}
		want, err := encode(&Manifest{Folder: folder, UpdatedAt: m.UpdatedAt, Files: s.Snapshot()})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Fatalf("step %d: file differs from the encoding of the state", step)
		}
	}
	if keys := s.Keys(); !slices.IsSorted(keys) || len(keys) != s.Len() {
		t.Errorf("Keys() not sorted or incomplete: %d of %d", len(keys), s.Len())
	}
}

func TestDirectoryRemovedWhileRunning(t *testing.T) {
	s, path := newStore(t)
	if err := s.Put("a.jpg", Entry{State: Uploaded, MediaIDString: "1"}); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("b.jpg", Entry{State: Pending}); err != nil {
		t.Fatalf("Put after the directory was removed = %v", err)
	}
	if m, err := Read(path); err != nil || len(m.Files) != 2 {
		t.Errorf("Read = %v, %v; want both entries rewritten", m, err)
	}
}

// TestConcurrentUse mixes every method from several goroutines (meaningful under -race), then
// checks that Close wrote the final state.
func TestConcurrentUse(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, folder)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 15 {
				rel := fmt.Sprintf("g%d/%d.mp4", g, i)
				if err := s.Stage(rel, Entry{State: Uploading, Resume: &Resume{MediaID: "1", Acked: []int{i}}}); err != nil {
					t.Error(err)
				}
				if e, ok := s.Get(rel); !ok || e.Resume.Acked[0] != i {
					t.Errorf("Get(%q) = %+v, %v", rel, e, ok)
				}
				_ = s.Snapshot()
				_ = s.Keys()
				var err error
				if i%3 == 0 {
					err = s.Flush()
				} else {
					err = s.Put(rel, Entry{State: Uploaded, MediaIDString: rel})
				}
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	want := s.Snapshot()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m.Files, want) {
		t.Errorf("file after Close differs from the final state")
	}
}

// TestCrashDuringJournalCommits SIGKILLs a writer that commits through the journal as fast as it
// can: every Put it reported as returned is there after reopening, and the files parse.
func TestCrashDuringJournalCommits(t *testing.T) {
	folder := t.TempDir()
	path := DefaultPath(folder)
	s, err := Open(path, "/f")
	if err != nil {
		t.Fatal(err)
	}
	seed := make(map[string]Entry)
	for i := range 100 {
		seed[relName(i)] = uploadedEntry(i)
	}
	if err := s.PutMany(seed); err != nil {
		t.Fatal(err)
	}
	s.Close()

	for round := range 3 {
		cmd := helperCmd(t, "journal", path)
		stdout, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(stdout)
		var committed []string
		for len(committed) < 30*(round+1) {
			line, err := r.ReadString('\n')
			rel, ok := strings.CutPrefix(strings.TrimSpace(line), "committed ")
			if err != nil || !ok {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("helper said %q (%v)", line, err)
			}
			committed = append(committed, rel)
		}
		cmd.Process.Kill() // mid-commit, most likely
		cmd.Wait()

		m, err := Read(path)
		if err != nil {
			t.Fatalf("round %d: Read after kill: %v", round, err)
		}
		s, err := Open(path, "/f")
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		for _, rel := range committed {
			if e, ok := s.Get(rel); !ok || e.State != Uploaded {
				t.Errorf("round %d: committed %s lost after kill", round, rel)
			}
			if _, ok := m.Files[rel]; !ok {
				t.Errorf("round %d: Read misses committed %s", round, rel)
			}
		}
		s.Close()
	}
}
