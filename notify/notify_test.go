package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/hook"
)

// logBuffer collects log lines; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLog() (*logBuffer, zerolog.Logger) {
	b := &logBuffer{}
	return b, zerolog.New(b)
}

// post is one request a fake receiver got.
type post struct {
	at      time.Time
	header  http.Header
	payload Payload
}

// fakeRT is an in-memory webhook, usable inside a synctest bubble: it records each POST and
// answers with answer(i) for the i-th (0-based).
type fakeRT struct {
	mu     sync.Mutex
	posts  []post
	answer func(i int) (status int, header map[string]string)
}

func (f *fakeRT) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("payload %s: %w", body, err)
	}
	f.mu.Lock()
	i := len(f.posts)
	f.posts = append(f.posts, post{at: time.Now(), header: req.Header.Clone(), payload: p})
	f.mu.Unlock()
	status, hdr := http.StatusNoContent, map[string]string(nil)
	if f.answer != nil {
		status, hdr = f.answer(i)
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: req}
	for k, v := range hdr {
		resp.Header.Set(k, v)
	}
	return resp, nil
}

func (f *fakeRT) got() []post {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.posts)
}

// start runs n until the test ends (or until the returned stop is called, which waits for Run).
func start(t *testing.T, n *Notifier) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run = %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// waitFor polls cond until it holds, failing the test after a generous deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A burst of 1,000 events becomes 10 POSTs of 100, at once; a few more wait for the flush window.
func TestBatching(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &fakeRT{}
		n := New([]Target{{URL: "https://hooks.example.com/mediasync"}}, Options{Client: &http.Client{Transport: rt}, Host: "nas"}, zerolog.Nop())
		stop := start(t, n)
		t0 := time.Now()
		for i := range 1000 {
			n.Publish(Event{Type: Uploaded, Folder: "/srv/exports", Path: fmt.Sprintf("f%04d.jpg", i), MediaID: fmt.Sprint(1000 + i)})
		}
		synctest.Wait()
		posts := rt.got()
		if len(posts) != 10 {
			t.Fatalf("%d POSTs for a burst of 1000 events, want 10", len(posts))
		}
		ids := map[string]bool{}
		i := 0
		for _, p := range posts {
			if p.payload.Version != 1 || p.payload.Host != "nas" || len(p.payload.Events) != 100 || !p.at.Equal(t0) {
				t.Errorf("payload version %d host %q with %d events at %v", p.payload.Version, p.payload.Host, len(p.payload.Events), p.at.Sub(t0))
			}
			if ct := p.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			for _, e := range p.payload.Events {
				if want := fmt.Sprintf("f%04d.jpg", i); e.Path != want || e.Type != Uploaded || e.Time.Location() != time.UTC || !e.Time.Equal(t0) {
					t.Errorf("event %d: %+v, want path %s", i, e, want)
				}
				ids[e.ID] = true
				i++
			}
		}
		if len(ids) != 1000 {
			t.Errorf("%d distinct ids for 1000 events", len(ids))
		}

		// A few events wait for the flush window, then go together.
		for i := range 5 {
			n.Publish(Event{Type: Failed, Path: fmt.Sprint(i), Reason: "x", Attempts: 8})
		}
		synctest.Wait()
		if got := len(rt.got()); got != 10 {
			t.Fatalf("%d POSTs before the flush window ended, want 10", got)
		}
		time.Sleep(DefaultFlushEvery)
		synctest.Wait()
		posts = rt.got()
		if len(posts) != 11 || len(posts[10].payload.Events) != 5 || posts[10].at.Sub(t0) != DefaultFlushEvery {
			t.Fatalf("after the flush window: %d POSTs, last with %d events at +%v", len(posts), len(posts[len(posts)-1].payload.Events), posts[len(posts)-1].at.Sub(t0))
		}
		stop()
		if s := n.Stats(); s.Delivered != 1005 || s.Sends != 11 || s.Failures != 0 || s.Dropped != 0 || s.Queued != 0 {
			t.Errorf("Stats = %+v", s)
		}
	})
}

// Failed sends are retried with full-jitter backoff; Retry-After wins, capped at MaxDelay.
func TestRetryBackoffAndRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		answers := []struct {
			status int
			header map[string]string
		}{
			{http.StatusServiceUnavailable, map[string]string{"Retry-After": "30"}},
			{http.StatusTooManyRequests, map[string]string{"Retry-After": "100000"}}, // capped at MaxDelay
			{http.StatusInternalServerError, nil},                                    // backoff: 0.5 × 1s × 2² = 2s
			{http.StatusBadGateway, map[string]string{"Retry-After": time.Now().Add(time.Hour).Format(http.TimeFormat)}},
			{http.StatusOK, nil},
		}
		rt := &fakeRT{answer: func(i int) (int, map[string]string) { return answers[i].status, answers[i].header }}
		logs, log := newLog()
		n := New([]Target{{URL: "https://hooks.example.com/x"}}, Options{
			Client: &http.Client{Transport: rt}, FlushEvery: time.Second, BaseDelay: time.Second, MaxDelay: 5 * time.Minute,
			Jitter: func() float64 { return 0.5 },
		}, log)
		start(t, n)
		t0 := time.Now()
		n.Publish(Event{Type: AuthPaused, Reason: "credits depleted"})
		time.Sleep(time.Hour)
		posts := rt.got()
		var gaps []time.Duration
		for _, p := range posts {
			gaps = append(gaps, p.at.Sub(t0))
			t0 = p.at
		}
		want := []time.Duration{time.Second, 30 * time.Second, 5 * time.Minute, 2 * time.Second, 5 * time.Minute}
		if !slices.Equal(gaps, want) {
			t.Errorf("POSTs at intervals %v, want %v", gaps, want)
		}
		for _, p := range posts {
			if len(p.payload.Events) != 1 || p.payload.Events[0].ID != posts[0].payload.Events[0].ID {
				t.Errorf("a retry carries %+v, want the same event", p.payload.Events)
			}
		}
		if s := n.Stats(); s.Delivered != 1 || s.Sends != 5 || s.Failures != 4 {
			t.Errorf("Stats = %+v", s)
		}
		for _, want := range []string{`"retry_in":30000`, `"error":"HTTP 503"`, "notify delivery failed; will retry", "notify delivery works again"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log lacks %s:\n%s", want, logs)
			}
		}
	})
}

// A payload refused with a 4xx is dropped at once (and logged); one sent MaxAttempts times too.
// The next payload tells the receiver how many events it missed.
func TestGiveUpAndReportDropped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		statuses := []int{http.StatusBadRequest, 500, 500, 500, http.StatusOK}
		rt := &fakeRT{answer: func(i int) (int, map[string]string) { return statuses[min(i, len(statuses)-1)], nil }}
		logs, log := newLog()
		n := New([]Target{{URL: "https://hooks.example.com/x"}}, Options{Client: &http.Client{Transport: rt}, MaxAttempts: 3, BatchSize: 2}, log)
		start(t, n)
		n.Publish(Event{Type: Skipped, Path: "a.heic"})
		n.Publish(Event{Type: Skipped, Path: "b.heic"}) // a full batch: refused with 400, dropped
		synctest.Wait()
		n.Publish(Event{Type: Failed, Path: "c.jpg"})
		time.Sleep(time.Hour) // three 500s: dropped
		n.Publish(Event{Type: Uploaded, Path: "d.jpg"})
		time.Sleep(time.Hour)
		posts := rt.got()
		if len(posts) != 5 {
			t.Fatalf("%d POSTs, want 5", len(posts))
		}
		last := posts[4].payload
		if last.Dropped != 3 || len(last.Events) != 1 || last.Events[0].Path != "d.jpg" {
			t.Errorf("payload after the drops: %+v, want dropped 3", last)
		}
		if s := n.Stats(); s.Delivered != 1 || s.Dropped != 3 || s.Failures != 4 {
			t.Errorf("Stats = %+v", s)
		}
		if got := strings.Count(logs.String(), "notify events dropped: delivery failed"); got != 2 {
			t.Errorf("%d drop lines in the log, want 2:\n%s", got, logs)
		}
		if !strings.Contains(logs.String(), `"error":"HTTP 400"`) {
			t.Errorf("log lacks the 400:\n%s", logs)
		}
		// The following payload reports nothing dropped.
		n.Publish(Event{Type: Uploaded, Path: "e.jpg"})
		time.Sleep(time.Hour)
		if p := rt.got(); len(p) != 6 || p[5].payload.Dropped != 0 {
			t.Errorf("later payload: %+v", p[len(p)-1].payload)
		}
	})
}

// A target gets only the event types it asked for; Publish fills in id and time.
func TestEventFilter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		all, some := &fakeRT{}, &fakeRT{}
		n := New([]Target{
			{URL: "https://a.example.com/x"},
			{URL: "https://b.example.com/x", Events: []EventType{Failed, FolderRefused}},
		}, Options{Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == "a.example.com" {
				return all.RoundTrip(r)
			}
			return some.RoundTrip(r)
		})}}, zerolog.Nop())
		start(t, n)
		at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.FixedZone("CET", 3600))
		for _, typ := range EventTypes() {
			n.Publish(Event{Type: typ, Time: at})
		}
		n.Publish(Event{Type: Failed, ID: "mine"})
		time.Sleep(time.Minute)
		var gotAll, gotSome []EventType
		for _, p := range all.got() {
			for _, e := range p.payload.Events {
				gotAll = append(gotAll, e.Type)
			}
		}
		for _, p := range some.got() {
			for _, e := range p.payload.Events {
				gotSome = append(gotSome, e.Type)
				if e.ID == "" || e.Time.IsZero() || e.Time.Location() != time.UTC {
					t.Errorf("event %+v: id or time not set", e)
				}
			}
		}
		if want := append(EventTypes(), Failed); !slices.Equal(gotAll, want) {
			t.Errorf("target without events got %v, want %v", gotAll, want)
		}
		if want := []EventType{Failed, FolderRefused, Failed}; !slices.Equal(gotSome, want) {
			t.Errorf("target with events got %v, want %v", gotSome, want)
		}
		ev := some.got()[0].payload.Events
		if !ev[0].Time.Equal(at) || ev[2].ID != "mine" {
			t.Errorf("events %+v: time or id changed", ev)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// When Run's context ends, what is queued is still delivered within the grace; what cannot be is
// counted and logged.
func TestStopFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &fakeRT{}
		down := &fakeRT{answer: func(int) (int, map[string]string) { return http.StatusServiceUnavailable, nil }}
		logs, log := newLog()
		n := New([]Target{
			{URL: "https://up.example.com/x"},
			{URL: "https://down.example.com/x"},
		}, Options{StopGrace: 3 * time.Second, Client: &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if r.URL.Host == "up.example.com" {
				return up.RoundTrip(r)
			}
			return down.RoundTrip(r)
		})}}, log)
		stop := start(t, n)
		for i := range 3 {
			n.Publish(Event{Type: Uploaded, Path: fmt.Sprint(i)})
		}
		synctest.Wait() // waiting for the flush window
		t0 := time.Now()
		stop()
		if d := time.Since(t0); d > 3*time.Second {
			t.Errorf("Run returned %v after the stop, want within the 3s grace", d)
		}
		if p := up.got(); len(p) != 1 || len(p[0].payload.Events) != 3 {
			t.Errorf("at stop the live receiver got %d POSTs, want 1 with 3 events", len(p))
		}
		if len(down.got()) < 2 {
			t.Errorf("the dead receiver was tried %d times within the grace", len(down.got()))
		}
		if s := n.Stats(); s.Delivered != 3 || s.Dropped != 3 || s.Queued != 0 {
			t.Errorf("Stats = %+v", s)
		}
		if !strings.Contains(logs.String(), `"events":3,"grace":3000,"message":"notify events not delivered before stop"`) {
			t.Errorf("log:\n%s", logs)
		}
	})
}

// A webhook that is down (connection refused) and then comes back gets every event.
func TestWebhookDownThenUp(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // down: nothing listens there

	logs, log := newLog()
	n := New([]Target{{URL: "http://" + addr + "/hook"}}, Options{FlushEvery: 10 * time.Millisecond, BaseDelay: 20 * time.Millisecond, MaxDelay: 100 * time.Millisecond, MaxAttempts: 1_000_000}, log)
	start(t, n)
	published := []Event{
		{Type: Uploaded, Folder: "/srv/exports", Path: "a.jpg", MediaID: "1", MediaKey: "3_1", ExpiresAt: time.Now().Add(24 * time.Hour).UTC().Truncate(time.Second)},
		{Type: Failed, Folder: "/srv/exports", Path: "b.mp4", Reason: "processing failed: InvalidMedia", Attempts: 1},
		{Type: AuthPaused, Reason: "X refuses the credentials"},
	}
	for _, e := range published {
		n.Publish(e)
	}
	waitFor(t, "two failed attempts", func() bool { return n.Stats().Failures >= 2 })

	var mu sync.Mutex
	var got []Event
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p Payload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil || r.Method != http.MethodPost || r.URL.Path != "/hook" {
			t.Errorf("%s %s: %v", r.Method, r.URL.Path, err)
		}
		mu.Lock()
		got = append(got, p.Events...)
		mu.Unlock()
	}))
	srv.Listener, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	srv.Start()
	defer srv.Close()
	waitFor(t, "the events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) >= len(published) })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(published) {
		t.Fatalf("got %d events, want %d", len(got), len(published))
	}
	for i, e := range got {
		want := published[i]
		want.ID, want.Time = e.ID, e.Time
		if e != want || e.ID == "" {
			t.Errorf("event %d = %+v, want %+v", i, e, want)
		}
	}
	// The recovery is logged just after the delivery that proves it.
	waitFor(t, "the recovery log line", func() bool { return strings.Contains(logs.String(), "notify delivery works again") })
	if !strings.Contains(logs.String(), "connection refused") {
		t.Errorf("log:\n%s", logs)
	}
}

// With a webhook that never answers, Publish still never blocks: the queue stays bounded and the
// oldest events are dropped, counted and logged.
func TestPublishNeverBlocksOnStuckWebhook(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	logs, log := newLog()
	const queueSize, batch = 100, 10
	n := New([]Target{{URL: srv.URL + "/stuck", Timeout: time.Hour}}, Options{QueueSize: queueSize, BatchSize: batch, FlushEvery: time.Millisecond, StopGrace: 100 * time.Millisecond}, log)
	stop := start(t, n)

	const total = 100_000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range total {
			n.Publish(Event{Type: Uploaded, Path: fmt.Sprint(i)})
		}
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("Publish blocked behind a stuck webhook")
	}
	s := n.Stats()
	if s.Queued > queueSize+batch || s.Dropped < total-queueSize-batch || s.Delivered != 0 {
		t.Errorf("Stats = %+v; want at most %d queued, at least %d dropped", s, queueSize+batch, total-queueSize-batch)
	}
	if c := strings.Count(logs.String(), "notify queue full"); c != 1 {
		t.Errorf("%d 'queue full' lines, want 1:\n%.2000s", c, logs)
	}
	stop()
	if s := n.Stats(); s.Queued != 0 || s.Dropped != total {
		t.Errorf("after stop: Stats = %+v, want every event counted as dropped", s)
	}
}

// Header values and the webhook URL's path and query never reach the log, even in the errors of
// failed deliveries; the receiver does get the header.
func TestSecretsNeverLogged(t *testing.T) {
	const token, pathSecret, querySecret = "tok-3c1f9a7b", "T000-B000-XXXXSECRETPATH", "sig-5e6f7a"
	var mu sync.Mutex
	var auths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auths = append(auths, r.Header.Get("Authorization"))
		n := len(auths)
		mu.Unlock()
		switch n {
		case 1:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintf(w, "echo: %s", r.Header.Get("Authorization")) // a receiver that echoes
		default:
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()

	logs, log := newLog()
	n := New([]Target{
		{URL: srv.URL + "/services/" + pathSecret + "?token=" + querySecret, Headers: map[string]string{"Authorization": "Bearer " + token}},
		{URL: "http://" + dead + "/services/" + pathSecret + "?token=" + querySecret, Headers: map[string]string{"X-Token": token}},
		{URL: "http://user:" + token + "@" + dead + "/x"},
	}, Options{FlushEvery: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxAttempts: 3}, log)
	start(t, n)
	n.Publish(Event{Type: FolderRefused, Folder: "/srv/x", Reason: "manifest damaged"})
	waitFor(t, "every delivery given up", func() bool { return n.Stats().Dropped == 3 })
	mu.Lock()
	if len(auths) != 2 || auths[0] != "Bearer "+token {
		t.Errorf("receiver got Authorization %q", auths)
	}
	mu.Unlock()
	out := logs.String()
	for _, secret := range []string{token, pathSecret, querySecret, "services"} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{`"target":"` + srv.URL + `"`, `"error":"HTTP 401"`, "connection refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("the log lacks %s:\n%s", want, out)
		}
	}
}

// A command target gets the payload on stdin; a failing run is retried.
func TestCommandTarget(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs sh")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh not installed")
	}
	dir := t.TempDir()
	t.Setenv("NOTIFY_OUT", dir)
	t.Setenv("MEDIASYNC_CONSUMER_SECRET", "cs-must-not-leak")
	// The first run fails; later runs store their stdin and environment.
	script := `if [ ! -e "$NOTIFY_OUT/tried" ]; then : > "$NOTIFY_OUT/tried"; echo 'webhook down' >&2; exit 75; fi
cat > "$NOTIFY_OUT/payload.tmp" && env > "$NOTIFY_OUT/env" && mv "$NOTIFY_OUT/payload.tmp" "$NOTIFY_OUT/payload.json"`
	logs, log := newLog()
	n := New([]Target{{Command: hook.Spec{Command: []string{"sh", "-c", script}, Env: []string{"NOTIFY_OUT"}}, Events: []EventType{HookFailed}}},
		Options{FlushEvery: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}, log)
	start(t, n)
	ev := Event{Type: HookFailed, Folder: "/srv/exports", Path: "a.jpg", MediaID: "1912475018862166016", Reason: "exit status 7", Attempts: 5}
	n.Publish(ev)
	n.Publish(Event{Type: Uploaded}) // not wanted
	waitFor(t, "the payload", func() bool { _, err := os.Stat(filepath.Join(dir, "payload.json")); return err == nil })
	b, err := os.ReadFile(filepath.Join(dir, "payload.json"))
	if err != nil {
		t.Fatal(err)
	}
	var p Payload
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("stdin %s: %v", b, err)
	}
	if len(p.Events) != 1 || p.Version != 1 {
		t.Fatalf("payload %s", b)
	}
	got := p.Events[0]
	ev.ID, ev.Time = got.ID, got.Time
	if got != ev {
		t.Errorf("event %+v, want %+v", got, ev)
	}
	if env, _ := os.ReadFile(filepath.Join(dir, "env")); bytes.Contains(env, []byte("cs-must-not-leak")) {
		t.Errorf("the command sees the agent's credentials:\n%s", env)
	}
	waitFor(t, "the delivery counted", func() bool { return n.Stats().Delivered == 1 })
	if s := n.Stats(); s.Sends != 2 || s.Failures != 1 {
		t.Errorf("Stats = %+v", s)
	}
	if out := logs.String(); !strings.Contains(out, "exit status 75: webhook down") || !strings.Contains(out, `"target":"command sh"`) {
		t.Errorf("log:\n%s", out)
	}
}

func TestRunTwice(t *testing.T) {
	n := New(nil, Options{}, zerolog.Nop())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := n.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Run(ctx); err == nil {
		t.Error("second Run = nil, want an error")
	}
	n.Publish(Event{Type: Uploaded}) // no target: nothing to do, no panic
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		v    string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{"120", 2 * time.Minute},
		{"999999999999", 24 * time.Hour},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.v, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestQueue(t *testing.T) {
	var q queue
	for i := range 10 {
		q.push(Event{ID: fmt.Sprint(i)})
	}
	q.dropOldest()
	q.dropOldest()
	b := q.take(3)
	if ids(b) != "2 3 4" || q.len() != 5 {
		t.Fatalf("take = %s, len %d", ids(b), q.len())
	}
	q.pushFront(b)
	if all := q.take(100); ids(all) != "2 3 4 5 6 7 8 9" || q.len() != 0 {
		t.Errorf("after pushFront: %s", ids(all))
	}
	for i := range 5000 {
		q.push(Event{ID: fmt.Sprint(i)})
		if q.len() > 100 {
			q.dropOldest()
		}
	}
	if q.len() != 100 || len(q.items) > 200 {
		t.Errorf("len %d, backing %d items", q.len(), len(q.items))
	}
	if b := q.take(1); b[0].ID != "4900" {
		t.Errorf("oldest kept %s, want 4900", b[0].ID)
	}
}

func ids(evs []Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.ID)
	}
	return strings.Join(s, " ")
}

// config accepts exactly the event types this package sends, and its default timeout is ours.
func TestEventTypesMatchConfig(t *testing.T) {
	var want []string
	for _, e := range EventTypes() {
		want = append(want, string(e))
	}
	if !slices.Equal(config.NotifyEvents, want) {
		t.Errorf("config.NotifyEvents = %q, notify.EventTypes() = %q", config.NotifyEvents, want)
	}
	if d := config.DefaultNotify().Timeout.D(); d != DefaultTimeout {
		t.Errorf("config's default notify timeout %v, notify's %v", d, DefaultTimeout)
	}
}

// A token configured as "Authorization: Bearer ${NOTIFY_TOKEN}" reaches the receiver and never
// the log, from the config file to a failed delivery.
func TestHeaderFromEnvNeverLogged(t *testing.T) {
	const token = "nt-0b5e77c2d9"
	t.Setenv("NOTIFY_TOKEN", token)
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Error(w, "try later: "+r.Header.Get("Authorization"), http.StatusBadGateway)
	}))
	defer srv.Close()
	file := filepath.Join(t.TempDir(), "mediasync.yaml")
	body := "notify:\n  - url: " + srv.URL + "/hook\n    headers:\n      Authorization: Bearer ${NOTIFY_TOKEN}\n    events: [failed]\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	logs, log := newLog()
	log.Info().Interface("notify", cfg.Notify).Msg("config") // as a careless caller might
	var targets []Target
	for _, n := range cfg.Notify {
		tg := Target{URL: n.URL.Reveal(), Headers: map[string]string{}, Timeout: n.Timeout.D()}
		for k, v := range n.Headers {
			tg.Headers[k] = v.Reveal()
		}
		for _, e := range n.Events {
			tg.Events = append(tg.Events, EventType(e))
		}
		targets = append(targets, tg)
	}
	n := New(targets, Options{FlushEvery: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond, MaxAttempts: 3}, log)
	start(t, n)
	n.Publish(Event{Type: Failed, Folder: "/srv/x", Path: "a.jpg", Reason: "processing failed"})
	waitFor(t, "the delivery given up", func() bool { return n.Stats().Dropped == 1 })
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 || got[0] != "Bearer "+token {
		t.Errorf("receiver got Authorization %q", got)
	}
	if strings.Contains(logs.String(), token) || !strings.Contains(logs.String(), "HTTP 502") {
		t.Errorf("log:\n%s", logs)
	}
}
