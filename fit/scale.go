package fit

import (
	"context"
	"image"
	"runtime"

	"golang.org/x/image/draw"
)

// band is how many destination rows (first pass) or columns (second pass)
// one call to the scaler computes. The scaler holds its intermediate result
// as four float64 per pixel for the whole call: one call over a 45-megapixel
// photo would take 720 MB, a band of 64 rows at most 4096 × 64 × 32 bytes =
// 8 MiB. One scaler serves every full band, reusing its weights and its
// buffer (through its pool); the last, shorter band gets a buffer of its
// own.
const band = 64

// bigFrame is the pixel count from which a dropped source is collected at
// once (4 megapixels: 6 to 16 MB decoded).
const bigFrame = 4 << 20

// resize returns src scaled to dw×dh with the Catmull-Rom kernel, as an
// *image.Gray if src is grayscale, else as an *image.RGBA composited over
// white (JPEG has no transparency). Nothing is enlarged here: dw×dh is
// never larger than src.
//
// The scaling is separable and done in two passes so that memory stays
// bounded: first horizontally, in bands of rows, into a frame of dw × sh;
// then src is let go and the second pass scales that frame vertically, in
// bands of columns, into the result. Within a pass the other axis is not
// scaled, and a Catmull-Rom kernel at scale 1 weighs only the pixel itself
// (its value is 0 at ±1 and ±2), so the bands join without seams and the
// result is what one call over the whole image gives, but for the rounding
// of the first pass to 8 bits.
//
// Catmull-Rom rather than ApproxBiLinear: on a zone plate shrunk 2.0× and
// 3.0×, ApproxBiLinear leaves 59 and 86 (RMS, of 255) of moiré where the
// pattern is finer than the new pixels, Catmull-Rom 17 and 10
// (TestResizeDoesNotAlias). It is five times slower (for 45 MP, 2.5 s of CPU
// against 0.5 s), about half of what Fit takes; moiré on fabric and
// brickwork is not a trade a photographer would make for it.
func resize(ctx context.Context, src image.Image, dw, dh int) (image.Image, error) {
	mid, err := scaleRows(ctx, src, dw)
	if err != nil {
		return nil, err
	}
	// src is dead here (Go's collector does not keep a variable that is not
	// used again), but the collector, paced at twice the live heap, would
	// keep a large one until the next frame is made. Collecting now lets it
	// go: at 45 MP the peak heap falls from 228 to 159 MiB. The frames hold
	// no pointers, so the collection is quick.
	if mid != src && src.Bounds().Dx()*src.Bounds().Dy() >= bigFrame {
		runtime.GC()
	}
	dst, err := scaleColumns(ctx, mid, dh)
	if err != nil {
		return nil, err
	}
	return frameOf(dst), nil
}

// scaleRows returns src scaled horizontally to width dw (src itself if it
// is that wide already).
func scaleRows(ctx context.Context, src image.Image, dw int) (image.Image, error) {
	sb := src.Bounds()
	sh := sb.Dy()
	if sb.Dx() == dw {
		return src, nil
	}
	m := newFrame(isGray(src), dw, sh)
	sc := draw.CatmullRom.NewScaler(dw, band, sb.Dx(), band)
	for y := 0; y < sh; y += band {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		y1 := min(y+band, sh)
		sc.Scale(m, image.Rect(0, y, dw, y1), src, image.Rect(sb.Min.X, sb.Min.Y+y, sb.Max.X, sb.Min.Y+y1), draw.Src, nil)
	}
	return m, nil
}

// scaleColumns returns src scaled vertically to height dh (src itself if it
// is that high already).
func scaleColumns(ctx context.Context, src image.Image, dh int) (image.Image, error) {
	sb := src.Bounds()
	sw := sb.Dx()
	if sb.Dy() == dh {
		return src, nil
	}
	m := newFrame(isGray(src), sw, dh)
	sc := draw.CatmullRom.NewScaler(band, dh, band, sb.Dy())
	for x := 0; x < sw; x += band {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x1 := min(x+band, sw)
		sc.Scale(m, image.Rect(x, 0, x1, dh), src, image.Rect(sb.Min.X+x, sb.Min.Y, sb.Min.X+x1, sb.Max.Y), draw.Src, nil)
	}
	return m, nil
}

// isGray reports whether img has no colour: the derivative is then a
// one-component JPEG, a third of the size, and a GRAY profile stays valid.
func isGray(img image.Image) bool {
	switch img.(type) {
	case *image.Gray, *image.Gray16:
		return true
	}
	return false
}

func newFrame(gray bool, w, h int) draw.Image {
	if gray {
		return image.NewGray(image.Rect(0, 0, w, h))
	}
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// frameOf returns img as what Fit encodes: an *image.Gray for grayscale, an
// opaque *image.RGBA otherwise (converted if need be, then composited over
// white in place), each with its origin at 0,0.
func frameOf(img image.Image) image.Image {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		if b.Min == (image.Point{}) {
			return m
		}
	case *image.RGBA:
		if b.Min == (image.Point{}) {
			flatten(m)
			return m
		}
	}
	dst := newFrame(isGray(img), b.Dx(), b.Dy())
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	if m, ok := dst.(*image.RGBA); ok {
		flatten(m)
	}
	return dst
}

// flatten composites the premultiplied pixels of m over white and makes
// them opaque: c + (1-α)·white.
func flatten(m *image.RGBA) {
	for i := 0; i+3 < len(m.Pix); i += 4 {
		a := m.Pix[i+3]
		if a == 0xFF {
			continue
		}
		t := 0xFF - a
		m.Pix[i] += t
		m.Pix[i+1] += t
		m.Pix[i+2] += t
		m.Pix[i+3] = 0xFF
	}
}

// orient returns frame (an *image.RGBA or *image.Gray from frameOf) turned
// by EXIF orientation o, so that it displays upright with no tag. The
// orientation says where the stored rows and columns belong (EXIF 2.32,
// 4.6.5 Orientation; TIFF 6.0, tag 274):
//
//	1 row 0 top,    column 0 left     (as stored)
//	2 row 0 top,    column 0 right    (mirrored left to right)
//	3 row 0 bottom, column 0 right    (turned 180°)
//	4 row 0 bottom, column 0 left     (mirrored top to bottom)
//	5 row 0 left,   column 0 top      (transposed)
//	6 row 0 right,  column 0 top      (turned 90° clockwise to display)
//	7 row 0 right,  column 0 bottom   (transversed)
//	8 row 0 left,   column 0 bottom   (turned 90° anticlockwise to display)
//
// A turned frame is a new one; the caller drops the old.
func orient(frame image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return frame
	}
	b := frame.Bounds()
	w, h := b.Dx(), b.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	switch m := frame.(type) {
	case *image.RGBA:
		out := image.NewRGBA(image.Rect(0, 0, ow, oh))
		turn(out.Pix, out.Stride, m.Pix, m.Stride, w, h, 4, o)
		return out
	case *image.Gray:
		out := image.NewGray(image.Rect(0, 0, ow, oh))
		turn(out.Pix, out.Stride, m.Pix, m.Stride, w, h, 1, o)
		return out
	}
	return frame
}

// turn fills dst (the displayed image, bpp bytes per pixel) from src (w×h
// as stored). The stored pixel (sx, sy) shown at (x, y) is an affine
// function of x and y, so the source offset moves by a fixed step along a
// row of dst and from one row to the next.
func turn(dst []byte, dstStride int, src []byte, srcStride, w, h, bpp, o int) {
	// sx = x0 + ax·x + bx·y, sy = y0 + ay·x + by·y
	var x0, ax, bx, y0, ay, by int
	switch o {
	case 2:
		x0, ax, by = w-1, -1, 1
	case 3:
		x0, ax, y0, by = w-1, -1, h-1, -1
	case 4:
		ax, y0, by = 1, h-1, -1
	case 5:
		bx, ay = 1, 1
	case 6:
		bx, y0, ay = 1, h-1, -1
	case 7:
		x0, bx, y0, ay = w-1, -1, h-1, -1
	case 8:
		x0, bx, ay = w-1, -1, 1
	}
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	stepX := ax*bpp + ay*srcStride // source step along a row of dst
	stepY := bx*bpp + by*srcStride // source step from one row of dst to the next
	row := x0*bpp + y0*srcStride
	for y := range oh {
		d := y * dstStride
		s := row
		if bpp == 4 {
			for range ow {
				copy(dst[d:d+4], src[s:s+4])
				d += 4
				s += stepX
			}
		} else {
			for range ow {
				dst[d] = src[s]
				d++
				s += stepX
			}
		}
		row += stepY
	}
}
