package uploader

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestUploadChunked(t *testing.T) {
	for _, version := range []string{V2, V11} {
		t.Run(version, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.proc = []processingInfo{
					{State: "pending", CheckAfterSecs: ptr(1)},
					{State: "in_progress", CheckAfterSecs: ptr(3), ProgressPercent: 40},
					{State: "succeeded", ProgressPercent: 100},
				}
				// The first three APPENDs wait for each other: the upload
				// only completes if three are in flight at once.
				var mu sync.Mutex
				arrived, release := 0, make(chan struct{})
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op != "APPEND" && op != "MULTIPART" {
						return false
					}
					mu.Lock()
					arrived++
					if arrived == 3 {
						close(release)
					}
					mu.Unlock()
					<-release
					return false
				}
				const size = 5<<20 + 123
				data := testBytes(size, 1)
				c := f.newClient(Options{Version: version, ChunkSize: 512 << 10, ChunkParallelism: 3})
				var progress []Progress
				start := time.Now()
				res, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "clip.mp4", Size: size, Type: "video/mp4", AltText: "a clip"},
					func(p Progress) { progress = append(progress, p) })
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				m := f.only()
				if !bytes.Equal(m.data, data) {
					t.Fatalf("server reassembled %d bytes that differ from the %d sent", len(m.data), len(data))
				}
				// v1.1 takes alt text only for images and GIFs.
				wantAlt, wantLast := "a clip", "METADATA"
				if version == V11 {
					wantAlt, wantLast = "", "STATUS"
				}
				if m.category != CategoryTweetVideo || m.mediaType != "video/mp4" || m.altText != wantAlt {
					t.Errorf("server media = category %q type %q alt %q, want tweet_video video/mp4 %q", m.category, m.mediaType, m.altText, wantAlt)
				}
				want := Result{MediaIDString: m.id, MediaKey: "7_" + m.id, ExpiresAt: start.Add(4*time.Second + 86400*time.Second),
					Size: size, Type: "video/mp4", Category: CategoryTweetVideo, API: version}
				if res != want {
					t.Errorf("Upload = %+v, want %+v", res, want)
				}
				calls := f.Calls()
				fin := slices.Index(calls, "FINALIZE")
				if calls[0] != "INIT" || fin != 12 || f.count("APPEND") != 11 || calls[len(calls)-1] != wantLast || f.count("STATUS") != 2 {
					t.Errorf("calls = %v, want INIT, 11 APPENDs, FINALIZE, 2 STATUS, then %s", calls, wantLast)
				}
				// Progress: after INIT, after each of 11 segments, after FINALIZE.
				if len(progress) != 13 {
					t.Fatalf("%d progress reports, want 13", len(progress))
				}
				last := progress[len(progress)-1]
				if !last.Finalized || last.MediaID != m.id || last.ChunkSize != 512<<10 || len(last.Acked) != 11 || !slices.IsSorted(last.Acked) || last.Category != CategoryTweetVideo {
					t.Errorf("last progress = %+v", last)
				}
				for i, p := range progress[:12] {
					if len(p.Acked) != i || p.Finalized {
						t.Errorf("progress[%d] has %d acked (finalized %v), want %d", i, len(p.Acked), p.Finalized, i)
					}
				}
			})
		})
	}
}

func TestUploadSimple(t *testing.T) {
	for _, version := range []string{V2, V11} {
		t.Run(version, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				data := append([]byte("\xff\xd8\xff\xe0"), testBytes(200<<10, 2)...)
				c := f.newClient(Options{Version: version})
				res, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "a.jpg", Size: int64(len(data)), Type: "image/jpeg", AdditionalOwners: []string{"12", "34"}}, nil)
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				m := f.only()
				if calls := f.Calls(); !slices.Equal(calls, []string{"UPLOAD"}) {
					t.Errorf("calls = %v, want one UPLOAD", calls)
				}
				if !bytes.Equal(m.data, data) || m.category != CategoryTweetImage || !slices.Equal(m.owners, []string{"12", "34"}) {
					t.Errorf("server media: %d bytes equal=%v category %q owners %v", len(m.data), bytes.Equal(m.data, data), m.category, m.owners)
				}
				if res.MediaIDString != m.id || res.Width != 64 || res.Height != 48 || res.Category != CategoryTweetImage || res.ExpiresAt.IsZero() {
					t.Errorf("Upload = %+v", res)
				}
			})
		})
	}
}

func TestUploadInitFields(t *testing.T) {
	for _, version := range []string{V2, V11} {
		t.Run(version, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				data := testBytes(3000, 3)
				c := f.newClient(Options{Version: version, ChunkSize: 1000})
				_, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "x.gif", Size: 3000, Type: "image/gif", Category: "dm_gif", AdditionalOwners: []string{"7"}, Shared: true}, nil)
				if err != nil {
					t.Fatalf("Upload: %v", err)
				}
				m := f.only()
				if m.category != CategoryDMGIF || m.mediaType != "image/gif" || !m.shared || !slices.Equal(m.owners, []string{"7"}) || m.total != 3000 {
					t.Errorf("INIT recorded %+v", m)
				}
			})
		})
	}
}

func TestProcessing(t *testing.T) {
	tests := []struct {
		name    string
		proc    []processingInfo
		wantErr error
		wantDur time.Duration // fake time from FINALIZE to the end
	}{
		{"no processing_info", nil, nil, 0},
		{"check_after honoured", []processingInfo{{State: "pending", CheckAfterSecs: ptr(5)}, {State: "succeeded"}}, nil, 5 * time.Second},
		{"default when absent", []processingInfo{{State: "pending"}, {State: "in_progress"}, {State: "succeeded"}}, nil, defaultCheckAfter + 2*defaultCheckAfter},
		// Without check_after_secs the polls back off (2, 4, 8, 16 s) up to maxDefaultCheckAfter.
		{"default backs off", []processingInfo{{State: "pending"}, {State: "in_progress"}, {State: "in_progress"}, {State: "in_progress"},
			{State: "in_progress"}, {State: "succeeded"}}, nil, 2*time.Second + 4*time.Second + 8*time.Second + 16*time.Second + maxDefaultCheckAfter},
		{"check_after given again resets the backoff", []processingInfo{{State: "pending"}, {State: "in_progress", CheckAfterSecs: ptr(1)},
			{State: "in_progress"}, {State: "succeeded"}}, nil, 2*time.Second + time.Second + 4*time.Second},
		{"huge check_after is capped by the processing timeout", []processingInfo{{State: "pending", CheckAfterSecs: ptr(1 << 40)}}, ErrProcessingTimeout, time.Minute},
		{"failed", []processingInfo{{State: "pending", CheckAfterSecs: ptr(1)},
			{State: "failed", Error: &errorObject{Code: 1, Name: "InvalidMedia", Message: "Unsupported video format"}}}, ErrProcessingFailed, time.Second},
		{"error while in_progress", []processingInfo{{State: "in_progress", CheckAfterSecs: ptr(1)},
			{State: "in_progress", ProgressPercent: 99, Error: &errorObject{Code: 3, Name: "UnsupportedMedia", Message: "too long"}}}, ErrProcessingFailed, time.Second},
		{"failed at finalize", []processingInfo{{State: "failed"}}, ErrProcessingFailed, 0},
		{"never finishes", []processingInfo{{State: "in_progress", CheckAfterSecs: ptr(7)}}, ErrProcessingTimeout, time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.proc = tt.proc
				var finalized time.Time
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op == "FINALIZE" {
						finalized = time.Now()
					}
					return false
				}
				c := f.newClient(Options{ProcessingTimeout: time.Minute})
				data := testBytes(5000, 4)
				_, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 5000, Type: "video/mp4"}, nil)
				if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Fatalf("Upload error = %v, want %v", err, tt.wantErr)
				}
				if got := time.Since(finalized); got != tt.wantDur {
					t.Errorf("processing took %v of fake time, want %v", got, tt.wantDur)
				}
				if errors.Is(tt.wantErr, ErrProcessingFailed) {
					var ae *APIError
					if !errors.As(err, &ae) || !IsPermanent(err) || ae.StatusCode != 200 {
						t.Errorf("processing failure %v: want a permanent *APIError", err)
					}
					if last := tt.proc[len(tt.proc)-1]; last.Error != nil && (ae.Name != last.Error.Name || ae.Message != last.Error.Message || ae.Code != last.Error.Code) {
						t.Errorf("APIError = %+v, want name/message/code of %+v", ae, last.Error)
					}
				}
				if errors.Is(tt.wantErr, ErrProcessingTimeout) && IsPermanent(err) {
					t.Errorf("timeout %v is permanent, want retryable", err)
				}
			})
		})
	}
}

// A server that says processing is pending for an image and then answers
// STATUS with 404 (API.md §1.5 c): the FINALIZE answer is the result.
func TestProcessingStatus404ForImage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeX(t)
		f.proc = []processingInfo{{State: "pending", CheckAfterSecs: ptr(1)}}
		f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
			if op == "STATUS" {
				writeJSON(w, 404, map[string]any{"errors": []map[string]any{{"code": 34, "message": "Sorry, that page does not exist"}}})
				return true
			}
			return false
		}
		c := f.newClient(Options{SimpleUploadMax: 1})
		data := append([]byte("\x89PNG\r\n\x1a\n"), testBytes(4000, 5)...)
		res, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "p.png", Size: int64(len(data)), Type: "image/png"}, nil)
		if err != nil || res.MediaIDString == "" {
			t.Fatalf("Upload = %+v, %v; want success", res, err)
		}
		// The same for a video is an error, not a success.
		_, err = c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: int64(len(data)), Type: "video/mp4"}, nil)
		if err == nil {
			t.Fatal("Upload of a video whose STATUS is 404 succeeded, want an error")
		}
	})
}

func TestVerifyCredentials(t *testing.T) {
	for _, version := range []string{V2, V11} {
		t.Run(version, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				name, err := f.newClient(Options{Version: version}).VerifyCredentials(t.Context())
				if err != nil || name != "fakeuser" {
					t.Errorf("VerifyCredentials = %q, %v; want fakeuser", name, err)
				}
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					writeJSON(w, 401, map[string]any{"errors": []map[string]any{{"code": 32, "message": "Could not authenticate you."}}})
					return true
				}
				_, err = f.newClient(Options{Version: version}).VerifyCredentials(t.Context())
				if !IsAuth(err) || IsPermanent(err) || f.count("VERIFY") != 1 {
					t.Errorf("VerifyCredentials with bad credentials = %v (auth %v), want one account refusal, not permanent", err, IsAuth(err))
				}
			})
		})
	}
}

// Cancelling the context returns the context's error untouched, during
// segments and during processing.
func TestUploadCancel(t *testing.T) {
	for _, at := range []string{"APPEND", "STATUS"} {
		t.Run(at, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.proc = []processingInfo{{State: "pending", CheckAfterSecs: ptr(10)}}
				ctx, cancel := context.WithCancel(t.Context())
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op == at {
						cancel()
						<-r.Context().Done()
						return true
					}
					return false
				}
				c := f.newClient(Options{ChunkSize: 1000})
				data := testBytes(5000, 6)
				_, err := c.Upload(ctx, bytes.NewReader(data), Media{Name: "v.mp4", Size: 5000, Type: "video/mp4"}, nil)
				if err != context.Canceled {
					t.Errorf("Upload after cancel = %v, want context.Canceled itself", err)
				}
			})
		})
	}
}

func TestRequestShapes(t *testing.T) {
	type seen struct{ method, path, query, contentType string }
	tests := []struct {
		version string
		want    map[string]seen
	}{
		{V2, map[string]seen{
			"INIT":     {"POST", "/2/media/upload/initialize", "", "application/json"},
			"APPEND":   {"POST", "/2/media/upload/*/append", "", "multipart/form-data; boundary="},
			"FINALIZE": {"POST", "/2/media/upload/*/finalize", "", ""},
			"STATUS":   {"GET", "/2/media/upload", "command=STATUS&media_id=*", ""},
			"METADATA": {"POST", "/2/media/metadata", "", "application/json"},
		}},
		{V11, map[string]seen{
			"INIT":      {"POST", "/1.1/media/upload.json", "", "application/x-www-form-urlencoded"},
			"MULTIPART": {"POST", "/1.1/media/upload.json", "", "multipart/form-data; boundary="},
			"FINALIZE":  {"POST", "/1.1/media/upload.json", "", "application/x-www-form-urlencoded"},
			"STATUS":    {"GET", "/1.1/media/upload.json", "command=STATUS&media_id=*", ""},
			"METADATA":  {"POST", "/1.1/media/metadata/create.json", "", "application/json; charset=UTF-8"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.proc = []processingInfo{{State: "pending", CheckAfterSecs: ptr(1)}, {State: "succeeded"}}
				got := map[string]seen{}
				var mu sync.Mutex
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					id := ""
					if m := f.Calls(); len(m) > 0 {
						f.mu.Lock()
						for k := range f.media {
							id = k
						}
						f.mu.Unlock()
					}
					s := seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type")}
					if id != "" {
						s.path = strings.Replace(s.path, id, "*", 1)
						s.query = strings.Replace(s.query, id, "*", 1)
					}
					if strings.HasPrefix(s.contentType, "multipart/form-data; boundary=") {
						s.contentType = "multipart/form-data; boundary="
					}
					if r.ContentLength < 0 {
						t.Errorf("%s sent without Content-Length", op)
					}
					if a := r.Header.Get("Authorization"); a != "" {
						t.Errorf("%s: client set Authorization itself", op)
					}
					mu.Lock()
					got[op] = s
					mu.Unlock()
					return false
				}
				c := f.newClient(Options{Version: tt.version, ChunkSize: 1000})
				data := testBytes(2500, 7)
				if _, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.gif", Size: 2500, Type: "image/gif", AltText: "x"}, nil); err != nil {
					t.Fatalf("Upload: %v", err)
				}
				for op, w := range tt.want {
					if got[op] != w {
						t.Errorf("%s request = %+v, want %+v", op, got[op], w)
					}
				}
			})
		})
	}
}

// A session the server forgot mid-upload is started over once; a FINALIZE
// refusal of fresh bytes is a verdict on the bytes and is not.
func TestStartOver(t *testing.T) {
	tests := []struct {
		name      string
		hook      func(f *fakeX) func(op string, w http.ResponseWriter, r *http.Request) bool
		wantInits int
		wantErr   bool
	}{
		{"append of forgotten id", func(f *fakeX) func(string, http.ResponseWriter, *http.Request) bool {
			var once sync.Once
			return func(op string, w http.ResponseWriter, r *http.Request) bool {
				if op == "APPEND" {
					once.Do(func() { f.forget(strings.Split(r.URL.Path, "/")[4]) })
				}
				return false
			}
		}, 2, false},
		{"finalize refused", func(f *fakeX) func(string, http.ResponseWriter, *http.Request) bool {
			return func(op string, w http.ResponseWriter, r *http.Request) bool {
				if op == "FINALIZE" {
					writeJSON(w, 400, map[string]any{"request": "/2/media/upload", "error": "media type unrecognized."})
					return true
				}
				return false
			}
		}, 1, true},
		{"forgotten twice", func(f *fakeX) func(string, http.ResponseWriter, *http.Request) bool {
			return func(op string, w http.ResponseWriter, r *http.Request) bool {
				if op == "APPEND" {
					f.forget(strings.Split(r.URL.Path, "/")[4])
				}
				return false
			}
		}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				f.hook = tt.hook(f)
				c := f.newClient(Options{ChunkSize: 1000, ChunkParallelism: 1})
				data := testBytes(3000, 14)
				_, err := c.Upload(t.Context(), bytes.NewReader(data), Media{Name: "v.mp4", Size: 3000, Type: "video/mp4"}, nil)
				if (err != nil) != tt.wantErr || f.count("INIT") != tt.wantInits {
					t.Errorf("Upload = %v after %d INITs; want error %v after %d", err, f.count("INIT"), tt.wantErr, tt.wantInits)
				}
				if err != nil && !IsPermanent(err) {
					t.Errorf("error %v is not permanent", err)
				}
			})
		})
	}
}

// A FINALIZE answer without media_key and expires_after_secs keeps INIT's.
func TestFinalizeKeepsInitFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeX(t)
		f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
			if op != "FINALIZE" {
				return false
			}
			id := strings.Split(r.URL.Path, "/")[4]
			writeJSON(w, 200, map[string]any{"data": map[string]any{"id": id, "size": 3000}})
			return true
		}
		start := time.Now()
		c := f.newClient(Options{ChunkSize: 1000})
		res, err := c.Upload(t.Context(), bytes.NewReader(testBytes(3000, 15)), Media{Name: "v.mp4", Size: 3000, Type: "video/mp4"}, nil)
		if err != nil {
			t.Fatalf("Upload: %v", err)
		}
		if want := start.Add(86400 * time.Second); res.MediaKey != "7_"+res.MediaIDString || !res.ExpiresAt.Equal(want) {
			t.Errorf("Upload = key %q expires %v, want INIT's %q %v", res.MediaKey, res.ExpiresAt, "7_"+res.MediaIDString, want)
		}
	})
}
