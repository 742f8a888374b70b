package fit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"

	"github.com/mediasync/mediasync/internal/human"
)

// Defaults for the zero values of [Options].
const (
	// DefaultMaxEdge is the long edge of a derivative, in pixels (issue 13).
	DefaultMaxEdge = 4096
	// DefaultMaxBytes is X's limit for a photo, 5 MB, which X counts in
	// MiB (API.md §1.7; the same number as uploader.MaxImageSize).
	DefaultMaxBytes = 5 << 20
	// DefaultMinQuality is the lowest JPEG quality tried before the
	// dimensions are reduced further: below 60 the 8×8 blocks of JPEG show
	// in skies and skin.
	DefaultMinQuality = 60
	// DefaultMaxPixels is the largest photo, by its header, that is decoded:
	// 200 megapixels is above every camera made (the largest medium format
	// backs take 150) and below what a small NAS can hold in memory.
	DefaultMaxPixels = 200_000_000
)

// minEdge is the smallest long edge Fit reduces a photo to before giving up.
const minEdge = 64

// maxJPEGEdge is the largest side a JPEG can have (its header has 16 bits).
const maxJPEGEdge = 65535

// maxQuality is the highest JPEG quality tried: the search takes the
// highest quality that fits, so a photo that fits at 100 gets 100.
const maxQuality = 100

// Options say what a derivative may be. The zero value gives the defaults.
type Options struct {
	// MaxEdge caps the long edge of the derivative, in pixels. 0 means
	// DefaultMaxEdge. A photo smaller than this is not enlarged.
	MaxEdge int
	// MaxBytes is the most the derivative may weigh, the limit of its media
	// category (uploader.MaxImageSize for tweet_image and dm_image). 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// KeepMetadata keeps the source's EXIF block (camera, lens, exposure,
	// date, copyright, and GPS position if the source has one) in the
	// derivative, with its orientation set to 1 (the pixels are already
	// turned), its pixel dimensions updated and its thumbnail dropped. It
	// is false by default: the derivative then carries no metadata but its
	// colour profile, so a photo posted from home does not publish where
	// home is. The config key fit_strip_metadata (default true) is its
	// negation. XMP and IPTC blocks are never kept: XMP repeats the
	// orientation and GPS in a form that would have to be rewritten too.
	KeepMetadata bool
	// MinQuality is the lowest JPEG quality (1–100) tried before the
	// dimensions are reduced further. 0 means DefaultMinQuality.
	MinQuality int
	// MaxPixels refuses a photo whose header says it has more pixels than
	// this, before anything is decoded (a decompression bomb: a few
	// kilobytes of PNG can claim 50,000×50,000 pixels, 10 GB decoded).
	// 0 means DefaultMaxPixels.
	MaxPixels int
}

// withDefaults returns o with its zero values replaced by the defaults, or
// an error naming a value that is out of range (never clamped silently).
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if o.MaxEdge < 0 {
		errs = append(errs, fmt.Errorf("max edge %d is negative", o.MaxEdge))
	} else if o.MaxEdge == 0 {
		o.MaxEdge = DefaultMaxEdge
	} else if o.MaxEdge < minEdge || o.MaxEdge > maxJPEGEdge {
		errs = append(errs, fmt.Errorf("max edge %d is not between %d and %d pixels", o.MaxEdge, minEdge, maxJPEGEdge))
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max bytes %d is negative", o.MaxBytes))
	} else if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MinQuality < 0 || o.MinQuality > maxQuality {
		errs = append(errs, fmt.Errorf("min quality %d is not between 1 and 100", o.MinQuality))
	} else if o.MinQuality == 0 {
		o.MinQuality = DefaultMinQuality
	}
	if o.MaxPixels < 0 {
		errs = append(errs, fmt.Errorf("max pixels %d is negative", o.MaxPixels))
	} else if o.MaxPixels == 0 {
		o.MaxPixels = DefaultMaxPixels
	}
	if err := errors.Join(errs...); err != nil {
		return o, fmt.Errorf("fit options: %w", err)
	}
	return o, nil
}

// Result describes a derivative Fit wrote.
type Result struct {
	// Width and Height are the derivative's, as displayed (there is no
	// orientation tag left to turn it).
	Width, Height int
	// Bytes is its size and SHA256 the hex SHA-256 of its bytes.
	Bytes  int64
	SHA256 string
	// Quality is the JPEG quality it was encoded at.
	Quality int
	// SourceWidth and SourceHeight are the source's, as displayed (after
	// its orientation).
	SourceWidth, SourceHeight int
	// Orientation is the EXIF orientation (1–8) that was applied to the
	// pixels; 1 when the source had none.
	Orientation int
	// ColorProfile is true when the source's ICC profile was carried over.
	ColorProfile bool
}

// Errors for a photo Fit will not turn into a derivative. The error Fit
// returns wraps one of them and goes on to say why, and what the
// photographer can do, in a sentence.
var (
	// ErrUndecodable: the photo cannot be read here (a type mediasync has
	// no decoder for, such as HEIC, a damaged file, or a codec variant the
	// decoder lacks, such as JPEG-compressed TIFF).
	ErrUndecodable = errors.New("mediasync cannot read this photo")
	// ErrCannotFit: the photo can be read but no derivative is made: its
	// header claims more pixels than Options.MaxPixels, or not even a
	// 64-pixel JPEG at the lowest quality fits Options.MaxBytes.
	ErrCannotFit = errors.New("mediasync cannot fit this photo to X's limits")
)

// Fit writes to dst a JPEG derivative of the photo in src (size bytes, of
// MIME type mediaType as detected from its content; "" detects it here)
// that fits opts, and describes it. See the package documentation for what
// the derivative is. Nothing is written to dst unless Fit succeeds, and then
// the whole derivative is written with one call.
//
// The error wraps [ErrUndecodable] or [ErrCannotFit] when the photo itself
// is the reason; it is ctx.Err() itself on cancellation; an error reading
// src or writing dst says so and wraps the cause.
func Fit(ctx context.Context, src io.ReaderAt, size int64, mediaType string, dst io.Writer, opts Options) (Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	in := &source{ctx: ctx, r: src, size: size}
	f, err := in.format(mediaType)
	if err != nil {
		return Result{}, err
	}
	cfg, err := in.decodeConfig(f)
	if err != nil {
		return Result{}, err
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(opts.MaxPixels) {
		return Result{}, fmt.Errorf("%w: it is %s (%d×%d pixels), more than the %s mediasync decodes; export a smaller version",
			ErrCannotFit, megapixels(int64(cfg.Width)*int64(cfg.Height)), cfg.Width, cfg.Height, megapixels(int64(opts.MaxPixels)))
	}
	md, err := in.metadata(f)
	if err != nil {
		return Result{}, err
	}
	if cfg.Width*cfg.Height >= bigFrame {
		// Fits run back to back: without this, the frames of the last one,
		// not yet collected, add to this one's peak (at 45 MP, 244 MiB
		// instead of 163).
		runtime.GC()
	}
	img, err := in.decode(f)
	if err != nil {
		return Result{}, err
	}
	sw, sh := img.Bounds().Dx(), img.Bounds().Dy()
	if sw != cfg.Width || sh != cfg.Height {
		return Result{}, fmt.Errorf("%w: its %s header says %d×%d pixels but its image is %d×%d", ErrUndecodable, f.name, cfg.Width, cfg.Height, sw, sh)
	}

	// Frame one is img. resize scales it horizontally into frame two, lets
	// it go (img is not used again) and scales frame two vertically into
	// frame three; orient turns that into a fourth and lets it go.
	dw, dh := fitEdge(sw, sh, opts.MaxEdge)
	frame, err := resize(ctx, img, dw, dh)
	if err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	frame = orient(frame, md.orientation)

	res := Result{SourceWidth: sw, SourceHeight: sh, Orientation: md.orientation}
	if md.orientation >= 5 {
		res.SourceWidth, res.SourceHeight = sh, sw
	}
	_, gray := frame.(*image.Gray)
	icc := md.iccFor(gray)
	res.ColorProfile = icc != nil
	for {
		b := frame.Bounds()
		var exif []byte
		if opts.KeepMetadata {
			exif = keptEXIF(md.exif, b.Dx(), b.Dy())
		}
		head := segments(exif, icc)
		budget := opts.MaxBytes - int64(len(head))
		if budget <= 0 {
			return Result{}, fmt.Errorf("%w: its colour profile and metadata alone take %s of the %s allowed", ErrCannotFit, human.Bytes(int64(len(head))), human.Bytes(opts.MaxBytes))
		}
		q, data, smallest, err := search(ctx, frame, budget, opts.MinQuality)
		if err != nil {
			return Result{}, err
		}
		if data != nil {
			res.Width, res.Height, res.Quality = b.Dx(), b.Dy(), q
			return finish(dst, head, data, res)
		}
		long := max(b.Dx(), b.Dy())
		next := smallerEdge(long, smallest, budget)
		if next < minEdge {
			return Result{}, fmt.Errorf("%w: even at %d pixels and JPEG quality %d it takes %s, more than %s", ErrCannotFit, long, opts.MinQuality, human.Bytes(smallest+int64(len(head))), human.Bytes(opts.MaxBytes))
		}
		w, h := fitEdge(b.Dx(), b.Dy(), next)
		if frame, err = resize(ctx, frame, w, h); err != nil {
			return Result{}, err
		}
	}
}

// finish writes the derivative, SOI, then the metadata segments, then the
// rest of the encoded JPEG, in one Write, and completes res.
func finish(dst io.Writer, head, data []byte, res Result) (Result, error) {
	out := make([]byte, 0, len(data)+len(head))
	out = append(out, data[:2]...) // SOI
	out = append(out, head...)
	out = append(out, data[2:]...)
	sum := sha256.Sum256(out)
	if _, err := dst.Write(out); err != nil {
		return Result{}, fmt.Errorf("write derivative: %w", err)
	}
	res.Bytes = int64(len(out))
	res.SHA256 = hex.EncodeToString(sum[:])
	return res, nil
}

// fitEdge returns w×h scaled so that its long edge is at most edge, keeping
// the aspect ratio (each side rounded, at least 1); never enlarged.
func fitEdge(w, h, edge int) (int, int) {
	long := max(w, h)
	if long <= edge {
		return w, h
	}
	scale := func(n int) int { return max(1, int((int64(n)*int64(edge)+int64(long)/2)/int64(long))) }
	return scale(w), scale(h)
}

// smallerEdge returns the long edge to try after a frame with long edge
// long took smallest bytes at the lowest quality, over budget: the encoded
// size goes with the pixel count, so the edge shrinks by the square root of
// the ratio, with a 10% margin, and at least by 10% so that the loop ends.
func smallerEdge(long int, smallest, budget int64) int {
	ratio := float64(budget) / float64(smallest)
	next := int(float64(long) * math.Sqrt(ratio) * 0.9)
	return min(next, long*9/10)
}

// megapixels says n pixels in megapixels, as cameras are sold: "45.7
// megapixels", "200 megapixels".
func megapixels(n int64) string {
	return strconv.FormatFloat(math.Round(float64(n)/1e5)/10, 'f', -1, 64) + " megapixels"
}

// format is one image file format Fit reads.
type format struct {
	name  string // as a photographer knows it: "JPEG", "TIFF"
	magic func(head []byte) bool
}

var (
	formatJPEG = &format{"JPEG", func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }}
	formatPNG  = &format{"PNG", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }}
	formatTIFF = &format{"TIFF", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("II*\x00")) || bytes.HasPrefix(b, []byte("MM\x00*"))
	}}
	formatWebP = &format{"WebP", func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	}}
	formatBMP = &format{"BMP", func(b []byte) bool { return bytes.HasPrefix(b, []byte("BM")) }}
	formats   = []*format{formatJPEG, formatPNG, formatTIFF, formatWebP, formatBMP}
)

// formatOf maps a MIME type to the format Fit reads it with: nil with ok
// true for a photo type it cannot read (the reason is in cannotRead), ok
// false for anything that is not a still photo.
func formatOf(mediaType string) (f *format, ok bool) {
	switch normalize(mediaType) {
	case "image/jpeg":
		return formatJPEG, true
	case "image/png":
		return formatPNG, true
	case "image/tiff":
		return formatTIFF, true
	case "image/webp":
		return formatWebP, true
	case "image/bmp":
		return formatBMP, true
	case "image/heic", "image/heif", "image/avif":
		return nil, true
	}
	return nil, false
}

// normalize lower-cases a MIME type, drops its parameters and maps the
// aliases mimetype and browsers use to one name.
func normalize(mediaType string) string {
	t, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(mediaType)), ";")
	t = strings.TrimSpace(t)
	switch t {
	case "image/jpg", "image/pjpeg":
		return "image/jpeg"
	case "image/apng":
		return "image/png"
	case "image/x-ms-bmp":
		return "image/bmp"
	case "image/heic-sequence":
		return "image/heic"
	case "image/heif-sequence":
		return "image/heif"
	}
	return t
}

// cannotRead says why a photo type Fit knows of but cannot decode is not
// converted, and what to do instead. HEIC and HEIF need an HEVC decoder
// and AVIF an AV1 decoder; no pure-Go one exists. The CGo-free
// github.com/gen2brain/heic runs libheif and libde265 (C) compiled to
// WebAssembly, or the system's libheif through purego when one is
// installed; that is C code parsing untrusted files plus a WebAssembly
// runtime in every mediasync binary, which this package does not take on.
func cannotRead(mediaType string) string {
	kind := "HEIC"
	if normalize(mediaType) == "image/avif" {
		kind = "AVIF"
	}
	return fmt.Sprintf("mediasync cannot convert %s photos and X does not take them; export the photo as JPEG "+
		"(on an iPhone: Settings › Camera › Formats › Most Compatible; on a Mac: File › Export in Photos or Preview; "+
		"in Lightroom: Export with Image Format JPEG)", kind)
}
