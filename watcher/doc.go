// Package watcher finds the files mediasync must upload: every regular file under the configured
// roots, once it has stopped changing. [New] builds a [Watcher]; [Watcher.Run] scans every root,
// then follows changes until its context is cancelled, sending each ready file (and each file that
// vanished) on the caller's channel.
//
// # Guarantees
//
//   - Every regular file present at start or arriving later is emitted once its size and mtime
//     have stayed unchanged for Options.SettleFor (NetworkSettleFor on NFS, SMB and FUSE roots,
//     whose attributes may be cached) and a fresh Lstat still shows them, unless Options.Skip says
//     it is known. A growing file is never emitted.
//   - A (path, size, mtime) is emitted at most once in a row within a Run; the path again once it
//     changed and settled anew, or was removed and created again.
//   - Names matched by [Ignored] (built-in temp, OS and NAS names plus Options.Ignore) are never
//     emitted or descended, nor .mediasync, nor Root.Exclude; Root.Match filters files by their path
//     relative to the root. So a file is emitted under one root only (New refuses overlapping roots).
//   - Symbolic links are never followed (only the root itself may be one); FIFOs, sockets and
//     devices are skipped. A path that cannot be read is logged once, not fatal, and tried again.
//   - A file seen and then removed or renamed away is sent with Removed set; a removed directory
//     sends Removed for every file below it; a directory moved in is watched and walked.
//
// # How changes are found
//
// Mode "notify" puts an fsnotify watch on every directory (fsnotify is not recursive), watching a
// new directory before walking it. Events are only hints: the path is stat'ed and what is there
// decides. An overflow or an fsnotify error rescans; so does a jittered safety-net rescan every
// Options.RescanEvery, and [Watcher.Rescan]. Idle, it sleeps until the next deadline. Mode "poll"
// lists every root each Options.PollInterval (a readdir per directory, an lstat per file; unchanged
// files cost nothing more). Mode "auto" polls NFS, SMB and FUSE roots, where other machines'
// writes raise no events, and watches the others; a root that hits an inotify limit is polled
// instead after one warning naming the sysctl. A missing root is reported once and retried.
//
// [Watcher.Scan] (and the package-level [Scan]) is the one-shot form for run --once: one listing,
// one settle period, the ready and the still-changing files. [List] is one listing by the same
// rules and nothing else (mediasync status).
//
// # Channels and cancellation
//
// Run never closes its output channel: the caller owns it; every send selects on ctx.Done(), and
// ready files queue inside Run while the caller is busy, so fsnotify is always drained. Run returns
// nil when ctx is cancelled; files still settling are found again by the next Run's first scan.
package watcher
