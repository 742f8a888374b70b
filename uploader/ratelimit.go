package uploader

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// bucket is one rate-limit budget as the server reports it.
type bucket struct {
	prefix    string // header prefix, e.g. "x-rate-limit"
	remaining int
	reset     time.Time // absolute, from a Unix-seconds header
}

// resetSlack is added to every x-rate-limit-reset: the header has whole
// seconds (the window may really end up to a second later), and a request
// sent a moment early only earns a 429.
const resetSlack = time.Second

// bucketPrefixes are the budgets X reports: the 15-minute (v2) or 1-hour
// (v1.1) window, and the 24-hour app and user caps of v2.
var bucketPrefixes = []string{"x-rate-limit", "x-user-limit-24hour", "x-app-limit-24hour"}

// budgetNames say what each budget is, for messages.
var budgetNames = map[string]string{
	"x-rate-limit":        "rate-limit window",
	"x-user-limit-24hour": "24-hour user limit",
	"x-app-limit-24hour":  "24-hour app limit",
}

// maxUnixReset is 9999-12-31T23:59:59Z.
const maxUnixReset = 253402300799

// parseBuckets reads every budget present in h. A bucket needs both
// -remaining and -reset to be usable.
func parseBuckets(h http.Header) []bucket {
	var out []bucket
	for _, p := range bucketPrefixes {
		rem, err1 := strconv.Atoi(strings.TrimSpace(h.Get(p + "-remaining")))
		reset, err2 := strconv.ParseInt(strings.TrimSpace(h.Get(p+"-reset")), 10, 64)
		if err1 != nil || err2 != nil || rem < 0 || reset <= 0 {
			continue
		}
		// (A reset beyond year 9999 would overflow time.Time; it is capped anyway.)
		out = append(out, bucket{prefix: p, remaining: rem, reset: time.Unix(min(reset, maxUnixReset), 0)})
	}
	return out
}

// limiter tracks the per-endpoint budgets announced in x-rate-limit-* headers,
// so that requests wait for the window to reset instead of running into a
// 429. Each request reserves one unit before it is sent; an answer lowers the
// local count to the server's figure (never raises it within a window, since
// the answer may predate requests still in flight) and a new window replaces it.
type limiter struct {
	mu      sync.Mutex
	budgets map[string]map[string]*budget // endpoint → prefix → budget
}

type budget struct {
	remaining int
	reset     time.Time // on our clock
	window    time.Time // the reset as the server stated it, identifies the window
}

func newLimiter() *limiter {
	return &limiter{budgets: make(map[string]map[string]*budget)}
}

// reserve takes one unit of every known budget of endpoint, or returns how
// long to wait, and which budget (its header prefix) holds it up, when one
// is exhausted. Budgets whose window has passed are forgotten (the next
// answer tells the new figures).
func (l *limiter) reserve(endpoint string, now time.Time) (time.Duration, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	bs := l.budgets[endpoint]
	var wait time.Duration
	var by string
	for p, b := range bs {
		if !now.Before(b.reset) {
			delete(bs, p)
			continue
		}
		if d := b.reset.Sub(now); b.remaining <= 0 && d > wait {
			wait, by = d, p
		}
	}
	if wait > 0 {
		return wait, by
	}
	for _, b := range bs {
		b.remaining--
	}
	return 0, ""
}

// spent reports how long endpoint's known budgets stay used up: 0 when a
// request could be sent now (or nothing is known), else the time until the
// latest exhausted window resets. It reserves nothing.
func (l *limiter) spent(endpoint string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	var wait time.Duration
	for _, b := range l.budgets[endpoint] {
		if b.remaining <= 0 && now.Before(b.reset) {
			wait = max(wait, b.reset.Sub(now))
		}
	}
	return wait
}

// update records the budgets an answer for endpoint reported.
func (l *limiter) update(endpoint string, h http.Header, now time.Time) {
	bs := parseBuckets(h)
	if len(bs) == 0 {
		return
	}
	// Measure the reset on the server's clock, then place it on ours.
	skew := now.Sub(serverNow(h, now))
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.budgets[endpoint]
	if m == nil {
		m = make(map[string]*budget)
		l.budgets[endpoint] = m
	}
	for _, nb := range bs {
		reset := nb.reset.Add(skew + resetSlack)
		if !reset.After(now) {
			continue
		}
		if limit := now.Add(MaxServerWait); reset.After(limit) {
			reset = limit
		}
		b := m[nb.prefix]
		switch {
		case b == nil:
			m[nb.prefix] = &budget{remaining: nb.remaining, reset: reset, window: nb.reset}
		case nb.reset.After(b.window):
			// A new window.
			b.remaining, b.reset, b.window = nb.remaining, reset, nb.reset
		case nb.reset.Equal(b.window):
			b.remaining = min(b.remaining, nb.remaining)
		}
	}
}

// wait blocks until endpoint has budget for one more request, then reserves
// it; onWait is told of each wait. A wait longer than maxInline is not
// slept: wait returns a *WaitError for op instead. It returns ctx's error if
// ctx ends first.
func (l *limiter) wait(ctx context.Context, op, endpoint string, maxInline time.Duration, onWait func(time.Duration)) error {
	for {
		now := time.Now()
		d, by := l.reserve(endpoint, now)
		if d <= 0 {
			return nil
		}
		if d > maxInline {
			return &WaitError{Op: op, Until: now.Add(d), Reason: budgetNames[by] + " used up"}
		}
		if onWait != nil {
			onWait(d)
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// sleep waits d or until ctx ends, returning ctx's error in that case.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
