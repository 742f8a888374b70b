package examples

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestWithRealMediasync runs the script with the real mediasync binary (built from ../cmd/mediasync)
// against the real emulator (`mediasync emulate` on a loopback port), and a fake /2/tweets. It checks
// that the CLI contract the script relies on holds: `get` exits 3 for a new file, `upload` records
// it, `get` then prints an id the emulator really holds for these bytes, and a second post reuses
// the ids without uploading again.
func TestWithRealMediasync(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the mediasync binary")
	}
	for _, tool := range []string{"bash", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", filepath.Join(bin, "mediasync"), "./cmd/mediasync")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/mediasync: %v\n%s", err, out)
	}
	emu := startEmulator(t, filepath.Join(bin, "mediasync"))

	inbox := filepath.Join(dir, "inbox")
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"harbour.jpg": mediagen.JPEG(320, 240, 1),
		"map.png":     mediagen.PNG(64, 64, 2),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(inbox, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := filepath.Join(dir, "mediasync.yaml")
	err := os.WriteFile(cfg, fmt.Appendf(nil, `api:
  version: v2
  base_url: %s
credentials:
  consumer_key: ck
  consumer_secret: cs
  access_token: at
  access_token_secret: ats
folders:
  - path: %s
`, emu, inbox), 0o600)
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu     sync.Mutex
		bodies []tweetBody
	)
	x := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b tweetBody
		err := json.NewDecoder(r.Body).Decode(&b)
		if err != nil || r.URL.Path != "/2/tweets" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"title":"Bad Request"}`, http.StatusBadRequest)
			return
		}
		mu.Lock()
		bodies = append(bodies, b)
		n := len(bodies)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"data":{"id":"18000000000000000%02d","text":%q}}`, n, b.Text)
	}))
	t.Cleanup(x.Close)

	post := func(text string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "bash", script, "-c", cfg, "-w", "0", "--",
			filepath.Join(inbox, "harbour.jpg"), filepath.Join(inbox, "map.png"), text)
		cmd.Env = append(os.Environ(),
			"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"X_API_BASE="+x.URL, "X_BEARER_TOKEN="+token, "TMPDIR="+dir, "MEDIASYNC_CONFIG=")
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s: %v\nstderr:\n%s", script, err, stderr.String())
		}
		return stdout.String(), stderr.String()
	}

	out, stderr := post("first")
	if out != "1800000000000000001\n" {
		t.Errorf("first post: stdout %q, want the new post's id", out)
	}
	if n := strings.Count(stderr, "not uploaded; uploading it now"); n != 2 {
		t.Errorf("first post: %d uploads announced, want 2:\n%s", n, stderr)
	}
	before := emulatorMedia(t, emu)
	if len(before) != 2 {
		t.Fatalf("emulator holds %d media after the first post, want 2", len(before))
	}
	if _, stderr := post("second"); strings.Contains(stderr, "uploading") {
		t.Errorf("second post uploaded again:\n%s", stderr)
	}
	if after := emulatorMedia(t, emu); len(after) != len(before) {
		t.Errorf("emulator holds %d media after the second post, want still %d", len(after), len(before))
	}

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d posts, want 2", len(bodies))
	}
	if !slices.Equal(bodies[0].Media.MediaIDs, bodies[1].Media.MediaIDs) {
		t.Errorf("the second post used %q, the first %q: the recorded ids should be reused", bodies[1].Media.MediaIDs, bodies[0].Media.MediaIDs)
	}
	// Each id is the emulator's media for exactly that file's bytes, in the order given.
	for i, name := range []string{"harbour.jpg", "map.png"} {
		if i >= len(bodies[0].Media.MediaIDs) {
			t.Fatalf("first post has media_ids %q", bodies[0].Media.MediaIDs)
		}
		id := bodies[0].Media.MediaIDs[i]
		m, ok := before[id]
		if !ok {
			t.Errorf("%s: media id %s is not in the emulator", name, id)
			continue
		}
		sum := sha256.Sum256(files[name])
		if m.SHA256 != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: the emulator's media %s has sha256 %s, want the file's %x", name, id, m.SHA256, sum)
		}
	}
}

type emulatorEntry struct {
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

// emulatorMedia lists the emulator's media by id (GET /_emulator/media).
func emulatorMedia(t *testing.T, base string) map[string]emulatorEntry {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/_emulator/media", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var list []emulatorEntry
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatalf("GET /_emulator/media: %v", err)
	}
	out := map[string]emulatorEntry{}
	for _, m := range list {
		out[m.ID] = m
	}
	return out
}

// startEmulator runs `mediasync emulate` on a free loopback port until the test ends and returns its
// base URL, read from the line it prints once it listens.
func startEmulator(t *testing.T, mediasync string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	cmd := exec.CommandContext(ctx, mediasync, "emulate", "--listen", "127.0.0.1:0",
		"--consumer-key", "ck", "--consumer-secret", "cs", "--access-token", "at", "--access-token-secret", "ats",
		"--log-level", "error")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := cmd.Wait(); err != nil && !errors.Is(err, context.Canceled) {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Errorf("emulator: %v", err)
			}
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, url, ok := strings.Cut(sc.Text(), "listening on "); ok {
				urls <- strings.TrimSpace(url)
				break
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	select {
	case url := <-urls:
		return url
	case <-time.After(60 * time.Second): // failure guard only
		t.Fatal("the emulator never said where it listens")
		return ""
	}
}
