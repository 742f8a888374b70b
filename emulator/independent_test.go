package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestIndependentClient is the emulator's acceptance check: a real,
// independent X client library (PLhery/node-twitter-api-v2, pinned in
// testdata/independent/package-lock.json) completes v1.1 and v2 uploads of a
// JPEG and an MP4 against the emulator, and the emulator's sha256 of the
// reassembled bytes equals each file's; the same library signing with a
// wrong consumer secret is refused with 401.
//
// It needs node and `npm ci --prefix emulator/testdata/independent`; set
// MEDIASYNC_SKIP_NODE=1 to skip it where Node.js is not available.
func TestIndependentClient(t *testing.T) {
	if os.Getenv("MEDIASYNC_SKIP_NODE") == "1" {
		t.Skip("MEDIASYNC_SKIP_NODE=1")
	}
	dir, err := filepath.Abs("testdata/independent")
	if err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found (%v): install Node.js, or set MEDIASYNC_SKIP_NODE=1 to skip", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "twitter-api-v2", "package.json")); err != nil {
		t.Fatalf("twitter-api-v2 is not installed: run `npm ci --prefix emulator/testdata/independent` (or set MEDIASYNC_SKIP_NODE=1): %v", err)
	}

	s, err := New(Options{Credentials: DemoCredentials(), InMemory: true, Log: zerolog.Nop(),
		Faults: Faults{ProcessingTime: 1500 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hs := httptest.NewUnstartedServer(s)
	hs.StartTLS()
	defer hs.Close()

	tmp := t.TempDir()
	caFile := filepath.Join(tmp, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"photo.jpg": mediagen.JPEG(640, 480, 21),
		"clip.mp4":  mediagen.MP4(2<<20+333, 22), // three 1 MiB chunks, the last one short
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	type upload struct {
		API     string `json:"api"`
		Path    string `json:"path"`
		Mime    string `json:"mime"`
		Alt     string `json:"alt,omitempty"`
		MediaID string `json:"media_id,omitempty"`
	}
	uploads := []upload{
		{API: "v1", Path: filepath.Join(tmp, "photo.jpg"), Mime: "image/jpeg", Alt: "v1 alt text"},
		{API: "v1", Path: filepath.Join(tmp, "clip.mp4"), Mime: "video/mp4"},
		{API: "v2", Path: filepath.Join(tmp, "photo.jpg"), Mime: "image/jpeg", Alt: "v2 alt text"},
		{API: "v2", Path: filepath.Join(tmp, "clip.mp4"), Mime: "video/mp4"},
	}
	spec, _ := json.Marshal(uploads)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute) // a guard, not a measurement
	defer cancel()
	c := DemoCredentials()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "upload.js"))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"EMULATOR_ADDR="+hs.Listener.Addr().String(), "EMULATOR_CA="+caFile,
		"CONSUMER_KEY="+c.ConsumerKey, "CONSUMER_SECRET="+c.ConsumerSecret,
		"ACCESS_TOKEN="+c.AccessToken, "ACCESS_TOKEN_SECRET="+c.AccessTokenSecret,
		"UPLOADS="+string(spec))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node upload.js: %v\nstderr:\n%s\nemulator stats: %+v", err, stderr.String(), s.Stats().Requests)
	}
	var out struct {
		Uploads     []upload `json:"uploads"`
		WrongStatus int      `json:"wrong_secret_status"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Uploads) != len(uploads) {
		t.Fatalf("node output %q: %v", stdout.String(), err)
	}
	if out.WrongStatus != 401 {
		t.Errorf("request signed with a wrong consumer secret: status %d, want 401", out.WrongStatus)
	}
	for i, u := range out.Uploads {
		name := filepath.Base(u.Path)
		info, ok := s.MediaByID(u.MediaID)
		if !ok {
			t.Errorf("%s %s: media id %q unknown to the emulator", u.API, name, u.MediaID)
			continue
		}
		if want := sum(files[name]); info.SHA256 != want || info.State != "succeeded" {
			t.Errorf("%s %s: sha256 %s state %s; want %s succeeded", u.API, name, info.SHA256, info.State, want)
		}
		if info.AltText != uploads[i].Alt {
			t.Errorf("%s %s: alt text %q, want %q", u.API, name, info.AltText, uploads[i].Alt)
		}
		t.Logf("%s %s: id %s key %s category %s sha256 ok", u.API, name, info.ID, info.MediaKey, info.MediaCategory)
	}
	// The client polled STATUS for the videos (processing takes 1.5 s).
	st := s.Stats()
	if st.Count("GET /1.1/media/upload.json STATUS", 200) == 0 || st.Count("GET /2/media/upload", 200) == 0 {
		t.Errorf("no STATUS polls: %+v", st.Requests)
	}
}
