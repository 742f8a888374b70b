package uploader

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
)

// Every account refusal X sends, in X's shape (fakeX.refuse), is classified
// by AccountRefusal from the status and the problem's type or title; it is
// an auth error, not permanent for the file, and costs exactly one request
// (no retries): the caller pauses and probes.
func TestAccountRefusal(t *testing.T) {
	tests := []struct {
		refusal Refusal
		version string
	}{
		{RefusalUnauthorized, V2},
		{RefusalUnauthorized, V11},
		{RefusalUnsupportedAuth, V2},
		{RefusalClientForbidden, V2},
		{RefusalClientForbidden, V11},
		{RefusalMissingScope, V2},
		{RefusalMissingScope, V11},
		{RefusalCreditsDepleted, V2},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.version, tt.refusal), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.refuse = tt.refusal
				c := f.newClient(Options{Version: tt.version})
				data := testBytes(3000, 1)
				_, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 3000, Type: "video/mp4"}, nil)
				got, ok := AccountRefusal(err)
				if !ok || got != tt.refusal || !IsAuth(err) || IsPermanent(err) {
					t.Fatalf("Upload = %v: AccountRefusal %q %v, IsAuth %v, IsPermanent %v; want %q, auth, not permanent",
						err, got, ok, IsAuth(err), IsPermanent(err), tt.refusal)
				}
				if n := f.count("REFUSED"); n != 1 {
					t.Errorf("%d requests, want 1 (no retries of an account refusal)", n)
				}
				// The check's probe sees the same refusal.
				perr := c.ProbeUpload(t.Context())
				if r, ok := AccountRefusal(perr); !ok || r != tt.refusal {
					t.Errorf("ProbeUpload = %v, want the refusal %q", perr, tt.refusal)
				}
			})
		})
	}
}

// loginRequired is what the auth package's transport returns when the
// OAuth 2.0 refresh grant is revoked (invalid_grant).
type loginRequired struct{}

func (loginRequired) Error() string       { return "oauth2: refresh token revoked (invalid_grant)" }
func (loginRequired) LoginRequired() bool { return true }

type notLoginRequired struct{}

func (notLoginRequired) Error() string       { return "oauth2: token endpoint unavailable" }
func (notLoginRequired) LoginRequired() bool { return false }

// A transport error implementing LoginRequired() true is RefusalLoginRequired
// and is not retried; one answering false is an ordinary network error.
func TestLoginRequired(t *testing.T) {
	for _, tt := range []struct {
		err      error
		refusal  bool
		attempts int
	}{{loginRequired{}, true, 1}, {notLoginRequired{}, false, 3}} {
		t.Run(fmt.Sprint(tt.refusal), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := 0
				rt := roundTripFunc(func(r *http.Request) (*http.Response, error) { n++; return nil, tt.err })
				c := New(&http.Client{Transport: rt}, Options{BaseURL: "https://x.invalid", MaxAttempts: 3})
				_, err := c.VerifyCredentials(t.Context())
				r, ok := AccountRefusal(err)
				if ok != tt.refusal || (ok && r != RefusalLoginRequired) || IsAuth(err) != tt.refusal || IsPermanent(err) || n != tt.attempts {
					t.Errorf("VerifyCredentials = %v after %d attempts: refusal %q %v; want refusal %v after %d", err, n, r, ok, tt.refusal, tt.attempts)
				}
			})
		})
	}
}

// Answers that look like refusals but are not: they stay what they were.
func TestNotAccountRefusal(t *testing.T) {
	tests := []struct {
		name string
		ae   *APIError
	}{
		{"403 account locked (326)", &APIError{StatusCode: 403, Code: 326, Message: "account temporarily locked"}},
		{"403 other problem type", &APIError{StatusCode: 403, Title: "Forbidden", Type: "https://api.twitter.com/2/problems/not-authorized-for-resource"}},
		{"403 duplicate", &APIError{StatusCode: 403, Message: "You are not allowed to create a Tweet with duplicate content."}},
		{"400 invalid request", &APIError{StatusCode: 400, Title: "Invalid Request", Type: "https://api.twitter.com/2/problems/invalid-request"}},
		{"429 usage capped", &APIError{StatusCode: 429, Title: "UsageCapExceeded", Type: "https://api.twitter.com/2/problems/usage-capped"}},
		{"500", &APIError{StatusCode: 500}},
	}
	for _, tt := range tests {
		if r, ok := AccountRefusal(fmt.Errorf("x: %w", tt.ae)); ok {
			t.Errorf("%s: AccountRefusal = %q, want none", tt.name, r)
		}
	}
	if _, ok := AccountRefusal(nil); ok {
		t.Error("AccountRefusal(nil) reports a refusal")
	}
}

// Each refusal has its own one-sentence advice; the app-only token's names
// the portal's "Bearer Token" and the way out.
func TestRefusalAdvice(t *testing.T) {
	seen := map[string]Refusal{}
	for _, r := range []Refusal{RefusalUnauthorized, RefusalUnsupportedAuth, RefusalClientForbidden, RefusalMissingScope, RefusalCreditsDepleted, RefusalLoginRequired} {
		a := r.Advice()
		if prev, dup := seen[a]; dup {
			t.Errorf("%s and %s share the advice %q", r, prev, a)
		}
		seen[a] = r
		if strings.Count(a, ". ") > 0 || !strings.HasSuffix(a, ".") {
			t.Errorf("%s advice %q is not one sentence", r, a)
		}
	}
	if a := RefusalUnsupportedAuth.Advice(); !strings.Contains(a, `"Bearer Token"`) || !strings.Contains(a, "bearer_token") || !strings.Contains(a, "mediasync auth login") {
		t.Errorf("unsupported-authentication advice %q does not say the portal's Bearer Token is app-only and what to do", a)
	}
	if a := RefusalLoginRequired.Advice(); !strings.Contains(a, "mediasync auth login") {
		t.Errorf("login-required advice %q does not name mediasync auth login", a)
	}
}
