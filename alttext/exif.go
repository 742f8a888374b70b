package alttext

import (
	"bytes"
	"encoding/binary"
)

// tagImageDescription is the EXIF/TIFF tag of the image's title or caption.
const tagImageDescription = 0x010E

// exifDescription returns the ImageDescription of IFD0 in the TIFF structure
// t, decoded (the standard says ASCII; writers put UTF-8 or Windows-1252
// there). Only IFD0 is read, so no offset chain can loop. Any offset or count
// that points outside t gives "".
func exifDescription(t []byte) string {
	if len(t) < 8 {
		return ""
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return ""
	}
	size := uint64(len(t))
	ifd := uint64(bo.Uint32(t[4:]))
	if ifd+2 > size {
		return ""
	}
	count := uint64(bo.Uint16(t[ifd:]))
	for k := range count {
		e := ifd + 2 + 12*k
		if e+12 > size {
			return "" // the IFD is cut short
		}
		if bo.Uint16(t[e:]) != tagImageDescription {
			continue
		}
		switch bo.Uint16(t[e+2:]) {
		case 1, 2, 7: // BYTE, ASCII, UNDEFINED: one byte per count
		default:
			return ""
		}
		n := uint64(bo.Uint32(t[e+4:]))
		var v []byte
		if n <= 4 {
			v = t[e+8 : e+8+n]
		} else {
			off := uint64(bo.Uint32(t[e+8:]))
			if off > size || n > size-off {
				return ""
			}
			v = t[off : off+n]
		}
		if i := bytes.IndexByte(v, 0); i >= 0 {
			v = v[:i] // a C string; what follows the NUL is padding
		}
		return decode8(v)
	}
	return ""
}
