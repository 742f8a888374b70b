package emulator

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// serveLoopback runs a new emulator with Serve on a loopback listener until
// the test ends, and returns its base URL and a signing client.
func serveLoopback(t *testing.T, opts Options) (string, *http.Client) {
	t.Helper()
	opts.Credentials, opts.InMemory, opts.Log = DemoCredentials(), true, zerolog.Nop()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
		s.Close()
	})
	c := DemoCredentials()
	hc := oauth1.NewConfig(c.ConsumerKey, c.ConsumerSecret).Client(context.Background(), oauth1.NewToken(c.AccessToken, c.AccessTokenSecret))
	hc.Timeout = 2 * time.Minute // a generous bound, not a timing assertion
	return "http://" + ln.Addr().String(), hc
}

// oneShotPNG uploads data as a v2 one-shot image and returns the status.
func oneShotPNG(t *testing.T, hc *http.Client, base string, data []byte) int {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("media_category", "tweet_image")
	w, _ := mw.CreateFormFile("media", "p.png")
	w.Write(data)
	mw.Close()
	resp, err := hc.Post(base+"/2/media/upload", mw.FormDataContentType(), &buf)
	if err != nil {
		t.Fatalf("one-shot upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Logf("one-shot upload: %d %s", resp.StatusCode, b)
	}
	return resp.StatusCode
}

// TestSlowClientsCannotPin opens many connections that trickle (a body
// that never arrives, headers that never end, nothing at all) and shows
// that a normal request is still served while they hang on, and that the
// server drops every one of them once its limit passes (short limits via
// Options; the waits below are generous bounds, not timing assertions).
func TestSlowClientsCannotPin(t *testing.T) {
	const nBody, nHeader, nIdle = 120, 120, 60
	base, hc := serveLoopback(t, Options{
		ReadHeaderTimeout: 300 * time.Millisecond,
		IdleTimeout:       300 * time.Millisecond,
		BodyRateWindow:    300 * time.Millisecond,
		MinBodyRate:       8 << 10,
	})
	addr := strings.TrimPrefix(base, "http://")
	ctx, stop := context.WithCancel(t.Context())
	var drips sync.WaitGroup
	t.Cleanup(func() { stop(); drips.Wait() })

	type slow struct {
		kind string
		conn net.Conn
	}
	var conns []slow
	open := func(kind, head, drip string) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, head); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, slow{kind, c})
		if drip == "" {
			return
		}
		drips.Add(1)
		go func() {
			defer drips.Done()
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				if _, err := io.WriteString(c, drip); err != nil {
					return // dropped by the server
				}
			}
		}()
	}
	for range nBody {
		// A form body is read whole before authentication: the pinning case.
		open("body", "POST /2/media/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n", "a")
	}
	for range nHeader {
		open("header", "GET /2/users/me HTTP/1.1\r\nHost: x\r\n", "X-Drip: a\r\n")
	}
	for range nIdle {
		open("idle", "", "")
	}

	// Normal requests are served while all of them are connected.
	if resp, err := hc.Get(base + "/2/users/me"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /2/users/me among slow clients = %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if code := oneShotPNG(t, hc, base, mediagen.PNG(100, 100, 4)); code != 200 {
		t.Fatalf("one-shot upload among slow clients = %d", code)
	}

	// Every slow connection is closed by the server.
	type result struct {
		kind string
		got  []byte
		err  error
	}
	results := make(chan result, len(conns))
	for _, sc := range conns {
		go func() {
			sc.conn.SetReadDeadline(time.Now().Add(time.Minute))
			got, err := io.ReadAll(sc.conn)
			results <- result{sc.kind, got, err}
		}()
	}
	answered408 := 0
	for range conns {
		r := <-results
		var ne net.Error
		if errors.As(r.err, &ne) && ne.Timeout() {
			t.Errorf("a %s connection was still open after a minute", r.kind)
			continue
		}
		if r.kind == "body" && bytes.HasPrefix(r.got, []byte("HTTP/1.1 408 ")) {
			answered408++
		}
	}
	if answered408 != nBody {
		t.Errorf("%d of %d slow bodies were answered 408 before the close", answered408, nBody)
	}
	stop()
	drips.Wait()
}

// TestSlowBodyGuardIgnoresOwnPauses: the minimum body rate counts only time
// spent waiting for the client, so the emulator's own latency and bandwidth
// faults (slower than the minimum rate) never cut a client that sends at
// once.
func TestSlowBodyGuardIgnoresOwnPauses(t *testing.T) {
	base, hc := serveLoopback(t, Options{
		Faults:         Faults{Latency: 400 * time.Millisecond, Bandwidth: 32 << 10},
		BodyRateWindow: 200 * time.Millisecond,
		MinBodyRate:    64 << 10,
	})
	png := mediagen.PNG(180, 180, 2)
	if len(png) < 64<<10 {
		t.Fatalf("PNG of %d bytes: want more than the bandwidth's burst", len(png))
	}
	if code := oneShotPNG(t, hc, base, png); code != 200 {
		t.Errorf("upload of %d bytes under a %d B/s bandwidth fault = %d, want 200", len(png), 32<<10, code)
	}
}

// TestSlowLimitsDefaults documents the defaults and the off switch.
func TestSlowLimitsDefaults(t *testing.T) {
	l := newSlowLimits(Options{})
	if l.readHeader != 30*time.Second || l.idle != 2*time.Minute || l.window != 30*time.Second || l.need != 30<<10 {
		t.Errorf("defaults %+v", l)
	}
	if l := newSlowLimits(Options{MinBodyRate: -1}); l.need != 0 {
		t.Errorf("MinBodyRate -1: need %d, want 0 (off)", l.need)
	}
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	if got := newSlowLimits(Options{MinBodyRate: -1}).guard(h); fmt.Sprintf("%p", got) != fmt.Sprintf("%p", h) {
		t.Errorf("with the check off, guard wraps the handler")
	}
}
