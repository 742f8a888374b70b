package watcher

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/rs/zerolog"
)

// List finds exactly the files Scan would emit once settled: the same ignore rules, Exclude, Match,
// nested roots and symlinks; with sizes and mtimes and without waiting.
func TestListMatchesScan(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root, flat := t.TempDir(), t.TempDir()
		excluded := filepath.Join(root, "done")
		files := map[string]bool{ // path → listed
			"a.jpg":                    true,
			"shoot/b.png":              true,
			"shoot/deeper/c.mp4":       true,
			"empty.jpg":                true,
			"notes.txt":                false, // Match refuses it
			"b.jpg.part":               false, // built-in ignore
			"Thumbs.db":                false,
			"@eaDir/x.jpg":             false, // ignored directory
			".hidden/y.jpg":            false,
			".mediasync/manifest.json": false,
			"raw/z.jpg":                false, // Options.Ignore
			"done/moved.jpg":           false, // Root.Exclude (a move target)
		}
		for rel := range files {
			size := 100
			if rel == "empty.jpg" {
				size = 0
			}
			writeFile(t, filepath.Join(root, rel), size)
		}
		writeFile(t, filepath.Join(flat, "top.jpg"), 10)
		writeFile(t, filepath.Join(flat, "sub/below.jpg"), 10) // flat is not recursive
		outside := t.TempDir()
		writeFile(t, filepath.Join(outside, "secret.jpg"), 100)
		if err := os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(root, "link.jpg")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(root, "linkdir")); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mkfifo(filepath.Join(root, "pipe.jpg"), 0o644); err != nil {
			t.Fatal(err)
		}
		opts := Options{
			Roots: []Root{
				{Path: root, Recursive: true, Exclude: []string{excluded}, Match: func(rel string) bool { return !strings.HasSuffix(rel, ".txt") }},
				{Path: flat},
			},
			Ignore:    []string{"RAW"},
			SettleFor: time.Second,
			Mode:      ModePoll,
		}
		got, err := List(t.Context(), opts)
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var want []string
		for rel, listed := range files {
			if listed {
				want = append(want, "ready:"+filepath.Join(root, rel))
			}
		}
		want = append(want, "ready:"+filepath.Join(flat, "top.jpg"))
		sort.Strings(want)
		if !equalKeys(keysOf(got), want) {
			t.Errorf("List = %v, want %v", keysOf(got), want)
		}
		for _, f := range got {
			info, err := os.Lstat(f.Path)
			if err != nil || f.Size != info.Size() || !f.ModTime.Equal(info.ModTime()) || f.Removed {
				t.Errorf("List gave %+v; the file is %v, %v", f, info, err)
			}
			if want := root; f.Root != want && f.Root != flat {
				t.Errorf("%s: Root = %q", f.Path, f.Root)
			}
		}
		ready, _, err := Scan(t.Context(), opts, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if !equalKeys(keysOf(ready), keysOf(got)) {
			t.Errorf("Scan found %v, List %v: the rules differ", keysOf(ready), keysOf(got))
		}
	})
}

// What List cannot read is returned as errors beside the files it could list: a missing root, a
// file whose path is longer than the system allows.
func TestListReportsUnreadable(t *testing.T) {
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "ok.jpg"), 10)
	long := testsupport.LongPath(t, root)
	missing := filepath.Join(t.TempDir(), "gone")
	got, err := List(t.Context(), Options{Roots: []Root{{Path: root, Recursive: true}, {Path: missing, Recursive: true}}})
	if !equalKeys(keysOf(got), []string{"ready:" + filepath.Join(root, "ok.jpg")}) {
		t.Errorf("List = %v, want ok.jpg alone", keysOf(got))
	}
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		var we *Error
		if !errors.As(e, &we) {
			t.Fatalf("error %v is not a *watcher.Error", e)
		}
		paths = append(paths, we.Path)
		switch we.Path {
		case long:
			if !errors.Is(we, syscall.ENAMETOOLONG) {
				t.Errorf("long path: %v, want ENAMETOOLONG", we)
			}
		case missing:
			if !errors.Is(we, fs.ErrNotExist) {
				t.Errorf("missing root: %v, want ErrNotExist", we)
			}
		}
	}
	want := []string{long, missing}
	sort.Strings(paths)
	sort.Strings(want)
	if !equalKeys(paths, want) {
		t.Errorf("errors for %q, want the long path and the missing root", paths)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := List(ctx, Options{Roots: []Root{{Path: root}}}); !errors.Is(err, context.Canceled) {
		t.Errorf("List on a cancelled context = %v, want context.Canceled", err)
	}
}
