// Package human says quantities and names as people read them. It is the one home of mediasync's
// size and duration wording (the skip reasons, explain, status and the status page all say
// "17.5 MB" and "4m05s") and of how a file name is printed in a log line or a terminal.
package human

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// Printable returns s as it may be printed in a log line, a table or a terminal: unchanged when it
// is printable, Go-quoted when it holds a control character (C0, DEL or C1: text that could move
// the cursor, end a line or fake one) or invalid UTF-8.
func Printable(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && r < 0xa0) {
			return strconv.Quote(s)
		}
	}
	return s
}

// Duration says d compactly, to the second: "45s", "4m05s", "23h59m", "3d4h". A negative d (a
// time just past, a clock a little off) says "0s".
func Duration(d time.Duration) string {
	switch s := int64(max(d, 0).Round(time.Second) / time.Second); {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 48*3600:
		return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
	default:
		return fmt.Sprintf("%dd%dh", s/86400, s%86400/3600)
	}
}

// Bytes says n bytes as a photographer reads sizes: decimal units, as
// macOS Finder and camera cards count them, with one decimal under 100
// ("17.5 MB", "5.2 MB" for X's 5 MiB limit, "278 MB", "1 GB", "940 bytes").
// A whole number drops its ".0".
func Bytes(n int64) string {
	if n < 0 {
		return "-" + Bytes(-n)
	}
	if n < 1000 {
		if n == 1 {
			return "1 byte"
		}
		return strconv.FormatInt(n, 10) + " bytes"
	}
	units := []string{"KB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n)
	for i, u := range units {
		v /= 1000
		// Round first, then decide: 999,960 bytes is "1 MB", not "1000 kB".
		r := round(v)
		if r < 1000 || i == len(units)-1 {
			return strconv.FormatFloat(r, 'f', -1, 64) + " " + u
		}
	}
	panic("unreachable")
}

// round rounds v to one decimal under 100 and to a whole number above.
func round(v float64) float64 {
	if v < 99.95 {
		return float64(int64(v*10+0.5)) / 10
	}
	return float64(int64(v + 0.5))
}
