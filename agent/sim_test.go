package agent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// The tests in this file run the agent's state machine inside a testing/synctest bubble: files are
// real, events come from a fake source instead of fsnotify, X is the emulator reached in memory,
// and time is the bubble's, so a test that waits an hour of retries takes milliseconds and asserts
// exact outcomes instead of racing wall time.

// events is a Source fed by the test.
type events chan watcher.File

func (e events) Run(ctx context.Context, out chan<- watcher.File) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case f := <-e:
			select {
			case out <- f:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// sim is an agent over one or more folders, a fake source and an in-memory emulator, in a bubble.
type sim struct {
	t      *testing.T
	srv    *emulatortest.Server
	up     *uploader.Client
	dirs   []string
	events events
	ag     *agent.Agent
	stop   func()
	logs   *testsupport.Buffer
}

// simOptions vary a sim.
type simOptions struct {
	faults    emulator.Faults
	folders   int                                     // default 1
	configure func(*agent.Options)                    // may change the options before New
	client    func(*emulatortest.Server) *http.Client // default: OAuth 1.0a with the right credentials
	version   string                                  // uploader.Options.Version; "" is the uploader's default
	// poll runs the real watcher, polling every second with a 2 s settle (fsnotify cannot run in a
	// bubble), instead of the fake source.
	poll bool
}

// newSim must be called inside synctest.Test.
func newSim(t *testing.T, o simOptions) *sim {
	t.Helper()
	s := &sim{t: t, events: make(events), logs: &testsupport.Buffer{}}
	s.srv = emulatortest.NewInMemory(t, emulator.Options{Faults: o.faults})
	hc := s.srv.InMemoryOAuth1Client()
	if o.client != nil {
		hc = o.client(s.srv)
	}
	s.up = uploader.New(hc, uploader.Options{BaseURL: s.srv.URL, Version: o.version, MaxAttempts: 2, MaxBackoff: time.Second})
	opts := agent.Options{Workers: 2, RetryBase: time.Minute, AuthRetry: time.Minute}
	for range max(o.folders, 1) {
		d := t.TempDir()
		s.dirs = append(s.dirs, d)
		opts.Folders = append(opts.Folders, agent.Folder{Path: d, Recursive: true})
	}
	if o.configure != nil {
		o.configure(&opts)
	}
	ag, err := agent.New(s.up, opts, zerolog.New(s.logs))
	if err != nil {
		t.Fatalf("agent.New: %v", err)
	}
	s.ag = ag
	var src agent.Source = s.events
	if o.poll {
		w, err := watcher.New(ag.WatchOptions(watcher.Options{Mode: watcher.ModePoll, PollInterval: time.Second,
			SettleFor: 2 * time.Second}), zerolog.Nop())
		if err != nil {
			t.Fatalf("watcher.New: %v", err)
		}
		src = w
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ag.Run(ctx, src) }()
	s.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := ag.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(func() { s.stopOnce() })
	return s
}

func (s *sim) stopOnce() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

// write writes rel in folder i without reporting it (for the polling watcher to find).
func (s *sim) write(i int, rel string, data []byte) string {
	s.t.Helper()
	p := filepath.Join(s.dirs[i], filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		s.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// drop writes rel in folder i and reports it settled, as the watcher would.
func (s *sim) drop(i int, rel string, data []byte) {
	s.t.Helper()
	p := s.write(i, rel, data)
	fi, err := os.Stat(p)
	if err != nil {
		s.t.Fatal(err)
	}
	s.events <- watcher.File{Root: s.dirs[i], Path: p, Size: fi.Size(), ModTime: fi.ModTime()}
}

func (s *sim) entry(i int, rel string) manifest.Entry {
	s.t.Helper()
	m, err := manifest.Read(manifest.DefaultPath(s.dirs[i]))
	if err != nil {
		s.t.Fatalf("read manifest: %v", err)
	}
	return m.Files[rel]
}

// TestSimChangedWhileQueued: a file re-exported while its first version waits in the queue is
// uploaded as it is now, once; the first version is never sent.
func TestSimChangedWhileQueued(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{Latency: 2 * time.Second}, configure: func(o *agent.Options) { o.Workers = 1 }})
		s.drop(0, "busy.jpg", mediagen.JPEG(64, 64, 1)) // holds the only worker for the latency
		synctest.Wait()
		v1 := mediagen.JPEG(40, 40, 2)
		s.drop(0, "a.jpg", v1) // settled, queued behind busy.jpg
		synctest.Wait()
		v2 := mediagen.JPEG(90, 90, 3) // re-exported: new size, settles again while the job waits
		s.drop(0, "a.jpg", v2)
		time.Sleep(time.Minute)
		synctest.Wait()
		e := s.entry(0, "a.jpg")
		if e.State != manifest.Uploaded || e.SHA256 != sum(v2) {
			t.Fatalf("a.jpg: %s %s; want uploaded with the second version's bytes", e.State, e.SHA256)
		}
		for _, mi := range s.srv.Media() {
			if mi.SHA256 == sum(v1) {
				t.Error("the first version was uploaded although it changed before its turn")
			}
		}
		if n := len(s.srv.Media()); n != 2 {
			t.Errorf("%d media at X, want 2 (busy.jpg and a.jpg once)", n)
		}
	})
}

// TestSimOutageRetriesBroughtForward: files that failed while X was down wait out a backoff of up to
// an hour; the first upload that goes through once X is back brings them all forward (issue 17:
// 22 files took 8 minutes after the API came back).
func TestSimOutageRetriesBroughtForward(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{FailRate: 1, Seed: 1}, configure: func(o *agent.Options) { o.RetryBase = time.Hour }})
		const n = 22
		for i := range n {
			s.drop(0, filepath.Join("down", string(rune('a'+i))+".jpg"), mediagen.JPEG(20, 20, int64(i)))
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		for i := range n {
			if e := s.entry(0, filepath.ToSlash(filepath.Join("down", string(rune('a'+i))+".jpg"))); e.State != manifest.Failed || e.Error.Permanent {
				t.Fatalf("during the outage: %+v; want failed, retryable", e)
			}
		}
		s.srv.SetFaults(emulator.Faults{}) // X is back
		s.drop(0, "after.jpg", mediagen.JPEG(20, 20, 99))
		time.Sleep(2 * time.Minute) // far less than the half hour or more each retry waits
		synctest.Wait()
		for i := range n {
			rel := filepath.ToSlash(filepath.Join("down", string(rune('a'+i))+".jpg"))
			if e := s.entry(0, rel); e.State != manifest.Uploaded {
				t.Errorf("%s: %s two minutes after X came back; want uploaded (retries brought forward)", rel, e.State)
			}
		}
	})
}

// TestSimRetryBackoffOnTheClock: a file that keeps failing is retried on a growing, jittered
// backoff, from one heap: attempts grow, each next_attempt_at lies within the policy's bounds.
func TestSimRetryBackoffOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{FailRate: 1, Seed: 2}})
		s.drop(0, "a.jpg", mediagen.JPEG(20, 20, 1))
		time.Sleep(10 * time.Second) // the uploader's own retries of the request
		synctest.Wait()
		prev := s.entry(0, "a.jpg")
		if prev.Attempts != 1 {
			t.Fatalf("after the first failure: attempts %d, want 1", prev.Attempts)
		}
		for attempt := 2; attempt <= 5; attempt++ {
			wait := prev.NextAttemptAt.Sub(prev.UpdatedAt)
			ceiling := time.Minute << (attempt - 2)
			if wait < 30*time.Second || wait > ceiling+time.Second {
				t.Errorf("attempt %d waits %v; want within [30s, %v]", attempt, wait, ceiling)
			}
			time.Sleep(time.Until(prev.NextAttemptAt) + 10*time.Second)
			synctest.Wait()
			e := s.entry(0, "a.jpg")
			if e.Attempts != attempt {
				t.Fatalf("after the retry due at %v: attempts %d, want %d", prev.NextAttemptAt, e.Attempts, attempt)
			}
			prev = e
		}
	})
}

// TestSimAccountRefusalPauses: rejected credentials pause every upload with one error line, mark no
// file failed, cost one probe per pause rather than one request per file, and uploads resume by
// themselves once the credentials work.
func TestSimAccountRefusalPauses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var st *switchingTransport
		s := newSim(t, simOptions{client: func(srv *emulatortest.Server) *http.Client {
			c := srv.Creds
			ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: srv.Transport()})
			bad := oauth1.NewConfig(c.ConsumerKey, "wrong-secret").Client(ctx, oauth1.NewToken(c.AccessToken, c.AccessTokenSecret))
			st = &switchingTransport{right: srv.InMemoryOAuth1Client(), bad: bad}
			return &http.Client{Transport: st}
		}})
		const n = 10
		for i := range n {
			s.drop(0, filepath.Join("batch", string(rune('a'+i))+".jpg"), mediagen.JPEG(30, 30, int64(i)))
		}
		time.Sleep(10 * time.Minute) // pauses of 1 minute and more, one probe each
		synctest.Wait()
		logs := s.logs.String()
		if c := strings.Count(logs, "X refuses the account; all uploads paused"); c != 1 {
			t.Errorf("credentials error logged %d times, want once:\n%s", c, logs)
		}
		if got := st.badRequests.Load(); got < 2 || got > 11 {
			t.Errorf("%d requests with bad credentials in 10 minutes for %d files; want one probe per pause (2..11)", got, n)
		}
		if m, err := manifest.Read(manifest.DefaultPath(s.dirs[0])); err == nil {
			for rel, e := range m.Files {
				if e.State == manifest.Failed {
					t.Errorf("%s marked failed because of credentials: %+v", rel, e)
				}
			}
		}
		if st := s.ag.Status(); st.Paused == nil || st.Paused.Cause == nil {
			t.Errorf("Status() during the refusal: %+v; want paused with its cause", st.Paused)
		}
		st.fixed.Store(true)
		time.Sleep(20 * time.Minute) // the longest pause so far, and the uploads
		synctest.Wait()
		for i := range n {
			rel := "batch/" + string(rune('a'+i)) + ".jpg"
			if e := s.entry(0, rel); e.State != manifest.Uploaded {
				t.Errorf("%s: %s after the credentials were fixed; want uploaded", rel, e.State)
			}
		}
		if !strings.Contains(s.logs.String(), "uploads resumed") {
			t.Error("no log line saying uploads resumed")
		}
		if st := s.ag.Status(); st.Paused != nil {
			t.Errorf("still paused: %+v", st.Paused)
		}
	})
}

// TestSimNotCandidates: a FIFO, a symlink to a file outside the folder, a symlinked directory, and a
// file deleted before it settles never get an entry, and never hang the agent, however long it
// watches (the real watcher, polling).
func TestSimNotCandidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outside := t.TempDir()
		secret := filepath.Join(outside, "secret.jpg")
		secretData := mediagen.JPEG(30, 30, 9)
		if err := os.WriteFile(secret, secretData, 0o644); err != nil {
			t.Fatal(err)
		}
		s := newSim(t, simOptions{poll: true})
		dir := s.dirs[0]
		if err := os.Symlink(secret, filepath.Join(dir, "link.jpg")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(dir, "linkdir")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(dir, "pipe.jpg"), 0o644); err != nil {
			t.Fatal(err)
		}
		gone := s.write(0, "gone.jpg", mediagen.JPEG(30, 30, 8))
		time.Sleep(time.Second) // seen by a poll, not yet settled
		if err := os.Remove(gone); err != nil {
			t.Fatal(err)
		}
		s.write(0, "ok.jpg", mediagen.JPEG(30, 30, 7))
		time.Sleep(time.Minute) // sixty polls: every chance to (wrongly) pick the others up
		synctest.Wait()
		m, err := manifest.Read(manifest.DefaultPath(dir))
		if err != nil {
			t.Fatal(err)
		}
		if e := m.Files["ok.jpg"]; e.State != manifest.Uploaded {
			t.Fatalf("ok.jpg: %s, want uploaded", e.State)
		}
		for _, rel := range []string{"link.jpg", "linkdir/secret.jpg", "pipe.jpg", "gone.jpg"} {
			if e, ok := m.Files[rel]; ok {
				t.Errorf("%s has an entry %+v; want none", rel, e)
			}
		}
		for _, mi := range s.srv.Media() {
			if mi.SHA256 == sum(secretData) {
				t.Error("a file outside the folder was uploaded through a symlink")
			}
		}
		if n := len(s.srv.Media()); n != 1 {
			t.Errorf("%d uploads, want 1", n)
		}
	})
}

// TestSimMoveAfterUpload: with after_upload: move, the file moves only once its entry is durable,
// keeps its relative path, keeps its entry (moved_to, not deleted), and is never uploaded again,
// however long the watcher polls the folder (the move target inside it is not watched).
func TestSimMoveAfterUpload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var dir string
		s := newSim(t, simOptions{poll: true, configure: func(o *agent.Options) {
			dir = o.Folders[0].Path
			o.Folders[0].MoveTo = filepath.Join(dir, ".uploaded")
		}})
		data := mediagen.JPEG(30, 30, 1)
		s.write(0, "day/a.jpg", data)
		time.Sleep(time.Minute)
		synctest.Wait()
		moved := filepath.Join(dir, ".uploaded", "day", "a.jpg")
		if got, err := os.ReadFile(moved); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("moved file %s: %v (same bytes: %v)", moved, err, bytes.Equal(got, data))
		}
		if _, err := os.Stat(filepath.Join(dir, "day", "a.jpg")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("original still there: %v", err)
		}
		e := s.entry(0, "day/a.jpg")
		if e.State != manifest.Uploaded || e.MovedTo != moved || e.Deleted || e.MediaIDString == "" {
			t.Errorf("entry %+v; want uploaded, moved_to %s, not deleted", e, moved)
		}
		if n := len(s.srv.Media()); n != 1 {
			t.Errorf("%d uploads; the moved file must not be uploaded again", n)
		}
	})
}

// TestSimRefreshFailureKeepsValidID: a refresh that fails does not throw away a media id that is
// still valid for hours; it is retried, and a later refresh replaces the id.
func TestSimRefreshFailureKeepsValidID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{configure: func(o *agent.Options) {
			o.Folders[0].RefreshBeforeExpiry = 24*time.Hour - 2*time.Second // due two seconds after upload
		}})
		s.drop(0, "a.jpg", mediagen.JPEG(30, 30, 1))
		time.Sleep(time.Second)
		synctest.Wait()
		first := s.entry(0, "a.jpg")
		if first.State != manifest.Uploaded {
			t.Fatalf("a.jpg: %s, want uploaded", first.State)
		}
		s.srv.SetFaults(emulator.Faults{FailRate: 1, Seed: 1}) // X has a bad minute when the refresh runs
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := s.srv.Stats().Count("POST /2/media/upload", 0); got < 2 {
			t.Fatalf("%d one-shot requests; want the upload and a failed refresh", got)
		}
		if e := s.entry(0, "a.jpg"); e.MediaIDString != first.MediaIDString || !e.Usable(time.Now()) {
			t.Errorf("a failed refresh replaced a media id valid until %s with %s/%q", first.ExpiresAt, e.State, e.MediaIDString)
		}
		s.srv.SetFaults(emulator.Faults{})
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if e := s.entry(0, "a.jpg"); e.State != manifest.Uploaded || e.MediaIDString == first.MediaIDString {
			t.Errorf("after X recovered: %s %s; want refreshed with a new media id", e.State, e.MediaIDString)
		}
	})
}

// TestSimExplainLive: a running agent explains what it is doing with each file: uploading (segments
// sent so far), queued behind it, and uploaded afterwards.
func TestSimExplainLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{Latency: time.Second}, configure: func(o *agent.Options) {
			o.Workers = 1
		}})
		video := mediagen.MP4(10<<20, 1) // three 4 MiB segments, a second each
		s.drop(0, "clip.mp4", video)
		s.drop(0, "next.jpg", mediagen.JPEG(20, 20, 2))
		time.Sleep(1500 * time.Millisecond) // INIT answered, the first segment in flight
		synctest.Wait()
		up := s.ag.Explain(filepath.Join(s.dirs[0], "clip.mp4"))
		if up.Verdict != agent.VerdictUploading || up.Transfer == nil || !strings.Contains(up.Why, "of 3 segments") {
			t.Errorf("clip.mp4 in flight: %s %q %+v; want uploading, n of 3 segments", up.Verdict, up.Why, up.Transfer)
		}
		q := s.ag.Explain(filepath.Join(s.dirs[0], "next.jpg"))
		if q.Verdict != agent.VerdictWaiting || !strings.Contains(q.Why, "queued") {
			t.Errorf("next.jpg behind it: %s %q; want waiting, queued", q.Verdict, q.Why)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if d := s.ag.Explain(filepath.Join(s.dirs[0], "clip.mp4")); d.Verdict != agent.VerdictUploaded {
			t.Errorf("clip.mp4 afterwards: %s %q; want uploaded", d.Verdict, d.Why)
		}
	})
}

// TestSimProgressLines: a long upload logs a progress line (percent, segments, rate, ETA) at most
// every 10 seconds (issue 13: a 278 MB video showed nothing between the scan and "uploaded").
func TestSimProgressLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSim(t, simOptions{faults: emulator.Faults{Latency: 4 * time.Second}, configure: func(o *agent.Options) { o.Workers = 1 }})
		s.drop(0, "long.mp4", mediagen.MP4(40<<20, 1)) // ten 4 MiB segments, three at a time, 4 s each
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if e := s.entry(0, "long.mp4"); e.State != manifest.Uploaded {
			t.Fatalf("long.mp4: %s", e.State)
		}
		var lines []map[string]any
		for _, l := range strings.Split(s.logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["message"] == "uploading" {
				lines = append(lines, m)
			}
		}
		if len(lines) < 1 || len(lines) > 2 {
			t.Fatalf("%d progress lines for an upload of about 20 s, want one or two (at most every 10 s):\n%s", len(lines), s.logs.String())
		}
		for _, m := range lines {
			for _, k := range []string{"percent", "segments", "of", "rate", "eta", "media_id"} {
				if _, ok := m[k]; !ok {
					t.Errorf("progress line without %s: %v", k, m)
				}
			}
		}
	})
}
