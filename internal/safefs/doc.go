// Package safefs opens, stats and moves files beneath a root directory without ever following a
// symbolic link below that root, so that a watched folder's files are the only files read, recorded
// or moved, whatever is renamed or swapped inside the folder meanwhile.
//
// # Contract
//
//   - A root is the configured folder path: its own symlinks are followed (it is resolved once per
//     call, by the kernel, when it is opened). Everything beneath it is strict: a path relative to the
//     root (rel, '/'-separated or in the OS's form, local: no "..", not absolute) whose components
//     include a symbolic link, in any position, is refused with an error wrapping [ErrEscaped]. The
//     check and the use are one kernel operation or a chain of descriptors, so there is no window
//     between them: swapping a directory for a symlink (even atomically, with renameat2
//     RENAME_EXCHANGE) while a call runs gives either the real file or ErrEscaped, never the file
//     the link points to.
//   - [Open] returns the file read-only; callers stat the descriptor (f.Stat()), never the path
//     again. It never blocks on a FIFO swapped in for the file.
//   - [Lstat] describes the entry itself (a symlink as the last component is described, not followed;
//     a symlink above it is [ErrEscaped]).
//   - [Move] renames a file from beneath one root to beneath another, creating the missing target
//     directories without following symlinks, never overwriting ("x.jpg" taken → "x (1).jpg", as
//     before), and durably (both directories are fsynced). Across devices it copies to a temporary
//     name in the target directory, keeps the permission bits and mtime (and the owner when run as
//     root), fsyncs the file, gives it its final name without replacing anything, fsyncs the
//     directory, and only then removes the source. A crash mid-copy leaves the source in place and at
//     most a ".mediasync-move-*" temp file in the target directory.
//   - Errors are *fs.PathError (or *os.LinkError from Move) wrapping the errno, [ErrEscaped], or
//     fs.ErrInvalid for a rel that is not local; test with errors.Is (fs.ErrNotExist for a missing
//     file). A caller should treat ErrEscaped like a removed file.
//
// # Platforms
//
// Linux uses openat2(2) with RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS (kernel 5.6)
// and renameat2(2) RENAME_NOREPLACE (3.15). Without openat2 (ENOSYS on older kernels, EPERM from
// some seccomp filters), and on macOS and the BSDs, each component is opened with
// openat(O_NOFOLLOW|O_DIRECTORY) from the previous one; without renameat2 a new name is taken with
// linkat(2) then the old one unlinked (macOS: renameatx_np RENAME_EXCL). Other systems (Windows)
// get a best-effort version: each component is Lstat'ed before use, which a concurrent swap can
// race.
//
// Nothing here takes a context: each call is a few local system calls (the copy of a cross-device
// move is as long as the file), and nothing is left running.
package safefs
