package emulator

import (
	"io"
	"net/http"
	"net/url"
	"strings"
)

// authMode says which credentials an endpoint takes.
type authMode int

const (
	authOAuth1 authMode = iota
	authOAuth1OrBearer
)

// authenticate checks OAuth 1.0a (and, where allowed, a bearer token). It
// reads a form-urlencoded body, whose parameters are signed, into c.form.
func (s *Server) authenticate(c *call, am authMode) *authFailure {
	r := c.r
	if isFormContentType(r.Header.Get("Content-Type")) && r.Body != nil {
		t0 := s.now()
		body, err := io.ReadAll(http.MaxBytesReader(c.w, r.Body, maxFormBody))
		c.bodyTime = s.now().Sub(t0)
		if err != nil {
			return &authFailure{status: http.StatusRequestEntityTooLarge, code: 0, msg: "Request body too large", reason: "form body too large"}
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return &authFailure{status: http.StatusBadRequest, code: 215, msg: "Bad Authentication data.", reason: "malformed form body"}
		}
		c.form = form
	}
	h := r.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		if am != authOAuth1OrBearer {
			return &authFailure{status: http.StatusForbidden, code: 220, msg: "Your credentials do not allow access to this resource.", reason: "bearer token on a user-context endpoint"}
		}
		tok = strings.TrimSpace(tok)
		if s.creds.AppBearerToken != "" && constantEqual(tok, s.creds.AppBearerToken) {
			return &authFailure{status: http.StatusForbidden, code: 220, msg: "Your credentials do not allow access to this resource.", reason: "app-only bearer token", appOnly: true}
		}
		if s.creds.BearerToken != "" && constantEqual(tok, s.creds.BearerToken) {
			return nil
		}
		if s.oauth2.opts.ClientID != "" {
			return s.oauth2.checkAccess(tok, c.endpoint)
		}
		return &authFailure{status: http.StatusUnauthorized, code: 89, msg: "Invalid or expired token.", reason: "unknown bearer token"}
	}
	or := &oauthRequest{method: r.Method, baseURI: requestBaseURI(r), query: r.URL.Query(), form: c.form}
	if h != "" {
		p, err := parseOAuthHeader(h)
		if err != nil {
			return &authFailure{status: http.StatusBadRequest, code: 215, msg: "Bad Authentication data.", reason: err.Error()}
		}
		or.oauthParams, or.fromHeader = p, true
		return s.verifier.verify(or, s.creds)
	}
	// RFC 5849 §3.5.2-3: protocol parameters in the form body or the query,
	// where they are signed as ordinary parameters.
	or.oauthParams = make(map[string]string)
	for _, vals := range []url.Values{or.query, or.form} {
		for k, v := range vals {
			if strings.HasPrefix(k, "oauth_") && len(v) > 0 {
				or.oauthParams[k] = v[0]
			}
		}
	}
	if len(or.oauthParams) == 0 {
		return errNoAuth
	}
	return s.verifier.verify(or, s.creds)
}

// refuseAuth answers a request that failed authentication. v1.1 gives the
// failure's code ({"errors":[{"code":32,…}]}). v2 gives a plain 401
// problem for every missing, malformed or wrong credential, as X does
// (see plainProblem), X's Unsupported Authentication 403 for an app-only
// bearer token, and the empty 413 for a form body too large to read.
func (c *call) refuseAuth(ae *authFailure) {
	switch {
	case c.ver == v11:
		c.v11Error(ae.status, ae.code, ae.msg)
	case ae.appOnly:
		c.unsupportedAuth()
	case ae.status == http.StatusRequestEntityTooLarge:
		c.empty(http.StatusRequestEntityTooLarge)
	case ae.plain:
		c.plainProblem(ae.status) // an OAuth 2.0 token: expired (401) or without the scope (403)
	default:
		c.plainProblem(http.StatusUnauthorized)
	}
}
