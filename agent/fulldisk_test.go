package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// fullDisk is a store whose durable writes fail with ENOSPC while full is set.
type fullDisk struct {
	store
	full   atomic.Bool
	failed atomic.Int64
}

func (d *fullDisk) Put(rel string, e manifest.Entry) error {
	return d.PutMany(map[string]manifest.Entry{rel: e})
}

func (d *fullDisk) PutMany(entries map[string]manifest.Entry) error {
	if d.full.Load() {
		d.failed.Add(1)
		return fmt.Errorf("write manifest: %w", syscall.ENOSPC)
	}
	return d.store.PutMany(entries)
}

// SyncBuffer is a goroutine-safe log sink for tests (exported for the agent_test package).
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *SyncBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *SyncBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestFullDiskRetried: when the manifest cannot be written (a full disk), the upload is not forgotten:
// the error is logged once, clearly, and the entry is written as soon as there is room again.
func TestFullDiskRetried(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	up := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL})
	dir := t.TempDir()
	var logs SyncBuffer
	a, err := New(up, Options{Folders: []Folder{{Path: dir, Recursive: true}}}, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	disk := &fullDisk{store: a.folders[0].store}
	disk.full.Store(true)
	a.folders[0].store = disk

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	w, err := watcher.New(a.WatchOptions(watcher.Options{SettleFor: 100 * time.Millisecond}), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	go func() { done <- a.Run(ctx, w) }()
	defer func() { cancel(); <-done }()
	if err := writeFile(dir+"/a.jpg", mediagen.JPEG(40, 40, 1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for disk.failed.Load() < 2 { // the upload went through; recording it keeps failing
		if time.Now().After(deadline) {
			t.Fatalf("no manifest write attempted; logs:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(srv.Media()); n != 1 {
		t.Fatalf("emulator holds %d media, want 1", n)
	}
	disk.full.Store(false)
	for {
		// What counts is the file: the store shows an entry in memory before its write is done.
		if m, err := manifest.Read(manifest.DefaultPath(dir)); err == nil && m.Files["a.jpg"].State == manifest.Uploaded {
			if e, _ := disk.Get("a.jpg"); m.Files["a.jpg"].MediaIDString != e.MediaIDString {
				t.Fatalf("on disk %+v, in memory %+v", m.Files["a.jpg"], e)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry never written after the disk had room; logs:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if n := strings.Count(out, "cannot write manifest"); n != 1 {
		t.Errorf("'cannot write manifest' logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, "no space left on device") || !strings.Contains(out, "manifest written again") {
		t.Errorf("logs do not say why and that it recovered:\n%s", out)
	}
	if n := len(srv.Media()); n != 1 {
		t.Errorf("emulator holds %d media after recovery, want 1 (no second upload)", n)
	}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }
