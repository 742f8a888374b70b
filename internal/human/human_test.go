package human

import (
	"testing"
	"time"
)

func TestBytes(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"},
		{1, "1 byte"},
		{940, "940 bytes"},
		{999, "999 bytes"},
		{1000, "1 KB"},
		{1536, "1.5 KB"},
		{99_949, "99.9 KB"},
		{999_400, "999 KB"},
		{999_960, "1 MB"}, // rounds into the next unit, not "1000 KB"
		{5 << 20, "5.2 MB"},
		{17_461_790, "17.5 MB"}, // issue 13's photo
		{99_960_000, "100 MB"},
		{278_000_000, "278 MB"},
		{1_000_000_000, "1 GB"},
		{-2500, "-2.5 KB"},
	} {
		if got := Bytes(tc.n); got != tc.want {
			t.Errorf("Bytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		-3 * time.Second: "0s", 0: "0s", 1499 * time.Millisecond: "1s", 45 * time.Second: "45s", 245 * time.Second: "4m05s",
		23*time.Hour + 59*time.Minute: "23h59m", 47*time.Hour + 59*time.Minute + 59*time.Second: "47h59m", 76 * time.Hour: "3d4h",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/a b/été.jpg": "/srv/a b/été.jpg",
		"a\nfake line.jpg": `"a\nfake line.jpg"`,
		"esc\x1b[2J.jpg":   `"esc\x1b[2J.jpg"`,
		"del\x7f.jpg":      `"del\x7f.jpg"`,
		"c1\u0085.jpg":     `"c1\u0085.jpg"`,
		"bad\xff.jpg":      `"bad\xff.jpg"`,
		"tab\tname.jpg":    `"tab\tname.jpg"`,
		"snowman☃.jpg":     "snowman☃.jpg",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %s, want %s", in, got, want)
		}
	}
}
