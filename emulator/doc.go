// Package emulator is a local, faithful stand-in for the X (Twitter) media
// upload API: both protocol versions under one base URL, as `mediasync
// emulate`, `mediasync demo` and every upload test use it.
//
// # What it serves
//
//   - v2: POST /2/media/upload (one-shot), POST /2/media/upload/initialize,
//     POST /2/media/upload/{id}/append, POST /2/media/upload/{id}/finalize,
//     GET /2/media/upload?command=STATUS&media_id=, POST /2/media/metadata,
//     GET /2/users/me.
//   - v1.1: POST /1.1/media/upload.json (simple upload, INIT, APPEND,
//     FINALIZE), GET /1.1/media/upload.json?command=STATUS,
//     POST /1.1/media/metadata/create.json, GET /1.1/account/verify_credentials.json.
//   - OAuth 2.0 (Options.OAuth2, off when its ClientID is ""; oauth2.go):
//     GET /i/oauth2/authorize, POST /2/oauth2/token, POST /2/oauth2/revoke.
//   - admin: GET /_emulator/media, GET /_emulator/media/{id},
//     GET /_emulator/stats, GET and POST /_emulator/faults, POST /_emulator/reset,
//     GET /_emulator/oauth2, POST /_emulator/oauth2/revoke-all,
//     POST /_emulator/oauth2/token-fault.
//
// # Guarantees
//
// Answers have X's status codes, JSON shapes and headers as recorded from
// the real service, with the source cited where each is made: v1.1 errors
// as {"errors":[{"code":…}]}; v2 {"data":…} and RFC 7807 problems, its 401,
// 403 and 429 plain problems without a code. x-rate-limit-* (and, on v2
// media endpoints, x-app-limit-24hour-* and x-user-limit-24hour-*) report
// the budgets the endpoint spent; answers that reached no budget
// (authentication failures, account refusals, injected 5xx) carry none.
//
// Requests are authenticated with OAuth 1.0a HMAC-SHA1 signatures verified by
// this package's own RFC 5849 code: query parameters and
// application/x-www-form-urlencoded body parameters (with or without a charset)
// are signed, multipart and JSON bodies never; a timestamp more than 15 minutes
// off is refused with code 135, a reused nonce and a wrong key, token or
// signature with 401 code 32. v2 endpoints also take the configured OAuth 2.0
// bearer token, and the access tokens of the OAuth 2.0 server: the
// Authorization Code flow with PKCE S256 (verified by this package's own
// SHA-256 code), public and confidential clients, access tokens that expire
// after OAuth2Options.TokenLifetime (401 after), single-use refresh tokens
// (reusing a spent one revokes the grant; OAuth2Grant.LostAnswer tells a
// lost refresh answer from a double spend), scopes enforced (media.write on
// the media endpoints, users.read and tweet.read on /2/users/me; 403
// otherwise). Grants survive Reset. Secrets are never logged.
//
// OAuth 1.0a HMAC-SHA1 signatures are verified by this package's own RFC
// 5849 code (query and form-urlencoded parameters signed, multipart and JSON
// bodies not; 15-minute timestamp window; nonces not reusable). v2 also
// takes the configured OAuth 2.0 user bearer token, and refuses the
// configured app-only one (Credentials.AppBearerToken) with X's 403
// "Unsupported Authentication". Secrets are never logged.
//
// Uploads are checked as X checks them: sizes, types, categories, segment
// indexes (reassembled by index), total_bytes, content sniffing, image
// dimensions, MP4 structure and a tweet_video/dm_video's 140 s limit
// (failed in processing, as X reports it). Video and GIF processing runs on
// the clock, without goroutines: pending, in_progress, then succeeded or
// failed over Faults.ProcessingTime. Media that needs no processing has no
// STATUS (v2 400 "BadRequest: Not found", v1.1 404 code 34). A FINALIZE or
// STATUS that arrives while another FINALIZE of the id reads its bytes waits
// for it. Media ids expire 86400 s after INIT. MediaInfo.SHA256 is computed
// when first asked for, not in FINALIZE. Bytes live under Options.StoreDir
// (or a temp dir) unless Options.InMemory.
//
// All time comes from time.Now, so the emulator runs unchanged inside a
// testing/synctest bubble when reached through an in-memory transport.
//
// # Faults
//
// [Faults] inject, on demand and at run time (POST /_emulator/faults
// replaces every knob): latency, a bandwidth cap, retryable 5xx, connections
// cut mid-body, lost answers (processed, answer discarded, connection
// closed), tighter rate limits and daily budgets (429 when spent), failed
// processing, processing_info without check_after_secs or stuck in_progress
// with an error, X's edge 413 with an empty body for a body over a limit
// (before anything else looks at it), and account-level refusals
// (CreditsDepleted 402; Unsupported Authentication, Client Forbidden,
// missing scope 403) that answer every authenticated API request while on.
// The admin API is never faulted. A non-zero Seed makes the random faults
// repeat.
//
// # Serving and cancellation
//
// [ListenAndServe] and [Server.Serve] return nil when their context is
// cancelled, after a graceful shutdown (requests in flight get 5 seconds).
// They bound slow clients: header and idle timeouts, and a minimum body rate
// over the time spent waiting for the body (below it: 408, connection
// closed), so trickling connections cannot pin them. A request whose client
// goes away while latency is injected is abandoned. [Server.Close] removes
// the stored bytes; requests after it get 503. Apart from Serve's HTTP
// server the package starts no goroutines.
//
// Package emulatortest starts an emulator for other packages' tests, on
// loopback or in memory (for testing/synctest bubbles).
package emulator
