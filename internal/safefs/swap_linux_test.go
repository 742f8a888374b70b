package safefs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// TestSwapRace flips, with renameat2(RENAME_EXCHANGE), a directory q of the folder and a symlink to
// a directory outside it, while Open reads q/y.jpg in a loop: every Open must give the inside file
// or ErrEscaped, never the outside one. The loop is bounded; it runs until both outcomes were seen
// (so the race was really exercised) and at least minOpens times.
func TestSwapRace(t *testing.T) {
	const minOpens, maxOpens = 2000, 200000
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			root, outside := t.TempDir(), t.TempDir()
			write(t, filepath.Join(root, "q", "y.jpg"), "inside")
			write(t, filepath.Join(outside, "y.jpg"), "outside")
			symlink(t, outside, filepath.Join(root, ".q-link"))
			q, link := filepath.Join(root, "q"), filepath.Join(root, ".q-link")
			if err := unix.Renameat2(unix.AT_FDCWD, q, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
				t.Skipf("renameat2(RENAME_EXCHANGE): %v", err)
			}

			var stop atomic.Bool
			flipped := make(chan error, 1)
			go func() {
				for !stop.Load() {
					if err := unix.Renameat2(unix.AT_FDCWD, q, unix.AT_FDCWD, link, unix.RENAME_EXCHANGE); err != nil {
						flipped <- err
						return
					}
				}
				flipped <- nil
			}()
			var opened, escaped, other int
			for i := 0; i < maxOpens && (i < minOpens || opened == 0 || escaped == 0); i++ {
				f, err := open(root, "q/y.jpg", m.o)
				switch {
				case err == nil:
					data, rerr := io.ReadAll(f)
					f.Close()
					if rerr != nil || string(data) != "inside" {
						stop.Store(true)
						t.Fatalf("open #%d read %q (%v): it followed the symlink out of the folder", i, data, rerr)
					}
					opened++
				case errors.Is(err, ErrEscaped):
					escaped++
				default:
					other++
					if other == 1 {
						t.Logf("open #%d: %v", i, err)
					}
				}
			}
			stop.Store(true)
			if err := <-flipped; err != nil {
				t.Fatalf("swap: %v", err)
			}
			t.Logf("%d opens of the inside file, %d refused as escaped, %d other errors", opened, escaped, other)
			if opened == 0 || escaped == 0 {
				t.Errorf("the race was not exercised in %d opens (opened %d, escaped %d)", maxOpens, opened, escaped)
			}
			if other != 0 {
				t.Errorf("%d opens failed with another error than ErrEscaped", other)
			}
		})
	}
}

// BenchmarkOpen compares Open (openat2, and the per-component walk) with os.Open of the absolute
// path, for a file three directories deep; each iteration opens and closes.
func BenchmarkOpen(b *testing.B) {
	root := b.TempDir()
	rel := filepath.Join("2026", "05", "shoot", "IMG_0001.jpg")
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(rel)), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, rel), []byte("x"), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Run("os.Open", func(b *testing.B) {
		abs := filepath.Join(root, rel)
		for b.Loop() {
			f, err := os.Open(abs)
			if err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	})
	for _, m := range modes {
		b.Run(m.name, func(b *testing.B) {
			for b.Loop() {
				f, err := open(root, rel, m.o)
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
	}
	b.Run("lstat", func(b *testing.B) {
		for b.Loop() {
			if _, err := lstat(root, rel, opts{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("os.Lstat", func(b *testing.B) {
		abs := filepath.Join(root, rel)
		for b.Loop() {
			if _, err := os.Lstat(abs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
