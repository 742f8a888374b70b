package uploader

import "fmt"

// segment is one APPEND: segment_index and the byte range it carries.
type segment struct {
	index int
	off   int64
	n     int64
	sum   *digest // the SHA-256 the bytes must have (Media.Sums); nil: not verified
}

// planChunks splits size bytes into segments of chunk bytes (the last one
// shorter). When chunk would need more than MaxSegments segments, it grows
// to ceil(size/MaxSegments), as long as that stays within limit. The
// segments tile [0, size) in order, there are at most MaxSegments, and none
// is larger than limit or empty.
func planChunks(size, chunk, limit int64) ([]segment, error) {
	if size <= 0 {
		return nil, fmt.Errorf("plan segments: %w", ErrEmpty)
	}
	if chunk <= 0 || limit <= 0 || chunk > limit {
		return nil, fmt.Errorf("plan segments: %w: chunk size %d (limit %d)", ErrInvalid, chunk, limit)
	}
	if need := (size + MaxSegments - 1) / MaxSegments; chunk < need {
		chunk = need
	}
	if chunk > limit {
		return nil, fmt.Errorf("plan segments: %w: %d bytes need more than %d segments of at most %d bytes", ErrTooLarge, size, MaxSegments, limit)
	}
	n := int((size + chunk - 1) / chunk)
	segs := make([]segment, n)
	for i := range segs {
		off := int64(i) * chunk
		segs[i] = segment{index: i, off: off, n: min(chunk, size-off)}
	}
	return segs, nil
}
