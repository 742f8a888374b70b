package uploader

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

func TestDetect(t *testing.T) {
	ts := make([]byte, 188*8)
	for i := 0; i < len(ts); i += 188 {
		ts[i] = 0x47
	}
	tests := []struct {
		name    string
		data    []byte
		want    string
		wantErr error
	}{
		{"jpeg", mediagen.JPEG(64, 48, 1), "image/jpeg", nil},
		{"png", mediagen.PNG(64, 48, 1), "image/png", nil},
		{"gif", mediagen.GIF(32, 32, 3, 1), "image/gif", nil},
		{"mp4", mediagen.MP4(64<<10, 1), "video/mp4", nil},
		{"m4v is mp4", append([]byte("\x00\x00\x00\x18ftypM4V \x00\x00\x00\x01M4V isom"), make([]byte, 64)...), "video/mp4", nil},
		{"quicktime", append([]byte("\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  "), make([]byte, 64)...), "video/quicktime", nil},
		{"webp", append([]byte("RIFF\x24\x00\x00\x00WEBPVP8 "), make([]byte, 64)...), "image/webp", nil},
		{"mpeg-ts", ts, "video/mp2t", nil},
		{"srt", []byte("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\n00:00:03,000 --> 00:00:04,000\nWorld\n"), "text/srt", nil},
		{"vtt", []byte("WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n"), "text/vtt", nil},
		{"heic is not mp4", append([]byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), make([]byte, 64)...), "", ErrUnsupported},
		{"pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "", ErrUnsupported},
		{"plain text", []byte("just some notes\n"), "", ErrUnsupported},
		{"empty", nil, "", ErrEmpty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Detect(bytes.NewReader(tt.data), int64(len(tt.data)))
			if got != tt.want || !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Errorf("Detect(%s) = %q, %v; want %q, %v", tt.name, got, err, tt.want, tt.wantErr)
			}
			if err != nil && !IsPermanent(err) {
				t.Errorf("Detect(%s) error %v is not permanent", tt.name, err)
			}
		})
	}
}

type failingReaderAt struct{}

func (failingReaderAt) ReadAt([]byte, int64) (int, error) { return 0, io.ErrClosedPipe }

func TestDetectReadError(t *testing.T) {
	_, err := Detect(failingReaderAt{}, 100)
	if !errors.Is(err, ErrSource) || IsPermanent(err) {
		t.Errorf("Detect on a failing reader = %v, want non-permanent ErrSource", err)
	}
}

func TestPrepare(t *testing.T) {
	many := make([]string, 101)
	for i := range many {
		many[i] = "1"
	}
	tests := []struct {
		name    string
		opts    Options
		m       Media
		wantCat string
		wantAlt string
		wantErr error
	}{
		{"auto image", Options{}, Media{Size: 10, Type: "image/jpeg"}, CategoryTweetImage, "", nil},
		{"auto gif", Options{}, Media{Size: 10, Type: "image/gif", Category: "auto"}, CategoryTweetGIF, "", nil},
		{"auto video", Options{}, Media{Size: 10, Type: "video/mp4"}, CategoryTweetVideo, "", nil},
		{"auto subtitles", Options{}, Media{Size: 10, Type: "text/srt"}, CategorySubtitles, "", nil},
		{"explicit upper case", Options{}, Media{Size: 10, Type: "video/mp4", Category: "AMPLIFY_VIDEO"}, CategoryAmplifyVideo, "", nil},
		{"gif as image", Options{}, Media{Size: 10, Type: "image/gif", Category: "dm_image"}, CategoryDMImage, "", nil},
		{"pjpeg normalised", Options{}, Media{Size: 10, Type: "image/pjpeg"}, CategoryTweetImage, "", nil},
		{"empty", Options{}, Media{Size: 0, Type: "image/jpeg"}, "", "", ErrEmpty},
		{"unknown type", Options{}, Media{Size: 10, Type: "image/heic"}, "", "", ErrUnsupported},
		{"no type", Options{}, Media{Size: 10}, "", "", ErrUnsupported},
		{"unknown category", Options{}, Media{Size: 10, Type: "image/png", Category: "tweet_audio"}, "", "", ErrUnsupported},
		{"video as gif", Options{}, Media{Size: 10, Type: "video/mp4", Category: "tweet_gif"}, "", "", ErrUnsupported},
		{"image over 5 MiB", Options{}, Media{Size: 5<<20 + 1, Type: "image/png"}, "", "", ErrTooLarge},
		{"image at 5 MiB", Options{}, Media{Size: 5 << 20, Type: "image/png"}, CategoryTweetImage, "", nil},
		{"gif over 15 MiB", Options{}, Media{Size: 15<<20 + 1, Type: "image/gif"}, "", "", ErrTooLarge},
		{"video over 512 MiB", Options{}, Media{Size: 512<<20 + 1, Type: "video/mp4"}, "", "", ErrTooLarge},
		{"video at 512 MiB, tiny chunks grow", Options{ChunkSize: 1000}, Media{Size: 512 << 20, Type: "video/mp4"}, CategoryTweetVideo, "", nil},
		{"alt text at limit", Options{}, Media{Size: 10, Type: "image/png", AltText: strings.Repeat("é", 1000)}, CategoryTweetImage, strings.Repeat("é", 1000), nil},
		{"alt text over limit", Options{}, Media{Size: 10, Type: "image/png", AltText: strings.Repeat("a", 1001)}, "", "", ErrInvalid},
		{"alt text bad utf-8", Options{}, Media{Size: 10, Type: "image/png", AltText: "\xff"}, "", "", ErrInvalid},
		{"v1.1 drops alt text for video", Options{Version: V11}, Media{Size: 10, Type: "video/mp4", AltText: "x"}, CategoryTweetVideo, "", nil},
		{"v1.1 keeps alt text for gif", Options{Version: V11}, Media{Size: 10, Type: "image/gif", AltText: "x"}, CategoryTweetGIF, "x", nil},
		{"101 owners", Options{}, Media{Size: 10, Type: "image/png", AdditionalOwners: many}, "", "", ErrInvalid},
		{"owner not numeric", Options{}, Media{Size: 10, Type: "image/png", AdditionalOwners: []string{"@bob"}}, "", "", ErrInvalid},
		{"v2 chunk over 4 MiB", Options{ChunkSize: 5 << 20}, Media{Size: 10, Type: "video/mp4"}, "", "", ErrInvalid},
		{"v1.1 chunk 5 MiB", Options{Version: V11, ChunkSize: 5 << 20}, Media{Size: 10, Type: "video/mp4"}, CategoryTweetVideo, "", nil},
		{"bad version", Options{Version: "v3"}, Media{Size: 10, Type: "video/mp4"}, "", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.BaseURL == "" {
				tt.opts.BaseURL = "https://api.x.com"
			}
			got, err := New(nil, tt.opts).Prepare(tt.m)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Prepare(%+v) error = %v, want %v", tt.m, err, tt.wantErr)
			}
			if err != nil {
				if !IsPermanent(err) {
					t.Errorf("Prepare error %v is not permanent", err)
				}
				return
			}
			if got.Category != tt.wantCat || got.AltText != tt.wantAlt {
				t.Errorf("Prepare(%+v) = category %q alt %q, want %q %q", tt.m, got.Category, got.AltText, tt.wantCat, tt.wantAlt)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		ok   bool
	}{
		{"defaults", Options{BaseURL: "https://api.x.com"}, true},
		{"no base URL", Options{}, false},
		{"bad scheme", Options{BaseURL: "ftp://x"}, false},
		{"negative parallelism", Options{BaseURL: "http://127.0.0.1:1", ChunkParallelism: -1}, false},
		{"negative timeout", Options{BaseURL: "http://127.0.0.1:1", RequestTimeout: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("Validate(%+v) = %v, want ok=%v", tt.opts, err, tt.ok)
			}
		})
	}
}

func TestResumable(t *testing.T) {
	c := New(nil, Options{BaseURL: "https://api.x.com"})
	m := Media{Size: 10 << 20, Type: "video/mp4", Category: CategoryTweetVideo}
	valid := Progress{MediaID: "1", ChunkSize: 4 << 20, Acked: []int{0, 2}, ExpiresAt: time.Now().Add(time.Hour), Category: CategoryTweetVideo}
	tests := []struct {
		name string
		edit func(p *Progress)
		want bool
	}{
		{"valid", func(p *Progress) {}, true},
		{"no media id", func(p *Progress) { p.MediaID = "" }, false},
		{"expired", func(p *Progress) { p.ExpiresAt = time.Now().Add(-time.Second) }, false},
		{"expiring within the margin", func(p *Progress) { p.ExpiresAt = time.Now().Add(expiryMargin / 2) }, false},
		{"no expiry", func(p *Progress) { p.ExpiresAt = time.Time{} }, false},
		{"other category", func(p *Progress) { p.Category = CategoryAmplifyVideo }, false},
		{"chunk over limit", func(p *Progress) { p.ChunkSize = 5 << 20 }, false},
		{"no chunk size", func(p *Progress) { p.ChunkSize = 0 }, false},
		{"acked segment out of range", func(p *Progress) { p.Acked = []int{0, 3} }, false},
		{"negative segment", func(p *Progress) { p.Acked = []int{-1} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := valid
			p.Acked = slices.Clone(valid.Acked)
			tt.edit(&p)
			if got := c.resumable(m, p); got != tt.want {
				t.Errorf("resumable(%+v) = %v, want %v", p, got, tt.want)
			}
		})
	}
}
