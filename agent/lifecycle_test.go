package agent_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// TestChangedFileUploadedAgain: new bytes replace the entry; a touch that keeps the bytes does not
// upload; a deleted file keeps its entry, flagged.
func TestChangedFileUploadedAgain(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	h.start(h.options())
	p := h.write("a.jpg", mediagen.JPEG(60, 60, 1))
	first := h.waitFor(manifest.Uploaded, "a.jpg").Files["a.jpg"]

	v2 := mediagen.JPEG(60, 60, 2)
	h.write("a.jpg", v2)
	second := h.waitEntry("a.jpg", "uploaded with the new bytes", func(e manifest.Entry) bool {
		return e.State == manifest.Uploaded && e.SHA256 == sum(v2)
	})
	if second.MediaIDString == first.MediaIDString {
		t.Errorf("changed file kept media id %s", first.MediaIDString)
	}

	// Re-exporting the same bytes (a new mtime, same content) keeps the media id.
	n := len(h.srv.Media())
	h.write("a.jpg", v2)
	later := first.MTime.Add(time.Minute) // a distinct mtime, whatever the clock's resolution
	if err := os.Chtimes(p, later, later); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	third := h.waitEntry("a.jpg", "updated mtime", func(e manifest.Entry) bool { return e.MTime.Equal(st.ModTime()) })
	if third.MediaIDString != second.MediaIDString || len(h.srv.Media()) != n {
		t.Errorf("touching a file uploaded it again: %s → %s, %d → %d media", second.MediaIDString, third.MediaIDString, n, len(h.srv.Media()))
	}

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	gone := h.waitEntry("a.jpg", "flagged deleted", func(e manifest.Entry) bool { return e.Deleted })
	if gone.State != manifest.Uploaded || gone.MediaIDString != second.MediaIDString {
		t.Errorf("deleted file's entry changed: %+v", gone)
	}
}

// TestRetryableFailuresRetried: while the API answers 5xx to everything, files are recorded failed
// (retryable, with a next attempt time); once it recovers they are uploaded, with attempts counted.
func TestRetryableFailuresRetried(t *testing.T) {
	h := newHarness(t, emulator.Faults{FailRate: 1, Seed: 1})
	h.up = uploader.New(h.srv.OAuth1Client(), uploader.Options{BaseURL: h.srv.URL, MaxAttempts: 2, MaxBackoff: 10 * time.Millisecond})
	h.start(h.options())
	h.write("a.jpg", mediagen.JPEG(40, 40, 1))
	e := h.waitEntry("a.jpg", "failed, retryable", func(e manifest.Entry) bool {
		return e.State == manifest.Failed && e.Attempts >= 2
	})
	if e.Error == nil || e.Error.Permanent || e.NextAttemptAt.IsZero() || e.Error.HTTPStatus < 500 {
		t.Fatalf("entry %+v: want a retryable 5xx with a next attempt time", e)
	}
	h.srv.SetFaults(emulator.Faults{ProcessingTime: 100 * time.Millisecond})
	e = h.waitFor(manifest.Uploaded, "a.jpg").Files["a.jpg"]
	if e.Attempts < 3 || e.Error != nil {
		t.Errorf("after recovery: %+v; want attempts ≥ 3 and no error", e)
	}
}

// switchingTransport signs with wrong credentials until fixed is set.
type switchingTransport struct {
	fixed       atomic.Bool
	right, bad  *http.Client
	badRequests atomic.Int64
}

func (s *switchingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.fixed.Load() {
		return s.right.Transport.RoundTrip(r)
	}
	s.badRequests.Add(1)
	return s.bad.Transport.RoundTrip(r)
}

// TestCorruptManifestRefusesOnlyThatFolder: a folder whose manifest cannot be parsed is refused
// with a clear error and its manifest is left untouched; the other folder carries on.
func TestCorruptManifestRefusesOnlyThatFolder(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	bad := t.TempDir()
	mpath := manifest.DefaultPath(bad)
	os.MkdirAll(filepath.Dir(mpath), 0o755)
	garbage := []byte("{\"version\": 1, \"files\": {oops")
	os.WriteFile(mpath, garbage, 0o644)
	os.WriteFile(filepath.Join(bad, "x.jpg"), mediagen.JPEG(20, 20, 1), 0o644)

	var logs testsupport.Buffer
	opts := h.options()
	opts.Folders = append(opts.Folders, agent.Folder{Path: bad, Recursive: true})
	ag, err := agent.New(h.up, opts, zerolog.New(&logs))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer ag.Close()
	if got := ag.Folders(); len(got) != 1 || got[0] != h.dir {
		t.Errorf("folders = %v, want only %s", got, h.dir)
	}
	if !strings.Contains(logs.String(), mpath) || !strings.Contains(logs.String(), "folder refused") {
		t.Errorf("refusal not logged with the manifest path:\n%s", logs.String())
	}
	stop := h.run(ag)
	h.write("ok.jpg", mediagen.JPEG(20, 20, 2))
	h.waitFor(manifest.Uploaded, "ok.jpg")
	stop()
	if got, _ := os.ReadFile(mpath); !bytes.Equal(got, garbage) {
		t.Error("corrupt manifest was modified")
	}

	// With only the corrupt folder, New fails and says why.
	opts.Folders = opts.Folders[1:]
	if _, err := agent.New(h.up, opts, zerolog.Nop()); !errors.Is(err, manifest.ErrCorrupt) || !errors.Is(err, agent.ErrNoFolders) {
		t.Errorf("New with only a corrupt folder: %v; want ErrNoFolders wrapping ErrCorrupt", err)
	}
}

// TestSecondAgentRefused: one writer per manifest.
func TestSecondAgentRefused(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	first, err := agent.New(h.up, h.options(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	_, err = agent.New(h.up, h.options(), zerolog.Nop())
	if !errors.Is(err, manifest.ErrLocked) {
		t.Fatalf("second agent: %v; want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "pid") {
		t.Errorf("lock error %q does not name the holder", err)
	}
}

// TestRefreshBeforeExpiry: a file whose media id expires within refresh_before_expiry is uploaded
// again and its entry replaced.
func TestRefreshBeforeExpiry(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	opts := h.options()
	opts.Folders[0].RefreshBeforeExpiry = 24*time.Hour - 2*time.Second // due two seconds after upload
	h.start(opts)
	h.write("a.jpg", mediagen.JPEG(30, 30, 1))
	first := h.waitFor(manifest.Uploaded, "a.jpg").Files["a.jpg"]
	second := h.waitEntry("a.jpg", "refreshed", func(e manifest.Entry) bool {
		return e.State == manifest.Uploaded && e.MediaIDString != first.MediaIDString
	})
	if !second.ExpiresAt.After(first.ExpiresAt) {
		t.Errorf("refreshed expiry %v not after %v", second.ExpiresAt, first.ExpiresAt)
	}
}
