//go:build unix

package watcher

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestRunSpecialFiles: a FIFO is skipped (never opened: opening one would
// block), during the initial scan and when it appears later.
func TestRunSpecialFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := start(t, notifyOpts(root, true), nil)
	if err := syscall.Mkfifo(filepath.Join(root, "late-pipe.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := h.barrier(t, root); len(got) != 0 {
		t.Errorf("emitted %v, want nothing for FIFOs", keysOf(got))
	}
	h.stop(t)
	if n := countLines(h.log.String(), "not a regular file"); n != 2 {
		t.Errorf("%d debug lines for FIFOs, want 2:\n%s", n, h.log.String())
	}
}

// TestRunPermissionDenied: an unreadable directory is reported once, is not
// fatal, and is picked up once readable. Root ignores permissions, so the
// test needs an unprivileged user.
func TestRunPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("running as root: permission bits are not enforced")
	}
	t.Parallel()
	root := t.TempDir()
	locked := filepath.Join(root, "locked")
	inside := filepath.Join(locked, "a.jpg")
	writeFile(t, inside, 10)
	if err := os.Chmod(locked, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(locked, 0o755) })
	h := start(t, notifyOpts(root, true), nil)
	h.barrier(t, root)
	h.w.Rescan()
	h.barrier(t, root)
	if n := countLines(h.log.String(), "permission denied"); n != 1 {
		t.Errorf("%d permission warnings, want 1:\n%s", n, h.log.String())
	}
	if err := os.Chmod(locked, 0o755); err != nil {
		t.Fatal(err)
	}
	h.w.Rescan()
	h.waitFor(t, "ready:"+inside)
}

// TestRunDirRenamedOverWatchedDir: a directory renamed over an existing,
// empty, watched one (rename(2) replaces it) is watched again: a file
// written into it later is found by its events (there is no periodic
// rescan here).
func TestRunDirRenamedOverWatchedDir(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	sub := filepath.Join(root, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	h := start(t, notifyOpts(root, true), nil)
	h.barrier(t, root)
	stage := filepath.Join(root, "stage")
	if err := os.Mkdir(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	h.barrier(t, root)
	if err := syscall.Rename(stage, sub); err != nil { // replaces the empty sub (os.Rename refuses)
		t.Fatal(err)
	}
	h.barrier(t, root)
	p := filepath.Join(sub, "later.jpg")
	writeFile(t, p, 100)
	h.waitFor(t, "ready:"+p)
}
