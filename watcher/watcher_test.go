package watcher

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestNew(t *testing.T) {
	abs := t.TempDir()
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"ok", Options{Roots: []Root{{Path: abs}}}, ""},
		{"cleaned", Options{Roots: []Root{{Path: abs + "/x/.."}}}, ""},
		{"no roots", Options{}, "no roots"},
		{"relative root", Options{Roots: []Root{{Path: "photos"}}}, "absolute"},
		{"relative exclude", Options{Roots: []Root{{Path: abs, Exclude: []string{"m.json"}}}}, "absolute"},
		{"bad mode", Options{Roots: []Root{{Path: abs}}, Mode: "inotify"}, "mode"},
		{"negative settle", Options{Roots: []Root{{Path: abs}}, SettleFor: -1}, "negative"},
		{"bad ignore glob", Options{Roots: []Root{{Path: abs}}, Ignore: []string{"[a"}}, "bad ignore pattern"},
		{"duplicate root", Options{Roots: []Root{{Path: abs}, {Path: abs + "/"}}}, "twice"},
		{"nested root", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/sub"}}}, "inside root"},
		{"nested root excluded", Options{Roots: []Root{{Path: abs, Recursive: true, Exclude: []string{abs + "/sub"}}, {Path: abs + "/sub"}}}, ""},
		{"nested in hidden dir", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/.private/sub"}}}, ""},
		{"nested root hidden", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/a/.inner"}}}, ""},
		{"nested in built-in ignored dir", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/@eaDir/x"}}}, ""},
		{"nested root matches ignore", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/Inner"}}, Ignore: []string{"inner"}}, ""},
		{"nested below dir matching ignore", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/a/skip-me/b"}}, Ignore: []string{"skip-*"}}, ""},
		{"nested, ignore matches elsewhere", Options{Roots: []Root{{Path: abs, Recursive: true}, {Path: abs + "/a/b"}}, Ignore: []string{"c", ".a"}}, "inside root"},
		{"nested, ignored part above outer root", Options{Roots: []Root{{Path: abs + "/.top", Recursive: true}, {Path: abs + "/.top/sub"}}}, "inside root"},
		{"nested below non-recursive", Options{Roots: []Root{{Path: abs}, {Path: abs + "/sub"}}}, ""},
		{"sibling with shared prefix", Options{Roots: []Root{{Path: abs + "/exports", Recursive: true}, {Path: abs + "/exports-old"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.opts, zerolog.Nop())
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New() error = %v, want nil", err)
				}
				if w.opts.SettleFor != DefaultSettleFor || w.opts.PollInterval != DefaultPollInterval || w.opts.Mode != ModeAuto && tt.opts.Mode == "" {
					t.Errorf("defaults not applied: %+v", w.opts)
				}
				for _, r := range w.roots {
					if r.Path != filepath.Clean(r.Path) {
						t.Errorf("root %q not cleaned", r.Path)
					}
				}
				return
			}
			var we *Error
			if !errors.As(err, &we) || we.Op != "options" {
				t.Fatalf("New() error = %v, want *Error with Op options", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New() error = %q, want it to mention %q", err, tt.wantErr)
			}
		})
	}
}

// notifyOpts is a real-filesystem notify-mode configuration with a short
// settle time. Waits are guarded by generous deadlines, never timed.
func notifyOpts(root string, recursive bool) Options {
	return Options{
		Roots:        []Root{{Path: root, Recursive: recursive}},
		Mode:         ModeNotify,
		SettleFor:    150 * time.Millisecond,
		PollInterval: time.Hour,
	}
}

func TestRunExistingFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	flat := t.TempDir()
	for _, p := range []string{
		"a.jpg", "sub/b.jpg", "sub/deeper/c.jpg", "known.jpg", "notes.txt",
		".hidden.jpg", "x.jpg.part", "Thumbs.db", "@eaDir/a.jpg/SYNOFILE_THUMB_M.jpg",
		".mediasync/manifest.json", "custom/manifest.jpg", "#recycle/old.jpg", "empty.jpg",
	} {
		writeFile(t, filepath.Join(root, p), 10)
	}
	if err := os.WriteFile(filepath.Join(root, "empty.jpg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(flat, "top.jpg"), 10)
	writeFile(t, filepath.Join(flat, "nested/no.jpg"), 10)
	known := filepath.Join(root, "known.jpg")
	knownSize := fileSize(t, known)
	var skipped []string
	opts := notifyOpts(root, true)
	opts.Roots[0].Match = func(rel string) bool { return strings.HasSuffix(rel, ".jpg") }
	opts.Roots[0].Exclude = []string{filepath.Join(root, "custom")}
	opts.Roots = append(opts.Roots, Root{Path: flat})
	opts.Skip = func(path string, size int64, mtime time.Time) bool {
		if path == known && size == knownSize {
			skipped = append(skipped, path) // Run's goroutine only, read after stop
			return true
		}
		return false
	}
	h := start(t, opts, nil)
	want := ready(filepath.Join(root, "a.jpg"), filepath.Join(root, "sub/b.jpg"), filepath.Join(root, "sub/deeper/c.jpg"),
		filepath.Join(root, "empty.jpg"), filepath.Join(flat, "top.jpg"))
	got := h.waitFor(t, want...)
	got = append(got, h.barrier(t, root)...)
	if !equalKeys(keysOf(got), want) {
		t.Errorf("emitted %v, want %v", keysOf(got), want)
	}
	for _, f := range got {
		if f.Path == filepath.Join(flat, "top.jpg") && f.Root != flat {
			t.Errorf("%s: Root = %q, want %q", f.Path, f.Root, flat)
		}
		if f.Path == filepath.Join(root, "a.jpg") && (f.Root != root || f.Size != fileSize(t, f.Path) || f.ModTime.IsZero()) {
			t.Errorf("a.jpg emitted as %+v", f)
		}
	}
	h.stop(t)
	if !slices.Equal(skipped, []string{known}) {
		t.Errorf("Skip said known for %v, want exactly [%s]", skipped, known)
	}
}

func TestRunMoveIn(t *testing.T) {
	t.Parallel()
	root, elsewhere := t.TempDir(), t.TempDir()
	h := start(t, notifyOpts(root, true), nil)
	h.barrier(t, root) // Run is past its initial scan
	src := filepath.Join(elsewhere, "IMG_0042.jpg")
	writeFile(t, src, 5000)
	dst := filepath.Join(root, "IMG_0042.jpg")
	if err := os.Rename(src, dst); err != nil {
		t.Fatal(err)
	}
	got := h.waitFor(t, "ready:"+dst)
	if f := got[len(got)-1]; f.Size != fileSize(t, dst) {
		t.Errorf("size %d, want %d", f.Size, fileSize(t, dst))
	}
}

func TestRunTempThenRename(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, notifyOpts(root, true), nil)
	h.barrier(t, root)
	for _, mv := range [][2]string{
		{".export.jpg.tmp", "export.jpg"},   // hidden temporary
		{"export2.jpg.part", "export2.jpg"}, // partial download
		{"~export3.tmp", "export3.jpg"},     // Office-style temporary
	} {
		p := filepath.Join(root, mv[0])
		writeFile(t, p, 2000)
		if err := os.Rename(p, filepath.Join(root, mv[1])); err != nil {
			t.Fatal(err)
		}
	}
	want := ready(filepath.Join(root, "export.jpg"), filepath.Join(root, "export2.jpg"), filepath.Join(root, "export3.jpg"))
	got := h.waitFor(t, want...)
	got = append(got, h.barrier(t, root)...)
	if !equalKeys(keysOf(got), want) {
		t.Errorf("emitted %v, want exactly %v", keysOf(got), want)
	}
}

// TestRunSlowWriter writes a file in many small steps on the real
// filesystem: it must be emitted once, with its final size, after the
// writer closed it.
func TestRunSlowWriter(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	opts := notifyOpts(root, true)
	opts.SettleFor = time.Second // far above the writer's 10ms step
	h := start(t, opts, nil)
	path := filepath.Join(root, "clip.mp4")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 32<<10)
	tick := time.NewTicker(10 * time.Millisecond)
	for range 60 {
		<-tick.C
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-h.out:
			t.Fatalf("emitted %+v while the file was still being written", got)
		default:
		}
	}
	tick.Stop()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got := h.waitFor(t, "ready:"+path)
	got = append(got, h.barrier(t, root)...)
	n := 0
	for _, g := range got {
		if g.Path == path {
			n++
			if g.Size != 60*32<<10 {
				t.Errorf("emitted with size %d, want the final %d", g.Size, 60*32<<10)
			}
		}
	}
	if n != 1 {
		t.Errorf("emitted %d times, want once", n)
	}
}

// TestRunMkdirP creates nested directories and fills them before any watch
// can exist on them (the mkdir -p race): every file is found.
func TestRunMkdirP(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, notifyOpts(root, true), nil)
	h.barrier(t, root)
	var want []string
	for _, d := range []string{"shoot/day1", "shoot/day1/a/b/c", "other/x"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range 20 {
			p := filepath.Join(root, d, "IMG_"+string(rune('a'+i))+".jpg")
			writeFile(t, p, 100)
			want = append(want, "ready:"+p)
		}
	}
	h.waitFor(t, want...)
}

func TestRunDirRenamedAndRemoved(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, notifyOpts(root, true), nil)
	old := filepath.Join(root, "Untitled Export")
	var names []string
	for _, n := range []string{"1.jpg", "2.jpg", "deep/3.jpg"} {
		writeFile(t, filepath.Join(old, n), 100)
		names = append(names, n)
	}
	var want []string
	for _, n := range names {
		want = append(want, "ready:"+filepath.Join(old, n))
	}
	h.waitFor(t, want...)

	renamed := filepath.Join(root, "Client X")
	if err := os.Rename(old, renamed); err != nil {
		t.Fatal(err)
	}
	want = want[:0]
	for _, n := range names {
		want = append(want, "removed:"+filepath.Join(old, n), "ready:"+filepath.Join(renamed, n))
	}
	h.waitFor(t, want...)

	// The renamed directory and its subdirectory are watched under their new names.
	late := []string{filepath.Join(renamed, "late.jpg"), filepath.Join(renamed, "deep/late.jpg")}
	for _, p := range late {
		writeFile(t, p, 100)
	}
	got := h.waitFor(t, ready(late...)...)
	for _, f := range got {
		if strings.HasPrefix(f.Path, old+"/") {
			t.Errorf("event under the old name after the rename: %+v", f)
		}
	}

	if err := os.RemoveAll(renamed); err != nil {
		t.Fatal(err)
	}
	want = want[:0]
	for _, n := range append(names, "late.jpg", "deep/late.jpg") {
		want = append(want, "removed:"+filepath.Join(renamed, n))
	}
	h.waitFor(t, want...)

	// A directory created again under the removed name is watched afresh.
	again := filepath.Join(renamed, "again.jpg")
	writeFile(t, again, 100)
	h.waitFor(t, "ready:"+again)
}

func TestRunChangedAndRemovedFile(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	h := start(t, notifyOpts(root, false), nil)
	p := filepath.Join(root, "a.jpg")
	writeFile(t, p, 100)
	h.waitFor(t, "ready:"+p)
	writeFile(t, p, 5000) // rewritten: a new size and mtime
	got := h.waitFor(t, "ready:"+p)
	if f := got[len(got)-1]; f.Size != fileSize(t, p) {
		t.Errorf("re-emitted with size %d, want %d", f.Size, fileSize(t, p))
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	got = h.waitFor(t, "removed:"+p)
	if f := got[len(got)-1]; f.Size != 5000 && f.Size < 5000 {
		t.Errorf("removed carries size %d, want the last seen", f.Size)
	}
}

// TestRunSymlinks: links are never followed, out of the root or within it.
func TestRunSymlinks(t *testing.T) {
	t.Parallel()
	root, outside := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(outside, "secret.jpg"), 100)
	writeFile(t, filepath.Join(outside, "dir/private.jpg"), 100)
	real := filepath.Join(root, "real.jpg")
	writeFile(t, real, 100)
	links := map[string]string{
		"to-file.jpg": filepath.Join(outside, "secret.jpg"),
		"to-dir":      filepath.Join(outside, "dir"),
		"inside.jpg":  real,
		"dangling":    filepath.Join(outside, "nope"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	h := start(t, notifyOpts(root, true), nil)
	got := h.waitFor(t, "ready:"+real)
	// A link created while running is skipped too.
	if err := os.Symlink(filepath.Join(outside, "secret.jpg"), filepath.Join(root, "late.jpg")); err != nil {
		t.Fatal(err)
	}
	got = append(got, h.barrier(t, root)...)
	if !equalKeys(keysOf(got), ready(real)) {
		t.Errorf("emitted %v, want only %s", keysOf(got), real)
	}
	h.stop(t)
	log := h.log.String()
	if n := countLines(log, `"inside_root":false`); n != 4 {
		t.Errorf("%d debug lines for links out of the root, want 4 (one per link)\n%s", n, log)
	}
	if n := countLines(log, `"inside_root":true`); n != 1 {
		t.Errorf("%d debug lines for the link inside the root, want 1\n%s", n, log)
	}
}

// TestRunNestedRootsShareOneWatcher runs two roots with a shared name
// prefix (/exports and /exports-old): each file is reported under its own
// root only.
func TestRunSharedPrefixRoots(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	a, b := filepath.Join(base, "exports"), filepath.Join(base, "exports-old")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	opts := notifyOpts(a, true)
	opts.Roots = append(opts.Roots, Root{Path: b, Recursive: true})
	h := start(t, opts, nil)
	h.barrier(t, a)
	pa, pb := filepath.Join(a, "x/1.jpg"), filepath.Join(b, "x/1.jpg")
	writeFile(t, pa, 10)
	writeFile(t, pb, 10)
	for _, f := range h.waitFor(t, "ready:"+pa, "ready:"+pb) {
		if want := filepath.Dir(filepath.Dir(f.Path)); f.Root != want {
			t.Errorf("%s reported under root %s, want %s", f.Path, f.Root, want)
		}
	}
}

func TestRunTwice(t *testing.T) {
	root := t.TempDir()
	h := start(t, notifyOpts(root, false), nil)
	h.barrier(t, root)
	err := h.w.Run(t.Context(), make(chan File))
	var we *Error
	if !errors.As(err, &we) || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run = %v, want an already-running *Error", err)
	}
}

func TestNewDefaults(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		in          Options
		wantSettle  time.Duration
		wantNetwork time.Duration
		wantPoll    time.Duration
	}{
		{Options{}, DefaultSettleFor, DefaultNetworkSettleFor, DefaultPollInterval},
		{Options{SettleFor: time.Second, NetworkSettleFor: 5 * time.Second, PollInterval: time.Minute}, time.Second, 5 * time.Second, time.Minute},
		{Options{SettleFor: 30 * time.Second}, 30 * time.Second, 30 * time.Second, DefaultPollInterval}, // never below SettleFor
	}
	for _, tt := range tests {
		tt.in.Roots = []Root{{Path: root}}
		w, err := New(tt.in, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if w.opts.SettleFor != tt.wantSettle || w.opts.NetworkSettleFor != tt.wantNetwork || w.opts.PollInterval != tt.wantPoll {
			t.Errorf("New(%+v): settle %v, network %v, poll %v; want %v, %v, %v", tt.in,
				w.opts.SettleFor, w.opts.NetworkSettleFor, w.opts.PollInterval, tt.wantSettle, tt.wantNetwork, tt.wantPoll)
		}
	}
}
