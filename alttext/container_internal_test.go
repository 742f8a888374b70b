package alttext

import (
	"bytes"
	"compress/zlib"
	"slices"
	"testing"

	"github.com/mediasync/mediasync/alttext/alttexttest"
	"github.com/mediasync/mediasync/internal/mediagen"
)

func zlibBest(t *testing.T, p []byte) []byte {
	t.Helper()
	var z bytes.Buffer
	zw, err := zlib.NewWriterLevel(&z, zlib.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

// TestScanPNGInflateBudget: decompression over the whole file is bounded by
// maxInflate. The bomb is the reviewer's: a 5 MB PNG of zTXt Description
// chunks that each inflate to 1 MiB of blanks (so none stops the search);
// without the budget every one of them (about 5,000 MiB in all) is inflated.
// The cost is asserted in bytes inflated, not in time.
func TestScanPNGInflateBudget(t *testing.T) {
	blank := zlibBest(t, bytes.Repeat([]byte(" "), maxBlock))
	blankDesc := alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x00"), blank...))
	realDesc := alttexttest.PNGChunk("zTXt", append([]byte("Description\x00\x00"), zlibBest(t, []byte("A red kite"))...))
	brokenXMP := alttexttest.PNGChunk("iTXt", append([]byte("XML:com.adobe.xmp\x00\x01\x00\x00\x00"), blank[:len(blank)/2]...)) // cut short: fails after inflating part
	goodXMP := alttexttest.PNGChunk("iTXt", alttexttest.ITXt("XML:com.adobe.xmp", string(alttexttest.XMP("From XMP"))))
	tEXt := alttexttest.PNGChunk("tEXt", []byte("Description\x00Plain text"))

	repeat := func(c []byte, total int) [][]byte {
		return slices.Repeat([][]byte{c}, total/len(c))
	}
	tests := []struct {
		name         string
		chunks       [][]byte
		wantText     string
		wantSrc      Source
		maxInflated  int // bytes decompressed, at most
		wantInflated int // and at least
	}{
		{"blank descriptions bomb", repeat(blankDesc, 5_000_000), "", "", maxInflate, maxInflate - maxBlock},
		{"bomb, then compressed text: budget spent", append(repeat(blankDesc, 5_000_000), realDesc), "", "", maxInflate, maxInflate - maxBlock},
		{"bomb, then plain text: still found", append(repeat(blankDesc, 5_000_000), tEXt), "Plain text", PNGText, maxInflate, maxInflate - maxBlock},
		{"one blank description, then text", [][]byte{blankDesc, realDesc}, "A red kite", PNGText, maxBlock + 10, maxBlock + 10},
		{"broken xmp tried once", repeat(brokenXMP, 2_000_000), "", "", maxBlock, 1},
		{"broken xmp, later good xmp not tried", [][]byte{brokenXMP, goodXMP, realDesc}, "A red kite", PNGText, maxBlock + 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := alttexttest.InsertPNG(mediagen.PNG(8, 8, 1), tt.chunks...)
			b, err := scanPNG(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatalf("scanPNG: %v", err)
			}
			if b.inflated > tt.maxInflated || b.inflated < tt.wantInflated {
				t.Errorf("%d chunks in %d bytes: inflated %d bytes, want %d to %d", len(tt.chunks), len(data), b.inflated, tt.wantInflated, tt.maxInflated)
			}
			text, src, err := Embedded(bytes.NewReader(data), int64(len(data)))
			if err != nil || text != tt.wantText || src != tt.wantSrc {
				t.Errorf("Embedded = %q, %q, %v; want %q, %q", text, src, err, tt.wantText, tt.wantSrc)
			}
		})
	}
}

// TestSplitPartial: a character cut in two at the end of a piece moves to
// the next piece; whole ones stay.
func TestSplitPartial(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		skip     int
		wantTail string
	}{
		{"ascii", "abc", 0, ""},
		{"whole 2-byte", "caf\xc3\xa9", 0, ""},
		{"cut 2-byte", "caf\xc3", 0, "\xc3"},
		{"whole 4-byte", "x\xf0\x9f\x98\x85", 0, ""},
		{"cut 4-byte after 3", "x\xf0\x9f\x98", 0, "\xf0\x9f\x98"},
		{"cut 4-byte after 1", "x\xf0", 0, "\xf0"},
		{"windows-1252 é taken along", "caf\xe9", 0, "\xe9"},
		{"utf-8 bom only", "\xef\xbb\xbf", 3, ""},
		{"utf-16le odd byte", "\xff\xfeO\x00K", 2, "K"},
		{"utf-16le high surrogate", "\xff\xfeO\x00=\xd8", 2, "=\xd8"},
		{"utf-16le pair whole", "\xff\xfe=\xd8\x05\xde", 2, ""},
		{"utf-16be high surrogate", "\xfe\xff\x00O\xd8=", 2, "\xd8="},
		{"utf-16be high surrogate and odd byte", "\xfe\xff\x00O\xd8=\xde", 2, "\xd8=\xde"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			whole, tail := splitPartial([]byte(tt.in), tt.skip)
			if string(tail) != tt.wantTail || string(whole)+string(tail) != tt.in {
				t.Errorf("splitPartial(%q) = %q, %q; want tail %q", tt.in, whole, tail, tt.wantTail)
			}
		})
	}
}
