package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// statusIn runs `mediasync status` in-process with args and returns its exit code and stdout.
func statusIn(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), append([]string{"status"}, args...), strings.NewReader(""), &out, &errb)
	if errb.Len() > 0 {
		t.Logf("status %v stderr: %s", args, errb.String())
	}
	return code, out.String()
}

// TestStatusStatesAndReasons: with no agent, status counts expired ids apart from valid ones,
// filters with --state, prints counts only with --summary, never cuts a reason, and shows an
// on_upload command that failed for good.
func TestStatusStatesAndReasons(t *testing.T) {
	dir := t.TempDir()
	cfg := writeAgentConfig(t, filepath.Join(t.TempDir(), "c.yaml"), agentConfig{BaseURL: "http://127.0.0.1:1", Folder: dir,
		Creds: emulator.DemoCredentials()})
	now := time.Now().UTC()
	longWhy := "Unsupported video format: " + strings.Repeat("the codec profile is not one X takes, ", 6) + "END"
	st, err := manifest.Open(manifest.DefaultPath(dir), dir)
	if err != nil {
		t.Fatal(err)
	}
	for rel, e := range map[string]manifest.Entry{
		"valid.jpg": {State: manifest.Uploaded, MediaIDString: "111", UploadedAt: now, ExpiresAt: now.Add(20 * time.Hour), UpdatedAt: now,
			Hook: &manifest.HookState{State: manifest.HookFailed, Attempts: 5, LastError: "exit status 7: curl: (7) Failed to connect"}},
		"expired.jpg": {State: manifest.Uploaded, MediaIDString: "222", UploadedAt: now.Add(-30 * time.Hour), ExpiresAt: now.Add(-6 * time.Hour), UpdatedAt: now},
		"bad.mp4":     {State: manifest.Failed, Attempts: 1, UpdatedAt: now, Error: &manifest.Error{Message: longWhy, Permanent: true, HTTPStatus: 400}},
		"huge.tif":    {State: manifest.Skipped, UpdatedAt: now, Reason: "45.2 MB is over X's 5 MB photo limit; " + strings.Repeat("fit: auto would resize it; ", 4) + "END"},
	} {
		if err := st.Put(rel, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	code, out := statusIn(t, "--config", cfg)
	for _, want := range []string{
		"1 uploaded, 1 expired, 1 failed, 1 skipped",
		"error: " + longWhy + " (HTTP 400); not retried by itself",
		"why: 45.2 MB is over X's 5 MB photo limit; ",
		"on_upload failed 5 time(s), for good: exit status 7: curl: (7) Failed to connect; mediasync retry --hooks runs it again",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("status does not print %q:\n%s", want, out)
		}
	}
	if code != 0 || strings.Count(out, "END") != 2 || strings.Contains(out, "agent:") {
		t.Errorf("status = exit %d; want both reasons whole and no agent line:\n%s", code, out)
	}

	_, out = statusIn(t, "--config", cfg, "--state", "expired")
	if !strings.Contains(out, "expired.jpg") || strings.Contains(out, "valid.jpg") || strings.Contains(out, "bad.mp4") {
		t.Errorf("status --state expired lists other files:\n%s", out)
	}
	_, out = statusIn(t, "--config", cfg, "--state", "uploaded")
	if !strings.Contains(out, "valid.jpg") || strings.Contains(out, "expired.jpg") {
		t.Errorf("status --state uploaded:\n%s", out)
	}
	_, out = statusIn(t, "--config", cfg, "--summary")
	if strings.Contains(out, ".jpg") || !strings.Contains(out, "1 uploaded, 1 expired, 1 failed, 1 skipped") {
		t.Errorf("status --summary lists files or lacks the counts:\n%s", out)
	}
	if code, _ := statusIn(t, "--config", cfg, "--state", "done"); code != exitUsage {
		t.Errorf("status --state done = exit %d, want 2", code)
	}
	_, out = statusIn(t, "--config", cfg, "--json")
	var js struct {
		Folders []folderStatus `json:"folders"`
	}
	if err := json.Unmarshal([]byte(out), &js); err != nil || len(js.Folders) != 1 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if c := js.Folders[0].Counts; c["uploaded"] != 1 || c["expired"] != 1 || js.Folders[0].Live != nil {
		t.Errorf("status --json counts %v, live %+v; want uploaded 1, expired 1, no live part", c, js.Folders[0].Live)
	}
}

// TestStatusLive: while `mediasync run` runs, status shows what it does: each upload in flight
// with its percent, and, while X refuses the account, that uploads are paused, why, and the fix;
// --json carries the same under "live".
func TestStatusLive(t *testing.T) {
	ra := startRunning(t, runOpts{sequential: true})
	var js struct {
		Folders []folderStatus `json:"folders"`
	}
	liveOfJSON := func(out string) *liveStatus {
		js.Folders = nil
		if json.Unmarshal([]byte(out), &js) != nil || len(js.Folders) != 1 {
			return nil
		}
		return js.Folders[0].Live
	}

	// An upload in flight: slowed by the emulator until a segment is acknowledged, then held (every
	// further request waits an hour; the agent is killed at the end of the test). Segments go one
	// at a time, so at most the one already sent completes after the hold.
	ra.srv.SetFaults(emulator.Faults{Bandwidth: 100_000})
	if err := writeViaRename(filepath.Join(ra.folder, "slow.png"), mediagen.PNG(600, 600, 11)); err != nil {
		t.Fatal(err)
	}
	ra.until("status --json shows a segment of slow.png acknowledged", func() bool {
		_, out, _ := ra.cli("status", "--json")
		l := liveOfJSON(out)
		return l != nil && len(l.Active) == 1 && l.Active[0].Segments > 0
	})
	ra.srv.SetFaults(emulator.Faults{Latency: time.Hour})
	_, out, _ := ra.cli("status", "--json")
	l := liveOfJSON(out)
	if l == nil || len(l.Active) != 1 || l.Active[0].Rel != "slow.png" || l.Active[0].Bytes <= 0 || l.Active[0].Bytes >= l.Active[0].Total ||
		l.Active[0].SegmentsTotal < 5 || l.Paused != nil {
		t.Fatalf("status --json while uploading: live %+v\n%s", l, out)
	}
	_, out, _ = ra.cli("status")
	if !regexp.MustCompile(`(?m)^  agent: running, 0 queued, 1 uploading\n  uploading now:\n    slow\.png  uploading  \d+%  [0-9.]+ KB of 1(\.\d)? MB, \d of \d segments`).MatchString(out) {
		t.Errorf("status while uploading:\n%s", out)
	}

	// An account refusal pauses every upload: status says so, with the cause and the fix.
	ra.srv.SetFaults(emulator.Faults{CreditsDepleted: true})
	if err := writeViaRename(filepath.Join(ra.folder, "p.jpg"), mediagen.JPEG(32, 32, 4)); err != nil {
		t.Fatal(err)
	}
	ra.until("status shows the pause", func() bool {
		_, out, _ := ra.cli("status")
		return strings.Contains(out, "PAUSED")
	})
	_, out, _ = ra.cli("status")
	if !regexp.MustCompile(`(?m)^  PAUSED for \d+s \(credits_depleted\): .*credits.*\n    fix: .*credits`).MatchString(out) {
		t.Errorf("status while paused:\n%s", out)
	}
	_, out, _ = ra.cli("status", "--json")
	if l := liveOfJSON(out); l == nil || l.Paused == nil || l.Paused.Cause != "credits_depleted" || l.Paused.Fix == "" {
		t.Errorf("status --json while paused: live %+v\n%s", l, out)
	}
}

// TestStatusRefusedFolder: a configured folder the running agent does not watch (another process
// holds its manifest) is shown with why, by that agent, although the folder has no socket of its
// own.
func TestStatusRefusedFolder(t *testing.T) {
	var locked string
	ra := startRunning(t, runOpts{before: func(folder, cfg string) {
		locked = filepath.Join(filepath.Dir(folder), "locked")
		if err := os.Mkdir(locked, 0o755); err != nil {
			t.Fatal(err)
		}
		held, err := manifest.Open(manifest.DefaultPath(locked), locked)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { held.Close() })
		b, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		two := strings.Replace(string(b), "folders:\n", "folders:\n  - path: \""+locked+"\"\n", 1)
		if err := os.WriteFile(cfg, []byte(two), 0o600); err != nil {
			t.Fatal(err)
		}
	}})
	_, out, _ := ra.cli("status", locked)
	if !strings.Contains(out, "NOT WATCHED (locked)") || !strings.Contains(out, "fix: another mediasync process") {
		t.Errorf("status of the folder the agent refused:\n%s", out)
	}
	_, out, _ = ra.cli("status")
	if !strings.Contains(out, ra.folder+"  (manifest") || strings.Count(out, "agent: running") != 1 {
		t.Errorf("status of both folders:\n%s", out)
	}
}
