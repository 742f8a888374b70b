package uploader

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mediasync/mediasync/internal/backoff"
)

const (
	// maxBody caps how much of any answer is read; X's JSON answers are a
	// few hundred bytes.
	maxBody = 1 << 20
	// maxThrottled caps consecutive 429 answers for one request. They do not
	// count against MaxAttempts: each one comes with the time to wait.
	maxThrottled = 50
	// baseBackoff is the first backoff step; step n waits up to base·2ⁿ⁻¹.
	baseBackoff = 500 * time.Millisecond
)

// attempt is one try of one request: its context (cancelled by the stall
// watchdog), the watchdog, and the first error met reading the media file.
type attempt struct {
	ctx    context.Context
	wd     *watchdog
	srcErr atomic.Pointer[error]
}

func (a *attempt) sourceErr() error {
	if p := a.srcErr.Load(); p != nil {
		return *p
	}
	return nil
}

// watchdog cancels an attempt that made no progress for d. Progress is any
// byte of the request body sent or of the answer received; time spent
// waiting for the bandwidth limiter does not count as a stall.
type watchdog struct {
	d       time.Duration
	last    atomic.Int64 // unix nanos of the last progress
	paused  atomic.Int32
	stopped atomic.Bool
	t       *time.Timer
}

func newWatchdog(d time.Duration, cancel context.CancelCauseFunc) *watchdog {
	w := &watchdog{d: d}
	w.kick()
	w.t = time.AfterFunc(d, func() { w.fire(cancel) })
	return w
}

func (w *watchdog) fire(cancel context.CancelCauseFunc) {
	if w.stopped.Load() {
		return
	}
	idle := time.Duration(time.Now().UnixNano() - w.last.Load())
	if w.paused.Load() > 0 || idle < w.d {
		w.t.Reset(max(w.d-idle, time.Millisecond))
		return
	}
	cancel(ErrStalled)
}

func (w *watchdog) kick() { w.last.Store(time.Now().UnixNano()) }

func (w *watchdog) pause() { w.paused.Add(1) }

func (w *watchdog) resume() {
	w.kick()
	w.paused.Add(-1)
}

func (w *watchdog) stop() {
	w.stopped.Store(true)
	w.t.Stop()
}

// progressReader kicks the watchdog for every byte read.
type progressReader struct {
	r  io.Reader
	wd *watchdog
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.wd.kick()
	}
	return n, err
}

// reqFunc builds a fresh request for one attempt. Every attempt gets a new
// *http.Request, so the authenticating transport signs it anew (fresh nonce
// and timestamp), and a new body read from the file.
type reqFunc func(a *attempt) (*http.Request, error)

// do is the one retry loop of the client. It sends newReq's request until it
// gets a 2xx answer, a permanent error, runs out of attempts, or ctx ends.
// Before each attempt it waits for the endpoint's rate-limit budget. A 2xx
// body is decoded into v when v is not nil (APPEND passes nil: its bodies are
// never decoded). Context errors are returned untouched.
func (c *Client) do(ctx context.Context, op string, newReq reqFunc, v any) error {
	return c.doIn(ctx, op, op, newReq, v)
}

// doIn is do for a request whose rate-limit budget is not its op's own:
// bucket names the budget (v1.1 INIT of an image shares the simple upload's,
// a video INIT has its own).
func (c *Client) doIn(ctx context.Context, op, bucket string, newReq reqFunc, v any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	failures, throttled := 0, 0
	for {
		if err := c.limits.wait(ctx, op, bucket, c.opts.MaxInlineWait, func(d time.Duration) {
			if c.opts.OnWait != nil {
				c.log.Debug().Str("op", op).Dur("retry_in", d).Msg("rate limit budget used up, waiting for the window to reset")
				c.opts.OnWait(op, d)
				return
			}
			c.log.Info().Str("op", op).Dur("retry_in", d).Msg("rate limit budget used up, waiting for the window to reset")
		}); err != nil {
			return err
		}
		err := c.try(ctx, op, bucket, newReq, v)
		if err == nil {
			return nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if _, refused := AccountRefusal(err); refused || errors.Is(err, ErrSource) || IsPermanent(err) {
			// (An account refusal is not permanent for the file, but asking
			// again at once cannot help: the caller pauses and probes.)
			return err
		}
		var ae *APIError
		isAPI := errors.As(err, &ae)
		if isAPI && ae.RetryAfter > c.opts.MaxInlineWait {
			// The server asks for a long wait (a spent budget, Retry-After):
			// the caller reschedules instead of holding this goroutine.
			reason := fmt.Sprintf("server answered %d with a wait of %v", ae.StatusCode, ae.RetryAfter.Round(time.Second))
			return &WaitError{Op: op, Until: time.Now().Add(ae.RetryAfter), Reason: reason, err: err}
		}
		transportWait := transportRetryAfter(err)
		if transportWait > c.opts.MaxInlineWait {
			reason := fmt.Sprintf("the authorising transport cannot try again for %v", transportWait.Round(time.Second))
			return &WaitError{Op: op, Until: time.Now().Add(transportWait), Reason: reason, err: err}
		}
		var wait time.Duration
		if isAPI && ae.StatusCode == http.StatusTooManyRequests {
			throttled++
			if throttled >= maxThrottled {
				return fmt.Errorf("%s: still rate limited after %d attempts: %w", opName(op), throttled, err)
			}
			wait = ae.RetryAfter
			if wait <= 0 {
				wait = c.backoff(throttled)
			}
		} else {
			failures++
			if failures >= c.opts.MaxAttempts {
				if failures == 1 {
					return err
				}
				return fmt.Errorf("%s: giving up after %d attempts: %w", opName(op), failures, err)
			}
			wait = c.backoff(failures)
			if isAPI && ae.RetryAfter > 0 {
				wait = ae.RetryAfter
			}
			if transportWait > 0 {
				wait = transportWait
			}
		}
		attemptNo := failures + throttled
		if c.opts.OnRetry != nil {
			// The caller reports retries; logging them too would say it twice.
			c.log.Debug().Str("op", op).Int("attempt", attemptNo).Dur("retry_in", wait).Err(err).Msg("request failed, retrying")
			c.opts.OnRetry(op, attemptNo, err, wait)
		} else {
			c.log.Warn().Str("op", op).Int("attempt", attemptNo).Dur("retry_in", wait).Err(err).Msg("request failed, retrying")
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// retryAter is a transport error that says when trying again can help: the
// auth package's *RefreshError (the OAuth 2.0 token endpoint failed; the
// transport makes no token request before RetryAt, a backoff shared by the
// whole process). The transport does not retry; this loop does, and waits
// for RetryAt rather than spend attempts on requests that cannot get a token.
type retryAter interface{ RetryAt() time.Time }

// transportRetryAfter is how long err's transport asks to wait before the
// next attempt (capped at MaxServerWait); 0 if it does not say.
func transportRetryAfter(err error) time.Duration {
	var ra retryAter
	if !errors.As(err, &ra) {
		return 0
	}
	return min(max(time.Until(ra.RetryAt()), 0), MaxServerWait)
}

// backoff is exponential with full jitter: uniform in [0, min(MaxBackoff,
// base·2ⁿ⁻¹)], so that parallel segments and files do not retry in lockstep.
func (c *Client) backoff(n int) time.Duration {
	if c.opts.MaxBackoff <= 0 {
		return 0
	}
	return backoff.Policy{Base: baseBackoff, Max: c.opts.MaxBackoff}.Delay(n)
}

// try makes one attempt: send, read at most maxBody of the answer, drain and
// close the body (here, not in a defer, so nothing piles up across
// attempts), classify.
func (c *Client) try(ctx context.Context, op, bucket string, newReq reqFunc, v any) error {
	actx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	a := &attempt{ctx: actx}
	if c.opts.RequestTimeout > 0 {
		a.wd = newWatchdog(c.opts.RequestTimeout, cancel)
		defer a.wd.stop()
	}
	req, err := newReq(a)
	if err != nil {
		return fmt.Errorf("%s: build request: %w", opName(op), err)
	}
	req = req.WithContext(actx)
	started := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(ctx, actx, op, a, err)
	}
	var body io.Reader = io.LimitReader(resp.Body, maxBody)
	if a.wd != nil {
		body = &progressReader{r: body, wd: a.wd}
	}
	data, readErr := io.ReadAll(body)
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	now := time.Now()
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusTooManyRequests {
		// Only answers that went through the endpoint's budget describe it: an error from a
		// proxy, an auth layer or a fault may carry another bucket's headers.
		c.limits.update(bucket, resp.Header, now)
	}
	c.log.Debug().Str("op", op).Int("status", resp.StatusCode).Int("bytes", len(data)).Dur("duration", now.Sub(started)).Msg("request done")
	if src := a.sourceErr(); src != nil {
		// Whatever the server made of a truncated body, the file is the problem.
		return fmt.Errorf("%s: %w", opName(op), src)
	}

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		ae := &APIError{
			Op:         op,
			StatusCode: resp.StatusCode,
			Permanent:  permanentStatus(resp.StatusCode),
			RetryAfter: retryAfter(resp.Header, now),
		}
		ae.fill(data)
		if _, refused := ae.refusal(); refused {
			ae.Permanent = false // the account's state, not the file's fault
		}
		if resp.StatusCode == http.StatusRequestEntityTooLarge && (op == "INIT" || op == "UPLOAD") {
			// A refusal of the file's size. A 413 for an APPEND is X's edge
			// refusing the segment's size (API.md §4.2): see appendAdaptive.
			ae.err = ErrTooLarge
		}
		return ae
	}
	if readErr != nil {
		return c.transportError(ctx, actx, op, a, readErr)
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		// A 2xx that is not the JSON we expect (a captive portal, a proxy):
		// worth another try, not a reason to give up on the file.
		return &APIError{Op: op, StatusCode: resp.StatusCode, Message: "undecodable answer: " + err.Error()}
	}
	return nil
}

// transportError classifies an error from sending a request or reading its
// answer: the caller's cancellation passes through untouched; a stall, a
// file read error and network errors are wrapped; the URL (which may carry
// a query string) is never part of the message, but the host is kept for
// [NetworkProblem].
func (c *Client) transportError(ctx, actx context.Context, op string, a *attempt, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if src := a.sourceErr(); src != nil {
		return fmt.Errorf("%s: %w", opName(op), src)
	}
	host := c.host()
	if errors.Is(context.Cause(actx), ErrStalled) {
		return fmt.Errorf("%s: no progress for %v: %w", opName(op), c.opts.RequestTimeout, &hostError{host, ErrStalled})
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		return &APIError{Op: op, Message: "tls certificate of " + host + " not accepted", Permanent: true, err: &hostError{host, cve}}
	}
	return fmt.Errorf("%s: %w", opName(op), &hostError{host, err})
}

// opName is the operation as written in error messages.
func opName(op string) string { return strings.ToLower(op) }
