package uploader

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// Sums are the SHA-256 digests of a file as the caller recorded it: of the
// whole file and of every segment of ChunkSize bytes (the last one
// shorter). Set as Media.Sums, they make the client verify that the bytes
// it sends are these (issue 17.2): see [HashFile] and [Media].
type Sums struct {
	Size      int64
	SHA256    [sha256.Size]byte
	ChunkSize int64
	Segments  [][sha256.Size]byte
}

// Hex is the whole-file digest in lower-case hex.
func (s *Sums) Hex() string { return hex.EncodeToString(s.SHA256[:]) }

// whole is the digest a one-shot body must have; nil without Sums.
func (s *Sums) whole() *digest {
	if s == nil {
		return nil
	}
	return &s.SHA256
}

// hashBuf is HashFile's read size.
const hashBuf = 256 << 10

// HashFile reads size bytes of r once and returns their SHA-256 and that of
// every segment of chunkSize bytes. A read failure or a file shorter than
// size wraps [ErrSource]; chunkSize must be positive. Memory is one 256 KiB
// buffer whatever the size; it checks ctx between reads.
func HashFile(ctx context.Context, r io.ReaderAt, size, chunkSize int64) (Sums, error) {
	if size < 0 || chunkSize <= 0 {
		return Sums{}, fmt.Errorf("hash file: %w: size %d, chunk size %d", ErrInvalid, size, chunkSize)
	}
	s := Sums{Size: size, ChunkSize: chunkSize, Segments: make([][sha256.Size]byte, 0, (size+chunkSize-1)/chunkSize)}
	whole, seg := sha256.New(), sha256.New()
	buf := make([]byte, min(hashBuf, max(size, 1)))
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return Sums{}, err
		}
		// Never read across a segment boundary, so each read feeds one segment.
		n := min(int64(len(buf)), size-off, chunkSize-off%chunkSize)
		got, err := r.ReadAt(buf[:n], off)
		whole.Write(buf[:got])
		seg.Write(buf[:got])
		off += int64(got)
		if int64(got) < n {
			if err == nil || errors.Is(err, io.EOF) {
				return Sums{}, fmt.Errorf("hash file: %w: file ended at %d of %d bytes", ErrSource, off, size)
			}
			return Sums{}, fmt.Errorf("hash file: %w: %w", ErrSource, err)
		}
		if off%chunkSize == 0 || off == size {
			s.Segments = append(s.Segments, [sha256.Size]byte(seg.Sum(nil)))
			seg.Reset()
		}
	}
	s.SHA256 = [sha256.Size]byte(whole.Sum(nil))
	return s, nil
}

// HashFile is the package's [HashFile] at the client's segment size
// (Options.ChunkSize): the Sums an upload of r by c verifies without hashing
// again.
func (c *Client) HashFile(ctx context.Context, r io.ReaderAt, size int64) (Sums, error) {
	return HashFile(ctx, r, size, c.opts.ChunkSize)
}

// changed is the error of bytes that are no longer those recorded.
func changed(name, what string) error {
	return fmt.Errorf("upload %s: %w: the file changed while uploading (%s)", name, ErrSource, what)
}

// checkSize refuses Sums taken of a file of another size.
func (s *Sums) checkSize(m Media) error {
	if s != nil && s.Size != m.Size {
		return changed(m.Name, fmt.Sprintf("%d bytes now, %d when hashed", m.Size, s.Size))
	}
	return nil
}

// fits reports whether s was taken at the segmentation of segs.
func (s *Sums) fits(segs []segment) bool {
	if len(s.Segments) != len(segs) {
		return false
	}
	for i, sg := range segs {
		if sg.off != int64(i)*s.ChunkSize {
			return false
		}
	}
	return true
}

// verifySegments sets the digest every segment must have from m.Sums (no-op
// without Sums): the recorded ones when they were taken at this
// segmentation; else (a resumed upload of another chunk size, a segment
// size halved after a 413) it hashes the file once more at this
// segmentation and requires the whole-file digest to be the recorded one.
func verifySegments(ctx context.Context, r io.ReaderAt, m Media, segs []segment) error {
	s := m.Sums
	if s == nil {
		return nil
	}
	if err := s.checkSize(m); err != nil {
		return err
	}
	if !s.fits(segs) {
		chunk := m.Size
		if len(segs) > 1 {
			chunk = segs[0].n
		}
		ns, err := HashFile(ctx, r, m.Size, chunk)
		if err != nil {
			return fmt.Errorf("upload %s: %w", m.Name, err)
		}
		if ns.SHA256 != s.SHA256 {
			return changed(m.Name, "its SHA-256 is no longer the one recorded")
		}
		s = &ns
	}
	for i := range segs {
		segs[i].sum = &s.Segments[i]
	}
	return nil
}
