// Package manifest keeps the per-folder JSON manifest of SPEC.md §4: for every file, its state
// (pending, uploading, processing, uploaded, failed, skipped) and, once uploaded, the
// media_id_string, media_key and expiry a posting step needs.
//
// # Writers and readers
//
// A folder's manifest has exactly one writer, a [Store] from [Open] or [OpenWith]. Readers (mediasync status and
// get, posting scripts) use [Read] or parse the file themselves; they take no lock and never block
// or slow the writer.
//
// Files beside each other: manifest.json (the manifest), manifest.json.lock (the writer's lock),
// manifest.json.journal (recent commits of a large manifest, see below), only while a write is in
// flight or after a crash .manifest.json.tmp-*, and damaged copies kept for the user,
// manifest.json.damaged-<UTC time> and manifest.json.journal.damaged-<UTC time> (see Damage).
//
// # Guarantees
//
//   - Durable commit: [Store.Put] returns nil only once the entry is durable: a temp file in the
//     same directory written, fsynced and renamed over the manifest, and the directory fsynced; or,
//     for a large manifest, a journal append fsynced. The agent treats that nil as the commit point.
//   - Never torn: the file is only ever replaced by rename, so a reader at any moment sees a whole
//     old or a whole new version. A crash at any point leaves the old or the new version; temp
//     files a crash leaves behind (".manifest.json.tmp-*") are removed by the next [Open].
//   - Failed writes lose nothing: on any write error (ENOSPC, EIO, ...) the temp file is removed (or
//     the journal cut back to its last whole record), the previous manifest stays intact, Put
//     returns the wrapped error, and the change stays in memory for the next successful write. One
//     exception: when only the directory fsync after the rename fails, the new version is in place
//     but Put still returns the error.
//   - Group commit: Puts arriving while a write is in flight are written together by the next one,
//     and each returns when the write carrying it is durable. A burst of N Puts costs far fewer
//     than N rewrites (see [Stats] and bench/manifest.sh).
//   - Changes whose loss on a crash only costs repeated work (a file seen as pending, the
//     acknowledged segments of a chunked upload) should use [Store.Stage]: written with the next
//     Put, [Store.Flush] or [Store.Close] instead of costing a write of their own.
//   - Never reset: a manifest that cannot be parsed makes [Open] and [Read] fail with an error
//     wrapping [ErrCorrupt] that names the file; the file is left untouched. A manifest of a newer
//     format version gives [ErrNewerVersion] and is never overwritten. Damage found while the
//     store runs is never written over unseen either (see Damage).
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
// ignored. A record torn by a crash can only be the last one and is dropped silently: its length
// runs past the end of the file, or its unwritten bytes read as NULs (which the writer never
// writes). Any other bad record is damage (see Damage).
//
// What a reader sees: [Read] (and mediasync status and get) sees every commit as soon as Put
// returned, including after a crash. A program that parses manifest.json alone sees the last
// checkpoint: normally within about 10 s of a commit while the agent runs, but after a crash only
// once the next agent start has folded the journal in. Such programs should use mediasync get or
// [Read] when they must see every commit.
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
// [ErrCorrupt], [ErrNewerVersion], [ErrLocked], [ErrLockLost], [ErrClosed], [ErrInvalid],
// [ErrBusy], or the underlying OS error (fs.ErrNotExist, syscall.ENOSPC, ...); test them with
// errors.Is. Damage reports are [*DamageError].
//
// # Cancellation
//
// Nothing here takes a context: a write is a few local file operations and is never abandoned
// half-way (on a hung network mount, Put waits as long as the file system does). The only
// goroutine is the journal's checkpoint timer (time.AfterFunc), stopped by [Store.Close]; the
// package owns no channels. [Options.Report] runs in the goroutine of the call that found the
// problem.
//
// # Locking
//
// [Open] takes an exclusive advisory lock (gofrs/flock: flock(2) on Unix, LockFileEx on Windows) on
// the file LockPath(path) = path + ".lock", non-blocking; a second writer gets an error wrapping
// [ErrLocked] that names the holder ("pid 4242 on host nas since 2026-11-21T10:00:00Z"). The lock
// file is never removed; [Store.Close] releases the lock, and the kernel releases it if the
// process dies, so there are no stale locks.
//
// The lock belongs to the lock file's inode, so removing the file (or the whole .mediasync
// directory) while the store runs loses it silently: another agent could then lock a new file of
// the same name. Every write first compares the name with the inode locked (one stat), and so does
// [Store.CheckLock], which callers run between writes: a lost lock is taken again (and reported,
// [ErrLockLost]) and the whole manifest rewritten; if another process took it first, the store
// returns [ErrLocked] from then on and writes nothing more.
//
// Caveat: over NFS and SMB/CIFS, advisory locks are emulated or ignored depending on the server,
// client and mount options, and are not reliable between machines. Two agents on two machines
// writing the same manifest on a network share may both get the lock. Run one agent per shared
// folder, or put the manifest (folders[].manifest) on a local disk of the machine that runs the
// agent.
//
// On Windows an open reader can make the replacing rename fail; the write error is returned and
// the next write retries.
//
// # Damage
//
// Damage is kept beside the file as <file>.damaged-<UTC time> and reported through
// [Options.Report] as a [*DamageError] (wrapping [ErrCorrupt]); the package does not log, the
// caller logs the report once. [Stats] counts it (Damaged).
//
//   - Before each write the store compares the manifest on disk with the version it last read or
//     wrote (inode, size, mtime: one lstat) and the journal with the one it appends to (inode and
//     length). A file overwritten or replaced by another program is renamed aside, and the store
//     writes its whole state; a removed one is just written again.
//   - A damaged last journal record (a flipped byte: the whole record is there but fails its
//     checksum; a damaged header or length) makes [Read] fail with ErrCorrupt and [Open] copy the
//     journal aside, cut the record off and carry on with the records before it. Open does not
//     refuse the folder as it does for a corrupt manifest: what is lost is one commit, whose files
//     are looked at and uploaded again (the same cost as a crash's torn record), while a refusal
//     would stop the folder until a person cuts that same record by hand or deletes the journal
//     and loses more. Damage followed by intact records is refused ([ErrCorrupt], files untouched):
//     cutting there would drop those commits.
package manifest
