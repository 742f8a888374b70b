package uploader

import (
	"errors"
	"testing"
)

func TestPlanChunks(t *testing.T) {
	tests := []struct {
		name                string
		size, chunk, lim    int64
		wantN               int
		wantFirst, wantLast int64
		wantErr             error
	}{
		{"one byte", 1, 4 << 20, 4 << 20, 1, 1, 1, nil},
		{"exact chunk", 4 << 20, 4 << 20, 4 << 20, 1, 4 << 20, 4 << 20, nil},
		{"chunk plus one", 4<<20 + 1, 4 << 20, 4 << 20, 2, 4 << 20, 1, nil},
		{"ten and a half", 10*1000 + 500, 1000, 4 << 20, 11, 1000, 500, nil},
		{"grows to fit 1000 segments", 1000*1000 + 1, 1000, 4 << 20, 1000, 1001, 1000*1000 + 1 - 999*1001, nil},
		{"exactly 1000 segments", 1000 * 1000, 1000, 4 << 20, 1000, 1000, 1000, nil},
		{"too large for limit", 1000*(4<<20) + 1, 4 << 20, 4 << 20, 0, 0, 0, ErrTooLarge},
		{"empty", 0, 4 << 20, 4 << 20, 0, 0, 0, ErrEmpty},
		{"chunk over limit", 10, 5 << 20, 4 << 20, 0, 0, 0, ErrInvalid},
		{"zero chunk", 10, 0, 4 << 20, 0, 0, 0, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, err := planChunks(tt.size, tt.chunk, tt.lim)
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("planChunks(%d, %d, %d) error = %v, want %v", tt.size, tt.chunk, tt.lim, err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if len(segs) != tt.wantN || segs[0].n != tt.wantFirst || segs[len(segs)-1].n != tt.wantLast {
				t.Errorf("planChunks(%d, %d, %d) = %d segments, first %d, last %d; want %d, %d, %d",
					tt.size, tt.chunk, tt.lim, len(segs), segs[0].n, segs[len(segs)-1].n, tt.wantN, tt.wantFirst, tt.wantLast)
			}
			checkTiling(t, segs, tt.size, tt.lim)
		})
	}
}

func checkTiling(t *testing.T, segs []segment, size, limit int64) {
	t.Helper()
	if len(segs) == 0 || len(segs) > MaxSegments {
		t.Fatalf("%d segments for %d bytes, want 1..%d", len(segs), size, MaxSegments)
	}
	var off int64
	for i, s := range segs {
		if s.index != i || s.off != off || s.n <= 0 || s.n > limit {
			t.Fatalf("segment %d = %+v, want index %d at offset %d with 1..%d bytes", i, s, i, off, limit)
		}
		off += s.n
	}
	if off != size {
		t.Fatalf("segments cover %d bytes, want %d", off, size)
	}
}

func FuzzChunkPlan(f *testing.F) {
	f.Add(int64(1), int64(1), int64(1))
	f.Add(int64(512<<20), int64(4<<20), int64(4<<20))
	f.Add(int64(1000*1000+1), int64(1000), int64(4<<20))
	f.Add(int64(1<<40), int64(1), int64(5<<20))
	f.Fuzz(func(t *testing.T, size, chunk, limit int64) {
		if size > 1<<42 {
			size %= 1 << 42
		}
		segs, err := planChunks(size, chunk, limit)
		if err != nil {
			if size > 0 && chunk > 0 && limit > 0 && chunk <= limit && (size+MaxSegments-1)/MaxSegments <= limit {
				t.Fatalf("planChunks(%d, %d, %d) = %v, want a plan", size, chunk, limit, err)
			}
			return
		}
		checkTiling(t, segs, size, limit)
		for _, s := range segs[:len(segs)-1] {
			if s.n < chunk {
				t.Fatalf("inner segment %+v shorter than chunk %d", s, chunk)
			}
		}
	})
}
