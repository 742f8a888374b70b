package alttexttest_test

import (
	"bytes"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestStillImages: the captioned files still decode as images, and alttext
// reads back each caption from its own kind of metadata.
func TestStillImages(t *testing.T) {
	jpg := mediagen.JPEG(32, 24, 1)
	pngImg := mediagen.PNG(8, 8, 1)
	tests := []struct {
		name     string
		data     []byte
		decode   func([]byte) error
		wantFrom alttext.Source
	}{
		{"exif", alttexttest.WithEXIFDescription(jpg, "Caption ✓"), decodeJPEG, alttext.EXIF},
		{"xmp", alttexttest.WithXMPDescription(jpg, "Caption ✓"), decodeJPEG, alttext.XMP},
		{"iptc", alttexttest.WithIPTCCaption(jpg, "Caption ✓"), decodeJPEG, alttext.IPTC},
		{"png xmp", alttexttest.WithPNGXMP(pngImg, "Caption ✓"), decodePNG, alttext.XMP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.decode(tt.data); err != nil {
				t.Fatalf("decode: %v", err)
			}
			text, from, err := alttext.Embedded(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil || text != "Caption ✓" || from != tt.wantFrom {
				t.Errorf("Embedded = %q, %q, %v; want %q, %q, nil", text, from, err, "Caption ✓", tt.wantFrom)
			}
		})
	}
}

func decodeJPEG(b []byte) error { _, err := jpeg.Decode(bytes.NewReader(b)); return err }
func decodePNG(b []byte) error  { _, err := png.Decode(bytes.NewReader(b)); return err }

func TestPanicsOnMisuse(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"InsertJPEG of a PNG", func() { alttexttest.InsertJPEG(mediagen.PNG(2, 2, 1)) }},
		{"InsertPNG of a JPEG", func() { alttexttest.InsertPNG(mediagen.JPEG(2, 2, 1)) }},
		{"oversized segment", func() { alttexttest.JPEGSegment(0xE1, make([]byte, 65534)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", tt.name)
				}
			}()
			tt.f()
		})
	}
}
