package emulator

import (
	"bytes"
	"encoding/binary"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

func TestXDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{149_350 * time.Millisecond, "2.minutes+29.seconds+350.milliseconds"}, // PLhery/node-twitter-api-v2 #243
		{140 * time.Second, "2.minutes+20.seconds"},
		{150 * time.Second, "2.minutes+30.seconds"},
		{2*time.Minute + 5*time.Millisecond, "2.minutes+5.milliseconds"},
		{61 * time.Second, "1.minutes+1.seconds"},
		{10 * time.Minute, "10.minutes"},
		{time.Hour + 2*time.Second, "1.hours+2.seconds"},
		{50*time.Hour + 1500*time.Microsecond, "2.days+2.hours+1.milliseconds"},
		{999 * time.Microsecond, "0.seconds"},
		{0, "0.seconds"},
	}
	for _, tt := range tests {
		if got := xDuration(tt.d); got != tt.want {
			t.Errorf("xDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestCheckISOBMFFDuration(t *testing.T) {
	ftyp := mediagen.Box("ftyp", []byte("isom\x00\x00\x02\x00isommp41"))
	mdat := mediagen.Box("mdat", make([]byte, 5000))
	mdat64 := append(append([]byte{0, 0, 0, 1}, "mdat"...), binary.BigEndian.AppendUint64(nil, 16+5000)...)
	mdat64 = append(mdat64, make([]byte, 5000)...)
	tests := []struct {
		name string
		data []byte
		want time.Duration
	}{
		{"mediagen 150 s", mediagen.MP4Duration(64<<10, 1, 150*time.Second), 150 * time.Second},
		{"mediagen default", mediagen.MP4(64<<10, 1), 40 * time.Millisecond},
		{"moov last", bytes.Join([][]byte{ftyp, mdat, mediagen.Box("moov", mediagen.MVHD(0, 600, 600*150))}, nil), 150 * time.Second},
		{"64-bit mdat, mvhd v1", bytes.Join([][]byte{ftyp, mdat64, mediagen.Box("moov", mediagen.Box("udta", nil), mediagen.MVHD(1, 90000, 90000*600))}, nil), 600 * time.Second},
		{"zero timescale: unknown", bytes.Join([][]byte{ftyp, mediagen.Box("moov", mediagen.MVHD(0, 0, 5)), mdat}, nil), 0},
		{"undetermined: unknown", bytes.Join([][]byte{ftyp, mediagen.Box("moov", mediagen.MVHD(0, 1000, 1<<32-1)), mdat}, nil), 0},
		{"mvhd v2: unknown", bytes.Join([][]byte{ftyp, mediagen.Box("moov", mediagen.MVHD(2, 1000, 5000)), mdat}, nil), 0},
		{"no mvhd: unknown", bytes.Join([][]byte{ftyp, mediagen.Box("moov", mediagen.Box("trak", nil)), mdat}, nil), 0},
		{"mvhd past moov: unknown", bytes.Join([][]byte{ftyp, mediagen.Box("moov", []byte{0, 0, 1, 0}, []byte("mvhd")), mdat}, nil), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkISOBMFF(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil || got != tt.want {
				t.Errorf("checkISOBMFF = %v, %v; want %v, nil", got, err, tt.want)
			}
		})
	}
	for _, bad := range [][]byte{
		bytes.Join([][]byte{ftyp, mdat}, nil),                   // no moov
		bytes.Join([][]byte{ftyp, mdat[:100]}, nil),             // truncated
		bytes.Join([][]byte{ftyp, mdat64[:len(mdat64)-1]}, nil), // 64-bit size past the end
		append(bytes.Clone(ftyp), 0, 0, 0),                      // header cut
	} {
		if _, err := checkISOBMFF(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("checkISOBMFF(% x…) = nil, want an error", bad[:min(len(bad), 16)])
		}
	}
}

// FuzzCheckISOBMFF: no input panics, hangs or states a negative duration.
func FuzzCheckISOBMFF(f *testing.F) {
	f.Add(mediagen.MP4Duration(mediagen.MinMP4Size, 1, 150*time.Second))
	f.Add(mediagen.Box("moov", mediagen.MVHD(1, 90000, 1<<40)))
	f.Add([]byte("\x00\x00\x00\x01moov\x00\x00\x00\x00\x00\x00\x00\x10"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := checkISOBMFF(bytes.NewReader(data), int64(len(data)))
		if d < 0 || err != nil && d != 0 {
			t.Errorf("checkISOBMFF = %v, %v", d, err)
		}
	})
}

// wantDurationFailure checks a processing_info that ended failed with X's
// duration error for d.
func wantDurationFailure(t *testing.T, pi map[string]any, msg string) {
	t.Helper()
	e, _ := pi["error"].(map[string]any)
	if str(pi["state"]) != "failed" || num(pi["progress_percent"]) != 100 || num(e["code"]) != 3 ||
		str(e["name"]) != "UnsupportedMedia" || str(e["message"]) != msg {
		t.Errorf("processing_info = %v; want failed, 100%%, code 3 UnsupportedMedia %q", pi, msg)
	}
}

const (
	msg150 = "Duration 2.minutes+30.seconds exceeds max duration of 2.minutes+20.seconds"
	msgX   = "Duration 2.minutes+29.seconds+350.milliseconds exceeds max duration of 2.minutes+20.seconds"
)

func TestVideoDurationLimitV2(t *testing.T) {
	tests := []struct {
		name     string
		category string // "" = none: X assumes tweet_video
		d        time.Duration
		wantMsg  string // "" = succeeds
	}{
		{"150 s tweet_video", "tweet_video", 150 * time.Second, msg150},
		{"X's own example", "tweet_video", 149_350 * time.Millisecond, msgX},
		{"150 s dm_video", "dm_video", 150 * time.Second, msg150},
		{"150 s without category", "", 150 * time.Second, msg150},
		{"120 s tweet_video", "tweet_video", 120 * time.Second, ""},
		{"exactly 140 s", "tweet_video", 140 * time.Second, ""},
		{"600 s amplify_video", "amplify_video", 600 * time.Second, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{ProcessingTime: 10 * time.Second}})
			mp4 := mediagen.MP4Duration(300<<10, 3, tt.d)
			id, a := e.v2Upload(mp4, "video/mp4", tt.category, 128<<10)
			if a.status != http.StatusOK {
				t.Fatalf("finalize: %d %s", a.status, a.body)
			}
			pi, _ := a.data(t)["processing_info"].(map[string]any)
			if str(pi["state"]) != "pending" || pi["error"] != nil {
				t.Fatalf("finalize processing_info = %v, want pending without error (X fails it in processing)", pi)
			}
			e.clock.Advance(10 * time.Second)
			st := e.get("/2/media/upload?command=STATUS&media_id=" + id)
			if st.status != http.StatusOK {
				t.Fatalf("STATUS: %d %s", st.status, st.body)
			}
			pi, _ = st.data(t)["processing_info"].(map[string]any)
			if tt.wantMsg != "" {
				wantDurationFailure(t, pi, tt.wantMsg)
			} else if str(pi["state"]) != "succeeded" || pi["error"] != nil {
				t.Errorf("processing_info = %v, want succeeded", pi)
			}
			info, _ := e.s.MediaByID(id)
			if info.DurationMS != tt.d.Milliseconds() {
				t.Errorf("MediaInfo.DurationMS = %d, want %d", info.DurationMS, tt.d.Milliseconds())
			}
		})
	}
}

// TestVideoDurationLimitV2OneShot: the one-shot endpoint processes videos
// asynchronously too, and fails a long one the same way.
func TestVideoDurationLimitV2OneShot(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_video"}, "media", mediagen.MP4Duration(64<<10, 1, 150*time.Second))
	if a.status != http.StatusOK {
		t.Fatalf("upload: %d %s", a.status, a.body)
	}
	pi, _ := a.data(t)["processing_info"].(map[string]any)
	wantDurationFailure(t, pi, msg150)
}

func TestVideoDurationLimitV11(t *testing.T) {
	tests := []struct {
		name       string
		category   string
		d          time.Duration
		wantStatus int
		wantMsg    string // "" = succeeds
	}{
		{"150 s tweet_video", "tweet_video", 150 * time.Second, 200, msg150},
		{"150 s DmVideo spelling", "DmVideo", 150 * time.Second, 200, msg150},
		{"120 s tweet_video", "tweet_video", 120 * time.Second, 200, ""},
		{"600 s amplify_video", "amplify_video", 600 * time.Second, 200, ""},
		// The sync path (no media_category) has no documented duration limit.
		{"150 s sync path", "", 150 * time.Second, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{ProcessingTime: 4 * time.Second}})
			id, a := e.v11Chunked(mediagen.MP4Duration(200<<10, 5, tt.d), "video/mp4", tt.category, 64<<10)
			if a.status != tt.wantStatus {
				t.Fatalf("FINALIZE: %d %s, want %d", a.status, a.body, tt.wantStatus)
			}
			if tt.wantStatus == 201 {
				if info, _ := e.s.MediaByID(id); info.State != "succeeded" {
					t.Errorf("state = %s, want succeeded", info.State)
				}
				return
			}
			e.clock.Advance(4 * time.Second)
			st := e.get(v11Upload + "?" + url.Values{"command": {"STATUS"}, "media_id": {id}}.Encode())
			if st.status != http.StatusOK {
				t.Fatalf("STATUS: %d %s", st.status, st.body)
			}
			pi, _ := st.json(t)["processing_info"].(map[string]any)
			if tt.wantMsg != "" {
				wantDurationFailure(t, pi, tt.wantMsg)
			} else if str(pi["state"]) != "succeeded" || pi["error"] != nil {
				t.Errorf("processing_info = %v, want succeeded", pi)
			}
		})
	}
}
