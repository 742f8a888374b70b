package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Options configures [NewAPIHandler] and [NewPageHandler]. The zero value refuses every request
// (no token, and not known to be loopback): safe by default.
type Options struct {
	// Token, when set, is required on every request but the page's static assets: as the session
	// cookie that visiting /?token=TOKEN once sets (a browser), or as "Authorization: Bearer TOKEN"
	// (a script). Compared in constant time; never rendered or logged. [CheckBind] says when one is
	// needed.
	Token string
	// Loopback says the listener accepts loopback connections only ([IsLoopback] of its address).
	// Without a Token, requests are answered only when Loopback is set, and then only with a
	// loopback Host header (localhost, 127.0.0.1, [::1]), so a web site that rebinds its DNS name to
	// 127.0.0.1 cannot read the page.
	Loopback bool
	// Refresh is how often the page refreshes its data (default 2s; the no-JavaScript page reloads
	// itself every 10s).
	Refresh time.Duration
	// Limit is how many entries of each list the page shows per folder (default 25; the rest are a
	// link away).
	Limit int
	// Redact lists values (the API credentials) that must never appear in a page or a status: any
	// occurrence in a backend's text is replaced by "[redacted]". The Token always is.
	Redact []string
}

// MinTokenLen is the shortest http.token [CheckBind] accepts.
const MinTokenLen = 16

// CheckBind returns an error when the listen address addr (host:port) may not be served with
// token: an address reachable from other machines (not [IsLoopback]) needs a token, and a token
// must be at least [MinTokenLen] characters. The error wraps [ErrTokenRequired] (or says what is
// wrong with addr) and never holds the token. cmd calls it before listening and refuses to start
// on an error.
func CheckBind(addr, token string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("http.listen %q is not host:port: %w", addr, err)
	}
	if token != "" && len(token) < MinTokenLen {
		return fmt.Errorf("http.token is %d characters; use at least %d (a random one: openssl rand -hex 32)", len(token), MinTokenLen)
	}
	if token == "" && !IsLoopback(addr) {
		return fmt.Errorf("%w: http.listen %s is reachable from other machines and serves the status page with its retry buttons; "+
			"set http.token (token: ${MEDIASYNC_HTTP_TOKEN}, a random value: openssl rand -hex 32), "+
			"or listen on 127.0.0.1:%s and reach it through an SSH tunnel", ErrTokenRequired, addr, port)
	}
	return nil
}

// IsLoopback reports whether the listen address addr (host:port) accepts loopback connections
// only: its host is "localhost" or a loopback IP. An empty host (":9464", every interface) is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return loopbackHost(host)
}

// loopbackHost reports whether host (no port) names this machine only. Names under .localhost are
// loopback too (RFC 6761): browsers resolve them to loopback themselves, so no DNS can rebind them.
func loopbackHost(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// processKey is this process's secret for CSRF tokens and flash messages: random at start, so a
// token of an earlier run, or of another agent, is refused. It is set once and never changed.
var processKey = func() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand panics rather than return a weak key)
	return k
}()

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(p))
		m.Write([]byte{0})
	}
	return m.Sum(nil)
}

// sameSecret compares two secrets in constant time, whatever their lengths.
func sameSecret(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// access is how a request is authorised.
type access int

const (
	accessDenied  access = iota
	accessAnon           // no token configured, loopback listener, loopback Host
	accessCookie         // the session cookie
	accessBearer         // Authorization: Bearer
	accessTrusted        // the owner-only control socket
)

// viaBrowser reports whether a state change needs the CSRF token and the same-origin check: the
// credential (a cookie, or none) is one a browser sends by itself.
func (a access) viaBrowser() bool { return a == accessAnon || a == accessCookie }

const (
	sessionCookie = "mediasync_session"
	flashCookie   = "mediasync_flash"
	csrfField     = "csrf"
	csrfHeader    = "X-CSRF-Token"
)

// guard authorises requests and sets the security headers, for both handlers.
type guard struct {
	opts    Options
	session string // the session cookie's value: derived from the token, not the token
	csrf    string
	cop     *http.CrossOriginProtection
}

func newGuard(opts Options) *guard {
	g := &guard{opts: opts, cop: http.NewCrossOriginProtection()}
	if opts.Token != "" {
		g.session = hex.EncodeToString(mac([]byte(opts.Token), "mediasync session v1"))
	}
	g.csrf = base64.RawURLEncoding.EncodeToString(mac(processKey, "csrf v1", opts.Token))
	return g
}

type trustedKey struct{}

// trusted reports whether the request came through [ServeUnix]'s owner-only socket.
func trusted(ctx context.Context) bool {
	v, _ := ctx.Value(trustedKey{}).(bool)
	return v
}

// who returns how r is authorised, and when it is not, why (for the answer).
func (g *guard) who(r *http.Request) (access, string) {
	if trusted(r.Context()) {
		return accessTrusted, ""
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, cred, _ := strings.Cut(h, " ")
		if g.opts.Token != "" && strings.EqualFold(scheme, "Bearer") && sameSecret(strings.TrimSpace(cred), g.opts.Token) {
			return accessBearer, ""
		}
		return accessDenied, "wrong token"
	}
	if g.opts.Token != "" {
		if c, err := r.Cookie(sessionCookie); err == nil && sameSecret(c.Value, g.session) {
			return accessCookie, ""
		}
		return accessDenied, "a token is required"
	}
	if !g.opts.Loopback {
		return accessDenied, "no http.token is set, and the listener is not loopback-only"
	}
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	if !loopbackHost(host) {
		return accessDenied, "without an http.token the page answers only to localhost, 127.0.0.1 or [::1]"
	}
	return accessAnon, ""
}

// checkChange refuses a state-changing browser request that is cross-origin or lacks the CSRF
// token (given as the form field, or the header for JSON). It returns "" when the request may go on.
func (g *guard) checkChange(r *http.Request, a access, formToken string) string {
	if !a.viaBrowser() {
		return ""
	}
	if err := g.cop.Check(r); err != nil {
		return "cross-origin request refused"
	}
	tok := r.Header.Get(csrfHeader)
	if tok == "" {
		tok = formToken
	}
	if tok == "" || !sameSecret(tok, g.csrf) {
		return "missing or wrong CSRF token; reload the page"
	}
	return ""
}

// login checks a token given as ?token= and, when right, returns the session cookie to set.
func (g *guard) login(r *http.Request, token string) (*http.Cookie, bool) {
	if g.opts.Token == "" || !sameSecret(token, g.opts.Token) {
		return nil, false
	}
	return &http.Cookie{
		Name: sessionCookie, Value: g.session, Path: "/", MaxAge: 30 * 24 * 3600,
		HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	}, true
}

// contentSecurityPolicy allows only the page's own script, style and form targets: no inline
// script, no framing, no plugin, no other origin.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets the security headers on every answer.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// flash is a short message the page shows once after a button's POST redirects back to it. It
// travels in a cookie signed with the process key, so that no link can put words on the page.
type flash struct {
	Error bool
	Text  string
}

const maxFlash = 600

func (g *guard) flashCookie(r *http.Request, f flash) *http.Cookie {
	kind := "ok"
	if f.Error {
		kind = "error"
	}
	text := f.Text
	if len(text) > maxFlash {
		cut := maxFlash
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut-- // never half a character
		}
		text = text[:cut] + "…"
	}
	payload := kind + ":" + text
	sig := mac(processKey, "flash v1", payload)
	return &http.Cookie{
		Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." + base64.RawURLEncoding.EncodeToString(sig),
		Path: "/", MaxAge: 60, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode,
	}
}

// takeFlash returns the flash message r carries, if it is genuine, and clears it.
func (g *guard) takeFlash(w http.ResponseWriter, r *http.Request) (flash, bool) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return flash{}, false
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
	p64, s64, ok := strings.Cut(c.Value, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	sig, err2 := base64.RawURLEncoding.DecodeString(s64)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(sig, mac(processKey, "flash v1", string(payload))) {
		return flash{}, false
	}
	kind, text, _ := strings.Cut(string(payload), ":")
	return flash{Error: kind == "error", Text: text}, true
}
