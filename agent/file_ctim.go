//go:build unix && !(darwin || freebsd || netbsd)

package agent

import (
	"os"
	"syscall"
	"time"
)

// changeTime is the inode's change time: any write, even one that restores the mtime, moves it.
// syscall.Stat_t calls it Ctim here (Linux, the other BSDs, Solaris, AIX); file_ctimespec.go has
// the systems that call it Ctimespec.
func changeTime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)) //nolint:unconvert // int32 on some platforms
	}
	return time.Time{}
}
