package alttext

import (
	"bytes"
	"encoding/binary"
)

// irbSignatures are the signatures of Photoshop image resource blocks; "8BIM"
// is the one in practice, the others occur in old files.
var irbSignatures = [...]string{"8BIM", "PHUT", "AgHg", "DCSR", "MeSa"}

// irbIPTC returns the IPTC IIM data of resource 0x0404 in a sequence of
// Photoshop image resource blocks, or nil. Each block is: signature (4),
// resource id (2), name as a Pascal string padded to an even length, data
// size (4), data padded to an even length.
func irbIPTC(b []byte) []byte {
	for i := 0; len(b)-i >= 12; {
		sig := string(b[i : i+4])
		known := false
		for _, s := range irbSignatures {
			known = known || sig == s
		}
		if !known {
			return nil
		}
		id := binary.BigEndian.Uint16(b[i+4:])
		name := 1 + int(b[i+6])
		i += 6 + name + name&1
		if len(b)-i < 4 {
			return nil
		}
		n := uint64(binary.BigEndian.Uint32(b[i:]))
		i += 4
		if n > uint64(len(b)-i) {
			return nil
		}
		if id == 0x0404 {
			return b[i : i+int(n)]
		}
		i += int(n) + int(n&1)
	}
	return nil
}

// iptcUTF8 is the value of CodedCharacterSet (1:90) that declares UTF-8
// (ISO 2022 "ESC % G").
var iptcUTF8 = []byte("\x1b%G")

// iptcCaption returns Caption-Abstract (2:120) from IPTC IIM datasets, decoded
// as UTF-8 if CodedCharacterSet (1:90) says so, else as [decode8] does. Each
// dataset is: 0x1C, record, dataset number, a 2-byte length (or, with the high
// bit set, the number of bytes of a longer length that follows), the value.
// A dataset that runs past the end stops the walk.
func iptcCaption(b []byte) string {
	var caption []byte
	found, declaredUTF8 := false, false
	for i := 0; len(b)-i >= 5; {
		if b[i] != 0x1C {
			break // writers pad the block with zeros
		}
		rec, ds := b[i+1], b[i+2]
		n := uint64(binary.BigEndian.Uint16(b[i+3:]))
		i += 5
		if n&0x8000 != 0 {
			k := int(n & 0x7FFF)
			if k == 0 || k > 4 || len(b)-i < k {
				break
			}
			n = 0
			for _, c := range b[i : i+k] {
				n = n<<8 | uint64(c)
			}
			i += k
		}
		if n > uint64(len(b)-i) {
			break
		}
		v := b[i : i+int(n)]
		i += int(n)
		switch {
		case rec == 1 && ds == 90:
			declaredUTF8 = bytes.Equal(v, iptcUTF8)
		case rec == 2 && ds == 120 && !found:
			caption, found = v, true
		}
	}
	if declaredUTF8 {
		return string(caption) // clean drops invalid bytes
	}
	return decode8(caption)
}
