package fit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"
)

// source reads the photo for the decoders. Every read first checks ctx, so
// a decode stops at its next read once ctx is done, and the first error of
// the underlying reader (other than EOF) is kept: a decoder reports it as a
// format error, but it is not one.
type source struct {
	ctx   context.Context
	r     io.ReaderAt
	size  int64
	ioErr error
}

func (s *source) ReadAt(p []byte, off int64) (int, error) {
	if err := s.ctx.Err(); err != nil {
		return 0, err
	}
	if off >= s.size {
		return 0, io.EOF
	}
	if rest := s.size - off; int64(len(p)) > rest {
		n, err := s.readAt(p[:rest], off)
		if err == nil {
			err = io.EOF
		}
		return n, err
	}
	return s.readAt(p, off)
}

func (s *source) readAt(p []byte, off int64) (int, error) {
	n, err := s.r.ReadAt(p, off)
	if n == len(p) {
		return n, nil
	}
	if err != nil && !errors.Is(err, io.EOF) && s.ioErr == nil {
		s.ioErr = err
	}
	return n, err
}

// reader returns a buffered stream over the whole photo.
func (s *source) reader() io.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(s, 0, s.size), 64<<10)
}

// failed turns a decoder's error into Fit's: ctx.Err() on cancellation, a
// read error as one, else the photo is undecodable.
func (s *source) failed(f *format, what string, err error) error {
	if cerr := s.ctx.Err(); cerr != nil {
		return cerr
	}
	if s.ioErr != nil {
		return fmt.Errorf("read photo: %w", s.ioErr)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the %s file is cut short (%s); copy it again from the camera or export it again", ErrUndecodable, f.name, what)
	}
	return fmt.Errorf("%w: the %s file is damaged or uses a variant mediasync does not read (%s: %v); export it again as JPEG", ErrUndecodable, f.name, what, err)
}

// format finds the format of the photo: that of mediaType, which the
// content must match, or the content's when mediaType is "".
func (s *source) format(mediaType string) (*format, error) {
	head := make([]byte, 16)
	n, err := s.ReadAt(head, 0)
	if n < len(head) && err != nil && !errors.Is(err, io.EOF) {
		if cerr := s.ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, fmt.Errorf("read photo: %w", err)
	}
	head = head[:n]
	if mediaType == "" {
		for _, f := range formats {
			if f.magic(head) {
				return f, nil
			}
		}
		return nil, fmt.Errorf("%w: it is not a JPEG, PNG, TIFF, WebP or BMP file", ErrUndecodable)
	}
	f, ok := formatOf(mediaType)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: %s is not a photo type mediasync converts (JPEG, PNG, TIFF, WebP, BMP)", ErrUndecodable, mediaType)
	case f == nil:
		return nil, fmt.Errorf("%w: %s", ErrUndecodable, cannotRead(mediaType))
	case !f.magic(head):
		return nil, fmt.Errorf("%w: it is not the %s file its type says; it may have been replaced while being read", ErrUndecodable, f.name)
	}
	return f, nil
}

// decodeConfig reads only the header: the dimensions the decoder will
// allocate for.
func (s *source) decodeConfig(f *format) (image.Config, error) {
	var cfg image.Config
	var err error
	switch f {
	case formatJPEG:
		cfg, err = jpeg.DecodeConfig(s.reader())
	case formatPNG:
		cfg, err = png.DecodeConfig(s.reader())
	case formatTIFF:
		cfg, err = tiff.DecodeConfig(io.NewSectionReader(s, 0, s.size))
	case formatWebP:
		cfg, err = webp.DecodeConfig(s.reader())
	case formatBMP:
		cfg, err = bmp.DecodeConfig(s.reader())
	}
	if err != nil {
		return cfg, s.failed(f, "header", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, fmt.Errorf("%w: its %s header says it is %d×%d pixels", ErrUndecodable, f.name, cfg.Width, cfg.Height)
	}
	return cfg, nil
}

// decode decodes the whole photo: the first frame.
func (s *source) decode(f *format) (image.Image, error) {
	var img image.Image
	var err error
	switch f {
	case formatJPEG:
		img, err = jpeg.Decode(s.reader())
	case formatPNG:
		img, err = png.Decode(s.reader())
	case formatTIFF:
		// The TIFF decoder seeks; given a ReaderAt it reads only the
		// strips, else it would buffer the whole file.
		img, err = tiff.Decode(io.NewSectionReader(s, 0, s.size))
	case formatWebP:
		img, err = webp.Decode(s.reader())
	case formatBMP:
		img, err = bmp.Decode(s.reader())
	}
	if err != nil {
		return nil, s.failed(f, "image data", err)
	}
	return img, nil
}
