package alttext

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"io"
)

var (
	pngMagic   = []byte("\x89PNG\r\n\x1a\n")
	exifHeader = []byte("Exif\x00")                         // APP1 Exif, then a pad byte
	xmpHeader  = []byte("http://ns.adobe.com/xap/1.0/\x00") // APP1 standard XMP
	psHeader   = []byte("Photoshop 3.0\x00")                // APP13 image resource blocks
)

// scanJPEG walks the JPEG's marker segments up to the image data and keeps the
// first Exif and XMP APP1 segments and the Photoshop APP13 resource blocks
// (concatenated: a writer may split them over several segments).
func scanJPEG(r io.ReaderAt, size int64) (blocks, error) {
	var b blocks
	var irb []byte
	off := int64(2)
	for range maxSteps {
		h, err := readAt(r, size, off, 4)
		if err != nil {
			b.iptc = irbIPTC(irb)
			return b, ignoreMalformed(err)
		}
		if h[0] != 0xFF {
			break
		}
		m := h[1]
		switch {
		case m == 0xFF: // fill byte
			off++
			continue
		case m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7): // no length
			off += 2
			continue
		case m == 0xD9 || m == 0xDA: // end of image, start of scan: no metadata after
			b.iptc = irbIPTC(irb)
			return b, nil
		}
		n := int(binary.BigEndian.Uint16(h[2:]))
		if n < 2 {
			break
		}
		if (m == 0xE1 && (b.exif == nil || b.xmp == nil)) || (m == 0xED && len(irb) < maxBlock) {
			p, err := readAt(r, size, off+4, n-2)
			if err != nil {
				b.iptc = irbIPTC(irb)
				return b, ignoreMalformed(err)
			}
			switch {
			case m == 0xE1 && b.exif == nil && len(p) > len(exifHeader) && bytes.HasPrefix(p, exifHeader):
				b.exif = p[len(exifHeader)+1:]
			case m == 0xE1 && b.xmp == nil && bytes.HasPrefix(p, xmpHeader):
				b.xmp = p[len(xmpHeader):]
			case m == 0xED && bytes.HasPrefix(p, psHeader):
				p = p[len(psHeader):]
				irb = append(irb, p[:min(len(p), maxBlock-len(irb))]...)
			}
		}
		off += 2 + int64(n)
	}
	b.iptc = irbIPTC(irb)
	return b, nil
}

// scanPNG walks the PNG's chunks and keeps the first XMP iTXt (absent if it
// is broken: no later one is tried), the first non-empty Description text
// (tEXt, zTXt or iTXt) and the first eXIf chunk. Text chunks may follow the
// image data, so the walk goes to IEND. Decompression shares one budget of
// maxInflate bytes per file: once it is spent, compressed text counts as
// absent, so a file of many blank compressed Descriptions costs little.
func scanPNG(r io.ReaderAt, size int64) (blocks, error) {
	var b blocks
	off := int64(len(pngMagic))
	for range maxSteps {
		h, err := readAt(r, size, off, 8)
		if err != nil {
			return b, ignoreMalformed(err)
		}
		n := int64(binary.BigEndian.Uint32(h[:4]))
		typ := string(h[4:8])
		if n > size-off-12 { // also rejects lengths over 2^31-1, which PNG forbids
			break
		}
		switch typ {
		case "IEND":
			return b, nil
		case "tEXt", "zTXt", "iTXt", "eXIf":
			// keyword, flags and language tags take at most a few hundred
			// bytes; a longer chunk is read only as far as the bound.
			p, err := readAt(r, size, off+8, int(min(n, maxBlock+1024)))
			if err != nil {
				return b, ignoreMalformed(err)
			}
			b.pngChunk(typ, p)
		}
		off += 12 + n
	}
	return b, nil
}

// pngChunk keeps what a text or eXIf chunk holds.
func (b *blocks) pngChunk(typ string, p []byte) {
	if typ == "eXIf" {
		if b.exif == nil {
			b.exif = bytes.TrimPrefix(p, []byte("Exif\x00\x00"))
		}
		return
	}
	key, rest, ok := bytes.Cut(p, []byte{0})
	if !ok {
		return
	}
	isXMP := typ == "iTXt" && string(key) == "XML:com.adobe.xmp"
	isDesc := string(key) == "Description"
	if (!isXMP || b.xmpSeen) && (!isDesc || b.pngText != "") {
		return
	}
	if isXMP {
		b.xmpSeen = true
	}
	var text []byte
	utf8Text := false
	switch typ {
	case "tEXt": // Latin-1
		text = rest
	case "zTXt": // method byte, then zlib
		if len(rest) < 1 || rest[0] != 0 {
			return
		}
		text = b.inflate(rest[1:])
	case "iTXt": // flag, method, language\0, translated keyword\0, UTF-8 text
		if len(rest) < 2 {
			return
		}
		compressed, method := rest[0], rest[1]
		_, rest, ok = bytes.Cut(rest[2:], []byte{0})
		if !ok {
			return
		}
		_, rest, ok = bytes.Cut(rest, []byte{0})
		if !ok {
			return
		}
		switch {
		case compressed == 0:
			text = rest
		case compressed == 1 && method == 0:
			text = b.inflate(rest)
		default:
			return
		}
		utf8Text = true
	}
	switch {
	case isXMP:
		b.xmp = text
	case utf8Text:
		b.pngText = clean(string(text))
	default:
		b.pngText = clean(decode8(text))
	}
}

// inflate decompresses a zlib stream, at most its first maxBlock bytes, and
// counts them against the file's budget. A stream that is cut short or
// corrupt before that gives nil: its text would be cut at a random place. So
// does one that needs more than is left of the budget, and any once it is
// spent.
func (b *blocks) inflate(p []byte) []byte {
	left := maxInflate - b.inflated
	if left <= 0 {
		return nil
	}
	zr, err := zlib.NewReader(bytes.NewReader(p))
	if err != nil {
		return nil
	}
	defer zr.Close()
	limit := min(maxBlock, left)
	out, err := io.ReadAll(io.LimitReader(zr, int64(limit)))
	b.inflated += len(out)
	if err != nil || len(out) == limit && limit < maxBlock {
		return nil
	}
	return out
}

// scanWebP walks the RIFF chunks of a WebP file and keeps the first EXIF and
// XMP chunks.
func scanWebP(r io.ReaderAt, size int64) (blocks, error) {
	var b blocks
	off := int64(12)
	for range maxSteps {
		if b.exif != nil && b.xmp != nil {
			break
		}
		h, err := readAt(r, size, off, 8)
		if err != nil {
			return b, ignoreMalformed(err)
		}
		n := int64(binary.LittleEndian.Uint32(h[4:]))
		if n > size-off-8 {
			break
		}
		switch string(h[:4]) {
		case "EXIF", "XMP ":
			p, err := readAt(r, size, off+8, int(min(n, maxBlock)))
			if err != nil {
				return b, ignoreMalformed(err)
			}
			if string(h[:4]) == "EXIF" && b.exif == nil {
				b.exif = bytes.TrimPrefix(p, []byte("Exif\x00\x00"))
			} else if string(h[:4]) == "XMP " && b.xmp == nil {
				b.xmp = p
			}
		}
		off += 8 + n + n&1
	}
	return b, nil
}
