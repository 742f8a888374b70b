package mediagen

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/gif"
	_ "image/jpeg"
	_ "image/png"
	"testing"

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
