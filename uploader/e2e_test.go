package uploader_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/internal/testsupport"
	"github.com/mediasync/mediasync/uploader"
)

type sample struct {
	name string
	data []byte
}

func samples(t *testing.T) []sample {
	t.Helper()
	return []sample{
		{"small.jpg", mediagen.JPEG(320, 240, 1)},
		{"large.png", mediagen.PNG(600, 600, 2)}, // ≈1.4 MB: chunked image
		{"anim.gif", mediagen.GIF(64, 48, 5, 3)},
		{"clip.mp4", mediagen.MP4(3<<20+321, 4)},
	}
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// upload detects the type, uploads, and checks the emulator holds exactly
// the bytes, under the returned id and key.
func upload(t *testing.T, srv *emulatortest.Server, c *uploader.Client, s sample, alt string) uploader.Result {
	t.Helper()
	r := bytes.NewReader(s.data)
	typ, err := uploader.Detect(r, int64(len(s.data)))
	if err != nil {
		t.Fatalf("Detect(%s): %v", s.name, err)
	}
	res, err := c.Upload(t.Context(), r, uploader.Media{Name: s.name, Size: int64(len(s.data)), Type: typ, AltText: alt}, nil)
	if err != nil {
		t.Fatalf("Upload(%s): %v", s.name, err)
	}
	mi, ok := srv.MediaByID(res.MediaIDString)
	if !ok {
		t.Fatalf("Upload(%s) = id %q, unknown to the emulator", s.name, res.MediaIDString)
	}
	if mi.SHA256 != sum(s.data) || mi.Size != int64(len(s.data)) {
		t.Errorf("%s: emulator holds %d bytes sha256 %s, want %d bytes %s", s.name, mi.Size, mi.SHA256, len(s.data), sum(s.data))
	}
	if mi.MediaKey != res.MediaKey || mi.MediaCategory != res.Category || mi.State != "succeeded" || mi.AltText != alt {
		t.Errorf("%s: emulator has key %q category %q state %q alt %q; result %+v", s.name, mi.MediaKey, mi.MediaCategory, mi.State, mi.AltText, res)
	}
	if until := time.Until(res.ExpiresAt); until < 23*time.Hour || until > 24*time.Hour {
		t.Errorf("%s: expires in %v, want about 24h", s.name, until)
	}
	return res
}

func TestEmulatorUpload(t *testing.T) {
	tests := []struct {
		version string
		auth    string
	}{
		{uploader.V2, "oauth1"},
		{uploader.V2, "bearer"},
		{uploader.V11, "oauth1"},
	}
	for _, tt := range tests {
		t.Run(tt.version+"/"+tt.auth, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{ProcessingTime: 300 * time.Millisecond}})
			hc := srv.OAuth1Client()
			if tt.auth == "bearer" {
				hc = srv.BearerClient()
			}
			c := uploader.New(hc, uploader.Options{BaseURL: srv.URL, Version: tt.version, ChunkSize: 1 << 20})
			want := map[string]string{"small.jpg": "tweet_image", "large.png": "tweet_image", "anim.gif": "tweet_gif", "clip.mp4": "tweet_video"}
			for _, s := range samples(t) {
				alt := "alt text for " + s.name
				if tt.version == uploader.V11 && s.name == "clip.mp4" {
					alt = "" // v1.1 takes alt text only for images and GIFs
				}
				res := upload(t, srv, c, s, alt)
				if res.Category != want[s.name] || res.API != tt.version {
					t.Errorf("%s: category %q api %q, want %q %q", s.name, res.Category, res.API, want[s.name], tt.version)
				}
			}
			name, err := c.VerifyCredentials(t.Context())
			if err != nil || name == "" {
				t.Errorf("VerifyCredentials = %q, %v", name, err)
			}
		})
	}
}

// Uploads arrive byte-identical through 10% 5xx answers, 5% connections cut
// mid-body and tight rate limits, with no file failed.
func TestEmulatorFaults(t *testing.T) {
	for _, version := range []string{uploader.V2, uploader.V11} {
		t.Run(version, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{
				FailRate: 0.10, DropRate: 0.05, RateLimit: 40, RateWindow: time.Second, Seed: 7,
			}})
			var retries atomic.Int64
			c := uploader.New(srv.OAuth1Client(), uploader.Options{
				BaseURL: srv.URL, Version: version, ChunkSize: 128 << 10, ChunkParallelism: 4,
				MaxBackoff: 100 * time.Millisecond, MaxAttempts: 12,
				OnRetry: func(string, int, error, time.Duration) { retries.Add(1) },
			})
			var wg sync.WaitGroup
			for _, s := range samples(t) {
				wg.Go(func() { upload(t, srv, c, s, "") })
			}
			wg.Wait()
			st := srv.Stats()
			faults := 0
			for _, codes := range st.Requests {
				faults += codes[500] + codes[503]
			}
			if faults == 0 || retries.Load() == 0 {
				t.Errorf("%d 5xx answers and %d retries: the faults were not exercised", faults, retries.Load())
			}
			t.Logf("%d requests, %d 5xx, %d retries", st.Total, faults, retries.Load())
		})
	}
}

// Answers lost after the server processed the request (INIT, APPEND, FINALIZE, one-shot): every
// upload still ends byte-identical with no file failed; a retried FINALIZE whose first answer was lost
// is recognised through STATUS instead of failing the file.
func TestEmulatorLostAnswers(t *testing.T) {
	for _, version := range []string{uploader.V2, uploader.V11} {
		t.Run(version, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{LoseAnswerRate: 0.15, Seed: 3}})
			var retried sync.Map // ops retried after a lost answer
			var retries atomic.Int64
			c := uploader.New(srv.OAuth1Client(), uploader.Options{
				BaseURL: srv.URL, Version: version, ChunkSize: 256 << 10, MaxBackoff: 50 * time.Millisecond, MaxAttempts: 12,
				OnRetry: func(op string, _ int, _ error, _ time.Duration) { retries.Add(1); retried.Store(op, true) },
			})
			for _, s := range samples(t) {
				upload(t, srv, c, s, "")
			}
			var ops []string
			retried.Range(func(k, _ any) bool { ops = append(ops, k.(string)); return true })
			if retries.Load() == 0 {
				t.Fatal("no request was retried: no answer was lost")
			}
			t.Logf("%d retries after lost answers, ops %v", retries.Load(), ops)
		})
	}
}

// A 429 storm: a budget far below what the upload needs. The client waits
// for each window instead of failing.
func TestEmulatorRateLimitStorm(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{RateLimit: 6, RateWindow: time.Second}})
	var waits atomic.Int64 // OnWait is called from the parallel segments
	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, ChunkSize: 256 << 10, ChunkParallelism: 3,
		OnWait: func(string, time.Duration) { waits.Add(1) }})
	upload(t, srv, c, sample{"clip.mp4", mediagen.MP4(4<<20, 5)}, "")
	if waits.Load() == 0 {
		t.Errorf("OnWait never called for 16 segments through a budget of 6 per second")
	}
	st := srv.Stats()
	if n := st.Count("POST /2/media/upload/{id}/append", 429); n > 3 {
		t.Errorf("%d APPENDs answered 429, want the client to wait for the window instead", n)
	}
}

func TestEmulatorProcessingFails(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{ProcessingTime: 200 * time.Millisecond, FailProcessing: true}})
	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL})
	data := mediagen.MP4(2<<20, 6)
	_, err := c.Upload(t.Context(), bytes.NewReader(data), uploader.Media{Name: "bad.mp4", Size: int64(len(data)), Type: "video/mp4"}, nil)
	var ae *uploader.APIError
	if !errors.Is(err, uploader.ErrProcessingFailed) || !uploader.IsPermanent(err) || !errors.As(err, &ae) || ae.Message == "" {
		t.Fatalf("Upload with failing processing = %v, want a permanent ErrProcessingFailed with the server's message", err)
	}
}

// Slow processing: polled until done within ProcessingTimeout; beyond it,
// a retryable ErrProcessingTimeout.
func TestEmulatorSlowProcessing(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{ProcessingTime: 1500 * time.Millisecond}})
	data := mediagen.MP4(1<<20, 11)
	m := uploader.Media{Name: "slow.mp4", Size: int64(len(data)), Type: "video/mp4"}

	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, ProcessingTimeout: 500 * time.Millisecond})
	_, err := c.Upload(t.Context(), bytes.NewReader(data), m, nil)
	if !errors.Is(err, uploader.ErrProcessingTimeout) || uploader.IsPermanent(err) {
		t.Fatalf("Upload past ProcessingTimeout = %v, want retryable ErrProcessingTimeout", err)
	}

	c = uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL})
	upload(t, srv, c, sample{"slow.mp4", data}, "")
	if n := srv.Stats().Count("GET /2/media/upload", 0); n < 2 {
		t.Errorf("%d STATUS requests, want polling", n)
	}
}

// An upload interrupted after a few segments resumes from its Progress: no
// new INIT, only the missing segments, byte-identical result.
func TestEmulatorResume(t *testing.T) {
	for _, version := range []string{uploader.V2, uploader.V11} {
		t.Run(version, func(t *testing.T) {
			srv := emulatortest.NewServer(t, emulator.Options{})
			c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, Version: version, ChunkSize: 512 << 10, ChunkParallelism: 1})
			data := mediagen.MP4(5<<20+77, 7) // 11 segments
			m := uploader.Media{Name: "clip.mp4", Size: int64(len(data)), Type: "video/mp4"}

			ctx, cancel := context.WithCancel(t.Context())
			var saved uploader.Progress
			_, err := c.Upload(ctx, bytes.NewReader(data), m, func(p uploader.Progress) {
				saved = p
				if len(p.Acked) == 4 {
					cancel()
				}
			})
			if err != context.Canceled {
				t.Fatalf("interrupted Upload = %v, want context.Canceled", err)
			}
			if len(saved.Acked) != 4 || saved.MediaID == "" || saved.Finalized {
				t.Fatalf("saved progress = %+v, want 4 acked segments", saved)
			}
			before := appends(srv, version)

			var last uploader.Progress
			res, err := c.Resume(t.Context(), bytes.NewReader(data), m, saved, func(p uploader.Progress) { last = p })
			if err != nil {
				t.Fatalf("Resume: %v", err)
			}
			if res.MediaIDString != saved.MediaID || !last.Finalized || len(last.Acked) != 11 {
				t.Errorf("Resume = %+v, last progress %+v; want the saved media id, 11 acked, finalized", res, last)
			}
			if n := appends(srv, version) - before; n != 7 {
				t.Errorf("Resume sent %d APPENDs, want the 7 missing", n)
			}
			if mi, _ := srv.MediaByID(res.MediaIDString); mi.SHA256 != sum(data) {
				t.Errorf("resumed media sha256 %s, want %s", mi.SHA256, sum(data))
			}
			// Resuming a finalized upload only asks for its status.
			res2, err := c.Resume(t.Context(), bytes.NewReader(data), m, last, nil)
			if err != nil || res2.MediaIDString != res.MediaIDString || appends(srv, version)-before != 7 {
				t.Errorf("Resume of finalized = %+v, %v; want the same id without uploading", res2, err)
			}
		})
	}
}

func appends(srv *emulatortest.Server, version string) int {
	st := srv.Stats()
	if version == uploader.V11 {
		return st.Count("POST /1.1/media/upload.json APPEND", 0)
	}
	return st.Count("POST /2/media/upload/{id}/append", 0)
}

// A media id that expires (or that the server forgets) mid-upload, and a
// saved Progress past its expiry: the client starts over and succeeds.
func TestEmulatorExpiredMediaID(t *testing.T) {
	for _, version := range []string{uploader.V2, uploader.V11} {
		t.Run(version, func(t *testing.T) { testExpiredMediaID(t, version) })
	}
}

func testExpiredMediaID(t *testing.T, version string) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, Version: version, ChunkSize: 512 << 10, ChunkParallelism: 1})
	data := mediagen.MP4(3<<20, 8)
	m := uploader.Media{Name: "clip.mp4", Size: int64(len(data)), Type: "video/mp4"}

	var once sync.Once
	var first string
	res, err := c.Upload(t.Context(), bytes.NewReader(data), m, func(p uploader.Progress) {
		if len(p.Acked) == 2 {
			once.Do(func() {
				first = p.MediaID
				srv.Reset() // the server forgets every media id
			})
		}
	})
	if err != nil {
		t.Fatalf("Upload across a forgotten media id: %v", err)
	}
	if res.MediaIDString == first {
		t.Errorf("Upload kept the forgotten media id %s", first)
	}
	if mi, _ := srv.MediaByID(res.MediaIDString); mi.SHA256 != sum(data) {
		t.Errorf("sha256 %s, want %s", mi.SHA256, sum(data))
	}

	stale := uploader.Progress{MediaID: res.MediaIDString, ChunkSize: 512 << 10, Acked: []int{0, 1}, ExpiresAt: time.Now().Add(-time.Minute), Category: "tweet_video"}
	res2, err := c.Resume(t.Context(), bytes.NewReader(data), m, stale, nil)
	if err != nil || res2.MediaIDString == res.MediaIDString {
		t.Errorf("Resume of an expired progress = %+v, %v; want a fresh upload", res2, err)
	}
}

// Bad credentials: one request, an account refusal, no retries; and no secret
// ever reaches the log, even at debug level.
func TestEmulatorAuthAndLogs(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{FailRate: 0.2, Seed: 3}})
	var logs testsupport.Buffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)

	bad := oauth1.NewConfig(srv.Creds.ConsumerKey, "wrong-secret").Client(t.Context(), oauth1.NewToken(srv.Creds.AccessToken, srv.Creds.AccessTokenSecret))
	srv.SetFaults(emulator.Faults{})
	c := uploader.New(bad, uploader.Options{BaseURL: srv.URL, Log: log})
	data := mediagen.JPEG(100, 100, 9)
	_, err := c.Upload(t.Context(), bytes.NewReader(data), uploader.Media{Name: "a.jpg", Size: int64(len(data)), Type: "image/jpeg"}, nil)
	if r, ok := uploader.AccountRefusal(err); !ok || r != uploader.RefusalUnauthorized || !uploader.IsAuth(err) || uploader.IsPermanent(err) {
		t.Fatalf("Upload with a wrong secret = %v, want an account refusal (unauthorized), not permanent for the file", err)
	}
	if n := srv.Stats().Total; n != 1 {
		t.Errorf("%d requests with bad credentials, want 1", n)
	}

	srv.SetFaults(emulator.Faults{FailRate: 0.2, Seed: 3})
	good := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, Log: log, ChunkSize: 256 << 10, MaxBackoff: 10 * time.Millisecond})
	upload(t, srv, good, sample{"clip.mp4", mediagen.MP4(1<<20, 10)}, "")
	out := logs.String()
	if !strings.Contains(out, `"component":"uploader"`) {
		t.Errorf("logs carry no component=uploader: %s", out)
	}
	for _, secret := range []string{srv.Creds.ConsumerSecret, srv.Creds.AccessTokenSecret, srv.Creds.BearerToken, "oauth_signature", "command=STATUS", "Authorization"} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain %q", secret)
		}
	}
}

func TestNewTransport(t *testing.T) {
	tr := uploader.NewTransport()
	if tr.MaxIdleConnsPerHost < 16 {
		t.Errorf("MaxIdleConnsPerHost = %d, want room for parallel segments", tr.MaxIdleConnsPerHost)
	}
	var _ http.RoundTripper = tr
}

// rewrittenFile returns other bytes from offset at on: a file rewritten in
// place after it was hashed (issue 17.2's reproduction).
type rewrittenFile struct {
	data []byte
	at   int64
}

func (f rewrittenFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(f.data).ReadAt(p, off)
	for i := range n {
		if off+int64(i) >= f.at {
			p[i] ^= 0x5a
		}
	}
	return n, err
}

// Over a real connection to the emulator: a segment whose bytes are not
// those hashed is cut short, the emulator never stores it, and the upload
// fails with ErrSource; unchanged bytes go through with verification on.
func TestEmulatorSumsVerified(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, ChunkSize: 1 << 20, ChunkParallelism: 1})
	data := mediagen.MP4(3<<20+11, 60)
	sums, err := uploader.HashFile(t.Context(), bytes.NewReader(data), int64(len(data)), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	m := uploader.Media{Name: "clip.mp4", Size: int64(len(data)), Type: "video/mp4", Sums: &sums}
	var saved uploader.Progress
	_, err = c.Upload(t.Context(), rewrittenFile{data, 2<<20 + 5}, m, func(p uploader.Progress) { saved = p })
	if !errors.Is(err, uploader.ErrSource) || uploader.IsPermanent(err) {
		t.Fatalf("Upload of a rewritten file = %v, want ErrSource", err)
	}
	if mi, ok := srv.MediaByID(saved.MediaID); !ok || mi.Segments != 2 || mi.State != "uploading" || len(saved.Acked) != 2 {
		t.Errorf("emulator holds %+v, progress %+v; want segments 0 and 1 only", mi, saved)
	}
	res, err := c.Upload(t.Context(), bytes.NewReader(data), m, nil)
	if err != nil {
		t.Fatalf("Upload: %v", err)
	}
	if mi, _ := srv.MediaByID(res.MediaIDString); mi.SHA256 != sum(data) {
		t.Errorf("emulator holds sha256 %s, want %s", mi.SHA256, sum(data))
	}
}

// File names with control characters, quotes, backslashes, invalid UTF-8
// or a great length are uploaded: the multipart filename X ignores is
// sanitised, so our own header stays valid (issue 17.6).
func TestEmulatorOddFileNames(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, ChunkSize: 1 << 20})
	img := mediagen.JPEG(64, 48, 61)
	for _, name := range []string{"tab\there.jpg", "bell\a\x01\x1f.jpg", "cr\rlf\n.jpg", `quote"back\slash.jpg`, "bad\xff\xfeutf8.jpg",
		strings.Repeat("long", 300) + ".jpg", "émoji 📷.jpg", "\x7f", ""} {
		res, err := c.Upload(t.Context(), bytes.NewReader(img), uploader.Media{Name: name, Size: int64(len(img)), Type: "image/jpeg"}, nil)
		if err != nil {
			t.Errorf("Upload(%q) = %v", name, err)
			continue
		}
		if mi, _ := srv.MediaByID(res.MediaIDString); mi.SHA256 != sum(img) {
			t.Errorf("Upload(%q): emulator holds sha256 %s", name, mi.SHA256)
		}
	}
}
