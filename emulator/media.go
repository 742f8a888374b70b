package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig for GIF
	_ "image/jpeg"
	_ "image/png"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/gabriel-vasile/mimetype"
)

// Size limits of X's upload endpoints (API.md §1.7, §4.2).
const (
	maxImageBytes      = 5 << 20   // tweet_image, dm_image
	maxGIFBytes        = 15 << 20  // tweet_gif, dm_gif
	maxSyncVideoBytes  = 15 << 20  // video without a media_category ("Max size is 15728640B")
	maxVideoBytes      = 512 << 20 // video with a media_category
	maxSubtitlesBytes  = 5 << 20   // no documented number; same as images (inference)
	maxV2SegmentBytes  = 4 << 20   // X's edge answers 413 above 4 MiB
	maxV11SegmentBytes = 5 << 20   // "must be <= 5 MB"
	maxSegments        = 1000      // segment_index 0..999
	expiresAfter       = 86400 * time.Second
	maxAltText         = 1000
	maxOwners          = 100
)

// kind is the family a media type belongs to; limits and processing follow it.
type kind string

const (
	kindImage     kind = "image"
	kindGIF       kind = "gif"
	kindVideo     kind = "video"
	kindSubtitles kind = "subtitles"
)

// v2MediaTypes is the media_type enum of v2 initialize (API.md §1.7).
var v2MediaTypes = map[string]kind{
	"video/mp4": kindVideo, "video/webm": kindVideo, "video/mp2t": kindVideo, "video/quicktime": kindVideo,
	"text/srt": kindSubtitles, "text/vtt": kindSubtitles,
	"image/jpeg": kindImage, "image/gif": kindGIF, "image/bmp": kindImage, "image/png": kindImage,
	"image/webp": kindImage, "image/pjpeg": kindImage, "image/tiff": kindImage,
	"model/gltf-binary": "", "model/vnd.usdz+zip": "",
}

// kindOfType maps a declared MIME type to its kind; "" when X does not take it.
func kindOfType(mt string) kind {
	mt = strings.ToLower(strings.TrimSpace(mt))
	if k, ok := v2MediaTypes[mt]; ok {
		return k
	}
	switch {
	case mt == "image/jpg":
		return kindImage
	case mt == "application/x-subrip":
		return kindSubtitles
	}
	return ""
}

// categories maps a normalized media_category to the kind it carries.
var categories = map[string]kind{
	"tweet_image": kindImage, "dm_image": kindImage,
	"tweet_gif": kindGIF, "dm_gif": kindGIF,
	"tweet_video": kindVideo, "dm_video": kindVideo, "amplify_video": kindVideo,
	"subtitles": kindSubtitles,
}

// normalizeCategoryV11 accepts the spellings v1.1 took: TWEET_IMAGE,
// TweetVideo, tweet_video.
func normalizeCategoryV11(c string) (string, bool) {
	squash := strings.ReplaceAll(strings.ToLower(c), "_", "")
	for name := range categories {
		if strings.ReplaceAll(name, "_", "") == squash {
			return name, true
		}
	}
	return "", false
}

// categoryFits reports whether a declared kind may be uploaded in category.
// A static GIF may go as an image.
func categoryFits(category string, k kind) bool {
	ck := categories[category]
	return ck == k || ck == kindImage && k == kindGIF
}

// defaultCategory is what X assumes without a media_category.
func defaultCategory(k kind) string {
	switch k {
	case kindGIF:
		return "tweet_gif"
	case kindVideo:
		return "tweet_video"
	case kindSubtitles:
		return "subtitles"
	}
	return "tweet_image"
}

// maxBytes is the upload size limit for a kind in a category ("" = none given).
func maxBytes(k kind, category string) int64 {
	if category != "" {
		k = categories[category]
	}
	switch k {
	case kindGIF:
		return maxGIFBytes
	case kindVideo:
		if category == "" {
			return maxSyncVideoBytes
		}
		return maxVideoBytes
	case kindSubtitles:
		return maxSubtitlesBytes
	}
	return maxImageBytes
}

// keyPrefix is the media_key prefix X uses (API.md §4.1).
func keyPrefix(k kind, category string) string {
	switch {
	case category == "amplify_video":
		return "13_"
	case k == kindVideo:
		return "7_"
	case k == kindGIF && categories[category] != kindImage:
		return "16_"
	case k == kindSubtitles:
		return "22_"
	}
	return "3_"
}

// blob holds the bytes of one upload part, on disk or in memory.
type blob struct {
	path string // on disk when non-empty
	data []byte
	size int64
}

func (b *blob) remove() {
	if b != nil && b.path != "" {
		os.Remove(b.path)
	}
}

// errTooLarge means an upload part exceeded its limit.
var errTooLarge = errors.New("too large")

// newBlob copies r into a new blob, refusing more than limit bytes with
// errTooLarge. Bytes go to dir unless inMemory.
func newBlob(r io.Reader, limit int64, dir string, inMemory bool) (*blob, error) {
	lr := &io.LimitedReader{R: r, N: limit + 1}
	if inMemory {
		data, err := io.ReadAll(lr)
		if err != nil {
			return nil, err
		}
		if int64(len(data)) > limit {
			return nil, errTooLarge
		}
		return &blob{data: data, size: int64(len(data))}, nil
	}
	f, err := os.CreateTemp(dir, "part-*")
	if err != nil {
		return nil, fmt.Errorf("store upload part: %w", err)
	}
	n, err := copyBuffered(f, lr)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > limit {
		err = errTooLarge
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	return &blob{path: f.Name(), size: n}, nil
}

// copyBuffers holds the buffers of copyBuffered.
var copyBuffers = sync.Pool{New: func() any { return new([bodyBufferSize]byte) }}

// copyBuffered copies r to w, writing only full buffers of bodyBufferSize
// (and the last, shorter one): a multipart part reader returns a few KiB per
// Read, which io.Copy would pass on as one small write each. Only io.EOF
// from r is the end; any other error, io.ErrUnexpectedEOF included (what a
// base64 decoder says of truncated input), is returned.
func copyBuffered(w io.Writer, r io.Reader) (int64, error) {
	buf := copyBuffers.Get().(*[bodyBufferSize]byte)
	defer copyBuffers.Put(buf)
	var n int64
	for {
		m := 0
		var rerr error
		for m < len(buf) && rerr == nil {
			var k int
			k, rerr = r.Read(buf[m:])
			m += k
		}
		if m > 0 {
			if _, err := w.Write(buf[:m]); err != nil {
				return n, err
			}
			n += int64(m)
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

// concat presents blobs as one io.ReaderAt.
type concat struct {
	parts []io.ReaderAt
	offs  []int64 // start offset of each part
	size  int64
	files []*os.File
}

func openConcat(blobs []*blob) (*concat, error) {
	c := &concat{}
	for _, b := range blobs {
		var ra io.ReaderAt
		if b.path != "" {
			f, err := os.Open(b.path)
			if err != nil {
				c.Close()
				return nil, fmt.Errorf("open stored segment: %w", err)
			}
			c.files = append(c.files, f)
			ra = f
		} else {
			ra = bytes.NewReader(b.data)
		}
		c.parts = append(c.parts, ra)
		c.offs = append(c.offs, c.size)
		c.size += b.size
	}
	return c, nil
}

func (c *concat) ReadAt(p []byte, off int64) (int, error) {
	if off >= c.size {
		return 0, io.EOF
	}
	n := 0
	for i := range c.parts {
		end := c.size
		if i+1 < len(c.offs) {
			end = c.offs[i+1]
		}
		if off >= end || len(p) == 0 {
			continue
		}
		want := min(int64(len(p)), end-off)
		m, err := c.parts[i].ReadAt(p[:want], off-c.offs[i])
		n += m
		if int64(m) < want {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		p = p[want:]
		off += want
	}
	if len(p) > 0 {
		return n, io.EOF
	}
	return n, nil
}

func (c *concat) Close() error {
	for _, f := range c.files {
		f.Close()
	}
	return nil
}

// procError is a processing failure as X reports it in processing_info.error.
type procError struct {
	Code    int    `json:"code"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

func invalidMedia(msg string) *procError {
	return &procError{Code: 1, Name: "InvalidMedia", Message: msg}
}

// digest is the SHA-256 of a finalized media's bytes, computed the first time
// someone inspects it rather than inside FINALIZE: X reports no hash, so
// hashing there would only add the emulator's own work to every upload's
// critical path (a 256 MiB video took 0.17 s of a 0.45 s upload).
type digest struct {
	parts []*blob

	mu  sync.Mutex // held while hashing: one caller hashes, the others wait
	sum string     // set once hashed
}

// hex returns the hex SHA-256, or "" when the bytes cannot be read: released
// by Reset or expiry before anyone asked, or a passing failure such as
// running out of file descriptors, after which the next call tries again.
func (d *digest) hex() string {
	if d == nil {
		return ""
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sum != "" {
		return d.sum
	}
	c, err := openConcat(d.parts)
	if err != nil {
		return ""
	}
	defer c.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(c, 0, c.size)); err != nil {
		return ""
	}
	d.sum = hex.EncodeToString(h.Sum(nil))
	return d.sum
}

// analysis is what finalizing learns about the reassembled bytes.
type analysis struct {
	detected string // sniffed MIME type
	kind     kind
	width    int
	height   int
	duration time.Duration // MP4/QuickTime movie header's; 0 = unknown
	problem  *procError    // non-nil: the bytes are not acceptable media of the declared kind
}

// analyze sniffs and checks the bytes. declared is the kind the client
// announced ("" for a one-shot upload, where the bytes decide).
func analyze(ra io.ReaderAt, size int64, declared kind) (analysis, error) {
	var a analysis
	head := make([]byte, min(size, 3072))
	if _, err := ra.ReadAt(head, 0); err != nil && err != io.EOF {
		return a, fmt.Errorf("sniff media: %w", err)
	}
	mt := mimetype.Detect(head)
	a.detected = mt.String()
	if i := strings.IndexByte(a.detected, ';'); i >= 0 {
		a.detected = a.detected[:i]
	}
	switch {
	case mt.Is("image/gif"):
		a.kind = kindGIF
	case mt.Is("image/jpeg"), mt.Is("image/png"), mt.Is("image/webp"), mt.Is("image/bmp"), mt.Is("image/tiff"):
		a.kind = kindImage
	case mt.Is("video/mp4"), mt.Is("video/quicktime"), mt.Is("video/webm"), mt.Is("video/mp2t"):
		a.kind = kindVideo
	case mt.Is("application/x-subrip"), mt.Is("text/vtt"):
		a.kind = kindSubtitles
	}
	switch {
	case a.kind == "":
		a.problem = &procError{Code: 3, Name: "UnsupportedMedia", Message: "file is currently unsupported"}
		return a, nil
	case declared != "" && declared != a.kind && !(declared == kindImage && a.kind == kindGIF):
		a.problem = invalidMedia("file is invalid")
		return a, nil
	}
	switch a.kind {
	case kindImage, kindGIF:
		w, h, err := imageSize(ra, size, a.detected)
		if err != nil {
			a.problem = invalidMedia("file is invalid")
			return a, nil
		}
		a.width, a.height = w, h
	case kindVideo:
		if mt.Is("video/mp4") || mt.Is("video/quicktime") {
			d, err := checkISOBMFF(ra, size)
			if err != nil {
				a.problem = invalidMedia("Unsupported video format")
			}
			a.duration = d
		}
	}
	return a, nil
}

// imageSize decodes an image's dimensions without decoding its pixels.
func imageSize(ra io.ReaderAt, size int64, mt string) (int, int, error) {
	switch mt {
	case "image/webp":
		return webpSize(ra)
	case "image/bmp":
		var hdr [26]byte
		if _, err := ra.ReadAt(hdr[:], 0); err != nil {
			return 0, 0, fmt.Errorf("bmp header: %w", err)
		}
		w := int32(binary.LittleEndian.Uint32(hdr[18:]))
		h := int32(binary.LittleEndian.Uint32(hdr[22:]))
		if h < 0 {
			h = -h
		}
		if w <= 0 || h == 0 {
			return 0, 0, errors.New("bmp: bad dimensions")
		}
		return int(w), int(h), nil
	case "image/tiff":
		return tiffSize(ra)
	}
	cfg, _, err := image.DecodeConfig(io.NewSectionReader(ra, 0, size))
	if err != nil {
		return 0, 0, fmt.Errorf("decode image config: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return 0, 0, errors.New("image has no pixels")
	}
	return cfg.Width, cfg.Height, nil
}

// webpSize reads the canvas size from a WebP's VP8, VP8L or VP8X chunk.
func webpSize(ra io.ReaderAt) (int, int, error) {
	var b [30]byte
	if _, err := ra.ReadAt(b[:], 0); err != nil {
		return 0, 0, fmt.Errorf("webp header: %w", err)
	}
	switch string(b[12:16]) {
	case "VP8X":
		w := int(b[24]) | int(b[25])<<8 | int(b[26])<<16
		h := int(b[27]) | int(b[28])<<8 | int(b[29])<<16
		return w + 1, h + 1, nil
	case "VP8L":
		if b[20] != 0x2f {
			return 0, 0, errors.New("webp: bad VP8L signature")
		}
		v := binary.LittleEndian.Uint32(b[21:25])
		return int(v&0x3fff) + 1, int(v>>14&0x3fff) + 1, nil
	case "VP8 ":
		if b[23] != 0x9d || b[24] != 0x01 || b[25] != 0x2a {
			return 0, 0, errors.New("webp: bad VP8 signature")
		}
		return int(binary.LittleEndian.Uint16(b[26:]) & 0x3fff), int(binary.LittleEndian.Uint16(b[28:]) & 0x3fff), nil
	}
	return 0, 0, errors.New("webp: unknown chunk")
}

// tiffSize reads ImageWidth and ImageLength from a TIFF's first IFD.
func tiffSize(ra io.ReaderAt) (int, int, error) {
	var hdr [8]byte
	if _, err := ra.ReadAt(hdr[:], 0); err != nil {
		return 0, 0, fmt.Errorf("tiff header: %w", err)
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if hdr[0] == 'M' {
		bo = binary.BigEndian
	}
	off := int64(bo.Uint32(hdr[4:]))
	var cnt [2]byte
	if _, err := ra.ReadAt(cnt[:], off); err != nil {
		return 0, 0, fmt.Errorf("tiff ifd: %w", err)
	}
	w, h := 0, 0
	for i := range int64(min(bo.Uint16(cnt[:]), 512)) {
		var e [12]byte
		if _, err := ra.ReadAt(e[:], off+2+12*i); err != nil {
			return 0, 0, fmt.Errorf("tiff ifd entry: %w", err)
		}
		val := int(bo.Uint32(e[8:]))
		if bo.Uint16(e[2:]) == 3 { // SHORT
			val = int(bo.Uint16(e[8:]))
		}
		switch bo.Uint16(e[0:]) {
		case 256:
			w = val
		case 257:
			h = val
		}
	}
	if w <= 0 || h <= 0 {
		return 0, 0, errors.New("tiff: no dimensions")
	}
	return w, h, nil
}

// checkISOBMFF walks the top-level boxes of an MP4/QuickTime file: they must
// tile the file exactly and include a moov box (without one nothing can be
// played), as X's processing requires. It returns the duration the movie
// header (moov/mvhd, version 0 or 1) states, 0 when there is none or it is
// unusable (zero timescale, "undetermined" all-ones, beyond time.Duration):
// a duration is only a reason to refuse when it is known.
func checkISOBMFF(ra io.ReaderAt, size int64) (time.Duration, error) {
	var off int64
	var dur time.Duration
	moov := false
	for off < size {
		typ, body, n, err := boxAt(ra, off, size)
		if err != nil {
			return 0, err
		}
		if typ == "moov" && !moov {
			moov = true
			dur = movieDuration(ra, off+body, off+n)
		}
		off += n
	}
	if !moov {
		return 0, errors.New("no moov box")
	}
	return dur, nil
}

// boxAt reads the header of the box at off, which must end by end: its type,
// header length and whole size.
func boxAt(ra io.ReaderAt, off, end int64) (typ string, head, n int64, err error) {
	var hdr [16]byte
	if end-off < 8 {
		return "", 0, 0, fmt.Errorf("box header at %d: %d bytes left", off, end-off)
	}
	if _, err := ra.ReadAt(hdr[:8], off); err != nil {
		return "", 0, 0, fmt.Errorf("box header at %d: %w", off, err)
	}
	n = int64(binary.BigEndian.Uint32(hdr[:4]))
	typ, head = string(hdr[4:8]), 8
	switch n {
	case 0: // to the end of the enclosing space
		n = end - off
	case 1:
		if end-off < 16 {
			return "", 0, 0, fmt.Errorf("box %q at %d: truncated 64-bit size", typ, off)
		}
		if _, err := ra.ReadAt(hdr[8:16], off+8); err != nil {
			return "", 0, 0, fmt.Errorf("box size at %d: %w", off, err)
		}
		u := binary.BigEndian.Uint64(hdr[8:16])
		if u > uint64(end-off) {
			return "", 0, 0, fmt.Errorf("box %q at %d: bad size %d", typ, off, u)
		}
		n, head = int64(u), 16
	}
	if n < head || n > end-off {
		return "", 0, 0, fmt.Errorf("box %q at %d: bad size %d", typ, off, n)
	}
	return typ, head, n, nil
}

// maxMoovChildren bounds the walk for mvhd inside moov (it is normally the
// first child).
const maxMoovChildren = 1024

// movieDuration finds mvhd among the children of the moov payload [from, to)
// and returns the duration it states, or 0.
func movieDuration(ra io.ReaderAt, from, to int64) time.Duration {
	off := from
	for range maxMoovChildren {
		typ, head, n, err := boxAt(ra, off, to)
		if err != nil {
			return 0
		}
		if typ == "mvhd" {
			return mvhdDuration(ra, off+head, off+n)
		}
		off += n
	}
	return 0
}

// mvhdDuration reads timescale and duration from an mvhd payload
// [from, to): version 0 has 32-bit times, version 1 64-bit creation,
// modification and duration times.
func mvhdDuration(ra io.ReaderAt, from, to int64) time.Duration {
	var b [32]byte
	if to-from < 20 {
		return 0
	}
	need := min(to-from, 32)
	if n, _ := ra.ReadAt(b[:need], from); int64(n) < need {
		return 0
	}
	var timescale, units uint64
	switch {
	case b[0] == 0:
		timescale, units = uint64(binary.BigEndian.Uint32(b[12:])), uint64(binary.BigEndian.Uint32(b[16:]))
		if units == 1<<32-1 {
			return 0
		}
	case b[0] == 1 && need == 32:
		timescale, units = uint64(binary.BigEndian.Uint32(b[20:])), binary.BigEndian.Uint64(b[24:])
		if units == 1<<64-1 {
			return 0
		}
	default:
		return 0
	}
	if timescale == 0 {
		return 0
	}
	secs, rem := units/timescale, units%timescale
	if secs >= uint64(math.MaxInt64/int64(time.Second)) {
		return 0
	}
	return time.Duration(secs)*time.Second + time.Duration(rem*uint64(time.Second)/timescale)
}

// maxVideoDuration is the limit of tweet_video and dm_video (API.md §1.7:
// 0.5–140 s); amplify_video's depends on the account's entitlement, so the
// emulator sets none. The 0.5 s minimum is documented only as a
// recommendation and not enforced.
const maxVideoDuration = 140 * time.Second

// durationProblem is the processing failure X reports for a video too long
// for its category (API.md §1.5, PLhery/node-twitter-api-v2 #243), nil when
// d is within the limit, unknown (0) or the category has no limit. The limit
// applies to a named or defaulted tweet_video or dm_video; v1.1's sync path
// (no media_category) has no documented one.
func durationProblem(category string, d time.Duration) *procError {
	if (category != "tweet_video" && category != "dm_video") || d <= maxVideoDuration {
		return nil
	}
	return &procError{Code: 3, Name: "UnsupportedMedia",
		Message: "Duration " + xDuration(d) + " exceeds max duration of " + xDuration(maxVideoDuration)}
}

// xDuration formats d as X's processing errors do (com.twitter.util.Duration's
// toString, at millisecond precision): the non-zero parts among days, hours,
// minutes, seconds and milliseconds, largest first, each as "<n>.<unit>"
// with the plural unit name, joined by "+": 149.35 s is
// "2.minutes+29.seconds+350.milliseconds", exactly 150 s "2.minutes+30.seconds",
// 61 s "1.minutes+1.seconds", 0 "0.seconds". Below a millisecond is dropped.
func xDuration(d time.Duration) string {
	units := []struct {
		name string
		size time.Duration
	}{
		{"days", 24 * time.Hour}, {"hours", time.Hour}, {"minutes", time.Minute},
		{"seconds", time.Second}, {"milliseconds", time.Millisecond},
	}
	var b strings.Builder
	for _, u := range units {
		if v := d / u.size; v > 0 {
			if b.Len() > 0 {
				b.WriteByte('+')
			}
			fmt.Fprintf(&b, "%d.%s", v, u.name)
			d -= v * u.size
		}
	}
	if b.Len() == 0 {
		return "0.seconds"
	}
	return b.String()
}
