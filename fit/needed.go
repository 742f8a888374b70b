package fit

import (
	"fmt"
	"strconv"

	"github.com/mediasync/mediasync/internal/human"
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
	s, l := human.Bytes(size), human.Bytes(limit)
	if s == l {
		s, l = groupDigits(size)+" bytes", groupDigits(limit)+" bytes"
	}
	return fmt.Sprintf("%s is over X's limit of %s", s, l)
}

// groupDigits writes n with thousands separators: 5,242,880.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
