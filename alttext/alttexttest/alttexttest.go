// Package alttexttest builds the metadata that carries photo captions, for
// tests: EXIF ImageDescription, XMP dc:description and IPTC Caption-Abstract
// spliced into real JPEGs, and XMP or Description text chunks into PNGs. It is
// the writing half of package alttext, kept separate so that other packages'
// tests can make captioned media without a tool like exiftool.
//
// Like net/http/httptest.NewRequest, the functions panic on misuse (input that
// is not a JPEG or PNG, a JPEG segment over 65,533 bytes): they are for tests.
package alttexttest

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"hash/crc32"
	"strings"
)

// WithEXIFDescription returns jpeg with an APP1 Exif segment whose IFD0
// ImageDescription is text.
func WithEXIFDescription(jpeg []byte, text string) []byte {
	return InsertJPEG(jpeg, ExifSegment(EXIF(text)))
}

// WithXMPDescription returns jpeg with an APP1 XMP segment whose
// dc:description is text (the x-default item of an rdf:Alt).
func WithXMPDescription(jpeg []byte, text string) []byte {
	return InsertJPEG(jpeg, XMPSegment(XMP(text)))
}

// WithIPTCCaption returns jpeg with an APP13 Photoshop segment whose IPTC
// Caption-Abstract is text, declared UTF-8 (as Lightroom writes it).
func WithIPTCCaption(jpeg []byte, text string) []byte {
	return InsertJPEG(jpeg, PhotoshopSegment(IPTC(text, true)))
}

// WithPNGXMP returns png with an iTXt XML:com.adobe.xmp chunk whose
// dc:description is text.
func WithPNGXMP(png []byte, text string) []byte {
	return InsertPNG(png, PNGChunk("iTXt", ITXt("XML:com.adobe.xmp", string(XMP(text)))))
}

// EXIF returns a big-endian TIFF structure whose IFD0 holds one entry,
// ImageDescription (ASCII), with desc's bytes as given and a terminating NUL.
func EXIF(desc string) []byte {
	v := append([]byte(desc), 0)
	var b []byte
	b = append(b, "MM\x00*"...)
	b = binary.BigEndian.AppendUint32(b, 8) // IFD0 offset
	b = binary.BigEndian.AppendUint16(b, 1) // entry count
	b = binary.BigEndian.AppendUint16(b, 0x010E)
	b = binary.BigEndian.AppendUint16(b, 2) // ASCII
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	if len(v) <= 4 {
		b = append(b, v...)
		b = append(b, make([]byte, 4-len(v))...)
		b = binary.BigEndian.AppendUint32(b, 0) // no next IFD
		return b
	}
	b = binary.BigEndian.AppendUint32(b, 8+2+12+4) // value after the next-IFD offset
	b = binary.BigEndian.AppendUint32(b, 0)
	return append(b, v...)
}

// XMP returns an XMP packet as Lightroom writes it, whose dc:description is an
// rdf:Alt with one x-default item, desc (XML-escaped).
func XMP(desc string) []byte {
	return XMPPacket(`<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/">
   <dc:description>
    <rdf:Alt>
     <rdf:li xml:lang="x-default">` + escape(desc) + `</rdf:li>
    </rdf:Alt>
   </dc:description>
  </rdf:Description>`)
}

// XMPPacket wraps rdf, the rdf:Description elements, in an XMP packet: the
// xpacket processing instructions, x:xmpmeta and rdf:RDF (with the rdf
// namespace declared).
func XMPPacket(rdf string) []byte {
	return []byte(`<?xpacket begin="` + "\uFEFF" + `" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  ` + rdf + `
 </rdf:RDF>
</x:xmpmeta>
` + strings.Repeat(" ", 100) + `
<?xpacket end="w"?>`)
}

// IPTC returns IPTC IIM datasets: the record version (2:00), Caption-Abstract
// (2:120) with caption's bytes as given, and, if declareUTF8, CodedCharacterSet
// (1:90) = ESC % G first. Captions over 32,767 bytes use the extended length.
func IPTC(caption string, declareUTF8 bool) []byte {
	var b []byte
	if declareUTF8 {
		b = dataset(b, 1, 90, []byte("\x1b%G"))
	}
	b = dataset(b, 2, 0, []byte{0, 4})
	return dataset(b, 2, 120, []byte(caption))
}

func dataset(b []byte, rec, ds byte, v []byte) []byte {
	b = append(b, 0x1C, rec, ds)
	if len(v) < 0x8000 {
		b = binary.BigEndian.AppendUint16(b, uint16(len(v)))
	} else {
		b = binary.BigEndian.AppendUint16(b, 0x8004)
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	}
	return append(b, v...)
}

// ExifSegment returns an APP1 Exif segment holding tiff.
func ExifSegment(tiff []byte) []byte {
	return JPEGSegment(0xE1, append([]byte("Exif\x00\x00"), tiff...))
}

// XMPSegment returns an APP1 XMP segment holding packet.
func XMPSegment(packet []byte) []byte {
	return JPEGSegment(0xE1, append([]byte("http://ns.adobe.com/xap/1.0/\x00"), packet...))
}

// PhotoshopSegment returns an APP13 segment holding one image resource block,
// 8BIM 0x0404 (IPTC), with iptc as its data.
func PhotoshopSegment(iptc []byte) []byte {
	p := []byte("Photoshop 3.0\x00")
	p = append(p, "8BIM\x04\x04\x00\x00"...) // signature, id, empty name padded to 2
	p = binary.BigEndian.AppendUint32(p, uint32(len(iptc)))
	p = append(p, iptc...)
	if len(iptc)%2 == 1 {
		p = append(p, 0)
	}
	return JPEGSegment(0xED, p)
}

// JPEGSegment returns a marker segment: 0xFF, marker, the 2-byte length
// (which counts itself), payload. It panics if payload exceeds 65,533 bytes.
func JPEGSegment(marker byte, payload []byte) []byte {
	if len(payload) > 0xFFFF-2 {
		panic(fmt.Sprintf("alttexttest: JPEG segment payload of %d bytes exceeds 65533", len(payload)))
	}
	b := []byte{0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(len(payload)+2))
	return append(b, payload...)
}

// InsertJPEG returns a copy of jpeg with segments inserted right after the
// start-of-image marker, in order. It panics if jpeg does not start with one.
func InsertJPEG(jpeg []byte, segments ...[]byte) []byte {
	if !bytes.HasPrefix(jpeg, []byte{0xFF, 0xD8}) {
		panic("alttexttest: InsertJPEG: not a JPEG")
	}
	out := append([]byte(nil), jpeg[:2]...)
	for _, s := range segments {
		out = append(out, s...)
	}
	return append(out, jpeg[2:]...)
}

// ITXt returns the data of an uncompressed iTXt chunk: keyword, no language
// tag, no translated keyword, text.
func ITXt(keyword, text string) []byte {
	return []byte(keyword + "\x00\x00\x00\x00\x00" + text)
}

// PNGChunk returns a PNG chunk: length, type, data, CRC.
func PNGChunk(typ string, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[4:]))
}

// InsertPNG returns a copy of png with chunks inserted right after IHDR, in
// order. It panics if png does not start with a signature and an IHDR chunk.
func InsertPNG(png []byte, chunks ...[]byte) []byte {
	const sig = "\x89PNG\r\n\x1a\n"
	if len(png) < 8+12 || string(png[:8]) != sig || string(png[12:16]) != "IHDR" {
		panic("alttexttest: InsertPNG: not a PNG")
	}
	end := 8 + 12 + int(binary.BigEndian.Uint32(png[8:12]))
	if end > len(png) {
		panic("alttexttest: InsertPNG: IHDR cut short")
	}
	out := append([]byte(nil), png[:end]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, png[end:]...)
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}
