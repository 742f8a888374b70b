package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/mediasync/mediasync/manifest"
)

// status lists what is not uploaded yet through the watcher's own walk (the folder's include and
// exclude, its manifest in the folder never listed), says which paths cannot be uploaded and why
// (a path longer than the system allows), and prints names with control characters escaped so that
// none can fake a row.
func TestStatusListing(t *testing.T) {
	dir := t.TempDir()
	photos := filepath.Join(dir, "photos")
	mtime := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rel := range []string{"new.jpg", "sub/deep.png", "old.jpg", "notes.xmp", ".hidden.jpg", "x.jpg.part",
		"tab\tname.jpg", "line\nbreak.jpg", "state/m.json.lock", "state/m.json.journal"} {
		p := filepath.Join(photos, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data := []byte("12345")
		if strings.HasPrefix(rel, "state/") {
			data = nil // an empty journal; 5 bytes would be a damaged record
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	long := testsupport.LongPath(t, photos)
	longRel, _ := relTo(photos, long)
	fake := "evil\n  fake.jpg  uploaded  1912475018862166016  23h00m"
	m := map[string]any{"version": 1, "folder": photos, "updated_at": mtime, "files": map[string]manifest.Entry{
		"old.jpg": {State: manifest.Uploaded, MediaIDString: "1", MediaKey: "3_1", Size: 5, MTime: mtime,
			UploadedAt: mtime, ExpiresAt: mtime.Add(24 * time.Hour)},
		fake: {State: manifest.Failed, Error: &manifest.Error{Permanent: true, Message: "bad\rname"}},
	}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(photos, "state/m.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "mediasync.yaml")
	body := "folders:\n  - path: " + photos + "\n    include: ['*']\n    exclude: ['*.xmp']\n    manifest: state/m.json\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	if code := Main(context.Background(), []string{"status", "--json", "--config", cfg}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("status --json: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	var got struct{ Folders []folderStatus }
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil || len(got.Folders) != 1 {
		t.Fatalf("status --json: %v\n%s", err, stdout.String())
	}
	st := got.Folders[0]
	want := []string{"line\nbreak.jpg", "new.jpg", "sub/deep.png", "tab\tname.jpg"}
	if !slices.Equal(st.NotUploaded, want) {
		t.Errorf("not_uploaded = %q, want %q", st.NotUploaded, want)
	}
	if len(st.NotUploadable) != 1 || st.NotUploadable[0].Path != longRel ||
		!strings.Contains(st.NotUploadable[0].Reason, "longer than the system allows") {
		t.Errorf("not_uploadable = %+v, want %s: its path is longer than the system allows", st.NotUploadable, longRel)
	}

	stdout.Reset()
	if code := Main(context.Background(), []string{"status", "--config", cfg}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("status: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	for _, w := range []string{`"evil\n  fake.jpg  uploaded  1912475018862166016  23h00m"`, `"tab\tname.jpg"`, `"line\nbreak.jpg"`,
		`error: "bad\rname"`, "1 path(s) cannot be uploaded as they are:", "longer than the system allows"} {
		if !strings.Contains(out, w) {
			t.Errorf("status output lacks %q:\n%s", w, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "\t") || strings.Contains(line, "\r") || strings.HasPrefix(strings.TrimSpace(line), "fake.jpg") ||
			strings.HasPrefix(line, "break.jpg") {
			t.Errorf("a file name made or broke a line: %q\n%s", line, out)
		}
	}
}
