package agent_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// Regression tests from the code review: each failed before its fix.

// TestUnreadableAtRestartKeepsResume: a finalized upload whose file is briefly unreadable at restart
// keeps its resume state and finishes on the same media id instead of being uploaded a second time.
func TestUnreadableAtRestartKeepsResume(t *testing.T) {
	if os.Geteuid() == 0 {
		runAsNobody(t, "TestUnreadableAtRestartKeepsResume")
		return
	}
	h := newHarness(t, emulator.Faults{ProcessingTime: 4 * time.Second})
	data := mediagen.MP4(2_000_000, 3)
	p := h.write("v.mp4", data)
	stop := h.start(h.options())
	h.waitEntry("v.mp4", "processing", func(e manifest.Entry) bool { return e.State == manifest.Processing })
	stop()
	os.Chmod(p, 0) // a NAS hiccup, a permissions fix in progress...
	h.start(h.options())
	e := h.waitEntry("v.mp4", "failed", func(e manifest.Entry) bool { return e.State == manifest.Failed })
	if e.Resume == nil || e.Resume.MediaID == "" {
		t.Errorf("the read failure dropped the resume state: %+v", e)
	}
	os.Chmod(p, 0o644)
	h.waitFor(manifest.Uploaded, "v.mp4")
	n := 0
	for _, mi := range h.srv.Media() {
		if mi.SHA256 == sum(data) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the emulator holds %d media with the file's bytes; want 1 (the finalized one resumed)", n)
	}
}

// TestChangedWhileQueued: a file re-exported while its first version waits in the queue is uploaded
// as it is now.
func TestChangedWhileQueued(t *testing.T) {
	h := newHarness(t, emulator.Faults{Bandwidth: 1 << 20})
	opts := h.options()
	opts.Workers = 1
	h.start(opts)
	h.write("busy.mp4", mediagen.MP4(4_000_000, 1)) // keeps the only worker busy for a few seconds
	time.Sleep(700 * time.Millisecond)
	h.write("a.jpg", mediagen.JPEG(40, 40, 1)) // settles, queued behind busy.mp4
	time.Sleep(700 * time.Millisecond)
	v2 := mediagen.JPEG(90, 90, 2) // re-exported: new size
	h.write("a.jpg", v2)           // settles again while the first job still waits
	h.waitEntry("a.jpg", "uploaded with the new bytes", func(e manifest.Entry) bool {
		return e.State == manifest.Uploaded && e.SHA256 == sum(v2)
	})
}

// TestRefreshFailureKeepsValidID: a refresh that fails does not throw away a media id that is still
// valid for hours; it is retried, and a later refresh replaces the id.
func TestRefreshFailureKeepsValidID(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	h.up = uploader.New(h.srv.OAuth1Client(), uploader.Options{BaseURL: h.srv.URL, MaxAttempts: 1, MaxBackoff: 10 * time.Millisecond})
	opts := h.options()
	opts.Folders[0].RefreshBeforeExpiry = 24*time.Hour - 2*time.Second // due two seconds after upload
	h.start(opts)
	h.write("a.jpg", mediagen.JPEG(30, 30, 1))
	first := h.waitFor(manifest.Uploaded, "a.jpg").Files["a.jpg"]
	h.srv.SetFaults(emulator.Faults{FailRate: 1, Seed: 1}) // X has a bad minute when the refresh runs
	deadline := time.Now().Add(30 * time.Second)
	for h.srv.Stats().Count("POST /2/media/upload", 0) < 2 { // the upload, and a failed refresh
		if time.Now().After(deadline) {
			t.Fatal("no refresh attempted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let the failure be handled
	if e := h.entries()["a.jpg"]; e.MediaIDString != first.MediaIDString || !e.Usable(time.Now()) {
		t.Errorf("a failed refresh replaced a media id valid until %s with %s/%q", first.ExpiresAt, e.State, e.MediaIDString)
	}
	h.srv.SetFaults(emulator.Faults{})
	h.waitEntry("a.jpg", "refreshed", func(e manifest.Entry) bool {
		return e.State == manifest.Uploaded && e.MediaIDString != first.MediaIDString
	})
}

// TestDeletedWhileStopped: a file deleted while the agent was not running is flagged deleted.
func TestDeletedWhileStopped(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	p := h.write("a.jpg", mediagen.JPEG(30, 30, 1))
	stop := h.start(h.options())
	h.waitFor(manifest.Uploaded, "a.jpg")
	stop()
	os.Remove(p)
	ag, err := agent.New(h.up, h.options(), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.once(ag); err != nil {
		t.Fatal(err)
	}
	ag.Close()
	if e := h.entries()["a.jpg"]; !e.Deleted || e.State != manifest.Uploaded {
		t.Errorf("file deleted while stopped: entry %+v; want uploaded, flagged deleted", e)
	}
}

// TestMoveFinishedAfterRestart: an agent stopped between recording an upload and moving the file
// moves it on its next start, without uploading it again.
func TestMoveFinishedAfterRestart(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	h.write("a.jpg", mediagen.JPEG(30, 30, 1))
	stop := h.start(h.options()) // no move policy yet: the upload is recorded, the file stays
	h.waitFor(manifest.Uploaded, "a.jpg")
	stop()
	opts := h.options()
	opts.Folders[0].MoveTo = filepath.Join(h.dir, ".done")
	h.start(opts)
	e := h.waitEntry("a.jpg", "moved", func(e manifest.Entry) bool { return e.MovedTo != "" })
	if _, err := os.Stat(e.MovedTo); err != nil {
		t.Errorf("moved_to %s: %v", e.MovedTo, err)
	}
	if n := len(h.srv.Media()); n != 1 {
		t.Errorf("%d uploads; want 1", n)
	}
}
