package emulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// OAuth 2.0 authorization server: X's Authorization Code flow with PKCE.
//
// Modelled on docs.x.com "OAuth 2.0 Authorization Code Flow with PKCE" (authorize at
// /i/oauth2/authorize, token at POST /2/oauth2/token, form-urlencoded, client_id in the body for
// public clients, HTTP Basic for confidential ones; {"token_type":"bearer","expires_in":7200,
// "access_token":…,"scope":…,"refresh_token":…}; access tokens live 2 hours; a refresh token comes
// only with offline.access) and on what X's users report:
//   - every refresh returns a new refresh token and the old one stops working (r-lib/httr2 issue
//     #197, 2023-01; gptme/gptme-contrib PR #285, 2026-02: "Twitter invalidates the old refresh
//     token"); a spent, unknown or revoked refresh token gets 400 {"error":"invalid_request",
//     "error_description":"Value passed for the token was invalid."} (the answer client code
//     written against X tests for, e.g. in public X publishers' test fixtures);
//   - reusing a spent refresh token revokes the whole grant here, as OAuth's refresh-token rotation
//     allows (RFC 9700 §4.14.2) and as X's users experience it (issue 11);
//   - an invalid, used or mismatched authorization code or PKCE verifier gets 400 invalid_request
//     "Value passed for the authorization code was invalid." (plhery/node-twitter-api-v2 #496);
//   - a confidential client without HTTP Basic gets 401 {"error":"unauthorized_client",
//     "error_description":"Missing valid authorization header"} (unasuke/omniauth-twitter2 #4,
//     plhery/node-twitter-api-v2 #319);
//   - a missing scope gets 403 {"title":"Forbidden","type":"about:blank","status":403,
//     "detail":"Forbidden"} (PLhery #588, API.md §4.2); GET /2/users/me needs tweet.read and
//     users.read (its API reference), the media endpoints media.write.
//
// PKCE is verified with this file's own SHA-256 code, never the client's library.

// DefaultOAuth2RedirectURL is the callback the emulator registers when none is given; it is
// mediasync's default api.redirect_url.
const DefaultOAuth2RedirectURL = "http://127.0.0.1:8765/callback"

// DefaultOAuth2TokenLifetime is X's access token lifetime.
const DefaultOAuth2TokenLifetime = 2 * time.Hour

// oauth2CodeLifetime: RFC 6749 §4.1.2 recommends at most 10 minutes.
const oauth2CodeLifetime = 10 * time.Minute

// OAuth2Scopes are the scopes the emulator knows (X's list, docs.x.com "OAuth 2.0 scopes").
var OAuth2Scopes = []string{
	"tweet.read", "tweet.write", "tweet.moderate.write", "users.email", "users.read", "follows.read", "follows.write",
	"offline.access", "space.read", "mute.read", "mute.write", "like.read", "like.write", "list.read", "list.write",
	"block.read", "block.write", "bookmark.read", "bookmark.write", "dm.read", "dm.write", "media.write",
}

// OAuth2Options configure the OAuth 2.0 authorization server. With ClientID "" it is off: the
// authorize page and the token endpoint refuse every client, and only the fixed bearer token of
// Credentials is accepted.
type OAuth2Options struct {
	ClientID      string        // the registered app's client id
	ClientSecret  string        // "" = a public client (client_id in the body); else confidential (HTTP Basic)
	RedirectURL   string        // the registered callback URI; "" = DefaultOAuth2RedirectURL
	TokenLifetime time.Duration // access token lifetime; 0 = DefaultOAuth2TokenLifetime
}

// DemoOAuth2 is the OAuth 2.0 client `mediasync emulate` registers when none is given.
func DemoOAuth2() OAuth2Options {
	return OAuth2Options{ClientID: "mediasync-demo-client-id", RedirectURL: DefaultOAuth2RedirectURL, TokenLifetime: DefaultOAuth2TokenLifetime}
}

// Validate reports options that cannot work.
func (o OAuth2Options) Validate() error {
	if o.TokenLifetime < 0 || o.TokenLifetime > 0 && o.TokenLifetime < time.Second {
		return fmt.Errorf("oauth2 token lifetime %v: must be at least 1s (expires_in is in whole seconds)", o.TokenLifetime)
	}
	if o.RedirectURL != "" {
		u, err := url.Parse(o.RedirectURL)
		if err != nil || u.Scheme == "" || u.Host == "" {
			return fmt.Errorf("oauth2 redirect URL %q: not an absolute URL", o.RedirectURL)
		}
	}
	return nil
}

// OAuth2Grant describes one grant (one login) as the emulator holds it.
type OAuth2Grant struct {
	ID        int       `json:"id"`
	Scope     string    `json:"scope"`
	Created   time.Time `json:"created"`
	Refreshes int       `json:"refreshes"`
	// Revoked says why the grant is dead: "" (alive), "refresh token reused", "authorization code
	// reused", "revoked by the client", "revoked by the admin".
	Revoked string `json:"revoked,omitempty"`
	// LostAnswer is set when the grant died of a reuse of the refresh token just before the current
	// one while the pair that replaced it had never been used: the client sent the refresh, the
	// answer never got into its store (a crash, a lost connection), and it tried again with the old
	// token; or two clients spent the same token within moments of each other. Any other reuse is
	// a client that kept a spent token.
	LostAnswer bool `json:"lost_answer,omitempty"`
}

// OAuth2TokenFault makes the next N token-endpoint requests fail: Status 503 (or any 5xx) answers
// that status, Status 0 cuts the connection before an answer (a network error). The request is not
// processed in either case, so the grant is untouched.
type OAuth2TokenFault struct {
	Next   int `json:"next"`
	Status int `json:"status"`
}

type oauth2Server struct {
	opts OAuth2Options
	now  func() time.Time

	mu      sync.Mutex
	codes   map[string]*o2code
	access  map[string]*o2access
	refresh map[string]*o2refresh
	grants  []*o2grant
	fault   OAuth2TokenFault
}

type o2code struct {
	challenge, scope string
	expires          time.Time
	used             bool
	grant            *o2grant // issued from it, for revocation on reuse
}

type o2grant struct {
	info        OAuth2Grant
	seq         int // pair number: 0 from the code, then one per refresh
	current     string
	currentUsed bool // the pair of seq has been used (its access token or its refresh token)
}

type o2access struct {
	grant   *o2grant
	seq     int
	expires time.Time
}

type o2refresh struct {
	grant *o2grant
	seq   int
	spent bool
}

func newOAuth2Server(opts OAuth2Options, now func() time.Time) *oauth2Server {
	if opts.RedirectURL == "" {
		opts.RedirectURL = DefaultOAuth2RedirectURL
	}
	if opts.TokenLifetime == 0 {
		opts.TokenLifetime = DefaultOAuth2TokenLifetime
	}
	return &oauth2Server{opts: opts, now: now, codes: map[string]*o2code{}, access: map[string]*o2access{}, refresh: map[string]*o2refresh{}}
}

func (o *oauth2Server) routes(mux *http.ServeMux, s *Server) {
	mux.HandleFunc("GET /i/oauth2/authorize", o.authorize)
	mux.HandleFunc("POST /2/oauth2/token", func(w http.ResponseWriter, r *http.Request) { o.token(w, r, s) })
	mux.HandleFunc("POST /2/oauth2/revoke", o.revokeEndpoint)
	mux.HandleFunc("GET /_emulator/oauth2", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, map[string]any{"grants": o.grantsInfo(), "token_fault": o.tokenFault()})
	})
	mux.HandleFunc("POST /_emulator/oauth2/revoke-all", func(w http.ResponseWriter, r *http.Request) {
		adminJSON(w, http.StatusOK, map[string]int{"revoked": o.revokeAll("revoked by the admin")})
	})
	mux.HandleFunc("POST /_emulator/oauth2/token-fault", func(w http.ResponseWriter, r *http.Request) {
		var f OAuth2TokenFault
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<12)).Decode(&f); err != nil {
			adminError(w, http.StatusBadRequest, err.Error())
			return
		}
		if f.Next < 0 || f.Status != 0 && (f.Status < 400 || f.Status > 599) {
			adminError(w, http.StatusBadRequest, "next must be >= 0 and status 0 (cut the connection) or 400..599")
			return
		}
		o.setTokenFault(f)
		adminJSON(w, http.StatusOK, f)
	})
}

// OAuth2Grants lists every grant, oldest first.
func (s *Server) OAuth2Grants() []OAuth2Grant { return s.oauth2.grantsInfo() }

// OAuth2RevokeAll revokes every grant (as a user revoking the app would) and returns how many
// were alive.
func (s *Server) OAuth2RevokeAll() int { return s.oauth2.revokeAll("revoked by the admin") }

// SetOAuth2TokenFault makes the next f.Next token-endpoint requests fail; see [OAuth2TokenFault].
func (s *Server) SetOAuth2TokenFault(f OAuth2TokenFault) { s.oauth2.setTokenFault(f) }

func (o *oauth2Server) grantsInfo() []OAuth2Grant {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make([]OAuth2Grant, len(o.grants))
	for i, g := range o.grants {
		out[i] = g.info
	}
	return out
}

func (o *oauth2Server) tokenFault() OAuth2TokenFault {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fault
}

func (o *oauth2Server) setTokenFault(f OAuth2TokenFault) {
	o.mu.Lock()
	o.fault = f
	o.mu.Unlock()
}

func (o *oauth2Server) revokeAll(why string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, g := range o.grants {
		if g.info.Revoked == "" {
			g.info.Revoked = why
			n++
		}
	}
	return n
}

// authorize serves GET /i/oauth2/authorize: it checks the request and, as if the user clicked
// "Authorize app", redirects to the registered callback with a code and the state. An unknown
// client or an unregistered redirect_uri is answered here (RFC 6749 §4.1.2.1: never redirect to
// an unverified URI); other problems are redirected as error=... .
func (o *oauth2Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	page := func(msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintln(w, "Something went wrong: "+msg)
	}
	if o.opts.ClientID == "" || !constantEqual(q.Get("client_id"), o.opts.ClientID) {
		page("unknown client_id (the emulator's client is set with --oauth2-client-id)")
		return
	}
	if q.Get("redirect_uri") != o.opts.RedirectURL {
		page("redirect_uri is not the registered callback URI (--oauth2-redirect-url " + o.opts.RedirectURL + ")")
		return
	}
	fail := func(code, desc string) {
		u, _ := url.Parse(o.opts.RedirectURL)
		v := url.Values{"error": {code}, "error_description": {desc}}
		if st := q.Get("state"); st != "" {
			v.Set("state", st)
		}
		u.RawQuery = v.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	scope := strings.Fields(q.Get("scope"))
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "response_type must be code")
		return
	case q.Get("state") == "":
		fail("invalid_request", "state is required")
		return
	case q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case !validChallenge(q.Get("code_challenge")):
		fail("invalid_request", "code_challenge must be the base64url SHA-256 of the verifier")
		return
	case len(scope) == 0:
		fail("invalid_scope", "scope is required")
		return
	}
	for _, sc := range scope {
		if !slices.Contains(OAuth2Scopes, sc) {
			fail("invalid_scope", "unknown scope "+sc)
			return
		}
	}
	code := randomToken()
	o.mu.Lock()
	now := o.now()
	for k, c := range o.codes {
		if now.After(c.expires.Add(oauth2CodeLifetime)) {
			delete(o.codes, k)
		}
	}
	o.codes[code] = &o2code{challenge: q.Get("code_challenge"), scope: strings.Join(scope, " "), expires: now.Add(oauth2CodeLifetime)}
	o.mu.Unlock()
	u, _ := url.Parse(o.opts.RedirectURL)
	u.RawQuery = url.Values{"state": {q.Get("state")}, "code": {code}}.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// validChallenge: 43 characters of base64url without padding (a SHA-256).
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// pkceMatches verifies a code_verifier against an S256 challenge (RFC 7636 §4.1, §4.6).
func pkceMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	for i := 0; i < len(verifier); i++ {
		if !unreserved(verifier[i]) {
			return false
		}
	}
	sum := sha256.Sum256([]byte(verifier))
	return constantEqual(base64.RawURLEncoding.EncodeToString(sum[:]), challenge)
}

func randomToken() string {
	b := make([]byte, 36)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func oauth2Error(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// clientAuth authenticates the client of a token or revoke request; it answers and returns false
// when the client is refused.
func (o *oauth2Server) clientAuth(w http.ResponseWriter, r *http.Request, form url.Values) bool {
	if o.opts.ClientID == "" {
		oauth2Error(w, http.StatusUnauthorized, "invalid_client", "OAuth 2.0 is not enabled on this emulator (--oauth2-client-id)")
		return false
	}
	user, pass, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1: both are form-urlencoded before Basic encoding.
		if u, err := url.QueryUnescape(user); err == nil {
			user = u
		}
		if p, err := url.QueryUnescape(pass); err == nil {
			pass = p
		}
	}
	if o.opts.ClientSecret != "" {
		if !basic {
			oauth2Error(w, http.StatusUnauthorized, "unauthorized_client", "Missing valid authorization header")
			return false
		}
		if !constantEqual(user, o.opts.ClientID) || !constantEqual(pass, o.opts.ClientSecret) {
			oauth2Error(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
			return false
		}
		return true
	}
	id := form.Get("client_id")
	if basic {
		id = user
	}
	if id == "" {
		oauth2Error(w, http.StatusBadRequest, "invalid_request", "Missing required parameter [client_id].")
		return false
	}
	if !constantEqual(id, o.opts.ClientID) {
		oauth2Error(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed")
		return false
	}
	return true
}

func (o *oauth2Server) readForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if !isFormContentType(r.Header.Get("Content-Type")) {
		oauth2Error(w, http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<16)
	if err := r.ParseForm(); err != nil {
		oauth2Error(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return nil, false
	}
	return r.PostForm, true
}

// token serves POST /2/oauth2/token.
func (o *oauth2Server) token(w http.ResponseWriter, r *http.Request, s *Server) {
	rec := &recorder{ResponseWriter: w}
	defer func() { s.countRequest("POST /2/oauth2/token", rec.status) }()
	w = rec
	o.mu.Lock()
	f := o.fault
	if f.Next > 0 {
		o.fault.Next--
	}
	o.mu.Unlock()
	if f.Next > 0 {
		if f.Status == 0 {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				panic(http.ErrAbortHandler)
			}
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.Status)
		fmt.Fprintf(w, `{"title":%q,"type":"about:blank","status":%d,"detail":%q}`+"\n", http.StatusText(f.Status), f.Status, http.StatusText(f.Status))
		return
	}
	form, ok := o.readForm(w, r)
	if !ok || !o.clientAuth(w, r, form) {
		return
	}
	switch form.Get("grant_type") {
	case "authorization_code":
		o.exchangeCode(w, form)
	case "refresh_token":
		o.refreshGrant(w, form)
	case "":
		oauth2Error(w, http.StatusBadRequest, "invalid_request", "Missing required parameter [grant_type].")
	default:
		oauth2Error(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
}

const (
	badCode  = "Value passed for the authorization code was invalid."
	badToken = "Value passed for the token was invalid."
)

func (o *oauth2Server) exchangeCode(w http.ResponseWriter, form url.Values) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	c := o.codes[form.Get("code")]
	switch {
	case c == nil || !now.Before(c.expires):
		oauth2Error(w, http.StatusBadRequest, "invalid_request", badCode)
		return
	case c.used:
		// RFC 6749 §4.1.2: a code used twice revokes what it granted.
		if c.grant != nil && c.grant.info.Revoked == "" {
			c.grant.info.Revoked = "authorization code reused"
		}
		oauth2Error(w, http.StatusBadRequest, "invalid_request", badCode)
		return
	// RFC 6749 §4.1.3: redirect_uri must be the authorization request's, which authorize only
	// accepts when it is the registered one.
	case form.Get("redirect_uri") != o.opts.RedirectURL, !pkceMatches(form.Get("code_verifier"), c.challenge):
		oauth2Error(w, http.StatusBadRequest, "invalid_request", badCode)
		return
	}
	c.used = true
	g := &o2grant{info: OAuth2Grant{ID: len(o.grants) + 1, Scope: c.scope, Created: now}}
	o.grants = append(o.grants, g)
	c.grant = g
	o.issue(w, g, now)
}

func (o *oauth2Server) refreshGrant(w http.ResponseWriter, form url.Values) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	rt := o.refresh[form.Get("refresh_token")]
	if rt == nil || rt.grant.info.Revoked != "" {
		oauth2Error(w, http.StatusBadRequest, "invalid_request", badToken)
		return
	}
	g := rt.grant
	if rt.spent {
		g.info.Revoked = "refresh token reused"
		g.info.LostAnswer = rt.seq == g.seq-1 && !g.currentUsed
		oauth2Error(w, http.StatusBadRequest, "invalid_request", badToken)
		return
	}
	rt.spent = true
	g.info.Refreshes++
	o.issue(w, g, now)
}

// issue makes a new pair for g and answers it; o.mu is held.
func (o *oauth2Server) issue(w http.ResponseWriter, g *o2grant, now time.Time) {
	if g.current != "" {
		g.seq++
	}
	at := randomToken()
	o.access[at] = &o2access{grant: g, seq: g.seq, expires: now.Add(o.opts.TokenLifetime)}
	body := map[string]any{
		"token_type":   "bearer",
		"expires_in":   int(o.opts.TokenLifetime / time.Second),
		"access_token": at,
		"scope":        g.info.Scope,
	}
	g.current, g.currentUsed = at, false
	if slices.Contains(strings.Fields(g.info.Scope), "offline.access") {
		rt := randomToken()
		o.refresh[rt] = &o2refresh{grant: g, seq: g.seq}
		body["refresh_token"] = rt
	}
	// Forget expired access tokens now and then, so that a long run stays small.
	if len(o.access) > 1024 {
		for k, a := range o.access {
			if now.After(a.expires) {
				delete(o.access, k)
			}
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(body)
}

// revokeEndpoint serves POST /2/oauth2/revoke: the grant the token belongs to is revoked. RFC 7009
// §2.2: the answer is 200 whether or not the token was known.
func (o *oauth2Server) revokeEndpoint(w http.ResponseWriter, r *http.Request) {
	form, ok := o.readForm(w, r)
	if !ok || !o.clientAuth(w, r, form) {
		return
	}
	tok := form.Get("token")
	o.mu.Lock()
	var g *o2grant
	if a := o.access[tok]; a != nil {
		g = a.grant
	} else if rt := o.refresh[tok]; rt != nil {
		g = rt.grant
	}
	if g != nil && g.info.Revoked == "" {
		g.info.Revoked = "revoked by the client"
	}
	o.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintln(w, `{"revoked":true}`)
}

// checkAccess authenticates an OAuth 2.0 user access token for the API endpoint pattern.
func (o *oauth2Server) checkAccess(tok, endpoint string) *authFailure {
	o.mu.Lock()
	defer o.mu.Unlock()
	a := o.access[tok]
	if a == nil || a.grant.info.Revoked != "" || !o.now().Before(a.expires) {
		reason := "unknown oauth2 access token"
		if a != nil {
			reason = "expired or revoked oauth2 access token"
		}
		return &authFailure{status: http.StatusUnauthorized, code: 89, msg: "Unauthorized", reason: reason, plain: true}
	}
	if a.seq == a.grant.seq {
		a.grant.currentUsed = true
	}
	for _, need := range scopesFor(endpoint) {
		if !slices.Contains(strings.Fields(a.grant.info.Scope), need) {
			return &authFailure{status: http.StatusForbidden, code: 0, msg: "Forbidden", reason: "oauth2 token lacks scope " + need, plain: true}
		}
	}
	return nil
}

// scopesFor lists the scopes an endpoint pattern needs.
func scopesFor(endpoint string) []string {
	_, path, _ := strings.Cut(endpoint, " ")
	switch {
	case strings.HasPrefix(path, "/2/media"):
		return []string{"media.write"}
	case path == "/2/users/me":
		return []string{"tweet.read", "users.read"}
	}
	return nil
}

// countRequest records a request that did not go through serveAPI in the stats.
func (s *Server) countRequest(endpoint string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stats[endpoint] == nil {
		s.stats[endpoint] = make(map[int]int)
	}
	s.stats[endpoint][status]++
	s.total++
}
