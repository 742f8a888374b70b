// Package metrics exposes the agent's activity to Prometheus and health checks.
//
// A [Collector] counts what the agent and the uploader report and serves it:
//
//   - it implements agent.Observer (file outcomes, queue depth, the account pause and its
//     reason, parked folders);
//   - [Collector.Retry] is meant for the uploader's Options.OnRetry, and
//     [Collector.RateLimitWait] for its rate-limit wait hook;
//   - [Collector.Handler] serves /metrics (Prometheus text exposition, or
//     OpenMetrics when the scraper asks for it) and /healthz.
//
// # Metrics
//
//	mediasync_files_total{outcome}                  files finished, by outcome: uploaded|skipped|failed|retry
//	mediasync_upload_bytes_total                    bytes of the files uploaded
//	mediasync_upload_duration_seconds               histogram of one file's upload time (0.1 s … 30 min buckets)
//	mediasync_queue_depth                           files waiting for a worker
//	mediasync_retries_total{op}                     request retries, by operation (INIT, APPEND, FINALIZE, …)
//	mediasync_rate_limit_wait_seconds_total{op}     time spent waiting for rate-limit windows, by operation
//	mediasync_auth_paused                           1 while uploads are paused because X refuses the account
//	mediasync_folders_parked                        folders whose manifest cannot be written (their uploads wait)
//
// plus the standard go_* and process_* collectors. Only uploaded files add to
// the bytes counter and the duration histogram. Every outcome series exists
// from the start with the value 0, so rate() and alerts work before the first
// file. The op label is bounded: after 32 distinct operations further ones
// are counted under "other", so a long-running agent cannot grow its series
// without limit.
//
// # Health
//
// /healthz answers 200 "ok" normally, and 503 with a one-line reason while
// uploads are paused for credentials, so container health checks and
// monitoring notice an agent that is alive but cannot upload.
//
// # Concurrency and lifecycle
//
// Every Collector method is safe for concurrent use and never blocks on I/O:
// the observer calls are atomic updates. Each Collector has its own
// registry; nothing is registered in Prometheus's global default registry.
// [Serve] listens on an address and serves a handler ([Collector.Handler],
// or a mux mounting it beside the status page) until its context is
// cancelled, then shuts the server down gracefully and returns nil; it
// returns an error only when it cannot listen or serving fails. Its read
// and write timeouts (30 s, 60 s) bound every request unless the handler
// lifts them (see Serve).
// The package never logs secrets: it knows none.
package metrics
