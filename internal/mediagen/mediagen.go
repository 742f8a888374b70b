// Package mediagen generates small, real media files in code: JPEG, PNG and animated GIF images that
// the standard decoders accept, and MP4 files with a well-formed box structure (ftyp, moov with one
// AVC video track and a consistent sample table, mdat), of a default or a chosen duration. Tests,
// benchmarks and `mediasync demo` use it so that nothing depends on media files checked into the
// repository.
//
// Every generator is deterministic for a given seed. PNG and MP4 payloads are pseudo-random, so they
// do not compress and a file is as large on the wire as it is on disk.
package mediagen

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"time"
)

// JPEG returns a w×h baseline JPEG: a colour gradient with seeded noise, quality 90.
func JPEG(w, h int, seed int64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(newRand(seed))
	for y := range h {
		for x := range w {
			n := uint8(rng.IntN(32))
			img.SetRGBA(x, y, color.RGBA{
				R: uint8(x*255/max(w-1, 1)) ^ n,
				G: uint8(y*255/max(h-1, 1)) ^ n,
				B: uint8((x + y) * 255 / max(w+h-2, 1)),
				A: 255,
			})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		panic(fmt.Sprintf("mediagen: encode jpeg: %v", err)) // cannot happen for an in-memory RGBA image
	}
	return buf.Bytes()
}

// NoiseJPEG returns a w×h baseline JPEG of full-range random pixels at the given quality: the
// worst case for compression (about 1.2 bytes a pixel at quality 95, 1.6 at 98, with Go's 4:2:0
// encoder), so a large file, like a camera's full-resolution export, takes few pixels to make.
func NoiseJPEG(w, h, quality int, seed int64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fill(newRand(seed), img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		panic(fmt.Sprintf("mediagen: encode jpeg: %v", err))
	}
	return buf.Bytes()
}

// PNG returns a w×h PNG of random non-opaque pixels. It is stored as 8-bit RGBA and does not
// compress, so the file is a little over 4·w·h bytes (600×600 ≈ 1.4 MB).
func PNG(w, h int, seed int64) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fill(newRand(seed), img.Pix)
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] |= 0x80 // keep it visibly an image, but never fully opaque
		if img.Pix[i] == 0xff {
			img.Pix[i] = 0xfe
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		panic(fmt.Sprintf("mediagen: encode png: %v", err))
	}
	return buf.Bytes()
}

// GIF returns an animated w×h GIF with the given number of frames (at least 2), looping forever.
func GIF(w, h, frames int, seed int64) []byte {
	frames = max(frames, 2)
	rng := rand.New(newRand(seed))
	anim := &gif.GIF{LoopCount: 0}
	for f := range frames {
		img := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for y := range h {
			for x := range w {
				img.SetColorIndex(x, y, uint8((x+y+f*7)%256)^uint8(rng.IntN(4)))
			}
		}
		anim.Image = append(anim.Image, img)
		anim.Delay = append(anim.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, anim); err != nil {
		panic(fmt.Sprintf("mediagen: encode gif: %v", err))
	}
	return buf.Bytes()
}

// MinMP4Size is the smallest size MP4 and WriteMP4 can produce.
const MinMP4Size = 1024

// MP4 returns an MP4 file of exactly size bytes (see WriteMP4). It panics if size < MinMP4Size.
func MP4(size int64, seed int64) []byte {
	var buf bytes.Buffer
	buf.Grow(int(size))
	if err := WriteMP4(&buf, size, seed); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// WriteMP4 streams an MP4 file of exactly size bytes to w: an ftyp box (isom, mp41, avc1 brands), a
// moov box with one 320×240 AVC video track at 25 frames per second whose sample table describes the
// mdat payload exactly, and the mdat box. Samples are length-prefixed NAL units of random bytes; the
// file is structurally valid but not decodable video. Memory use does not grow with size.
func WriteMP4(w io.Writer, size int64, seed int64) error {
	return writeMP4(w, size, seed, timing{timescale: 25000, delta: 1000})
}

// MaxMP4Duration is the longest duration MP4Duration and WriteMP4Duration can write (the movie header
// holds it as 32-bit milliseconds).
const MaxMP4Duration = (1<<32 - 1) * time.Millisecond

// MP4Duration returns an MP4 file of exactly size bytes that plays for d (see WriteMP4Duration). It
// panics if size < MinMP4Size or d is out of range.
func MP4Duration(size int64, seed int64, d time.Duration) []byte {
	var buf bytes.Buffer
	buf.Grow(int(size))
	if err := WriteMP4Duration(&buf, size, seed, d); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// WriteMP4Duration streams an MP4 file like WriteMP4 whose movie, track and media headers (mvhd, tkhd,
// mdhd) all state the duration d, truncated to whole milliseconds (the timescale is 1000), and whose
// time-to-sample table (stts) spans exactly that: every sample lasts d/n, the last one also the
// remainder. When d is shorter than the samples WriteMP4 would use, there are d/1ms samples instead.
// d must be between 1 ms and MaxMP4Duration.
func WriteMP4Duration(w io.Writer, size int64, seed int64, d time.Duration) error {
	ms := int64(d / time.Millisecond)
	if ms < 1 || d > MaxMP4Duration {
		return fmt.Errorf("mediagen: mp4 duration %v out of range [1ms, %v]", d, MaxMP4Duration)
	}
	return writeMP4(w, size, seed, timing{timescale: 1000, total: ms})
}

// timing is how a generated MP4 spends its time: with total 0, every sample lasts delta; else the n
// samples span total exactly.
type timing struct {
	timescale uint32
	delta     uint32 // per sample, when total is 0
	total     int64  // whole duration in timescale units, 0 = n·delta
}

// samples returns the stts entries for n samples and the duration they span.
func (tm timing) samples(n int) (entries [][2]uint32, dur uint32) {
	if tm.total == 0 {
		return [][2]uint32{{uint32(n), tm.delta}}, uint32(n) * tm.delta
	}
	delta := tm.total / int64(n)
	rem := tm.total - delta*int64(n)
	if rem == 0 {
		return [][2]uint32{{uint32(n), uint32(delta)}}, uint32(tm.total)
	}
	if n == 1 {
		return [][2]uint32{{1, uint32(tm.total)}}, uint32(tm.total)
	}
	return [][2]uint32{{uint32(n - 1), uint32(delta)}, {1, uint32(delta + rem)}}, uint32(tm.total)
}

func writeMP4(w io.Writer, size int64, seed int64, tm timing) error {
	if size < MinMP4Size {
		return fmt.Errorf("mediagen: mp4 size %d below minimum %d", size, MinMP4Size)
	}
	if size > 1<<32-1 {
		return errors.New("mediagen: mp4 larger than 4 GiB not supported")
	}
	n := int(min(max(size/65536, 1), 3000)) // samples
	if tm.total > 0 && int64(n) > tm.total {
		n = int(tm.total) // every sample lasts at least one timescale unit
	}
	var head []byte
	for {
		head = mp4Header(n, nil, tm) // sizes unknown yet; only the length matters here
		payload := size - int64(len(head)) - 8
		if payload >= int64(n)*16 || n == 1 {
			break
		}
		n /= 2
	}
	payload := size - int64(len(head)) - 8
	sizes := make([]uint32, n)
	for i := range sizes {
		sizes[i] = uint32(payload / int64(n))
	}
	sizes[n-1] += uint32(payload % int64(n))
	head = mp4Header(n, sizes, tm)

	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head)
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[:4], uint32(payload+8))
	copy(hdr[4:], "mdat")
	bw.Write(hdr[:])
	rng := newRand(seed)
	chunk := make([]byte, 64<<10)
	for i, s := range sizes {
		var nal [5]byte
		binary.BigEndian.PutUint32(nal[:4], s-4)
		nal[4] = 0x41 // non-IDR slice
		if i == 0 {
			nal[4] = 0x65 // IDR slice
		}
		bw.Write(nal[:])
		for left := int64(s) - 5; left > 0; {
			c := chunk[:min(left, int64(len(chunk)))]
			fill(rng, c)
			if _, err := bw.Write(c); err != nil {
				return err
			}
			left -= int64(len(c))
		}
	}
	return bw.Flush()
}

// mp4Header builds ftyp+moov for n samples timed by tm. With sizes nil the stsz entries are zero; the
// length of the result does not depend on sizes, and the chunk offset in stco is computed from it.
func mp4Header(n int, sizes []uint32, tm timing) []byte {
	timescale := tm.timescale
	entries, dur := tm.samples(n)
	ftyp := Box("ftyp", []byte("isom"), u32(0x200), []byte("isomiso2avc1mp41"))

	mvhd := MVHD(0, timescale, uint64(dur))
	tkhd := fullBox("tkhd", 0, 3, u32(0), u32(0), u32(1), u32(0), u32(dur), make([]byte, 8), u16(0), u16(0),
		u16(0), u16(0), matrix(), u32(320<<16), u32(240<<16))
	mdhd := fullBox("mdhd", 0, 0, u32(0), u32(0), u32(timescale), u32(dur), u16(0x55c4), u16(0))
	hdlr := fullBox("hdlr", 0, 0, u32(0), []byte("vide"), make([]byte, 12), []byte("VideoHandler\x00"))
	vmhd := fullBox("vmhd", 0, 1, u16(0), make([]byte, 6))
	dinf := Box("dinf", fullBox("dref", 0, 0, u32(1), fullBox("url ", 0, 1)))

	sps := []byte{0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xca, 0x3c, 0x58, 0xba, 0x80}
	pps := []byte{0x68, 0xce, 0x0f, 0xc8}
	avcC := Box("avcC", []byte{1, 0x42, 0xc0, 0x1e, 0xff, 0xe1}, u16(uint16(len(sps))), sps, []byte{1}, u16(uint16(len(pps))), pps)
	compressor := make([]byte, 32)
	avc1 := Box("avc1", make([]byte, 6), u16(1), make([]byte, 16), u16(320), u16(240), u32(0x00480000),
		u32(0x00480000), u32(0), u16(1), compressor, u16(0x0018), u16(0xffff), avcC)
	stsd := fullBox("stsd", 0, 0, u32(1), avc1)
	sttsBody := u32(uint32(len(entries)))
	for _, e := range entries {
		sttsBody = append(append(sttsBody, u32(e[0])...), u32(e[1])...)
	}
	stts := fullBox("stts", 0, 0, sttsBody)
	stsc := fullBox("stsc", 0, 0, u32(1), u32(1), u32(uint32(n)), u32(1))
	sz := make([]byte, 4*n)
	for i, s := range sizes {
		binary.BigEndian.PutUint32(sz[4*i:], s)
	}
	stsz := fullBox("stsz", 0, 0, u32(0), u32(uint32(n)), sz)
	stss := fullBox("stss", 0, 0, u32(1), u32(1))
	stbl := func(off uint32) []byte {
		return Box("stbl", stsd, stts, stss, stsc, stsz, fullBox("stco", 0, 0, u32(1), u32(off)))
	}
	build := func(off uint32) []byte {
		minf := Box("minf", vmhd, dinf, stbl(off))
		trak := Box("trak", tkhd, Box("mdia", mdhd, hdlr, minf))
		return append(append([]byte{}, ftyp...), Box("moov", mvhd, trak)...)
	}
	head := build(0)
	return build(uint32(len(head) + 8)) // samples start right after the mdat header
}

func fullBox(typ string, version byte, flags uint32, parts ...[]byte) []byte {
	vf := u32(flags)
	vf[0] = version
	return Box(typ, append([][]byte{vf}, parts...)...)
}

func matrix() []byte {
	m := make([]byte, 36)
	binary.BigEndian.PutUint32(m[0:], 0x00010000)
	binary.BigEndian.PutUint32(m[16:], 0x00010000)
	binary.BigEndian.PutUint32(m[32:], 0x40000000)
	return m
}

func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func newRand(seed int64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], uint64(seed))
	copy(s[8:], "mediasync-mediagen-seed!")
	return rand.NewChaCha8(s)
}

func fill(rng *rand.ChaCha8, p []byte) { rng.Read(p) }
