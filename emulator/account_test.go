package emulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// X's v2 answers, verbatim (sources in account.go and responses.go).
const (
	v2Unauthorized   = `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`
	v2Forbidden      = `{"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}`
	v2UnsupportedAut = `{"title":"Unsupported Authentication","detail":"Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context].","type":"https://api.twitter.com/2/problems/unsupported-authentication","status":403}`
	v2ClientForbid   = `{"client_id":"28251539","detail":"When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.","registration_url":"https://developer.twitter.com/en/docs/projects/overview","title":"Client Forbidden","required_enrollment":"Appropriate Level of API Access","reason":"client-not-enrolled","type":"https://api.twitter.com/2/problems/client-forbidden"}`
	creditsDepleted  = `{"title":"CreditsDepleted","detail":"Your enrolled account [1000000000000000001] does not have any credits to fulfill this request.","type":"https://api.twitter.com/2/problems/credits"}`
)

// admin sends an admin API request and returns its status and body.
func (e *testEnv) admin(method, path, body string) (int, []byte) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestAccountRefusals switches each account-level refusal on through the
// admin API and checks that every API request of both versions gets X's
// answer for it, byte for byte on v2, with no rate-limit headers; that the
// admin API still answers; and that posting {} lifts it.
func TestAccountRefusals(t *testing.T) {
	type want struct {
		status int
		body   string
	}
	tests := []struct {
		knob      string
		v2, v11   want
		v2Problem string // Content-Type of the v2 answer
	}{
		{"credits_depleted", want{402, creditsDepleted}, want{402, creditsDepleted}, "application/json; charset=utf-8"},
		{"unsupported_authentication", want{403, v2UnsupportedAut}, want{403, `{"errors":[{"code":220,"message":"Your credentials do not allow access to this resource."}]}`}, "application/json; charset=utf-8"},
		{"client_forbidden", want{403, v2ClientForbid}, want{403, `{"errors":[{"code":453,"message":"You currently have access to a subset of Twitter API v2 endpoints and limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to this endpoint, you may need a different access level. You can learn more here: https://developer.twitter.com/en/portal/product"}]}`}, "application/json; charset=utf-8"},
		{"missing_scope", want{403, v2Forbidden}, want{403, `{"errors":[{"code":220,"message":"Your credentials do not allow access to this resource."}]}`}, "application/problem+json"},
	}
	for _, tt := range tests {
		t.Run(tt.knob, func(t *testing.T) {
			e := newEnv(t, Options{})
			if code, body := e.admin("POST", "/_emulator/faults", `{"`+tt.knob+`":true}`); code != 200 {
				t.Fatalf("POST faults = %d %s", code, body)
			}
			v2Calls := []func() answer{
				func() answer {
					return e.postJSON("/2/media/upload/initialize", map[string]any{"media_type": "image/png", "total_bytes": 10})
				},
				func() answer { return e.get("/2/users/me") },
				func() answer {
					return e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", []byte("x"))
				},
				func() answer { return e.get("/2/media/upload?command=STATUS&media_id=1") },
			}
			for i, call := range v2Calls {
				a := call()
				if a.status != tt.v2.status || string(a.body) != tt.v2.body {
					t.Errorf("v2 call %d = %d %s\nwant %d %s", i, a.status, a.body, tt.v2.status, tt.v2.body)
				}
				if ct := a.header.Get("Content-Type"); ct != tt.v2Problem {
					t.Errorf("v2 call %d Content-Type %q, want %q", i, ct, tt.v2Problem)
				}
				if h := a.header.Get("x-rate-limit-limit"); h != "" {
					t.Errorf("v2 call %d carries x-rate-limit-limit %s: a refusal reaches no budget", i, h)
				}
			}
			for _, path := range []string{"/1.1/account/verify_credentials.json", "/1.1/media/upload.json?command=STATUS&media_id=1"} {
				a := e.get(path)
				if a.status != tt.v11.status || string(a.body) != tt.v11.body {
					t.Errorf("GET %s = %d %s\nwant %d %s", path, a.status, a.body, tt.v11.status, tt.v11.body)
				}
			}
			// The admin API is not X: it still answers.
			if code, _ := e.admin("GET", "/_emulator/stats", ""); code != 200 {
				t.Errorf("GET /_emulator/stats = %d while %s", code, tt.knob)
			}
			// Credentials are still checked first: a request without any is 401.
			req := e.newReq("GET", "/2/users/me", nil, "")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 401 || string(b) != v2Unauthorized {
				t.Errorf("no credentials while %s = %d %s, want 401", tt.knob, resp.StatusCode, b)
			}
			if code, body := e.admin("POST", "/_emulator/faults", `{}`); code != 200 {
				t.Fatalf("POST {} = %d %s", code, body)
			}
			if a := e.get("/2/users/me"); a.status != 200 {
				t.Errorf("after {}: %d %s", a.status, a.body)
			}
			if a := e.get("/1.1/account/verify_credentials.json"); a.status != 200 {
				t.Errorf("v1.1 after {}: %d %s", a.status, a.body)
			}
		})
	}
}

// TestAccountRefusalOrder: with several refusals on, the one X checks first
// answers.
func TestAccountRefusalOrder(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{CreditsDepleted: true, MissingScope: true, ClientForbidden: true}})
	if a := e.get("/2/users/me"); string(a.body) != v2ClientForbid {
		t.Errorf("client_forbidden+missing_scope+credits = %d %s, want client-forbidden", a.status, a.body)
	}
	e.s.SetFaults(Faults{CreditsDepleted: true, MissingScope: true})
	if a := e.get("/2/users/me"); string(a.body) != v2Forbidden {
		t.Errorf("missing_scope+credits = %d %s, want Forbidden", a.status, a.body)
	}
}

// TestAppOnlyBearerToken: the portal's app-only "Bearer Token" is refused
// on v2 with Unsupported Authentication, on v1.1 with code 220; an unknown
// bearer token is a plain 401.
func TestAppOnlyBearerToken(t *testing.T) {
	e := newEnv(t, Options{})
	app := DemoCredentials().AppBearerToken
	if app == "" || app == DemoCredentials().BearerToken {
		t.Fatalf("demo app-only token %q must be set and differ from the user token", app)
	}
	tests := []struct {
		name, token, path string
		status            int
		body              string
	}{
		{"v2 initialize", app, "/2/media/upload/initialize", 403, v2UnsupportedAut},
		{"v2 users/me", app, "/2/users/me", 403, v2UnsupportedAut},
		{"v2 unknown token", "nope", "/2/media/upload/initialize", 401, v2Unauthorized},
		{"v1.1", app, "/1.1/media/upload.json?command=STATUS&media_id=1", 403, `{"errors":[{"code":220,"message":"Your credentials do not allow access to this resource."}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "POST"
			if strings.Contains(tt.path, "STATUS") || strings.HasSuffix(tt.path, "/me") {
				method = "GET"
			}
			req := e.newReq(method, tt.path, bytes.NewReader([]byte(`{"media_type":"image/png","total_bytes":10}`)), "application/json")
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || string(b) != tt.body {
				t.Errorf("= %d %s\nwant %d %s", resp.StatusCode, b, tt.status, tt.body)
			}
		})
	}
	// Without an app-only token configured, a bearer token that is not the
	// user's is just unknown.
	e2 := newEnv(t, Options{Credentials: Credentials{ConsumerKey: "k", ConsumerSecret: "s", AccessToken: "1-t", AccessTokenSecret: "ts", BearerToken: "user"}})
	req := e2.newReq("GET", "/2/users/me", nil, "")
	req.Header.Set("Authorization", "Bearer ")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("empty bearer with no app-only token configured = %d, want 401", resp.StatusCode)
	}
}

// TestV2AuthFailuresArePlainProblems: every v2 authentication failure is
// X's 401 plain problem without errors[].code; v1.1 keeps its codes.
func TestV2AuthFailuresArePlainProblems(t *testing.T) {
	e := newEnv(t, Options{})
	noAuth := func(path string) answer {
		resp, err := http.DefaultClient.Do(e.newReq("GET", path, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{status: resp.StatusCode, header: resp.Header, body: b}
	}
	a := noAuth("/2/users/me")
	if a.status != 401 || string(a.body) != v2Unauthorized || a.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("v2 without credentials = %d %q %s, want 401 %s", a.status, a.header.Get("Content-Type"), a.body, v2Unauthorized)
	}
	if a := noAuth("/1.1/account/verify_credentials.json"); a.status != 400 || a.code(t) != 215 {
		t.Errorf("v1.1 without credentials = %d %s, want 400 code 215", a.status, a.body)
	}
	// A wrong signature: v2 401 plain, v1.1 401 code 32.
	bad := newEnv(t, Options{})
	c := DemoCredentials()
	c.ConsumerSecret = "wrong"
	bad.hc = newEnv(t, Options{Credentials: c}).hc
	if a := bad.get("/2/users/me"); a.status != 401 || string(a.body) != v2Unauthorized {
		t.Errorf("v2 bad signature = %d %s", a.status, a.body)
	}
	if a := bad.get("/1.1/account/verify_credentials.json"); a.status != 401 || a.code(t) != 32 {
		t.Errorf("v1.1 bad signature = %d %s", a.status, a.body)
	}
}

// TestAccountFaultsJSON: the new knobs round-trip through the admin API's
// JSON in snake_case, and {} clears them.
func TestAccountFaultsJSON(t *testing.T) {
	in := `{"credits_depleted":true,"unsupported_authentication":true,"client_forbidden":true,"missing_scope":true}`
	var f Faults
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	want := Faults{CreditsDepleted: true, UnsupportedAuthentication: true, ClientForbidden: true, MissingScope: true}
	if f != want {
		t.Errorf("decoded %+v, want %+v", f, want)
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back Faults
	if err := json.Unmarshal(out, &back); err != nil || back != want {
		t.Errorf("round trip %s = %+v (%v)", out, back, err)
	}
	if err := json.Unmarshal([]byte(`{}`), &back); err != nil || back != (Faults{}) {
		t.Errorf("{} = %+v (%v), want zero faults", back, err)
	}
}
