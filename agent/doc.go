// Package agent is the mediasync pipeline: it takes settled files from the watcher, looks them up in
// their folder's manifest, uploads what is new or changed, and records the outcome durably.
//
// # Contract
//
//   - Every file a folder's watcher reports ends with one manifest entry: uploaded (with
//     media_id_string, media_key and expires_at), skipped (with the reason it cannot be uploaded),
//     or failed (with the error; permanent: false means it is retried later, with growing delays,
//     across restarts).
//   - A file is uploaded at most once per (size, mtime, sha256). A file whose bytes did not change is
//     never uploaded again, even when its mtime did; a file that changed is uploaded again and its
//     entry replaced. A file that changes while it is being uploaded is uploaded again once it
//     settles; the first upload is abandoned.
//   - The manifest is the commit point: a file counts as uploaded only once its entry is durable.
//     The state of a chunked upload (media id, acknowledged segments) is persisted as it goes, so after
//     a crash or a stop the upload continues where it was while its media id is valid. The media id is
//     persisted before FINALIZE, so a restart never finalizes the same file twice.
//   - Only the one-shot upload of a small image (upload.simple_upload_max) cannot be resumed: a kill
//     during that single request may leave an unused media id at X, never a second manifest entry.
//   - A credentials failure pauses every upload with one log line, and uploads resume by themselves
//     when a later probe succeeds; no file is marked failed because of it.
//   - A folder whose manifest is corrupt or locked by another agent is refused with a clear error;
//     the other folders carry on.
//
// # Lifecycle
//
// [Agent.Run] runs until its context is cancelled: in-flight uploads are abandoned resumably (their
// state is already in the manifest) and Run returns nil. [Agent.Once] catches up on every folder and
// returns when nothing is left to do.
package agent
