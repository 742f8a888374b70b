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
