package web

import (
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCheckBind(t *testing.T) {
	long := "0123456789abcdef0123"
	for _, tc := range []struct {
		addr, token string
		ok          bool
		tokenErr    bool
	}{
		{"127.0.0.1:9464", "", true, false},
		{"localhost:9464", "", true, false},
		{"[::1]:9464", "", true, false},
		{"127.0.0.2:9464", "", true, false},
		{"0.0.0.0:9464", "", false, true},
		{":9464", "", false, true},
		{"[::]:9464", "", false, true},
		{"192.168.1.10:9464", "", false, true},
		{"nas.local:9464", "", false, true},
		{"0.0.0.0:9464", long, true, false},
		{"0.0.0.0:9464", "short", false, false},
		{"127.0.0.1:9464", "short", false, false},
		{"127.0.0.1", "", false, false},
	} {
		err := CheckBind(tc.addr, tc.token)
		if (err == nil) != tc.ok || errors.Is(err, ErrTokenRequired) != tc.tokenErr {
			t.Errorf("CheckBind(%q, %q) = %v, want ok=%v token-required=%v", tc.addr, tc.token, err, tc.ok, tc.tokenErr)
		}
		if err != nil && tc.token != "" && strings.Contains(err.Error(), tc.token) {
			t.Errorf("CheckBind(%q, ...) = %v: shows the token", tc.addr, err)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{Loopback: true})
	for _, path := range []string{"/", "/api/status", "/static/app.js", "/nowhere", "/api/nowhere"} {
		resp, _ := get(t, browserClient(t), srv.URL+path)
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline or eval", path, csp)
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
			if got := h.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, want)
			}
		}
	}
}

// TestTokenRequired: with a token, nothing but the static assets answers without it; a browser
// logs in once with /?token= and is redirected to a URL without it; scripts use a bearer header.
func TestTokenRequired(t *testing.T) {
	const token = "s3cret-token-0123456789"
	f := sampleFake()
	srv := newServer(t, f, Options{Token: token}) // not loopback: as when bound to 0.0.0.0
	anon := browserClient(t)
	for _, path := range []string{"/", "/api/status", "/api/explain?path=/srv/exports/a.jpg", "/?folder=/srv/exports"} {
		resp, body := get(t, anon, srv.URL+path)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s without the token = %s, want 401", path, resp.Status)
		}
		if strings.Contains(body, "broken.jpg") || strings.Contains(body, token) {
			t.Errorf("GET %s without the token shows the status or the token", path)
		}
	}
	if resp, _ := get(t, anon, srv.URL+"/static/app.css"); resp.StatusCode != http.StatusOK {
		t.Errorf("static asset without the token = %s, want 200", resp.Status)
	}
	if resp := postForm(t, anon, srv.URL+"/retry", url.Values{"folder": {testFolder}, "rel": {"broken.jpg"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /retry without the token = %s, want 401", resp.Status)
	}

	if resp, _ := get(t, anon, srv.URL+"/?token=wrong-token-0123456789"); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("/?token=WRONG = %s with cookies %v, want 401 and none", resp.Status, resp.Cookies())
	}

	browser := browserClient(t)
	resp, _ := get(t, browser, srv.URL+"/?folder=%2Fsrv%2Fexports&token="+token)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?folder=%2Fsrv%2Fexports" {
		t.Fatalf("/?token=RIGHT = %s to %q, want 303 to the page without the token", resp.Status, resp.Header.Get("Location"))
	}
	cookies := resp.Cookies()
	if len(cookies) != 1 || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode || strings.Contains(cookies[0].Value, token) {
		t.Fatalf("session cookie = %+v, want one HttpOnly SameSite=Strict cookie that is not the token", cookies)
	}
	if resp, page := get(t, browser, srv.URL+"/"); resp.StatusCode != http.StatusOK || !strings.Contains(page, "broken.jpg") {
		t.Errorf("GET / with the session cookie = %s", resp.Status)
	} else if strings.Contains(page, token) {
		t.Error("the page shows the token")
	}

	for _, tc := range []struct {
		auth string
		want int
	}{
		{"Bearer " + token, http.StatusOK},
		{"bearer " + token, http.StatusOK},
		{"Bearer " + token + "x", http.StatusUnauthorized},
		{"Basic " + token, http.StatusUnauthorized},
		{"Bearer ", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/status", nil)
		req.Header.Set("Authorization", tc.auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != tc.want {
			t.Errorf("GET /api/status with Authorization %q = %s, want %d", strings.Replace(tc.auth, token, "TOKEN", 1), resp.Status, tc.want)
		}
	}
}

// TestTokenParameterWithoutToken: /?token= on a listener without a token only leaves the URL.
func TestTokenParameterWithoutToken(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{Loopback: true})
	resp, _ := get(t, browserClient(t), srv.URL+"/?offset=5&token=whatever-0123456789")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/?offset=5" || len(resp.Cookies()) != 0 {
		t.Errorf("/?token= without a token configured = %s to %q, cookies %v", resp.Status, resp.Header.Get("Location"), resp.Cookies())
	}
}

// TestZeroOptionsRefuse: Options{} (no token, loopback not declared) answers nothing.
func TestZeroOptionsRefuse(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{})
	for _, path := range []string{"/", "/api/status"} {
		if resp, _ := get(t, browserClient(t), srv.URL+path); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("GET %s with zero Options = %s, want 401", path, resp.Status)
		}
	}
}

// TestLoopbackNeedsLoopbackHost: without a token, a Host that is not loopback (a DNS rebinding
// attack: evil.example resolving to 127.0.0.1) is refused.
func TestLoopbackNeedsLoopbackHost(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{Loopback: true})
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	for host, want := range map[string]int{
		"evil.example:" + port:   http.StatusUnauthorized,
		"localhost":              http.StatusOK,
		"127.0.0.1:9464":         http.StatusOK,
		"[::1]:9464":             http.StatusOK,
		"app.localhost":          http.StatusOK,
		"127.0.0.1.evil.example": http.StatusUnauthorized,
	} {
		for _, path := range []string{"/", "/api/status"} {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			readBody(t, resp)
			if resp.StatusCode != want {
				t.Errorf("GET %s with Host %q = %s, want %d", path, host, resp.Status, want)
			}
		}
	}
}

// TestCSRF: a browser's state change needs POST, the CSRF token and the same origin; a bearer
// token or the control socket needs no CSRF token.
func TestCSRF(t *testing.T) {
	const token = "s3cret-token-0123456789"
	f := sampleFake()
	srv := newServer(t, f, Options{Token: token})
	c := browserClient(t)
	get(t, c, srv.URL+"/?token="+token)
	_, page := get(t, c, srv.URL+"/")
	csrf := csrfOf(t, page)
	other := newGuard(Options{Token: "another-token-0123456789"}).csrf

	form := func(tok string) url.Values {
		v := url.Values{"folder": {testFolder}, "rel": {"broken.jpg"}}
		if tok != "" {
			v.Set(csrfField, tok)
		}
		return v
	}
	for _, tc := range []struct {
		name    string
		method  string
		path    string
		body    string
		ctype   string
		headers map[string]string
		want    int
	}{
		{"page: no CSRF token", "POST", "/retry", form("").Encode(), "application/x-www-form-urlencoded", map[string]string{"Sec-Fetch-Site": "same-origin"}, 403},
		{"page: wrong CSRF token", "POST", "/retry", form("AAAA").Encode(), "application/x-www-form-urlencoded", map[string]string{"Sec-Fetch-Site": "same-origin"}, 403},
		{"page: another token's CSRF token", "POST", "/retry", form(other).Encode(), "application/x-www-form-urlencoded", nil, 403},
		{"page: cross-site", "POST", "/retry", form(csrf).Encode(), "application/x-www-form-urlencoded", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"page: same-site other origin", "POST", "/retry", form(csrf).Encode(), "application/x-www-form-urlencoded", map[string]string{"Sec-Fetch-Site": "same-site"}, 403},
		{"page: foreign Origin", "POST", "/retry", form(csrf).Encode(), "application/x-www-form-urlencoded", map[string]string{"Origin": "https://evil.example"}, 403},
		{"page: GET does not retry", "GET", "/retry?" + form(csrf).Encode(), "", "", nil, 405},
		{"api: no CSRF header", "POST", "/api/retry", `{"folder":"/srv/exports","rel":"broken.jpg"}`, "application/json", nil, 403},
		{"api: wrong CSRF header", "POST", "/api/retry", `{"folder":"/srv/exports","rel":"broken.jpg"}`, "application/json", map[string]string{csrfHeader: other}, 403},
		{"api: cross-site", "POST", "/api/retry", `{"folder":"/srv/exports","rel":"broken.jpg"}`, "application/json", map[string]string{csrfHeader: csrf, "Sec-Fetch-Site": "cross-site"}, 403},
		{"api: form body", "POST", "/api/retry", form(csrf).Encode(), "application/x-www-form-urlencoded", map[string]string{csrfHeader: csrf}, 415},
		{"api: text body", "POST", "/api/retry", `{"folder":"/srv/exports","rel":"broken.jpg"}`, "text/plain", map[string]string{csrfHeader: csrf}, 415},
		{"api: GET does not retry", "GET", "/api/retry", "", "", nil, 405},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		for k, v := range tc.headers {
			req.Header.Set(k, v)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readBody(t, resp)
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %s", tc.name, resp.Status)
		}
	}
	if calls := f.called(); len(calls) != 0 {
		t.Fatalf("refused requests reached the backend: %q", calls)
	}

	// Accepted: the page's form with its token, the API with the header, a script with a bearer.
	if resp := postForm(t, c, srv.URL+"/retry", form(csrf)); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("page retry with the CSRF token = %s, want 303", resp.Status)
	}
	f.put(testFolder, "broken.jpg", failedEntry("again", false))
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/retry", strings.NewReader(`{"folder":"/srv/exports","rel":"broken.jpg"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(csrfHeader, csrf)
	req.Header.Set("Origin", srv.URL)
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("API retry with the CSRF header = %v %v, want 200", resp.Status, err)
	}
	f.put(testFolder, "broken.jpg", failedEntry("again", false))
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/api/retry", strings.NewReader(`{"folder":"/srv/exports","rel":"broken.jpg"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("API retry with a bearer token and no CSRF token = %v %v, want 200", resp.Status, err)
	}
	if n := len(f.called()); n != 3 {
		t.Errorf("backend calls = %d, want 3", n)
	}
}
