package uploader

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"mime/multipart"
	"net/textproto"
	"path"
	"strings"

	"golang.org/x/time/rate"
)

// multipartForm is a multipart/form-data body of plain fields followed by
// one file part whose bytes are streamed from the media file. The framing is
// computed once, so every attempt sends an exact Content-Length (no chunked
// encoding, which some edges refuse) and needs no goroutine or pipe: memory
// per request is the framing plus the transport's copy buffer, whatever the
// segment size.
type multipartForm struct {
	prefix      []byte // fields and the file part's header
	suffix      []byte // closing boundary
	contentType string // "multipart/form-data; boundary=…" (semicolon: v2 refuses a comma)
}

type field struct{ name, value string }

func newMultipartForm(fields []field, fileField, fileName, fileType string) (*multipartForm, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := mw.WriteField(f.name, f.value); err != nil {
			return nil, err
		}
	}
	h := make(textproto.MIMEHeader)
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, fileField, partFileName(fileName)))
	h.Set("Content-Type", fileType)
	if _, err := mw.CreatePart(h); err != nil {
		return nil, err
	}
	prefix := bytes.Clone(buf.Bytes())
	buf.Reset()
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return &multipartForm{
		prefix:      prefix,
		suffix:      bytes.Clone(buf.Bytes()),
		contentType: "multipart/form-data; boundary=" + mw.Boundary(),
	}, nil
}

// body returns a fresh reader for the whole form and its exact length, the
// file part read from r[off:off+n] through the attempt's source reader.
// When want is not nil, the file part must have that SHA-256 (see
// sourceReader).
func (f *multipartForm) body(a *attempt, lim *rate.Limiter, r io.ReaderAt, off, n int64, want *digest) (io.Reader, int64) {
	src := &sourceReader{a: a, lim: lim, r: io.NewSectionReader(r, off, n), left: n}
	if want != nil {
		src.want, src.h, src.off = want, sha256.New(), off
	}
	var body io.Reader = io.MultiReader(bytes.NewReader(f.prefix), src, bytes.NewReader(f.suffix))
	if a.wd != nil {
		body = &progressReader{r: body, wd: a.wd}
	}
	return body, int64(len(f.prefix)) + n + int64(len(f.suffix))
}

// maxPartFileName bounds the multipart filename, in bytes.
const maxPartFileName = 100

// partFileName returns the filename sent in the file part's
// Content-Disposition. X ignores it (the bytes decide the type), but a
// control character, quote, backslash or invalid UTF-8 in it would make our
// own header unparsable ("malformed multipart body", issue 17.6), so only
// printable ASCII other than " \ / ; % is kept (RFC 7578 §4.2: no path),
// everything else becomes "_", and the name is cut to 100 bytes keeping
// its extension. An empty result is "media".
func partFileName(name string) string {
	b := []byte(name)
	for i, c := range b {
		if c < 0x20 || c > 0x7e || strings.IndexByte(`"\/;%`, c) >= 0 {
			b[i] = '_'
		}
	}
	s := strings.TrimSpace(string(b))
	if len(s) > maxPartFileName {
		ext := path.Ext(s)
		if len(ext) > 16 {
			ext = ""
		}
		s = s[:maxPartFileName-len(ext)] + ext
	}
	if s == "" || s == "." || s == ".." {
		return "media"
	}
	return s
}

// digest is a SHA-256.
type digest = [sha256.Size]byte

// sourceReader streams a part of the media file into a request body. It
// throttles to the client's bandwidth limit, feeds the stall watchdog, and
// records a read failure or a file that got shorter as ErrSource, so that
// the retry loop does not retry what cannot succeed. With want set, it
// hashes what it streams and, when the part's SHA-256 is not want, fails
// the read that holds the part's last bytes instead of returning them: the
// server never receives a complete part, so it cannot accept bytes other
// than those the caller recorded.
type sourceReader struct {
	a    *attempt
	lim  *rate.Limiter
	r    io.Reader
	left int64

	want *digest
	h    hash.Hash
	off  int64 // of the part in the file, for messages
}

func (s *sourceReader) Read(p []byte) (int, error) {
	if s.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > s.left {
		p = p[:s.left]
	}
	if s.lim != nil {
		if b := s.lim.Burst(); len(p) > b {
			p = p[:b]
		}
		if s.a.wd != nil {
			s.a.wd.pause()
		}
		err := s.lim.WaitN(s.a.ctx, len(p))
		if s.a.wd != nil {
			s.a.wd.resume()
		}
		if err != nil {
			return 0, err
		}
	}
	n, err := s.r.Read(p)
	s.left -= int64(n)
	if s.h != nil {
		s.h.Write(p[:n])
	}
	switch {
	case err == io.EOF && s.left > 0:
		err = s.fail(fmt.Errorf("%w: file ended %d bytes early", ErrSource, s.left))
	case err == io.EOF:
	case err != nil:
		err = s.fail(fmt.Errorf("%w: %w", ErrSource, err))
	case s.left == 0:
		err = io.EOF
	}
	if s.left == 0 && s.h != nil && !bytes.Equal(s.h.Sum(nil), s.want[:]) {
		// Withhold the last bytes: the part stays incomplete.
		return 0, s.fail(fmt.Errorf("%w: the file changed while uploading: bytes from offset %d differ from those hashed before the upload", ErrSource, s.off))
	}
	return n, err
}

func (s *sourceReader) fail(err error) error {
	s.a.srcErr.CompareAndSwap(nil, &err)
	return err
}

// newBandwidthLimiter returns a token bucket of limit bytes/s shared by all
// uploads of a Client, or nil for no limit. The burst is small enough to
// keep the rate smooth and large enough not to cost a wake-up per 4 KiB.
func newBandwidthLimiter(limit int64) *rate.Limiter {
	if limit <= 0 {
		return nil
	}
	burst := min(max(limit/8, 16<<10), 256<<10)
	return rate.NewLimiter(rate.Limit(limit), int(burst))
}
