package hook

import (
	"time"

	"github.com/mediasync/mediasync/internal/backoff"
	"github.com/mediasync/mediasync/manifest"
)

// Defaults of [Policy]'s zero values.
const (
	DefaultMaxAttempts = 5
	DefaultBaseDelay   = 30 * time.Second
	DefaultMaxDelay    = time.Hour
)

// Policy is the retry policy of on_upload commands: up to MaxAttempts runs, the n-th retry after a
// delay drawn uniformly from [0, min(MaxDelay, BaseDelay·2^(n-1))) ("full jitter"), then failed.
// With the defaults the retries come within 30 s, 1 m, 2 m and 4 m of the previous failure (on
// average half that), and a hook that never succeeds is failed some 4 minutes after the upload.
// The zero value is the default policy.
type Policy struct {
	MaxAttempts int           // runs in all, the first included; 0 = DefaultMaxAttempts
	BaseDelay   time.Duration // 0 = DefaultBaseDelay
	MaxDelay    time.Duration // 0 = DefaultMaxDelay
}

func (p Policy) maxAttempts() int { return orDefault(p.MaxAttempts, DefaultMaxAttempts) }

// Delay returns the wait before the next run after attempts failed runs (attempts ≥ 1), for a
// jitter u in [0, 1) (rand.Float64()).
func (p Policy) Delay(attempts int, u float64) time.Duration {
	d := backoff.Policy{Base: orDefault(p.BaseDelay, DefaultBaseDelay), Max: orDefault(p.MaxDelay, DefaultMaxDelay)}.Ceiling(attempts)
	u = min(max(u, 0), 1)
	return time.Duration(u * float64(d))
}

// Pending is the hook state the agent records together with the upload (the same Put that stores
// state uploaded): the command is yet to run.
func Pending() *manifest.HookState {
	return &manifest.HookState{State: manifest.HookPending}
}

// Next returns the hook state after a run that ended with r at time now, given the state before
// it; u in [0, 1) is the jitter of the backoff.
//
//   - Done: state done, DoneAt now, LastError cleared.
//   - Failed: one more attempt and LastError = r.Summary(); pending again at now + Delay when
//     attempts remain, else failed (no NextAttemptAt).
//   - Canceled (the agent stopped): prev unchanged; the run counts no attempt and the hook stays
//     due, so it runs again at the next start.
func (p Policy) Next(prev manifest.HookState, r Result, now time.Time, u float64) manifest.HookState {
	switch r.Status {
	case Done:
		return manifest.HookState{State: manifest.HookDone, Attempts: prev.Attempts + 1, DoneAt: now.UTC()}
	case Canceled:
		return prev
	}
	next := manifest.HookState{State: manifest.HookFailed, Attempts: prev.Attempts + 1, LastError: r.Summary()}
	if next.LastError == "" {
		next.LastError = "failed"
	}
	if next.Attempts < p.maxAttempts() {
		next.State = manifest.HookPending
		next.NextAttemptAt = now.Add(p.Delay(next.Attempts, u)).UTC()
	}
	return next
}

// Due reports whether the hook of an entry is to run at time now: it is pending and its next
// attempt time, if any, has come. A nil state (no hook) is never due.
func Due(h *manifest.HookState, now time.Time) bool {
	return h != nil && h.State == manifest.HookPending && !h.NextAttemptAt.After(now)
}

// Retry returns the state for `mediasync retry --hooks`: pending now, with a fresh set of
// attempts; LastError is kept until the next run replaces it.
func Retry(h manifest.HookState) manifest.HookState {
	return manifest.HookState{State: manifest.HookPending, LastError: h.LastError}
}
