package emulator

import (
	"net/http"
	"strconv"
	"time"
)

// bucket is one rate-limit budget.
type bucket struct {
	limit     int
	remaining int
	reset     time.Time
}

// limitState is what the x-rate-limit-* headers of an answer say.
type limitState struct {
	limit, remaining int
	reset            time.Time
}

// budget is a real per-endpoint default (API.md §1.9, §4.3).
type budget struct {
	limit  int
	window time.Duration
}

var budgets = map[string]budget{
	// v1.1, observed in recorded responses; 1-hour windows.
	"v1.1 upload image": {415, time.Hour}, // simple upload and INIT of an image
	"v1.1 upload video": {200, time.Hour}, // INIT of a video
	"v1.1 append":       {20000, time.Hour},
	"v1.1 finalize":     {615, time.Hour},
	"v1.1 status":       {1000, 15 * time.Minute}, // never recorded; v2's number
	"v1.1 metadata":     {2000, time.Hour},
	"v1.1 verify":       {75, 15 * time.Minute},
	"v2 upload":         {500, 15 * time.Minute},
	"v2 status":         {1000, 15 * time.Minute},
	"v2 initialize":     {1875, 15 * time.Minute},
	"v2 append":         {1875, 15 * time.Minute},
	"v2 finalize":       {1875, 15 * time.Minute},
	"v2 metadata":       {500, 15 * time.Minute},
	"v2 users me":       {75, 15 * time.Minute},
	"v1.1 unknown":      {1000, 15 * time.Minute},
	"v2 unknown":        {1000, 15 * time.Minute},
}

func (s *Server) budgetFor(name string) budget {
	b, ok := budgets[name]
	if !ok {
		b = budget{1000, 15 * time.Minute}
	}
	if s.faults.RateLimit > 0 {
		b.limit = s.faults.RateLimit
	}
	if s.faults.RateWindow > 0 {
		b.window = s.faults.RateWindow
	}
	return b
}

// take spends one request of the named budget and sets the rate-limit
// headers; when the budget is spent it answers 429 code 88 and returns false.
func (c *call) take(name string) bool {
	s := c.s
	now := s.now()
	s.mu.Lock()
	b := s.buckets[name]
	if b == nil || !now.Before(b.reset) {
		bd := s.budgetFor(name)
		b = &bucket{limit: bd.limit, remaining: bd.limit, reset: now.Add(bd.window)}
		s.buckets[name] = b
	}
	ok := b.remaining > 0
	if ok {
		b.remaining--
	}
	c.limit = &limitState{limit: b.limit, remaining: b.remaining, reset: b.reset}
	s.mu.Unlock()
	if !ok {
		c.errorCode(http.StatusTooManyRequests, 88, "Rate limit exceeded")
	}
	return ok
}

// setHeaders sets the x-rate-limit-* headers; a nil state (an answer that
// never reached an endpoint's budget) sets none.
func (l *limitState) setHeaders(h http.Header) {
	if l == nil {
		return
	}
	h.Set("x-rate-limit-limit", strconv.Itoa(l.limit))
	h.Set("x-rate-limit-remaining", strconv.Itoa(l.remaining))
	h.Set("x-rate-limit-reset", strconv.FormatInt(l.reset.Unix(), 10))
}
