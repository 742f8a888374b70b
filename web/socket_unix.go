//go:build unix

package web

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// maxSocketPath is the longest path bind(2) takes: sizeof(sun_path) less the NUL.
func maxSocketPath() int {
	if runtime.GOOS == "linux" {
		return 107
	}
	return 103
}

// listenUnix creates the owner-only socket at path (see [ServeUnix]) and returns the listener and
// the function that closes it and removes the socket, if it is still this one.
func listenUnix(path string) (net.Listener, func(), error) {
	dir := filepath.Dir(path)
	if err := checkSocketDir(dir); err != nil {
		return nil, nil, err
	}
	if err := checkStale(path); err != nil {
		return nil, nil, err
	}
	// Bind inside a private (0700) directory beside the target, make the socket 0600, then rename
	// it into place: at no moment can another user reach it, and no process-wide umask changes.
	tmp, err := os.MkdirTemp(dir, ".s")
	if err != nil {
		return nil, nil, fmt.Errorf("control socket: %w", err)
	}
	defer os.RemoveAll(tmp)
	tmpSock := filepath.Join(tmp, "s")
	if n := max(len(path), len(tmpSock)); n > maxSocketPath() {
		return nil, nil, fmt.Errorf("control socket %s: the path is %d bytes, longer than a unix socket allows (%d)", path, n, maxSocketPath())
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmpSock, Net: "unix"})
	if err != nil {
		return nil, nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false) // the socket moves; cleanup removes it where it ends up
	fail := func(err error) (net.Listener, func(), error) {
		ln.Close()
		return nil, nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(tmpSock, 0o600); err != nil {
		return fail(err)
	}
	// rename(2) replaces a stale socket atomically, and never follows a symlink.
	if err := os.Rename(tmpSock, path); err != nil {
		return fail(err)
	}
	mine, err := os.Lstat(path)
	if err != nil {
		return fail(err)
	}
	cleanup := func() {
		ln.Close()
		// Remove the socket only if it is still the one this call made: a newer agent may have
		// replaced it. os.Remove unlinks the name and never follows a symlink.
		if fi, err := os.Lstat(path); err == nil && os.SameFile(fi, mine) {
			os.Remove(path)
		}
	}
	return ln, cleanup, nil
}

// checkSocketDir refuses a socket directory that is a symlink or is not owned by this user: only
// its owner decides what its names lead to.
func checkSocketDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("control socket directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("control socket directory %s is not a directory (a symlink?); not using it", dir)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("control socket directory %s belongs to uid %d, not to this user (%d); not using it", dir, st.Uid, os.Geteuid())
	}
	return nil
}

// checkStale returns nil when path is absent or is a socket nothing answers on (stale, to be
// replaced), and an error otherwise: a live agent ([ErrSocketInUse]) or something that is not a
// socket, which is never touched.
func checkStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("control socket: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("control socket %s exists and is not a socket (%s); remove it yourself if it is not needed", path, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		c.Close()
		return fmt.Errorf("%w: %s", ErrSocketInUse, path)
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, fs.ErrNotExist) {
		return nil // stale: the agent that made it is gone
	}
	return fmt.Errorf("control socket %s: cannot tell whether an agent listens: %w", path, err)
}
