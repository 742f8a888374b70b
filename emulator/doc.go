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
//   - admin: GET /_emulator/media, GET /_emulator/media/{id},
//     GET /_emulator/stats, GET and POST /_emulator/faults, POST /_emulator/reset.
//
// Answers have X's status codes, JSON shapes and headers as recorded from the
// real service (v1.1 INIT 202, APPEND 204 with an empty body, FINALIZE 201 or
// 200 with processing_info, errors as {"errors":[{"code":…}]}; v2 {"data":…}
// and RFC 7807 problems, its 401, 403 and 429 plain problems without a code:
// {"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}).
// x-rate-limit-* headers report the budget the endpoint spent; answers that
// never reached an endpoint's budget (authentication failures, account
// refusals, injected 5xx) carry none, as X's 401s do.
//
// v2 takes media only as JSON with base64 "media" (the body is capped at
// 4/3 of the media limit plus 64 KiB, 413 above: 4 MiB of media for APPEND,
// 5 MiB for one-shot) or as multipart/form-data with a "media" part; the
// v1.1 shapes (form-urlencoded bodies, media_data) are v1.1 only.
//
// # Guarantees
//
// Requests are authenticated with OAuth 1.0a HMAC-SHA1 signatures verified by
// this package's own RFC 5849 code: query parameters and
// application/x-www-form-urlencoded body parameters (with or without a charset)
// are signed, multipart and JSON bodies never; a timestamp more than 15 minutes
// off is refused with code 135, a reused nonce and a wrong key, token or
// signature with 401 code 32 (v2: every such failure is the plain 401). v2
// endpoints also take the configured OAuth 2.0 user bearer token; the
// configured app-only token (Credentials.AppBearerToken, the portal's
// "Bearer Token") gets X's 403 "Unsupported Authentication". Secrets are
// never logged.
//
// Segments are reassembled by segment_index (a re-sent index replaces the
// earlier bytes); FINALIZE checks that they add up to total_bytes, sniffs the
// content, decodes image dimensions and checks MP4/QuickTime structure
// (top-level boxes tiling the file, a moov box) and reads the video's
// duration from moov/mvhd. A tweet_video or dm_video (named, or assumed by
// v2 without a media_category) longer than 140 s then fails processing,
// reported in processing_info at FINALIZE/STATUS as X does:
// {"code":3,"name":"UnsupportedMedia","message":"Duration
// 2.minutes+30.seconds exceeds max duration of 2.minutes+20.seconds"}
// (durations in com.twitter.util's format: non-zero days, hours, minutes,
// seconds, milliseconds joined by "+"). amplify_video and v1.1's sync path
// (no media_category) have no duration limit; an unreadable duration is not
// a failure; the 0.5 s minimum is not enforced. MediaInfo.DurationMS reports
// what was read. Media that needs no processing (images, subtitles) has
// no STATUS: v2 answers 400 "BadRequest: Not found" as X does
// (xdevplatform/xurl#18), v1.1 404 code 34. The bytes' SHA-256 (MediaInfo.SHA256) is computed the first time the media is
// inspected, not in FINALIZE, so that the emulator's own work does not set the
// pace of the uploads it serves. A FINALIZE or STATUS that arrives while another
// FINALIZE of the same id is still reading its bytes waits for it (or for its
// own client to go away) and answers as a repeated FINALIZE does: with the
// current state. Video and GIF processing runs on the clock (no
// goroutines): pending, in_progress with progress_percent, then succeeded or
// failed, over Faults.ProcessingTime. Media ids expire 86400 s after INIT.
// Segment bytes live under Options.StoreDir (or a temp dir), so large uploads
// do not live in memory, unless Options.InMemory.
//
// All time comes from time.Now, so the emulator runs unchanged inside a
// testing/synctest bubble when it is reached through an in-memory transport.
//
// # Faults and cancellation
//
// [Faults] inject latency, a bandwidth cap on request bodies, 5xx answers
// (500 code 131 / 503 code 130), connections cut mid-body, lost answers
// (the request is processed in full, its answer discarded and the
// connection closed; stats count the status it would have had), tighter
// rate limits, daily budgets (v2's x-app-limit-24hour-* and
// x-user-limit-24hour-* per media endpoint, 429 when spent), failed
// processing, processing_info without check_after_secs or stuck in_progress
// with an error, and an edge body limit (a larger request
// body gets 413 with an empty body before anything else looks at it); a
// non-zero Seed makes the random ones repeat. Account-level refusals (CreditsDepleted 402, Unsupported
// Authentication, Client Forbidden, missing scope 403) answer every
// authenticated API request in X's exact shapes (account.go cites them)
// while their knob is on; the admin API is never refused.
// A request whose client goes away while latency is injected is abandoned.
// [ListenAndServe] and [Server.Serve] return nil when their context is
// cancelled, after a graceful shutdown (requests in flight get 5 seconds).
// They bound slow clients (Options.ReadHeaderTimeout, IdleTimeout, and a
// minimum body rate over the time spent waiting for the body, 408 and a
// closed connection below it), so trickling connections cannot pin them.
// [Server.Close] removes the stored bytes; requests after it get 503. Apart
// from Serve's HTTP server, the package starts no goroutines; its only
// channels are one per media id being finalized, made and closed by the
// FINALIZE request that does the work.
//
// Package emulatortest starts an emulator for other packages' tests, on
// loopback or in memory (for testing/synctest bubbles).
package emulator
