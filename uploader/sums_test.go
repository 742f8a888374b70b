package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
)

func TestHashFile(t *testing.T) {
	for _, tt := range []struct{ size, chunk int64 }{
		{0, 1000}, {1, 1000}, {999, 1000}, {1000, 1000}, {1001, 1000}, {3005, 1000},
		{hashBuf*2 + 7, 300 << 10}, // segments larger than one read
		{hashBuf + 1, 100},         // many segments per read size
	} {
		t.Run(fmt.Sprintf("%d/%d", tt.size, tt.chunk), func(t *testing.T) {
			data := testBytes(int(tt.size), 50)
			s, err := HashFile(t.Context(), bytes.NewReader(data), tt.size, tt.chunk)
			if err != nil {
				t.Fatal(err)
			}
			if s.SHA256 != sha256.Sum256(data) || s.Size != tt.size || s.ChunkSize != tt.chunk || s.Hex() != fmt.Sprintf("%x", sha256.Sum256(data)) {
				t.Errorf("HashFile = %+v, want the whole file's digest", s)
			}
			if want := (tt.size + tt.chunk - 1) / tt.chunk; int64(len(s.Segments)) != want {
				t.Fatalf("%d segment digests, want %d", len(s.Segments), want)
			}
			for i, d := range s.Segments {
				off := int64(i) * tt.chunk
				if d != sha256.Sum256(data[off:min(off+tt.chunk, tt.size)]) {
					t.Errorf("segment %d digest differs", i)
				}
			}
		})
	}
	data := testBytes(5000, 51)
	if _, err := HashFile(t.Context(), bytes.NewReader(data[:4000]), 5000, 1000); !errors.Is(err, ErrSource) {
		t.Errorf("HashFile of a short file = %v, want ErrSource", err)
	}
	if _, err := HashFile(t.Context(), failingReader{}, 5000, 1000); !errors.Is(err, ErrSource) {
		t.Errorf("HashFile of an unreadable file = %v, want ErrSource", err)
	}
	if _, err := HashFile(t.Context(), bytes.NewReader(data), 5000, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("HashFile with chunk 0 = %v, want ErrInvalid", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := HashFile(ctx, bytes.NewReader(data), 5000, 1000); !errors.Is(err, context.Canceled) {
		t.Errorf("HashFile with a cancelled context = %v, want context.Canceled", err)
	}
}

type failingReader struct{}

func (failingReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("input/output error") }

// mutableFile is a file another process may rewrite in place.
type mutableFile struct {
	mu   sync.Mutex
	data []byte
}

func (f *mutableFile) ReadAt(p []byte, off int64) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func (f *mutableFile) flip(off int) {
	f.mu.Lock()
	f.data[off] ^= 0xff
	f.mu.Unlock()
}

// The bytes sent are the bytes recorded (issue 17.2): with Media.Sums, a
// segment (or one-shot body) whose bytes are no longer those hashed fails
// before its last byte leaves, so the server never stores it, and the
// upload ends with a non-permanent ErrSource saying the file changed.
func TestSumsVerified(t *testing.T) {
	video := Media{Name: "v.mp4", Size: 3500, Type: "video/mp4"}
	image := Media{Name: "p.png", Size: 3500, Type: "image/png"}
	tests := []struct {
		name       string
		m          Media
		sumsChunk  int64                // chunk size the caller hashed at
		change     func(f *mutableFile) // before the upload
		duringSeg0 func(f *mutableFile) // while segment 0 is being received
		wantErr    bool
		stored     []int // segments the server holds after the error
		short      int   // request bodies cut short
	}{
		{"unchanged", video, 1000, nil, nil, false, nil, 0},
		{"unchanged one-shot", image, 1000, nil, nil, false, nil, 0},
		{"unchanged, hashed at another chunk size", video, 700, nil, nil, false, nil, 0},
		{"segment 1 rewritten before", video, 1000, func(f *mutableFile) { f.flip(1500) }, nil, true, []int{0}, 1},
		{"last segment rewritten during the upload", video, 1000, nil, func(f *mutableFile) { f.flip(3499) }, true, []int{0, 1, 2}, 1},
		{"one-shot rewritten", image, 1000, func(f *mutableFile) { f.flip(2000) }, nil, true, []int{}, 1},
		// Re-hashed at the upload's size first: the whole digest differs, nothing is sent.
		{"rewritten, hashed at another chunk size", video, 700, func(f *mutableFile) { f.flip(10) }, nil, true, []int{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				data := append([]byte("\x89PNG\r\n\x1a\n"), testBytes(3492, 52)...)
				file := &mutableFile{data: bytes.Clone(data)}
				sums, err := HashFile(t.Context(), file, int64(len(data)), tt.sumsChunk)
				if err != nil {
					t.Fatal(err)
				}
				if tt.change != nil {
					tt.change(file)
				}
				f := newFakeX(t)
				var mu sync.Mutex
				short := 0 // bodies the server did not receive in full
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op != "APPEND" && op != "UPLOAD" {
						return false
					}
					body, err := io.ReadAll(r.Body)
					if err != nil || int64(len(body)) != r.ContentLength {
						mu.Lock()
						short++
						mu.Unlock()
						fail(w, 400, "malformed multipart body")
						return true
					}
					if tt.duringSeg0 != nil && bytes.Contains(body, []byte(`name="segment_index"`+"\r\n\r\n0\r\n")) {
						tt.duringSeg0(file)
					}
					r.Body = io.NopCloser(bytes.NewReader(body))
					return false
				}
				c := f.newClient(Options{ChunkSize: 1000, ChunkParallelism: 1, SimpleUploadMax: 4000})
				m := tt.m
				m.Sums = &sums
				_, err = c.Upload(t.Context(), file, m, nil)
				if !tt.wantErr {
					if err != nil {
						t.Fatalf("Upload = %v", err)
					}
					return
				}
				if !errors.Is(err, ErrSource) || IsPermanent(err) || !strings.Contains(err.Error(), "changed while uploading") {
					t.Fatalf("Upload = %v; want a non-permanent ErrSource saying the file changed while uploading", err)
				}
				if f.count("FINALIZE") != 0 {
					t.Error("FINALIZE was sent")
				}
				f.mu.Lock()
				defer f.mu.Unlock()
				held := []int{}
				for _, fm := range f.media {
					if fm.finalized {
						t.Errorf("server holds finalized media %s", fm.id)
					}
					for i := range fm.segs {
						held = append(held, i)
					}
				}
				slices.Sort(held)
				if !slices.Equal(held, tt.stored) || short != tt.short {
					t.Errorf("server holds segments %v after %d bodies cut short; want %v after %d (the changed part never complete)", held, short, tt.stored, tt.short)
				}
			})
		})
	}
}

// Sums of a file of another size are refused before any request; a Resume
// at another chunk size than the Sums' re-hashes and goes on.
func TestSumsSizeAndResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := testBytes(3500, 53)
		sums, err := HashFile(t.Context(), bytes.NewReader(data), 3500, 1000)
		if err != nil {
			t.Fatal(err)
		}
		f := newFakeX(t)
		c := f.newClient(Options{ChunkSize: 1000, ChunkParallelism: 1})
		m := Media{Name: "v.mp4", Size: 3400, Type: "video/mp4", Sums: &sums}
		if _, err := c.Upload(t.Context(), bytes.NewReader(data), m, nil); !errors.Is(err, ErrSource) || len(f.Calls()) != 0 {
			t.Fatalf("Upload with Sums of 3500 bytes for 3400 = %v after %v; want ErrSource and no request", err, f.Calls())
		}
		m.Size = 3500
		ctx, crash := context.WithCancel(t.Context())
		var saved Progress
		c2 := f.newClient(Options{ChunkSize: 1500, ChunkParallelism: 1})
		_, err = c2.Upload(ctx, bytes.NewReader(data), m, func(p Progress) {
			saved = p
			if len(p.Acked) == 1 {
				crash()
			}
		})
		if !errors.Is(err, context.Canceled) || saved.ChunkSize != 1500 {
			t.Fatalf("Upload = %v, progress %+v; want a crash after one 1500-byte segment", err, saved)
		}
		res, err := c.Resume(t.Context(), bytes.NewReader(data), m, saved, nil)
		if err != nil || res.MediaIDString != saved.MediaID || !bytes.Equal(f.get(res.MediaIDString).data, data) {
			t.Errorf("Resume = %+v, %v; want the same id with the file's bytes", res, err)
		}
	})
}

// sinkTransport answers like X without storing anything: the benchmark
// measures the client's cost, not a server's.
type sinkTransport struct{}

func (sinkTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return nil, err
		}
	}
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}}, Request: r}
	switch {
	case strings.HasSuffix(r.URL.Path, "/append"):
		resp.StatusCode, resp.Body = 204, http.NoBody
	default:
		resp.Body = io.NopCloser(strings.NewReader(`{"data":{"id":"1","media_key":"7_1","expires_after_secs":86400,"size":1}}`))
	}
	return resp, nil
}

// BenchmarkVerify streams a 64 MiB video through the client to a sink with
// and without Media.Sums (each segment hashed while sent), and measures
// HashFile, the caller's pass that records the Sums. MB/s is the client's
// throughput; B/op shows that verification buffers nothing.
func BenchmarkVerify(b *testing.B) {
	const size = 64 << 20
	data := testBytes(size, 54)
	sums, err := HashFile(context.Background(), bytes.NewReader(data), size, 4<<20)
	if err != nil {
		b.Fatal(err)
	}
	for _, verify := range []bool{false, true} {
		b.Run(fmt.Sprintf("upload/verify=%v", verify), func(b *testing.B) {
			c := New(&http.Client{Transport: sinkTransport{}}, Options{BaseURL: "https://sink.invalid", ChunkParallelism: 1})
			m := Media{Name: "v.mp4", Size: size, Type: "video/mp4"}
			if verify {
				m.Sums = &sums
			}
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Upload(b.Context(), bytes.NewReader(data), m, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("HashFile", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := HashFile(b.Context(), bytes.NewReader(data), size, 4<<20); err != nil {
				b.Fatal(err)
			}
		}
	})
}
