package fit

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"testing"

	"golang.org/x/image/draw"
)

func noise(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	return img
}

func TestSearchTakesTheHighestQualityThatFits(t *testing.T) {
	frame := noise(160, 120)
	size := func(q int) int64 {
		var b bytes.Buffer
		jpeg.Encode(&b, frame, &jpeg.Options{Quality: q})
		return int64(b.Len())
	}
	for _, budget := range []int64{size(60), size(75) + 10, size(90), size(99), size(100)} {
		q, data, _, err := search(t.Context(), frame, budget, 60)
		if err != nil {
			t.Fatal(err)
		}
		if data == nil || int64(len(data)) > budget || int64(len(data)) != size(q) {
			t.Fatalf("budget %d: quality %d, %d bytes (encoding at %d is %d)", budget, q, len(data), q, size(q))
		}
		if q < 100 && size(q+1) <= budget {
			t.Errorf("budget %d: took quality %d, but %d fits too (%d bytes)", budget, q, q+1, size(q+1))
		}
	}
	q, data, smallest, err := search(t.Context(), frame, size(60)-1, 60)
	if err != nil || data != nil || q != 0 || smallest != size(60) {
		t.Errorf("budget under quality 60: q %d, data %v, smallest %d, err %v; want none, smallest %d", q, data != nil, smallest, err, size(60))
	}
}

// The bands join without seams: the banded passes give exactly what the
// same two passes over the whole image give, and that is what one pass
// gives but for the rounding (and clamping of ringing) of the intermediate
// frame to 8 bits.
func TestResizeMatchesOnePass(t *testing.T) {
	src := noise(3*band+17, 2*band+9)
	for _, size := range []image.Point{{band + 5, 2*band + 9 - 40}, {97, 61}, {3*band + 17, 50}} {
		got, err := resize(t.Context(), src, size.X, size.Y)
		if err != nil {
			t.Fatal(err)
		}
		g := got.(*image.RGBA)

		mid := image.NewRGBA(image.Rect(0, 0, size.X, src.Bounds().Dy()))
		draw.CatmullRom.Scale(mid, mid.Bounds(), src, src.Bounds(), draw.Src, nil)
		two := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
		draw.CatmullRom.Scale(two, two.Bounds(), mid, mid.Bounds(), draw.Src, nil)
		if !bytes.Equal(g.Pix, two.Pix) {
			t.Errorf("%v: banded passes differ from whole passes", size)
		}

		one := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
		draw.CatmullRom.Scale(one, one.Bounds(), src, src.Bounds(), draw.Src, nil)
		worst, sum := 0, 0
		for i := range g.Pix {
			d := absInt(int(g.Pix[i]) - int(one.Pix[i]))
			worst, sum = max(worst, d), sum+d
		}
		if mean := float64(sum) / float64(len(g.Pix)); worst > 4 || mean > 0.5 {
			t.Errorf("%v: differs from one pass by up to %d levels, %.2f on average", size, worst, mean)
		}
	}
}

func absInt(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// zonePlate is a w×h grayscale cos(k·r²) whose frequency rises from 0 at
// the centre to the Nyquist limit (half a cycle per pixel) at the corners.
func zonePlate(w, h int) (*image.RGBA, float64) {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	k := math.Pi * 0.5 / math.Hypot(float64(w)/2, float64(h)/2)
	for y := range h {
		for x := range w {
			dx, dy := float64(x)+0.5-float64(w)/2, float64(y)+0.5-float64(h)/2
			v := uint8(127.5 + 127*math.Cos(k*(dx*dx+dy*dy)))
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = v, v, v, 255
		}
	}
	return img, k
}

// Shrunk 3×, the rings finer than the new pixels must fade to grey, not come
// back as moiré. This is why the scaler is Catmull-Rom: ApproxBiLinear
// leaves an RMS of 86 there, Catmull-Rom about 10.
func TestResizeDoesNotAlias(t *testing.T) {
	const sw, sh, dw, dh = 600, 450, 200, 150
	src, k := zonePlate(sw, sh)
	got, err := resize(t.Context(), src, dw, dh)
	if err != nil {
		t.Fatal(err)
	}
	out := got.(*image.RGBA)
	s := float64(sw) / dw
	var sum, n float64
	for y := range dh {
		for x := range dw {
			sx, sy := (float64(x)+0.5)*s-sw/2, (float64(y)+0.5)*s-sh/2
			if k*math.Hypot(sx, sy)/math.Pi*s > 0.6 { // cycles per new pixel, past Nyquist
				d := float64(out.Pix[out.PixOffset(x, y)]) - 127.5
				sum += d * d
				n++
			}
		}
	}
	if rms := math.Sqrt(sum / n); rms > 25 {
		t.Errorf("moiré RMS %.1f past the new Nyquist limit, want under 25", rms)
	}
}

func TestResizeCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := resize(ctx, noise(200, 200), 100, 100); err != context.Canceled {
		t.Errorf("resize = %v, want context.Canceled", err)
	}
}

func TestJoinICC(t *testing.T) {
	c := func(seq, count byte, data string) []byte { return append([]byte{seq, count}, data...) }
	for _, tc := range []struct {
		name   string
		chunks [][]byte
		want   []byte
	}{
		{"none", nil, nil},
		{"one", [][]byte{c(1, 1, "abc")}, []byte("abc")},
		{"out of order", [][]byte{c(2, 3, "b"), c(3, 3, "c"), c(1, 3, "a")}, []byte("abc")},
		{"missing", [][]byte{c(1, 3, "a"), c(3, 3, "c")}, nil},
		{"duplicate", [][]byte{c(1, 2, "a"), c(1, 2, "a")}, nil},
		{"counts differ", [][]byte{c(1, 2, "a"), c(2, 3, "b")}, nil},
		{"sequence 0", [][]byte{c(0, 1, "a")}, nil},
		{"count 0", [][]byte{c(1, 0, "a")}, nil},
	} {
		if got := joinICC(tc.chunks); !bytes.Equal(got, tc.want) {
			t.Errorf("%s: joinICC = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// Malformed EXIF blocks give orientation 1 and are not kept; none panics.
func TestMalformedEXIF(t *testing.T) {
	le := binary.LittleEndian
	ifd := func(count uint16, entries ...[]byte) []byte {
		b := append([]byte("II*\x00"), le.AppendUint32(nil, 8)...)
		b = le.AppendUint16(b, count)
		for _, e := range entries {
			b = append(b, e...)
		}
		return b
	}
	ent := func(tag, typ uint16, count uint32, v uint32) []byte {
		e := le.AppendUint16(nil, tag)
		e = le.AppendUint16(e, typ)
		e = le.AppendUint32(e, count)
		return le.AppendUint32(e, v)
	}
	for _, tc := range []struct {
		name string
		t    []byte
		o    int
		kept bool
	}{
		{"empty", nil, 1, false},
		{"not TIFF", []byte("JUNKJUNKJUNK"), 1, false},
		{"IFD past the end", append([]byte("II*\x00"), le.AppendUint32(nil, 1000)...), 1, false},
		{"entries cut short", ifd(5, ent(tagOrientation, typeShort, 1, 6)), 6, true},
		{"orientation 9", ifd(1, ent(tagOrientation, typeShort, 1, 9)), 1, true},
		{"orientation as LONG", ifd(1, ent(tagOrientation, typeLong, 1, 6)), 1, true},
		{"Exif IFD past the end", ifd(1, ent(tagExifIFD, typeLong, 1, 1<<30)), 1, true},
		{"too large for APP1", append(ifd(1, ent(tagOrientation, typeShort, 1, 3)), make([]byte, maxEXIF)...), 3, false},
	} {
		if o := exifOrientation(tc.t); o != tc.o {
			t.Errorf("%s: orientation %d, want %d", tc.name, o, tc.o)
		}
		if kept := keptEXIF(tc.t, 10, 10); (kept != nil) != tc.kept {
			t.Errorf("%s: kept %v, want %v", tc.name, kept != nil, tc.kept)
		} else if kept != nil && exifOrientation(kept) != 1 {
			t.Errorf("%s: kept block has orientation %d", tc.name, exifOrientation(kept))
		}
	}
}

// FuzzMetadata feeds arbitrary bytes, after each format's signature, to the
// metadata walks: they must end without panicking, within their bounds.
func FuzzMetadata(f *testing.F) {
	f.Add(byte(0), []byte("\xFF\xE1\x00\x10Exif\x00\x00II*\x00\x08\x00\x00\x00\xFF\xDA"))
	f.Add(byte(0), []byte("\xFF\xE2\x00\x12ICC_PROFILE\x00\x01\x01ab"))
	f.Add(byte(1), []byte("\x00\x00\x00\x04iCCPx\x00\x00\x00\x00\x00\x00\x00\x00IEND"))
	f.Add(byte(2), []byte("\x08\x00\x00\x00\x01\x00\x73\x87\x07\x00\xFF\xFF\x00\x00\x08\x00\x00\x00"))
	f.Add(byte(3), []byte("\x00\x00\x00\x00ICCP\x05\x00\x00\x00abcde\x00EXIF\x04\x00\x00\x00II*\x00"))
	f.Fuzz(func(t *testing.T, kind byte, rest []byte) {
		heads := [][]byte{{0xFF, 0xD8}, []byte("\x89PNG\r\n\x1a\n"), []byte("II*\x00"), []byte("RIFF\x00\x00\x00\x00WEBP")}
		fs := []*format{formatJPEG, formatPNG, formatTIFF, formatWebP}
		i := int(kind) % len(heads)
		data := append(append([]byte{}, heads[i]...), rest...)
		s := &source{ctx: t.Context(), r: bytes.NewReader(data), size: int64(len(data))}
		md, err := s.metadata(fs[i])
		if err != nil {
			t.Fatalf("metadata of in-memory bytes = %v", err)
		}
		if md.orientation < 1 || md.orientation > 8 {
			t.Fatalf("orientation %d", md.orientation)
		}
		_ = keptEXIF(md.exif, 1, 1)
		_ = md.iccFor(false)
	})
}
