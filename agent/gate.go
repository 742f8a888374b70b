package agent

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mediasync/mediasync/internal/backoff"
	"github.com/mediasync/mediasync/uploader"
)

// gate pauses every worker while X refuses the account (credentials, scope, credits, a revoked
// grant). When a pause ends, one worker probes (one harmless request, session.probe); the others
// wait for its verdict, so a refusal costs one request per pause, not one per file. Pauses grow with
// full jitter from AuthRetry up to maxAuthPause, except for a revoked OAuth 2.0 login, whose probe
// costs no request until the token file changes (`mediasync auth login`): it is probed every few
// seconds, so a new login is picked up at once.
type gate struct {
	now    func() time.Time
	policy backoff.Policy

	mu       sync.Mutex
	paused   bool
	probing  bool
	until    time.Time
	failures int   // refusals since the pause began
	cause    error // the refusal that began the pause
	since    time.Time
	changed  chan struct{} // closed and replaced on every state change
}

const (
	maxAuthPause = 15 * time.Minute
	loginPause   = 3 * time.Second
)

func newGate(now func() time.Time, first time.Duration) *gate {
	return &gate{now: now, policy: backoff.Policy{Base: first, Max: maxAuthPause, Min: first}}
}

// wait blocks while uploads are paused. It returns ok=false when ctx is done, and probe=true when
// the caller is the one worker allowed through to test the account (session.probe): its verdict
// ends with accepted, refused, or endProbe when it has none.
func (g *gate) wait(ctx context.Context) (ok, probe bool) {
	for {
		g.mu.Lock()
		if !g.paused {
			g.mu.Unlock()
			return true, false
		}
		d := g.until.Sub(g.now())
		if !g.probing && d <= 0 {
			g.probing = true
			g.mu.Unlock()
			return true, true
		}
		ch, probing := g.ch(), g.probing
		g.mu.Unlock()
		var t *time.Timer
		var tc <-chan time.Time
		if !probing {
			t = time.NewTimer(d)
			tc = t.C
		}
		select {
		case <-ctx.Done():
		case <-ch:
		case <-tc:
		}
		if t != nil {
			t.Stop()
		}
		if ctx.Err() != nil {
			return false, false
		}
	}
}

// refused records an account-level refusal. It returns whether this began a pause (say so then,
// once) and how long the pause lasts.
func (g *gate) refused(cause error) (first bool, pause time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	first = !g.paused
	if first {
		g.failures, g.since = 0, g.now()
	}
	if first || g.probing {
		g.failures++
	}
	pause = g.policy.Delay(g.failures)
	var pe *PauseError
	if errors.As(cause, &pe) && pe.Refusal == uploader.RefusalLoginRequired {
		pause = loginPause
	}
	g.cause = cause
	g.paused, g.probing = true, false
	g.until = g.now().Add(pause)
	g.notify()
	return first, pause
}

// accepted records that X answered a request without refusing the account. It returns whether a
// pause ended.
func (g *gate) accepted() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.paused
	g.paused, g.probing, g.cause = false, false, nil
	if was {
		g.notify()
	}
	return was
}

// endProbe is called when a probing worker finished without a verdict and the pause it probed
// ended meanwhile (an upload in flight since before the pause got through): nothing is left to do
// but let the next worker probe, should a new pause need it.
func (g *gate) endProbe() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.probing {
		g.probing = false
		g.notify()
	}
}

// state returns the pause, if any: its cause, since when, and when the next probe may go.
func (g *gate) state() (paused bool, cause error, since, next time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.paused, g.cause, g.since, g.until
}

func (g *gate) ch() chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

func (g *gate) notify() {
	if g.changed != nil {
		close(g.changed)
	}
	g.changed = make(chan struct{})
}
