package alttext_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// photo is a real JPEG as image/jpeg writes it: SOI, DQT, SOF, DHT, SOS, EOI.
var photo = mediagen.JPEG(64, 48, 1)

// with returns photo with segments inserted after SOI.
func with(segments ...[]byte) []byte { return alttexttest.InsertJPEG(photo, segments...) }

func exifSeg(desc string) []byte { return alttexttest.ExifSegment(alttexttest.EXIF(desc)) }
func xmpSeg(desc string) []byte  { return alttexttest.XMPSegment(alttexttest.XMP(desc)) }
func iptcSeg(caption string, declareUTF8 bool) []byte {
	return alttexttest.PhotoshopSegment(alttexttest.IPTC(caption, declareUTF8))
}

// xmpRaw returns an APP1 XMP segment with rdf as the body of rdf:RDF.
func xmpRaw(rdf string) []byte {
	return alttexttest.XMPSegment(alttexttest.XMPPacket(rdf))
}

const dcNS = `xmlns:dc="http://purl.org/dc/elements/1.1/"`

// embedded runs Embedded on data held in memory.
func embedded(t *testing.T, data []byte) (string, alttext.Source) {
	t.Helper()
	text, src, err := alttext.Embedded(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Embedded: unexpected error %v", err)
	}
	return text, src
}

func TestEmbeddedJPEG(t *testing.T) {
	long := strings.Repeat("Harbour at dawn, fishing boats return. ", 60) // > MaxLen, Embedded does not cut
	tests := []struct {
		name     string
		data     []byte
		want     string
		wantFrom alttext.Source
	}{
		{"no metadata", photo, "", ""},
		{"exif", with(exifSeg("Harbour at dawn")), "Harbour at dawn", alttext.EXIF},
		{"exif short inline value", with(exifSeg("Cat")), "Cat", alttext.EXIF},
		{"xmp", with(xmpSeg("Harbour at dawn")), "Harbour at dawn", alttext.XMP},
		{"iptc", with(iptcSeg("Harbour at dawn", true)), "Harbour at dawn", alttext.IPTC},
		{"all three prefer xmp", with(exifSeg("from exif"), iptcSeg("from iptc", true), xmpSeg("from xmp")), "from xmp", alttext.XMP},
		{"iptc over exif", with(exifSeg("from exif"), iptcSeg("from iptc", true)), "from iptc", alttext.IPTC},
		{"blank xmp falls through", with(xmpSeg("  "), iptcSeg("from iptc", true), exifSeg("from exif")), "from iptc", alttext.IPTC},
		{"blank iptc falls through", with(iptcSeg("\x00\x00", true), exifSeg("from exif")), "from exif", alttext.EXIF},
		{"camera placeholder", with(exifSeg("OLYMPUS DIGITAL CAMERA")), "", ""},
		{"camera placeholder padded", with(exifSeg("SONY DSC          ")), "", ""},
		{"blank exif", with(exifSeg(strings.Repeat(" ", 31))), "", ""},
		{"unicode xmp", with(xmpSeg("Hafen 🌅 im Morgengrauen — 港口 · مرفأ")), "Hafen 🌅 im Morgengrauen — 港口 · مرفأ", alttext.XMP},
		{"unicode iptc declared", with(iptcSeg("Café crème, Zürich 🇨🇭", true)), "Café crème, Zürich 🇨🇭", alttext.IPTC},
		{"unicode iptc undeclared", with(iptcSeg("Café crème", false)), "Café crème", alttext.IPTC},
		{"latin-1 iptc", with(iptcSeg("Caf\xe9 cr\xe8me, Z\xfcrich", false)), "Café crème, Zürich", alttext.IPTC},
		{"windows-1252 iptc", with(iptcSeg("\x93Quoted\x94 \x96 \x80 5", false)), "“Quoted” – € 5", alttext.IPTC},
		{"declared utf-8 with a bad byte", with(iptcSeg("Caf\xe9 ok", true)), "Caf ok", alttext.IPTC},
		{"latin-1 exif", with(exifSeg("Z\xfcrich")), "Zürich", alttext.EXIF},
		{"utf-8 exif", with(exifSeg("Zürich")), "Zürich", alttext.EXIF},
		{"exif stops at nul", with(exifSeg("Title\x00junk after")), "Title", alttext.EXIF},
		{"multi-line caption", with(iptcSeg("Line one\r\nLine two\rLine three", true)), "Line one\nLine two\nLine three", alttext.IPTC},
		{"controls removed", with(iptcSeg("\x01Bell\x07 and\ttab\x00", true)), "Bell and tab", alttext.IPTC},
		{"xml escapes", with(xmpSeg(`Tom & Jerry <3 "quotes"`)), `Tom & Jerry <3 "quotes"`, alttext.XMP},
		{"long caption uncut", with(xmpSeg(long)), strings.TrimSpace(long), alttext.XMP},
		{"iptc split over two APP13 segments", with(splitAPP13(alttexttest.IPTC("split caption", true))), "split caption", alttext.IPTC},
		{"iptc after other resources", with(app13(irb(0x03ED, "resolution", []byte{1, 2, 3}), irb(0x0404, "", alttexttest.IPTC("after others", true)))), "after others", alttext.IPTC},
		{"little-endian exif", with(alttexttest.ExifSegment(tiffLE(0x010E, 2, []byte("Little endian\x00")))), "Little endian", alttext.EXIF},
		{"exif undefined type", with(alttexttest.ExifSegment(tiffLE(0x010E, 7, []byte("Undefined")))), "Undefined", alttext.EXIF},
		{"first exif wins", with(exifSeg("first"), exifSeg("second")), "first", alttext.EXIF},
		{"fill bytes before marker", append(append([]byte{0xFF, 0xD8, 0xFF, 0xFF}, exifSeg("after fill")...), photo[2:]...), "after fill", alttext.EXIF},
		{"metadata after SOS is not read", append(photo[:len(photo)-2:len(photo)-2], append(exifSeg("too late"), 0xFF, 0xD9)...), "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := embedded(t, tt.data)
			if got != tt.want || from != tt.wantFrom {
				t.Errorf("Embedded = %q, %q; want %q, %q", got, from, tt.want, tt.wantFrom)
			}
		})
	}
}

func TestEmbeddedXMPForms(t *testing.T) {
	tests := []struct {
		name string
		rdf  string
		want string
	}{
		{"x-default not first", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt>
			<rdf:li xml:lang="de-DE">Hafen</rdf:li><rdf:li xml:lang="x-default">Harbour</rdf:li>
			</rdf:Alt></dc:description></rdf:Description>`, "Harbour"},
		{"no x-default: first", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt>
			<rdf:li xml:lang="fr">Port</rdf:li><rdf:li xml:lang="de">Hafen</rdf:li>
			</rdf:Alt></dc:description></rdf:Description>`, "Port"},
		{"empty x-default: first with text", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt>
			<rdf:li xml:lang="x-default"></rdf:li><rdf:li xml:lang="de">Hafen</rdf:li>
			</rdf:Alt></dc:description></rdf:Description>`, "Hafen"},
		{"attribute form", `<rdf:Description ` + dcNS + ` dc:description="In an attribute"/>`, "In an attribute"},
		{"plain text form", `<rdf:Description ` + dcNS + `><dc:description>Plain text</dc:description></rdf:Description>`, "Plain text"},
		{"other prefix", `<rdf:Description xmlns:purl="http://purl.org/dc/elements/1.1/"><purl:description><rdf:Alt>
			<rdf:li xml:lang="x-default">Any prefix</rdf:li></rdf:Alt></purl:description></rdf:Description>`, "Any prefix"},
		{"alt text accessibility wins", `<rdf:Description ` + dcNS + ` xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/">
			<dc:description><rdf:Alt><rdf:li xml:lang="x-default">A caption</rdf:li></rdf:Alt></dc:description>
			<Iptc4xmpCore:AltTextAccessibility><rdf:Alt><rdf:li xml:lang="x-default">The alt text</rdf:li></rdf:Alt></Iptc4xmpCore:AltTextAccessibility>
			</rdf:Description>`, "The alt text"},
		{"description in a second rdf:Description", `<rdf:Description rdf:about="" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="5"/>
			<rdf:Description rdf:about="" ` + dcNS + `><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Second</rdf:li></rdf:Alt></dc:description></rdf:Description>`, "Second"},
		{"dc:title is not a description", `<rdf:Description ` + dcNS + `><dc:title><rdf:Alt><rdf:li xml:lang="x-default">Title</rdf:li></rdf:Alt></dc:title></rdf:Description>`, ""},
		{"wrong namespace", `<rdf:Description xmlns:dc="http://example.com/dc/"><dc:description>Not Dublin Core</dc:description></rdf:Description>`, ""},
		{"html entity", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt><rdf:li xml:lang="x-default">A&nbsp;B &amp; C &#x26C5;</rdf:li></rdf:Alt></dc:description></rdf:Description>`, "A\u00a0B & C ⛅"},
		{"cdata", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt><rdf:li xml:lang="x-default"><![CDATA[In <CDATA>]]></rdf:li></rdf:Alt></dc:description></rdf:Description>`, "In <CDATA>"},
		{"broken after the description", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Kept</rdf:li></rdf:Alt></dc:description></rdf:Description><broken attr=>`, "Kept"},
		{"broken inside the item", `<rdf:Description ` + dcNS + `><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Half <`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := embedded(t, with(xmpRaw(tt.rdf)))
			if got != tt.want {
				t.Errorf("Embedded = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEmbeddedPNG(t *testing.T) {
	img := mediagen.PNG(16, 16, 1)
	xmpChunk := func(desc string) []byte {
		return alttexttest.PNGChunk("iTXt", alttexttest.ITXt("XML:com.adobe.xmp", string(alttexttest.XMP(desc))))
	}
	tests := []struct {
		name     string
		data     []byte
		want     string
		wantFrom alttext.Source
	}{
		{"no metadata", img, "", ""},
		{"iTXt xmp", alttexttest.WithPNGXMP(img, "Harbour at dawn"), "Harbour at dawn", alttext.XMP},
		{"compressed iTXt xmp", alttexttest.InsertPNG(img, alttexttest.PNGChunk("iTXt",
			append([]byte("XML:com.adobe.xmp\x00\x01\x00\x00\x00"), deflate(alttexttest.XMP("Compressed"))...))), "Compressed", alttext.XMP},
		{"tEXt description latin-1", alttexttest.InsertPNG(img, alttexttest.PNGChunk("tEXt", []byte("Description\x00Caf\xe9"))), "Café", alttext.PNGText},
		{"zTXt description", alttexttest.InsertPNG(img, alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x00"), deflate([]byte("Zipped"))...))), "Zipped", alttext.PNGText},
		{"iTXt description", alttexttest.InsertPNG(img, alttexttest.PNGChunk("iTXt", alttexttest.ITXt("Description", "Unicode ✓"))), "Unicode ✓", alttext.PNGText},
		{"other keyword ignored", alttexttest.InsertPNG(img, alttexttest.PNGChunk("tEXt", []byte("Comment\x00Not a caption"))), "", ""},
		{"xmp over description", alttexttest.InsertPNG(img, alttexttest.PNGChunk("tEXt", []byte("Description\x00text")), xmpChunk("xmp")), "xmp", alttext.XMP},
		{"description over exif", alttexttest.InsertPNG(img, alttexttest.PNGChunk("eXIf", alttexttest.EXIF("exif")), alttexttest.PNGChunk("tEXt", []byte("Description\x00text"))), "text", alttext.PNGText},
		{"eXIf", alttexttest.InsertPNG(img, alttexttest.PNGChunk("eXIf", alttexttest.EXIF("From eXIf"))), "From eXIf", alttext.EXIF},
		{"text after the image data", appendBeforeIEND(img, xmpChunk("After IDAT")), "After IDAT", alttext.XMP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := embedded(t, tt.data)
			if got != tt.want || from != tt.wantFrom {
				t.Errorf("Embedded = %q, %q; want %q, %q", got, from, tt.want, tt.wantFrom)
			}
		})
	}
}

func TestEmbeddedWebP(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		want     string
		wantFrom alttext.Source
	}{
		{"no metadata", webp(), "", ""},
		{"xmp", webp(riff("XMP ", alttexttest.XMP("WebP caption"))), "WebP caption", alttext.XMP},
		{"exif", webp(riff("EXIF", alttexttest.EXIF("odd"))), "odd", alttext.EXIF},
		{"exif with Exif header", webp(riff("EXIF", append([]byte("Exif\x00\x00"), alttexttest.EXIF("with header")...))), "with header", alttext.EXIF},
		{"xmp over exif", webp(riff("EXIF", alttexttest.EXIF("exif")), riff("XMP ", alttexttest.XMP("xmp"))), "xmp", alttext.XMP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, from := embedded(t, tt.data)
			if got != tt.want || from != tt.wantFrom {
				t.Errorf("Embedded = %q, %q; want %q, %q", got, from, tt.want, tt.wantFrom)
			}
		})
	}
}

func TestEmbeddedOtherFormats(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short", []byte{0xFF, 0xD8}},
		{"gif", mediagen.GIF(8, 8, 2, 1)},
		{"mp4", mediagen.MP4(4096, 1)},
		{"text", []byte("Harbour at dawn, not an image at all")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, from := embedded(t, tt.data); got != "" || from != "" {
				t.Errorf("Embedded = %q, %q; want nothing", got, from)
			}
		})
	}
}

// TestEmbeddedMalformed feeds broken metadata: nothing panics, nothing is
// made up, and a broken block does not hide a good one of another kind.
func TestEmbeddedMalformed(t *testing.T) {
	img := mediagen.PNG(8, 8, 1)
	good := iptcSeg("good", true)
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"segment length past EOF", append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xF0}, "Exif\x00\x00MM\x00*"...), ""},
		{"segment length below 2", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x01, 0xFF, 0xD9}, ""},
		{"cut after SOI", []byte{0xFF, 0xD8, 0xFF}, ""},
		{"not a marker", []byte{0xFF, 0xD8, 0x00, 0x00, 0x00, 0x00}, ""},
		{"all fill bytes", append([]byte{0xFF, 0xD8}, bytes.Repeat([]byte{0xFF}, 1<<16)...), ""},
		{"good iptc, segment past EOF after it", append(append([]byte{0xFF, 0xD8}, good...), 0xFF, 0xE1, 0xFF, 0xF0), "good"},
		{"exif bad byte order", with(alttexttest.ExifSegment([]byte("XX\x00*\x00\x00\x00\x08"))), ""},
		{"exif too short", with(alttexttest.ExifSegment([]byte("MM\x00*"))), ""},
		{"exif IFD0 past end", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(0xFFFFFFF0)))), ""},
		{"exif truncated IFD", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(8), uint16(1000), uint16(0x0100), uint16(3), uint32(1), uint32(5)))), ""},
		{"exif value offset past end", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(8), uint16(1), uint16(0x010E), uint16(2), uint32(20), uint32(0xFFFFFFF0), uint32(0)))), ""},
		{"exif huge count", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(8), uint16(1), uint16(0x010E), uint16(2), uint32(0xFFFFFFFF), uint32(8), uint32(0)))), ""},
		{"exif wrong type", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(8), uint16(1), uint16(0x010E), uint16(3), uint32(1), uint32(0), uint32(0)))), ""},
		{"exif IFD loop", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(8), uint16(1), uint16(0x0100), uint16(3), uint32(1), uint32(0), uint32(8)))), ""},
		{"exif IFD0 is the header", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(0)))), ""},
		{"broken exif, good iptc", with(alttexttest.ExifSegment(be(t, "MM\x00*", uint32(8), uint16(500))), good), "good"},
		{"iptc length past end", with(app13(irb(0x0404, "", []byte{0x1C, 2, 120, 0x7F, 0xFF, 'a'}))), ""},
		{"iptc extended length of 0 bytes", with(app13(irb(0x0404, "", []byte{0x1C, 2, 120, 0x80, 0x00, 'a'}))), ""},
		{"iptc extended length of 8 bytes", with(app13(irb(0x0404, "", []byte{0x1C, 2, 120, 0x80, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}))), ""},
		{"iptc huge extended length", with(app13(irb(0x0404, "", []byte{0x1C, 2, 120, 0x80, 0x04, 0xFF, 0xFF, 0xFF, 0xFF, 'a'}))), ""},
		{"iptc garbage", with(app13(irb(0x0404, "", []byte("garbage, not datasets")))), ""},
		{"iptc caption then garbage", with(app13(irb(0x0404, "", append(alttexttest.IPTC("kept", true), 0, 0, 0x1C, 2)))), "kept"},
		{"irb size past end", with(app13([]byte("8BIM\x04\x04\x00\x00\x7F\xFF\xFF\xFF\x1C"))), ""},
		{"irb name past end", with(app13([]byte("8BIM\x04\x04\xFF"))), ""},
		{"irb unknown signature", with(app13(append([]byte("XXXX"), irb(0x0404, "", alttexttest.IPTC("x", true))[4:]...))), ""},
		{"xmp not xml", with(alttexttest.XMPSegment([]byte("\x00\x01 not xml <<<"))), ""},
		{"xmp deeply nested", with(xmpRaw(strings.Repeat("<a>", 8000) + strings.Repeat("</a>", 8000))), ""},
		{"png xmp deeply nested", alttexttest.InsertPNG(img, alttexttest.PNGChunk("iTXt", alttexttest.ITXt("XML:com.adobe.xmp", strings.Repeat("<a>", 50000)))), ""},
		{"xmp declares utf-16", with(alttexttest.XMPSegment(append([]byte(`<?xml version="1.0" encoding="UTF-16"?>`), alttexttest.XMP("x")...))), ""},
		{"png chunk length past EOF", append(append([]byte(nil), img[:33]...), 0x00, 0xFF, 0xFF, 0xFF, 't', 'E', 'X', 't'), ""},
		{"png chunk length over 2^31", alttexttest.InsertPNG(img, []byte{0xFF, 0xFF, 0xFF, 0xFF, 't', 'E', 'X', 't'}), ""},
		{"png zTXt not zlib", alttexttest.InsertPNG(img, alttexttest.PNGChunk("zTXt", []byte("Description\x00\x00not zlib"))), ""},
		{"png zTXt unknown method", alttexttest.InsertPNG(img, alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x07"), deflate([]byte("x"))...))), ""},
		{"png iTXt without separators", alttexttest.InsertPNG(img, alttexttest.PNGChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00"))), ""},
		{"png iTXt cut zlib", alttexttest.InsertPNG(img, alttexttest.PNGChunk("iTXt", append([]byte("Description\x00\x01\x00\x00\x00"), deflate([]byte("a rather long text"))[:8]...))), ""},
		{"png tEXt without keyword end", alttexttest.InsertPNG(img, alttexttest.PNGChunk("tEXt", []byte("Description"))), ""},
		{"webp chunk size past end", webp([]byte("XMP \xff\xff\xff\x7f<x/>")), ""},
		{"webp cut header", []byte("RIFF\x00\x00\x00\x00WEBPVP8"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := embedded(t, tt.data)
			if got != tt.want {
				t.Errorf("Embedded = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestEmbeddedZipBomb: decompression is bounded, and Find still cuts the text.
func TestEmbeddedZipBomb(t *testing.T) {
	bomb := deflate(bytes.Repeat([]byte("word "), 800<<10)) // 4 MiB of text in 4 KiB; the bound is 1 MiB
	data := alttexttest.InsertPNG(mediagen.PNG(8, 8, 1), alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x00"), bomb...)))
	got, from := embedded(t, data)
	if from != alttext.PNGText || len(got) > 1<<20 || !strings.HasPrefix(got, "word word") {
		t.Errorf("Embedded = %d bytes from %q; want at most 1 MiB of text from png", len(got), from)
	}
}

// errReader fails every read after the first n bytes with a disk error.
type errReader struct {
	data []byte
	n    int64
}

var errDisk = errors.New("input/output error")

func (r errReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.n {
		return 0, errDisk
	}
	return copy(p, r.data[off:]), nil
}

func TestEmbeddedReadError(t *testing.T) {
	data := with(exifSeg("x"), xmpSeg("y"))
	for _, n := range []int64{0, 12, 30, int64(len(data)) / 2} {
		_, _, err := alttext.Embedded(errReader{data, n}, int64(len(data)))
		if !errors.Is(err, errDisk) {
			t.Errorf("Embedded with a read error after %d bytes: err = %v, want %v", n, err, errDisk)
		}
	}
	// A file that is shorter than its stated size is malformed, not an error.
	data = with(xmpSeg("cut short"))
	text, _, err := alttext.Embedded(bytes.NewReader(data[:100]), int64(len(data)))
	if err != nil || text != "" {
		t.Errorf("Embedded of a file cut short = %q, %v; want \"\", nil", text, err)
	}
}

// --- builders for broken and unusual metadata ---

// be writes each value big-endian: strings as bytes, uint16 and uint32.
func be(t *testing.T, vs ...any) []byte {
	t.Helper()
	var b []byte
	for _, v := range vs {
		switch v := v.(type) {
		case string:
			b = append(b, v...)
		case uint16:
			b = binary.BigEndian.AppendUint16(b, v)
		case uint32:
			b = binary.BigEndian.AppendUint32(b, v)
		default:
			t.Fatalf("be: unsupported %T", v)
		}
	}
	return b
}

// tiffLE returns a little-endian TIFF structure with one IFD0 entry.
func tiffLE(tag, typ uint16, v []byte) []byte {
	b := []byte("II*\x00")
	b = binary.LittleEndian.AppendUint32(b, 8)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, tag)
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
	b = binary.LittleEndian.AppendUint32(b, 26)
	b = binary.LittleEndian.AppendUint32(b, 0)
	return append(b, v...)
}

// irb returns one Photoshop image resource block.
func irb(id uint16, name string, data []byte) []byte {
	b := []byte("8BIM")
	b = binary.BigEndian.AppendUint16(b, id)
	b = append(b, byte(len(name)))
	b = append(b, name...)
	if (1+len(name))%2 == 1 {
		b = append(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// app13 returns an APP13 Photoshop segment holding the resource blocks.
func app13(blocks ...[]byte) []byte {
	return alttexttest.JPEGSegment(0xED, append([]byte("Photoshop 3.0\x00"), bytes.Join(blocks, nil)...))
}

// splitAPP13 returns the IPTC resource block split over two APP13 segments.
func splitAPP13(iptc []byte) []byte {
	blk := irb(0x0404, "", iptc)
	h := len(blk) / 2
	return append(app13(blk[:h]), app13(blk[h:])...)
}

func deflate(p []byte) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write(p)
	zw.Close()
	return b.Bytes()
}

// appendBeforeIEND returns png with chunk inserted before its final IEND.
func appendBeforeIEND(png, chunk []byte) []byte {
	i := len(png) - 12
	out := append(append([]byte(nil), png[:i]...), chunk...)
	return append(out, png[i:]...)
}

// riff returns a RIFF chunk, padded to an even length.
func riff(fourcc string, data []byte) []byte {
	b := append([]byte(fourcc), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	b = append(b, data...)
	if len(data)%2 == 1 {
		b = append(b, 0)
	}
	return b
}

// webp returns a WebP container: RIFF header, a VP8X header, the chunks and a
// VP8L image chunk (a 1x1 lossless bitstream header; Embedded does not decode
// image data).
func webp(chunks ...[]byte) []byte {
	body := []byte("WEBP")
	body = append(body, riff("VP8X", make([]byte, 10))...)
	for _, c := range chunks {
		body = append(body, c...)
	}
	body = append(body, riff("VP8L", []byte{0x2F, 0, 0, 0, 0})...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}
