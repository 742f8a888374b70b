package mediagen

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestBoxes(t *testing.T) {
	if got, want := Box("free", []byte{1}, []byte{2}), []byte("\x00\x00\x00\x0afree\x01\x02"); !bytes.Equal(got, want) {
		t.Errorf("Box = %q, want %q", got, want)
	}
	b := Box64("mdat", make([]byte, 5))
	if binary.BigEndian.Uint32(b) != 1 || string(b[4:8]) != "mdat" || binary.BigEndian.Uint64(b[8:]) != 21 || len(b) != 21 {
		t.Errorf("Box64 = %x", b)
	}
	tests := []struct {
		version           byte
		timescale         uint32
		dur               uint64
		size, tsAt, durAt int
	}{
		{0, 600, 90_000, 108, 20, 24},
		{1, 90_000, 1 << 33, 120, 28, 32},
		{2, 1000, 5000, 108, 20, 24}, // an unknown version, in version 0's layout
	}
	for _, tt := range tests {
		m := MVHD(tt.version, tt.timescale, tt.dur)
		if len(m) != tt.size || int(binary.BigEndian.Uint32(m)) != tt.size || string(m[4:8]) != "mvhd" || m[8] != tt.version {
			t.Errorf("MVHD(%d): %d bytes, header %x", tt.version, len(m), m[:12])
			continue
		}
		var dur uint64
		if tt.version == 1 {
			dur = binary.BigEndian.Uint64(m[tt.durAt:])
		} else {
			dur = uint64(binary.BigEndian.Uint32(m[tt.durAt:]))
		}
		if ts := binary.BigEndian.Uint32(m[tt.tsAt:]); ts != tt.timescale || dur != tt.dur {
			t.Errorf("MVHD(%d): timescale %d, duration %d; want %d, %d", tt.version, ts, dur, tt.timescale, tt.dur)
		}
	}
}
