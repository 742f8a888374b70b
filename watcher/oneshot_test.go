package watcher

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"
)

func TestScan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		stable, growing, known := filepath.Join(root, "a.jpg"), filepath.Join(root, "sub/clip.mp4"), filepath.Join(root, "known.jpg")
		for _, p := range []string{stable, growing, known, filepath.Join(root, "b.jpg.part"), filepath.Join(root, "@eaDir/x.jpg"), filepath.Join(root, ".mediasync/manifest.json")} {
			writeFile(t, p, 100)
		}
		outside := t.TempDir()
		writeFile(t, filepath.Join(outside, "secret.jpg"), 100)
		if err := os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(root, "link.jpg")); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(growing, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		stop := make(chan struct{})
		writerDone := make(chan struct{})
		go func() { // keeps growing the clip every second
			defer close(writerDone)
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := f.Write(make([]byte, 10)); err != nil {
						t.Error(err)
						return
					}
				}
			}
		}()
		opts := fakeOpts(root, ModeAuto)
		opts.Skip = func(p string, _ int64, _ time.Time) bool { return p == known }
		begin := time.Now()
		ready, unsettled, err := Scan(t.Context(), opts, zerolog.Nop())
		took := time.Since(begin)
		close(stop)
		<-writerDone
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		if got := keysOf(ready); !equalKeys(got, []string{"ready:" + stable}) {
			t.Errorf("ready = %v, want [%s]", got, stable)
		}
		if len(unsettled) != 1 || unsettled[0].Path != growing || unsettled[0].Size <= 100 {
			t.Errorf("unsettled = %+v, want %s with its grown size", unsettled, growing)
		}
		if took != settle {
			t.Errorf("Scan took %v, want exactly one settle period (%v)", took, settle)
		}
	})
}

// TestScanNetworkSettle: on a network root Scan waits the network settle
// time, whatever the mode (poll is what users of a mounted share pick).
func TestScanNetworkSettle(t *testing.T) {
	for _, mode := range []string{ModeAuto, ModePoll, ModeNotify} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				root := t.TempDir()
				p := filepath.Join(root, "a.jpg")
				writeFile(t, p, 10)
				w, err := New(fakeOpts(root, mode), zerolog.Nop())
				if err != nil {
					t.Fatal(err)
				}
				w.fsType = func(string) (string, bool, error) { return "smb2", true, nil }
				begin := time.Now()
				ready, _, err := w.scanOnce(t.Context())
				if err != nil || !equalKeys(keysOf(ready), ready1(p)) {
					t.Fatalf("scanOnce = %v, %v; want %s ready", keysOf(ready), err, p)
				}
				if took := time.Since(begin); took != DefaultNetworkSettleFor {
					t.Errorf("waited %v, want %v", took, DefaultNetworkSettleFor)
				}
			})
		})
	}
}

func ready1(p string) []string { return []string{"ready:" + p} }

func TestScanNothingToWaitFor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "known.jpg"), 10)
		opts := fakeOpts(root, ModePoll)
		opts.Roots = append(opts.Roots, Root{Path: filepath.Join(root, "missing"), Recursive: true})
		opts.Roots[0].Exclude = []string{filepath.Join(root, "missing")}
		opts.Skip = func(string, int64, time.Time) bool { return true }
		begin := time.Now()
		ready, unsettled, err := Scan(t.Context(), opts, zerolog.Nop())
		if err != nil || len(ready)+len(unsettled) != 0 {
			t.Fatalf("Scan = %v, %v, %v; want nothing (a missing root is not an error)", ready, unsettled, err)
		}
		if took := time.Since(begin); took != 0 {
			t.Errorf("Scan waited %v with nothing to settle", took)
		}
	})
}

func TestScanCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "a.jpg"), 10)
		ctx, cancel := context.WithCancel(t.Context())
		go func() {
			time.Sleep(time.Second)
			cancel()
		}()
		_, _, err := Scan(ctx, fakeOpts(root, ModePoll), zerolog.Nop())
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Scan = %v, want context.Canceled", err)
		}
	})
}

func TestScanBadOptions(t *testing.T) {
	_, _, err := Scan(t.Context(), Options{}, zerolog.Nop())
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("Scan(no roots) = %v, want *Error", err)
	}
}
