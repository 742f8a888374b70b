package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
	"github.com/mediasync/mediasync/web"
)

// liveAgent is a real agent watching real folders, uploading to an in-process emulator, with the
// status backend attached as `mediasync run` wires it.
type liveAgent struct {
	srv     *emulatortest.Server
	ag      *agent.Agent
	b       *backend
	folders []string
	stop    func()
}

// startLiveAgent runs an agent over folders (created if missing) with the backend attached.
// Folders whose manifest is held by another store are refused, as with a second agent.
func startLiveAgent(t testing.TB, folders ...string) *liveAgent {
	t.Helper()
	return startLiveAgentWith(t, nil, folders...)
}

// startLiveAgentWith is startLiveAgent with configure applied to the agent's options.
func startLiveAgentWith(t testing.TB, configure func(*agent.Options), folders ...string) *liveAgent {
	t.Helper()
	srv := emulatortest.NewServer(t, emulator.Options{})
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	up := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, MaxBackoff: 200 * time.Millisecond,
		ChunkSize: 256 << 10, SimpleUploadMax: -1, Log: log})
	b := newBackend(folders, log)
	opts := agent.Options{Workers: 2, RetryBase: time.Hour, AuthRetry: 100 * time.Millisecond, Observer: b}
	for _, f := range folders {
		opts.Folders = append(opts.Folders, agent.Folder{Path: f, Recursive: true, AltText: "none"})
	}
	if configure != nil {
		configure(&opts)
	}
	ag, err := agent.New(up, opts, log)
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	w, err := watcher.New(ag.WatchOptions(watcher.Options{SettleFor: 100 * time.Millisecond, PollInterval: 200 * time.Millisecond}), log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := b.attach(ctx, ag); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx, w) }()
	la := &liveAgent{srv: srv, ag: ag, b: b, folders: folders}
	stopped := false
	la.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		b.wait()
		if err := ag.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(la.stop)
	// Serving starts once Run runs (RetryFailed needs it), as in `mediasync run`.
	until(t, "the agent runs", func() bool { return ag.Status().Running })
	return la
}

// until polls cond every 20 ms until it holds, failing the test after a generous deadline.
func until(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// status returns the backend's status of its first folder.
func (la *liveAgent) status(t testing.TB) (web.Status, web.Folder) {
	t.Helper()
	st, err := la.b.Status(context.Background(), web.Query{})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st, st.Folders[0]
}

func problemRels(p web.Problems) []string {
	var out []string
	for _, it := range p.Items {
		out = append(out, it.Rel)
	}
	return out
}

func recentRels(f web.Folder) []string {
	var out []string
	for _, u := range f.Recent {
		out = append(out, u.Rel)
	}
	return out
}

// failProcessing drops name (an animated GIF, which X processes) while the emulator fails
// processing, waits until it is recorded failed, and lifts the fault.
func (la *liveAgent) failProcessing(t testing.TB, folder, name string) {
	t.Helper()
	la.srv.SetFaults(emulator.Faults{FailProcessing: true})
	if err := writeViaRename(filepath.Join(folder, name), mediagen.GIF(32, 24, 3, int64(len(name)))); err != nil {
		t.Fatal(err)
	}
	until(t, name+" is failed", func() bool {
		st, err := la.b.Status(context.Background(), web.Query{Folder: folder})
		return err == nil && slices.Contains(problemRels(st.Folders[0].Failed), name)
	})
	la.srv.SetFaults(emulator.Faults{})
}

// TestBackendStatusAndRetry drives the backend over a real agent: the index follows the uploads,
// a failed file carries the agent's fix, Retry uploads it again once X accepts it, and the
// request errors are the API's.
func TestBackendStatusAndRetry(t *testing.T) {
	dir := t.TempDir()
	la := startLiveAgent(t, dir)
	ctx := context.Background()

	if err := writeViaRename(filepath.Join(dir, "a.jpg"), mediagen.JPEG(64, 48, 1)); err != nil {
		t.Fatal(err)
	}
	until(t, "a.jpg is listed as uploaded", func() bool {
		_, f := la.status(t)
		return slices.Contains(recentRels(f), "a.jpg") && f.Counts.Uploaded == 1
	})

	la.failProcessing(t, dir, "broken.gif")
	st, f := la.status(t)
	if st.Version != web.Version || st.Now.IsZero() || f.Path != dir || f.Counts.Failed != 1 || f.Failed.Total != 1 {
		t.Fatalf("status = %+v, folder %+v", st, f)
	}
	p := f.Failed.Items[0]
	if !p.Permanent || !strings.Contains(p.Reason, "Unsupported video format") || !strings.Contains(p.Fix, "mediasync retry FILE") {
		t.Errorf("failed problem = %+v: want X's reason and the agent's fix (agent.Describe)", p)
	}

	// Request errors.
	for _, c := range []struct {
		folder, rel string
		want        error
	}{
		{dir, "a.jpg", web.ErrInvalid},           // uploaded, not failed
		{dir, "nope.jpg", web.ErrNotFound},       // no entry
		{"/elsewhere", "a.jpg", web.ErrNotFound}, // no such folder
	} {
		if err := la.b.Retry(ctx, c.folder, c.rel); !errors.Is(err, c.want) {
			t.Errorf("Retry(%s, %s) = %v, want %v", c.folder, c.rel, err, c.want)
		}
	}
	if _, err := la.b.Status(ctx, web.Query{Folder: "/elsewhere"}); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("Status of an unknown folder = %v, want ErrNotFound", err)
	}
	if _, err := la.b.RetryFailed(ctx, "/elsewhere"); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("RetryFailed of an unknown folder = %v, want ErrNotFound", err)
	}

	// Retry returns at once; the upload follows and the index sees it.
	if err := la.b.Retry(ctx, dir, "broken.gif"); err != nil {
		t.Fatalf("Retry: %v", err)
	}
	until(t, "broken.gif is uploaded after the retry", func() bool {
		_, f := la.status(t)
		return slices.Contains(recentRels(f), "broken.gif") && f.Failed.Total == 0 && f.Counts.Failed == 0
	})

	// RetryFailed: every failed file of the folder, and "" for all folders.
	la.failProcessing(t, dir, "b1.gif")
	la.failProcessing(t, dir, "b2.gif")
	if n, err := la.b.RetryFailed(ctx, dir); n != 2 || err != nil {
		t.Fatalf("RetryFailed = %d, %v; want 2", n, err)
	}
	until(t, "b1.gif and b2.gif are uploaded", func() bool {
		_, f := la.status(t)
		return f.Counts.Failed == 0 && f.Counts.Uploaded == 4
	})
	if n, err := la.b.RetryFailed(ctx, ""); n != 0 || err != nil {
		t.Errorf("RetryFailed with nothing failed = %d, %v", n, err)
	}
	if n, err := la.b.RetryHooks(ctx, dir); n != 0 || err != nil {
		t.Errorf("RetryHooks without hooks = %d, %v; want 0", n, err)
	}
	if _, err := la.b.RetryHooks(ctx, "/elsewhere"); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("RetryHooks of an unknown folder = %v, want ErrNotFound", err)
	}
}

// TestBackendRetryHooks: an upload whose on_upload command failed for good is listed under Hooks
// from the manifest at start; RetryHooks runs the command again and the list empties.
func TestBackendRetryHooks(t *testing.T) {
	dir := t.TempDir()
	data := mediagen.JPEG(40, 30, 9)
	path := filepath.Join(dir, "posted.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	st, err := manifest.Open(manifest.DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	e := manifest.Entry{State: manifest.Uploaded, MediaIDString: "1900000000000000001", MediaKey: "3_1900000000000000001",
		UploadedAt: now, ExpiresAt: now.Add(24 * time.Hour), UpdatedAt: now, Size: fi.Size(), MTime: fi.ModTime(), SHA256: sha256Hex(data),
		MediaType: "image/jpeg", MediaCategory: "tweet_image", Attempts: 1,
		Hook: &manifest.HookState{State: manifest.HookFailed, Attempts: 5, LastError: "exit status 7: curl: (7) Failed to connect"}}
	if err := st.Put("posted.jpg", e); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ran := filepath.Join(t.TempDir(), "ran")
	la := startLiveAgentWith(t, func(o *agent.Options) {
		o.Folders[0].OnUpload = hook.Spec{Command: []string{"/bin/sh", "-c", `echo "$MEDIASYNC_REL" >> "$0"`, ran}}
	}, dir)
	ctx := context.Background()
	_, f := la.status(t)
	if f.Hooks.Total != 1 || f.Hooks.Items[0].Rel != "posted.jpg" || !strings.Contains(f.Hooks.Items[0].Reason, "Failed to connect") {
		t.Fatalf("hooks at start = %+v, want posted.jpg with its error", f.Hooks)
	}
	if n, err := la.b.RetryHooks(ctx, ""); n != 1 || err != nil {
		t.Fatalf("RetryHooks = %d, %v; want 1", n, err)
	}
	until(t, "the hook ran", func() bool {
		m, err := la.ag.Entries(dir)
		return err == nil && m["posted.jpg"].Hook != nil && m["posted.jpg"].Hook.State == manifest.HookDone
	})
	if _, f := la.status(t); f.Hooks.Total != 0 {
		t.Errorf("hooks after the retry = %+v, want none", f.Hooks)
	}
	if b, _ := os.ReadFile(ran); strings.TrimSpace(string(b)) != "posted.jpg" {
		t.Errorf("the hook wrote %q, want posted.jpg", b)
	}
}

// TestBackendUploadAndExplain: Upload goes through the running agent with its progress, refuses
// files outside the folders as invalid, and Explain maps the agent's verdicts, keeping the
// agent's own word in Detail.
func TestBackendUploadAndExplain(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "photos")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	la := startLiveAgent(t, dir)
	ctx := context.Background()

	// A file put in place without the watcher noticing yet (it is ignored until renamed).
	big := filepath.Join(dir, "big.png")
	data := mediagen.PNG(700, 700, 5) // > 1 MB: several 256 KiB segments
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var last atomic.Int64
	res, err := la.b.Upload(ctx, big, web.UploadOptions{OnProgress: func(done, total int64) {
		calls.Add(1)
		if total == int64(len(data)) {
			last.Store(done)
		}
	}})
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if res.Folder != dir || res.Rel != "big.png" || res.Entry.State != manifest.Uploaded || res.Entry.MediaIDString == "" {
		t.Errorf("Upload = %+v", res)
	}
	if calls.Load() < 2 || last.Load() != int64(len(data)) {
		t.Errorf("OnProgress called %d times, last %d of %d", calls.Load(), last.Load(), len(data))
	}
	if m, ok := la.srv.MediaByID(res.Entry.MediaIDString); !ok || m.SHA256 != sha256Hex(data) {
		t.Errorf("the emulator holds %+v for the upload, want the file's bytes", m)
	}

	outside := filepath.Join(root, "loose.jpg")
	if err := os.WriteFile(outside, mediagen.JPEG(8, 8, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := la.b.Upload(ctx, outside, web.UploadOptions{}); !errors.Is(err, web.ErrInvalid) {
		t.Errorf("Upload of a file outside the folders = %v, want ErrInvalid", err)
	}
	if _, err := la.b.Upload(ctx, filepath.Join(dir, "gone.jpg"), web.UploadOptions{}); !errors.Is(err, web.ErrNotFound) {
		t.Errorf("Upload of a missing file = %v, want ErrNotFound", err)
	}

	for _, c := range []struct {
		path          string
		verdict       web.Verdict
		detail        string
		reasonContain string
	}{
		{big, web.VerdictUploaded, "uploaded", res.Entry.MediaIDString},
		{outside, web.VerdictOutside, "outside", "no folder"},
		{filepath.Join(dir, "gone.jpg"), web.VerdictMissing, "missing", "no such file"},
		{filepath.Join(dir, "notes.txt.part"), web.VerdictIgnored, "ignored", "ignored"},
	} {
		x, err := la.b.Explain(ctx, c.path)
		if err != nil {
			t.Fatalf("Explain(%s): %v", c.path, err)
		}
		if x.Verdict != c.verdict || x.Detail != c.detail || !strings.Contains(x.Reason, c.reasonContain) || x.Path != c.path {
			t.Errorf("Explain(%s) = %+v, want %s (%s) with %q", c.path, x, c.verdict, c.detail, c.reasonContain)
		}
	}
}

// TestBackendRefusedAndPaused: a folder whose manifest another process holds is reported refused
// (and explained so), and an account refusal pauses uploads with its cause and advice.
func TestBackendRefusedAndPaused(t *testing.T) {
	dir, locked := t.TempDir(), t.TempDir()
	held, err := manifest.Open(manifest.DefaultPath(locked), locked)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	la := startLiveAgent(t, dir, locked)
	ctx := context.Background()

	st, err := la.b.Status(ctx, web.Query{})
	if err != nil || len(st.Folders) != 2 {
		t.Fatalf("Status = %+v, %v", st, err)
	}
	if r := st.Folders[1].Refused; st.Folders[1].Path != locked || r == nil || r.Cause != "locked" || r.Fix == "" {
		t.Errorf("locked folder = %+v, refused %+v; want cause locked with a fix", st.Folders[1], r)
	}
	if st.Folders[0].Refused != nil {
		t.Errorf("the watched folder is refused: %+v", st.Folders[0].Refused)
	}
	if err := la.b.Retry(ctx, locked, "x.jpg"); !errors.Is(err, web.ErrInvalid) {
		t.Errorf("Retry in a refused folder = %v, want ErrInvalid", err)
	}
	x, err := la.b.Explain(ctx, filepath.Join(locked, "x.jpg"))
	if err != nil || x.Verdict != web.VerdictRefused || x.Folder != locked {
		t.Errorf("Explain in the refused folder = %+v, %v; want refused", x, err)
	}

	la.srv.SetFaults(emulator.Faults{CreditsDepleted: true})
	if err := writeViaRename(filepath.Join(dir, "p.jpg"), mediagen.JPEG(32, 32, 2)); err != nil {
		t.Fatal(err)
	}
	var p *web.Pause
	until(t, "uploads pause", func() bool {
		st, _ := la.status(t)
		p = st.Paused
		return p != nil
	})
	if p.Cause != "credits_depleted" || p.Message == "" || p.Fix == "" || p.Since.IsZero() {
		t.Errorf("pause = %+v; want cause credits_depleted with the refusal's message and advice", p)
	}
	la.srv.SetFaults(emulator.Faults{})
	until(t, "uploads resume and p.jpg is uploaded", func() bool {
		st, f := la.status(t)
		return st.Paused == nil && slices.Contains(recentRels(f), "p.jpg")
	})
}

// TestMeter: the speed of an upload in flight is its progress over the last samples, the ETA what
// is left at that speed; a transfer no longer in flight is forgotten.
func TestMeter(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tr := agent.Transfer{Folder: "/f", Rel: "v.mp4", Phase: agent.PhaseUploading, Total: 100_000_000, Started: t0}
	var m meter
	tr.Bytes = 40_000_000 // a resumed upload: 40 MB were sent before this run
	if got := m.transfer(tr, t0.Add(500*time.Millisecond)); got.Rate != 0 || got.ETA != 0 {
		t.Errorf("after 0.5 s: rate %v eta %v, want unknown", got.Rate, got.ETA)
	}
	tr.Bytes = 50_000_000
	got := m.transfer(tr, t0.Add(5500*time.Millisecond))
	if got.Rate != 2_000_000 || got.ETA != 25 {
		t.Errorf("after 5.5 s: rate %v eta %v, want 2 MB/s (10 MB in 5 s) and 25 s", got.Rate, got.ETA)
	}
	tr.Phase = agent.PhaseProcessing
	if got := m.transfer(tr, t0.Add(6*time.Second)); got.Rate != 0 || got.Phase != web.PhaseProcessing {
		t.Errorf("processing: %+v, want no rate", got)
	}
	m.keep(nil)
	if len(m.seen) != 0 {
		t.Errorf("samples kept after the upload ended: %v", m.seen)
	}
}
