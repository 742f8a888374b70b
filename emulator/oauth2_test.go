package emulator

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	o2Client   = "o2-client"
	o2Redirect = "http://127.0.0.1:8765/callback"
	o2Verifier = "a-pkce-code-verifier-of-forty-three-or-more-characters-0123456789"
)

// o2Challenge is the S256 challenge of o2Verifier, computed here from RFC 7636 §4.2.
func o2Challenge(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func authorizeQuery(mod func(url.Values)) url.Values {
	q := url.Values{"response_type": {"code"}, "client_id": {o2Client}, "redirect_uri": {o2Redirect},
		"scope": {"media.write users.read tweet.read offline.access"}, "state": {"st4te"},
		"code_challenge": {o2Challenge(o2Verifier)}, "code_challenge_method": {"S256"}}
	if mod != nil {
		mod(q)
	}
	return q
}

func (e *testEnv) authorize(q url.Values) *http.Response {
	e.t.Helper()
	resp, err := noFollow.Get(e.url + "/i/oauth2/authorize?" + q.Encode())
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// code runs the authorize step and returns the code.
func (e *testEnv) code(scope string) string {
	e.t.Helper()
	resp := e.authorize(authorizeQuery(func(q url.Values) {
		if scope != "" {
			q.Set("scope", scope)
		}
	}))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st4te" || loc.Query().Get("code") == "" {
		e.t.Fatalf("authorize = %d %s, want a redirect with the state and a code", resp.StatusCode, loc)
	}
	return loc.Query().Get("code")
}

type tokenAnswer struct {
	status int
	body   map[string]any
}

func (a tokenAnswer) str(k string) string { s, _ := a.body[k].(string); return s }

// tokenReq posts a form to the token endpoint, with HTTP Basic when user is not "".
func (e *testEnv) tokenReq(form url.Values, user, pass string) tokenAnswer {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.url+"/2/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return tokenAnswer{resp.StatusCode, m}
}

func (e *testEnv) exchange(code, verifier string) tokenAnswer {
	return e.tokenReq(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o2Redirect},
		"code_verifier": {verifier}, "client_id": {o2Client}}, "", "")
}

func (e *testEnv) refresh(rt string) tokenAnswer {
	return e.tokenReq(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {o2Client}}, "", "")
}

// bearerGet calls a v2 endpoint with a bearer token.
func (e *testEnv) bearerGet(path, tok string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func o2Env(t *testing.T, secret string, lifetime time.Duration) *testEnv {
	return newEnv(t, Options{OAuth2: OAuth2Options{ClientID: o2Client, ClientSecret: secret, RedirectURL: o2Redirect, TokenLifetime: lifetime}})
}

func TestOAuth2Authorize(t *testing.T) {
	e := o2Env(t, "", time.Hour)
	for _, tc := range []struct {
		name     string
		mod      func(url.Values)
		redirect bool   // answered by a redirect to the callback (else a 400 page)
		errCode  string // error= in the redirect
	}{
		{"ok", nil, true, ""},
		{"unknown client", func(q url.Values) { q.Set("client_id", "other") }, false, ""},
		{"unregistered redirect", func(q url.Values) { q.Set("redirect_uri", "http://127.0.0.1:9999/cb") }, false, ""},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, true, "invalid_request"},
		{"no challenge", func(q url.Values) { q.Del("code_challenge") }, true, "invalid_request"},
		{"no state", func(q url.Values) { q.Del("state") }, true, "invalid_request"},
		{"unknown scope", func(q url.Values) { q.Set("scope", "media.write everything") }, true, "invalid_scope"},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, true, "unsupported_response_type"},
	} {
		resp := e.authorize(authorizeQuery(tc.mod))
		if !tc.redirect {
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("%s: %d to %q, want a 400 page and no redirect", tc.name, resp.StatusCode, resp.Header.Get("Location"))
			}
			continue
		}
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), o2Redirect+"?") || loc.Query().Get("error") != tc.errCode {
			t.Errorf("%s: %d to %s, want a redirect to the callback with error=%q", tc.name, resp.StatusCode, loc, tc.errCode)
		}
	}
}

func TestOAuth2CodeExchangePKCE(t *testing.T) {
	e := o2Env(t, "", time.Hour)
	code := e.code("")
	if a := e.exchange(code, o2Verifier+"x"); a.status != 400 || a.str("error") != "invalid_request" || a.str("error_description") != badCode {
		t.Errorf("wrong verifier: %d %v, want 400 invalid_request %q", a.status, a.body, badCode)
	}
	code = e.code("")
	a := e.exchange(code, o2Verifier)
	if a.status != 200 || a.str("token_type") != "bearer" || a.body["expires_in"] != float64(3600) || a.str("access_token") == "" ||
		a.str("refresh_token") == "" || a.str("scope") != "media.write users.read tweet.read offline.access" {
		t.Fatalf("exchange = %d %v", a.status, a.body)
	}
	if st, _ := e.bearerGet("/2/users/me", a.str("access_token")); st != 200 {
		t.Errorf("users/me with the new token = %d", st)
	}
	// RFC 6749 §4.1.2: a code used twice revokes what it granted.
	if b := e.exchange(code, o2Verifier); b.status != 400 || b.str("error_description") != badCode {
		t.Errorf("code reuse = %d %v", b.status, b.body)
	}
	if g := e.s.OAuth2Grants(); g[0].Revoked != "authorization code reused" {
		t.Errorf("grant after code reuse = %+v", g[0])
	}
	if st, _ := e.bearerGet("/2/users/me", a.str("access_token")); st != 401 {
		t.Errorf("users/me with a token of a revoked grant = %d, want 401", st)
	}
	// Without offline.access there is no refresh token.
	b := e.exchange(e.code("media.write"), o2Verifier)
	if b.status != 200 || b.str("refresh_token") != "" {
		t.Errorf("exchange without offline.access = %d %v, want no refresh token", b.status, b.body)
	}
}

func TestOAuth2ClientAuthentication(t *testing.T) {
	form := func(code string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o2Redirect}, "code_verifier": {o2Verifier}}
	}
	t.Run("confidential", func(t *testing.T) {
		e := o2Env(t, "s3cret:/+", time.Hour)
		code := e.code("")
		withID := form(code)
		withID.Set("client_id", o2Client)
		if a := e.tokenReq(withID, "", ""); a.status != 401 || a.str("error") != "unauthorized_client" || a.str("error_description") != "Missing valid authorization header" {
			t.Errorf("no Basic = %d %v", a.status, a.body)
		}
		if a := e.tokenReq(form(code), o2Client, "wrong"); a.status != 401 || a.str("error") != "invalid_client" {
			t.Errorf("wrong secret = %d %v", a.status, a.body)
		}
		if a := e.tokenReq(form(code), o2Client, "s3cret:/+"); a.status != 200 {
			t.Errorf("Basic with the (form-encoded) secret = %d %v", a.status, a.body)
		}
	})
	t.Run("public", func(t *testing.T) {
		e := o2Env(t, "", time.Hour)
		code := e.code("")
		if a := e.tokenReq(form(code), "", ""); a.status != 400 || a.str("error") != "invalid_request" {
			t.Errorf("no client_id = %d %v", a.status, a.body)
		}
		other := form(code)
		other.Set("client_id", "other")
		if a := e.tokenReq(other, "", ""); a.status != 401 || a.str("error") != "invalid_client" {
			t.Errorf("other client_id = %d %v", a.status, a.body)
		}
		ok := form(code)
		ok.Set("client_id", o2Client)
		if a := e.tokenReq(ok, "", ""); a.status != 200 {
			t.Errorf("client_id in the body = %d %v", a.status, a.body)
		}
	})
}

// TestOAuth2RefreshRotation: each refresh spends its token; reusing a spent one revokes the grant,
// which is recorded as a lost answer when the pair that replaced it was never used.
func TestOAuth2RefreshRotation(t *testing.T) {
	for _, usedNew := range []bool{false, true} {
		e := o2Env(t, "", time.Hour)
		first := e.exchange(e.code(""), o2Verifier)
		second := e.refresh(first.str("refresh_token"))
		if second.status != 200 || second.str("refresh_token") == "" || second.str("refresh_token") == first.str("refresh_token") ||
			second.str("access_token") == first.str("access_token") {
			t.Fatalf("refresh = %d %v, want a new pair", second.status, second.body)
		}
		if st, _ := e.bearerGet("/2/users/me", first.str("access_token")); st != 200 {
			t.Errorf("the previous access token stops before its expiry: %d", st)
		}
		if usedNew {
			e.bearerGet("/2/users/me", second.str("access_token"))
		}
		again := e.refresh(first.str("refresh_token"))
		if again.status != 400 || again.str("error") != "invalid_request" || again.str("error_description") != badToken {
			t.Errorf("reuse = %d %v, want 400 invalid_request %q", again.status, again.body, badToken)
		}
		g := e.s.OAuth2Grants()[0]
		if g.Revoked != "refresh token reused" || g.LostAnswer == usedNew || g.Refreshes != 1 {
			t.Errorf("grant after reuse (new pair used: %v) = %+v", usedNew, g)
		}
		if st, _ := e.bearerGet("/2/users/me", second.str("access_token")); st != 401 {
			t.Errorf("users/me after the grant was revoked = %d, want 401", st)
		}
		if a := e.refresh(second.str("refresh_token")); a.status != 400 {
			t.Errorf("the current refresh token of a revoked grant = %d, want 400", a.status)
		}
	}
}

func TestOAuth2ExpiryAndScopes(t *testing.T) {
	e := o2Env(t, "", 2*time.Second)
	a := e.exchange(e.code("media.write offline.access"), o2Verifier)
	if a.body["expires_in"] != float64(2) {
		t.Errorf("expires_in = %v, want 2", a.body["expires_in"])
	}
	st, body := e.bearerGet("/2/users/me", a.str("access_token"))
	if st != 403 || !strings.Contains(body, `"title":"Forbidden"`) || strings.Contains(body, `"errors"`) {
		t.Errorf("users/me without users.read = %d %s, want a plain 403 Forbidden problem", st, body)
	}
	if st, body := e.bearerGet("/2/media/upload?command=STATUS&media_id=1", a.str("access_token")); st == 401 || st == 403 {
		t.Errorf("media endpoint with media.write = %d %s", st, body)
	}
	e.clock.Advance(2 * time.Second)
	st, body = e.bearerGet("/2/media/upload?command=STATUS&media_id=1", a.str("access_token"))
	if st != 401 || !strings.Contains(body, `"title":"Unauthorized"`) {
		t.Errorf("expired token = %d %s, want 401 Unauthorized", st, body)
	}
	b := e.exchange(e.code("users.read tweet.read"), o2Verifier)
	if st, _ := e.bearerGet("/2/media/upload?command=STATUS&media_id=1", b.str("access_token")); st != 403 {
		t.Errorf("media endpoint without media.write = %d, want 403", st)
	}
	// The fixed bearer token of Credentials still works beside OAuth 2.0.
	if st, _ := e.bearerGet("/2/users/me", DemoCredentials().BearerToken); st != 200 {
		t.Errorf("fixed bearer token = %d, want 200", st)
	}
}

func TestOAuth2AdminFaultsAndRevoke(t *testing.T) {
	e := o2Env(t, "", time.Hour)
	a := e.exchange(e.code(""), o2Verifier)
	post := func(path, body string) int {
		resp, err := http.Post(e.url+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := post("/_emulator/oauth2/token-fault", `{"next":2,"status":503}`); st != 200 {
		t.Fatalf("token-fault = %d", st)
	}
	for range 2 {
		if r := e.refresh(a.str("refresh_token")); r.status != 503 {
			t.Errorf("refresh during the fault = %d, want 503", r.status)
		}
	}
	r := e.refresh(a.str("refresh_token"))
	if r.status != 200 {
		t.Fatalf("refresh after the fault = %d %v (the faulted requests must not have spent the token)", r.status, r.body)
	}
	e.s.SetOAuth2TokenFault(OAuth2TokenFault{Next: 1})
	req, _ := http.NewRequest(http.MethodPost, e.url+"/2/oauth2/token", strings.NewReader("grant_type=refresh_token"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("a cut token request answered %d", resp.StatusCode)
	}
	if st := post("/_emulator/oauth2/revoke-all", ""); st != 200 {
		t.Fatalf("revoke-all = %d", st)
	}
	if x := e.refresh(r.str("refresh_token")); x.status != 400 {
		t.Errorf("refresh after revoke-all = %d, want 400", x.status)
	}
	resp, err := http.Get(e.url + "/_emulator/oauth2")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ Grants []OAuth2Grant }
	json.NewDecoder(resp.Body).Decode(&v)
	if len(v.Grants) != 1 || v.Grants[0].Revoked != "revoked by the admin" || v.Grants[0].Refreshes != 1 {
		t.Errorf("GET /_emulator/oauth2 grants = %+v", v.Grants)
	}
	if n := e.s.Stats().Count("POST /2/oauth2/token", 503); n != 2 {
		t.Errorf("stats count %d token 503s, want 2", n)
	}
}

func TestOAuth2Revoke(t *testing.T) {
	e := o2Env(t, "", time.Hour)
	a := e.exchange(e.code(""), o2Verifier)
	req, _ := http.NewRequest(http.MethodPost, e.url+"/2/oauth2/revoke", strings.NewReader(url.Values{"token": {a.str("refresh_token")}, "token_type_hint": {"refresh_token"}, "client_id": {o2Client}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke = %d", resp.StatusCode)
	}
	if st, _ := e.bearerGet("/2/users/me", a.str("access_token")); st != 401 {
		t.Errorf("access token after revoke = %d, want 401", st)
	}
}
