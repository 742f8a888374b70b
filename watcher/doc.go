// Package watcher finds the files mediasync must upload: every regular file
// under the configured roots, once it has stopped changing.
//
// A [Watcher] is created with [New] and driven by [Watcher.Run], which scans
// every root, then follows changes until its context is cancelled, sending
// each ready file (and each file that vanished) on the caller's channel.
//
// # Guarantees
//
//   - Every regular file present at start, or arriving later, is emitted once
//     its size and mtime have stayed unchanged for [Options].SettleFor and a
//     fresh Lstat still shows them — unless [Options].Skip reports it as
//     already known. Empty files are emitted too (the agent records them as
//     skipped).
//   - A (path, size, mtime) is never emitted twice in a row within a Run:
//     rescans, repeated events and polls of an unchanged file emit nothing.
//     The path is emitted again once it changed (new size or mtime) and
//     settled again, or after it was removed and created anew.
//   - A growing file is never emitted: each write re-arms it, and the stat at
//     the deadline re-arms it again if anything moved in between. The agent
//     still re-stats right before and after uploading.
//   - Names matched by [Ignored] (the built-in list plus [Options].Ignore)
//     are never emitted, and ignored directories are never descended, nor is
//     .mediasync or any path in [Root].Exclude. [Root].Match filters files
//     (never directories) by their slash-separated path relative to the root.
//     So a file is emitted under one root only: New accepts a root inside a
//     recursive root only when the outer one never descends into it
//     (Exclude'd, or below an ignored directory name).
//   - Symbolic links are never followed, whether they point outside the root
//     or inside it: a link out must not leak other files, and a link in names
//     a file that is emitted under its own path. Each is logged once at debug
//     level, saying whether its target lies inside the root. Only the root
//     itself may be a symlink. FIFOs, sockets and devices are skipped.
//   - A permission error (or another read error, such as a path longer than
//     the system allows) on a path is logged once and is not fatal; the path
//     is tried again on later scans.
//   - A file seen and then removed or renamed away is sent with Removed set
//     (its last size and mtime), whether it had been emitted, was still
//     settling, or was known through Skip. A directory removed or renamed
//     away sends Removed for every file below it; a directory renamed or
//     moved in is watched and walked.
//
// # How changes are found
//
// Mode "notify" uses one fsnotify watcher for all roots, with a watch on
// every directory (fsnotify is not recursive). A new directory is watched
// first and then walked, so that files created before its watch existed
// (mkdir -p, a moved-in folder) are found. Chmod events are ignored. An
// event is only a hint: the path is stat'ed and what is there decides. An
// event overflow, or any error from fsnotify, rescans the watched roots; a
// full rescan also runs every [Options].RescanEvery (±25% jitter) and on
// [Watcher.Rescan]. While idle, Run sleeps until the next settle deadline or
// rescan: it does not poll.
//
// Mode "poll" lists every root each [Options].PollInterval. A listing costs
// one readdir per directory and one lstat per file; files whose size and
// mtime did not change cost nothing more (they are never opened, read or
// hashed).
//
// Mode "auto" (the default) polls roots on NFS, SMB/CIFS/SMB2 and FUSE
// mounts (statfs), where changes made by other machines raise no events, and
// watches the others. On network and FUSE roots a file must stay unchanged
// for [Options].NetworkSettleFor (default 20s), as their attributes may be
// cached; this holds in every mode (mode "poll" on a mounted share too). In
// auto and notify mode, a root that hits an inotify limit (ENOSPC:
// fs.inotify.max_user_watches; EMFILE:
// fs.inotify.max_user_instances) is polled instead, for the rest of the
// Run, after one actionable warning naming the sysctl. A root that does not
// exist (an unmounted share) is reported once and retried every
// PollInterval.
//
// # Channels and cancellation
//
// [Scan] is the one-shot form for mediasync run --once: one listing, one
// settle period, and the ready and still-changing files as slices. [List]
// is one listing by the same rules and nothing more (mediasync status): every
// file with its size and mtime, and what could not be read as errors.
//
// Run never closes the output channel: the caller owns it. Every send
// selects on ctx.Done(). Ready files queue inside Run while the caller is
// busy, so fsnotify's channels are always drained. Run returns nil when ctx
// is cancelled, after closing its fsnotify watcher; files still settling or
// queued are dropped (they are found again by the next Run's initial scan).
package watcher
