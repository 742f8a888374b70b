package agent_test

import (
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// Roots gives, without opening a manifest, the roots an Agent over the same folders watches.
func TestRootsAsWatched(t *testing.T) {
	dir := t.TempDir()
	outer, inner := filepath.Join(dir, "photos"), filepath.Join(dir, "photos", "@eaDir", "inner")
	for _, d := range []string{outer, inner} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	folders := []agent.Folder{
		{Path: outer, Recursive: true, Include: []string{"*.jpg"}, Exclude: []string{"skip-*"},
			Manifest: filepath.Join(outer, "state", "m.json"), MoveTo: filepath.Join(outer, ".done")},
		{Path: inner},
	}
	roots, err := agent.Roots(folders)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(uploader.New(http.DefaultClient, uploader.Options{}), agent.Options{Folders: folders}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	watched := a.WatchOptions(watcher.Options{}).Roots
	if len(roots) != len(watched) {
		t.Fatalf("Roots gave %d roots, the agent watches %d", len(roots), len(watched))
	}
	for i, r := range roots {
		w := watched[i]
		if r.Path != w.Path || r.Recursive != w.Recursive || !slices.Equal(r.Exclude, w.Exclude) {
			t.Errorf("root %d = %+v, the agent watches %+v", i, r, w)
		}
		for _, name := range []string{"a.jpg", "A.JPG", "skip-b.jpg", "c.png", "sub/d.jpg"} {
			if r.Match(name) != w.Match(name) {
				t.Errorf("root %d: Match(%q) = %v, the agent's %v", i, name, r.Match(name), w.Match(name))
			}
		}
	}
	if !slices.Contains(roots[0].Exclude, inner) || !slices.Contains(roots[0].Exclude, filepath.Join(outer, "state", "m.json")) {
		t.Errorf("outer root excludes %q; want the nested folder and the manifest", roots[0].Exclude)
	}
	if _, err := agent.Roots([]agent.Folder{{Path: outer, Include: []string{"[a"}}}); err == nil {
		t.Error("Roots accepted a bad include pattern")
	}
}

// InnermostFolder picks the deepest folder that holds a path, whatever the order of the folders.
func TestInnermostFolder(t *testing.T) {
	folders := []string{"/m", "/m/in", "/m/in/deeper", "/other", "/"}
	reversed := slices.Clone(folders)
	slices.Reverse(reversed)
	tests := []struct {
		path string
		want string // "" = none
	}{
		{"/m/a.jpg", "/m"},
		{"/m/in/a.jpg", "/m/in"},
		{"/m/in/deeper/sub/a.jpg", "/m/in/deeper"},
		{"/m/inner/a.jpg", "/m"}, // a sibling sharing a prefix is not inside
		{"/m/in", "/m"},          // a folder is not inside itself
		{"/x.jpg", "/"},
		{"/", ""},
	}
	for _, fs := range [][]string{folders, reversed} {
		for _, tc := range tests {
			got := ""
			if i, ok := agent.InnermostFolder(fs, tc.path); ok {
				got = fs[i]
			}
			if got != tc.want {
				t.Errorf("InnermostFolder(%q, %q) = %q, want %q", fs, tc.path, got, tc.want)
			}
		}
	}
}
