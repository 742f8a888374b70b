// Package auth is mediasync's OAuth 2.0 user-context client for X: the Authorization Code flow
// with PKCE (S256) over a loopback redirect ([Login]), a token file that cannot lose the grant
// ([Store]) and an [http.RoundTripper] that keeps the access token fresh ([Transport]).
//
// # Contract
//
// The token file (default <user config dir>/mediasync/token.json, [DefaultPath]) is JSON, mode
// 0600 (a wider mode is repaired with a warning, refused if it cannot be), and only ever replaced
// whole: a temp file in the same directory, renamed over it, fsynced, the directory fsynced. Every
// writer holds an exclusive flock on the file + ".lock", and a refresh re-reads the file after
// taking it, so two processes sharing the file (two agents, `upload` beside `run`) never spend one
// refresh token twice: the second one finds the first one's new pair and uses it. A refreshed pair
// is in the file before its access token is used; one that could not be written is kept in memory
// and written by the next refresh, unless the file changed meanwhile (a newer `auth login` wins). X's refresh tokens are single use (every refresh
// returns a new one and reusing a spent one can revoke the grant; r-lib/httr2 issue #197, 2023-01;
// gptme/gptme-contrib PR #285, 2026-02), so the one unavoidable loss is a process killed between
// the token endpoint's answer and the rename; the refreshed pair is therefore renamed into place
// before it is fsynced, which leaves that window at one small write.
//
// Refreshes happen at use, when less than [RefreshMargin] (5 minutes or a tenth of the lifetime,
// whichever is shorter) is left or after a 401, never on a timer. A network error, 5xx or 429 of the
// token endpoint keeps the grant and fails the request with a temporary [*RefreshError]; the
// transport makes at most one token request per request and leaves retrying to its caller, while
// a full-jitter backoff shared by the process spaces the token requests (RefreshError.RetryAt says
// until when). A refused grant (invalid_grant, or X's 400 invalid_request "Value
// passed for the token was invalid.") is recorded in the file and every later request fails at
// once with a [*LoginRequiredError] (LoginRequired() true, wraps [ErrLoginRequired]) until the file
// changes: each request stats it, so a running agent picks up a new `mediasync auth login` without
// a restart. A refused client (invalid_client, unauthorized_client) is also a LoginRequiredError,
// with ReasonClient: the refresh token is not spent, the configuration is what must change.
//
// # golang.org/x/oauth2
//
// x/oauth2 supplies the protocol pieces: GenerateVerifier and S256ChallengeOption (PKCE),
// Config.AuthCodeURL, Exchange, the refresh_token request of Config.TokenSource (one call, its
// answer parsed), RetrieveError. Its ReuseTokenSource refresh logic is not used: it keeps tokens in
// memory only, knows no other process, takes no lock and writes nothing, so the new refresh token
// would die with the process. Revocation is not in x/oauth2; [Revoke] is ours.
//
// Tokens and secrets never appear in logs or errors: [Token] prints without them, and token
// endpoint errors are reported by status, error code and description only.
//
// # Concurrency
//
// Store and Transport are safe for concurrent use; Transports sharing one Store make one refresh
// at a time for the process. Login starts an HTTP server on the redirect URI until it returns, and,
// with NoBrowser, a goroutine reading LoginOptions.In. No other goroutines.
package auth
