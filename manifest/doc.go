// Package manifest keeps the per-folder JSON manifest of SPEC.md §4: each file's state and, once
// uploaded, the media_id_string, media_key and expiry a posting step needs.
//
// # Contract
//
//   - One writer: a [Store] from [Open] or [OpenWith] holds an exclusive flock on path+".lock"
//     (a second writer gets [ErrLocked], naming the holder). Readers ([Read], or any program
//     parsing the file) take no lock and never slow the writer.
//   - Durable commit: [Store.Put] returns nil only once the entry is on disk (temp file, fsync,
//     rename, directory fsync; or an fsynced journal append). Callers treat that nil as the commit
//     point. [Store.Stage] is for changes whose loss only costs repeated work: written with the
//     next write. Puts that arrive together share one write (group commit).
//   - Never torn, never reset: the file is only replaced by rename, so readers see a whole version;
//     a failed write (ENOSPC, EIO) leaves the previous file and keeps the change in memory for the
//     next write; a file that cannot be parsed fails [Open] and [Read] with [ErrCorrupt] and is left
//     untouched; a newer format gives [ErrNewerVersion].
//   - Bytes: UTF-8 JSON, keys sorted, two-space indent, times RFC 3339 UTC, exactly
//     json.MarshalIndent + "\n" (golden-tested). Keys are paths relative to the folder with '/'
//     ([Rel], [ValidRel]).
//
// # The journal
//
// Rewriting a large manifest per commit is quadratic over a backlog, so once the file is over
// 256 KiB a commit appends its changed entries to path+".journal" (length- and CRC-framed), and the
// file is rewritten (a checkpoint) when the journal reaches half its size, at least every 10 s
// while commits come, 10 s after a burst, and on Close. [Read] and [Open] replay the journal, so
// they see every commit; a program reading the file alone sees the last checkpoint. A record torn
// by a crash (running past the end of the file, or unwritten NULs) is dropped silently.
//
// # Watched, not trusted
//
// The lock belongs to the lock file's inode: removing .mediasync while the store runs would lose it.
// Every write, and [Store.CheckLock] between writes, compares the name with the inode locked; a lost
// lock is taken again ([ErrLockLost], reported) and the manifest rewritten, unless another process
// holds the new one: then [ErrLocked] from every call, and nothing more is written.
//
// Before each write the store also compares the manifest and journal on disk with what it last
// wrote; a file another program overwrote or replaced is kept aside as <file>.damaged-<UTC time>
// and the store's state written in its place. A damaged complete journal record (bad checksum,
// header or length) makes Read fail; Open keeps a copy, cuts it and carries on without that one
// commit (its files are looked at again), unless intact records follow it (then it refuses).
// Each such repair reaches [Options.Report] as a [*DamageError] (wrapping [ErrCorrupt]) or an
// [ErrLockLost] error; the package never logs.
//
// Caveat: flock is not reliable between machines on NFS or SMB: run one agent per folder, or put
// the manifest on the agent's local disk.
//
// # Hook state and cancellation
//
// [Entry.Hook] is stored, not interpreted (package hook computes it). Nothing here takes a context:
// a write is a few local operations, never abandoned half-way. The only goroutine is the journal's
// checkpoint timer, stopped by [Store.Close]; [Options.Report] runs in the calling goroutine.
// Errors wrap the sentinels above, [ErrClosed], [ErrInvalid], [ErrBusy], or the OS error.
package manifest
