package uploader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// retryEvent is one OnRetry report.
type retryEvent struct {
	op      string
	attempt int
	err     error
	wait    time.Duration
}

type retryLog struct {
	mu     sync.Mutex
	events []retryEvent
}

func (l *retryLog) add(op string, attempt int, err error, wait time.Duration) {
	l.mu.Lock()
	l.events = append(l.events, retryEvent{op, attempt, err, wait})
	l.mu.Unlock()
}

func (l *retryLog) all() []retryEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]retryEvent(nil), l.events...)
}

func TestRetryTransient(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		header   http.Header
		wantWait func(t *testing.T, ev retryEvent)
	}{
		{"500 string errors", 500, `{"errors":["internal server error"]}`, nil, nil},
		{"503 code 130", 503, `{"errors":[{"code":130,"message":"Over capacity"}]}`, nil, nil},
		{"429 retry-after", 429, `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`, http.Header{"Retry-After": {"30"}},
			func(t *testing.T, ev retryEvent) {
				if ev.wait != 30*time.Second {
					t.Errorf("wait after Retry-After: 30 = %v, want 30s", ev.wait)
				}
			}},
		{"429 rate limit reset", 429, `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`, nil,
			func(t *testing.T, ev retryEvent) {
				if ev.wait != 90*time.Second+resetSlack {
					t.Errorf("wait until x-rate-limit-reset = %v, want 90s + %v", ev.wait, resetSlack)
				}
			}},
		{"408", 408, ``, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				fails := 2
				var sentAt []time.Time
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op != "APPEND" {
						return false
					}
					sentAt = append(sentAt, time.Now())
					if fails == 0 {
						return false
					}
					fails--
					for k, v := range tt.header {
						w.Header()[k] = v
					}
					if tt.status == 429 && tt.header == nil {
						w.Header().Set("x-rate-limit-remaining", "0")
						w.Header().Set("x-rate-limit-reset", strconv.FormatInt(time.Now().Add(90*time.Second).Unix(), 10))
					}
					w.WriteHeader(tt.status)
					_, _ = io.WriteString(w, tt.body)
					return true
				}
				var log retryLog
				c := f.newClient(Options{OnRetry: log.add, MaxBackoff: 10 * time.Second, MaxInlineWait: 2 * time.Minute})
				data := testBytes(3000, 8)
				if _, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 3000, Type: "video/mp4"}, nil); err != nil {
					t.Fatalf("Upload: %v", err)
				}
				if !bytes.Equal(f.only().data, data) {
					t.Error("server bytes differ")
				}
				evs := log.all()
				if len(evs) != 2 || len(sentAt) != 3 {
					t.Fatalf("%d retries reported, %d attempts sent; want 2 and 3", len(evs), len(sentAt))
				}
				for i, ev := range evs {
					var ae *APIError
					if ev.op != "APPEND" || ev.attempt != i+1 || !errors.As(ev.err, &ae) || ae.StatusCode != tt.status {
						t.Errorf("retry %d = %+v, want APPEND attempt %d with status %d", i, ev, i+1, tt.status)
					}
					if got := sentAt[i+1].Sub(sentAt[i]); got != ev.wait {
						t.Errorf("attempt %d came %v after the previous, reported wait %v", i+2, got, ev.wait)
					}
					if tt.wantWait != nil {
						tt.wantWait(t, ev)
					} else if ev.wait < 0 || ev.wait > min(10*time.Second, baseBackoff<<i) {
						t.Errorf("backoff %d = %v, want within [0, %v]", i+1, ev.wait, min(10*time.Second, baseBackoff<<i))
					}
				}
			})
		})
	}
}

// Every attempt is a new request with a complete body, so an authenticating
// transport signs each one anew.
func TestRetryFreshRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var (
			reqs   []*http.Request
			bodies [][]byte
		)
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			b, _ := io.ReadAll(r.Body)
			reqs = append(reqs, r)
			bodies = append(bodies, b)
			if len(reqs) < 3 {
				return &http.Response{StatusCode: 503, Body: io.NopCloser(bytes.NewReader(nil)), Header: http.Header{}}, nil
			}
			return &http.Response{StatusCode: 204, Body: http.NoBody, Header: http.Header{}}, nil
		})
		c := New(&http.Client{Transport: rt}, Options{BaseURL: "https://x.invalid"})
		data := testBytes(5000, 9)
		err := c.proto.appendSegment(t.Context(), "1", bytes.NewReader(data), Media{Name: "v.mp4", Type: "video/mp4"}, segment{index: 2, off: 1000, n: 3000})
		if err != nil {
			t.Fatalf("appendSegment: %v", err)
		}
		if len(reqs) != 3 || reqs[0] == reqs[1] || reqs[1] == reqs[2] {
			t.Fatalf("%d requests, want 3 distinct", len(reqs))
		}
		for i, b := range bodies {
			if !bytes.Equal(b, bodies[0]) || !bytes.Contains(b, data[1000:4000]) || bytes.Contains(b, data[999:4000]) || int64(len(b)) != reqs[i].ContentLength {
				t.Errorf("attempt %d body: %d bytes (Content-Length %d), want the same segment each time", i, len(b), reqs[i].ContentLength)
			}
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestRetryGivesUp(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		attempts  int
		permanent bool
	}{
		{"5xx until attempts run out", 500, 4, false},
		{"400 is not retried", 400, 1, true},
		{"413 is not retried", 413, 1, true}, // and is not ErrTooLarge: only INIT and UPLOAD refuse the file's size
		{"403 is not retried", 403, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := 0
				rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
					n++
					return &http.Response{StatusCode: tt.status, Body: io.NopCloser(bytes.NewReader([]byte(`{"errors":[{"code":131,"message":"Internal error"}]}`))), Header: http.Header{}}, nil
				})
				c := New(&http.Client{Transport: rt}, Options{BaseURL: "https://x.invalid", MaxAttempts: 4})
				_, err := c.proto.finalize(t.Context(), "1")
				var ae *APIError
				if !errors.As(err, &ae) || ae.StatusCode != tt.status || ae.Code != 131 || ae.Op != "FINALIZE" {
					t.Fatalf("finalize = %v, want *APIError FINALIZE %d code 131", err, tt.status)
				}
				if n != tt.attempts || IsPermanent(err) != tt.permanent {
					t.Errorf("%d attempts, permanent %v; want %d, %v", n, IsPermanent(err), tt.attempts, tt.permanent)
				}
				if tt.status == 413 && errors.Is(err, ErrTooLarge) {
					t.Errorf("413 for FINALIZE = %v, want no ErrTooLarge (the request, not the file, was too large)", err)
				}
			})
		})
	}
}

// A network error is retried; the URL with its query never shows in the error.
func TestRetryNetworkError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := 0
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			n++
			return nil, fmt.Errorf("connection reset by peer")
		})
		c := New(&http.Client{Transport: rt}, Options{BaseURL: "https://x.invalid", MaxAttempts: 3})
		_, err := c.proto.status(t.Context(), "12345")
		if err == nil || n != 3 || IsPermanent(err) {
			t.Fatalf("status = %v after %d attempts, want a retryable error after 3", err, n)
		}
		if s := err.Error(); bytes.Contains([]byte(s), []byte("command=STATUS")) || bytes.Contains([]byte(s), []byte("x.invalid")) {
			t.Errorf("error %q contains the URL", s)
		}
	})
}

func TestRetryCancelDuringBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			return &http.Response{StatusCode: 503, Body: http.NoBody, Header: http.Header{"Retry-After": {"3600"}}}, nil
		})
		c := New(&http.Client{Transport: rt}, Options{BaseURL: "https://x.invalid", MaxInlineWait: 2 * time.Hour, OnRetry: func(string, int, error, time.Duration) {
			time.AfterFunc(time.Second, cancel)
		}})
		_, err := c.proto.finalize(ctx, "1")
		if err != context.Canceled {
			t.Errorf("finalize = %v, want context.Canceled itself", err)
		}
	})
}

// The client reads x-rate-limit-* and waits for the window to reset before
// sending, so the server never has to answer 429.
func TestRateLimitWaitsBeforeLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const budget = 3
		window := 15 * time.Minute
		var mu sync.Mutex
		used, resetAt := 0, time.Now().Add(window)
		var sent []time.Time
		f := newFakeX(t)
		f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
			if op != "APPEND" {
				return false
			}
			mu.Lock()
			defer mu.Unlock()
			now := time.Now()
			if !now.Before(resetAt) {
				used, resetAt = 0, resetAt.Add(window)
			}
			sent = append(sent, now)
			w.Header().Set("x-rate-limit-limit", strconv.Itoa(budget))
			w.Header().Set("x-rate-limit-reset", strconv.FormatInt(resetAt.Unix(), 10))
			if used >= budget {
				w.Header().Set("x-rate-limit-remaining", "0")
				t.Errorf("segment sent at %v with the budget used up", now)
				writeJSON(w, 429, map[string]any{"errors": []map[string]any{{"code": 88, "message": "Rate limit exceeded"}}})
				return true
			}
			used++
			w.Header().Set("x-rate-limit-remaining", strconv.Itoa(budget-used))
			return false
		}
		var log, waits retryLog
		c := f.newClient(Options{ChunkSize: 1000, ChunkParallelism: 1, OnRetry: log.add, MaxInlineWait: 20 * time.Minute,
			OnWait: func(op string, wait time.Duration) { waits.add(op, 0, nil, wait) }})
		data := testBytes(7000, 10)
		start := time.Now()
		if _, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 7000, Type: "video/mp4"}, nil); err != nil {
			t.Fatalf("Upload: %v", err)
		}
		if len(sent) != 7 || len(log.all()) != 0 {
			t.Fatalf("%d APPENDs sent, %d retries; want 7 and none", len(sent), len(log.all()))
		}
		// OnWait saw the two waits (before segments 3 and 6), each up to the
		// next window: the reset header has whole seconds, plus resetSlack.
		if got := waits.all(); len(got) != 2 {
			t.Errorf("OnWait calls %+v, want 2", got)
		} else {
			for _, w := range got {
				if w.op != "APPEND" || w.wait <= 0 || w.wait > window+2*time.Second {
					t.Errorf("OnWait(%q, %v), want APPEND and a wait up to %v", w.op, w.wait, window)
				}
			}
		}
		// 3 in the first window, 3 in the second, 1 in the third.
		for i, at := range sent {
			if w := time.Duration(i/budget) * window; at.Sub(start) < w {
				t.Errorf("APPEND %d sent at +%v, before its window at +%v", i, at.Sub(start), w)
			}
		}
	})
}

// A request that stops making progress is abandoned after RequestTimeout and
// retried; one that is slow but moving is left alone.
func TestStallWatchdog(t *testing.T) {
	const timeout = 10 * time.Second
	tests := []struct {
		name        string
		serve       func(attempt int, w http.ResponseWriter, r *http.Request) bool
		wantRetries int
	}{
		{"stalled mid-body then fine", func(attempt int, w http.ResponseWriter, r *http.Request) bool {
			if attempt > 1 {
				return false
			}
			_, _ = io.ReadFull(r.Body, make([]byte, 100))
			<-r.Context().Done()
			return true
		}, 1},
		{"no answer then fine", func(attempt int, w http.ResponseWriter, r *http.Request) bool {
			if attempt > 2 {
				return false
			}
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return true
		}, 2},
		{"slow but moving", func(attempt int, w http.ResponseWriter, r *http.Request) bool {
			buf := make([]byte, 512)
			var got bytes.Buffer
			for {
				n, err := r.Body.Read(buf)
				got.Write(buf[:n])
				if err != nil {
					break
				}
				time.Sleep(timeout / 2)
			}
			r.Body = io.NopCloser(&got)
			return false
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				attempts := 0
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op != "APPEND" {
						return false
					}
					attempts++
					return tt.serve(attempts, w, r)
				}
				var log retryLog
				c := f.newClient(Options{RequestTimeout: timeout, OnRetry: log.add})
				data := testBytes(4000, 11)
				if _, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 4000, Type: "video/mp4"}, nil); err != nil {
					t.Fatalf("Upload: %v", err)
				}
				if !bytes.Equal(f.only().data, data) {
					t.Error("server bytes differ")
				}
				evs := log.all()
				if len(evs) != tt.wantRetries {
					t.Fatalf("%d retries, want %d: %+v", len(evs), tt.wantRetries, evs)
				}
				for _, ev := range evs {
					if !errors.Is(ev.err, ErrStalled) {
						t.Errorf("retry for %v, want ErrStalled", ev.err)
					}
				}
			})
		})
	}
}

// A file that cannot be read, or that shrinks, fails at once with ErrSource
// instead of being retried.
func TestSourceError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeX(t)
		c := f.newClient(Options{ChunkSize: 1000})
		data := testBytes(1500, 12) // Media claims 3000 bytes: the file "shrank"
		_, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 3000, Type: "video/mp4"}, nil)
		if !errors.Is(err, ErrSource) || IsPermanent(err) {
			t.Fatalf("Upload of a shrunk file = %v, want non-permanent ErrSource", err)
		}
		if n := f.count("APPEND"); n > 3 {
			t.Errorf("%d APPENDs, want no retries of the failing segment", n)
		}
	})
}

func TestBandwidthLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeX(t)
		const limit = 256 << 10
		c := f.newClient(Options{BandwidthLimit: limit, ChunkSize: 256 << 10, ChunkParallelism: 3})
		const size = 2 << 20
		data := testBytes(size, 13)
		start := time.Now()
		if _, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: size, Type: "video/mp4"}, nil); err != nil {
			t.Fatalf("Upload: %v", err)
		}
		burst := int64(c.bw.Burst())
		if got, least := time.Since(start), time.Duration(float64(size-burst)/limit*float64(time.Second)); got < least {
			t.Errorf("2 MiB at 256 KiB/s took %v of fake time, want at least %v", got, least)
		}
	})
}
