package metrics

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
)

// scrape fetches /metrics from srv and returns every sample, keyed by its series as printed
// (name{labels}).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("GET /metrics: Content-Type %q, want text/plain", ct)
	}
	samples := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			t.Fatalf("unparsable sample line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample line %q: %v", line, err)
		}
		samples[line[:i]] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return samples
}

func newServer(t *testing.T, c *Collector) string {
	t.Helper()
	srv := httptest.NewServer(c.Handler()) // binds 127.0.0.1
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestCollectorValues(t *testing.T) {
	tests := []struct {
		name string
		do   func(c *Collector)
		want map[string]float64
	}{
		{
			name: "fresh",
			do:   func(*Collector) {},
			want: map[string]float64{
				`mediasync_files_total{outcome="uploaded"}`:           0,
				`mediasync_files_total{outcome="skipped"}`:            0,
				`mediasync_files_total{outcome="failed"}`:             0,
				`mediasync_files_total{outcome="retry"}`:              0,
				`mediasync_upload_bytes_total`:                        0,
				`mediasync_upload_duration_seconds_count`:             0,
				`mediasync_queue_depth`:                               0,
				`mediasync_auth_paused`:                               0,
				`mediasync_upload_duration_seconds_bucket{le="+Inf"}`: 0,
			},
		},
		{
			name: "outcomes",
			do: func(c *Collector) {
				c.FileDone("/srv/a", "x.jpg", agent.OutcomeUploaded, 1000, 2*time.Second)
				c.FileDone("/srv/a", "y.mp4", agent.OutcomeUploaded, 50_000_000, 3*time.Minute)
				c.FileDone("/srv/a", "z.heic", agent.OutcomeSkipped, 77, 0)
				c.FileDone("/srv/b", "w.png", agent.OutcomeFailed, 10, 0)
				c.FileDone("/srv/b", "w.png", agent.OutcomeRetry, 10, 0)
				c.FileDone("/srv/b", "w.png", agent.OutcomeRetry, 10, 0)
			},
			want: map[string]float64{
				`mediasync_files_total{outcome="uploaded"}`:           2,
				`mediasync_files_total{outcome="skipped"}`:            1,
				`mediasync_files_total{outcome="failed"}`:             1,
				`mediasync_files_total{outcome="retry"}`:              2,
				`mediasync_upload_bytes_total`:                        50_001_000,
				`mediasync_upload_duration_seconds_count`:             2,
				`mediasync_upload_duration_seconds_sum`:               182,
				`mediasync_upload_duration_seconds_bucket{le="0.1"}`:  0,
				`mediasync_upload_duration_seconds_bucket{le="2.5"}`:  1,
				`mediasync_upload_duration_seconds_bucket{le="120"}`:  1,
				`mediasync_upload_duration_seconds_bucket{le="300"}`:  2,
				`mediasync_upload_duration_seconds_bucket{le="1800"}`: 2,
				`mediasync_upload_duration_seconds_bucket{le="+Inf"}`: 2,
			},
		},
		{
			name: "unknown outcome counts as failed",
			do: func(c *Collector) {
				c.FileDone("/srv/a", "x.jpg", agent.Outcome("exploded"), 5, time.Second)
			},
			want: map[string]float64{
				`mediasync_files_total{outcome="failed"}`: 1,
				`mediasync_upload_bytes_total`:            0,
				`mediasync_upload_duration_seconds_count`: 0,
			},
		},
		{
			name: "queue depth is a gauge",
			do: func(c *Collector) {
				c.QueueDepth(12)
				c.QueueDepth(3)
			},
			want: map[string]float64{`mediasync_queue_depth`: 3},
		},
		{
			name: "retries and rate-limit waits by op",
			do: func(c *Collector) {
				c.Retry("APPEND")
				c.Retry("APPEND")
				c.Retry("INIT")
				c.RateLimitWait("STATUS", 90*time.Second)
				c.RateLimitWait("STATUS", 1500*time.Millisecond)
				c.RateLimitWait("INIT", -time.Second)
			},
			want: map[string]float64{
				`mediasync_retries_total{op="APPEND"}`:                 2,
				`mediasync_retries_total{op="INIT"}`:                   1,
				`mediasync_rate_limit_wait_seconds_total{op="STATUS"}`: 91.5,
				`mediasync_rate_limit_wait_seconds_total{op="INIT"}`:   0,
			},
		},
		{
			name: "auth paused and resumed",
			do: func(c *Collector) {
				c.AuthPaused(true)
				c.AuthPaused(false)
				c.AuthPaused(true)
			},
			want: map[string]float64{`mediasync_auth_paused`: 1},
		},
		{
			name: "a new session forgets the pause, the parked folders and the queue, not the counts",
			do: func(c *Collector) {
				c.Observe(agent.Event{Kind: agent.EventPaused})
				c.Observe(agent.Event{Kind: agent.EventParked, Folder: "/srv/a"})
				c.QueueDepth(7)
				c.FileDone("/srv/a", "x.jpg", agent.OutcomeUploaded, 10, time.Second)
				c.NewSession()
			},
			want: map[string]float64{`mediasync_auth_paused`: 0, `mediasync_folders_parked`: 0, `mediasync_queue_depth`: 0,
				`mediasync_files_total{outcome="uploaded"}`: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			tt.do(c)
			got := scrape(t, newServer(t, c))
			for series, want := range tt.want {
				v, ok := got[series]
				if !ok {
					t.Errorf("series %s missing from /metrics", series)
					continue
				}
				if v != want {
					t.Errorf("%s = %v, want %v", series, v, want)
				}
			}
		})
	}
}

func TestStandardCollectors(t *testing.T) {
	got := scrape(t, newServer(t, New()))
	for _, series := range []string{"go_goroutines", "process_open_fds", "process_resident_memory_bytes"} {
		if _, ok := got[series]; !ok {
			t.Errorf("series %s missing from /metrics", series)
		}
	}
}

// TestOwnRegistry checks that collectors do not share state or a registry: a second New would panic
// on duplicate registration if both used Prometheus's global registry.
func TestOwnRegistry(t *testing.T) {
	a, b := New(), New()
	a.FileDone("/f", "x", agent.OutcomeUploaded, 1, time.Second)
	if v := scrape(t, newServer(t, b))[`mediasync_files_total{outcome="uploaded"}`]; v != 0 {
		t.Errorf("second collector counts %v uploads, want 0", v)
	}
}

func TestOpLabelBounded(t *testing.T) {
	c := New()
	const n = maxOps + 8
	for i := range n {
		c.Retry(fmt.Sprintf("OP%d", i))
	}
	c.Retry("OP0")
	c.RateLimitWait("", time.Second)
	got := scrape(t, newServer(t, c))
	series := 0
	total := 0.0
	for k, v := range got {
		if strings.HasPrefix(k, "mediasync_retries_total{") {
			series++
			total += v
		}
	}
	if series != maxOps+1 {
		t.Errorf("%d retries series, want %d (bounded ops plus %q)", series, maxOps+1, otherOp)
	}
	if total != n+1 {
		t.Errorf("retries add up to %v, want %v: no retry may be lost to the bound", total, n+1)
	}
	if v := got[`mediasync_retries_total{op="OP0"}`]; v != 2 {
		t.Errorf(`retries{op="OP0"} = %v, want 2`, v)
	}
	if v := got[`mediasync_retries_total{op="other"}`]; v != n-maxOps {
		t.Errorf(`retries{op="other"} = %v, want %v`, v, n-maxOps)
	}
	// The op set is full, so an empty op lands in "other" too.
	if v := got[`mediasync_rate_limit_wait_seconds_total{op="other"}`]; v != 1 {
		t.Errorf(`rate_limit_wait{op="other"} = %v, want 1`, v)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		paused     []bool // AuthPaused calls, in order
		wantStatus int
		wantBody   string
	}{
		{"never paused", nil, http.StatusOK, "ok\n"},
		{"paused", []bool{true}, http.StatusServiceUnavailable, pausedReason},
		{"paused then resumed", []bool{true, false}, http.StatusOK, "ok\n"},
		{"resumed then paused again", []bool{true, false, true}, http.StatusServiceUnavailable, pausedReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			for _, p := range tt.paused {
				c.AuthPaused(p)
			}
			status, body := get(t, newServer(t, c)+"/healthz")
			if status != tt.wantStatus || body != tt.wantBody {
				t.Errorf("GET /healthz = %d %q, want %d %q", status, body, tt.wantStatus, tt.wantBody)
			}
		})
	}
}

func TestHandlerRoutes(t *testing.T) {
	url := newServer(t, New())
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusOK},
		{http.MethodGet, "/metrics", http.StatusOK},
		{http.MethodHead, "/healthz", http.StatusOK},
		{http.MethodGet, "/nope", http.StatusNotFound},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/healthz", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, url+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
			}
		})
	}
}

// TestConcurrentObservers exercises every method from many goroutines (for -race) and checks that
// no update is lost.
func TestConcurrentObservers(t *testing.T) {
	c := New()
	const workers, each = 8, 200
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range each {
				c.FileDone("/f", "x", agent.OutcomeUploaded, 10, time.Millisecond)
				c.QueueDepth(i)
				c.Retry(fmt.Sprintf("OP%d", w))
				c.RateLimitWait("STATUS", time.Second)
				c.AuthPaused(i%2 == 0)
			}
		}()
	}
	for range workers {
		<-done
	}
	got := scrape(t, newServer(t, c))
	if v := got[`mediasync_files_total{outcome="uploaded"}`]; v != workers*each {
		t.Errorf("uploaded = %v, want %d", v, workers*each)
	}
	if v := got[`mediasync_upload_bytes_total`]; v != workers*each*10 {
		t.Errorf("bytes = %v, want %d", v, workers*each*10)
	}
	if v := got[`mediasync_rate_limit_wait_seconds_total{op="STATUS"}`]; v != workers*each {
		t.Errorf("rate-limit wait = %v, want %d", v, workers*each)
	}
}

// logLines passes each log line Serve writes to a channel (dropping them if nobody reads).
type logLines chan string

func (l logLines) Write(p []byte) (int, error) {
	select {
	case l <- string(p):
	default:
	}
	return len(p), nil
}

// startServe runs Serve on a free loopback port and returns its base URL once it is listening
// (Serve logs the bound address after the listener exists), and the channel of Serve's result.
func startServe(t *testing.T, ctx context.Context, c *Collector) (string, <-chan error) {
	t.Helper()
	lines := make(logLines, 16)
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, "127.0.0.1:0", c.Handler(), zerolog.New(lines)) }()
	var line string
	select {
	case line = <-lines:
	case err := <-errc:
		t.Fatalf("Serve returned before serving: %v", err)
	case <-time.After(30 * time.Second): // failure guard only
		t.Fatal("no start log line from Serve")
	}
	var rec struct{ Component, Addr, Message string }
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatalf("start log line %q: %v", line, err)
	}
	if rec.Component != "http" || rec.Message == "" {
		t.Errorf("start log line %s: want component=http and a message", line)
	}
	host, port, err := net.SplitHostPort(rec.Addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("start log line %s: addr is not the bound loopback address", line)
	}
	return "http://" + rec.Addr, errc
}

func TestServe(t *testing.T) {
	t.Run("serves until cancelled, then returns nil", func(t *testing.T) {
		c := New()
		c.AuthPaused(true)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		url, errc := startServe(t, ctx, c)

		if got, _ := get(t, url+"/healthz"); got != http.StatusServiceUnavailable {
			t.Errorf("GET /healthz while paused = %d, want 503", got)
		}
		c.AuthPaused(false)
		if got, _ := get(t, url+"/healthz"); got != http.StatusOK {
			t.Errorf("GET /healthz after resume = %d, want 200", got)
		}
		c.FileDone("/f", "a.jpg", agent.OutcomeUploaded, 42, time.Second)
		got := scrape(t, url)
		if v := got[`mediasync_auth_paused`]; v != 0 {
			t.Errorf("mediasync_auth_paused = %v, want 0", v)
		}
		if v := got[`mediasync_upload_bytes_total`]; v != 42 {
			t.Errorf("mediasync_upload_bytes_total = %v, want 42", v)
		}

		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Fatalf("Serve after cancel = %v, want nil", err)
			}
		case <-time.After(30 * time.Second): // failure guard only
			t.Fatal("Serve did not return after cancel")
		}
		// The listener is closed: nothing answers any more, and the port can be bound again.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url+"/healthz", nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req); err == nil {
			resp.Body.Close()
			t.Error("GET /healthz after Serve returned succeeded, want a connection error")
		}
		ln, err := net.Listen("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatalf("port still bound after Serve returned: %v", err)
		}
		ln.Close()
	})

	t.Run("address in use is an error", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		err = Serve(t.Context(), ln.Addr().String(), New().Handler(), zerolog.Nop())
		if err == nil {
			t.Fatal("Serve on a bound port = nil, want an error")
		}
		var op *net.OpError
		if !errors.As(err, &op) {
			t.Errorf("Serve error %v does not wrap the *net.OpError", err)
		}
		if !strings.Contains(err.Error(), ln.Addr().String()) {
			t.Errorf("Serve error %q does not name the address", err)
		}
	})

	t.Run("bad address is an error", func(t *testing.T) {
		if err := Serve(t.Context(), "127.0.0.1", New().Handler(), zerolog.Nop()); err == nil {
			t.Fatal(`Serve("127.0.0.1") = nil, want an error (no port)`)
		}
	})

	t.Run("already cancelled returns nil without listening", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := Serve(ctx, "127.0.0.1:0", New().Handler(), zerolog.Nop()); err != nil {
			t.Fatalf("Serve(cancelled) = %v, want nil", err)
		}
	})
}

func BenchmarkFileDone(b *testing.B) {
	c := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.FileDone("/srv/exports", "shoot-01/IMG_0001.jpg", agent.OutcomeUploaded, 182734, 2*time.Second)
		}
	})
}

func BenchmarkRetry(b *testing.B) {
	c := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Retry("APPEND")
		}
	})
}

func BenchmarkScrape(b *testing.B) {
	c := New()
	for _, o := range outcomes {
		c.FileDone("/f", "x", o, 1000, time.Second)
	}
	c.Retry("APPEND")
	c.RateLimitWait("STATUS", time.Minute)
	h := c.Handler()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}
