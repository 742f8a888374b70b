// Package notify tells people and programs what the agent did: it delivers [Event]s (uploaded,
// skipped, failed, auth_paused, auth_resumed, folder_refused, hook_failed) to the configured
// targets, webhooks that get a JSON POST and commands that get the same JSON on stdin. The payload
// format is versioned and documented in docs/notifications.md.
//
// # Guarantees
//
//   - Never blocks the caller: [Notifier.Publish] appends to a bounded in-memory queue per target
//     and returns. When a queue is full the oldest event is dropped (the newest say most about the
//     present); drops are counted ([Stats.Dropped]), logged once per run of them and again with
//     the count when delivery resumes, and the next payload tells the receiver how many it missed
//     ("dropped").
//   - Batching: the first event of a batch waits up to Options.FlushEvery (2 s) for more; a batch
//     of Options.BatchSize (100) goes at once. A burst of 1,000 uploads is 10 POSTs, not 1,000.
//   - At least once, while the process runs: a payload is sent again after network errors, timeouts,
//     HTTP 408, 429 and 5xx, and a command's non-zero exit, with full-jitter exponential backoff
//     (Options.BaseDelay doubling up to Options.MaxDelay), honouring Retry-After (seconds or an HTTP
//     date) up to MaxDelay; after Options.MaxAttempts sends, or at once on another 4xx or a 3xx
//     (redirects are not followed), its events are dropped and logged. A receiver may see an event
//     twice (its answer was lost): events carry a unique id to deduplicate. The queue is in memory:
//     events still queued when the process is killed are lost (the manifest is the durable record).
//   - Each target has its own queue and goroutine: a dead webhook delays only its own events.
//   - Secrets: header values (Authorization: Bearer ...) are never logged; a webhook URL is logged
//     only as scheme://host, because its path or query often is the credential (Slack, Discord).
//     Errors quote neither.
//
// # Lifecycle
//
// [New] builds a notifier; [Notifier.Run] delivers until its context ends, then keeps delivering
// what is queued for up to Options.StopGrace (5 s), logs what it had to leave, and returns nil.
// Publish may be called before, during and after Run (after it returned, events are only queued,
// up to the bound, and never delivered). The package owns no channel visible to callers.
package notify
