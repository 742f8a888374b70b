package human

import "testing"

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
