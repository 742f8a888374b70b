package watcher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/rs/zerolog"
)

// harness runs one Watcher in the background.
type harness struct {
	w      *Watcher
	out    chan File
	log    *testsupport.Buffer
	cancel context.CancelFunc
	done   chan error
}

// start creates a Watcher from opts, lets setup replace its seams, and runs
// it until the test ends. Inside a synctest bubble it must be called from
// the bubble.
func start(t *testing.T, opts Options, setup func(w *Watcher)) *harness {
	t.Helper()
	buf := &testsupport.Buffer{}
	log := zerolog.New(buf).Level(zerolog.DebugLevel)
	w, err := New(opts, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if setup != nil {
		setup(w)
	}
	ctx, cancel := context.WithCancel(t.Context())
	h := &harness{w: w, out: make(chan File, 100000), log: buf, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- w.Run(ctx, h.out) }()
	t.Cleanup(func() { h.stop(t) })
	return h
}

func (h *harness) stop(t *testing.T) {
	t.Helper()
	h.cancel()
	if err := <-h.done; err != nil {
		t.Errorf("Run returned %v, want nil on cancellation", err)
	}
	h.done <- nil // later stops return at once
}

// guard is the failure guard for real-filesystem waits: generous, never a
// timing assertion.
const guard = 20 * time.Second

// waitFor receives files until want (keyed "ready:path" or "removed:path")
// have all arrived, and returns everything received meanwhile.
func (h *harness) waitFor(t *testing.T, want ...string) []File {
	t.Helper()
	missing := make(map[string]bool, len(want))
	for _, k := range want {
		missing[k] = true
	}
	var got []File
	deadline := time.After(guard)
	for len(missing) > 0 {
		select {
		case f := <-h.out:
			got = append(got, f)
			delete(missing, key(f))
		case <-deadline:
			t.Fatalf("still missing %v after %v; got %v\nlog:\n%s", keys(missing), guard, keysOf(got), h.log.String())
		}
	}
	return got
}

// barrier writes a fresh file and waits for it: anything emitted for files
// that changed before it has been received by then (due returns earliest
// deadline first), so the files received are exactly what was emitted.
func (h *harness) barrier(t *testing.T, dir string) []File {
	t.Helper()
	p := filepath.Join(dir, "zz-barrier-"+time.Now().Format("150405.000000000")+".jpg")
	writeFile(t, p, 100)
	got := h.waitFor(t, "ready:"+p)
	return got[:len(got)-1]
}

// drain returns what is queued on out now (synctest tests, after Wait).
func (h *harness) drain() []File {
	var got []File
	for {
		select {
		case f := <-h.out:
			got = append(got, f)
		default:
			return got
		}
	}
}

func key(f File) string {
	if f.Removed {
		return "removed:" + f.Path
	}
	return "ready:" + f.Path
}

func keysOf(fs []File) []string {
	var out []string
	for _, f := range fs {
		out = append(out, key(f))
	}
	sort.Strings(out)
	return out
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func ready(paths ...string) []string {
	var out []string
	for _, p := range paths {
		out = append(out, "ready:"+p)
	}
	sort.Strings(out)
	return out
}

func equalKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// writeFile writes a real JPEG padded to at least size bytes.
func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	b := mediagen.JPEG(16, 16, int64(len(path)))
	if len(b) < size {
		b = append(b, make([]byte, size-len(b))...)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// fakeSource is an event source whose events the test delivers by hand.
type fakeSource struct {
	mu     sync.Mutex
	events chan fsnotify.Event
	errs   chan error
	added  map[string]bool
	adds   int
	addErr error
	closed bool
}

func newFake() *fakeSource {
	return &fakeSource{events: make(chan fsnotify.Event), errs: make(chan error), added: make(map[string]bool)}
}

func (f *fakeSource) Add(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.adds++
	if f.addErr != nil {
		return f.addErr
	}
	f.added[dir] = true
	return nil
}

func (f *fakeSource) Remove(dir string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.added[dir] {
		return fsnotify.ErrNonExistentWatch
	}
	delete(f.added, dir)
	return nil
}

// kernelDropped forgets dir's watch as inotify does when the directory's
// inode goes away (IN_IGNORED), without a Remove call.
func (f *fakeSource) kernelDropped(dir string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.added, dir)
}

func (f *fakeSource) Events() <-chan fsnotify.Event { return f.events }
func (f *fakeSource) Errors() <-chan error          { return f.errs }
func (f *fakeSource) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return errors.New("closed twice")
	}
	f.closed = true
	return nil
}

func (f *fakeSource) watched() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for d := range f.added {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func (f *fakeSource) addCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.adds
}

// withFake makes w use src and treat every filesystem as local.
func withFake(src *fakeSource) func(w *Watcher) {
	return func(w *Watcher) {
		w.newSource = func() (eventSource, error) { return src, nil }
		w.fsType = func(string) (string, bool, error) { return "ext4", false, nil }
	}
}

func countLines(log, substr string) int {
	n := 0
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func discard() zerolog.Logger { return zerolog.Nop() }

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}
