package emulator

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"testing/iotest"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

func webpVP8L(w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8L\x00\x00\x00\x00\x2f")
	v := uint32(w-1) | uint32(h-1)<<14
	b = binary.LittleEndian.AppendUint32(b, v)
	return append(b, make([]byte, 16)...)
}

func webpVP8X(w, h int) []byte {
	b := []byte("RIFF\x00\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00")
	b = append(b, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	return append(b, make([]byte, 16)...)
}

func bmp(w, h int32) []byte {
	b := make([]byte, 54)
	copy(b, "BM")
	binary.LittleEndian.PutUint32(b[2:], 54)
	binary.LittleEndian.PutUint32(b[14:], 40)
	binary.LittleEndian.PutUint32(b[18:], uint32(w))
	binary.LittleEndian.PutUint32(b[22:], uint32(h))
	return b
}

func tiff(w, h uint16) []byte {
	b := []byte("II*\x00\x08\x00\x00\x00")
	b = binary.LittleEndian.AppendUint16(b, 2)
	for _, e := range []struct{ tag, val uint16 }{{256, w}, {257, h}} {
		b = binary.LittleEndian.AppendUint16(b, e.tag)
		b = binary.LittleEndian.AppendUint16(b, 3) // SHORT
		b = binary.LittleEndian.AppendUint32(b, 1)
		b = binary.LittleEndian.AppendUint16(b, e.val)
		b = append(b, 0, 0)
	}
	return append(b, 0, 0, 0, 0)
}

func TestAnalyze(t *testing.T) {
	tests := []struct {
		name         string
		data         []byte
		declared     kind
		wantType     string
		wantKind     kind
		wantW, wantH int
		wantProblem  string // procError name, "" = none
	}{
		{"jpeg", mediagen.JPEG(33, 17, 1), kindImage, "image/jpeg", kindImage, 33, 17, ""},
		{"png declared jpeg is still an image", mediagen.PNG(5, 6, 1), kindImage, "image/png", kindImage, 5, 6, ""},
		{"gif", mediagen.GIF(9, 8, 3, 1), kindGIF, "image/gif", kindGIF, 9, 8, ""},
		{"webp lossless", webpVP8L(300, 200), kindImage, "image/webp", kindImage, 300, 200, ""},
		{"webp extended", webpVP8X(4000, 3000), kindImage, "image/webp", kindImage, 4000, 3000, ""},
		{"bmp bottom-up", bmp(64, 32), kindImage, "image/bmp", kindImage, 64, 32, ""},
		{"bmp top-down", bmp(64, -32), kindImage, "image/bmp", kindImage, 64, 32, ""},
		{"tiff", tiff(120, 80), kindImage, "image/tiff", kindImage, 120, 80, ""},
		{"mp4", mediagen.MP4(4096, 1), kindVideo, "video/mp4", kindVideo, 0, 0, ""},
		{"jpeg declared video", mediagen.JPEG(8, 8, 1), kindVideo, "image/jpeg", kindImage, 0, 0, "InvalidMedia"},
		{"png declared gif", mediagen.PNG(8, 8, 1), kindGIF, "image/png", kindImage, 0, 0, "InvalidMedia"},
		{"mp4 declared image", mediagen.MP4(2048, 1), kindImage, "video/mp4", kindVideo, 0, 0, "InvalidMedia"},
		{"truncated mp4", mediagen.MP4(4096, 1)[:3000], kindVideo, "video/mp4", kindVideo, 0, 0, "InvalidMedia"},
		{"truncated jpeg header", mediagen.JPEG(8, 8, 1)[:20], kindImage, "image/jpeg", kindImage, 0, 0, "InvalidMedia"},
		{"zeros", make([]byte, 100), kindImage, "application/octet-stream", "", 0, 0, "UnsupportedMedia"},
		{"empty", nil, kindImage, "text/plain", "", 0, 0, "UnsupportedMedia"},
		{"pdf", []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj\n"), kindImage, "application/pdf", "", 0, 0, "UnsupportedMedia"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := analyze(bytes.NewReader(tt.data), int64(len(tt.data)), tt.declared)
			if err != nil {
				t.Fatal(err)
			}
			if a.detected != tt.wantType || a.kind != tt.wantKind || a.width != tt.wantW || a.height != tt.wantH {
				t.Errorf("analyze = %s %s %dx%d, want %s %s %dx%d", a.detected, a.kind, a.width, a.height, tt.wantType, tt.wantKind, tt.wantW, tt.wantH)
			}
			got := ""
			if a.problem != nil {
				got = a.problem.Name
			}
			if got != tt.wantProblem {
				t.Errorf("problem = %q, want %q", got, tt.wantProblem)
			}
			d := &digest{parts: []*blob{{data: tt.data, size: int64(len(tt.data))}}}
			if got := d.hex(); got != sum(tt.data) {
				t.Errorf("sha256 = %s, want %s", got, sum(tt.data))
			}
		})
	}
}

// FuzzAnalyze: no input makes the media checks panic.
func FuzzAnalyze(f *testing.F) {
	for _, seed := range [][]byte{mediagen.JPEG(4, 4, 1), mediagen.GIF(4, 4, 2, 1), mediagen.MP4(2048, 1), webpVP8L(3, 3), webpVP8X(3, 3), bmp(3, 3), tiff(3, 3), []byte("II*\x00\xff\xff\xff\x7f")} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []kind{"", kindImage, kindGIF, kindVideo} {
			if _, err := analyze(bytes.NewReader(data), int64(len(data)), k); err != nil {
				t.Fatalf("analyze: %v", err)
			}
		}
	})
}

// FuzzParseOAuthHeader: no header makes the parser panic, and what it
// accepts is verified without panicking.
func FuzzParseOAuthHeader(f *testing.F) {
	f.Add(docHeader(docSignature))
	f.Add(`OAuth realm="x", oauth_token=""`)
	f.Add("OAuth ,,,=,")
	f.Fuzz(func(t *testing.T, h string) {
		p, err := parseOAuthHeader(h)
		if err != nil {
			return
		}
		v := newOAuthVerifier(func() (tm time.Time) { return docTime })
		v.verify(&oauthRequest{method: "GET", baseURI: "http://x/", oauthParams: p, fromHeader: true}, docCreds)
	})
}

// TestDigest: the SHA-256 of segments stored on disk is that of their
// concatenation, computed once; bytes released before anyone asked give "".
func TestDigest(t *testing.T) {
	dir := t.TempDir()
	data := mediagen.MP4(3<<20+12345, 7)
	var parts []*blob
	for off := 0; off < len(data); off += 1 << 20 {
		b, err := newBlob(bytes.NewReader(data[off:min(off+1<<20, len(data))]), 1<<20, dir, false)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
	}
	d := &digest{parts: parts}
	if got := d.hex(); got != sum(data) {
		t.Fatalf("sha256 = %s, want %s", got, sum(data))
	}
	for _, b := range parts {
		b.remove()
	}
	if got := d.hex(); got != sum(data) {
		t.Errorf("after release, the computed sum changed to %q", got)
	}
	gone := &digest{parts: parts}
	if got := gone.hex(); got != "" {
		t.Errorf("sha256 of released bytes = %q, want \"\"", got)
	}
	// A failure is not remembered: once the bytes can be read, they are hashed.
	for i, b := range parts {
		off := i << 20
		if err := os.WriteFile(b.path, data[off:min(off+1<<20, len(data))], 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := gone.hex(); got != sum(data) {
		t.Errorf("sha256 once the bytes are back = %q, want %s", got, sum(data))
	}
}

// TestCopyBuffered: the copy that stores a part loses and adds nothing,
// whatever the size of the reads beneath it.
func TestCopyBuffered(t *testing.T) {
	for _, n := range []int{0, 1, bodyBufferSize - 1, bodyBufferSize, bodyBufferSize + 1, 3*bodyBufferSize + 17} {
		data := mediagen.MP4(int64(max(n, 2048)), int64(n))[:n]
		var out bytes.Buffer
		got, err := copyBuffered(&out, iotest.HalfReader(bytes.NewReader(data)))
		if err != nil || got != int64(n) || !bytes.Equal(out.Bytes(), data) {
			t.Errorf("n=%d: copied %d, err %v, equal %v", n, got, err, bytes.Equal(out.Bytes(), data))
		}
	}
	for _, want := range []error{errors.New("boom"), io.ErrUnexpectedEOF} {
		r := io.MultiReader(bytes.NewReader([]byte("head")), iotest.ErrReader(want))
		if n, err := copyBuffered(io.Discard, r); err != want || n != 4 {
			t.Errorf("copy of 4 bytes then %v = %d, %v; want 4, the error", want, n, err)
		}
	}
}

// TestTruncatedBase64: base64 media cut short inside a 4-character group is
// refused whichever store holds the bytes, as X refuses it; it is not stored
// with its tail dropped.
func TestTruncatedBase64(t *testing.T) {
	for _, store := range []string{"memory", "disk"} {
		t.Run(store, func(t *testing.T) {
			var opts Options
			if store == "disk" {
				opts.StoreDir = t.TempDir()
			}
			e := newEnv(t, opts)
			a := e.v2Init("video/mp4", 9, "tweet_video")
			id := str(a.data(t)["id"])
			a = e.postJSON("/2/media/upload/"+id+"/append", map[string]any{"segment_index": 0, "media": "AAAAAAAAAAAAA"})
			if a.status != http.StatusBadRequest {
				t.Fatalf("append of truncated base64: %d %s, want 400", a.status, a.body)
			}
			if mi, ok := e.s.MediaByID(id); !ok || mi.Segments != 0 {
				t.Errorf("media after the refused append: %+v, want no segment", mi)
			}
		})
	}
}
