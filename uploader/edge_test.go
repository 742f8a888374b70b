package uploader

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
)

// X's edge refuses a request body over a limit it does not publish with 413
// and an empty body (5 MiB APPENDs, trypostit/trypost PR #31; API.md §4.2).
// The upload halves its segment size and carries on, reporting the new
// size for Resume; it is never "too large" (skipped) for that.
func TestEdge413HalvesSegments(t *testing.T) {
	const size = 9 << 20
	data := testBytes(size, 40)
	m := Media{Name: "v.mp4", Size: size, Type: "video/mp4"}
	sums, err := HashFile(context.Background(), bytes.NewReader(data), size, 4<<20)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		sums *Sums
	}{{"without sums", nil}, {"sums at the old size", &sums}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.edgeLimit = 3 << 20
				c := f.newClient(Options{ChunkParallelism: 1})
				var sizes []int64
				m := m
				m.Sums = tt.sums
				res, err := c.Upload(t.Context(), bytes.NewReader(data), m, func(p Progress) {
					if len(sizes) == 0 || sizes[len(sizes)-1] != p.ChunkSize {
						sizes = append(sizes, p.ChunkSize)
					}
				})
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				if got := f.get(res.MediaIDString); got == nil || !bytes.Equal(got.data, data) {
					t.Fatal("the server's bytes are not the file's")
				}
				if f.count("INIT") != 1 || f.count("413") != 1 {
					t.Errorf("%d INITs, %d answers 413; want 1 and 1 (same media id: no segment was acknowledged)", f.count("INIT"), f.count("413"))
				}
				if len(sizes) != 2 || sizes[0] != 4<<20 || sizes[1] != 2<<20 {
					t.Errorf("progress reported chunk sizes %v, want 4 MiB then 2 MiB", sizes)
				}
			})
		})
	}
}

// Segments acknowledged at the old size (here by a run before a restart)
// cannot be mixed with smaller ones: the upload starts on a fresh media id
// at the new size. A Resume of a progress already at the new size sends no
// segment of the old size again.
func TestEdge413AfterAckedSegments(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const size = 9 << 20
		data := testBytes(size, 41)
		m := Media{Name: "v.mp4", Size: size, Type: "video/mp4"}
		f := newFakeX(t)
		c := f.newClient(Options{ChunkParallelism: 1})

		// Run 1 (no edge limit yet) dies after segment 0.
		ctx, crash := context.WithCancel(t.Context())
		var saved Progress
		_, err := c.Upload(ctx, bytes.NewReader(data), m, func(p Progress) {
			saved = p
			if len(p.Acked) == 1 {
				crash()
			}
		})
		if !errors.Is(err, context.Canceled) || len(saved.Acked) != 1 || saved.ChunkSize != 4<<20 {
			t.Fatalf("Upload = %v with progress %+v; want a crash after one 4 MiB segment", err, saved)
		}

		// Run 2 meets the edge limit; run 3 resumes what run 2 saved.
		f.edgeLimit = 3 << 20
		ctx, crash = context.WithCancel(t.Context())
		var second Progress
		_, err = c.Resume(ctx, bytes.NewReader(data), m, saved, func(p Progress) {
			second = p
			if len(p.Acked) == 2 {
				crash()
			}
		})
		if !errors.Is(err, context.Canceled) || second.MediaID == saved.MediaID || second.ChunkSize != 2<<20 || len(second.Acked) != 2 {
			t.Fatalf("Resume = %v with progress %+v; want a fresh media id at 2 MiB with 2 segments", err, second)
		}
		refusals := f.count("413")
		res, err := c.Resume(t.Context(), bytes.NewReader(data), m, second, nil)
		if err != nil || res.MediaIDString != second.MediaID {
			t.Fatalf("second Resume = %+v, %v; want id %s", res, err, second.MediaID)
		}
		if got := f.get(res.MediaIDString); !bytes.Equal(got.data, data) {
			t.Fatal("the server's bytes are not the file's")
		}
		if n := f.count("413") - refusals; n != 0 || f.count("INIT") != 2 {
			t.Errorf("%d more answers 413 and %d INITs in all; want none and 2", n, f.count("INIT"))
		}
	})
}

// At the 1 MiB floor a 413 is a permanent error that says so, not
// ErrTooLarge (the file is not over X's limit, the edge refuses the
// request); an INIT or one-shot refused with 413 is ErrTooLarge.
func TestEdge413Floor(t *testing.T) {
	t.Run("segment at the floor", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeX(t)
			f.edgeLimit = 512 << 10
			c := f.newClient(Options{ChunkParallelism: 1})
			data := testBytes(9<<20, 42)
			_, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: int64(len(data)), Type: "video/mp4"}, nil)
			if err == nil || !IsPermanent(err) || errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "cannot be smaller than 1048576 bytes") {
				t.Fatalf("Upload = %v; want a permanent error, not ErrTooLarge, saying segments cannot be smaller", err)
			}
			if n := f.count("413"); n != 3 {
				t.Errorf("%d answers 413, want 3 (4, 2 and 1 MiB)", n)
			}
		})
	})
	for _, op := range []string{"INIT", "UPLOAD"} {
		t.Run(op, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.hook = func(got string, w http.ResponseWriter, r *http.Request) bool {
					if got != op {
						return false
					}
					w.WriteHeader(http.StatusRequestEntityTooLarge)
					return true
				}
				c := f.newClient(Options{})
				data := append([]byte("\x89PNG\r\n\x1a\n"), testBytes(3000, 43)...)
				m := Media{Name: "p.png", Size: int64(len(data)), Type: "image/png"}
				if op == "INIT" {
					m.Name, m.Type = "v.mp4", "video/mp4"
				}
				_, err := c.Upload(t.Context(), bytes.NewReader(data), m, nil)
				if !errors.Is(err, ErrTooLarge) || !IsPermanent(err) {
					t.Errorf("Upload with %s answered 413 = %v, want ErrTooLarge", op, err)
				}
			})
		})
	}
}
