package fit_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/mediasync/mediasync/alttext/alttexttest"
)

// Corner colours of quadrants, as stored (before any orientation).
var (
	red    = color.RGBA{220, 20, 20, 255}
	green  = color.RGBA{20, 200, 20, 255}
	blue   = color.RGBA{20, 20, 220, 255}
	yellow = color.RGBA{230, 230, 20, 255}
)

// quadrants returns a w×h image whose top-left, top-right, bottom-left and
// bottom-right quarters are red, green, blue and yellow, with a little
// seeded noise so that it compresses like a photo.
func quadrants(w, h int, noise int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			c := red
			switch {
			case x >= w/2 && y < h/2:
				c = green
			case x < w/2 && y >= h/2:
				c = blue
			case x >= w/2 && y >= h/2:
				c = yellow
			}
			if noise > 0 {
				n := uint8(rng.IntN(noise))
				c.R, c.G, c.B = c.R^n, c.G^n, c.B^n
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// noisy returns a w×h image of seeded noise over a gradient: it compresses
// badly, so small images make large JPEGs.
func noisy(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < len(img.Pix); i += 4 {
		x, y := (i/4)%w, (i/4)/w
		img.Pix[i] = uint8(x*255/w) ^ uint8(rng.IntN(64))
		img.Pix[i+1] = uint8(y*255/h) ^ uint8(rng.IntN(64))
		img.Pix[i+2] = uint8(rng.IntN(256))
		img.Pix[i+3] = 255
	}
	return img
}

func encodeJPEG(t testing.TB, img image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// iccProfile returns a well-formed ICC profile header (size, version 4.3,
// display class, the colour space space, XYZ connection space, the "acsp"
// signature), no tags, padded with a seeded pattern to n bytes.
func iccProfile(space string, n int) []byte {
	p := make([]byte, n)
	binary.BigEndian.PutUint32(p[0:], uint32(n))
	copy(p[4:], "test")
	binary.BigEndian.PutUint32(p[8:], 0x04300000)
	copy(p[12:], "mntr")
	copy(p[16:], space)
	copy(p[20:], "XYZ ")
	copy(p[36:], "acsp")
	for i := 132; i < n; i++ {
		p[i] = byte(i*7 + i/251)
	}
	return p
}

// iccSegments splits a profile into APP2 ICC_PROFILE segments of at most
// chunk bytes each (ICC.1 annex B.4).
func iccSegments(icc []byte, chunk int) [][]byte {
	var segs [][]byte
	count := (len(icc) + chunk - 1) / chunk
	for i := range count {
		c := icc[i*chunk : min(len(icc), (i+1)*chunk)]
		payload := append([]byte("ICC_PROFILE\x00"), byte(i+1), byte(count))
		segs = append(segs, alttexttest.JPEGSegment(0xE2, append(payload, c...)))
	}
	return segs
}

// entry is one TIFF IFD entry for buildTIFF: a value of type typ and count
// items in data (inline if it takes 4 bytes or less); or, with sub >= 0,
// a LONG offset of IFD number sub; or, with blob set, a LONG offset of blob.
type entry struct {
	tag, typ uint16
	count    uint32
	data     []byte
	sub      int
	blob     []byte
}

func short(bo order, tag uint16, v uint16) entry {
	return entry{tag: tag, typ: 3, count: 1, data: bo.AppendUint16(nil, v), sub: -1}
}

func long(bo order, tag uint16, v uint32) entry {
	return entry{tag: tag, typ: 4, count: 1, data: bo.AppendUint32(nil, v), sub: -1}
}

func ascii(tag uint16, s string) entry {
	return entry{tag: tag, typ: 2, count: uint32(len(s) + 1), data: append([]byte(s), 0), sub: -1}
}

func undefined(tag uint16, p []byte) entry {
	return entry{tag: tag, typ: 7, count: uint32(len(p)), data: p, sub: -1}
}

func pointer(tag uint16, sub int) entry { return entry{tag: tag, typ: 4, count: 1, sub: sub} }

func blobAt(tag uint16, blob []byte) entry {
	return entry{tag: tag, typ: 4, count: 1, sub: -1, blob: blob}
}

// buildTIFF lays out a TIFF structure: the header, then each IFD followed by
// its out-of-line values. IFD 0 is IFD0; next[i] is the IFD that IFD i's
// next-IFD offset points to (0 for none).
func buildTIFF(bo order, ifds [][]entry, next map[int]int) []byte {
	for _, d := range ifds {
		slices.SortFunc(d, func(a, b entry) int { return int(a.tag) - int(b.tag) })
	}
	extra := func(e entry) int {
		n := 0
		if len(e.data) > 4 {
			n = len(e.data)
		}
		n += len(e.blob)
		return n + n&1
	}
	offs := make([]int, len(ifds))
	off := 8
	for i, d := range ifds {
		offs[i] = off
		off += 2 + 12*len(d) + 4
		for _, e := range d {
			off += extra(e)
		}
	}
	var b []byte
	if bo == order(binary.LittleEndian) {
		b = append(b, "II*\x00"...)
	} else {
		b = append(b, "MM\x00*"...)
	}
	b = bo.AppendUint32(b, 8)
	for i, d := range ifds {
		b = bo.AppendUint16(b, uint16(len(d)))
		data := offs[i] + 2 + 12*len(d) + 4
		var tail []byte
		for _, e := range d {
			b = bo.AppendUint16(b, e.tag)
			b = bo.AppendUint16(b, e.typ)
			b = bo.AppendUint32(b, e.count)
			var v []byte
			switch {
			case e.sub >= 0:
				v = bo.AppendUint32(nil, uint32(offs[e.sub]))
			case e.blob != nil:
				v = bo.AppendUint32(nil, uint32(data+len(tail)))
				tail = append(tail, e.blob...)
			case len(e.data) > 4:
				v = bo.AppendUint32(nil, uint32(data+len(tail)))
				tail = append(tail, e.data...)
			default:
				v = append(append(v, e.data...), make([]byte, 4-len(e.data))...)
			}
			if len(tail)&1 == 1 {
				tail = append(tail, 0)
			}
			b = append(b, v...)
		}
		n := 0
		if j, ok := next[i]; ok {
			n = offs[j]
		}
		b = bo.AppendUint32(b, uint32(n))
		b = append(b, tail...)
	}
	return b
}

// order is a byte order that can append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// EXIF tags the tests write.
const (
	tagMake        = 0x010F
	tagOrientation = 0x0112
	tagExifIFD     = 0x8769
	tagGPSIFD      = 0x8825
	tagPixelX      = 0xA002
	tagPixelY      = 0xA003
	tagGPSLatRef   = 0x0001
	tagGPSLat      = 0x0002
	tagThumbOffset = 0x0201
	tagThumbLength = 0x0202
)

// cameraEXIF returns an EXIF block as a camera writes one: IFD0 with Make,
// Orientation o, pointers to the Exif IFD (pixel dimensions w×h) and the GPS
// IFD (latitude 51° 28' 40" N), and IFD1 with a thumbnail.
func cameraEXIF(bo order, o uint16, w, h int) []byte {
	lat := make([]byte, 0, 24)
	for _, v := range []uint32{51, 1, 28, 1, 40, 1} {
		lat = bo.AppendUint32(lat, v)
	}
	thumb := []byte("\xFF\xD8 not really a thumbnail \xFF\xD9")
	return buildTIFF(bo, [][]entry{
		{ascii(tagMake, "TestCam"), short(bo, tagOrientation, o), pointer(tagExifIFD, 1), pointer(tagGPSIFD, 2)},
		{long(bo, tagPixelX, uint32(w)), short(bo, tagPixelY, uint16(h))},
		{ascii(tagGPSLatRef, "N"), {tag: tagGPSLat, typ: 5, count: 3, data: lat, sub: -1}},
		{blobAt(tagThumbOffset, thumb), long(bo, tagThumbLength, uint32(len(thumb)))},
	}, map[int]int{0: 3})
}

// cameraJPEG returns img as a JPEG with cameraEXIF (orientation o) and, if
// icc is not nil, the profile in APP2 segments of at most 60,000 bytes.
func cameraJPEG(t testing.TB, img image.Image, o uint16, icc []byte) []byte {
	t.Helper()
	b := img.Bounds()
	segs := [][]byte{alttexttest.ExifSegment(cameraEXIF(binary.BigEndian, o, b.Dx(), b.Dy()))}
	if icc != nil {
		segs = append(segs, iccSegments(icc, 60000)...)
	}
	return alttexttest.InsertJPEG(encodeJPEG(t, img, 95), segs...)
}

// pngWithICC returns img as a PNG with an iCCP chunk holding icc.
func pngWithICC(t testing.TB, img image.Image, icc []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(icc)
	zw.Close()
	return alttexttest.InsertPNG(encodePNG(t, img), alttexttest.PNGChunk("iCCP", append([]byte("Display P3\x00\x00"), z.Bytes()...)))
}

// rgbTIFF returns img as an uncompressed 8-bit RGB TIFF (one strip) with the
// given Orientation tag and, if icc is not nil, an InterColorProfile tag.
func rgbTIFF(img *image.RGBA, o uint16, icc []byte) []byte {
	bo := order(binary.LittleEndian)
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	pix := make([]byte, 0, w*h*3)
	for i := 0; i < len(img.Pix); i += 4 {
		pix = append(pix, img.Pix[i:i+3]...)
	}
	bps := entry{tag: 258, typ: 3, count: 3, data: bo.AppendUint16(bo.AppendUint16(bo.AppendUint16(nil, 8), 8), 8), sub: -1}
	ifd0 := []entry{
		long(bo, 256, uint32(w)), long(bo, 257, uint32(h)), bps, short(bo, 259, 1), short(bo, 262, 2),
		blobAt(273, pix), short(bo, tagOrientation, o), short(bo, 277, 3), long(bo, 278, uint32(h)),
		long(bo, 279, uint32(len(pix))), short(bo, 284, 1),
	}
	if icc != nil {
		ifd0 = append(ifd0, undefined(34675, icc))
	}
	return buildTIFF(bo, [][]entry{ifd0}, nil)
}

// bitWriter writes the least significant bit first, as VP8L reads.
type bitWriter struct {
	b     []byte
	nbits uint
}

func (w *bitWriter) write(v uint32, n uint) {
	for i := range n {
		if w.nbits%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte((v>>i)&1) << (w.nbits % 8)
		w.nbits++
	}
}

// uniformWebP returns a lossless WebP of w×h pixels of colour c with a
// VP8X header, an ICCP chunk (if icc is not nil) and an EXIF chunk with
// Orientation o. The VP8L bitstream has no transforms and a one-symbol
// prefix code per channel, so each pixel takes zero bits (WebP Lossless
// Bitstream Specification, sections 3.2 and 6.2).
func uniformWebP(w, h int, c color.RGBA, o uint16, icc []byte) []byte {
	var bw bitWriter
	bw.write(0x2f, 8)
	bw.write(uint32(w-1), 14)
	bw.write(uint32(h-1), 14)
	bw.write(0, 1) // alpha_is_used
	bw.write(0, 3) // version
	bw.write(0, 1) // no transform
	bw.write(0, 1) // no colour cache
	bw.write(0, 1) // no meta prefix codes
	for _, sym := range []byte{c.G, c.R, c.B, c.A, 0} {
		bw.write(1, 1) // simple code
		bw.write(0, 1) // one symbol
		bw.write(1, 1) // of 8 bits
		bw.write(uint32(sym), 8)
	}
	chunk := func(id string, p []byte) []byte {
		b := append([]byte(id), binary.LittleEndian.AppendUint32(nil, uint32(len(p)))...)
		b = append(b, p...)
		if len(p)&1 == 1 {
			b = append(b, 0)
		}
		return b
	}
	flags := byte(0x08) // EXIF
	if icc != nil {
		flags |= 0x20
	}
	vp8x := []byte{flags, 0, 0, 0}
	vp8x = append(vp8x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	body := append([]byte("WEBP"), chunk("VP8X", vp8x)...)
	if icc != nil {
		body = append(body, chunk("ICCP", icc)...)
	}
	body = append(body, chunk("VP8L", bw.b)...)
	body = append(body, chunk("EXIF", buildTIFF(binary.LittleEndian, [][]entry{{short(binary.LittleEndian, tagOrientation, o)}}, nil))...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// segment is one marker segment of a JPEG, up to the start of scan.
type segment struct {
	marker  byte
	payload []byte
}

// jpegSegments parses the marker segments of a JPEG before its image data.
func jpegSegments(t testing.TB, b []byte) []segment {
	t.Helper()
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) {
		t.Fatalf("output is not a JPEG: starts % x", b[:min(4, len(b))])
	}
	var segs []segment
	for off := 2; ; {
		if off+4 > len(b) || b[off] != 0xFF {
			t.Fatalf("bad marker at %d", off)
		}
		m := b[off+1]
		n := int(binary.BigEndian.Uint16(b[off+2:]))
		segs = append(segs, segment{m, b[off+4 : off+2+n]})
		if m == 0xDA {
			return segs
		}
		off += 2 + n
	}
}

// outputICC reassembles the profile from the output's APP2 segments, checking
// their numbering.
func outputICC(t testing.TB, segs []segment) []byte {
	t.Helper()
	var icc []byte
	var chunks [][]byte
	for _, s := range segs {
		if s.marker == 0xE2 && bytes.HasPrefix(s.payload, []byte("ICC_PROFILE\x00")) {
			chunks = append(chunks, s.payload[12:])
		}
	}
	for i, c := range chunks {
		if int(c[0]) != i+1 || int(c[1]) != len(chunks) {
			t.Fatalf("ICC chunk %d is numbered %d of %d", i, c[0], c[1])
		}
		icc = append(icc, c[2:]...)
	}
	return icc
}
