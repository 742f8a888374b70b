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

// limitState is what the x-rate-limit-* headers of an answer say, and the
// x-app-limit-24hour-* and x-user-limit-24hour-* ones when the endpoint has
// daily budgets.
type limitState struct {
	limit, remaining int
	reset            time.Time
	app, user        *bucket // copies; nil without daily budgets
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

// dailyBudgets are v2's 24-hour caps per app, by endpoint (API.md §4.3, X's
// rate-limit table, 2026-01-16). X sends them as x-app-limit-24hour-* and
// x-user-limit-24hour-* headers (seen on v2 answers in many client fixtures)
// but documents no per-user 24-hour number for media: the emulator gives the
// user the app's. Endpoints not listed (users/me, v1.1) have none.
var dailyBudgets = map[string]int{
	"v2 upload":     50000,
	"v2 status":     100000,
	"v2 initialize": 180000,
	"v2 append":     180000,
	"v2 finalize":   180000,
	"v2 metadata":   50000,
}

// bucketLocked returns the named bucket, starting a new window when there is
// none or its window has ended. The caller holds s.mu.
func (s *Server) bucketLocked(key string, now time.Time, bd budget) *bucket {
	b := s.buckets[key]
	if b == nil || !now.Before(b.reset) {
		b = &bucket{limit: bd.limit, remaining: bd.limit, reset: now.Add(bd.window)}
		s.buckets[key] = b
	}
	return b
}

// dailyFor returns the endpoint's per-app and per-user daily budgets
// (Faults.DailyAppLimit, DailyUserLimit and DailyWindow override them), and
// false when it has none. The caller holds s.mu.
func (s *Server) dailyFor(name string) (app, user budget, ok bool) {
	n, ok := dailyBudgets[name]
	if !ok {
		return budget{}, budget{}, false
	}
	app, user = budget{n, 24 * time.Hour}, budget{n, 24 * time.Hour}
	if f := s.faults; f.DailyWindow > 0 {
		app.window, user.window = f.DailyWindow, f.DailyWindow
	}
	if f := s.faults; f.DailyAppLimit > 0 {
		app.limit = f.DailyAppLimit
	}
	if f := s.faults; f.DailyUserLimit > 0 {
		user.limit = f.DailyUserLimit
	}
	return app, user, true
}

// take spends one request of the named budget (and of the endpoint's daily
// budgets, if any) and sets the rate-limit headers. When any of them is
// spent it spends none, answers 429 (v1.1 code 88; v2 a plain problem) with
// the headers, and returns false.
func (c *call) take(name string) bool {
	s := c.s
	now := s.now()
	s.mu.Lock()
	b := s.bucketLocked(name, now, s.budgetFor(name))
	var app, user *bucket
	if ab, ub, ok := s.dailyFor(name); ok {
		app = s.bucketLocked("24h app "+name, now, ab)
		user = s.bucketLocked("24h user "+name, now, ub)
	}
	ok := b.remaining > 0 && (app == nil || app.remaining > 0 && user.remaining > 0)
	if ok {
		b.remaining--
		if app != nil {
			app.remaining--
			user.remaining--
		}
	}
	c.limit = &limitState{limit: b.limit, remaining: b.remaining, reset: b.reset}
	if app != nil {
		a, u := *app, *user
		c.limit.app, c.limit.user = &a, &u
	}
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
	for _, d := range []struct {
		prefix string
		b      *bucket
	}{{"x-app-limit-24hour-", l.app}, {"x-user-limit-24hour-", l.user}} {
		if d.b != nil {
			h.Set(d.prefix+"limit", strconv.Itoa(d.b.limit))
			h.Set(d.prefix+"remaining", strconv.Itoa(d.b.remaining))
			h.Set(d.prefix+"reset", strconv.FormatInt(d.b.reset.Unix(), 10))
		}
	}
}
