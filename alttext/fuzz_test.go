package alttext_test

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// FuzzEmbedded: no input panics, hangs or fails the read of an in-memory
// file, and whatever text comes out is clean and has a source.
func FuzzEmbedded(f *testing.F) {
	img := mediagen.PNG(4, 4, 1)
	small := mediagen.JPEG(8, 8, 1)
	seeds := [][]byte{
		alttexttest.InsertJPEG(small, exifSeg("exif"), iptcSeg("iptc", true), xmpSeg("xmp")),
		alttexttest.InsertJPEG(small, iptcSeg("Caf\xe9", false)),
		alttexttest.InsertJPEG(small, alttexttest.ExifSegment(tiffLE(0x010E, 2, []byte("le\x00")))),
		alttexttest.InsertJPEG(small, splitAPP13(alttexttest.IPTC("split", true))),
		alttexttest.WithPNGXMP(img, "png xmp"),
		alttexttest.InsertPNG(img, alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x00"), deflate([]byte("z"))...))),
		alttexttest.InsertPNG(img, alttexttest.PNGChunk("eXIf", alttexttest.EXIF("png exif"))),
		webp(riff("EXIF", alttexttest.EXIF("webp")), riff("XMP ", alttexttest.XMP("webp xmp"))),
		{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0},
		[]byte("RIFF\x00\x00\x00\x00WEBP"),
	}
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		text, src, err := alttext.Embedded(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatalf("Embedded: %v", err)
		}
		if (text == "") != (src == "") {
			t.Fatalf("Embedded = %q, %q: text and source disagree", text, src)
		}
		if len(text) > 4<<20 {
			t.Fatalf("Embedded = %d bytes, more than the bounds allow", len(text))
		}
		again, truncated := alttext.Normalize(text)
		if utf8.RuneCountInString(text) <= alttext.MaxLen && (again != text || truncated) {
			t.Fatalf("Embedded text %q is not clean: Normalize gives %q", text, again)
		}
		if !strings.HasPrefix(text, strings.TrimSuffix(again, "…")) {
			t.Fatalf("Embedded text %.80q is not clean: Normalize gives %.80q", text, again)
		}
	})
}

// FuzzNormalize: the result is always valid, bounded, clean and stable.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"", "Harbour at dawn", "a\r\nb\x00c", strings.Repeat("word ", 300), strings.Repeat("🇨🇭", 600), "Caf\xe9", " \u2028 x \uFEFF"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, truncated := alttext.Normalize(s)
		checkNormal(t, got)
		if !truncated && strings.HasSuffix(got, "…") && !strings.Contains(s, "…") {
			t.Errorf("Normalize(%q) = %q: ellipsis without truncation", s, got)
		}
	})
}
