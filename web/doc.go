// Package web is the agent's face for people and scripts: a status page, a versioned JSON API, and
// the control socket through which `mediasync status`, `upload`, `retry` and `explain` talk to a
// running agent (issues 13 and 15).
//
// # Contract
//
// The package defines what it needs, [Backend] (status, retries, upload, explain), and never
// imports the agent: cmd implements Backend over it. The schema ([Status], [Explanation],
// [UploadResult]) is versioned ([Version], docs/api.md); a golden test pins it.
//
//   - [NewAPIHandler] serves /api/status, /api/explain, /api/retry, /api/retry-failed,
//     /api/retry-hooks and /api/upload as JSON.
//   - [NewPageHandler] serves / : plain HTML rendered with html/template, a stylesheet and a small
//     script embedded in the binary (no build step, no CDN). The page shows everything without
//     JavaScript (a <noscript> <meta refresh> reloads it); with it, it refreshes in place.
//   - [ServeUnix] serves a handler on an owner-only unix socket; [Dial] returns a [Client] of it,
//     itself a Backend, whose calls fail with [ErrNoAgent] when no agent listens, so cmd can do
//     the work itself.
//   - [Index] keeps a folder's manifest part of the status incrementally (O(limit + log n) per
//     status, where a pass over every entry costs 30 to 80 ms for 100,000).
//   - Package webtest drives the page in headless Chromium: one scenario (issue 15) run over the
//     fake backend here and over `mediasync run` with the emulator in cmd.
//
// # Live refresh: short polling of the page, not server-sent events
//
// The script fetches the page itself again every [Options.Refresh] (2 s) and swaps in the sections
// that changed. Polling rather than SSE: the agent has no change feed, so SSE would poll the
// backend on the server anyway; each refresh is an ordinary short request, which works through SSH
// tunnels and buffering proxies, holds no connection open against graceful shutdown or the
// listener's write timeout, and needs no per-client goroutine. Fetching the server-rendered HTML
// rather than /api/status keeps one renderer: html/template escapes every name once, and the script
// never builds HTML from data. It pauses while the tab is hidden and backs off while the agent does
// not answer.
//
// # Safety
//
//   - Access: with [Options.Token] set, every request but the static assets needs it, as the session
//     cookie that /?token=TOKEN sets once (then a redirect drops it from the address bar) or as
//     "Authorization: Bearer TOKEN"; compared in constant time. Without a token, requests are
//     answered only when [Options.Loopback] says the listener is loopback-only, and only with a
//     loopback Host header (no DNS rebinding). The zero Options answers nothing. [CheckBind] tells
//     cmd to refuse a non-loopback address without a token.
//   - State changes are POST only. A browser's (cookie, or no token) also needs the CSRF token (an
//     HMAC of a per-process secret and the token: a hidden form field, or the X-CSRF-Token header)
//     and the same origin (Sec-Fetch-Site / Origin, net/http.CrossOriginProtection). Bearer and
//     socket requests need neither: a browser cannot send them by itself. API bodies must be JSON.
//   - Every answer has a CSP without inline script or style, frame-ancestors 'none', nosniff and
//     no-referrer. Every file name is escaped by html/template (and control and bidi characters are
//     shown as \u escapes); the script only moves server-rendered nodes.
//   - Nothing secret or outside the folders is shown: the token and [Options.Redact] values are
//     replaced by "[redacted]" in every backend text of every answer (status, explain, upload
//     results, error messages, and the flash cookie before it is set), and over the network
//     absolute paths outside the folders are cut to "…/NAME" (file paths are shown relative to
//     their folder). The owner-only socket's answers keep every path.
//
// # Concurrency and lifecycle
//
// Handlers are safe for concurrent use and keep no per-client state. [ServeUnix] returns nil when
// its context is cancelled, after in-flight requests (whose contexts it cancels) finish or a few
// seconds pass, and removes its socket. A [Client] is safe for concurrent use.
package web
