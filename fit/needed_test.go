package fit_test

import (
	"strings"
	"testing"

	"github.com/mediasync/mediasync/fit"
)

func TestNeeded(t *testing.T) {
	const limit = 5 << 20
	for _, tc := range []struct {
		mediaType string
		size      int64
		need      bool
		says      string // "" = no reason
	}{
		{"image/jpeg", 17_461_790, true, "17.5 MB is over X's limit of 5.2 MB for photos"},
		{"image/jpeg", limit, false, ""},
		{"image/pjpeg", limit + 1, true, "5,242,881 bytes is over X's limit of 5,242,880 bytes"},
		{"image/png", 6_000_000, true, "6 MB is over"},
		{"IMAGE/WEBP; q=1", 6_000_000, true, "over"},
		{"image/png", 1000, false, ""},
		{"image/tiff", 1000, true, "not TIFF"},
		{"image/bmp", 1000, true, "not BMP"},
		{"image/heic", 1000, false, "export the photo as JPEG"},
		{"image/heif", 9_000_000, false, "HEIC"},
		{"image/avif", 1000, false, "AVIF"},
		{"image/gif", 16_000_000, false, "does not convert GIFs"},
		{"image/gif", 1000, false, ""},
		{"video/mp4", 600_000_000, false, ""},
		{"text/plain", 10, false, ""},
	} {
		need, reason := fit.Needed(tc.mediaType, tc.size, limit)
		if need != tc.need || (tc.says == "") != (reason == "") || !strings.Contains(reason, tc.says) {
			t.Errorf("Needed(%q, %d) = %v, %q; want %v, saying %q", tc.mediaType, tc.size, need, reason, tc.need, tc.says)
		}
	}
}
