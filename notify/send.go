package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mediasync/mediasync/hook"
)

// send makes one delivery attempt of body to t. It returns the wait the receiver asked for
// (Retry-After), whether retrying is pointless, and the error; errors name neither the URL's path
// or query nor any header value.
func (n *Notifier) send(ctx context.Context, t *target, body []byte) (retryAfter time.Duration, permanent bool, err error) {
	if t.URL == "" {
		res := hook.Exec(ctx, t.Command, hook.Input{Stdin: body})
		switch res.Status {
		case hook.Done:
			return 0, false, nil
		case hook.Canceled:
			return 0, false, context.Cause(ctx)
		}
		return 0, false, errors.New(res.Summary())
	}
	rctx, cancel := context.WithTimeout(ctx, t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, t.URL, bytes.NewReader(body))
	if err != nil {
		return 0, true, errors.New("invalid webhook URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mediasync-notify/1")
	for k, v := range t.Headers {
		req.Header.Set(k, v)
	}
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		if ctx.Err() == nil && rctx.Err() != nil {
			return 0, false, fmt.Errorf("no answer within %s", t.Timeout)
		}
		// *url.Error quotes the whole URL; keep only what went wrong.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, false, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return 0, false, nil
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		return parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), false, fmt.Errorf("HTTP %d", code)
	case code >= 300 && code < 400:
		return 0, true, fmt.Errorf("HTTP %d: redirects are not followed; configure the URL it redirects to", code)
	}
	return 0, true, fmt.Errorf("HTTP %d", code)
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3).
// It returns 0 when the header is absent, invalid or in the past.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, int64(24*time.Hour/time.Second))) * time.Second
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}
