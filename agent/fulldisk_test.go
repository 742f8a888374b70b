package agent

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
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

// TestFullDiskRetried: when the manifest cannot be written (a full disk), the upload is not forgotten:
// the error is logged once, clearly, and the entry is written as soon as there is room again.
func TestFullDiskRetried(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	up := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL})
	dir := t.TempDir()
	var logs testsupport.Buffer
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
	for !strings.Contains(logs.String(), "manifest written again") { // logged just after the write
		if time.Now().After(deadline) {
			t.Fatalf("recovery never logged:\n%s", logs.String())
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

// feed is a Source fed by the test.
type feed chan watcher.File

func (f feed) Run(ctx context.Context, out chan<- watcher.File) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case wf := <-f:
			select {
			case out <- wf:
			case <-ctx.Done():
				return nil
			}
		}
	}
}

// TestParkedFolderDoesNotStallOthers: with a single worker, a folder whose manifest cannot be
// written is parked (one clear error) while the other folder's files go on uploading; once the disk
// has room, the parked folder's upload is recorded (not uploaded again) and its files that waited
// are uploaded (issue 17: an unwritable manifest held every worker in record() retries).
func TestParkedFolderDoesNotStallOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := emulatortest.NewInMemory(t, emulator.Options{})
		up := uploader.New(srv.InMemoryOAuth1Client(), uploader.Options{BaseURL: srv.URL})
		full, ok := t.TempDir(), t.TempDir()
		var logs testsupport.Buffer
		a, err := New(up, Options{Workers: 1, Folders: []Folder{{Path: full}, {Path: ok}}}, zerolog.New(&logs))
		if err != nil {
			t.Fatal(err)
		}
		disk := &fullDisk{store: a.folders[0].store}
		disk.full.Store(true)
		a.folders[0].store = disk
		src := make(feed)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx, src) }()
		drop := func(dir, name string, seed int64) {
			p := dir + "/" + name
			if err := writeFile(p, mediagen.JPEG(40, 40, seed)); err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(p)
			src <- watcher.File{Root: dir, Path: p, Size: fi.Size(), ModTime: fi.ModTime()}
		}
		drop(full, "a.jpg", 1) // uploaded; recording it fails: the folder parks
		drop(full, "b.jpg", 2) // held while parked
		time.Sleep(time.Second)
		synctest.Wait()
		for i := range 5 {
			drop(ok, fmt.Sprintf("%d.jpg", i), int64(10+i))
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		m, err := manifest.Read(manifest.DefaultPath(ok))
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if e := m.Files[fmt.Sprintf("%d.jpg", i)]; e.State != manifest.Uploaded {
				t.Errorf("other folder's %d.jpg: %q while the first folder is parked; want uploaded", i, e.State)
			}
		}
		if st := a.Status(); st.Parked[full].Err == nil || st.Parked[full].Since.IsZero() {
			t.Errorf("Status().Parked = %v; want %s with its error and since when", st.Parked, full)
		}
		if n := len(srv.Media()); n != 6 {
			t.Errorf("%d media at X, want 6 (a.jpg, and the other folder's five; b.jpg waits)", n)
		}
		disk.full.Store(false)
		time.Sleep(2 * time.Minute) // the next manifest write, then b.jpg
		synctest.Wait()
		fm, err := manifest.Read(manifest.DefaultPath(full))
		if err != nil {
			t.Fatal(err)
		}
		for _, rel := range []string{"a.jpg", "b.jpg"} {
			if e := fm.Files[rel]; e.State != manifest.Uploaded {
				t.Errorf("parked folder's %s: %q after the disk had room; want uploaded", rel, e.State)
			}
		}
		if n := len(srv.Media()); n != 7 {
			t.Errorf("%d media at X, want 7 (a.jpg not uploaded twice)", n)
		}
		out := logs.String()
		if c := strings.Count(out, "cannot write manifest"); c != 1 {
			t.Errorf("'cannot write manifest' logged %d times, want once:\n%s", c, out)
		}
		if !strings.Contains(out, "manifest written again") {
			t.Errorf("recovery not logged:\n%s", out)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		a.Close()
	})
}
