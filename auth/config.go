package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// X's OAuth 2.0 endpoints (docs.x.com, "OAuth 2.0 Authorization Code Flow with PKCE"; revoke:
// POST /2/oauth2/revoke on the same host as the token endpoint).
const (
	XAuthURL   = "https://x.com/i/oauth2/authorize"
	XTokenURL  = "https://api.x.com/2/oauth2/token"
	XRevokeURL = "https://api.x.com/2/oauth2/revoke"
	// XAPIBaseURL is the API base URL whose OAuth 2.0 endpoints are the ones above.
	XAPIBaseURL = "https://api.x.com"

	// DefaultRedirectURL is the loopback redirect URI `auth login` listens on by default; it must
	// equal a callback URI registered for the app in the developer portal.
	DefaultRedirectURL = "http://127.0.0.1:8765/callback"
)

// DefaultScopes are what mediasync asks for: media.write to upload, users.read and tweet.read for
// GET /2/users/me (`auth status`), offline.access for a refresh token.
var DefaultScopes = []string{"media.write", "users.read", "tweet.read", "offline.access"}

// Config is the OAuth 2.0 client: who it is and where X's endpoints are.
type Config struct {
	ClientID     string
	ClientSecret string // "" for a public client (client_id in the body); else HTTP Basic
	AuthURL      string
	TokenURL     string
	RevokeURL    string
	RedirectURL  string   // "" = DefaultRedirectURL
	Scopes       []string // nil = DefaultScopes
}

// Endpoints returns the authorize, token and revoke URLs that go with an API base URL: X's own for
// https://api.x.com, else the same paths on that base URL (the emulator serves them there).
func Endpoints(baseURL string) (authURL, tokenURL, revokeURL string) {
	b := strings.TrimRight(baseURL, "/")
	if b == "" || b == XAPIBaseURL {
		return XAuthURL, XTokenURL, XRevokeURL
	}
	return b + "/i/oauth2/authorize", b + "/2/oauth2/token", b + "/2/oauth2/revoke"
}

func (c Config) scopes() []string {
	if c.Scopes == nil {
		return DefaultScopes
	}
	return c.Scopes
}

func (c Config) redirectURL() string {
	if c.RedirectURL == "" {
		return DefaultRedirectURL
	}
	return c.RedirectURL
}

// validate reports what is missing.
func (c Config) validate() error {
	var errs []error
	if c.ClientID == "" {
		errs = append(errs, errors.New("credentials.client_id is not set (or MEDIASYNC_CLIENT_ID)"))
	}
	if c.TokenURL == "" {
		errs = append(errs, errors.New("no token URL"))
	}
	return errors.Join(errs...)
}

// oauth2Config is the golang.org/x/oauth2 view of c. The auth style is explicit (never
// auto-detected, which would try both and could spend a refresh token on a probe): HTTP Basic for a
// confidential client, client_id in the body for a public one, as X documents.
func (c Config) oauth2Config() *oauth2.Config {
	style := oauth2.AuthStyleInParams
	if c.ClientSecret != "" {
		style = oauth2.AuthStyleInHeader
	}
	return &oauth2.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: c.AuthURL, TokenURL: c.TokenURL, AuthStyle: style},
		RedirectURL:  c.redirectURL(),
		Scopes:       c.scopes(),
	}
}

// tokenFrom converts what x/oauth2 returned into our Token.
func tokenFrom(ot *oauth2.Token, clientID string, obtained time.Time) *Token {
	scope, _ := ot.Extra("scope").(string)
	exp := ot.Expiry
	if exp.IsZero() {
		// No expires_in: X always sends one; assume X's documented 2 hours rather than forever.
		exp = obtained.Add(2 * time.Hour)
	}
	return &Token{ClientID: clientID, AccessToken: ot.AccessToken, RefreshToken: ot.RefreshToken, Scope: scope, Expiry: exp, Obtained: obtained}
}

// endpointError describes a failed token-endpoint call without its body (which an odd server might
// fill with anything) and classifies it.
type endpointError struct {
	status      int // 0 for a network error
	code        string
	description string
	err         error
}

func (e *endpointError) Error() string {
	switch {
	case e.code != "" && e.description != "":
		return fmt.Sprintf("token endpoint answered %d %s: %s", e.status, e.code, e.description)
	case e.code != "":
		return fmt.Sprintf("token endpoint answered %d %s", e.status, e.code)
	case e.status != 0:
		return fmt.Sprintf("token endpoint answered %d %s", e.status, http.StatusText(e.status))
	}
	return fmt.Sprintf("token endpoint: %v", e.err)
}

func (e *endpointError) Unwrap() error { return e.err }

// classify turns an error of x/oauth2's Exchange or refresh into an *endpointError.
func classify(err error) *endpointError {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		ee := &endpointError{code: re.ErrorCode, description: truncate(re.ErrorDescription, 200)}
		if re.Response != nil {
			ee.status = re.Response.StatusCode
		}
		return ee
	}
	return &endpointError{err: err}
}

// grantRefused reports whether the answer means the refresh token (or code) is no good: RFC 6749's
// invalid_grant, and X's own answer to a spent, revoked or unknown refresh token, 400 invalid_request
// "Value passed for the token was invalid." (as X's users report it, e.g. plhery/node-twitter-api-v2
// issue #496 for codes, 2023-08; gptme/gptme-contrib PR #285, 2026-02, for a reused refresh token).
// Our refresh requests are well formed, so a 400 invalid_request can only be about the token.
func (e *endpointError) grantRefused() bool {
	return e.code == "invalid_grant" || e.status == http.StatusBadRequest && e.code == "invalid_request"
}

// clientRefused reports whether the token endpoint refused the client itself: the grant was not
// looked at (so the refresh token is not spent), and logging in again with the same client
// configuration will not help; the configuration must be fixed.
func (e *endpointError) clientRefused() bool {
	return e.code == "invalid_client" || e.code == "unauthorized_client"
}

// transient reports whether trying again later may work: no answer, 5xx, 429, or an answer that
// could not be read (a 200 cut short; the refresh token may or may not be spent, and trying again is
// the only way to find out).
func (e *endpointError) transient() bool {
	if e.grantRefused() || e.clientRefused() {
		return false
	}
	return e.status == 0 || e.status >= 500 || e.status == http.StatusTooManyRequests || e.status == http.StatusRequestTimeout || e.code == "temporarily_unavailable" || e.code == "server_error"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// withClient puts hc where x/oauth2 looks for its HTTP client.
func withClient(ctx context.Context, hc *http.Client) context.Context {
	if hc == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, hc)
}

// Revoke asks the token endpoint's revoke URL to revoke tok's grant (X: POST /2/oauth2/revoke with
// token and token_type_hint, the client authenticated as for the token endpoint). x/oauth2 has no
// revocation, so this is ours. A server without the endpoint (404) is not an error: logout still
// removes the file.
func Revoke(ctx context.Context, cfg Config, hc *http.Client, tok *Token) error {
	if cfg.RevokeURL == "" || tok == nil {
		return nil
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	token, hint := tok.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = tok.AccessToken, "access_token"
	}
	if token == "" {
		return nil
	}
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	if cfg.ClientSecret == "" {
		form.Set("client_id", cfg.ClientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.RevokeURL, strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if cfg.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(cfg.ClientID), url.QueryEscape(cfg.ClientSecret))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound || resp.StatusCode/100 == 2 {
		return nil
	}
	return fmt.Errorf("revoke: answered %s", resp.Status)
}
