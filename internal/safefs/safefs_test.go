package safefs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// modes are the two resolution strategies: openat2 where the kernel has it, and the per-component
// walk older kernels and other systems use.
var modes = []struct {
	name string
	o    opts
}{
	{"openat2", opts{}},
	{"walk", opts{walk: true}},
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symlinks here: %v", err)
	}
}

func readAll(t *testing.T, f *os.File) string {
	t.Helper()
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// escapeFixture is the reproduction of issue 17.1: folder f holds q/y.jpg, then q is moved aside
// and replaced by a symlink to a directory outside the folder that holds its own y.jpg
// (`mv f/q f/.q-old && ln -s /elsewhere f/q`).
func escapeFixture(t *testing.T) (root string) {
	t.Helper()
	root, outside := t.TempDir(), t.TempDir()
	write(t, filepath.Join(root, "q", "y.jpg"), "inside")
	write(t, filepath.Join(outside, "y.jpg"), "outside: root-owned 0600 secret")
	if err := os.Rename(filepath.Join(root, "q"), filepath.Join(root, ".q-old")); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(root, "q"))
	return root
}

func TestOpenBeneath(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			root := t.TempDir()
			write(t, filepath.Join(root, "a", "b", "c.jpg"), "bytes")
			f, err := open(root, "a/b/c.jpg", m.o)
			if err != nil {
				t.Fatal(err)
			}
			if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() || fi.Name() != "c.jpg" || fi.Size() != 5 {
				t.Errorf("f.Stat() = %v, %v", fi, err)
			}
			if got := readAll(t, f); got != "bytes" {
				t.Errorf("read %q", got)
			}
			fi, err := lstat(root, filepath.Join("a", "b", "c.jpg"), m.o)
			if err != nil || !fi.Mode().IsRegular() {
				t.Errorf("lstat = %v, %v", fi, err)
			}
			if os1, _ := os.Lstat(filepath.Join(root, "a", "b", "c.jpg")); !os.SameFile(fi, os1) {
				t.Errorf("lstat's FileInfo does not work with os.SameFile")
			}
		})
	}
}

// TestRootMayBeSymlink: the configured folder path itself may be a symlink; only what is beneath it
// is strict.
func TestRootMayBeSymlink(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			real := t.TempDir()
			write(t, filepath.Join(real, "q", "y.jpg"), "inside")
			link := filepath.Join(t.TempDir(), "folder")
			symlink(t, real, link)
			f, err := open(link, "q/y.jpg", m.o)
			if err != nil {
				t.Fatalf("Open beneath a symlinked root = %v", err)
			}
			if got := readAll(t, f); got != "inside" {
				t.Errorf("read %q", got)
			}
		})
	}
}

func TestParentSwappedForSymlink(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			root := escapeFixture(t)
			f, err := open(root, "q/y.jpg", m.o)
			if err == nil {
				t.Fatalf("Open through a symlinked parent read %q", readAll(t, f))
			}
			if !errors.Is(err, ErrEscaped) || !strings.Contains(err.Error(), filepath.Join(root, "q", "y.jpg")) {
				t.Errorf("Open = %v, want ErrEscaped naming the path", err)
			}
			if fi, err := lstat(root, "q/y.jpg", m.o); !errors.Is(err, ErrEscaped) {
				t.Errorf("Lstat through a symlinked parent = %v, %v; want ErrEscaped", fi, err)
			}
			// Deeper: a grandparent swapped.
			write(t, filepath.Join(root, "a", "b", "z.jpg"), "inside")
			if err := os.Rename(filepath.Join(root, "a"), filepath.Join(root, ".a-old")); err != nil {
				t.Fatal(err)
			}
			symlink(t, ".a-old", filepath.Join(root, "a")) // even a relative one that stays inside
			if _, err := open(root, "a/b/z.jpg", m.o); !errors.Is(err, ErrEscaped) {
				t.Errorf("Open through a symlinked grandparent = %v, want ErrEscaped", err)
			}
		})
	}
}

func TestLastComponentSymlink(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			root, outside := t.TempDir(), t.TempDir()
			write(t, filepath.Join(outside, "secret"), "outside")
			symlink(t, filepath.Join(outside, "secret"), filepath.Join(root, "y.jpg"))
			if f, err := open(root, "y.jpg", m.o); !errors.Is(err, ErrEscaped) {
				if err == nil {
					f.Close()
				}
				t.Errorf("Open of a symlink = %v, want ErrEscaped", err)
			}
			fi, err := lstat(root, "y.jpg", m.o)
			if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Errorf("Lstat of a symlink = %v, %v; want the link described", fi, err)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "file.jpg"), "x")
	tests := []struct {
		rel  string
		want error
	}{
		{"missing.jpg", fs.ErrNotExist},
		{"missing/y.jpg", fs.ErrNotExist},
		{"", fs.ErrInvalid},
		{".", fs.ErrInvalid},
		{"..", fs.ErrInvalid},
		{"../x", fs.ErrInvalid},
		{"a/../../x", fs.ErrInvalid},
		{filepath.Join(root, "file.jpg"), fs.ErrInvalid}, // absolute
	}
	for _, m := range modes {
		for _, tt := range tests {
			t.Run(m.name+"/"+tt.rel, func(t *testing.T) {
				if f, err := open(root, tt.rel, m.o); !errors.Is(err, tt.want) {
					if err == nil {
						f.Close()
					}
					t.Errorf("Open(%q) = %v, want %v", tt.rel, err, tt.want)
				}
				if _, err := lstat(root, tt.rel, m.o); !errors.Is(err, tt.want) {
					t.Errorf("Lstat(%q) = %v, want %v", tt.rel, err, tt.want)
				}
			})
		}
		t.Run(m.name+"/file as directory", func(t *testing.T) {
			_, err := open(root, "file.jpg/y.jpg", m.o)
			if err == nil || errors.Is(err, ErrEscaped) || errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Open through a file = %v, want ENOTDIR", err)
			}
		})
	}
}

func TestMove(t *testing.T) {
	root := t.TempDir()
	done := filepath.Join(t.TempDir(), "done") // missing: Move creates it
	for i := range 3 {
		write(t, filepath.Join(root, "q", "y.jpg"), string(rune('a'+i)))
		got, err := Move(root, "q/y.jpg", done, "q/y.jpg")
		want := filepath.Join(done, "q", []string{"y.jpg", "y (1).jpg", "y (2).jpg"}[i])
		if err != nil || got != want {
			t.Fatalf("Move #%d = %q, %v; want %q", i, got, err, want)
		}
		if data, _ := os.ReadFile(want); string(data) != string(rune('a'+i)) {
			t.Errorf("%s holds %q", want, data)
		}
		if _, err := os.Lstat(filepath.Join(root, "q", "y.jpg")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("source still there: %v", err)
		}
	}
	if got := numbered(".hidden", 1); got != ".hidden (1)" {
		t.Errorf("numbered(.hidden, 1) = %q", got)
	}
}

func TestMoveRefusesSymlinks(t *testing.T) {
	t.Run("target parent", func(t *testing.T) {
		root, done, outside := t.TempDir(), t.TempDir(), t.TempDir()
		write(t, filepath.Join(root, "q", "y.jpg"), "inside")
		symlink(t, outside, filepath.Join(done, "q"))
		if _, err := Move(root, "q/y.jpg", done, "q/y.jpg"); !errors.Is(err, ErrEscaped) {
			t.Errorf("Move into a symlinked parent = %v, want ErrEscaped", err)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("Move wrote outside the target root: %v", ents)
		}
		if _, err := os.Lstat(filepath.Join(root, "q", "y.jpg")); err != nil {
			t.Errorf("source gone after a refused move: %v", err)
		}
	})
	t.Run("target grandparent while creating", func(t *testing.T) {
		root, done, outside := t.TempDir(), t.TempDir(), t.TempDir()
		write(t, filepath.Join(root, "a", "b", "y.jpg"), "inside")
		symlink(t, outside, filepath.Join(done, "a"))
		if _, err := Move(root, "a/b/y.jpg", done, "a/b/y.jpg"); !errors.Is(err, ErrEscaped) {
			t.Errorf("Move below a symlinked directory = %v, want ErrEscaped", err)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Errorf("Move created directories outside the target root: %v", ents)
		}
	})
	t.Run("source parent", func(t *testing.T) {
		root := escapeFixture(t)
		done := t.TempDir()
		if _, err := Move(root, "q/y.jpg", done, "q/y.jpg"); !errors.Is(err, ErrEscaped) {
			t.Errorf("Move out of a symlinked parent = %v, want ErrEscaped", err)
		}
		if ents, _ := os.ReadDir(done); len(ents) != 0 {
			t.Errorf("something was moved: %v", ents)
		}
	})
	t.Run("source is a symlink", func(t *testing.T) {
		root, done, outside := t.TempDir(), t.TempDir(), t.TempDir()
		write(t, filepath.Join(outside, "secret"), "outside")
		symlink(t, filepath.Join(outside, "secret"), filepath.Join(root, "y.jpg"))
		if _, err := Move(root, "y.jpg", done, "y.jpg"); !errors.Is(err, ErrEscaped) {
			t.Errorf("Move of a symlink = %v, want ErrEscaped", err)
		}
	})
}

// checkMoved checks that dst holds data with mode 0600 and mtime, that src is gone and that no
// temp file was left beside dst.
func checkMoved(t *testing.T, src, dst, data string, mtime time.Time) {
	t.Helper()
	fi, err := os.Lstat(dst)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != 0o600 {
		t.Errorf("mode %v, want -rw-------", fi.Mode())
	}
	if !fi.ModTime().Equal(mtime) {
		t.Errorf("mtime %v, want %v", fi.ModTime(), mtime)
	}
	if got, _ := os.ReadFile(dst); string(got) != data {
		t.Errorf("content %q, want %q", got, data)
	}
	if _, err := os.Lstat(src); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("source still there: %v", err)
	}
	ents, _ := os.ReadDir(filepath.Dir(dst))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".mediasync-move-") {
			t.Errorf("temp file %s left behind", e.Name())
		}
	}
}

func privateFile(t *testing.T, path, data string) time.Time {
	t.Helper()
	write(t, path, data)
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	return fi.ModTime() // as precise as this file system keeps it
}

// TestMoveCopy forces the cross-device copy on one device, with the first name taken.
func TestMoveCopy(t *testing.T) {
	root, done := t.TempDir(), t.TempDir()
	write(t, filepath.Join(done, "q", "y.jpg"), "taken")
	src := filepath.Join(root, "q", "y.jpg")
	mtime := privateFile(t, src, "secret bytes")
	got, err := move(root, "q/y.jpg", done, "q/y.jpg", opts{copy: true})
	if want := filepath.Join(done, "q", "y (1).jpg"); err != nil || got != want {
		t.Fatalf("move = %q, %v; want %q", got, err, want)
	}
	checkMoved(t, src, got, "secret bytes", mtime)
	if data, _ := os.ReadFile(filepath.Join(done, "q", "y.jpg")); string(data) != "taken" {
		t.Errorf("the taken name was overwritten: %q", data)
	}
}
