package uploader

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors. They are always wrapped with detail; test with [errors.Is].
var (
	// ErrProcessingFailed: the server could not process the media (STATUS said
	// failed, or carried an error object). Permanent: the same bytes fail again.
	ErrProcessingFailed = errors.New("media processing failed")
	// ErrUnsupported: the media type or category is not one X accepts, they
	// do not fit together, or a video is longer than its category allows
	// (X's UnsupportedMedia). Permanent.
	ErrUnsupported = errors.New("unsupported media")
	// ErrTooLarge: the file is over the size limit of its category, or needs
	// more than 1000 segments. Permanent.
	ErrTooLarge = errors.New("media too large")
	// ErrEmpty: the file has no bytes. Permanent.
	ErrEmpty = errors.New("empty media")
	// ErrInvalid: the media description or the client options are invalid
	// (alt text too long, a bad additional owner, a chunk size over the
	// protocol's limit). Permanent for the file; fix the input or the config.
	ErrInvalid = errors.New("invalid upload request")
	// ErrProcessingTimeout: processing did not finish within
	// Options.ProcessingTimeout. Not permanent: the upload may be tried again.
	ErrProcessingTimeout = errors.New("media processing timed out")
	// ErrStalled: a request made no progress for Options.RequestTimeout and
	// was abandoned. Retried inside the client; returned only when attempts
	// run out. Not permanent.
	ErrStalled = errors.New("request stalled")
	// ErrSource: the file could not be read, or changed size while being
	// uploaded. Not retried by the client; not permanent (the file is
	// probably still being written).
	ErrSource = errors.New("media source unreadable or changed")
)

// APIError is an error answer from the X API (or a processing failure
// reported by STATUS). It is the one typed error of this package.
type APIError struct {
	Op         string        // "INIT", "APPEND", "FINALIZE", "STATUS", "UPLOAD", "METADATA", "VERIFY"
	StatusCode int           // HTTP status; 200 for a processing failure reported by STATUS
	Code       int           // X error code (e.g. 88 rate limit, 131 internal error); 0 if none
	Name       string        // error name when given (e.g. "InvalidMedia")
	Title      string        // RFC 7807 problem title (v2), e.g. "Invalid Request"
	Type       string        // RFC 7807 problem type (v2), e.g. "https://api.twitter.com/2/problems/client-forbidden"
	Message    string        // human-readable message (X message, problem detail or legacy error)
	RetryAfter time.Duration // from Retry-After or x-rate-limit-reset; 0 if unknown
	Permanent  bool          // retrying the same request cannot succeed

	err error // sentinel this error also matches (ErrProcessingFailed, ErrTooLarge)
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(e.Op))
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": http %d", e.StatusCode)
	}
	if e.Code != 0 {
		fmt.Fprintf(&b, ": code %d", e.Code)
	}
	if e.Name != "" {
		fmt.Fprintf(&b, ": %s", e.Name)
	}
	switch {
	case e.Message != "" && e.Title != "" && e.Title != e.Message:
		fmt.Fprintf(&b, ": %s: %s", e.Title, e.Message)
	case e.Message != "":
		fmt.Fprintf(&b, ": %s", e.Message)
	case e.Title != "":
		fmt.Fprintf(&b, ": %s", e.Title)
	}
	if e.err != nil {
		fmt.Fprintf(&b, " (%v)", e.err)
	}
	return b.String()
}

// Unwrap lets errors.Is match the sentinel the error stands for, if any.
func (e *APIError) Unwrap() error { return e.err }

// IsPermanent reports whether err cannot be cured by trying again later:
// 400/403/404/413 and other 4xx answers (except 408 and 429),
// ErrProcessingFailed, ErrUnsupported, ErrTooLarge, ErrEmpty and ErrInvalid.
// Account refusals ([AccountRefusal]: 401, 402, the 403s about the
// credentials), 429, 5xx, network errors, stalls, timeouts, waits
// ([*WaitError]) and context errors are not.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if _, ok := AccountRefusal(err); ok {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Permanent
	}
	for _, s := range []error{ErrProcessingFailed, ErrUnsupported, ErrTooLarge, ErrEmpty, ErrInvalid} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// IsAuth reports whether err is an account-level refusal (see
// [AccountRefusal]): the agent reports it once and pauses, instead of failing
// every file.
func IsAuth(err error) bool {
	_, ok := AccountRefusal(err)
	return ok
}

// MaxServerWait caps every wait the server asks for (Retry-After,
// x-rate-limit-reset, the 24-hour resets): "Retry-After: 315360000" or a
// reset years ahead is a broken or hostile answer, not a reason to stop
// for ten years (issue 17.3).
const MaxServerWait = 24 * time.Hour

// WaitError says that the server asked for a wait longer than
// Options.MaxInlineWait before Op can go on: a rate-limit budget (15-minute
// or 24-hour) is used up, or a 429 or 503 came with Retry-After. The call
// returns instead of holding its goroutine; progress reported so far stays
// valid for [Client.Resume]. The caller schedules the file at Until (without
// counting a failed attempt). It is not permanent.
type WaitError struct {
	Op     string    // the request that must wait, as in APIError.Op
	Until  time.Time // when it may be sent again (at most MaxServerWait ahead)
	Reason string    // why, e.g. "24-hour user limit used up"

	err error // the answer that asked for the wait, if any
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("%s: must wait until %s: %s", opName(e.Op), e.Until.Format(time.RFC3339), e.Reason)
}

// Unwrap returns the answer that asked for the wait (an *APIError), if any.
func (e *WaitError) Unwrap() error { return e.err }

// permanentStatus classifies an HTTP status: 4xx are permanent except 408
// (request timeout) and 429 (rate limited); everything else is retryable.
func permanentStatus(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}

// errorBody covers every error shape X is known to send (API.md §1.8, §4.2):
// {"errors":[{"code":32,"message":"…"}]}, {"errors":["internal server error"]},
// {"request":"…","error":"…"}, RFC 7807 problems with title/detail, and a
// processing_info.error object.
type errorBody struct {
	Errors []json.RawMessage `json:"errors"`
	Error  json.RawMessage   `json:"error"`
	Title  string            `json:"title"`
	Detail string            `json:"detail"`
	Type   string            `json:"type"`
}

type errorObject struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Title   string `json:"title"`
	Detail  string `json:"detail"`
}

// fill decodes body into e's Code/Name/Title/Message. Unknown or empty bodies
// leave the fields as they are; it never fails.
func (e *APIError) fill(body []byte) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		if !json.Valid(body) && len(body) <= 200 && isPrintable(body) {
			e.Message = string(body)
		}
		return
	}
	e.Title, e.Type = eb.Title, eb.Type
	if eb.Detail != "" {
		e.Message = eb.Detail
	}
	for _, raw := range eb.Errors {
		if e.applyErrorValue(raw) {
			break
		}
	}
	if e.Message == "" && e.Code == 0 && len(eb.Error) > 0 {
		e.applyErrorValue(eb.Error)
	}
}

// applyErrorValue fills e from an error entry that may be an object or a
// string; it reports whether it found anything.
func (e *APIError) applyErrorValue(raw json.RawMessage) bool {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if s == "" {
			return false
		}
		if e.Message == "" {
			e.Message = s
		}
		return true
	}
	var o errorObject
	if json.Unmarshal(raw, &o) != nil {
		return false
	}
	if o.Code == 0 && o.Name == "" && o.Message == "" && o.Detail == "" {
		return false
	}
	e.Code, e.Name = o.Code, o.Name
	switch {
	case o.Message != "":
		// An X message is more specific than a problem's generic detail.
		e.Message = o.Message
	case o.Detail != "" && e.Message == "":
		e.Message = o.Detail
	}
	if e.Title == "" {
		e.Title = o.Title
	}
	return true
}

func isPrintable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' {
			return false
		}
	}
	return true
}

// retryAfter extracts how long the server asks us to wait: Retry-After
// (seconds or HTTP date), else, when rate-limit budgets are exhausted, the
// latest of their resets relative to the server's Date. 0 when unknown;
// never more than MaxServerWait.
func retryAfter(h http.Header, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if secs, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
			// Capped before multiplying: a huge value must not overflow into a short wait.
			return time.Duration(min(secs, uint64(MaxServerWait/time.Second))) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return min(max(0, t.Sub(serverNow(h, now))), MaxServerWait)
		}
	}
	var wait time.Duration // the latest of the exhausted budgets (a 24-hour cap outlasts the window)
	for _, b := range parseBuckets(h) {
		if b.remaining == 0 && !b.reset.IsZero() {
			if d := b.reset.Sub(serverNow(h, now)); d > 0 {
				wait = max(wait, min(d, MaxServerWait-resetSlack)+resetSlack)
			}
		}
	}
	return wait
}

// serverNow returns the server's Date when present (so that a reset time is
// measured on the server's clock, whatever our skew), else now.
func serverNow(h http.Header, now time.Time) time.Time {
	if t, err := http.ParseTime(h.Get("Date")); err == nil {
		return t
	}
	return now
}
