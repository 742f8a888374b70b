package auth

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/mediasync/mediasync/internal/backoff"
)

// Defaults of [Transport]'s zero-value fields.
const (
	DefaultRefreshBackoff    = time.Second
	DefaultMaxRefreshBackoff = time.Minute
	DefaultTokenTimeout      = 30 * time.Second
	// forcedCooldown: after a 401 forced a refresh, a 401 for the token that refresh produced
	// within this time is handed to the caller instead of forcing another: X answers 401 for
	// other reasons too, and each refresh spends a refresh token.
	forcedCooldown = 10 * time.Second
)

// Transport is an [http.RoundTripper] that adds "Authorization: Bearer <access token>" to a clone
// of each request, taking the token from Store and refreshing it as needed:
//
//   - ahead of expiry, when less than [RefreshMargin] of its lifetime is left, checked at each
//     request (never on a timer);
//   - after a 401, once per request (unless the file already holds a newer token), then the request
//     is sent once more if its body can be replayed (GetBody); the second answer goes to the caller.
//
// A refresh takes the Store's cross-process lock, re-reads the file (another process may have
// refreshed: its token is then used and no refresh is made), calls the token endpoint, and writes
// the new pair durably before the new access token is used. The token request is not cancelled by
// the caller's context once sent (its answer carries the only copy of the new refresh token); it
// has its own timeout.
//
// A network error, 5xx or 429 from the token endpoint keeps the grant: while the current access
// token is still valid it goes on being used; otherwise the request fails at once with a
// [*RefreshError]. The transport does not retry: one RoundTrip makes at most one token request, and
// the caller's retry loop (the uploader's) decides whether to send the request again. The Store
// keeps a full-jitter backoff shared by all its requests: until it passes, requests fail with a
// RefreshError without calling the token endpoint, and RefreshError.RetryAt says when it passes,
// so that a retry loop waits for it instead of spending attempts. A refused grant, a missing or damaged token file, or a refused client fail with a
// [*LoginRequiredError]; the refused grant is recorded in the file, so other processes stop too,
// and every request re-checks the file with a stat, so a new `auth login` is picked up at once.
type Transport struct {
	Store  *Store
	Config Config
	// Base sends the API requests and the token requests; nil = http.DefaultTransport.
	Base http.RoundTripper
	// RefreshBackoff and MaxRefreshBackoff bound the Store's full-jitter backoff between refresh
	// attempts (after the n-th consecutive failure, no attempt for a random time up to
	// min(Max, RefreshBackoff·2ⁿ⁻¹)); 0 = the defaults.
	RefreshBackoff, MaxRefreshBackoff time.Duration
	// TokenTimeout bounds one token-endpoint request; 0 = DefaultTokenTimeout.
	TokenTimeout time.Duration
}

var _ http.RoundTripper = (*Transport)(nil)

func (t *Transport) base() http.RoundTripper {
	if t.Base == nil {
		return http.DefaultTransport
	}
	return t.Base
}

// RoundTrip authorises and sends req; see [Transport].
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	tok, err := t.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := t.send(req, req.Body, tok.AccessToken)
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	tok2, err := t.token(ctx, tok.AccessToken)
	if err != nil {
		discard(resp)
		return nil, err
	}
	if tok2.AccessToken == tok.AccessToken || !replayable {
		return resp, nil
	}
	discard(resp)
	body := req.Body
	if req.GetBody != nil {
		if body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	return t.send(req, body, tok2.AccessToken)
}

func (t *Transport) send(req *http.Request, body io.ReadCloser, access string) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Body = body
	r.Header.Set("Authorization", "Bearer "+access)
	return t.base().RoundTrip(r)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func discard(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// Token returns an access token to use now, refreshing it first when it is due. `auth status` and
// tests use it; requests go through RoundTrip.
func (t *Transport) Token(ctx context.Context) (*Token, error) { return t.token(ctx, "") }

// token returns a usable token. rejected, when not "", is an access token the API just refused
// with a 401: a token other than it is wanted.
func (t *Transport) token(ctx context.Context, rejected string) (*Token, error) {
	tok, err := t.Store.current()
	if err != nil {
		return nil, err
	}
	if err := t.usable(tok); err != nil {
		return nil, err
	}
	if t.satisfied(tok, rejected, time.Now()) {
		return tok, nil
	}
	return t.refresh(ctx, rejected)
}

// usable returns why tok cannot be used at all, if it cannot.
func (t *Transport) usable(tok *Token) error {
	s := t.Store
	if tok.Invalid != "" {
		return &LoginRequiredError{Reason: ReasonRefused, Path: s.path, Detail: tok.Invalid}
	}
	if t.Config.ClientID != "" && tok.ClientID != "" && tok.ClientID != t.Config.ClientID {
		return &LoginRequiredError{Reason: ReasonOtherClient, Path: s.path}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refusedErr != nil && s.refused == tok.RefreshToken {
		return s.refusedErr
	}
	return nil
}

// satisfied reports whether tok can be used without a refresh.
func (t *Transport) satisfied(tok *Token, rejected string, now time.Time) bool {
	if rejected == "" {
		return !tok.due(now)
	}
	if tok.AccessToken != rejected {
		return true // refreshed since the refused request was sent
	}
	s := t.Store
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forcedTok == rejected && now.Sub(s.forcedAt) < forcedCooldown
}

// refresh makes at most one refresh attempt, serialised in the process (Store.sem). It does not
// retry; see [Transport].
func (t *Transport) refresh(ctx context.Context, rejected string) (*Token, error) {
	s := t.Store
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-s.sem }()
	return t.refreshOnce(ctx, rejected)
}

// refreshOnce makes at most one refresh attempt; the caller holds s.sem.
func (t *Transport) refreshOnce(ctx context.Context, rejected string) (*Token, error) {
	s := t.Store
	now := time.Now()
	// Another request of this process may have refreshed while this one waited for s.sem.
	tok, err := s.current()
	if err != nil {
		return nil, err
	}
	if err := t.usable(tok); err != nil {
		return nil, err
	}
	if t.satisfied(tok, rejected, now) {
		return tok, nil
	}
	s.mu.Lock()
	retryAt, pending, failures, last := s.retryAt, s.pending != nil, s.failures, s.lastErr
	s.mu.Unlock()
	if !pending && now.Before(retryAt) {
		if rejected == "" && now.Before(tok.Expiry) {
			return tok, nil // still valid: use it while the token endpoint recovers
		}
		return nil, &RefreshError{Failures: failures, Next: retryAt, Err: last}
	}

	l, err := s.lock(ctx)
	if err != nil {
		return nil, err
	}
	defer s.unlock(l)
	// A refreshed pair whose write failed: the old refresh token is spent, so this pair is the
	// grant, unless the file changed since (a newer login). Write it before anything else.
	p, err := s.takePending()
	if err != nil {
		return nil, err
	}
	if p != nil {
		if err := s.write(p, true); err != nil {
			s.keepPending(p)
			return nil, err
		}
	}
	// Re-read under the lock: another process may have refreshed (or logged in) meanwhile.
	tok, err = s.Load()
	if err != nil {
		return nil, err
	}
	if err := t.usable(tok); err != nil {
		return nil, err
	}
	if t.satisfied(tok, rejected, now) {
		return tok, nil
	}
	if tok.RefreshToken == "" {
		if now.Before(tok.Expiry) && rejected == "" {
			return tok, nil
		}
		return nil, &LoginRequiredError{Reason: ReasonNoRefreshToken, Path: s.path}
	}

	nt, err := t.exchangeRefresh(ctx, tok)
	if err == nil {
		if werr := s.write(nt, true); werr != nil {
			s.keepPending(nt)
			s.log.Error().Err(werr).Msg("refreshed token could not be written; it is kept in memory and not used until written")
			return nil, werr
		}
		s.mu.Lock()
		s.failures, s.retryAt, s.lastErr = 0, time.Time{}, nil
		if rejected != "" {
			s.forcedAt, s.forcedTok = now, nt.AccessToken
		}
		s.mu.Unlock()
		s.log.Debug().Int("refreshes", nt.Refreshes).Time("expiry", nt.Expiry).Bool("after_401", rejected != "").Msg("oauth2 token refreshed")
		return nt, nil
	}
	ee := classify(err)
	switch {
	case ee.grantRefused():
		dead := &Token{ClientID: tok.ClientID, Scope: tok.Scope, LoggedIn: tok.LoggedIn, Refreshes: tok.Refreshes,
			Invalid: "refresh refused at " + now.UTC().Format(time.RFC3339) + ": " + ee.Error()}
		if werr := s.write(dead, false); werr != nil {
			s.log.Error().Err(werr).Msg("could not record the refused grant in the token file")
		}
		// A fact, not the advice: the *LoginRequiredError returned says what to do, and whoever
		// reports it (the agent's pause, the command's error) says it once.
		s.log.Warn().Str("path", s.path).Str("error", ee.Error()).Msg("oauth2 grant refused by the token endpoint; recorded in the token file")
		return nil, &LoginRequiredError{Reason: ReasonRefused, Path: s.path, Detail: ee.Error(), Err: ee}
	case ee.clientRefused():
		lerr := &LoginRequiredError{Reason: ReasonClient, Path: s.path, Detail: ee.Error(), Err: ee}
		s.mu.Lock()
		s.refused, s.refusedErr = tok.RefreshToken, lerr
		s.mu.Unlock()
		s.log.Error().Str("error", ee.Error()).Msg("oauth2 client refused by the token endpoint; the grant is kept")
		return nil, lerr
	}
	failures, next := t.backoff(ee)
	s.log.Warn().Str("error", ee.Error()).Int("attempt", failures).Dur("retry_in", time.Until(next)).Msg("oauth2 token refresh failed; the grant is kept")
	if rejected == "" && now.Before(tok.Expiry) {
		return tok, nil
	}
	return nil, &RefreshError{Failures: failures, Next: next, Err: ee}
}

// backoff records a transient failure: it returns the Store's consecutive failures and the time
// before which no refresh is attempted (a full-jitter backoff).
func (t *Transport) backoff(last error) (int, time.Time) {
	base, ceil := t.RefreshBackoff, t.MaxRefreshBackoff
	if base <= 0 {
		base = DefaultRefreshBackoff
	}
	if ceil <= 0 {
		ceil = DefaultMaxRefreshBackoff
	}
	s := t.Store
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures++
	wait := max(backoff.Policy{Base: base, Max: ceil}.Delay(s.failures), time.Millisecond)
	s.retryAt, s.lastErr = time.Now().Add(wait), last
	return s.failures, s.retryAt
}

// exchangeRefresh makes one refresh_token request. x/oauth2 builds and parses it (client
// authentication, the JSON answer, expires_in); the caller does everything around it.
func (t *Transport) exchangeRefresh(ctx context.Context, tok *Token) (*Token, error) {
	timeout := t.TokenTimeout
	if timeout <= 0 {
		timeout = DefaultTokenTimeout
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	rctx = withClient(rctx, &http.Client{Transport: t.base()})
	ot, err := t.Config.oauth2Config().TokenSource(rctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		return nil, err
	}
	if ot.AccessToken == "" {
		return nil, errors.New("token endpoint answered without an access token")
	}
	nt := tokenFrom(ot, t.Config.ClientID, obtainedAt(ot))
	if nt.RefreshToken == "" {
		nt.RefreshToken = tok.RefreshToken // RFC 6749 §6: the old one stays valid when none is issued
	}
	if nt.Scope == "" {
		nt.Scope = tok.Scope
	}
	if nt.ClientID == "" {
		nt.ClientID = tok.ClientID
	}
	nt.LoggedIn, nt.Refreshes = tok.LoggedIn, tok.Refreshes+1
	return nt, nil
}

// obtainedAt is when x/oauth2 received ot: its Expiry is that moment plus expires_in.
func obtainedAt(ot *oauth2.Token) time.Time {
	if ot.ExpiresIn > 0 && !ot.Expiry.IsZero() {
		return ot.Expiry.Add(-time.Duration(ot.ExpiresIn) * time.Second)
	}
	return time.Now()
}
