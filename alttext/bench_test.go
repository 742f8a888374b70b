package alttext_test

import (
	"bytes"
	"compress/zlib"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// A camera-sized set of segments: a 60 KiB Exif block (as with an embedded
// thumbnail), an XMP packet, IPTC; the caption is in XMP.
func benchJPEG(b *testing.B) []byte {
	b.Helper()
	tiff := append(alttexttest.EXIF("exif"), make([]byte, 60<<10)...)
	return alttexttest.InsertJPEG(mediagen.JPEG(1024, 768, 1),
		alttexttest.ExifSegment(tiff), iptcSeg("iptc", true), xmpSeg(strings.Repeat("Harbour at dawn. ", 20)))
}

func BenchmarkEmbeddedJPEG(b *testing.B) {
	data := benchJPEG(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := alttext.Embedded(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEmbeddedPNG(b *testing.B) {
	data := appendBeforeIEND(mediagen.PNG(600, 600, 1), alttexttest.PNGChunk("tEXt", []byte("Description\x00after the image data")))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := alttext.Embedded(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEmbeddedPNGBomb is the hostile case: 5 MB of zTXt Description
// chunks that each inflate to 1 MiB of blanks. The per-file decompression
// budget (4 MiB) bounds the work whatever the file size.
func BenchmarkEmbeddedPNGBomb(b *testing.B) {
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		b.Fatal(err)
	}
	zw.Write(bytes.Repeat([]byte(" "), 1<<20))
	zw.Close()
	c := alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x00"), z.Bytes()...))
	var chunks [][]byte
	for n := 0; n < 5_000_000; n += len(c) {
		chunks = append(chunks, c)
	}
	data := alttexttest.InsertPNG(mediagen.PNG(8, 8, 1), chunks...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := alttext.Embedded(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFind reads from disk: four sidecar lookups that miss, then the
// embedded caption (mode auto, the default).
func BenchmarkFind(b *testing.B) {
	path := filepath.Join(b.TempDir(), "IMG_1.jpg")
	if err := os.WriteFile(path, benchJPEG(b), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if text, _, _, err := alttext.Find(path, "auto"); err != nil || text == "" {
			b.Fatal(text, err)
		}
	}
}

func BenchmarkNormalizeLong(b *testing.B) {
	s := strings.Repeat("The harbour at dawn, fishing boats return.\r\n", 200)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	for b.Loop() {
		alttext.Normalize(s)
	}
}
