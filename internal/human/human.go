// Package human says quantities as people read them. It is the one home of mediasync's size
// wording: the skip reasons, explain, status and the status page all say "17.5 MB".
package human

import "strconv"

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
