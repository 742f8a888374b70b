package uploader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/uploader"
)

type waitLog struct {
	mu    sync.Mutex
	ops   []string
	waits []time.Duration
}

func (l *waitLog) add(op string, wait time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, op)
	l.waits = append(l.waits, wait)
}

func (l *waitLog) get() ([]string, []time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ops...), append([]time.Duration(nil), l.waits...)
}

func count429(st emulator.Stats) int {
	n := 0
	for ep := range st.Requests {
		n += st.Count(ep, 429)
	}
	return n
}

// v2: once the one-shot budget is spent, small images go chunked (whose
// budgets are separate) instead of waiting for the window. Every endpoint
// has a budget of 3 per hour here: 3 images one-shot, 3 chunked, no wait,
// no 429.
func TestEmulatorOneShotBudgetSpentGoesChunked(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{RateLimit: 3, RateWindow: time.Hour}})
	ctx, cancel := context.WithCancel(t.Context())
	var waits waitLog
	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL,
		// A wait here would last an hour: record it and give up instead.
		OnWait:  func(op string, wait time.Duration) { waits.add(op, wait); cancel() },
		OnRetry: func(op string, _ int, _ error, wait time.Duration) { waits.add("retry "+op, wait); cancel() }})
	ids := map[string]bool{}
	for i := range 6 {
		data := mediagen.JPEG(160, 120, int64(30+i))
		res, err := c.Upload(ctx, bytes.NewReader(data), uploader.Media{Name: fmt.Sprintf("photo%d.jpg", i), Size: int64(len(data)), Type: "image/jpeg"}, nil)
		if err != nil {
			t.Fatalf("Upload %d: %v", i, err)
		}
		if mi, ok := srv.MediaByID(res.MediaIDString); !ok || mi.SHA256 != sum(data) {
			t.Errorf("Upload %d = %+v; emulator holds %+v", i, res, mi)
		}
		ids[res.MediaIDString] = true
	}
	st := srv.Stats()
	if ops, _ := waits.get(); len(ops) != 0 || count429(st) != 0 {
		t.Errorf("waited before %v, %d answers 429; want neither", ops, count429(st))
	}
	if oneShot, inits := st.Count("POST /2/media/upload", 0), st.Count("POST /2/media/upload/initialize", 0); oneShot != 3 || inits != 3 {
		t.Errorf("%d one-shot uploads, %d INITs; want 3 and 3", oneShot, inits)
	}
	if len(ids) != 6 || len(srv.Media()) != 6 {
		t.Errorf("%d distinct ids, %d media at the emulator; want 6", len(ids), len(srv.Media()))
	}
}

// v1.1: the simple upload and an image INIT share one budget (API.md §1.9),
// so going chunked gains nothing: before the 4th image, one-shot or
// chunked, the client has to wait an hour, longer than MaxInlineWait, so it
// returns a *WaitError for that request instead of sending it into a 429.
// A video INIT has its own budget and goes through.
func TestEmulatorV11ImageBudgetShared(t *testing.T) {
	tests := []struct {
		name   string
		data   []byte
		waitOp string // "" = no wait
	}{
		{"small.jpg", mediagen.JPEG(160, 120, 40), "UPLOAD"},
		{"large.png", mediagen.PNG(600, 600, 41), "INIT"}, // chunked image
		{"clip.mp4", mediagen.MP4(1<<20, 42), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{RateLimit: 3, RateWindow: time.Hour}})
			ctx, cancel := context.WithCancel(t.Context())
			var waits waitLog
			c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, Version: uploader.V11,
				OnWait:  func(op string, wait time.Duration) { waits.add(op, wait); cancel() },
				OnRetry: func(op string, _ int, _ error, wait time.Duration) { waits.add("retry "+op, wait); cancel() }})
			for i := range 3 {
				upload(t, srv, c, sample{fmt.Sprintf("photo%d.jpg", i), mediagen.JPEG(160, 120, int64(50+i))}, "")
			}
			typ, err := uploader.Detect(bytes.NewReader(tt.data), int64(len(tt.data)))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Upload(ctx, bytes.NewReader(tt.data), uploader.Media{Name: tt.name, Size: int64(len(tt.data)), Type: typ}, nil)
			ops, ws := waits.get()
			if tt.waitOp == "" {
				if err != nil || len(ops) != 0 {
					t.Errorf("Upload = %v after waiting before %v; want a video INIT to go through at once", err, ops)
				}
			} else {
				var we *uploader.WaitError
				if !errors.As(err, &we) || uploader.IsPermanent(err) || len(ops) != 0 || we.Op != tt.waitOp ||
					time.Until(we.Until) < 50*time.Minute || time.Until(we.Until) > time.Hour+2*time.Second {
					t.Errorf("Upload = %v after waits %v %v; want a *WaitError for %s of about an hour, nothing slept", err, ops, ws, tt.waitOp)
				}
				if n := srv.Stats().Count("POST /1.1/media/upload.json INIT", 0); tt.name == "small.jpg" && n != 0 {
					t.Errorf("%d INITs sent, want the small image not to go chunked on v1.1", n)
				}
			}
			if n := count429(srv.Stats()); n != 0 {
				t.Errorf("%d answers 429, want the client to wait instead", n)
			}
		})
	}
}
