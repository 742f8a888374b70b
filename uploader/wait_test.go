package uploader

import (
	"bytes"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// A wait the server asks for that is longer than MaxInlineWait is not
// slept: the call returns a *WaitError at once (capped at MaxServerWait),
// nothing is reported to OnWait, and the progress saved so far resumes the
// upload on the same media id once the wait is over. Shorter waits are
// slept as before.
func TestLongServerWait(t *testing.T) {
	type answer func(w http.ResponseWriter, now time.Time)
	retryAfter := func(status int, secs string) answer {
		return func(w http.ResponseWriter, now time.Time) {
			w.Header().Set("Retry-After", secs)
			writeJSON(w, status, map[string]any{"errors": []map[string]any{{"code": 88, "message": "Rate limit exceeded"}}})
		}
	}
	// A successful APPEND that spends a budget: the next one must wait.
	spent := func(prefix string, reset time.Duration) answer {
		return func(w http.ResponseWriter, now time.Time) {
			w.Header().Set(prefix+"-limit", "10")
			w.Header().Set(prefix+"-remaining", "0")
			w.Header().Set(prefix+"-reset", strconv.FormatInt(now.Add(reset).Unix(), 10))
			w.WriteHeader(http.StatusNoContent)
		}
	}
	tests := []struct {
		name     string
		answer   answer
		passes   bool          // the answered segment went through (a budget was spent by it)
		wait     time.Duration // the WaitError's Until - now; 0: slept inline, no error
		reason   string
		inlineOK bool
	}{
		{"429 retry-after ten years", retryAfter(429, "315360000"), false, MaxServerWait, "server answered 429", false},
		{"503 retry-after 2 minutes", retryAfter(503, "120"), false, 2 * time.Minute, "server answered 503", false},
		{"429 retry-after 30s is slept", retryAfter(429, "30"), false, 0, "", true},
		{"24-hour user limit", spent("x-user-limit-24hour", 5*time.Hour), true, 5*time.Hour + resetSlack, "24-hour user limit used up", false},
		{"24-hour app limit", spent("x-app-limit-24hour", 20*time.Hour), true, 20*time.Hour + resetSlack, "24-hour app limit used up", false},
		{"15-minute window", spent("x-rate-limit", 15*time.Minute), true, 15*time.Minute + resetSlack, "rate-limit window used up", false},
		{"reset 292 years ahead", func(w http.ResponseWriter, now time.Time) {
			w.Header().Set("x-rate-limit-remaining", "0")
			w.Header().Set("x-rate-limit-reset", "9223372036854775807")
			w.WriteHeader(http.StatusNoContent)
		}, true, MaxServerWait, "rate-limit window used up", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				answered := false
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op != "APPEND" || answered || !strings.Contains(r.Header.Get("Content-Type"), "multipart") {
						return false
					}
					answered = true
					if tt.passes {
						// The segment is stored; the answer carries the spent budget.
						rec := &headerOnly{ResponseWriter: w}
						f.ServeHTTPNoHook(rec, r)
						tt.answer(w, time.Now())
						return true
					}
					tt.answer(w, time.Now())
					return true
				}
				var waits retryLog
				c := f.newClient(Options{ChunkSize: 1000, ChunkParallelism: 1, OnWait: func(op string, d time.Duration) { waits.add(op, 0, nil, d) }})
				data := testBytes(3000, 44)
				m := Media{Name: "v.mp4", Size: 3000, Type: "video/mp4"}
				var saved Progress
				start := time.Now()
				res, err := c.Upload(t.Context(), bytes.NewReader(data), m, func(p Progress) { saved = p })
				if tt.wait == 0 {
					if err != nil || time.Since(start) != 30*time.Second {
						t.Fatalf("Upload = %v after %v; want success after sleeping 30s", err, time.Since(start))
					}
					return
				}
				var we *WaitError
				if !errors.As(err, &we) || IsPermanent(err) || IsAuth(err) || we.Op != "APPEND" || !strings.Contains(we.Reason, tt.reason) {
					t.Fatalf("Upload = %v (%T); want a *WaitError for APPEND saying %q, not permanent", err, err, tt.reason)
				}
				if got := we.Until.Sub(start); time.Since(start) != 0 || got != tt.wait {
					t.Errorf("returned after %v with Until = start+%v; want at once with start+%v", time.Since(start), got, tt.wait)
				}
				if len(waits.all()) != 0 {
					t.Errorf("OnWait called %v for a wait not slept", waits.all())
				}
				wantAcked := 0
				if tt.passes {
					wantAcked = 1
				}
				if len(saved.Acked) != wantAcked || saved.MediaID == "" {
					t.Fatalf("saved progress %+v, want %d segment(s) acked", saved, wantAcked)
				}
				// The caller reschedules the file at Until and resumes it: on the same media id
				// unless the wait outlived it (media ids live 24 hours).
				time.Sleep(time.Until(we.Until))
				sameID := time.Until(saved.ExpiresAt) > expiryMargin
				res, err = c.Resume(t.Context(), bytes.NewReader(data), m, saved, nil)
				if err != nil || (res.MediaIDString == saved.MediaID) != sameID || !bytes.Equal(f.get(res.MediaIDString).data, data) {
					t.Errorf("Resume after the wait = %+v, %v; want the file's bytes, on the same media id: %v", res, err, sameID)
				}
			})
		})
	}
}

// headerOnly lets the fake store a segment and drops its answer, so that
// the test writes its own.
type headerOnly struct{ http.ResponseWriter }

func (h *headerOnly) Header() http.Header         { return http.Header{} }
func (h *headerOnly) WriteHeader(int)             {}
func (h *headerOnly) Write(b []byte) (int, error) { return len(b), nil }
