//go:build unix

package agent

import (
	"os"
	"syscall"
	"time"
)

// changeTime is the inode's change time: any write, even one that restores the mtime, moves it.
func changeTime(fi os.FileInfo) time.Time {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return time.Unix(int64(st.Ctim.Sec), int64(st.Ctim.Nsec)) //nolint:unconvert // int32 on some platforms
	}
	return time.Time{}
}
