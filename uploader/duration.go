package uploader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"
)

// MaxVideoDuration is the longest video X accepts as tweet_video or dm_video
// (API.md §1.7: 0.5–140 s). A longer one uploads completely and then fails
// processing with code 3 UnsupportedMedia. amplify_video has no limit here:
// the account's entitlement decides it.
const MaxVideoDuration = 140 * time.Second

// durationLimited are the categories MaxVideoDuration applies to.
var durationLimited = map[string]bool{CategoryTweetVideo: true, CategoryDMVideo: true}

// Bounds of the duration probe: it reads box headers and one mvhd, never a
// buffer sized by the file.
const maxProbeBoxes = 4096 // boxes looked at per level before giving up

// errNoDuration is a probe that found no usable duration; it is never
// returned on its own, always wrapped with the reason.
var errNoDuration = errors.New("no usable duration")

// ProbeDuration returns m with Duration set from the bytes in r when m.Type
// is video/mp4 or video/quicktime (see [VideoDuration]); for other types it
// returns m with Duration 0 (not checked) and nil. When the duration cannot be read it returns m
// with Duration 0 (not checked: the server decides) and the reason, which a
// caller logs at debug level and otherwise ignores. It reads only box
// headers and the movie header (well under a KiB for a usual file, at most
// 4096 headers per level for a pathological one), wherever moov lies.
func ProbeDuration(r io.ReaderAt, m Media) (Media, error) {
	m.Duration = 0
	if m.Type != "video/mp4" && m.Type != "video/quicktime" {
		return m, nil
	}
	d, err := VideoDuration(r, m.Size)
	if err != nil {
		return m, fmt.Errorf("probe %s: %w", m.Name, err)
	}
	m.Duration = d
	return m, nil
}

// VideoDuration returns the playing time an MP4 or QuickTime file of size
// bytes states in its movie header (moov/mvhd, version 0 or 1), or, for a
// fragmented file whose mvhd says 0, in its movie extends header
// (moov/mvex/mehd). It walks the top-level boxes with ReadAt (moov may come
// after a large mdat; 64-bit sizes and size 0, "to the end of the file",
// are understood) and reads only box headers and the one header it needs:
// memory and reads do not grow with the file. Anything malformed (a box that
// runs past the file or its parent, no moov or mvhd, a zero timescale, an
// unknown version, an "undetermined" all-ones duration, a duration beyond
// time.Duration) is an error saying so; a failing read wraps [ErrSource].
// Sub-nanosecond remainders are truncated.
func VideoDuration(r io.ReaderAt, size int64) (time.Duration, error) {
	moov, err := findBox(r, 0, size, "moov")
	if err != nil {
		return 0, fmt.Errorf("video duration: %w", err)
	}
	timescale, dur, err := readMVHD(r, moov)
	if err != nil {
		return 0, fmt.Errorf("video duration: %w", err)
	}
	if dur == 0 {
		// Fragmented MP4: the whole duration, if stated, is in mvex/mehd.
		if dur, err = readMEHD(r, moov); err != nil {
			return 0, fmt.Errorf("video duration: mvhd states 0 and %w", err)
		}
	}
	d, ok := toDuration(dur, timescale)
	if !ok {
		return 0, fmt.Errorf("video duration: %w: %d units of 1/%d s is out of range", errNoDuration, dur, timescale)
	}
	return d, nil
}

// span is a box's payload: [start, end) of the file, after its header.
type span struct{ start, end int64 }

// findBox returns the payload of the first box named typ among the boxes
// tiling [from, to).
func findBox(r io.ReaderAt, from, to int64, typ string) (span, error) {
	off := from
	for range maxProbeBoxes {
		if to-off < 8 {
			return span{}, fmt.Errorf("%w: no %s box", errNoDuration, typ)
		}
		var hdr [16]byte
		if err := readFull(r, hdr[:8], off); err != nil {
			return span{}, fmt.Errorf("box header at %d: %w", off, err)
		}
		n := int64(binary.BigEndian.Uint32(hdr[:4]))
		name := string(hdr[4:8])
		head := int64(8)
		switch n {
		case 0: // to the end of the enclosing space
			n = to - off
		case 1: // 64-bit size follows the type
			if to-off < 16 {
				return span{}, fmt.Errorf("%w: box %q at %d: truncated 64-bit size", errNoDuration, name, off)
			}
			if err := readFull(r, hdr[8:16], off+8); err != nil {
				return span{}, fmt.Errorf("box size at %d: %w", off, err)
			}
			u := binary.BigEndian.Uint64(hdr[8:16])
			if u > uint64(to-off) {
				return span{}, fmt.Errorf("%w: box %q at %d: size %d runs past the end at %d", errNoDuration, name, off, u, to)
			}
			n, head = int64(u), 16
		}
		if n < head || n > to-off {
			return span{}, fmt.Errorf("%w: box %q at %d: bad size %d (space left %d)", errNoDuration, name, off, n, to-off)
		}
		if name == typ {
			return span{off + head, off + n}, nil
		}
		off += n
	}
	return span{}, fmt.Errorf("%w: no %s box among the first %d", errNoDuration, typ, maxProbeBoxes)
}

// readMVHD returns the timescale and duration of the mvhd box in moov.
func readMVHD(r io.ReaderAt, moov span) (timescale uint32, dur uint64, err error) {
	mvhd, err := findBox(r, moov.start, moov.end, "mvhd")
	if err != nil {
		return 0, 0, err
	}
	// version/flags, then v0: creation, modification, timescale, duration (32 bits each);
	// v1: creation, modification (64 bits), timescale (32), duration (64).
	var b [32]byte
	if mvhd.end-mvhd.start < 4 {
		return 0, 0, fmt.Errorf("%w: mvhd too short", errNoDuration)
	}
	if err := readFull(r, b[:4], mvhd.start); err != nil {
		return 0, 0, fmt.Errorf("mvhd: %w", err)
	}
	var need int64
	switch b[0] {
	case 0:
		need = 20
	case 1:
		need = 32
	default:
		return 0, 0, fmt.Errorf("%w: mvhd version %d", errNoDuration, b[0])
	}
	if mvhd.end-mvhd.start < need {
		return 0, 0, fmt.Errorf("%w: mvhd version %d too short (%d bytes)", errNoDuration, b[0], mvhd.end-mvhd.start)
	}
	if err := readFull(r, b[4:need], mvhd.start+4); err != nil {
		return 0, 0, fmt.Errorf("mvhd: %w", err)
	}
	be := binary.BigEndian
	if b[0] == 0 {
		timescale, dur = be.Uint32(b[12:]), uint64(be.Uint32(b[16:]))
		if dur == 1<<32-1 {
			return 0, 0, fmt.Errorf("%w: mvhd duration undetermined", errNoDuration)
		}
	} else {
		timescale, dur = be.Uint32(b[20:]), be.Uint64(b[24:])
		if dur == 1<<64-1 {
			return 0, 0, fmt.Errorf("%w: mvhd duration undetermined", errNoDuration)
		}
	}
	if timescale == 0 {
		return 0, 0, fmt.Errorf("%w: mvhd timescale is 0", errNoDuration)
	}
	return timescale, dur, nil
}

// readMEHD returns the fragment_duration of moov/mvex/mehd (in the mvhd
// timescale); a missing or zero one is an error.
func readMEHD(r io.ReaderAt, moov span) (uint64, error) {
	mvex, err := findBox(r, moov.start, moov.end, "mvex")
	if err != nil {
		return 0, err
	}
	mehd, err := findBox(r, mvex.start, mvex.end, "mehd")
	if err != nil {
		return 0, err
	}
	var b [12]byte
	if mehd.end-mehd.start < 4 {
		return 0, fmt.Errorf("%w: mehd too short", errNoDuration)
	}
	if err := readFull(r, b[:4], mehd.start); err != nil {
		return 0, fmt.Errorf("mehd: %w", err)
	}
	var dur uint64
	switch b[0] {
	case 0:
		if mehd.end-mehd.start < 8 {
			return 0, fmt.Errorf("%w: mehd too short", errNoDuration)
		}
		if err := readFull(r, b[4:8], mehd.start+4); err != nil {
			return 0, fmt.Errorf("mehd: %w", err)
		}
		dur = uint64(binary.BigEndian.Uint32(b[4:]))
	case 1:
		if mehd.end-mehd.start < 12 {
			return 0, fmt.Errorf("%w: mehd too short", errNoDuration)
		}
		if err := readFull(r, b[4:12], mehd.start+4); err != nil {
			return 0, fmt.Errorf("mehd: %w", err)
		}
		dur = binary.BigEndian.Uint64(b[4:])
	default:
		return 0, fmt.Errorf("%w: mehd version %d", errNoDuration, b[0])
	}
	if dur == 0 {
		return 0, fmt.Errorf("%w: mehd states 0", errNoDuration)
	}
	return dur, nil
}

// toDuration converts units of 1/timescale s to a time.Duration, reporting
// false when it does not fit.
func toDuration(units uint64, timescale uint32) (time.Duration, bool) {
	ts := uint64(timescale)
	secs, rem := units/ts, units%ts
	const maxSecs = uint64(1<<63-1) / uint64(time.Second)
	if secs >= maxSecs {
		return 0, false
	}
	// rem < ts < 2^32, so rem·10^9 < 2^62: no overflow.
	return time.Duration(secs)*time.Second + time.Duration(rem*uint64(time.Second)/ts), true
}

// readFull reads len(p) bytes at off; a short read is an error wrapping
// ErrSource (the file is shorter than its size, or unreadable).
func readFull(r io.ReaderAt, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %w", ErrSource, err)
}
