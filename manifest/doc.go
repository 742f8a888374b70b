// Package manifest keeps the per-folder JSON manifest of SPEC.md §4: for every file, its state
// (pending, uploading, processing, uploaded, failed, skipped) and, once uploaded, the
// media_id_string, media_key and expiry a posting step needs.
//
// # Writers and readers
//
// A folder's manifest has exactly one writer, a [Store] from [Open]. Readers (mediasync status and
// get, posting scripts) use [Read] or read the file themselves; they take no lock and never block
// or slow the writer.
//
// # Guarantees
//
//   - Durable commit: [Store.Put] returns nil only after a manifest file holding the entry has been
//     written to a temp file in the same directory, fsynced, closed, renamed over the manifest, and
//     the directory fsynced. The agent treats that nil as the commit point (e.g. before moving the
//     file with after_upload: move).
//   - Never torn: the file is only ever replaced by rename, so a reader at any moment sees a whole
//     old or a whole new version. A crash at any point leaves the old or the new version; temp
//     files a crash leaves behind (".manifest.json.tmp-*") are removed by the next [Open].
//   - Failed writes lose nothing: on any write error (ENOSPC, EIO, ...) the temp file is removed, the
//     previous manifest stays intact, Put returns the wrapped error ("write manifest PATH: write
//     TMP: no space left on device"), and the change stays in memory; the next successful write
//     (any later Put, or Close) includes it.
//   - Group commit: Puts arriving while a write is in flight are written together by the next one,
//     and each returns when the write carrying it is durable. A burst of N Puts costs far fewer
//     than N rewrites (see [Stats] and bench/manifest.sh).
//   - Every write rewrites the whole file (about 580 bytes per uploaded entry), so changes whose
//     loss on a crash only costs repeated work (a file seen as pending, the acknowledged segments
//     of a chunked upload) should use [Store.Stage], which is written with the next Put, [Store.Flush]
//     or [Store.Close] instead of costing a write of its own.
//   - Never reset: a manifest that cannot be parsed makes [Open] and [Read] fail with an error
//     wrapping [ErrCorrupt] that names the file; the file is left untouched. A manifest of a newer
//     format version gives [ErrNewerVersion] and is never overwritten.
//   - Bytes: UTF-8 JSON, two-space indent, keys sorted, times RFC 3339 in UTC, trailing newline;
//     exactly json.MarshalIndent(m, "", "  ") + "\n" (golden-tested).
//
// # Keys and errors
//
// Entries are keyed by the file's path relative to the folder with '/' separators ([Rel],
// [ValidRel]): clean, inside the folder, valid UTF-8. Errors wrap one of the sentinels
// [ErrCorrupt], [ErrNewerVersion], [ErrLocked], [ErrClosed], [ErrInvalid], or the underlying
// OS error (fs.ErrNotExist, syscall.ENOSPC, ...); test them with errors.Is.
//
// # Cancellation
//
// Nothing here takes a context: a write is a few local file operations and is never abandoned
// half-way (on a hung network mount, Put waits as long as the file system does). The package
// starts no goroutines and owns no channels.
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
