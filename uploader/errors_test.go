package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestAPIErrorFill(t *testing.T) {
	tests := []struct {
		name                string
		body                string
		code                int
		errName, title, msg string
	}{
		{"v1.1 errors object", `{"errors":[{"code":32,"message":"Could not authenticate you."}]}`, 32, "", "", "Could not authenticate you."},
		{"errors as strings", `{"errors":["internal server error"]}`, 0, "", "", "internal server error"},
		{"legacy request/error", `{"request":"/1.1/media/upload.json","error":"media type unrecognized."}`, 0, "", "", "media type unrecognized."},
		{"problem json", `{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}`, 0, "", "Forbidden", "Forbidden"},
		{"v2 invalid request", `{"errors":[{"message":"Requests with bodies must have content-type of application/json."}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}`,
			0, "", "Invalid Request", "Requests with bodies must have content-type of application/json."},
		{"processing style error", `{"error":{"code":1,"name":"InvalidMedia","message":"Unsupported video format"}}`, 1, "InvalidMedia", "", "Unsupported video format"},
		{"rate limit", `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`, 88, "", "", "Rate limit exceeded"},
		{"empty", ``, 0, "", "", ""},
		{"html", `<html><body>bad gateway</body></html>`, 0, "", "", "<html><body>bad gateway</body></html>"},
		{"binary garbage", "\x00\x01\x02", 0, "", "", ""},
		{"errors of wrong type", `{"errors":42}`, 0, "", "", ""},
		{"json string", `"oops"`, 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e APIError
			e.fill([]byte(tt.body))
			if e.Code != tt.code || e.Name != tt.errName || e.Title != tt.title || e.Message != tt.msg {
				t.Errorf("fill(%q) = code %d name %q title %q message %q; want %d %q %q %q",
					tt.body, e.Code, e.Name, e.Title, e.Message, tt.code, tt.errName, tt.title, tt.msg)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	api := func(status, code int, title string) error {
		return fmt.Errorf("append segment 3: %w", &APIError{Op: "APPEND", StatusCode: status, Code: code, Title: title, Permanent: permanentStatus(status)})
	}
	tests := []struct {
		name            string
		err             error
		permanent, auth bool
	}{
		{"400", api(400, 0, ""), true, false},
		// Account refusals are the account's state, not the file's fault: not permanent.
		{"401 code 32", api(401, 32, ""), false, true},
		{"401 bare", api(401, 0, ""), false, true},
		{"403 forbidden problem", api(403, 0, "Forbidden"), false, true},
		{"403 code 89", api(403, 89, ""), false, true},
		{"403 code 326 locked", api(403, 326, ""), true, false},
		{"400 code 215", api(400, 215, ""), false, true},
		{"402", api(402, 0, "CreditsDepleted"), false, true},
		{"wait", &WaitError{Op: "INIT", Until: time.Now().Add(time.Hour), Reason: "24-hour user limit used up"}, false, false},
		{"wait after 429", &WaitError{Op: "INIT", err: api(429, 88, "")}, false, false},
		{"404", api(404, 0, ""), true, false},
		{"413", api(413, 0, ""), true, false},
		{"408", api(408, 0, ""), false, false},
		{"429", api(429, 88, ""), false, false},
		{"500", api(500, 131, ""), false, false},
		{"503", api(503, 130, ""), false, false},
		{"processing failed", &APIError{Op: "STATUS", StatusCode: 200, Permanent: true, err: ErrProcessingFailed}, true, false},
		{"unsupported", fmt.Errorf("prepare: %w", ErrUnsupported), true, false},
		{"too large", fmt.Errorf("prepare: %w", ErrTooLarge), true, false},
		{"empty", fmt.Errorf("prepare: %w", ErrEmpty), true, false},
		{"invalid", fmt.Errorf("prepare: %w", ErrInvalid), true, false},
		{"stalled", fmt.Errorf("append: %w", ErrStalled), false, false},
		{"processing timeout", fmt.Errorf("await: %w", ErrProcessingTimeout), false, false},
		{"source", fmt.Errorf("append: %w", ErrSource), false, false},
		{"network", fmt.Errorf("append: %w", io.ErrUnexpectedEOF), false, false},
		{"canceled", context.Canceled, false, false},
		{"nil", nil, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPermanent(tt.err); got != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", tt.err, got, tt.permanent)
			}
			if got := IsAuth(tt.err); got != tt.auth {
				t.Errorf("IsAuth(%v) = %v, want %v", tt.err, got, tt.auth)
			}
		})
	}
	if !errors.Is(&APIError{err: ErrProcessingFailed}, ErrProcessingFailed) {
		t.Error("APIError with processing failure does not match ErrProcessingFailed")
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	date := now.Add(-90 * time.Second) // server clock 90 s behind ours
	tests := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"7"}}, 7 * time.Second},
		{"http date", http.Header{"Retry-After": {date.Add(30 * time.Second).Format(http.TimeFormat)}, "Date": {date.Format(http.TimeFormat)}}, 30 * time.Second},
		{"reset on server clock", http.Header{
			"Date":                   {date.Format(http.TimeFormat)},
			"X-Rate-Limit-Remaining": {"0"},
			"X-Rate-Limit-Reset":     {strconv.FormatInt(date.Add(45*time.Second).Unix(), 10)},
		}, 45*time.Second + resetSlack},
		{"budget left", http.Header{"X-Rate-Limit-Remaining": {"3"}, "X-Rate-Limit-Reset": {strconv.FormatInt(now.Add(time.Minute).Unix(), 10)}}, 0},
		{"24h user cap", http.Header{"X-User-Limit-24hour-Remaining": {"0"}, "X-User-Limit-24hour-Reset": {strconv.FormatInt(now.Add(time.Hour).Unix(), 10)}}, time.Hour + resetSlack},
		{"24h app cap", http.Header{"X-App-Limit-24hour-Remaining": {"0"}, "X-App-Limit-24hour-Reset": {strconv.FormatInt(now.Add(20*time.Hour).Unix(), 10)}}, 20*time.Hour + resetSlack},
		// Every server-asked wait is capped at MaxServerWait (issue 17.3): no ten-year sleep, no overflow.
		{"ten years", http.Header{"Retry-After": {"315360000"}}, MaxServerWait},
		{"seconds overflowing Duration", http.Header{"Retry-After": {"9300000000"}}, MaxServerWait},
		{"seconds overflowing uint64", http.Header{"Retry-After": {"99999999999999999999999"}}, MaxServerWait},
		{"date in 2999", http.Header{"Retry-After": {"Tue, 01 Jan 2999 00:00:00 GMT"}}, MaxServerWait},
		{"reset years ahead", http.Header{"X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {"99999999999"}}, MaxServerWait},
		{"reset at max int64", http.Header{"X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {"9223372036854775807"}}, MaxServerWait},
		{"24h cap years ahead", http.Header{"X-User-Limit-24hour-Remaining": {"0"}, "X-User-Limit-24hour-Reset": {"9223372036854775807"}}, MaxServerWait},
		{"window and 24h cap both spent: the later", http.Header{
			"X-Rate-Limit-Remaining": {"0"}, "X-Rate-Limit-Reset": {strconv.FormatInt(now.Add(10*time.Minute).Unix(), 10)},
			"X-User-Limit-24hour-Remaining": {"0"}, "X-User-Limit-24hour-Reset": {strconv.FormatInt(now.Add(7*time.Hour).Unix(), 10)},
		}, 7*time.Hour + resetSlack},
		{"garbage", http.Header{"Retry-After": {"soon"}, "X-Rate-Limit-Reset": {"x"}}, 0},
		{"none", http.Header{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryAfter(tt.h, now); got != tt.want {
				t.Errorf("retryAfter(%v) = %v, want %v", tt.h, got, tt.want)
			}
		})
	}
}

func TestLimiterBudget(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	l := newLimiter()
	h := func(rem int, reset time.Time) http.Header {
		return http.Header{"X-Rate-Limit-Remaining": {strconv.Itoa(rem)}, "X-Rate-Limit-Reset": {strconv.FormatInt(reset.Unix(), 10)}}
	}
	reset := now.Add(time.Minute)
	if d, _ := l.reserve("APPEND", now); d != 0 {
		t.Fatalf("reserve with no budget known = %v, want 0", d)
	}
	l.update("APPEND", h(2, reset), now)
	for i := range 2 {
		if d, _ := l.reserve("APPEND", now); d != 0 {
			t.Fatalf("reserve %d = %v, want 0", i, d)
		}
	}
	if d, _ := l.reserve("APPEND", now); d != time.Minute+resetSlack {
		t.Fatalf("reserve after budget used = %v, want %v", d, time.Minute+resetSlack)
	}
	// spent tells the same without reserving; unknown endpoints are not spent.
	for i := range 2 {
		if d := l.spent("APPEND", now); d != time.Minute+resetSlack {
			t.Fatalf("spent %d = %v, want %v", i, d, time.Minute+resetSlack)
		}
	}
	if d := l.spent("UPLOAD", now); d != 0 {
		t.Fatalf("spent of an unknown budget = %v, want 0", d)
	}
	if d := l.spent("APPEND", reset.Add(resetSlack)); d != 0 {
		t.Fatalf("spent after the reset = %v, want 0", d)
	}
	// A stale answer from the same window cannot raise the budget.
	l.update("APPEND", h(5, reset), now)
	if d, _ := l.reserve("APPEND", now); d != time.Minute+resetSlack {
		t.Fatalf("reserve after stale answer = %v, want %v", d, time.Minute+resetSlack)
	}
	// Other endpoints are independent.
	if d, _ := l.reserve("FINALIZE", now); d != 0 {
		t.Fatalf("reserve FINALIZE = %v, want 0", d)
	}
	// Once the window has passed, requests go again.
	if d, _ := l.reserve("APPEND", reset.Add(resetSlack)); d != 0 {
		t.Fatalf("reserve at reset = %v, want 0", d)
	}
	// A new window replaces the budget.
	l.update("APPEND", h(0, reset.Add(time.Hour)), reset)
	if d, _ := l.reserve("APPEND", reset); d != time.Hour+resetSlack {
		t.Fatalf("reserve in new exhausted window = %v, want %v", d, time.Hour+resetSlack)
	}
}

// A budget whose reset is years ahead (or beyond time.Time) holds requests
// for at most MaxServerWait, and reserve says which budget it is.
func TestLimiterCapsReset(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	for _, reset := range []string{"99999999999", "9223372036854775807"} {
		for _, prefix := range bucketPrefixes {
			l := newLimiter()
			l.update("INIT", http.Header{http.CanonicalHeaderKey(prefix + "-remaining"): {"0"}, http.CanonicalHeaderKey(prefix + "-reset"): {reset}}, now)
			d, by := l.reserve("INIT", now)
			if d != MaxServerWait || by != prefix {
				t.Errorf("%s reset %s: reserve = %v, %q; want %v, %q", prefix, reset, d, by, MaxServerWait, prefix)
			}
		}
	}
}

// FuzzAPIErrorFill: any answer body decodes without panicking, and the
// result prints.
func FuzzAPIErrorFill(f *testing.F) {
	for _, s := range []string{
		`{"errors":[{"code":32,"message":"Could not authenticate you."}]}`,
		`{"errors":["internal server error"]}`,
		`{"request":"/1.1/media/upload.json","error":"media type unrecognized."}`,
		`{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}`,
		`{"errors":[null,{"code":"x"},[]],"error":{"code":1}}`,
		"", "\x00", "null",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e := &APIError{Op: "APPEND", StatusCode: 500}
		e.fill(body)
		_ = e.Error()
	})
}
