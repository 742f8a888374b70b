package mediagen

import "encoding/binary"

// Box returns an ISO BMFF (MP4) box: a 32-bit big-endian size, the four-character type, and the
// parts concatenated as its body. Tests build hand-made MP4 layouts with it.
func Box(typ string, parts ...[]byte) []byte {
	n := 8
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 8, n)
	binary.BigEndian.PutUint32(b, uint32(n))
	copy(b[4:], typ)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// Box64 returns a box in the large-size form: size field 1, the type, then the 64-bit size.
func Box64(typ string, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = append(b, typ...)
	b = binary.BigEndian.AppendUint64(b, uint64(16+len(body)))
	return append(b, body...)
}

// MVHD returns a movie header box (ISO/IEC 14496-12 §8.2.2) of the given version with timescale
// (units per second) and duration in those units, the other fields as in a real file (rate 1.0,
// volume 1.0, identity matrix, next track 2). Version 1 has 64-bit times; any other version is
// written in version 0's 32-bit layout (duration truncated), so that a test can present a version
// a parser does not know.
func MVHD(version byte, timescale uint32, duration uint64) []byte {
	rest := [][]byte{u32(0x00010000), u16(0x0100), make([]byte, 10), matrix(), make([]byte, 24), u32(2)}
	if version == 1 {
		return fullBox("mvhd", 1, 0, append([][]byte{u64(0), u64(0), u32(timescale), u64(duration)}, rest...)...)
	}
	return fullBox("mvhd", version, 0, append([][]byte{u32(0), u32(0), u32(timescale), u32(uint32(duration))}, rest...)...)
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
