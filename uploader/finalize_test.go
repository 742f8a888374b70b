package uploader_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/mediasync/mediasync/uploader"
)

// finalizeTransport sits in front of the emulator's signing transport. The
// first FINALIZE it sees reaches the server, and then the "process dies":
// crash cancels the upload before the answer is read. Later FINALIZEs of a
// media id that already went through are refused the way the emulator
// refuses a finalized id (X does not document its answer; the emulator
// itself accepts a repeated FINALIZE, so without this the duplicate could
// not happen).
type finalizeTransport struct {
	base  http.RoundTripper
	v11   bool
	crash func()
	// exists reports whether the server still holds a media id; a forgotten
	// one gets the server's own answer.
	exists func(id string) bool
	// message, when not "", replaces the emulator's "… is already
	// finalized." in the refusal: X's own text is not documented.
	message string

	mu   sync.Mutex
	done map[string]bool // media ids whose FINALIZE reached the server
}

func (f *finalizeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	id, err := f.finalizeID(req)
	if err != nil || id == "" {
		return f.base.RoundTrip(req)
	}
	f.mu.Lock()
	first, again := len(f.done) == 0, f.done[id]
	f.mu.Unlock()
	if again && f.exists(id) {
		return f.refuse(req, id), nil
	}
	resp, err := f.base.RoundTrip(req)
	if err != nil || !first {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	f.mu.Lock()
	f.done[id] = true
	f.mu.Unlock()
	f.crash()
	return nil, context.Canceled
}

// finalizeID returns the media id of a FINALIZE request, "" for others. It
// leaves req's body readable.
func (f *finalizeTransport) finalizeID(req *http.Request) (string, error) {
	if req.Method != http.MethodPost {
		return "", nil
	}
	if !f.v11 {
		parts := strings.Split(req.URL.Path, "/")
		if len(parts) == 6 && parts[5] == "finalize" {
			return parts[4], nil
		}
		return "", nil
	}
	if req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		return "", nil
	}
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return "", err
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	vals, err := url.ParseQuery(string(b))
	if err != nil || vals.Get("command") != "FINALIZE" {
		return "", err
	}
	return vals.Get("media_id"), nil
}

// refuse answers as the emulator does for a media id that is finalized
// already (emulator v11MediaError / v2MediaError).
func (f *finalizeTransport) refuse(req *http.Request, id string) *http.Response {
	var body any
	msg := f.message
	if f.v11 {
		if msg == "" {
			msg = "Media id " + id + " is already finalized."
		}
		body = map[string]string{"request": req.URL.Path, "error": msg}
	} else {
		if msg == "" {
			msg = fmt.Sprintf("The media_id %q is already finalized.", id)
		}
		body = map[string]any{
			"errors": []any{map[string]any{"message": msg, "parameters": map[string][]string{"id": {}}}},
			"title":  "Invalid Request",
			"detail": "One or more parameters to your request was invalid.",
			"type":   "https://api.twitter.com/2/problems/invalid-request",
		}
	}
	data, _ := json.Marshal(body)
	return &http.Response{
		StatusCode: http.StatusBadRequest,
		Status:     "400 Bad Request",
		Header:     http.Header{"Content-Type": {"application/json; charset=utf-8"}},
		Body:       io.NopCloser(bytes.NewReader(data)),
		Request:    req,
	}
}

// The process dies while FINALIZE is in flight (the server finalized the
// media); on restart Resume's FINALIZE is refused. STATUS shows the media
// exists, so Resume finishes it under the same id instead of uploading the
// file a second time. When the server has forgotten the id too, it starts
// over.
func TestEmulatorResumeAfterFinalizeCrash(t *testing.T) {
	tests := []struct {
		version string
		sample  sample
		forget  bool
	}{
		// (v1.1 STATUS answers 404 code 34 for any image, finalized or not: for large.png it is the
		// refusal, "Media id … is already finalized.", that proves the FINALIZE went through.)
		{uploader.V2, sample{"clip.mp4", mediagen.MP4(3<<20+5, 21)}, false},
		{uploader.V2, sample{"large.png", mediagen.PNG(600, 600, 22)}, false},
		{uploader.V2, sample{"clip.mp4", mediagen.MP4(2<<20, 23)}, true},
		{uploader.V11, sample{"clip.mp4", mediagen.MP4(3<<20+5, 21)}, false},
		{uploader.V11, sample{"large.png", mediagen.PNG(600, 600, 22)}, false},
		{uploader.V11, sample{"clip.mp4", mediagen.MP4(2<<20, 23)}, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s/forget=%v", tt.version, tt.sample.name, tt.forget), func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{ProcessingTime: 100 * time.Millisecond}})
			ctx, cancel := context.WithCancel(t.Context())
			ft := &finalizeTransport{base: srv.OAuth1Client().Transport, v11: tt.version == uploader.V11, crash: cancel, done: map[string]bool{},
				exists: func(id string) bool { _, ok := srv.MediaByID(id); return ok }}
			c := uploader.New(&http.Client{Transport: ft}, uploader.Options{BaseURL: srv.URL, Version: tt.version, ChunkSize: 1 << 20})
			data := tt.sample.data
			typ, err := uploader.Detect(bytes.NewReader(data), int64(len(data)))
			if err != nil {
				t.Fatal(err)
			}
			m := uploader.Media{Name: tt.sample.name, Size: int64(len(data)), Type: typ}

			var saved uploader.Progress
			_, err = c.Upload(ctx, bytes.NewReader(data), m, func(p uploader.Progress) { saved = p })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Upload dying in FINALIZE = %v, want context.Canceled", err)
			}
			segs := int((int64(len(data)) + 1<<20 - 1) >> 20)
			if saved.MediaID == "" || saved.Finalized || len(saved.Acked) != segs {
				t.Fatalf("saved progress %+v, want all %d segments acked, not finalized", saved, segs)
			}
			if mi, ok := srv.MediaByID(saved.MediaID); !ok || mi.SHA256 != sum(data) {
				t.Fatalf("emulator holds %+v, %v; want the finalized bytes", mi, ok)
			}
			if tt.forget {
				srv.Reset()
			}

			var last uploader.Progress
			res, err := c.Resume(t.Context(), bytes.NewReader(data), m, saved, func(p uploader.Progress) { last = p })
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if !last.Finalized || last.MediaID != res.MediaIDString {
				t.Errorf("last progress %+v, want finalized under %s", last, res.MediaIDString)
			}
			if tt.forget == (res.MediaIDString == saved.MediaID) {
				t.Errorf("Resume = id %s, saved id %s; want a new id: %v", res.MediaIDString, saved.MediaID, tt.forget)
			}
			want := 1
			all := srv.Media()
			mi, ok := srv.MediaByID(res.MediaIDString)
			if len(all) != want || !ok || mi.SHA256 != sum(data) || mi.State != "succeeded" {
				t.Errorf("emulator holds %+v; want %d media, %s succeeded with the file's bytes", all, want, res.MediaIDString)
			}
			if res.MediaKey == "" || res.MediaKey != mi.MediaKey || res.ExpiresAt.IsZero() {
				t.Errorf("Resume = %+v, want the media key %q and an expiry", res, mi.MediaKey)
			}

			// Dying again before the result is recorded: the progress says
			// finalized, so Resume only asks STATUS (v1.1 answers 404 code 34
			// for an image) and uploads nothing.
			again, err := c.Resume(t.Context(), bytes.NewReader(data), m, last, nil)
			if err != nil || again.MediaIDString != res.MediaIDString || len(srv.Media()) != want {
				t.Errorf("Resume of finalized progress = %+v, %v with %d media; want %s again, nothing uploaded", again, err, len(srv.Media()), res.MediaIDString)
			}
		})
	}
}

// The limit of the above: for media X does not process (an image), STATUS
// cannot tell whether the earlier FINALIZE went through, and only the
// refusal's text ("already finalized", the emulator's; X documents none)
// proves it. A refusal that says anything else makes Resume start over: the
// file is uploaded a second time, and a warning says so.
func TestEmulatorResumeAfterFinalizeCrashUnproven(t *testing.T) {
	for _, version := range []string{uploader.V2, uploader.V11} {
		t.Run(version, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{})
			ctx, cancel := context.WithCancel(t.Context())
			ft := &finalizeTransport{base: srv.OAuth1Client().Transport, v11: version == uploader.V11, crash: cancel, done: map[string]bool{},
				exists: func(id string) bool { _, ok := srv.MediaByID(id); return ok }, message: "Invalid media id."}
			var logs testsupport.Buffer
			c := uploader.New(&http.Client{Transport: ft}, uploader.Options{BaseURL: srv.URL, Version: version, ChunkSize: 1 << 20,
				Log: zerolog.New(&logs)})
			data := mediagen.PNG(600, 600, 22)
			m := uploader.Media{Name: "large.png", Size: int64(len(data)), Type: "image/png"}
			var saved uploader.Progress
			if _, err := c.Upload(ctx, bytes.NewReader(data), m, func(p uploader.Progress) { saved = p }); !errors.Is(err, context.Canceled) {
				t.Fatalf("Upload dying in FINALIZE = %v, want context.Canceled", err)
			}
			res, err := c.Resume(t.Context(), bytes.NewReader(data), m, saved, nil)
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if res.MediaIDString == saved.MediaID || len(srv.Media()) != 2 {
				t.Errorf("Resume = id %s (saved %s) with %d media at X; want a second upload", res.MediaIDString, saved.MediaID, len(srv.Media()))
			}
			var warned bool
			for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
				var l struct {
					Level, Message string
					MediaID        string `json:"media_id"`
				}
				if json.Unmarshal([]byte(line), &l) == nil && l.Level == "warn" && l.MediaID == saved.MediaID && strings.Contains(l.Message, "second") {
					warned = true
				}
			}
			if !warned {
				t.Errorf("no warning about a possible second upload of %s:\n%s", saved.MediaID, logs.String())
			}
		})
	}
}
