package fit

import (
	"fmt"
	"strconv"
)

// Needed says whether a photo of MIME type mediaType (as detected from its
// content) and size bytes must be fitted before X takes it, given the limit
// of its media category (uploader.MaxImageSize for tweet_image). reason is
// a sentence for the photographer:
//
//   - need true: why a derivative is uploaded instead ("17.5 MB is over X's
//     limit of 5.2 MB for photos"; "X shows JPEG, PNG, GIF and WebP photos,
//     not TIFF").
//   - need false, reason "": upload the file as it is; fitting does not
//     concern it (it is within the limit, or not a still photo).
//   - need false, reason not "": it cannot be uploaded as it is and fitting
//     cannot help; the reason says why and what to do (HEIC; a GIF over
//     its limit).
//
// JPEG, PNG and WebP are fitted only over the limit. TIFF and BMP always
// are: X's upload endpoint takes them, but X lists "JPG, PNG, GIF, WEBP" as
// the photo types it supports (API.md §1.7, media best practices).
func Needed(mediaType string, size, limit int64) (need bool, reason string) {
	t := normalize(mediaType)
	switch t {
	case "image/jpeg", "image/png", "image/webp":
		if size <= limit {
			return false, ""
		}
		return true, over(size, limit) + " for photos"
	case "image/tiff", "image/bmp":
		f, _ := formatOf(t)
		return true, fmt.Sprintf("X shows JPEG, PNG, GIF and WebP photos, not %s", f.name)
	case "image/heic", "image/heif", "image/avif":
		return false, cannotRead(t)
	case "image/gif":
		if size <= limit {
			return false, ""
		}
		return false, over(size, limit) + " for GIFs, and mediasync does not convert GIFs (their animation would be lost); " +
			"export it with fewer frames, fewer colours or a smaller size"
	}
	return false, ""
}

// over says that size is over limit in human units, or in bytes where both
// round to the same human figure ("5.2 MB is over 5.2 MB" reads as a bug).
func over(size, limit int64) string {
	s, l := HumanBytes(size), HumanBytes(limit)
	if s == l {
		s, l = groupDigits(size)+" bytes", groupDigits(limit)+" bytes"
	}
	return fmt.Sprintf("%s is over X's limit of %s", s, l)
}

// HumanBytes says n bytes as a photographer reads sizes: decimal units, as
// macOS Finder and camera cards count them, with one decimal under 100
// ("17.5 MB", "5.2 MB" for X's 5 MiB limit, "278 MB", "1 GB", "940 bytes").
// A whole number drops its ".0".
func HumanBytes(n int64) string {
	if n < 0 {
		return "-" + HumanBytes(-n)
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

// groupDigits writes n with thousands separators: 5,242,880.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
