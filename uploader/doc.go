// Package uploader uploads media files to the X media upload API, v2
// (default) or v1.1, and returns the media id, key and expiry. It is the one
// home of X's limits (MaxImageSize, MaxChunkSize, MaxOwners, Categories…);
// config validates through them.
//
// A [Client] takes an *http.Client that already authenticates (OAuth 1.0a,
// or an OAuth 2.0 user token); every attempt is a new request, signed anew.
//
// # Upload
//
// [Client.PrepareFile] (probe a video's duration, then [Client.Prepare])
// refuses before any request, permanently and saying why, what cannot
// succeed. [Client.Upload] sends small images one-shot and the rest chunked:
// INIT, APPENDs streamed from the io.ReaderAt with ChunkParallelism in
// flight (memory never follows the file size), FINALIZE after every APPEND
// succeeded, STATUS while processing_info says so, then the alt text. When
// X's edge refuses a segment with 413, the upload halves its segments, down
// to [MinEdgeChunk] (on a fresh media id if some were acknowledged); only an
// INIT or one-shot 413 is [ErrTooLarge]. With Media.Sums ([HashFile]) the
// bytes sent are checked against the caller's record as they stream: a
// changed part fails before its last byte, with [ErrSource].
//
// # Resume
//
// The progress callback receives a [Progress] after INIT, every
// acknowledged segment, a change of segment size and FINALIZE, never
// concurrently; persist it. [Client.Resume] sends only what is missing
// while the media id is valid, and starts over when the server no longer
// knows it. A media id is kept only when proven finalized: STATUS shows
// it, or, for media X does not process (STATUS has no status: v1.1 404
// code 34, v2 400 "BadRequest: Not found"), our own FINALIZE succeeded or
// its repetition was refused as "already finalized". So an unfinalized id
// is never returned, and a finalized file is not uploaded twice as long as
// X's refusal says "already finalized" — the emulator's wording; X documents
// none. When neither STATUS nor the refusal can tell, Resume starts over and
// logs a warning that a second media may be left at X.
//
// # Retries and waits
//
// One retry loop: network errors, 5xx, 408 and stalls (no progress for
// RequestTimeout) are retried up to MaxAttempts with full-jitter backoff;
// 429 follows Retry-After or x-rate-limit-reset. A transport error with a
// RetryAt() time.Time method (the auth package's failed OAuth 2.0 refresh,
// whose transport does not retry) is retried too, no sooner than RetryAt. Budgets from the
// x-rate-limit-* and 24-hour headers are tracked per endpoint, so requests
// wait instead of running into 429. Every server-asked wait is capped at
// [MaxServerWait]; one longer than Options.MaxInlineWait is not slept: the
// call returns a [*WaitError] and the progress stays valid for Resume.
//
// # Errors
//
// [*APIError] is the typed answer. [IsPermanent]: trying later cannot help
// the file. [AccountRefusal] (and [IsAuth]): X refuses the account (bad or
// app-only credentials, an app outside a Project, a missing scope, no
// credits, a revoked login): not permanent, not retried; report
// [Refusal.Advice] once and probe with [Client.ProbeUpload].
// [NetworkProblem]: the server could not be reached. Cancelling the context
// returns its error untouched; every goroutine a call starts has ended when
// it returns. No secret, header or URL with its query is logged
// (component=uploader).
package uploader
