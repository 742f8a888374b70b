package alttext

import (
	"bytes"
	"errors"
	"io"
)

// Bounds on what is read from a media file (see the package comment).
const (
	maxBlock   = 1 << 20 // an XMP, IPTC or EXIF block, or decompressed text
	maxSteps   = 1 << 18 // segments or chunks walked in one file
	maxInflate = 4 << 20 // decompressed bytes, all chunks of one file together
)

// errMalformed marks metadata that ends early or contradicts itself. It never
// leaves the package: the block is treated as absent.
var errMalformed = errors.New("malformed metadata")

// blocks holds the raw metadata found in a file, before preference is applied.
type blocks struct {
	xmp     []byte // an XMP packet
	iptc    []byte // IPTC IIM datasets
	exif    []byte // a TIFF structure (byte order mark, IFD0, ...)
	pngText string // a PNG Description text, decoded

	xmpSeen  bool // a PNG XMP chunk was met (the first is the only one tried)
	inflated int  // bytes decompressed so far, at most maxInflate
}

// Embedded returns the caption embedded in the JPEG, PNG or WebP file read
// from r (size bytes long) and where it came from, in the order of preference
// of the package comment; "" for other formats or when there is none. The text
// is cleaned as by [Normalize] but not cut to [MaxLen] (it is at most 1 MiB).
// Malformed metadata is treated as absent; the error is only for a failure to
// read r.
func Embedded(r io.ReaderAt, size int64) (string, Source, error) {
	head, err := readAt(r, size, 0, 12)
	if err != nil {
		return "", "", ignoreMalformed(err)
	}
	var b blocks
	switch {
	case head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		b, err = scanJPEG(r, size)
	case bytes.Equal(head[:8], pngMagic):
		b, err = scanPNG(r, size)
	case string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		b, err = scanWebP(r, size)
	default:
		return "", "", nil
	}
	if err != nil {
		return "", "", err
	}
	text, src := b.pick()
	return text, src, nil
}

// pick applies the order of preference to what a file holds.
func (b *blocks) pick() (string, Source) {
	if b.xmp != nil {
		alt, desc := xmpTexts(b.xmp)
		if t := usable(alt); t != "" {
			return t, XMP
		}
		if t := usable(desc); t != "" {
			return t, XMP
		}
	}
	if b.iptc != nil {
		if t := usable(iptcCaption(b.iptc)); t != "" {
			return t, IPTC
		}
	}
	if t := usable(b.pngText); t != "" {
		return t, PNGText
	}
	if b.exif != nil {
		if t := usable(exifDescription(b.exif)); t != "" {
			return t, EXIF
		}
	}
	return "", ""
}

// usable cleans s and rejects camera placeholders.
func usable(s string) string {
	s = clean(s)
	if isPlaceholder(s) {
		return ""
	}
	return s
}

// readAt reads exactly n bytes at off. A range outside the file, or a file
// that ends early, is errMalformed; any other failure is returned as is.
func readAt(r io.ReaderAt, size, off int64, n int) ([]byte, error) {
	if off < 0 || n < 0 || off > size || int64(n) > size-off {
		return nil, errMalformed
	}
	p := make([]byte, n)
	m, err := r.ReadAt(p, off)
	if m == n {
		return p, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, errMalformed
	}
	return nil, err
}

// ignoreMalformed drops errMalformed: the scan stops with what it found.
func ignoreMalformed(err error) error {
	if errors.Is(err, errMalformed) {
		return nil
	}
	return err
}
