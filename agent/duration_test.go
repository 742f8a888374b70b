package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// TestLongVideoRefused drops a 150 s MP4 next to good files: the long one ends skipped, with a
// reason that says why and what to do, and not one request is sent for it (X would take all
// of it and only then fail it in processing); the 120 s MP4 and the photo are uploaded, and so is a
// 10-minute MP4 in a folder that uploads as amplify_video, which has no such limit.
func TestLongVideoRefused(t *testing.T) {
	h := newHarness(t, emulator.Faults{})
	amplify := t.TempDir()
	opts := h.options()
	opts.Folders = append(opts.Folders, agent.Folder{Path: amplify, Category: "amplify_video"})
	h.start(opts)

	long := mediagen.MP4Duration(300<<10, 1, 150*time.Second)
	good := map[string][]byte{
		"ok.mp4":    mediagen.MP4Duration(300<<10, 2, 120*time.Second),
		"photo.jpg": mediagen.JPEG(60, 40, 3),
	}
	h.write("long.mp4", long)
	for rel, data := range good {
		h.write(rel, data)
	}
	ampData := mediagen.MP4Duration(300<<10, 4, 10*time.Minute)
	if err := os.WriteFile(filepath.Join(amplify, "talk.mp4"), ampData, 0o644); err != nil {
		t.Fatal(err)
	}

	e := h.waitEntry("long.mp4", "skipped", func(e manifest.Entry) bool { return e.State == manifest.Skipped })
	for _, want := range []string{"2m30s", "2m20s", "tweet_video", "amplify_video"} {
		if !strings.Contains(e.Reason, want) {
			t.Errorf("long.mp4: reason %q does not mention %q", e.Reason, want)
		}
	}
	if e.MediaIDString != "" || e.Resume != nil {
		t.Errorf("long.mp4: entry has a media id or resume state: %+v", e)
	}

	rels := make([]string, 0, len(good))
	for rel := range good {
		rels = append(rels, rel)
	}
	m := h.waitFor(manifest.Uploaded, rels...)
	for rel, data := range good {
		if mi, ok := h.srv.MediaByID(m.Files[rel].MediaIDString); !ok || mi.SHA256 != sum(data) {
			t.Errorf("%s: not byte-identical at the emulator (%+v)", rel, mi)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	var amp manifest.Entry
	for {
		if am, err := manifest.Read(manifest.DefaultPath(amplify)); err == nil && am.Files["talk.mp4"].State == manifest.Uploaded {
			amp = am.Files["talk.mp4"]
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for talk.mp4 (amplify_video) to be uploaded")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if amp.MediaCategory != "amplify_video" || !strings.HasPrefix(amp.MediaKey, "13_") {
		t.Errorf("talk.mp4: category %q key %q, want amplify_video and 13_", amp.MediaCategory, amp.MediaKey)
	}

	// The emulator saw the three uploads and nothing of long.mp4: one INIT each, no media with its
	// bytes, nothing that failed processing.
	media := h.srv.Media()
	if len(media) != 3 {
		t.Errorf("emulator has %d media ids, want 3 (ok.mp4, photo.jpg, talk.mp4): %+v", len(media), media)
	}
	for _, mi := range media {
		if mi.SHA256 == sum(long) || mi.State == "failed" {
			t.Errorf("emulator got long.mp4 or failed processing: %+v", mi)
		}
	}
	if n := h.srv.Stats().Count("POST /2/media/upload/initialize", 0); n != 2 {
		t.Errorf("%d initialize requests, want 2 (the two uploaded videos)", n)
	}
}
