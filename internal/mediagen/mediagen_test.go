package mediagen

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"testing"
	"time"

	"github.com/gabriel-vasile/mimetype"
)

func TestImagesDecode(t *testing.T) {
	for _, tc := range []struct {
		name, mime string
		data       []byte
		w, h       int
	}{
		{"jpeg", "image/jpeg", JPEG(64, 48, 1), 64, 48},
		{"png", "image/png", PNG(40, 30, 2), 40, 30},
		{"gif", "image/gif", GIF(20, 10, 3, 3), 20, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, format, err := image.DecodeConfig(bytes.NewReader(tc.data))
			if err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			if "image/"+format != tc.mime || cfg.Width != tc.w || cfg.Height != tc.h {
				t.Errorf("got %s %dx%d, want %s %dx%d", format, cfg.Width, cfg.Height, tc.mime, tc.w, tc.h)
			}
			if got := mimetype.Detect(tc.data).String(); got != tc.mime {
				t.Errorf("mimetype = %s, want %s", got, tc.mime)
			}
		})
	}
}

func TestPNGIsIncompressible(t *testing.T) {
	if n := len(PNG(600, 600, 1)); n < 1<<20 {
		t.Errorf("600x600 PNG is %d bytes, want over 1 MiB", n)
	}
}

func TestGIFIsAnimated(t *testing.T) {
	g, err := gif.DecodeAll(bytes.NewReader(GIF(8, 8, 5, 1)))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 5 {
		t.Errorf("frames = %d, want 5", len(g.Image))
	}
}

func TestDeterministic(t *testing.T) {
	if !bytes.Equal(MP4(4096, 7), MP4(4096, 7)) || bytes.Equal(MP4(4096, 7), MP4(4096, 8)) {
		t.Error("MP4 must depend on the seed and only on it")
	}
	if !bytes.Equal(JPEG(10, 10, 1), JPEG(10, 10, 1)) {
		t.Error("JPEG not deterministic")
	}
}

// TestMP4Structure walks the box tree and checks sizes, the sample table against mdat, and the
// chunk offset, for several file sizes.
func TestMP4Structure(t *testing.T) {
	for _, size := range []int64{MinMP4Size, 5000, 1 << 20, 20_000_123} {
		data := MP4(size, 1)
		if int64(len(data)) != size {
			t.Fatalf("len = %d, want %d", len(data), size)
		}
		if got := mimetype.Detect(data).String(); got != "video/mp4" {
			t.Errorf("size %d: mimetype = %s", size, got)
		}
		top := boxes(t, data)
		if len(top) != 3 || top[0].typ != "ftyp" || top[1].typ != "moov" || top[2].typ != "mdat" {
			t.Fatalf("size %d: top-level boxes %v", size, top)
		}
		stbl := find(t, data, top[1], "trak", "mdia", "minf", "stbl")
		stsz := find(t, data, stbl, "stsz")
		stco := find(t, data, stbl, "stco")
		p := data[stsz.body:]
		n := int(binary.BigEndian.Uint32(p[8:]))
		var sum int64
		for i := range n {
			sum += int64(binary.BigEndian.Uint32(p[12+4*i:]))
		}
		mdat := top[2]
		if sum != int64(mdat.end-mdat.body) {
			t.Errorf("size %d: samples sum %d, mdat payload %d", size, sum, mdat.end-mdat.body)
		}
		if off := int(binary.BigEndian.Uint32(data[stco.body+8:])); off != mdat.body {
			t.Errorf("size %d: stco offset %d, mdat payload at %d", size, off, mdat.body)
		}
	}
}

func TestWriteMP4TooSmall(t *testing.T) {
	if err := WriteMP4(&bytes.Buffer{}, MinMP4Size-1, 1); err == nil {
		t.Error("want an error below MinMP4Size")
	}
}

type boxRef struct {
	typ              string
	start, body, end int
}

func boxes(t *testing.T, data []byte) []boxRef {
	return children(t, data, 0, len(data))
}

func children(t *testing.T, data []byte, from, to int) []boxRef {
	t.Helper()
	var out []boxRef
	for off := from; off < to; {
		if to-off < 8 {
			t.Fatalf("truncated box header at %d", off)
		}
		n := int(binary.BigEndian.Uint32(data[off:]))
		if n < 8 || off+n > to {
			t.Fatalf("bad box size %d at %d", n, off)
		}
		out = append(out, boxRef{string(data[off+4 : off+8]), off, off + 8, off + n})
		off += n
	}
	return out
}

func find(t *testing.T, data []byte, in boxRef, path ...string) boxRef {
	t.Helper()
	cur := in
	for _, name := range path {
		var found bool
		for _, c := range children(t, data, cur.body, cur.end) {
			if c.typ == name {
				cur, found = c, true
				break
			}
		}
		if !found {
			t.Fatalf("box %q not found in %q", name, cur.typ)
		}
	}
	return cur
}

// TestMP4Duration checks that the movie, track and media headers and the time-to-sample table all
// state the requested duration, and that the file is otherwise as well-formed as MP4's.
func TestMP4Duration(t *testing.T) {
	tests := []struct {
		name string
		size int64
		d    time.Duration
		ms   uint32
	}{
		{"150 s small", MinMP4Size, 150 * time.Second, 150_000},
		{"120 s", 64 << 10, 120 * time.Second, 120_000},
		{"uneven split", 1 << 20, 149_350 * time.Millisecond, 149_350},
		{"sub-millisecond truncated", 5000, 2*time.Second + 999*time.Microsecond, 2000},
		{"shorter than the samples", 3 << 20, 7 * time.Millisecond, 7},
		{"one millisecond", 5000, time.Millisecond, 1},
		{"ten minutes", 2 << 20, 10 * time.Minute, 600_000},
		{"longest", 5000, MaxMP4Duration, 1<<32 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := MP4Duration(tt.size, 1, tt.d)
			if int64(len(data)) != tt.size {
				t.Fatalf("len = %d, want %d", len(data), tt.size)
			}
			if got := mimetype.Detect(data).String(); got != "video/mp4" {
				t.Errorf("mimetype = %s", got)
			}
			top := boxes(t, data)
			if len(top) != 3 || top[1].typ != "moov" {
				t.Fatalf("top-level boxes %v", top)
			}
			mvhd := find(t, data, top[1], "mvhd")
			tkhd := find(t, data, top[1], "trak", "tkhd")
			mdhd := find(t, data, top[1], "trak", "mdia", "mdhd")
			stbl := find(t, data, top[1], "trak", "mdia", "minf", "stbl")
			be := binary.BigEndian
			// version 0: mvhd/mdhd timescale at +12, duration at +16; tkhd duration at +20.
			for _, h := range []struct {
				name          string
				timescale, du uint32
			}{
				{"mvhd", be.Uint32(data[mvhd.body+12:]), be.Uint32(data[mvhd.body+16:])},
				{"tkhd", be.Uint32(data[mvhd.body+12:]), be.Uint32(data[tkhd.body+20:])},
				{"mdhd", be.Uint32(data[mdhd.body+12:]), be.Uint32(data[mdhd.body+16:])},
			} {
				if h.timescale != 1000 || h.du != tt.ms {
					t.Errorf("%s: timescale %d duration %d, want 1000 and %d", h.name, h.timescale, h.du, tt.ms)
				}
			}
			stts := find(t, data, stbl, "stts")
			stsz := find(t, data, stbl, "stsz")
			p := data[stts.body:]
			var samples, total uint64
			for i := range int(be.Uint32(p[4:])) {
				cnt, delta := be.Uint32(p[8+8*i:]), be.Uint32(p[12+8*i:])
				if delta == 0 {
					t.Errorf("stts entry %d has a zero delta", i)
				}
				samples += uint64(cnt)
				total += uint64(cnt) * uint64(delta)
			}
			if n := uint64(be.Uint32(data[stsz.body+8:])); samples != n {
				t.Errorf("stts counts %d samples, stsz %d", samples, n)
			}
			if total != uint64(tt.ms) {
				t.Errorf("stts spans %d ms, want %d", total, tt.ms)
			}
		})
	}
}

func TestWriteMP4DurationOutOfRange(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second, 999 * time.Microsecond, MaxMP4Duration + time.Millisecond} {
		if err := WriteMP4Duration(&bytes.Buffer{}, 5000, 1, d); err == nil {
			t.Errorf("WriteMP4Duration(d=%v) = nil, want an error", d)
		}
	}
	if err := WriteMP4Duration(&bytes.Buffer{}, MinMP4Size-1, 1, time.Second); err == nil {
		t.Error("want an error below MinMP4Size")
	}
}
