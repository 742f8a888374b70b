package uploader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/internal/mediagen"
)

func mehd(version byte, dur uint64) []byte {
	b := []byte{version, 0, 0, 0}
	if version == 1 {
		return mediagen.Box("mehd", binary.BigEndian.AppendUint64(b, dur))
	}
	return mediagen.Box("mehd", binary.BigEndian.AppendUint32(b, uint32(dur)))
}

var ftypBox = mediagen.Box("ftyp", []byte("isom\x00\x00\x02\x00isomiso2avc1mp41"))

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestVideoDuration(t *testing.T) {
	payload := make([]byte, 3000)
	moov150 := mediagen.Box("moov", mediagen.MVHD(0, 1000, 150_000), mediagen.Box("trak", mediagen.Box("tkhd", make([]byte, 84))))
	gen := mediagen.MP4Duration(200<<10, 1, 149_350*time.Millisecond)
	tests := []struct {
		name    string
		data    []byte
		size    int64 // 0: len(data)
		want    time.Duration
		wantErr error // nil: must succeed; errNoDuration or ErrSource
	}{
		{"mediagen moov first", gen, 0, 149_350 * time.Millisecond, nil},
		{"mediagen default", mediagen.MP4(64<<10, 1), 0, 40 * time.Millisecond, nil},
		{"moov last", join(ftypBox, mediagen.Box("mdat", payload), moov150), 0, 150 * time.Second, nil},
		{"moov after free and 64-bit mdat", join(ftypBox, mediagen.Box("free", nil), mediagen.Box64("mdat", payload), moov150), 0, 150 * time.Second, nil},
		{"moov of size 0 at the end", join(ftypBox, mediagen.Box("mdat", payload), []byte{0, 0, 0, 0}, []byte("moov"), mediagen.MVHD(0, 600, 600*120)), 0, 120 * time.Second, nil},
		{"64-bit moov", join(ftypBox, mediagen.Box64("moov", mediagen.MVHD(0, 1000, 1))), 0, time.Millisecond, nil},
		{"mvhd v1", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(1, 90000, 90000*600+45000))), 0, 600*time.Second + 500*time.Millisecond, nil},
		{"mvhd v1 beyond 32 bits", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(1, 1000, 1<<33))), 0, (1 << 33) * time.Millisecond, nil},
		{"mvhd not first in moov", join(ftypBox, mediagen.Box("moov", mediagen.Box("udta", make([]byte, 40)), mediagen.MVHD(0, 25, 25*141))), 0, 141 * time.Second, nil},
		{"fraction of a timescale unit", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 3, 1))), 0, 333333333, nil},
		{"quicktime without ftyp", join(mediagen.Box("wide", nil), mediagen.Box("mdat", payload), mediagen.Box("moov", mediagen.MVHD(0, 600, 600*10))), 0, 10 * time.Second, nil},
		{"fragmented, mehd v0", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 1000, 0), mediagen.Box("mvex", mehd(0, 150_000))), mediagen.Box("moof", nil)), 0, 150 * time.Second, nil},
		{"fragmented, mehd v1", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 1000, 0), mediagen.Box("mvex", mehd(1, 90_000)))), 0, 90 * time.Second, nil},

		{"fragmented without mehd", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 1000, 0), mediagen.Box("mvex", mediagen.Box("trex", make([]byte, 24))))), 0, 0, errNoDuration},
		{"fragmented, mehd 0", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 1000, 0), mediagen.Box("mvex", mehd(0, 0)))), 0, 0, errNoDuration},
		{"no moov", join(ftypBox, mediagen.Box("mdat", payload)), 0, 0, errNoDuration},
		{"moov without mvhd", join(ftypBox, mediagen.Box("moov", mediagen.Box("trak", nil))), 0, 0, errNoDuration},
		{"zero timescale", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 0, 100))), 0, 0, errNoDuration},
		{"undetermined v0", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 1000, 1<<32-1))), 0, 0, errNoDuration},
		{"undetermined v1", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(1, 1000, 1<<64-1))), 0, 0, errNoDuration},
		{"beyond time.Duration", join(ftypBox, mediagen.Box("moov", mediagen.MVHD(1, 1, 1<<40))), 0, 0, errNoDuration},
		{"mvhd version 2", join(ftypBox, mediagen.Box("moov", mediagen.Box("mvhd", []byte{2, 0, 0, 0}, make([]byte, 96)))), 0, 0, errNoDuration},
		{"mvhd v0 too short", join(ftypBox, mediagen.Box("moov", mediagen.Box("mvhd", []byte{0, 0, 0, 0, 0, 0, 0, 1}))), 0, 0, errNoDuration},
		{"mvhd v1 too short for its version", join(ftypBox, mediagen.Box("moov", mediagen.Box("mvhd", []byte{1, 0, 0, 0}, make([]byte, 20)))), 0, 0, errNoDuration},
		{"truncated: moov cut short", join(ftypBox, mediagen.Box("mdat", payload), moov150)[:len(ftypBox)+8+len(payload)+20], 0, 0, errNoDuration},
		{"truncated: mdat runs past the end", join(ftypBox, mediagen.Box("mdat", payload))[:1000], 0, 0, errNoDuration},
		{"truncated: header cut", join(ftypBox, []byte{0, 0, 0}), 0, 0, errNoDuration},
		{"size larger than the bytes", join(ftypBox, mediagen.Box("mdat", payload)), 1 << 20, 0, ErrSource},
		{"box size below its header", join(ftypBox, []byte{0, 0, 0, 4}, []byte("moov"), make([]byte, 64)), 0, 0, errNoDuration},
		{"64-bit size below its header", join(ftypBox, []byte{0, 0, 0, 1}, []byte("mdat"), make([]byte, 8), moov150), 0, 0, errNoDuration},
		{"64-bit size past the end", join(ftypBox, []byte{0, 0, 0, 1}, []byte("mdat"), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, moov150), 0, 0, errNoDuration},
		{"mvhd runs past moov", join(ftypBox, mediagen.Box("moov", []byte{0, 0, 0x10, 0}, []byte("mvhd"), make([]byte, 40)), make([]byte, 8192)), 0, 0, errNoDuration},
		{"garbage", bytes.Repeat([]byte("garbage!"), 100), 0, 0, errNoDuration},
		{"jpeg", mediagen.JPEG(16, 16, 1), 0, 0, errNoDuration},
		{"empty", nil, 0, 0, errNoDuration},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.size
			if size == 0 {
				size = int64(len(tt.data))
			}
			got, err := VideoDuration(bytes.NewReader(tt.data), size)
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Fatalf("VideoDuration = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || got != 0 {
				t.Fatalf("VideoDuration = %v, %v; want 0 and an error wrapping %v", got, err, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "video duration: ") {
				t.Errorf("error %q does not name the operation", err)
			}
		})
	}
}

// countingReaderAt counts ReadAt calls and bytes.
type countingReaderAt struct {
	r            io.ReaderAt
	calls, bytes atomic.Int64
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.calls.Add(1)
	c.bytes.Add(int64(len(p)))
	return c.r.ReadAt(p, off)
}

// TestVideoDurationReadsLittle: a large file with moov at the end is probed
// with a handful of small reads, not by reading it.
func TestVideoDurationReadsLittle(t *testing.T) {
	data := join(ftypBox, mediagen.Box64("mdat", make([]byte, 8<<20)), mediagen.Box("moov", mediagen.Box("udta", make([]byte, 1<<20)), mediagen.MVHD(0, 1000, 150_000)))
	cr := &countingReaderAt{r: bytes.NewReader(data)}
	d, err := VideoDuration(cr, int64(len(data)))
	if err != nil || d != 150*time.Second {
		t.Fatalf("VideoDuration = %v, %v; want 150s", d, err)
	}
	if cr.calls.Load() > 10 || cr.bytes.Load() > 256 {
		t.Errorf("probe made %d reads of %d bytes in all; want a few box headers and one mvhd", cr.calls.Load(), cr.bytes.Load())
	}
}

// TestVideoDurationBoxLimit: a run of tiny boxes before moov ends the probe
// after maxProbeBoxes instead of walking it all.
func TestVideoDurationBoxLimit(t *testing.T) {
	data := join(bytes.Repeat(mediagen.Box("free", nil), maxProbeBoxes), mediagen.Box("moov", mediagen.MVHD(0, 1000, 1000)))
	if _, err := VideoDuration(bytes.NewReader(data), int64(len(data))); !errors.Is(err, errNoDuration) {
		t.Errorf("VideoDuration past the box limit = %v, want errNoDuration", err)
	}
	data = join(bytes.Repeat(mediagen.Box("free", nil), maxProbeBoxes-1), mediagen.Box("moov", mediagen.MVHD(0, 1000, 1000)))
	if d, err := VideoDuration(bytes.NewReader(data), int64(len(data))); err != nil || d != time.Second {
		t.Errorf("VideoDuration at the box limit = %v, %v; want 1s", d, err)
	}
}

func TestVideoDurationReadError(t *testing.T) {
	_, err := VideoDuration(failingReaderAt{}, 1000)
	if !errors.Is(err, ErrSource) || !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("VideoDuration on a failing reader = %v, want ErrSource wrapping the read error", err)
	}
}

func TestProbeDuration(t *testing.T) {
	long := mediagen.MP4Duration(64<<10, 1, 150*time.Second)
	tests := []struct {
		name    string
		data    []byte
		typ     string
		want    time.Duration
		wantErr bool
	}{
		{"mp4", long, "video/mp4", 150 * time.Second, false},
		{"quicktime", join(mediagen.Box("wide", nil), mediagen.Box("moov", mediagen.MVHD(0, 600, 600*200))), "video/quicktime", 200 * time.Second, false},
		{"mp4 without a duration", join(ftypBox, mediagen.Box("mdat", make([]byte, 100))), "video/mp4", 0, true},
		{"webm is not probed", long, "video/webm", 0, false},
		{"image is not probed", mediagen.JPEG(8, 8, 1), "image/jpeg", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Media{Name: "v", Size: int64(len(tt.data)), Type: tt.typ, Category: "auto", Duration: time.Hour}
			m, err := ProbeDuration(bytes.NewReader(tt.data), in)
			if (err != nil) != tt.wantErr || m.Duration != tt.want {
				t.Fatalf("ProbeDuration = %v, %v; want %v (error %v)", m.Duration, err, tt.want, tt.wantErr)
			}
			if err != nil && IsPermanent(err) {
				t.Errorf("an unknown duration must not read as a refusal: %v", err)
			}
			m.Duration = in.Duration
			if m.Name != in.Name || m.Size != in.Size || m.Type != in.Type || m.Category != in.Category {
				t.Errorf("ProbeDuration changed more than Duration: %+v", m)
			}
		})
	}
}

func TestPrepareDuration(t *testing.T) {
	c := New(nil, Options{BaseURL: "https://api.x.com"})
	tests := []struct {
		name     string
		category string
		d        time.Duration
		wantErr  bool
	}{
		{"unknown duration", "tweet_video", 0, false},
		{"at the limit", "tweet_video", MaxVideoDuration, false},
		{"just under", "dm_video", MaxVideoDuration - time.Millisecond, false},
		{"150 s tweet_video", "tweet_video", 150 * time.Second, true},
		{"150 s auto is tweet_video", "auto", 150 * time.Second, true},
		{"one nanosecond over", "tweet_video", MaxVideoDuration + 1, true},
		{"150 s dm_video", "dm_video", 150 * time.Second, true},
		{"10 min amplify_video", "amplify_video", 10 * time.Minute, false},
		{"3 h amplify_video", "amplify_video", 3 * time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Prepare(Media{Name: "long.mp4", Size: 1 << 20, Type: "video/mp4", Category: tt.category, Duration: tt.d})
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Prepare = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrUnsupported) || !IsPermanent(err) {
				t.Fatalf("Prepare = %v, want a permanent ErrUnsupported", err)
			}
			cat := tt.category
			if cat == "auto" {
				cat = CategoryTweetVideo
			}
			msg := err.Error()
			for _, want := range []string{"long.mp4", tt.d.String(), "2m20s", cat, "amplify_video"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not mention %q", msg, want)
				}
			}
		})
	}
}

// FuzzVideoDuration: no input panics, hangs, reads out of bounds or states
// a negative duration.
func FuzzVideoDuration(f *testing.F) {
	f.Add(mediagen.MP4Duration(mediagen.MinMP4Size, 1, 150*time.Second))
	f.Add(join(ftypBox, mediagen.Box("mdat", make([]byte, 64)), mediagen.Box("moov", mediagen.MVHD(0, 1000, 150_000))))
	f.Add(join(ftypBox, mediagen.Box64("mdat", make([]byte, 32)), mediagen.Box("moov", mediagen.MVHD(1, 90000, 1<<40))))
	f.Add(join(ftypBox, mediagen.Box("moov", mediagen.MVHD(0, 1000, 0), mediagen.Box("mvex", mehd(1, 5000)))))
	f.Add(join(ftypBox, []byte{0, 0, 0, 0}, []byte("moov"), mediagen.MVHD(0, 600, 6000)))
	f.Add([]byte("\x00\x00\x00\x01moov\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &boundedReaderAt{t: t, data: data}
		d, err := VideoDuration(r, int64(len(data)))
		if err == nil && d < 0 {
			t.Errorf("negative duration %v", d)
		}
		if err != nil && d != 0 {
			t.Errorf("duration %v with error %v", d, err)
		}
		// At most maxProbeBoxes headers on each of four levels (top,
		// moov twice: mvhd then mvex, mvex), two reads each for 64-bit sizes.
		if r.calls > 8*maxProbeBoxes+16 {
			t.Errorf("%d reads for %d bytes", r.calls, len(data))
		}
	})
}

// boundedReaderAt fails the test on a read before the start of the data
// or one larger than the probe's fixed buffers.
type boundedReaderAt struct {
	t     *testing.T
	data  []byte
	calls int
}

func (b *boundedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	b.calls++
	if off < 0 || len(p) > 32 {
		b.t.Fatalf("ReadAt(len %d, off %d)", len(p), off)
	}
	return bytes.NewReader(b.data).ReadAt(p, off)
}

// BenchmarkVideoDuration probes a file whose moov follows a 64-bit mdat, as
// a camera writes it: the cost is a few ReadAt calls, whatever the size.
func BenchmarkVideoDuration(b *testing.B) {
	data := join(ftypBox, mediagen.Box64("mdat", make([]byte, 4<<20)), mediagen.Box("moov", mediagen.Box("udta", make([]byte, 64<<10)), mediagen.MVHD(0, 1000, 150_000)))
	r := bytes.NewReader(data)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := VideoDuration(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPrepareFile: PrepareFile reads the duration from the bytes before
// Prepare, refuses a long video, and lets one whose duration cannot be read
// through with a debug line saying why.
func TestPrepareFile(t *testing.T) {
	var logs bytes.Buffer
	c := New(nil, Options{BaseURL: "http://127.0.0.1:1", Log: zerolog.New(&logs).Level(zerolog.DebugLevel)})
	long := mediagen.MP4Duration(64<<10, 1, 150*time.Second)
	if _, err := c.PrepareFile(bytes.NewReader(long), Media{Name: "long.mp4", Size: int64(len(long)), Type: "video/mp4"}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("PrepareFile(150 s) = %v, want ErrUnsupported", err)
	}
	short := mediagen.MP4Duration(64<<10, 2, 2*time.Minute)
	m, err := c.PrepareFile(bytes.NewReader(short), Media{Name: "short.mp4", Size: int64(len(short)), Type: "video/mp4"})
	if err != nil || m.Duration != 2*time.Minute || m.Category != CategoryTweetVideo {
		t.Errorf("PrepareFile(120 s) = %+v, %v; want Duration 2m0s, tweet_video", m, err)
	}
	if logs.Len() != 0 {
		t.Errorf("log lines for readable durations: %s", logs.String())
	}
	garbage := bytes.Repeat([]byte{0xff}, 4096)
	if _, err := c.PrepareFile(bytes.NewReader(garbage), Media{Name: "odd.mp4", Size: int64(len(garbage)), Type: "video/mp4"}); err != nil {
		t.Errorf("PrepareFile(unreadable duration) = %v, want nil: X decides", err)
	}
	if !strings.Contains(logs.String(), `"path":"odd.mp4"`) || !strings.Contains(logs.String(), "video duration unknown") {
		t.Errorf("no debug line for the unreadable duration: %s", logs.String())
	}
}
