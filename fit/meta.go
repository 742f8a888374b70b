package fit

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Bounds on the work spent on metadata, which comes from anyone who can
// write to a watched folder.
const (
	maxSteps = 1 << 16 // JPEG segments, PNG or RIFF chunks walked in one file
	// iccChunk is the most profile bytes one APP2 segment holds: 65,535
	// less the length field and the 14-byte "ICC_PROFILE\0", seq, count.
	iccChunk = 65535 - 2 - 14
	// maxICC is the largest profile JPEG can carry (255 segments): larger
	// ones (from PNG, TIFF or WebP) could not be written, and count as absent.
	maxICC = 255 * iccChunk
	// maxEXIF is the largest EXIF block one APP1 segment holds (65,535 less
	// the length field and "Exif\0\0"); a larger one is not kept. A larger
	// block is still read this far for its orientation, which is in IFD0 at
	// its start.
	maxEXIF = 65535 - 2 - 6
)

var (
	exifPrefix = []byte("Exif\x00\x00")
	iccPrefix  = []byte("ICC_PROFILE\x00")
)

// errMalformed ends a metadata walk that ran past the end of the file: the
// walk keeps what it found.
var errMalformed = errors.New("malformed metadata")

// metadata is what Fit carries from the source to the derivative.
type metadata struct {
	orientation int    // EXIF or TIFF orientation, 1–8 (1 if absent or invalid)
	icc         []byte // the whole ICC profile, nil if absent or malformed
	exif        []byte // the EXIF TIFF structure (no "Exif\0\0"), nil if absent
}

// metadata reads the orientation, ICC profile and EXIF block of the photo.
// Malformed metadata counts as absent; only a read error is an error.
func (s *source) metadata(f *format) (metadata, error) {
	md := metadata{orientation: 1}
	var err error
	switch f {
	case formatJPEG:
		err = s.scanJPEG(&md)
	case formatPNG:
		err = s.scanPNG(&md)
	case formatTIFF:
		err = s.scanTIFF(&md)
	case formatWebP:
		err = s.scanWebP(&md)
	}
	if err != nil && !errors.Is(err, errMalformed) {
		if cerr := s.ctx.Err(); cerr != nil {
			return md, cerr
		}
		return md, fmt.Errorf("read photo metadata: %w", err)
	}
	if md.exif != nil && f != formatTIFF {
		md.orientation = exifOrientation(md.exif)
	}
	return md, nil
}

// read returns n bytes at off, errMalformed if they are not all in the file.
func (s *source) read(off int64, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > s.size || n > s.size-off {
		return nil, errMalformed
	}
	p := make([]byte, n)
	m, err := s.ReadAt(p, off)
	if int64(m) == n {
		return p, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return nil, errMalformed
	}
	return nil, err
}

// scanJPEG walks the marker segments up to the image data, keeping the first
// APP1 Exif block and the APP2 ICC_PROFILE chunks.
func (s *source) scanJPEG(md *metadata) error {
	var chunks [][]byte
	defer func() { md.icc = joinICC(chunks) }()
	off := int64(2)
	for range maxSteps {
		h, err := s.read(off, 4)
		if err != nil {
			return err
		}
		if h[0] != 0xFF {
			return errMalformed
		}
		m := h[1]
		switch {
		case m == 0xFF: // fill byte
			off++
			continue
		case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7): // no length
			off += 2
			continue
		case m == 0xD9 || m == 0xDA: // end of image, start of scan
			return nil
		}
		n := int64(binary.BigEndian.Uint16(h[2:]))
		if n < 2 {
			return errMalformed
		}
		if (m == 0xE1 && md.exif == nil) || m == 0xE2 {
			p, err := s.read(off+4, n-2)
			if err != nil {
				return err
			}
			switch {
			case m == 0xE1 && bytes.HasPrefix(p, exifPrefix):
				md.exif = p[len(exifPrefix):]
			case m == 0xE2 && bytes.HasPrefix(p, iccPrefix) && len(p) > len(iccPrefix)+2:
				chunks = append(chunks, p[len(iccPrefix):])
			}
		}
		off += 2 + n
	}
	return nil
}

// joinICC assembles a profile from its APP2 chunks (each: sequence number
// from 1, chunk count, data), in sequence order. The ICC specification (ICC.1
// annex B.4) requires every chunk 1..count exactly once with the same
// count; anything else is malformed and gives nil.
func joinICC(chunks [][]byte) []byte {
	if len(chunks) == 0 {
		return nil
	}
	count := int(chunks[0][1])
	if count == 0 || len(chunks) != count {
		return nil
	}
	ordered := make([][]byte, count)
	for _, c := range chunks {
		seq := int(c[0])
		if int(c[1]) != count || seq < 1 || seq > count || ordered[seq-1] != nil {
			return nil
		}
		ordered[seq-1] = c[2:]
	}
	return bytes.Join(ordered, nil)
}

// scanPNG walks the chunks to IEND (eXIf may follow the image data), keeping
// the iCCP profile, decompressed, and the eXIf block.
func (s *source) scanPNG(md *metadata) error {
	off := int64(8)
	for range maxSteps {
		h, err := s.read(off, 8)
		if err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		typ := string(h[4:8])
		if n > s.size-off-12 {
			return errMalformed
		}
		switch {
		case typ == "IEND":
			return nil
		case typ == "iCCP" && md.icc == nil:
			// name (1–79 bytes), NUL, compression method 0, zlib stream
			p, err := s.read(off+8, min(n, maxICC+80+2))
			if err != nil {
				return err
			}
			if _, rest, ok := bytes.Cut(p, []byte{0}); ok && len(rest) > 1 && rest[0] == 0 {
				md.icc = inflate(rest[1:], maxICC)
			}
		case typ == "eXIf" && md.exif == nil:
			p, err := s.read(off+8, min(n, 1<<20))
			if err != nil {
				return err
			}
			md.exif = bytes.TrimPrefix(p, exifPrefix)
		}
		off += 12 + n
	}
	return nil
}

// inflate decompresses a zlib stream of at most limit bytes; nil if it is
// longer, cut short or corrupt.
func inflate(p []byte, limit int64) []byte {
	zr, err := zlib.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil || int64(len(out)) > limit {
		return nil
	}
	return out
}

// TIFF tags Fit reads from a TIFF file's IFD0, and from EXIF blocks, which
// are TIFF structures.
const (
	tagOrientation = 0x0112
	tagExifIFD     = 0x8769
	tagICC         = 0x8773 // 34675, InterColorProfile
	tagPixelX      = 0xA002
	tagPixelY      = 0xA003
)

// TIFF field types.
const (
	typeByte      = 1
	typeShort     = 3
	typeLong      = 4
	typeUndefined = 7
)

// scanTIFF reads the Orientation and InterColorProfile tags of IFD0. The
// TIFF's other tags are its own metadata, not an EXIF block: they are not
// carried over even with KeepMetadata.
func (s *source) scanTIFF(md *metadata) error {
	h, err := s.read(0, 8)
	if err != nil {
		return err
	}
	bo := byteOrder(h)
	if bo == nil {
		return errMalformed
	}
	ifd := int64(bo.Uint32(h[4:]))
	c, err := s.read(ifd, 2)
	if err != nil {
		return err
	}
	entries, err := s.read(ifd+2, 12*int64(bo.Uint16(c)))
	if err != nil {
		return err
	}
	for e := 0; e+12 <= len(entries); e += 12 {
		tag, typ := bo.Uint16(entries[e:]), bo.Uint16(entries[e+2:])
		count := int64(bo.Uint32(entries[e+4:]))
		switch {
		case tag == tagOrientation && typ == typeShort && count == 1:
			if o := int(bo.Uint16(entries[e+8:])); o >= 1 && o <= 8 {
				md.orientation = o
			}
		case tag == tagICC && (typ == typeUndefined || typ == typeByte) && count > 4 && count <= maxICC:
			p, err := s.read(int64(bo.Uint32(entries[e+8:])), count)
			if err != nil {
				return err
			}
			md.icc = p
		}
	}
	return nil
}

// scanWebP walks the RIFF chunks, keeping the ICCP profile and the EXIF block.
func (s *source) scanWebP(md *metadata) error {
	off := int64(12)
	for range maxSteps {
		h, err := s.read(off, 8)
		if err != nil {
			return err
		}
		n := int64(binary.LittleEndian.Uint32(h[4:]))
		if n > s.size-off-8 {
			return errMalformed
		}
		switch string(h[:4]) {
		case "ICCP":
			if md.icc == nil && n <= maxICC {
				if md.icc, err = s.read(off+8, n); err != nil {
					return err
				}
			}
		case "EXIF":
			if md.exif == nil {
				p, err := s.read(off+8, min(n, 1<<20))
				if err != nil {
					return err
				}
				md.exif = bytes.TrimPrefix(p, exifPrefix)
			}
		}
		off += 8 + n + n&1
	}
	return nil
}

// byteOrder returns the byte order of a TIFF header, nil if b is not one.
func byteOrder(b []byte) binary.ByteOrder {
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")):
		return binary.LittleEndian
	case bytes.HasPrefix(b, []byte("MM\x00*")):
		return binary.BigEndian
	}
	return nil
}

// ifdEntry finds tag in the IFD at off of the TIFF structure t and returns
// the offset of its 12-byte entry, -1 if it is absent or t is cut short.
func ifdEntry(t []byte, bo binary.ByteOrder, off uint64, tag uint16) int {
	size := uint64(len(t))
	if off+2 > size {
		return -1
	}
	count := uint64(bo.Uint16(t[off:]))
	for k := range count {
		e := off + 2 + 12*k
		if e+12 > size {
			return -1
		}
		if bo.Uint16(t[e:]) == tag {
			return int(e)
		}
	}
	return -1
}

// exifOrientation returns the Orientation of IFD0 of the EXIF block t, 1 if
// it is absent or not one of the eight values.
func exifOrientation(t []byte) int {
	bo := byteOrder(t)
	if bo == nil || len(t) < 8 {
		return 1
	}
	e := ifdEntry(t, bo, uint64(bo.Uint32(t[4:])), tagOrientation)
	if e < 0 || bo.Uint16(t[e+2:]) != typeShort || bo.Uint32(t[e+4:]) != 1 {
		return 1
	}
	if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
		return o
	}
	return 1
}

// keptEXIF returns a copy of the EXIF block t fit for a derivative of w×h
// pixels: Orientation 1 (the pixels are turned already), PixelXDimension and
// PixelYDimension w and h, and no IFD1 (whose thumbnail shows the unturned,
// uncropped original; its bytes stay but nothing points to them). Every
// change is in place, so no offset moves. nil if t is not a TIFF structure
// or is too large for one APP1 segment.
func keptEXIF(t []byte, w, h int) []byte {
	bo := byteOrder(t)
	if bo == nil || len(t) < 8 || len(t) > maxEXIF {
		return nil
	}
	t = bytes.Clone(t)
	ifd0 := uint64(bo.Uint32(t[4:]))
	if ifd0+2 > uint64(len(t)) {
		return nil
	}
	if e := ifdEntry(t, bo, ifd0, tagOrientation); e >= 0 && bo.Uint16(t[e+2:]) == typeShort {
		bo.PutUint16(t[e+8:], 1)
	}
	next := ifd0 + 2 + 12*uint64(bo.Uint16(t[ifd0:]))
	if next+4 <= uint64(len(t)) {
		bo.PutUint32(t[next:], 0)
	}
	if e := ifdEntry(t, bo, ifd0, tagExifIFD); e >= 0 {
		sub := uint64(bo.Uint32(t[e+8:]))
		for _, d := range []struct {
			tag uint16
			v   int
		}{{tagPixelX, w}, {tagPixelY, h}} {
			v := d.v
			e := ifdEntry(t, bo, sub, d.tag)
			if e < 0 || bo.Uint32(t[e+4:]) != 1 {
				continue
			}
			switch bo.Uint16(t[e+2:]) {
			case typeShort:
				if v <= 0xFFFF {
					bo.PutUint16(t[e+8:], uint16(v))
				}
			case typeLong:
				bo.PutUint32(t[e+8:], uint32(v))
			}
		}
	}
	return t
}

// iccFor returns the profile if it is well formed (its header's size is its
// length and it has the "acsp" signature) and its colour space is that of
// the derivative, GRAY for a grayscale one and RGB otherwise: a CMYK
// profile, say, would be wrong on the RGB pixels the CMYK source was
// converted to.
func (md metadata) iccFor(gray bool) []byte {
	p := md.icc
	if len(p) < 132 || int(binary.BigEndian.Uint32(p)) != len(p) || string(p[36:40]) != "acsp" {
		return nil
	}
	space := string(p[16:20])
	if (gray && space == "GRAY") || (!gray && space == "RGB ") {
		return p
	}
	return nil
}

// segments returns the JPEG segments that follow SOI in a derivative: the
// APP1 Exif segment with exif (if any), then the profile in as many APP2
// ICC_PROFILE segments as it needs.
func segments(exif, icc []byte) []byte {
	var b []byte
	if exif != nil {
		b = append(b, 0xFF, 0xE1)
		b = binary.BigEndian.AppendUint16(b, uint16(2+len(exifPrefix)+len(exif)))
		b = append(b, exifPrefix...)
		b = append(b, exif...)
	}
	count := (len(icc) + iccChunk - 1) / iccChunk
	for i := range count {
		c := icc[i*iccChunk : min(len(icc), (i+1)*iccChunk)]
		b = append(b, 0xFF, 0xE2)
		b = binary.BigEndian.AppendUint16(b, uint16(2+len(iccPrefix)+2+len(c)))
		b = append(b, iccPrefix...)
		b = append(b, byte(i+1), byte(count))
		b = append(b, c...)
	}
	return b
}
