package alttext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// MaxLen is X's limit on alt text, in characters (runes).
const MaxLen = 1000

// Source says where alt text came from.
type Source string

// The sources of alt text. The empty Source goes with empty text.
const (
	Sidecar Source = "sidecar" // a text file beside the media file, see [SidecarPaths]
	XMP     Source = "xmp"     // XMP AltTextAccessibility or dc:description
	IPTC    Source = "iptc"    // IPTC IIM Caption-Abstract (2:120)
	EXIF    Source = "exif"    // EXIF ImageDescription
	PNGText Source = "png"     // a PNG Description text chunk (tEXt, zTXt, iTXt)
)

// The modes of the alt_text configuration key.
const (
	ModeNone     = "none"
	ModeSidecar  = "sidecar"
	ModeEmbedded = "embedded"
	ModeAuto     = "auto"
)

// maxSidecar caps how much of a sidecar is read as text. A caption is at most
// MaxLen runes (4,000 bytes of UTF-8); anything beyond 64 KiB is cut.
// maxSidecarRest caps how much more is read, text unkept, to tell whether
// that cut dropped any (past it, it is assumed to have).
const (
	maxSidecar     = 64 << 10
	maxSidecarRest = 1 << 20
)

// ErrInvalidMode is returned by [Find] for a mode other than the four known.
var ErrInvalidMode = errors.New("invalid alt text mode")

// errNotRegular and errSymlink are wrapped in an [*Error] for a file that is
// not a regular one (a directory, a FIFO), or a sidecar that is a symbolic
// link.
var (
	errNotRegular = errors.New("not a regular file")
	errSymlink    = errors.New("a symbolic link, refused as a sidecar")
)

// The operations an [Error] reports.
const (
	opOpenSidecar = "open sidecar"
	opReadSidecar = "read sidecar"
	opOpenMedia   = "open media"
	opReadMedia   = "read media"
)

// Error reports a file that [Find] could not read.
type Error struct {
	Op   string // "open sidecar", "read sidecar", "open media" or "read media"
	Path string // the file that could not be read
	Err  error
}

func (e *Error) Error() string { return e.Op + " " + e.Path + ": " + e.Err.Error() }

func (e *Error) Unwrap() error { return e.Err }

// IsSidecar reports whether err is about a sidecar file rather than the media
// file itself: the media can still be uploaded, and the user has a sidecar to
// fix (unreadable, or not a regular file). A media file error usually means the
// upload will fail too.
func IsSidecar(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Op == opOpenSidecar || e.Op == opReadSidecar)
}

// ValidMode reports whether mode is one of "none", "sidecar", "embedded" and
// "auto".
func ValidMode(mode string) bool {
	switch mode {
	case ModeNone, ModeSidecar, ModeEmbedded, ModeAuto:
		return true
	}
	return false
}

// Find returns the alt text for the media file at path according to mode
// ("none", "sidecar", "embedded" or "auto"; auto = sidecar, else embedded).
// The text is normalised (see [Normalize]) and at most [MaxLen] runes;
// truncated reports that text was cut: by that limit, or, for a sidecar over
// 64 KiB, by the read limit when the rest of the file holds more than blanks
// (see the package comment). It returns "" and no error when there is
// no alt text; an error only for an invalid mode ([ErrInvalidMode]) or a file
// that could not be read ([*Error]). A sidecar that exists but cannot be read
// is an error, not a reason to fall back to the embedded caption.
func Find(path, mode string) (text string, src Source, truncated bool, err error) {
	if !ValidMode(mode) {
		return "", "", false, fmt.Errorf("find alt text for %s: %w: %q", path, ErrInvalidMode, mode)
	}
	if mode == ModeSidecar || mode == ModeAuto {
		text, truncated, err = fromSidecar(path)
		if err != nil {
			return "", "", false, err
		}
		if text != "" {
			return text, Sidecar, truncated, nil
		}
	}
	if mode == ModeEmbedded || mode == ModeAuto {
		return fromMedia(path)
	}
	return "", "", false, nil
}

// SidecarPaths returns the sidecar files that may hold alt text for the media
// file at path, in order of preference. For "dir/IMG_1.jpg":
//
//	dir/IMG_1.jpg.alt.txt
//	dir/IMG_1.alt.txt
//	dir/IMG_1.jpg.txt
//	dir/IMG_1.txt
//
// Names are matched exactly (case-sensitively). A file without an extension
// has two candidates (IMG_1.alt.txt, IMG_1.txt); a name that is only an
// extension (".jpg") has the two full-name ones.
func SidecarPaths(path string) []string {
	stem := strings.TrimSuffix(path, filepath.Ext(path))
	if strings.HasSuffix(stem, "/") || strings.HasSuffix(stem, string(filepath.Separator)) {
		stem = "" // the name is only an extension
	}
	out := []string{path + ".alt.txt"}
	if stem != "" && stem != path {
		out = append(out, stem+".alt.txt")
	}
	if stem != path {
		out = append(out, path+".txt")
	}
	if stem != "" {
		out = append(out, stem+".txt")
	}
	return out
}

// fromSidecar returns the normalised text of the first sidecar of path that
// exists and is not blank.
func fromSidecar(path string) (string, bool, error) {
	for _, p := range SidecarPaths(path) {
		raw, cut, err := readSidecar(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", false, err
		}
		text, truncated := Normalize(decodeText(raw))
		if text != "" {
			return text, truncated || cut, nil
		}
	}
	return "", false, nil
}

// readSidecar reads up to maxSidecar bytes of the sidecar at p (less a
// character cut in two at the end); cut reports that the rest of the file,
// read up to maxSidecarRest more bytes without keeping it, holds text (a
// visible character): a long run of blanks after a short caption is not a
// cut. It refuses anything but a regular file, without following a symbolic
// link or blocking on a FIFO.
func readSidecar(p string) (raw []byte, cut bool, err error) {
	f, err := openSidecar(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, false, err
		}
		if isSymlinkErr(err) {
			err = errSymlink
		}
		return nil, false, &Error{Op: opOpenSidecar, Path: p, Err: unwrapPath(err)}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, false, &Error{Op: opReadSidecar, Path: p, Err: unwrapPath(err)}
	}
	if !fi.Mode().IsRegular() {
		return nil, false, &Error{Op: opOpenSidecar, Path: p, Err: errNotRegular}
	}
	raw, err = io.ReadAll(io.LimitReader(f, maxSidecar))
	if err != nil {
		return nil, false, &Error{Op: opReadSidecar, Path: p, Err: unwrapPath(err)}
	}
	if len(raw) < maxSidecar {
		return raw, false, nil
	}
	bom := bomOf(raw)
	raw, carry := splitPartial(raw, len(bom))
	cut, err = holdsText(bom, carry, f)
	if err != nil {
		return nil, false, &Error{Op: opReadSidecar, Path: p, Err: unwrapPath(err)}
	}
	return raw, cut, nil
}

// holdsText reports whether carry followed by the next maxSidecarRest bytes
// of f holds a visible character, decoded as a sidecar starting with bom. It
// reads f in pieces, one in memory at a time; more than maxSidecarRest bytes
// left counts as text.
func holdsText(bom, carry []byte, f io.Reader) (bool, error) {
	r := &io.LimitedReader{R: f, N: maxSidecarRest}
	buf := make([]byte, len(bom)+3+32<<10)
	for {
		n := copy(buf, bom)
		n += copy(buf[n:], carry)
		m, err := io.ReadFull(r, buf[n:])
		n += m
		end := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !end {
			return false, err
		}
		piece := buf[:n]
		if !end {
			piece, carry = splitPartial(piece, len(bom))
			carry = bytes.Clone(carry)
		}
		if clean(decodeText(piece)) != "" {
			return true, nil
		}
		if end {
			break
		}
	}
	if r.N > 0 {
		return false, nil // the end of the file
	}
	var one [1]byte // the limit: is there more?
	n, err := f.Read(one[:])
	if n > 0 {
		return true, nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	return false, nil
}

// fromMedia returns the embedded caption of the media file at path.
func fromMedia(path string) (string, Source, bool, error) {
	f, err := openMedia(path)
	if err != nil {
		return "", "", false, &Error{Op: opOpenMedia, Path: path, Err: unwrapPath(err)}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", "", false, &Error{Op: opReadMedia, Path: path, Err: unwrapPath(err)}
	}
	if !fi.Mode().IsRegular() {
		return "", "", false, &Error{Op: opOpenMedia, Path: path, Err: errNotRegular}
	}
	text, src, err := Embedded(f, fi.Size())
	if err != nil {
		return "", "", false, &Error{Op: opReadMedia, Path: path, Err: err}
	}
	text, truncated := Normalize(text)
	if text == "" {
		return "", "", false, nil
	}
	return text, src, truncated, nil
}

// unwrapPath strips an *os.PathError, whose path and op [Error] already holds.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*os.PathError](err); ok {
		return pe.Err
	}
	return err
}
