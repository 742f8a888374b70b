package agent

import (
	"context"
	"sync"
	"time"
)

// authGate pauses every worker after a credentials failure. When the pause ends, one worker probes
// (processes one file); the others wait for its verdict, so bad credentials cost one request per
// pause, not one per file. Pauses double up to maxAuthPause.
type authGate struct {
	base time.Duration

	mu      sync.Mutex
	paused  bool
	probing bool
	until   time.Time
	delay   time.Duration
	changed chan struct{} // closed and replaced on every state change
}

const maxAuthPause = 15 * time.Minute

// wait blocks while uploads are paused. It returns ok=false when ctx is done, and probe=true when
// the caller is the one worker allowed through to test the credentials: it must then call endProbe
// after its job.
func (g *authGate) wait(ctx context.Context) (ok, probe bool) {
	for {
		g.mu.Lock()
		if !g.paused {
			g.mu.Unlock()
			return true, false
		}
		d := time.Until(g.until)
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

// failed records a credentials failure. It returns whether this started a pause (log it then) and
// how long the pause lasts.
func (g *authGate) failed() (first bool, pause time.Duration) {
	g.mu.Lock()
	defer g.mu.Unlock()
	first = !g.paused
	if first {
		g.delay = g.base
	} else if g.probing {
		g.delay = min(g.delay*2, maxAuthPause)
	}
	g.paused, g.probing = true, false
	g.until = time.Now().Add(g.delay)
	g.notify()
	return first, g.delay
}

// succeeded records that a request authenticated. It returns whether a pause ended.
func (g *authGate) succeeded() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	was := g.paused
	g.paused, g.probing = false, false
	if was {
		g.notify()
	}
	return was
}

// endProbe is called when a probing worker finished without a verdict (its file needed no request):
// the next worker probes at once.
func (g *authGate) endProbe() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.probing {
		g.probing = false
		g.notify()
	}
}

func (g *authGate) ch() chan struct{} {
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	return g.changed
}

func (g *authGate) notify() {
	if g.changed != nil {
		close(g.changed)
	}
	g.changed = make(chan struct{})
}
