package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// harness is an emulator, an uploader pointed at it, and a folder.
type harness struct {
	t      *testing.T
	srv    *emulatortest.Server
	up     *uploader.Client
	dir    string
	settle time.Duration // the watcher's settle time
}

func newHarness(t *testing.T, faults emulator.Faults) *harness {
	t.Helper()
	if faults.ProcessingTime == 0 {
		faults.ProcessingTime = 300 * time.Millisecond
	}
	srv := emulatortest.NewServer(t, emulator.Options{Faults: faults})
	up := uploader.New(srv.OAuth1Client(), uploader.Options{
		BaseURL:    srv.URL,
		MaxBackoff: 200 * time.Millisecond,
		Log:        testLogger(t),
	})
	return &harness{t: t, srv: srv, up: up, dir: t.TempDir(), settle: 200 * time.Millisecond}
}

func (h *harness) options() agent.Options {
	return agent.Options{
		Folders:   []agent.Folder{{Path: h.dir, Recursive: true}},
		Workers:   2,
		RetryBase: 100 * time.Millisecond,
	}
}

// watcher returns the file source of ag: a watcher of its folders, as cmd builds it.
func (h *harness) watcher(ag *agent.Agent) *watcher.Watcher {
	h.t.Helper()
	w, err := watcher.New(ag.WatchOptions(watcher.Options{SettleFor: h.settle}), testLogger(h.t))
	if err != nil {
		h.t.Fatalf("watcher.New: %v", err)
	}
	return w
}

// run runs ag on its folders until stop is called (or the test ends).
func (h *harness) run(ag *agent.Agent) (stop func()) {
	h.t.Helper()
	src := h.watcher(ag)
	ctx, cancel := context.WithCancel(h.t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx, src) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Run: %v", err)
		}
	}
	h.t.Cleanup(stop)
	return stop
}

// once runs ag.Once over its folders.
func (h *harness) once(ag *agent.Agent) (agent.Summary, error) {
	h.t.Helper()
	return ag.Once(h.t.Context(), h.watcher(ag))
}

// start runs an agent on the folder until the test ends or stop is called.
func (h *harness) start(opts agent.Options) (stop func()) {
	h.t.Helper()
	ag, err := agent.New(h.up, opts, testLogger(h.t))
	if err != nil {
		h.t.Fatalf("agent.New: %v", err)
	}
	stopRun := h.run(ag)
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		stopRun()
		if err := ag.Close(); err != nil {
			h.t.Errorf("Close: %v", err)
		}
	}
	h.t.Cleanup(stop)
	return stop
}

// waitFor polls the manifest until every rel has reached state, failing after a generous deadline.
func (h *harness) waitFor(state manifest.State, rels ...string) *manifest.Manifest {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		m, err := manifest.Read(manifest.DefaultPath(h.dir))
		if err == nil {
			done := 0
			for _, rel := range rels {
				if m.Files[rel].State == state {
					done++
				}
			}
			if done == len(rels) {
				return m
			}
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %v to be %s; manifest: %+v (err %v)", rels, state, m, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) write(rel string, data []byte) string {
	h.t.Helper()
	p := filepath.Join(h.dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func sum(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func testLogger(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
}

// TestEndToEnd drops a JPEG, a PNG over 1 MiB, an animated GIF and a ~20 MB MP4 into a watched
// folder; each must end uploaded with its ids and expiry, byte-identical at the emulator.
func TestEndToEnd(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	h.start(h.options())

	files := map[string][]byte{
		"photo.jpg":          mediagen.JPEG(640, 480, 1),
		"shoot/big.png":      mediagen.PNG(600, 600, 2),
		"shoot/loop.gif":     mediagen.GIF(64, 48, 6, 3),
		"clips/day1/vid.mp4": mediagen.MP4(20_000_000, 4),
	}
	if n := len(files["shoot/big.png"]); n <= 1<<20 {
		t.Fatalf("PNG is %d bytes, want > 1 MiB", n)
	}
	// The video is written the slow way, in pieces, as a copy over the network would.
	for rel, data := range files {
		if rel != "clips/day1/vid.mp4" {
			h.write(rel, data)
		}
	}
	vid := h.write("clips/day1/vid.mp4", files["clips/day1/vid.mp4"][:1<<20])
	f, err := os.OpenFile(vid, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	rest := files["clips/day1/vid.mp4"][1<<20:]
	for len(rest) > 0 {
		n := min(len(rest), 4<<20)
		if _, err := f.Write(rest[:n]); err != nil {
			t.Fatal(err)
		}
		rest = rest[n:]
	}
	f.Close()

	rels := make([]string, 0, len(files))
	for rel := range files {
		rels = append(rels, rel)
	}
	m := h.waitFor(manifest.Uploaded, rels...)
	wantCategory := map[string]string{
		"photo.jpg": "tweet_image", "shoot/big.png": "tweet_image",
		"shoot/loop.gif": "tweet_gif", "clips/day1/vid.mp4": "tweet_video",
	}
	for rel, data := range files {
		e := m.Files[rel]
		if e.MediaIDString == "" || e.MediaKey == "" {
			t.Errorf("%s: missing ids: %+v", rel, e)
		}
		if !e.ExpiresAt.After(time.Now()) {
			t.Errorf("%s: expires_at %v not in the future", rel, e.ExpiresAt)
		}
		if e.SHA256 != sum(data) || e.Size != int64(len(data)) {
			t.Errorf("%s: entry sha256/size %s/%d, want %s/%d", rel, e.SHA256, e.Size, sum(data), len(data))
		}
		if e.MediaCategory != wantCategory[rel] {
			t.Errorf("%s: category %q, want %q", rel, e.MediaCategory, wantCategory[rel])
		}
		mi, ok := h.srv.MediaByID(e.MediaIDString)
		if !ok {
			t.Errorf("%s: media %s unknown to the emulator", rel, e.MediaIDString)
			continue
		}
		if mi.SHA256 != sum(data) {
			t.Errorf("%s: emulator sha256 %s, want %s", rel, mi.SHA256, sum(data))
		}
		if mi.MediaKey != e.MediaKey {
			t.Errorf("%s: media_key %s, emulator has %s", rel, e.MediaKey, mi.MediaKey)
		}
	}
	if n := len(h.srv.Media()); n != len(files) {
		t.Errorf("emulator holds %d media, want %d (one per file)", n, len(files))
	}
}

// TestRestartDoesNotUploadAgain: a second agent on the same folder finds everything in the manifest
// and uploads nothing.
func TestRestartDoesNotUploadAgain(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	h.write("a.jpg", mediagen.JPEG(100, 100, 1))
	h.write("b.png", mediagen.PNG(50, 50, 2))
	stop := h.start(h.options())
	h.waitFor(manifest.Uploaded, "a.jpg", "b.png")
	stop()
	before := len(h.srv.Media())

	ag, err := agent.New(h.up, h.options(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ag.Close()
	sum, err := h.once(ag)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Uploaded != 0 || len(h.srv.Media()) != before {
		t.Errorf("after restart: %+v, emulator media %d → %d; want nothing uploaded", sum, before, len(h.srv.Media()))
	}
}

// TestNestedFolderIsInnermost: folders may nest when the outer one does not watch the inner (here
// it is not recursive). A file of the inner folder is the inner folder's whatever the order of the
// folders: UploadFile records it in the inner manifest, a scan then leaves it alone, and a file the
// scan uploaded is not uploaded again by UploadFile.
func TestNestedFolderIsInnermost(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	inner := filepath.Join(h.dir, "inner")
	a := h.write("inner/a.jpg", mediagen.JPEG(80, 60, 1))
	b := h.write("inner/b.jpg", mediagen.JPEG(80, 60, 2))
	opts := h.options()
	opts.Folders = []agent.Folder{{Path: h.dir}, {Path: inner}} // the outer one first
	ag, err := agent.New(h.up, opts, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ag.Close()

	if e, err := ag.UploadFile(t.Context(), a, agent.Override{}); err != nil || e.State != manifest.Uploaded {
		t.Fatalf("UploadFile(a.jpg) = %+v, %v; want uploaded", e, err)
	}
	sum, err := h.once(ag)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Uploaded != 1 {
		t.Errorf("Once after UploadFile(a.jpg): %+v; want b.jpg uploaded, a.jpg left alone", sum)
	}
	if e, err := ag.UploadFile(t.Context(), b, agent.Override{}); err != nil || e.State != manifest.Uploaded {
		t.Fatalf("UploadFile(b.jpg) = %+v, %v; want uploaded", e, err)
	}
	if n := len(h.srv.Media()); n != 2 {
		t.Errorf("emulator holds %d media, want 2 (one per file)", n)
	}

	m, err := manifest.Read(manifest.DefaultPath(inner))
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range []string{"a.jpg", "b.jpg"} {
		if e := m.Files[rel]; e.State != manifest.Uploaded {
			t.Errorf("inner manifest: %s is %q, want uploaded", rel, e.State)
		}
	}
	if m, err := manifest.Read(manifest.DefaultPath(h.dir)); err == nil && len(m.Files) > 0 {
		t.Errorf("outer manifest records %q; want nothing (the files are the inner folder's)", slices.Sorted(maps.Keys(m.Files)))
	}
}

// A file of a nested folder that could not be opened (its manifest locked by another agent) is not
// recorded by the enclosing folder, which is open: UploadFile refuses it, nothing is uploaded, and
// the outer manifest stays without it (the inner folder's agent records it).
func TestNestedRefusedFolderIsNotTheOuterOnes(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	inner := filepath.Join(h.dir, "inner")
	a := h.write("inner/a.jpg", mediagen.JPEG(80, 60, 1))
	held, err := manifest.Open(manifest.DefaultPath(inner), inner) // the other agent
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	opts := h.options()
	opts.Folders = []agent.Folder{{Path: h.dir}, {Path: inner}}
	ag, err := agent.New(h.up, opts, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer ag.Close()
	if _, err := ag.UploadFile(t.Context(), a, agent.Override{}); !errors.Is(err, agent.ErrFolderRefused) || !errors.Is(err, manifest.ErrLocked) {
		t.Errorf("UploadFile in a refused nested folder = %v; want ErrFolderRefused wrapping ErrLocked", err)
	}
	if n := len(h.srv.Media()); n != 0 {
		t.Errorf("emulator holds %d media, want none", n)
	}
	if m, err := manifest.Read(manifest.DefaultPath(h.dir)); err == nil && len(m.Files) > 0 {
		t.Errorf("outer manifest records %q; want nothing", slices.Sorted(maps.Keys(m.Files)))
	}
}
