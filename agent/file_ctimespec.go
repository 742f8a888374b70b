//go:build darwin || freebsd || netbsd

package agent

import (
	"os"
	"syscall"
	"time"
)

// changeTime is the inode's change time: any write, even one that restores the mtime, moves it.
// syscall.Stat_t calls it Ctimespec on these systems (darwin and ios, FreeBSD, NetBSD).
func changeTime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(st.Ctimespec.Unix())
	}
	return time.Time{}
}
