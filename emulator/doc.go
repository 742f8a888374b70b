// Package emulator is a local, faithful stand-in for the X (Twitter) media upload API, both
// protocol versions under one base URL: `mediasync emulate`, `mediasync demo` and every upload
// test use it.
//
// # What it serves
//
//   - v2: POST /2/media/upload (one-shot), /2/media/upload/initialize, /{id}/append, /{id}/finalize,
//     GET /2/media/upload?command=STATUS, POST /2/media/metadata, GET /2/users/me.
//   - v1.1: POST /1.1/media/upload.json (simple, INIT, APPEND, FINALIZE), its GET STATUS,
//     POST /1.1/media/metadata/create.json, GET /1.1/account/verify_credentials.json.
//   - OAuth 2.0 (Options.OAuth2; oauth2.go): GET /i/oauth2/authorize (auto-approved),
//     POST /2/oauth2/token (both grants, PKCE S256), POST /2/oauth2/revoke.
//   - admin, never faulted: /_emulator/media[/{id}], /stats, /faults, /reset, /oauth2, /oauth2/revoke-all,
//     /oauth2/token-fault.
//
// # Guarantees
//
// Answers have X's status codes, JSON shapes and headers, each modelled on recorded traffic or
// users' reports whose source is cited where it is made: v1.1 errors {"errors":[{"code":…}]}, v2
// {"data":…} and RFC 7807 problems (401, 403, 429 plain, without a code); x-rate-limit-* and, on
// v2 media endpoints, the 24-hour x-app-limit-*/x-user-limit-* headers, only on answers that spent
// a budget.
//
// Authentication is checked with this package's own code, never the client's library: OAuth 1.0a
// HMAC-SHA1 (RFC 5849: query and form parameters signed, multipart and JSON bodies not; 15-minute
// timestamp window; nonces single-use); the configured OAuth 2.0 bearer token; the OAuth 2.0
// server's access tokens (they expire after OAuth2Options.TokenLifetime; refresh tokens are single
// use and reusing one revokes the grant; scopes enforced: media.write, users.read). The configured
// app-only token gets X's 403 "Unsupported Authentication". Secrets are never logged.
//
// Uploads are checked as X checks them: sizes, types, categories, segment indexes (reassembled by
// index), total_bytes, content sniffing, image dimensions, MP4 structure, and a tweet_video's or
// dm_video's 140 s limit (failed in processing). Video and GIF processing runs on the clock,
// without goroutines, over Faults.ProcessingTime; media that needs none has no STATUS (v2 400
// "BadRequest: Not found", v1.1 404 code 34). Media ids expire 86400 s after INIT. Bytes live under
// Options.StoreDir (or a temp dir) unless Options.InMemory; MediaInfo.SHA256 is computed when first
// asked for. All time comes from time.Now, so it runs in a testing/synctest bubble when reached
// through emulatortest's in-memory transport.
//
// # Faults
//
// [Faults], as flags and at run time (POST /_emulator/faults replaces every knob; {} lifts all):
// latency, a bandwidth cap, retryable 5xx, cut connections, lost answers (processed, then the
// connection closed), tighter rate limits and daily budgets, failed processing, processing without
// check_after_secs or stuck in_progress with an error, X's edge 413 with an empty body over a body
// limit, and account refusals (402 CreditsDepleted; 403 Unsupported Authentication, Client
// Forbidden, Forbidden for a missing scope). A non-zero Seed makes the random ones repeat.
//
// # Serving and cancellation
//
// [ListenAndServe] and [Server.Serve] return nil when their context is cancelled, after a graceful
// shutdown (5 s for requests in flight). Slow clients are bounded (header and idle timeouts, a
// minimum body rate: 408 and the connection closed), so trickling connections cannot pin it.
// [Server.Close] removes the stored bytes; requests after it get 503. Apart from Serve's HTTP
// server the package starts no goroutines.
package emulator
