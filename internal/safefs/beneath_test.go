//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package safefs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func sameDevice(t *testing.T, a, b string) bool {
	t.Helper()
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		t.Fatal(err)
	}
	return sa.Dev == sb.Dev
}

// TestMoveAcrossDevices moves between t.TempDir() and /dev/shm when they are different devices:
// the copy keeps mode 0600 (it came out 0644 in issue 17.1) and the mtime.
func TestMoveAcrossDevices(t *testing.T) {
	shm, err := os.MkdirTemp("/dev/shm", "safefs-test-")
	if err != nil {
		t.Skipf("no /dev/shm to move across devices to: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(shm) })
	root := t.TempDir()
	if sameDevice(t, root, shm) {
		t.Skipf("%s and /dev/shm are on the same device here; TestMoveCopy covers the copy", root)
	}
	src := filepath.Join(root, "q", "y.jpg")
	mtime := privateFile(t, src, "secret bytes")
	got, err := Move(root, "q/y.jpg", shm, "done/q/y.jpg")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(shm, "done", "q", "y.jpg"); got != want {
		t.Errorf("Move = %q, want %q", got, want)
	}
	checkMoved(t, src, got, "secret bytes", mtime)
}

// TestOpenFIFO: a FIFO swapped in for a file must not hold the caller in open(2) (os.Open would
// wait for a writer forever); the caller sees a non-regular file in f.Stat().
func TestOpenFIFO(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			if err := unix.Mkfifo(filepath.Join(root, "y.jpg"), 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			f, err := open(root, "y.jpg", m.o)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if fi, err := f.Stat(); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
				t.Errorf("f.Stat() = %v, %v; want a named pipe", fi, err)
			}
		})
	}
}

// TestLinkRename covers the no-replace rename of kernels without renameat2 (and file systems that
// refuse RENAME_NOREPLACE): link the new name, unlink the old one.
func TestLinkRename(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a"), "a")
	write(t, filepath.Join(dir, "taken"), "taken")
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dfd)
	if err := linkRename(dfd, "a", dfd, "taken"); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("linkRename onto a taken name = %v, want EEXIST", err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "taken")); string(data) != "taken" {
		t.Errorf("taken name overwritten: %q", data)
	}
	if err := linkRename(dfd, "a", dfd, "b"); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "b")); string(data) != "a" {
		t.Errorf("b holds %q", data)
	}
	if _, err := os.Lstat(filepath.Join(dir, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old name still there: %v", err)
	}
}
