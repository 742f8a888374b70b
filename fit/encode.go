package fit

import (
	"context"
	"image"
	"image/jpeg"
)

// search encodes frame as baseline JPEG at the highest quality in
// [minQ, maxQuality] whose encoding takes at most budget bytes, by binary
// search: the encoded size grows with the quality. It returns that quality
// and encoding, or data nil and, in smallest, the size at the lowest
// quality tried when none fits. Each probe is a full encode (about six for
// the 41 qualities); only the best fitting one is kept, and a probe over
// budget stops being stored once it passes it.
//
// Go's encoder writes baseline JPEG with 4:2:0 chroma (one component for an
// *image.Gray) and no APP segments; the same pixels at the same quality
// always give the same bytes.
func search(ctx context.Context, frame image.Image, budget int64, minQ int) (q int, data []byte, smallest int64, err error) {
	var best, scratch capped
	lo, hi := minQ, maxQuality
	for lo <= hi {
		if err := ctx.Err(); err != nil {
			return 0, nil, 0, err
		}
		mid := (lo + hi) / 2
		scratch.reset(budget)
		if err := jpeg.Encode(&scratch, frame, &jpeg.Options{Quality: mid}); err != nil {
			return 0, nil, 0, err // only for dimensions over 65,535, which Options rules out
		}
		if scratch.n <= budget {
			q = mid
			best, scratch = scratch, best
			lo = mid + 1
		} else {
			smallest = scratch.n
			hi = mid - 1
		}
	}
	if q == 0 {
		return 0, nil, smallest, nil
	}
	return q, best.buf, 0, nil
}

// capped is an io.Writer that keeps at most limit bytes and counts all.
type capped struct {
	buf   []byte
	n     int64
	limit int64
}

// reset empties c for a new encoding of at most limit kept bytes, with
// room for them all so that appending never copies.
func (c *capped) reset(limit int64) {
	if int64(cap(c.buf)) < limit {
		c.buf = make([]byte, 0, limit)
	}
	c.buf, c.n, c.limit = c.buf[:0], 0, limit
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.limit - int64(len(c.buf)); room > 0 {
		c.buf = append(c.buf, p[:min(int64(len(p)), room)]...)
	}
	c.n += int64(len(p))
	return len(p), nil
}
