package watcher

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
)

// Error is the error type of this package: an operation on a path that
// failed. New returns it for invalid [Options]; Run logs the ones it recovers
// from (a watch limit, a permission problem) and carries on.
type Error struct {
	Op   string // "options", "watch", "scan", "notify"
	Path string // the path involved, or "" when none
	Err  error
}

func (e *Error) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("watcher: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("watcher: %s %s: %v", e.Op, e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// IsLimit reports whether err is an operating-system watch limit: ENOSPC
// from inotify_add_watch (fs.inotify.max_user_watches), EMFILE from
// inotify_init (fs.inotify.max_user_instances) or ENFILE. A root that hits
// one is polled instead of watched.
func IsLimit(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// limitHint is the one actionable sentence logged when a limit is hit.
func limitHint(err error) string {
	if runtime.GOOS != "linux" {
		return "out of file descriptors for watching (kqueue needs one per file); raise kern.maxfiles/kern.maxfilesperproc or use mode poll; polling this folder meanwhile"
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "inotify watch limit reached; raise it with `sysctl fs.inotify.max_user_watches=524288` (persist in /etc/sysctl.d/); polling this folder meanwhile"
	case errors.Is(err, syscall.EMFILE):
		return "inotify instance or file limit reached; raise it with `sysctl fs.inotify.max_user_instances=512` (persist in /etc/sysctl.d/) or raise the open-file limit; polling this folder meanwhile"
	default:
		return "system file table full (ENFILE); polling this folder meanwhile"
	}
}
