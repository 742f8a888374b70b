package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestUploadLongVideo: `mediasync upload` refuses a 150 s MP4 before sending anything, in a
// configured folder (skipped and recorded) and as a loose file (skipped), saying why; a 120 s MP4 and
// an MP4 whose duration cannot be read (the server decides) are uploaded.
func TestUploadLongVideo(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	dir := t.TempDir()
	folder, loose := filepath.Join(dir, "videos"), filepath.Join(dir, "loose")
	write := func(path string, data []byte) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	unknown := mediagen.MP4Duration(64<<10, 4, 150*time.Second)
	i := bytes.Index(unknown, []byte("mvhd"))
	copy(unknown[i+4+16:], []byte{0xff, 0xff, 0xff, 0xff}) // mvhd v0 duration: "undetermined"
	paths := []string{
		write(filepath.Join(folder, "long.mp4"), mediagen.MP4Duration(64<<10, 1, 150*time.Second)),
		write(filepath.Join(loose, "long.mp4"), mediagen.MP4Duration(64<<10, 2, 150*time.Second)),
		write(filepath.Join(loose, "ok.mp4"), mediagen.MP4Duration(64<<10, 3, 120*time.Second)),
		write(filepath.Join(loose, "unknown.mp4"), unknown),
	}
	cfg := writeAgentConfig(t, filepath.Join(dir, "c.yaml"), agentConfig{BaseURL: srv.URL, Creds: srv.Creds, Folder: folder})

	code, stdout, stderr := runCLI(t, mediasyncExe(t), agentEnv(), 2*time.Minute, append([]string{"upload", "--config", cfg}, paths...)...)
	if code != 1 {
		t.Fatalf("exit code %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	lines := map[string]string{}
	for l := range strings.Lines(stdout) {
		path, rest, _ := strings.Cut(strings.TrimSpace(l), "\t")
		lines[path] = rest
	}
	for _, tc := range []struct{ path, state string }{
		{paths[0], "skipped"}, {paths[1], "skipped"}, {paths[2], "uploaded"}, {paths[3], "uploaded"},
	} {
		line, ok := lines[tc.path]
		if !ok {
			t.Errorf("no output line for %s\nstdout:\n%s", tc.path, stdout)
			continue
		}
		if !strings.HasPrefix(line, tc.state+"\t") {
			t.Errorf("%s: %q, want %s", tc.path, line, tc.state)
		}
		if tc.state != "uploaded" {
			for _, want := range []string{"2m30s", "2m20s", "tweet_video", "amplify_video"} {
				if !strings.Contains(line, want) {
					t.Errorf("%s: %q does not mention %q", tc.path, line, want)
				}
			}
		}
	}
	if !strings.Contains(stderr, "video duration unknown") {
		t.Errorf("no debug line about the MP4 whose duration is unknown\nstderr:\n%s", stderr)
	}
	media := srv.Media()
	if len(media) != 2 {
		t.Errorf("emulator has %d media ids, want 2 (ok.mp4, unknown.mp4): %+v", len(media), media)
	}
	if n := srv.Stats().Count("POST /2/media/upload/initialize", 0); n != 2 {
		t.Errorf("%d initialize requests, want 2", n)
	}

	// As the README says: the skipped file is uploaded once re-sent by name
	// as amplify_video, which has no such limit.
	code, stdout, stderr = runCLI(t, mediasyncExe(t), agentEnv(), 2*time.Minute, "upload", "--config", cfg, "--category", "amplify_video", paths[0])
	if code != 0 || !strings.Contains(stdout, "uploaded\t") {
		t.Fatalf("upload --category amplify_video: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}
