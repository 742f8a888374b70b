// Package agent is the mediasync pipeline: it takes settled files from a [Source] (the watcher),
// looks them up in their folder's manifest, uploads what is new or changed, and records the outcome
// durably.
//
// # Contract
//
//   - Every file the source reports ends with one manifest entry: uploaded (media_id_string,
//     media_key, expires_at), skipped (the reason it cannot be uploaded), or failed (the error;
//     permanent: false means it is retried later on a growing, jittered backoff, across restarts).
//   - A file is uploaded at most once per (size, mtime, sha256). A file whose bytes did not change is
//     never uploaded again, even when its mtime did; a file that changed is uploaded again and its
//     entry replaced (a still valid id stays recorded until its successor is). A file that changes
//     while it is uploaded is uploaded again once it settles. Whether an entry still stands for the
//     bytes on disk is decided in one pure function (decide.go), from the open file, never the path.
//   - The manifest is the commit point: nothing counts as uploaded, and no file is moved, before its
//     entry is durable. A chunked upload's media id is durable before FINALIZE and its progress is
//     saved as it goes, so a crash or a stop resumes it; only the one-shot upload of a small image
//     can leave an unused media id at X after a kill, never a second entry.
//   - An account-level refusal (credentials, scope, credits) pauses every upload with one log line
//     and marks no file failed; one upload probes on a growing pause and uploads resume by
//     themselves. When X answers again after an outage, the retries it caused are brought forward.
//   - A folder whose manifest is corrupt or locked by another agent is refused at [New]; one whose
//     manifest cannot be written is parked (its work waits in memory, one error line) while the
//     other folders go on, and resumes when a write succeeds.
//
// # Sessions, time and cancellation
//
// [Agent.Run], [Agent.Once] and [Agent.UploadFile] each run a session of their own (queue,
// scheduler, account gate): no mode is shared. [Agent.UploadFile] while Run runs joins Run's
// queue, at the front. Retries, refreshes and parked manifests' next writes wait in one deadline
// heap with one timer. All time comes from Options.Now and the runtime's timers, so the state
// machine runs under testing/synctest with a fake Source. Run returns nil when its context is
// cancelled: uploads in flight are abandoned resumably. [Agent.Status] reports what a running
// agent is doing without blocking.
package agent
