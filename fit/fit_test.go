package fit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/fit"
)

// run fits data and decodes the result, failing the test on any error.
func run(t *testing.T, data []byte, mediaType string, opts fit.Options) (fit.Result, []byte, image.Image) {
	t.Helper()
	var out bytes.Buffer
	res, err := fit.Fit(t.Context(), bytes.NewReader(data), int64(len(data)), mediaType, &out, opts)
	if err != nil {
		t.Fatalf("Fit: %v", err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("output does not decode as JPEG: %v", err)
	}
	sum := sha256.Sum256(out.Bytes())
	if res.Bytes != int64(out.Len()) || res.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("Result says %d bytes, sha256 %s; wrote %d bytes, sha256 %x", res.Bytes, res.SHA256, out.Len(), sum)
	}
	if b := img.Bounds(); b.Dx() != res.Width || b.Dy() != res.Height {
		t.Errorf("Result says %d×%d, output is %v", res.Width, res.Height, b.Size())
	}
	return res, out.Bytes(), img
}

// near reports whether c is within tol of want in each channel.
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(a uint32, b uint8) bool { return abs(int(a>>8)-int(b)) <= tol }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

func TestFitOverLimitJPEG(t *testing.T) {
	src := encodeJPEG(t, noisy(600, 450, 1), 95)
	opts := fit.Options{MaxEdge: 400, MaxBytes: 60_000}
	if int64(len(src)) <= opts.MaxBytes {
		t.Fatalf("test photo is %d bytes, not over %d", len(src), opts.MaxBytes)
	}
	res, _, _ := run(t, src, "image/jpeg", opts)
	if res.Bytes > opts.MaxBytes {
		t.Errorf("derivative is %d bytes, over %d", res.Bytes, opts.MaxBytes)
	}
	if res.Width != 400 || res.Height != 300 {
		t.Errorf("derivative is %d×%d, want 400×300 (long edge capped, aspect kept)", res.Width, res.Height)
	}
	if res.SourceWidth != 600 || res.SourceHeight != 450 {
		t.Errorf("source is %d×%d, want 600×450", res.SourceWidth, res.SourceHeight)
	}
	if res.Quality < fit.DefaultMinQuality || res.Quality >= 100 {
		t.Errorf("quality %d: want the search to settle between %d and 99 for this budget", res.Quality, fit.DefaultMinQuality)
	}
	// A looser budget gives a higher quality at the same size.
	loose, _, _ := run(t, src, "image/jpeg", fit.Options{MaxEdge: 400, MaxBytes: 2 * opts.MaxBytes})
	t.Logf("quality %d at %d bytes, %d at %d", res.Quality, opts.MaxBytes, loose.Quality, 2*opts.MaxBytes)
	if loose.Quality <= res.Quality || loose.Width != 400 {
		t.Errorf("with twice the budget: quality %d at %d px; want above %d at 400", loose.Quality, loose.Width, res.Quality)
	}
}

func TestFitSmallPhotoIsNotEnlarged(t *testing.T) {
	src := encodeJPEG(t, quadrants(300, 200, 0), 90)
	res, _, _ := run(t, src, "image/jpeg", fit.Options{})
	if res.Width != 300 || res.Height != 200 {
		t.Errorf("derivative is %d×%d, want 300×200", res.Width, res.Height)
	}
	if res.Quality != 100 {
		t.Errorf("quality %d; a small photo fits 5 MB at 100", res.Quality)
	}
}

func TestFitReducesDimensionsWhenTheFloorQualityIsTooLarge(t *testing.T) {
	src := encodeJPEG(t, noisy(640, 480, 2), 95)
	opts := fit.Options{MaxBytes: 12_000, MinQuality: 60}
	res, _, _ := run(t, src, "image/jpeg", opts)
	if res.Bytes > opts.MaxBytes {
		t.Errorf("derivative is %d bytes, over %d", res.Bytes, opts.MaxBytes)
	}
	if res.Width >= 640 || res.Quality < 60 {
		t.Errorf("derivative %d×%d at quality %d: want smaller than 640 px, quality at least 60", res.Width, res.Height, res.Quality)
	}
	if got, want := float64(res.Width)/float64(res.Height), 640.0/480; got < want*0.98 || got > want*1.02 {
		t.Errorf("aspect ratio %.3f, want %.3f", got, want)
	}
}

func TestFitDeterministic(t *testing.T) {
	icc := iccProfile("RGB ", 3000)
	for _, tc := range []struct {
		name string
		opts fit.Options
	}{
		{"search", fit.Options{MaxEdge: 240, MaxBytes: 30_000}},
		{"reduce", fit.Options{MaxBytes: 9_000}},
		{"keep metadata", fit.Options{MaxEdge: 240, MaxBytes: 30_000, KeepMetadata: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := cameraJPEG(t, noisy(360, 260, 3), 6, icc)
			r1, o1, _ := run(t, src, "image/jpeg", tc.opts)
			r2, o2, _ := run(t, bytes.Clone(src), "image/jpeg", tc.opts)
			t.Logf("%d×%d, quality %d", r1.Width, r1.Height, r1.Quality)
			if !bytes.Equal(o1, o2) || r1 != r2 {
				t.Errorf("two runs differ: %+v vs %+v", r1, r2)
			}
		})
	}
}

// corners returns the colours at the four corners of img, a few pixels in.
func corners(img image.Image) [4]color.Color {
	b := img.Bounds()
	const in = 4
	return [4]color.Color{
		img.At(b.Min.X+in, b.Min.Y+in), img.At(b.Max.X-1-in, b.Min.Y+in),
		img.At(b.Min.X+in, b.Max.Y-1-in), img.At(b.Max.X-1-in, b.Max.Y-1-in),
	}
}

// orientations says, from the words of EXIF 2.32 §4.6.5 ("the 0th row is
// the visual top/bottom/left/right of the image, the 0th column the visual
// left/right/top/bottom"), which stored quadrant shows at each displayed
// corner (top-left, top-right, bottom-left, bottom-right) of a photo stored
// with red, green, blue and yellow quadrants.
var orientations = []struct {
	o       uint16
	words   string
	corners [4]color.RGBA
	swapped bool
}{
	{1, "row 0 top, column 0 left", [4]color.RGBA{red, green, blue, yellow}, false},
	{2, "row 0 top, column 0 right", [4]color.RGBA{green, red, yellow, blue}, false},
	{3, "row 0 bottom, column 0 right", [4]color.RGBA{yellow, blue, green, red}, false},
	{4, "row 0 bottom, column 0 left", [4]color.RGBA{blue, yellow, red, green}, false},
	{5, "row 0 left, column 0 top", [4]color.RGBA{red, blue, green, yellow}, true},
	{6, "row 0 right, column 0 top", [4]color.RGBA{blue, red, yellow, green}, true},
	{7, "row 0 right, column 0 bottom", [4]color.RGBA{yellow, green, blue, red}, true},
	{8, "row 0 left, column 0 bottom", [4]color.RGBA{green, yellow, red, blue}, true},
}

func checkOriented(t *testing.T, img image.Image, res fit.Result, want [4]color.RGBA, swapped bool, w, h int) {
	t.Helper()
	if swapped {
		w, h = h, w
	}
	if res.Width != w || res.Height != h || res.SourceWidth != w || res.SourceHeight != h {
		t.Errorf("derivative %d×%d of source %d×%d, want both %d×%d", res.Width, res.Height, res.SourceWidth, res.SourceHeight, w, h)
	}
	got := corners(img)
	for i, name := range []string{"top left", "top right", "bottom left", "bottom right"} {
		if !near(got[i], want[i], 40) {
			t.Errorf("%s is %v, want %v", name, got[i], want[i])
		}
	}
}

func TestFitAppliesEXIFOrientation(t *testing.T) {
	for _, tc := range orientations {
		t.Run(tc.words, func(t *testing.T) {
			src := cameraJPEG(t, quadrants(96, 64, 0), tc.o, nil)
			res, out, img := run(t, src, "image/jpeg", fit.Options{})
			if res.Orientation != int(tc.o) {
				t.Errorf("Result.Orientation = %d, want %d", res.Orientation, tc.o)
			}
			checkOriented(t, img, res, tc.corners, tc.swapped, 96, 64)
			for _, s := range jpegSegments(t, out) {
				if s.marker == 0xE1 {
					t.Errorf("output has an APP1 segment (%.12q); want no EXIF, so no orientation tag", s.payload)
				}
			}
		})
	}
}

func TestFitOrientationAfterScaling(t *testing.T) {
	// The long edge cap applies to the displayed photo: 6 turns 400×200
	// into 200×400, capped to 100×200.
	src := cameraJPEG(t, quadrants(400, 200, 0), 6, nil)
	res, _, img := run(t, src, "image/jpeg", fit.Options{MaxEdge: 200})
	if res.Width != 100 || res.Height != 200 {
		t.Errorf("derivative %d×%d, want 100×200", res.Width, res.Height)
	}
	got := corners(img)
	for i, want := range orientations[5].corners {
		if !near(got[i], want, 40) {
			t.Errorf("corner %d is %v, want %v", i, got[i], want)
		}
	}
}

func TestFitKeepsICCProfileAndDropsEXIF(t *testing.T) {
	icc := iccProfile("RGB ", 150_000) // three APP2 segments in, three out
	src := cameraJPEG(t, quadrants(200, 150, 8), 1, icc)
	res, out, _ := run(t, src, "image/jpeg", fit.Options{})
	segs := jpegSegments(t, out)
	if got := outputICC(t, segs); !bytes.Equal(got, icc) {
		t.Errorf("output profile is %d bytes, differs from the source's %d", len(got), len(icc))
	}
	if !res.ColorProfile {
		t.Error("Result.ColorProfile = false")
	}
	for _, s := range segs {
		switch {
		case s.marker == 0xE1:
			t.Errorf("output has APP1 (%.12q): EXIF (with GPS) must be dropped", s.payload)
		case s.marker >= 0xE0 && s.marker <= 0xEF && s.marker != 0xE2, s.marker == 0xFE:
			t.Errorf("output has marker %#x: only ICC profile segments expected", s.marker)
		}
	}
	if bytes.Contains(out, []byte("TestCam")) || bytes.Contains(out, []byte("Exif\x00")) {
		t.Error("output contains EXIF bytes")
	}
}

func TestFitKeepMetadata(t *testing.T) {
	src := cameraJPEG(t, quadrants(300, 200, 8), 6, nil)
	res, out, _ := run(t, src, "image/jpeg", fit.Options{MaxEdge: 150, KeepMetadata: true})
	var exif []byte
	for _, s := range jpegSegments(t, out) {
		if s.marker == 0xE1 && bytes.HasPrefix(s.payload, []byte("Exif\x00\x00")) {
			exif = s.payload[6:]
		}
	}
	if exif == nil {
		t.Fatal("no EXIF in the output with KeepMetadata")
	}
	bo := binary.BigEndian
	ifd0 := bo.Uint32(exif[4:])
	n := uint32(bo.Uint16(exif[ifd0:]))
	values := map[uint16]uint32{}
	sub := map[uint16]uint32{}
	for i := range n {
		e := exif[ifd0+2+12*i:]
		values[bo.Uint16(e)] = bo.Uint32(e[8:])
		if bo.Uint16(e) == tagOrientation {
			values[tagOrientation] = uint32(bo.Uint16(e[8:]))
		}
	}
	if got := values[tagOrientation]; got != 1 {
		t.Errorf("orientation %d, want 1", got)
	}
	if _, ok := values[tagGPSIFD]; !ok {
		t.Error("GPS IFD pointer dropped; KeepMetadata keeps the EXIF block whole")
	}
	if next := bo.Uint32(exif[ifd0+2+12*n:]); next != 0 {
		t.Errorf("IFD1 (thumbnail of the unturned original) still linked at %d", next)
	}
	e := values[tagExifIFD]
	for i := range uint32(bo.Uint16(exif[e:])) {
		p := exif[e+2+12*i:]
		switch bo.Uint16(p[2:]) {
		case 3:
			sub[bo.Uint16(p)] = uint32(bo.Uint16(p[8:]))
		default:
			sub[bo.Uint16(p)] = bo.Uint32(p[8:])
		}
	}
	if sub[tagPixelX] != uint32(res.Width) || sub[tagPixelY] != uint32(res.Height) {
		t.Errorf("PixelXDimension×PixelYDimension %d×%d, want %d×%d", sub[tagPixelX], sub[tagPixelY], res.Width, res.Height)
	}
}

func TestFitPNGWithICCAndTransparency(t *testing.T) {
	icc := iccProfile("RGB ", 4000)
	img := image.NewNRGBA(image.Rect(0, 0, 120, 80))
	for y := range 80 {
		for x := range 120 {
			if x < 60 {
				img.SetNRGBA(x, y, color.NRGBA{0, 0, 200, 255})
			} // the right half stays transparent
		}
	}
	res, out, dec := run(t, pngWithICC(t, img, icc), "image/png", fit.Options{})
	if got := outputICC(t, jpegSegments(t, out)); !bytes.Equal(got, icc) {
		t.Errorf("profile from iCCP not kept: %d bytes, want %d", len(got), len(icc))
	}
	if res.Width != 120 || res.Height != 80 {
		t.Errorf("%d×%d, want 120×80", res.Width, res.Height)
	}
	if c := dec.At(100, 40); !near(c, color.RGBA{255, 255, 255, 255}, 6) {
		t.Errorf("transparent area is %v, want white", c)
	}
	if c := dec.At(20, 40); !near(c, color.RGBA{0, 0, 200, 255}, 12) {
		t.Errorf("opaque area is %v, want blue", c)
	}
}

func TestFitPNGOrientationFromEXIF(t *testing.T) {
	exif := alttexttest.PNGChunk("eXIf", cameraEXIF(binary.LittleEndian, 3, 80, 60))
	src := alttexttest.InsertPNG(encodePNG(t, quadrants(80, 60, 0)), exif)
	res, _, img := run(t, src, "image/png", fit.Options{})
	checkOriented(t, img, res, orientations[2].corners, false, 80, 60)
}

func TestFitTIFF(t *testing.T) {
	icc := iccProfile("RGB ", 2000)
	src := rgbTIFF(quadrants(160, 100, 8), 8, icc)
	res, out, img := run(t, src, "image/tiff", fit.Options{})
	checkOriented(t, img, res, orientations[7].corners, true, 160, 100)
	if got := outputICC(t, jpegSegments(t, out)); !bytes.Equal(got, icc) {
		t.Errorf("profile from TIFF tag 34675 not kept: %d bytes, want %d", len(got), len(icc))
	}
}

func TestFitWebP(t *testing.T) {
	icc := iccProfile("RGB ", 1000)
	c := color.RGBA{30, 140, 90, 255}
	res, out, img := run(t, uniformWebP(90, 40, c, 6, icc), "image/webp", fit.Options{})
	if res.Width != 40 || res.Height != 90 {
		t.Errorf("%d×%d, want 40×90 (orientation 6 from the EXIF chunk)", res.Width, res.Height)
	}
	if got := img.At(20, 45); !near(got, c, 6) {
		t.Errorf("colour %v, want %v", got, c)
	}
	if got := outputICC(t, jpegSegments(t, out)); !bytes.Equal(got, icc) {
		t.Errorf("profile from the ICCP chunk not kept: %d bytes, want %d", len(got), len(icc))
	}
}

func TestFitBMP(t *testing.T) {
	var b bytes.Buffer
	if err := bmp.Encode(&b, quadrants(64, 48, 0)); err != nil {
		t.Fatal(err)
	}
	res, _, img := run(t, b.Bytes(), "image/bmp", fit.Options{})
	checkOriented(t, img, res, orientations[0].corners, false, 64, 48)
}

func TestFitGrayscale(t *testing.T) {
	gray := image.NewGray(image.Rect(0, 0, 200, 100))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i % 251)
	}
	for _, tc := range []struct {
		space string
		kept  bool
	}{{"GRAY", true}, {"RGB ", false}} {
		t.Run(tc.space, func(t *testing.T) {
			icc := iccProfile(tc.space, 500)
			src := cameraJPEG(t, gray, 1, icc)
			res, out, img := run(t, src, "image/jpeg", fit.Options{MaxEdge: 100})
			if _, ok := img.(*image.Gray); !ok {
				t.Errorf("output decodes as %T, want a one-component JPEG", img)
			}
			got := outputICC(t, jpegSegments(t, out))
			if tc.kept != bytes.Equal(got, icc) || res.ColorProfile != tc.kept {
				t.Errorf("%s profile on a grayscale photo: kept %v (%d bytes), want kept %v", tc.space, res.ColorProfile, len(got), tc.kept)
			}
		})
	}
}

func TestFitRefusesBombBeforeDecoding(t *testing.T) {
	// A PNG header claiming 20,000 × 20,000 pixels (1.6 GB decoded) and
	// nothing behind it.
	ihdr := binary.BigEndian.AppendUint32(nil, 20000)
	ihdr = binary.BigEndian.AppendUint32(ihdr, 20000)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	bomb := append([]byte("\x89PNG\r\n\x1a\n"), alttexttest.PNGChunk("IHDR", ihdr)...)
	bomb = append(bomb, alttexttest.PNGChunk("IDAT", []byte{0x78, 0x9c})...)
	_, err := fit.Fit(t.Context(), bytes.NewReader(bomb), int64(len(bomb)), "image/png", io.Discard, fit.Options{})
	if !errors.Is(err, fit.ErrCannotFit) || !strings.Contains(err.Error(), "400 megapixels") {
		t.Errorf("Fit(400 MP header) = %v, want ErrCannotFit naming 400 megapixels", err)
	}

	// A real photo over a lower limit is refused having read only its
	// header, not its image data.
	src := encodeJPEG(t, noisy(1000, 1000, 4), 95)
	r := &countingReader{r: bytes.NewReader(src)}
	_, err = fit.Fit(t.Context(), r, int64(len(src)), "image/jpeg", io.Discard, fit.Options{MaxPixels: 999_999})
	if !errors.Is(err, fit.ErrCannotFit) {
		t.Fatalf("Fit(1 MP over 999,999 pixels) = %v, want ErrCannotFit", err)
	}
	if r.max >= int64(len(src))/2 {
		t.Errorf("read up to byte %d of %d before refusing", r.max, len(src))
	}
}

type countingReader struct {
	r   io.ReaderAt
	max int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	c.max = max(c.max, off+int64(n))
	return n, err
}

func TestFitCancel(t *testing.T) {
	src := encodeJPEG(t, noisy(400, 300, 5), 90)
	t.Run("before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var out bytes.Buffer
		_, err := fit.Fit(ctx, bytes.NewReader(src), int64(len(src)), "image/jpeg", &out, fit.Options{})
		if err != context.Canceled || out.Len() != 0 {
			t.Errorf("Fit = %v with %d bytes written, want context.Canceled and nothing", err, out.Len())
		}
	})
	// Cancelled while the image data is read, and once all of it is read
	// (the scaling or the encoding notices).
	for _, at := range []int64{int64(len(src)) / 2, int64(len(src))} {
		ctx, cancel := context.WithCancel(t.Context())
		r := &cancelAt{r: bytes.NewReader(src), at: at, cancel: cancel}
		var out bytes.Buffer
		_, err := fit.Fit(ctx, r, int64(len(src)), "image/jpeg", &out, fit.Options{MaxEdge: 200})
		if err != context.Canceled || out.Len() != 0 {
			t.Errorf("cancelled at byte %d: Fit = %v with %d bytes written, want context.Canceled and nothing", at, err, out.Len())
		}
		cancel()
	}
}

// cancelAt cancels once a read reaches byte at.
type cancelAt struct {
	r      io.ReaderAt
	at     int64
	cancel context.CancelFunc
}

func (c *cancelAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.r.ReadAt(p, off)
	if off+int64(n) >= c.at {
		c.cancel()
	}
	return n, err
}

func TestFitErrors(t *testing.T) {
	jpg := encodeJPEG(t, quadrants(64, 64, 0), 90)
	png := encodePNG(t, quadrants(64, 64, 0))
	for _, tc := range []struct {
		name      string
		data      []byte
		mediaType string
		opts      fit.Options
		is        error
		says      string
	}{
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"), "image/heic", fit.Options{}, fit.ErrUndecodable, "export the photo as JPEG"},
		{"avif", []byte("\x00\x00\x00\x18ftypavif"), "image/avif", fit.Options{}, fit.ErrUndecodable, "AVIF"},
		{"video", []byte("\x00\x00\x00\x18ftypisom"), "video/mp4", fit.Options{}, fit.ErrUndecodable, "not a photo type"},
		{"type and content differ", png, "image/jpeg", fit.Options{}, fit.ErrUndecodable, "not the JPEG file its type says"},
		{"unknown content", []byte("GIF89a......"), "", fit.Options{}, fit.ErrUndecodable, "not a JPEG, PNG, TIFF, WebP or BMP"},
		{"cut short", jpg[:len(jpg)/2], "image/jpeg", fit.Options{}, fit.ErrUndecodable, "cut short"},
		{"damaged", badDQT(jpg), "image/jpeg", fit.Options{}, fit.ErrUndecodable, "damaged"},
		{"profile too large", cameraJPEG(t, quadrants(64, 64, 0), 1, iccProfile("RGB ", 20_000)), "image/jpeg", fit.Options{MaxBytes: 15_000}, fit.ErrCannotFit, "colour profile"},
		{"cannot fit", jpg, "image/jpeg", fit.Options{MaxBytes: 300}, fit.ErrCannotFit, "even at"},
		{"bad options", jpg, "image/jpeg", fit.Options{MinQuality: 101, MaxEdge: -1}, nil, "min quality 101"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			_, err := fit.Fit(t.Context(), bytes.NewReader(tc.data), int64(len(tc.data)), tc.mediaType, &out, tc.opts)
			if err == nil || (tc.is != nil && !errors.Is(err, tc.is)) || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("Fit = %v, want an error wrapping %v saying %q", err, tc.is, tc.says)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes on error", out.Len())
			}
		})
	}
}

// badDQT returns jpg with the precision of its first quantization table set
// to 7, which no JPEG has (ITU T.81 B.2.4.1: 0 or 1).
func badDQT(jpg []byte) []byte {
	b := bytes.Clone(jpg)
	i := bytes.Index(b, []byte{0xFF, 0xDB})
	b[i+4] = 0x70
	return b
}

func TestFitReadErrorIsNotUndecodable(t *testing.T) {
	src := encodeJPEG(t, noisy(300, 200, 6), 90)
	broken := errors.New("stale NFS file handle")
	r := &failAt{r: bytes.NewReader(src), at: int64(len(src)) / 2, err: broken}
	_, err := fit.Fit(t.Context(), r, int64(len(src)), "image/jpeg", io.Discard, fit.Options{})
	if !errors.Is(err, broken) || errors.Is(err, fit.ErrUndecodable) {
		t.Errorf("Fit = %v, want the read error, not ErrUndecodable", err)
	}
}

type failAt struct {
	r   io.ReaderAt
	at  int64
	err error
}

func (f *failAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		n, _ := f.r.ReadAt(p[:max(0, f.at-off)], off)
		return n, f.err
	}
	return f.r.ReadAt(p, off)
}

func TestFitWriteError(t *testing.T) {
	src := encodeJPEG(t, quadrants(64, 64, 0), 90)
	broken := errors.New("disk full")
	_, err := fit.Fit(t.Context(), bytes.NewReader(src), int64(len(src)), "image/jpeg", errWriter{broken}, fit.Options{})
	if !errors.Is(err, broken) {
		t.Errorf("Fit = %v, want the write error", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }
