package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// entryOf returns rel's entry in the manifest of folder (zero when unreadable or absent).
func entryOf(folder, rel string) manifest.Entry {
	m, err := manifest.Read(manifest.DefaultPath(folder))
	if err != nil {
		return manifest.Entry{}
	}
	return m.Files[rel]
}

// failGIF drops an animated GIF named name while the emulator fails processing, waits until the
// running agent records it failed, and lifts the fault.
func (ra *runningAgent) failGIF(name string) {
	ra.t.Helper()
	ra.srv.SetFaults(emulator.Faults{FailProcessing: true})
	if err := writeViaRename(filepath.Join(ra.folder, name), mediagen.GIF(32, 24, 3, int64(len(name)))); err != nil {
		ra.t.Fatal(err)
	}
	ra.until(name+" is recorded failed", func() bool { return entryOf(ra.folder, name).State == manifest.Failed })
	ra.srv.SetFaults(emulator.Faults{})
}

// mediaWithSum counts the media the emulator holds with the given sha256.
func mediaWithSum(srv *emulatortest.Server, sum string) int {
	n := 0
	for _, m := range srv.Media() {
		if m.SHA256 == sum {
			n++
		}
	}
	return n
}

// TestHandoffWhileRunning: while `mediasync run` holds the manifest's lock, `upload`, `retry FILE`,
// `retry --failed` and `explain` hand their request to it through the control socket and print
// the result as they would have done it themselves.
func TestHandoffWhileRunning(t *testing.T) {
	ra := startRunning(t, runOpts{})

	// upload: the agent uploads it (once), the command prints the line with the media id.
	data := mediagen.PNG(600, 600, 7) // several 256 KiB segments
	big := filepath.Join(ra.folder, "big.png")
	if err := os.WriteFile(big, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := ra.cli("upload", big)
	e := entryOf(ra.folder, "big.png")
	if code != 0 || e.State != manifest.Uploaded || !strings.Contains(out, big+"\tuploaded\t"+e.MediaIDString) {
		t.Fatalf("upload while running = exit %d\nstdout %q\nstderr %q\nentry %+v", code, out, stderr, e)
	}
	if n := mediaWithSum(ra.srv, sha256Hex(data)); n != 1 {
		t.Errorf("the emulator holds big.png %d times, want once", n)
	}

	// retry FILE: a failed file is uploaded again by the agent and the line says so.
	ra.failGIF("bad.gif")
	code, out, stderr = ra.cli("retry", "--json", filepath.Join(ra.folder, "bad.gif"))
	var line uploadLine
	if err := json.Unmarshal([]byte(out), &line); code != 0 || err != nil || line.State != "uploaded" || line.MediaIDString == "" {
		t.Fatalf("retry FILE while running = exit %d, %q (%v), stderr %q", code, out, err, stderr)
	}
	if e := entryOf(ra.folder, "bad.gif"); e.State != manifest.Uploaded || e.MediaIDString != line.MediaIDString {
		t.Errorf("bad.gif after retry: %+v, want uploaded as %s", e, line.MediaIDString)
	}

	// retry --failed: the agent queues them and the command returns; they end uploaded.
	ra.failGIF("b1.gif")
	ra.failGIF("b2.gif")
	code, out, stderr = ra.cli("retry", "--failed")
	if code != 0 || out != ra.folder+"\tretrying 2 failed file(s)\n" {
		t.Fatalf("retry --failed while running = exit %d, %q, stderr %q", code, out, stderr)
	}
	ra.until("b1.gif and b2.gif are uploaded", func() bool {
		return entryOf(ra.folder, "b1.gif").State == manifest.Uploaded && entryOf(ra.folder, "b2.gif").State == manifest.Uploaded
	})
	code, out, _ = ra.cli("retry", "--hooks", ra.folder)
	if code != 0 || out != ra.folder+"\tretrying 0 failed on_upload hook(s)\n" {
		t.Errorf("retry --hooks while running = exit %d, %q", code, out)
	}

	// explain: the agent answers, so it knows a file waits in its queue while uploads are paused
	// (reading the manifest alone, it would say to start the agent).
	ra.srv.SetFaults(emulator.Faults{CreditsDepleted: true})
	waiting := filepath.Join(ra.folder, "waiting.jpg")
	if err := writeViaRename(waiting, mediagen.JPEG(32, 32, 3)); err != nil {
		t.Fatal(err)
	}
	ra.until("waiting.jpg is queued behind the pause", func() bool {
		_, out, _ := ra.cli("explain", waiting)
		return strings.Contains(out, "settled and queued")
	})
	_, out, _ = ra.cli("explain", "--json", waiting)
	var x explanation
	if err := json.Unmarshal([]byte(out), &x); err != nil || x.Verdict != "waiting" || x.Path != waiting || x.Fix != "" {
		t.Errorf("explain --json while paused = %q (%v); want verdict waiting without a fix", out, err)
	}
	ra.srv.SetFaults(emulator.Faults{})
}

// TestHandoffNoAgent: with no agent running, `retry FILE` and `retry --failed` open the folder's
// manifest themselves and upload, one line per file; a file outside every folder is refused.
func TestHandoffNoAgent(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{FailProcessing: true}})
	base := t.TempDir()
	folder := filepath.Join(base, "inbox")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(base, "c.yaml"), agentConfig{BaseURL: srv.URL, Creds: creds, Folder: folder, Settle: "100ms", LogLevel: "warn"})
	for _, name := range []string{"x.gif", "y.gif"} {
		if err := os.WriteFile(filepath.Join(folder, name), mediagen.GIF(32, 24, 3, int64(len(name)+int(name[0]))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe, env := mediasyncExe(t), agentEnv()
	if code, _, stderr := runCLI(t, exe, env, 90*time.Second, "run", "--once", "--config", cfg); code != 1 {
		t.Fatalf("run --once with processing failing = exit %d, want 1; stderr %s", code, stderr)
	}
	if entryOf(folder, "x.gif").State != manifest.Failed || entryOf(folder, "y.gif").State != manifest.Failed {
		t.Fatalf("x.gif, y.gif = %+v, %+v; want failed", entryOf(folder, "x.gif"), entryOf(folder, "y.gif"))
	}
	srv.SetFaults(emulator.Faults{})

	x := filepath.Join(folder, "x.gif")
	code, out, stderr := runCLI(t, exe, env, 90*time.Second, "retry", x, "--config", cfg)
	if e := entryOf(folder, "x.gif"); code != 0 || e.State != manifest.Uploaded || !strings.HasPrefix(out, x+"\tuploaded\t"+e.MediaIDString) {
		t.Fatalf("retry FILE without an agent = exit %d, %q, stderr %q; entry %+v", code, out, stderr, e)
	}
	code, out, stderr = runCLI(t, exe, env, 90*time.Second, "retry", "--failed", folder, "--config", cfg)
	y := filepath.Join(folder, "y.gif")
	if e := entryOf(folder, "y.gif"); code != 0 || e.State != manifest.Uploaded || !strings.HasPrefix(out, y+"\tuploaded\t"+e.MediaIDString) ||
		strings.Contains(out, "x.gif") {
		t.Fatalf("retry --failed without an agent = exit %d, %q, stderr %q; entry %+v", code, out, stderr, e)
	}

	loose := filepath.Join(base, "loose.jpg")
	if err := os.WriteFile(loose, mediagen.JPEG(8, 8, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, exe, env, 90*time.Second, "retry", loose, "--config", cfg)
	if code != 1 || !strings.Contains(out, "in no configured folder") {
		t.Errorf("retry of a file outside the folders = exit %d, %q; want 1 and why", code, out)
	}
	code, _, stderr = runCLI(t, exe, env, 90*time.Second, "retry", "--failed", base, "--config", cfg)
	if code != exitUsage || !strings.Contains(stderr, "not a configured folder") {
		t.Errorf("retry --failed of an unknown folder = exit %d, %q; want 2", code, stderr)
	}
}
