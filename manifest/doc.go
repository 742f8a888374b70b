// Package manifest keeps the per-folder JSON manifest of SPEC.md §4: for every file, its state
// (pending, uploading, processing, uploaded, failed, skipped) and, once uploaded, the
// media_id_string, media_key and expiry a posting step needs.
//
// # Writers and readers
//
// A folder's manifest has exactly one writer, a [Store] from [Open]. Readers (mediasync status and
// get, posting scripts) use [Read] or parse the file themselves; they take no lock and never block
// or slow the writer.
//
// Files beside each other: manifest.json (the manifest), manifest.json.lock (the writer's lock),
// manifest.json.journal (recent commits of a large manifest, see below) and, only while a write is
// in flight or after a crash, .manifest.json.tmp-*.
//
// # Guarantees
//
//   - Durable commit: [Store.Put] returns nil only after the entry is durable: a manifest file
//     holding it was written to a temp file in the same directory, fsynced, closed, renamed over the
//     manifest, and the directory fsynced; or, for a large manifest, the entry was appended to the
//     journal and the journal fsynced. The agent treats that nil as the commit point (e.g. before
//     moving the file with after_upload: move).
//   - Never torn: the file is only ever replaced by rename, so a reader at any moment sees a whole
//     old or a whole new version. A crash at any point leaves the old or the new version; temp
//     files a crash leaves behind (".manifest.json.tmp-*") are removed by the next [Open].
//   - Failed writes lose nothing: on any write error (ENOSPC, EIO, ...) the temp file is removed (or
//     the journal cut back to its last whole record), the previous manifest stays intact, Put
//     returns the wrapped error ("write manifest PATH: write TMP: no space left on device"), and
//     the change stays in memory; the next successful write (any later Put, or Close) includes it.
//     One exception: when only the directory fsync after the rename fails, the new version is in
//     place (and later journal records extend it) but Put still returns the error.
//   - Group commit: Puts arriving while a write is in flight are written together by the next one,
//     and each returns when the write carrying it is durable. A burst of N Puts costs far fewer
//     than N rewrites (see [Stats] and bench/manifest.sh).
//   - Changes whose loss on a crash only costs repeated work (a file seen as pending, the
//     acknowledged segments of a chunked upload) should use [Store.Stage]: written with the next
//     Put, [Store.Flush] or [Store.Close] instead of costing a write of their own.
//   - Never reset: a manifest that cannot be parsed makes [Open] and [Read] fail with an error
//     wrapping [ErrCorrupt] that names the file; the file is left untouched. A manifest of a newer
//     format version gives [ErrNewerVersion] and is never overwritten.
//   - Bytes: UTF-8 JSON, two-space indent, keys sorted, times RFC 3339 in UTC, trailing newline;
//     exactly json.MarshalIndent(m, "", "  ") + "\n" (golden-tested).
//
// # The journal
//
// A manifest holds about 580 bytes per uploaded entry, and rewriting all of it on every commit
// would make a backlog of tens of thousands of files quadratic (10,000 uploads into one folder:
// 2 MB of manifest written per upload). So while the manifest is small (under 256 KiB, some 450
// entries) every commit rewrites it; once it is larger, a commit appends just the changed entries
// to manifest.json.journal (length- and CRC-framed records), and the manifest is rewritten (a
// checkpoint, after which the journal is removed) when the journal reaches half the manifest's
// size, when a commit finds the last checkpoint over 10 s old, 10 s after a burst's last journal
// append (a timer), and on Close. [Read] and [Open] replay the journal: a record names the
// checkpoint it extends by that checkpoint's updated_at, so records of an older checkpoint are
// ignored, and a record torn by a crash can only be the last one and is dropped.
//
// What a reader sees: [Read] (and mediasync status and get) sees every commit as soon as Put
// returned, including after a crash. A program that parses manifest.json alone sees only the
// last checkpoint. While the agent runs, commits of a large manifest reach the file at the next
// checkpoint, normally within about 10 s (later if that checkpoint's write fails; it is retried
// every 10 s). After a crash, or a kill before Close, the commits still in the journal reach
// manifest.json only at the first checkpoint after the next [Open] of that manifest (the next
// agent start; Open folds the journal in within about 10 s); until then the file alone is
// stale, though nothing is lost. Such programs should use mediasync get or [Read] when they must
// see every commit.
//
// # Hook state
//
// An entry of a folder with an on_upload command carries [Entry.Hook] ([HookState]): pending, done
// or failed, with the attempts, the last error, the time of the next attempt and when it was done.
// The agent stores Hook{State: pending} in the same Put that records the entry as uploaded, runs
// the command, and stores done (or pending with a later next_attempt_at, or failed after the last
// attempt) with another Put. A crash between the two leaves pending in the file, so the command
// runs again after a restart: at least once, never zero times. The store only keeps the state;
// package hook runs the command and computes the transitions. Entries without a hook omit the key.
//
// # Keys and errors
//
// Entries are keyed by the file's path relative to the folder with '/' separators ([Rel],
// [ValidRel]): clean, inside the folder, valid UTF-8. Errors wrap one of the sentinels
// [ErrCorrupt], [ErrNewerVersion], [ErrLocked], [ErrClosed], [ErrInvalid], [ErrBusy], or the
// underlying OS error (fs.ErrNotExist, syscall.ENOSPC, ...); test them with errors.Is.
//
// # Cancellation
//
// Nothing here takes a context: a write is a few local file operations and is never abandoned
// half-way (on a hung network mount, Put waits as long as the file system does). The only
// goroutine is the journal's checkpoint timer (time.AfterFunc), stopped by [Store.Close]; the
// package owns no channels.
//
// # Locking
//
// [Open] takes an exclusive advisory lock (gofrs/flock: flock(2) on Unix, LockFileEx on Windows) on
// the file LockPath(path) = path + ".lock", non-blocking; a second writer gets an error wrapping
// [ErrLocked] that names the holder ("pid 4242 on host nas since 2026-11-21T10:00:00Z"). The lock
// file is never removed; [Store.Close] releases the lock, and the kernel releases it if the
// process dies, so there are no stale locks.
//
// Caveat: over NFS and SMB/CIFS, advisory locks are emulated or ignored depending on the server,
// client and mount options, and are not reliable between machines. Two agents on two machines
// writing the same manifest on a network share may both get the lock. Run one agent per shared
// folder, or put the manifest (folders[].manifest) on a local disk of the machine that runs the
// agent.
//
// On Windows an open reader can make the replacing rename fail; the write error is returned and
// the next write retries.
package manifest
