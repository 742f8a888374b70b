package agent_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestExplainOffline covers the verdicts that need no running agent and no manifest entry: rules,
// links, length limits, settling, waiting, and a prediction from the bytes.
func TestExplainOffline(t *testing.T) {
	dir := t.TempDir()
	nested := filepath.Join(dir, "nested")
	write := func(rel string, data []byte) string {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fresh := write("fresh.jpg", mediagen.JPEG(20, 20, 1))
	fi, _ := os.Stat(fresh)
	write("notes.txt", []byte("hello"))
	write("raw.jpg", []byte("these are notes, not a photo"))
	write("sub/a.jpg", mediagen.JPEG(20, 20, 2))
	old := write("nested/b.jpg", mediagen.JPEG(20, 20, 3))
	if err := os.Chtimes(old, fi.ModTime().Add(-time.Hour), fi.ModTime().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	write("skip/c.jpg", mediagen.JPEG(20, 20, 4))
	os.Symlink(fresh, filepath.Join(dir, "link.jpg"))
	long := strings.Repeat("x", 300) + ".jpg"
	opts := agent.ExplainOptions{
		Folders: []agent.Folder{
			{Path: dir, Recursive: true, Exclude: []string{"skip/*"}, Manifest: filepath.Join(dir, ".mediasync", "manifest.json")},
			{Path: nested, Manifest: filepath.Join(nested, ".mediasync", "manifest.json")},
		},
		Ignore: []string{"*.xmp"},
		Settle: 3 * time.Second,
		Now:    fi.ModTime().Add(time.Second),
	}
	for _, c := range []struct {
		path string
		want agent.Verdict
		why  string
	}{
		{fresh, agent.VerdictSettling, "changed 1s ago"},
		{filepath.Join(dir, "notes.txt"), agent.VerdictNotMedia, `".txt" is not a media file name extension`},
		{filepath.Join(dir, "skip/c.jpg"), agent.VerdictNotMedia, `exclude pattern "skip/*"`},
		{filepath.Join(dir, "x.xmp"), agent.VerdictIgnored, `the watch.ignore pattern "*.xmp"`},
		{filepath.Join(dir, "link.jpg"), agent.VerdictNotRegular, "symbolic link"},
		{filepath.Join(dir, long), agent.VerdictNotRegular, "more than the system allows"},
		{filepath.Join(nested, "b.jpg"), agent.VerdictWaiting, "not uploaded yet"},
		{filepath.Join(dir, "elsewhere", "..", "..", "z.jpg"), agent.VerdictOutside, "in no folder"},
		{filepath.Join(dir, "missing.jpg"), agent.VerdictMissing, "no such file"},
	} {
		ex := agent.Explain(opts, c.path)
		if ex.Verdict != c.want || !strings.Contains(ex.Why, c.why) {
			t.Errorf("Explain(%s) = %s %q; want %s, mentioning %q", filepath.Base(c.path), ex.Verdict, ex.Why, c.want, c.why)
		}
	}
	later := opts
	later.Now = fi.ModTime().Add(time.Minute)
	if ex := agent.Explain(later, filepath.Join(dir, "raw.jpg")); ex.Verdict != agent.VerdictWaiting || !strings.Contains(ex.Why, "will be skipped") {
		t.Errorf("raw.jpg (text named .jpg): %s %q; want waiting, predicted skip", ex.Verdict, ex.Why)
	}
	opts.Folders[1].Recursive = false
	if ex := agent.Explain(opts, filepath.Join(nested, "deep", "d.jpg")); ex.Verdict != agent.VerdictIgnored || !strings.Contains(ex.Why, "not recursive") {
		t.Errorf("in a subfolder of a non-recursive folder: %s %q", ex.Verdict, ex.Why)
	}
}
