// Package uploader uploads media files to the X media upload API, v2
// (default) or v1.1, and returns the media id, key and expiry.
//
// A [Client] takes an *http.Client that already authenticates (an
// OAuth 1.0a transport from github.com/dghubble/oauth1, or a bearer-token
// transport for v2); authentication is not its concern. Every attempt of
// every request is a new *http.Request, so the transport signs each one
// afresh.
//
// # What an upload does
//
// [Client.Prepare] resolves the media category ("auto" from the MIME type,
// see [Detect] and [AutoCategory]) and refuses, before any request, what
// cannot succeed: an empty file, a type X does not take, a type that does
// not fit the category, a size over the category's limit, more than 1000
// segments, alt text over 1000 characters, bad additional owners, and a
// tweet_video or dm_video longer than [MaxVideoDuration] (140 s), which X
// would take in full and only then fail in processing (amplify_video is
// not limited: the account's entitlement decides). Those errors are
// permanent and say why.
//
// The duration check needs Media.Duration: [ProbeDuration] fills it for
// MP4 and QuickTime files from the movie header, wherever it lies in the
// file, with a handful of small reads ([VideoDuration] is the parser; it
// never reads or allocates by a size found in the file). A file whose
// duration cannot be read keeps Duration 0 and is not refused: the server
// decides; callers log the reason at debug level. [Client.PrepareFile] does
// both, probe and Prepare, for a caller that has the bytes at hand.
//
// [Client.Upload] sends images up to Options.SimpleUploadMax one-shot
// (on v2 chunked instead while the one-shot endpoint's rate-limit budget,
// 500 per 15 minutes against 1875 for each chunked endpoint, is used up;
// on v1.1 both share one budget, so there it never switches), and
// everything else chunked: INIT, then APPEND segments of Options.ChunkSize
// with Options.ChunkParallelism in flight, each streamed from the
// io.ReaderAt (memory per upload is bounded by the parallelism and the
// transport's buffers, never by the file size), FINALIZE only after every
// APPEND succeeded, STATUS polling only when the answer carries
// processing_info (honouring check_after_secs, stopping on failure or any
// error object, giving up after Options.ProcessingTimeout), and finally the
// alt text. Options.BandwidthLimit caps the bytes per second of all uploads
// of one Client.
//
// # Retries, rate limits, stalls
//
// All requests go through one retry loop: network errors, 5xx, 408, 429
// and stalls are retried up to Options.MaxAttempts with exponential backoff
// and full jitter capped at Options.MaxBackoff; Retry-After and
// x-rate-limit-reset win when the server gives them (429 answers do not use
// up attempts). Budgets announced in x-rate-limit-* headers are tracked per
// endpoint (on v1.1, an image INIT in the simple upload's budget), so the
// client waits for a window to reset instead of running into a 429;
// Options.OnWait reports each such wait. A request that makes no progress
// (no body byte sent, no answer byte received) for Options.RequestTimeout
// is abandoned and retried; it is a stall watchdog, not a deadline. Other
// 4xx answers are permanent. Options.OnRetry reports every retry (the
// client then logs retries at debug level; without it, at warn level).
//
// # Resuming
//
// The progress callback of Upload and Resume receives a [Progress] after
// INIT, after every acknowledged segment and after FINALIZE; it is never
// called concurrently. Persist it; after a restart [Client.Resume] sends only
// the missing segments while the media id is valid, and starts over from
// INIT when it has expired or the server no longer knows it. A Progress
// that is finalized only gets STATUS. When the resumed FINALIZE is refused
// (the one in flight when the process died went through), STATUS decides:
// if it shows the media finalized (processing_info, a size, an image or
// video object, or 404 code 34 for a category X does not process), the
// upload finishes under the same media id; only when STATUS says the id is
// unknown or expired does it start over.
//
// # Errors and cancellation
//
// Errors wrap the operation with %w. [*APIError] is the typed error of
// server answers; [IsPermanent] says whether trying again later can help,
// [IsAuth] whether it is a credentials problem (report it once, not per
// file). The sentinels ErrProcessingFailed, ErrUnsupported, ErrTooLarge,
// ErrEmpty and ErrInvalid are permanent; ErrProcessingTimeout, ErrStalled
// and ErrSource (the file changed or could not be read) are not.
// Cancelling the context abandons the upload at once and returns the
// context's error untouched; the last reported Progress stays valid for
// Resume. The package exposes no channels; every goroutine a call starts
// (parallel segments) has ended when the call returns.
//
// The client never logs secrets, request headers, or URLs with query
// strings; it logs with component=uploader.
package uploader
