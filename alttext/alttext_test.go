package alttext_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

func TestSidecarPaths(t *testing.T) {
	tests := []struct {
		path string
		want []string
	}{
		{"dir/IMG_1.jpg", []string{"dir/IMG_1.jpg.alt.txt", "dir/IMG_1.alt.txt", "dir/IMG_1.jpg.txt", "dir/IMG_1.txt"}},
		{"IMG_1.JPG", []string{"IMG_1.JPG.alt.txt", "IMG_1.alt.txt", "IMG_1.JPG.txt", "IMG_1.txt"}},
		{"dir/archive.tar.gz", []string{"dir/archive.tar.gz.alt.txt", "dir/archive.tar.alt.txt", "dir/archive.tar.gz.txt", "dir/archive.tar.txt"}},
		{"dir/IMG_1", []string{"dir/IMG_1.alt.txt", "dir/IMG_1.txt"}},
		{"dir/.jpg", []string{"dir/.jpg.alt.txt", "dir/.jpg.txt"}},
		{"/abs/my photo.webp", []string{"/abs/my photo.webp.alt.txt", "/abs/my photo.alt.txt", "/abs/my photo.webp.txt", "/abs/my photo.txt"}},
	}
	for _, tt := range tests {
		if got := alttext.SidecarPaths(filepath.FromSlash(tt.path)); !slices.Equal(got, fromSlash(tt.want)) {
			t.Errorf("SidecarPaths(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func fromSlash(ps []string) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = filepath.FromSlash(p)
	}
	return out
}

func TestValidMode(t *testing.T) {
	for _, m := range []string{"none", "sidecar", "embedded", "auto"} {
		if !alttext.ValidMode(m) {
			t.Errorf("ValidMode(%q) = false, want true", m)
		}
	}
	for _, m := range []string{"", "Auto", "exif", "sidecar "} {
		if alttext.ValidMode(m) {
			t.Errorf("ValidMode(%q) = true, want false", m)
		}
	}
}

// folder writes files (name → content) into a new directory and returns the
// path of "IMG_1.jpg" in it.
func folder(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "IMG_1.jpg")
}

func TestFind(t *testing.T) {
	captioned := alttexttest.WithXMPDescription(photo, "Embedded caption")
	const sentence = "The harbour at dawn with fishing boats. " // 40 runes
	long := strings.Repeat(sentence, 40)
	cut := strings.TrimSpace(strings.Repeat(sentence, 25)) // 999 runes, ends a sentence: no "…"
	tests := []struct {
		name          string
		mode          string
		files         map[string][]byte
		want          string
		wantFrom      alttext.Source
		wantTruncated bool
	}{
		{"none reads nothing", "none", map[string][]byte{"IMG_1.jpg": captioned, "IMG_1.txt": []byte("side")}, "", "", false},
		{"none without the file", "none", nil, "", "", false},
		{"sidecar .jpg.alt.txt", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.jpg.alt.txt": []byte("one")}, "one", alttext.Sidecar, false},
		{"sidecar .alt.txt", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.alt.txt": []byte("two")}, "two", alttext.Sidecar, false},
		{"sidecar .jpg.txt", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.jpg.txt": []byte("three")}, "three", alttext.Sidecar, false},
		{"sidecar .txt", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("four")}, "four", alttext.Sidecar, false},
		{"sidecar preference", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.jpg.alt.txt": []byte("one"), "IMG_1.alt.txt": []byte("two"), "IMG_1.jpg.txt": []byte("three"), "IMG_1.txt": []byte("four")}, "one", alttext.Sidecar, false},
		{"blank sidecar skipped", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.jpg.alt.txt": []byte(" \r\n\t"), "IMG_1.txt": []byte("four")}, "four", alttext.Sidecar, false},
		{"sidecar mode ignores embedded", "sidecar", map[string][]byte{"IMG_1.jpg": captioned}, "", "", false},
		{"sidecar mode without the media", "sidecar", map[string][]byte{"IMG_1.txt": []byte("still found")}, "still found", alttext.Sidecar, false},
		{"embedded", "embedded", map[string][]byte{"IMG_1.jpg": captioned}, "Embedded caption", alttext.XMP, false},
		{"embedded mode ignores sidecar", "embedded", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("side")}, "", "", false},
		{"auto prefers sidecar", "auto", map[string][]byte{"IMG_1.jpg": captioned, "IMG_1.txt": []byte("side")}, "side", alttext.Sidecar, false},
		{"auto falls back to embedded", "auto", map[string][]byte{"IMG_1.jpg": captioned}, "Embedded caption", alttext.XMP, false},
		{"auto: blank sidecar falls back", "auto", map[string][]byte{"IMG_1.jpg": captioned, "IMG_1.txt": []byte("\n\n")}, "Embedded caption", alttext.XMP, false},
		{"auto: nothing", "auto", map[string][]byte{"IMG_1.jpg": photo}, "", "", false},
		{"sidecar utf-8 bom and crlf", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("\xEF\xBB\xBFLine one\r\nLine two\r\n")}, "Line one\nLine two", alttext.Sidecar, false},
		{"sidecar utf-16le (notepad)", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("\xFF\xFEC\x00a\x00f\x00\xE9\x00 \x00=\xD8\x05\xDE")}, "Café 😅", alttext.Sidecar, false},
		{"sidecar utf-16be", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("\xFE\xFF\x00O\x00K")}, "OK", alttext.Sidecar, false},
		{"sidecar windows-1252", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("\x93Caf\xe9\x94")}, "“Café”", alttext.Sidecar, false},
		{"sidecar keeps a camera-like text", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("SONY DSC")}, "SONY DSC", alttext.Sidecar, false},
		{"long sidecar cut at a word", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte(long)}, cut, alttext.Sidecar, true},
		{"long embedded caption cut at a word", "embedded", map[string][]byte{"IMG_1.jpg": alttexttest.WithIPTCCaption(photo, long)}, cut, alttext.IPTC, true},
		{"huge sidecar read in part", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("Short caption." + strings.Repeat(" ", 70000) + "tail")}, "Short caption.", alttext.Sidecar, true},
		{"huge sidecar, blank after the caption", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("Short caption." + strings.Repeat(" \r\n\t\x00", 20000))}, "Short caption.", alttext.Sidecar, false},
		{"huge sidecar exactly 64 KiB", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("Short caption." + strings.Repeat(" ", 64<<10-14))}, "Short caption.", alttext.Sidecar, false},
		{"huge sidecar, text far after the caption", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("Short caption." + strings.Repeat(" ", 900_000) + "tail" + strings.Repeat(" ", 50))}, "Short caption.", alttext.Sidecar, true},
		{"huge sidecar, blanks past the check", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("Short caption." + strings.Repeat(" ", 64<<10+1<<20))}, "Short caption.", alttext.Sidecar, true},
		{"huge sidecar, character cut at 64 KiB", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("Café." + strings.Repeat(" ", 64<<10-7) + "é" + strings.Repeat(" ", 100))}, "Café.", alttext.Sidecar, true},
		{"huge sidecar utf-16le, blank after", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("\xFF\xFEO\x00K\x00" + strings.Repeat(" \x00", 40000))}, "OK", alttext.Sidecar, false},
		{"huge sidecar utf-16be, text after", "sidecar", map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("\xFE\xFF\x00O\x00K" + strings.Repeat("\x00 ", 40000) + "\x00!")}, "OK", alttext.Sidecar, true},
		{"png", "embedded", map[string][]byte{"IMG_1.jpg": alttexttest.WithPNGXMP(mediagen.PNG(8, 8, 1), "A PNG named .jpg")}, "A PNG named .jpg", alttext.XMP, false},
		{"video", "auto", map[string][]byte{"IMG_1.jpg": mediagen.MP4(2048, 1)}, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := folder(t, tt.files)
			got, from, truncated, err := alttext.Find(path, tt.mode)
			if err != nil {
				t.Fatalf("Find(%q): %v", tt.mode, err)
			}
			if got != tt.want || from != tt.wantFrom || truncated != tt.wantTruncated {
				t.Errorf("Find(%q) = %q, %q, %v; want %q, %q, %v", tt.mode, got, from, truncated, tt.want, tt.wantFrom, tt.wantTruncated)
			}
		})
	}
}

func TestFindErrors(t *testing.T) {
	t.Run("invalid mode", func(t *testing.T) {
		_, _, _, err := alttext.Find(folder(t, nil), "exif")
		if !errors.Is(err, alttext.ErrInvalidMode) {
			t.Errorf("Find(\"exif\"): err = %v, want ErrInvalidMode", err)
		}
	})
	t.Run("missing media", func(t *testing.T) {
		path := folder(t, nil)
		_, _, _, err := alttext.Find(path, "embedded")
		var e *alttext.Error
		if !errors.Is(err, fs.ErrNotExist) || !errors.As(err, &e) || e.Path != path || alttext.IsSidecar(err) {
			t.Errorf("Find of a missing file: err = %v; want an *Error for %s, ErrNotExist, not a sidecar error", err, path)
		}
	})
	t.Run("media is a directory", func(t *testing.T) {
		path := folder(t, nil)
		if err := os.Mkdir(path, 0o755); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := alttext.Find(path, "embedded"); err == nil || alttext.IsSidecar(err) {
			t.Errorf("Find of a directory: err = %v; want a media error", err)
		}
	})
	t.Run("sidecar is a directory", func(t *testing.T) {
		path := folder(t, map[string][]byte{"IMG_1.jpg": photo})
		if err := os.Mkdir(filepath.Join(filepath.Dir(path), "IMG_1.alt.txt"), 0o755); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := alttext.Find(path, "auto")
		if !alttext.IsSidecar(err) {
			t.Errorf("Find with a directory as sidecar: err = %v; want a sidecar error", err)
		}
	})
	t.Run("sidecar is a symlink", func(t *testing.T) {
		path := folder(t, map[string][]byte{"IMG_1.jpg": photo, "secret": []byte("consumer_secret: hunter2")})
		if err := os.Symlink("secret", filepath.Join(filepath.Dir(path), "IMG_1.txt")); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
		text, _, _, err := alttext.Find(path, "auto")
		var e *alttext.Error
		if text != "" || !alttext.IsSidecar(err) || !errors.As(err, &e) || !strings.HasSuffix(e.Path, "IMG_1.txt") {
			t.Errorf("Find with a symlinked sidecar = %q, %v; want no text and a sidecar error for IMG_1.txt", text, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("error %q shows the link target's content", err)
		}
	})
	t.Run("sidecar unreadable", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads any file")
		}
		path := folder(t, map[string][]byte{"IMG_1.jpg": photo, "IMG_1.txt": []byte("x")})
		if err := os.Chmod(filepath.Join(filepath.Dir(path), "IMG_1.txt"), 0); err != nil {
			t.Fatal(err)
		}
		_, _, _, err := alttext.Find(path, "sidecar")
		if !alttext.IsSidecar(err) || !errors.Is(err, fs.ErrPermission) {
			t.Errorf("Find with an unreadable sidecar: err = %v; want a sidecar error, ErrPermission", err)
		}
	})
}

func TestIsSidecar(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("other"), false},
		{&alttext.Error{Op: "read sidecar", Path: "a.txt", Err: fs.ErrPermission}, true},
		{&alttext.Error{Op: "read media", Path: "a.jpg", Err: fs.ErrPermission}, false},
		{errors.Join(errors.New("wrapped"), &alttext.Error{Op: "open sidecar", Path: "a.txt", Err: fs.ErrInvalid}), true},
	}
	for _, tt := range tests {
		if got := alttext.IsSidecar(tt.err); got != tt.want {
			t.Errorf("IsSidecar(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name          string
		in            string
		want          string
		wantTruncated bool
	}{
		{"plain", "Harbour at dawn", "Harbour at dawn", false},
		{"trimmed", " \t Harbour \r\n", "Harbour", false},
		{"nul and controls", "Har\x00bour\x1b[31m at\x7f dawn\u0090", "Harbour[31m at dawn", false},
		{"invalid utf-8 dropped", "Caf\xe9 \xff\xfeok", "Caf ok", false},
		{"bom and replacement dropped", "\uFEFFText\uFFFD", "Text", false},
		{"line breaks", "a\r\nb\rc\u2028d\u0085e", "a\nb\nc\nd\ne", false},
		{"blank lines collapsed", "a  \n \n\n\n b", "a\n\n b", false},
		{"tabs become spaces", "a\tb\vc\fd", "a b c d", false},
		{"bidi and joiners kept", "\u200Fשלום 👩\u200D💻", "\u200Fשלום 👩\u200D💻", false},
		{"exactly MaxLen", strings.Repeat("a", alttext.MaxLen), strings.Repeat("a", alttext.MaxLen), false},
		{"one over, cut at word", strings.Repeat("abcd ", 200) + "x", strings.Repeat("abcd ", 199) + "abcd…", true},
		{"cut at word, not inside", strings.Repeat("word ", 199) + "longerword", strings.Repeat("word ", 198) + "word…", true},
		{"trailing comma dropped", strings.Repeat("word, ", 170), strings.TrimSuffix(strings.Repeat("word, ", 166), ", ") + "…", true},
		{"sentence end kept", strings.Repeat("Boats. ", 150), strings.TrimSpace(strings.Repeat("Boats. ", 142)), true},
		{"no spaces: hard cut", strings.Repeat("港", 1200), strings.Repeat("港", alttext.MaxLen-1) + "…", true},
		{"hard cut keeps combining mark", strings.Repeat("e", alttext.MaxLen-2) + "e\u0301" + strings.Repeat("e", 10), strings.Repeat("e", alttext.MaxLen-2) + "…", true},
		{"hard cut keeps zwj emoji", strings.Repeat("x", alttext.MaxLen-3) + "👩\u200D💻" + strings.Repeat("x", 10), strings.Repeat("x", alttext.MaxLen-3) + "…", true},
		{"hard cut keeps flags", strings.Repeat("🇨🇭", 600), strings.Repeat("🇨🇭", 499) + "…", true},
		{"space in the first half only: hard cut", "ab " + strings.Repeat("x", 1200), "ab " + strings.Repeat("x", alttext.MaxLen-4) + "…", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := alttext.Normalize(tt.in)
			if got != tt.want || truncated != tt.wantTruncated {
				t.Errorf("Normalize(%.40q…) = %.60q… (%d runes), %v; want %.60q… (%d runes), %v",
					tt.in, got, utf8.RuneCountInString(got), truncated, tt.want, utf8.RuneCountInString(tt.want), tt.wantTruncated)
			}
			checkNormal(t, got)
		})
	}
}

// checkNormal checks what every Normalize result satisfies.
func checkNormal(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%q is not valid UTF-8", s)
	}
	if n := utf8.RuneCountInString(s); n > alttext.MaxLen {
		t.Errorf("%d runes, more than MaxLen", n)
	}
	if s != strings.TrimSpace(s) {
		t.Errorf("%q is not trimmed", s)
	}
	for _, r := range s {
		if r != '\n' && (r < 0x20 || (r >= 0x7F && r < 0xA0)) {
			t.Errorf("%q holds control character %U", s, r)
		}
	}
	if again, truncated := alttext.Normalize(s); again != s || truncated {
		t.Errorf("Normalize is not idempotent: %q → %q, %v", s, again, truncated)
	}
}
