package uploader

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
)

// A resumed upload whose FINALIZE is refused asks STATUS: only when STATUS
// says the id is unknown (or shows no finalized media) does it start over;
// when STATUS shows the media, it finishes under the same id; when STATUS
// itself fails transiently, the error is retryable and nothing is sent again.
// For a category X does not process, STATUS has no status to give (v1.1 404
// code 34, v2 400 "BadRequest: Not found") whether or not the media was
// finalized: only a refusal saying "already finalized" proves it was.
func TestResumeFinalizeRefused(t *testing.T) {
	already := func(w http.ResponseWriter) {
		writeJSON(w, 400, map[string]any{"errors": []map[string]any{{"message": `The media_id "1001" is already finalized.`}}, "title": "Invalid Request",
			"detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"})
	}
	expired := func(w http.ResponseWriter) {
		writeJSON(w, 400, map[string]any{"errors": []map[string]any{{"message": `The media_id "1001" is invalid or expired.`}}, "title": "Invalid Request"})
	}
	code34 := func(w http.ResponseWriter, id string) {
		writeJSON(w, 404, map[string]any{"errors": []map[string]any{{"code": 34, "message": "Sorry, that page does not exist"}}})
	}
	notFound := func(w http.ResponseWriter, id string) {
		writeJSON(w, 400, map[string]any{"errors": []map[string]any{{"message": "BadRequest: Not found"}}, "title": "Invalid Request",
			"detail": "One or more parameters to your request was invalid.", "type": "https://api.twitter.com/2/problems/invalid-request"})
	}
	tests := []struct {
		name      string
		category  string
		refusal   func(w http.ResponseWriter)
		status    func(w http.ResponseWriter, id string)
		sameID    bool // finished under the saved id, no INIT
		wantErr   bool
		permanent bool
	}{
		{"status shows processing done", "tweet_video", already, func(w http.ResponseWriter, id string) {
			writeJSON(w, 200, map[string]any{"data": map[string]any{"id": id, "media_key": "7_" + id, "processing_info": map[string]any{"state": "succeeded"}}})
		}, true, false, false},
		{"status shows a video object", "tweet_video", already, func(w http.ResponseWriter, id string) {
			writeJSON(w, 200, map[string]any{"data": map[string]any{"id": id, "video": map[string]any{"video_type": "video/mp4"}}})
		}, true, false, false},
		{"image: already finalized, status 404 code 34", "tweet_image", already, code34, true, false, false},
		{"image: already finalized, status 400 not found", "tweet_image", already, notFound, true, false, false},
		// A refusal that does not say so proves nothing: starting over leaves at worst an unused
		// media at X, recording an unfinalized id would lose the file.
		{"image: refused otherwise, status 404 code 34", "tweet_image", expired, code34, false, false, false},
		{"image: refused otherwise, status 400 not found", "tweet_image", expired, notFound, false, false, false},
		{"video: status 404 code 34", "tweet_video", already, code34, false, false, false},
		{"video: status 400 not found", "tweet_video", already, notFound, false, false, false},
		{"status says unknown id", "tweet_video", already, func(w http.ResponseWriter, id string) {
			writeJSON(w, 400, map[string]any{"errors": []map[string]any{{"message": "invalid or expired"}}, "title": "Invalid Request"})
		}, false, false, false},
		{"status without media", "tweet_video", already, func(w http.ResponseWriter, id string) {
			writeJSON(w, 200, map[string]any{"data": map[string]any{"id": id}})
		}, false, false, false},
		{"status unavailable", "tweet_video", already, func(w http.ResponseWriter, id string) {
			writeJSON(w, 503, map[string]any{"title": "Service Unavailable"})
		}, true, true, false},
		// An account refusal is not the file's fault: not permanent, the progress stays.
		{"status says unauthorized", "tweet_video", already, func(w http.ResponseWriter, id string) {
			writeJSON(w, 401, map[string]any{"errors": []map[string]any{{"code": 32, "message": "Could not authenticate you."}}})
		}, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				c := f.newClient(Options{ChunkSize: 1000, ChunkParallelism: 1, MaxAttempts: 3, SimpleUploadMax: 1})
				data := testBytes(2500, 15)
				m := Media{Name: "v.mp4", Size: 2500, Type: "video/mp4", Category: tt.category}
				if tt.category == "tweet_image" {
					m.Name, m.Type = "p.png", "image/png"
				}
				var saved Progress
				if _, err := c.Upload(t.Context(), bytes.NewReader(data), m, func(p Progress) {
					if !p.Finalized {
						saved = p
					}
				}); err != nil {
					t.Fatalf("Upload: %v", err)
				}
				old := saved.MediaID
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					switch {
					case op == "FINALIZE" && r.URL.Path == "/2/media/upload/"+old+"/finalize":
						tt.refusal(w)
						return true
					case op == "STATUS" && r.URL.Query().Get("media_id") == old:
						tt.status(w, old)
						return true
					}
					return false
				}
				inits := f.count("INIT")
				res, err := c.Resume(t.Context(), bytes.NewReader(data), m, saved, nil)
				if (err != nil) != tt.wantErr || (err != nil && IsPermanent(err) != tt.permanent) {
					t.Fatalf("Resume = %v; want error %v (permanent %v)", err, tt.wantErr, tt.permanent)
				}
				newInits := f.count("INIT") - inits
				if tt.sameID {
					if newInits != 0 || (err == nil && res.MediaIDString != old) {
						t.Errorf("Resume = %+v after %d INITs; want id %s and no INIT", res, newInits, old)
					}
				} else if newInits != 1 || res.MediaIDString == old || res.MediaIDString == "" {
					t.Errorf("Resume = %+v after %d INITs; want a fresh upload", res, newInits)
				}
			})
		})
	}
}

// The process dies between FINALIZE and saving its outcome, for an image
// (tweet_image, which X does not process; v2 STATUS answers it 400
// "BadRequest: Not found"). Resume finishes on the same media id, without an
// INIT: no duplicate at X, and the recorded id is one the server finalized
// with the file's bytes.
//   - "answer lost": FINALIZE reached the server, the process died before
//     reading the answer; the progress says all segments acked, not
//     finalized. The resumed FINALIZE is accepted again (as the emulator
//     does) or refused as already finalized.
//   - "saved": the progress says finalized; the process died before the
//     result was recorded. Resume only asks STATUS.
func TestResumeImageAfterFinalize(t *testing.T) {
	tests := []struct {
		name       string
		version    string
		saved      bool // the crash comes after the finalized progress was saved
		refinalize bool // a repeated FINALIZE is refused as already finalized
	}{
		{"answer lost, refinalize accepted", V2, false, false},
		{"answer lost, refinalize refused", V2, false, true},
		{"saved", V2, true, false},
		{"v1.1 answer lost, refinalize refused", V11, false, true},
		{"v1.1 saved", V11, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f := newFakeX(t)
				c := f.newClient(Options{Version: tt.version, ChunkSize: 1000, ChunkParallelism: 2, SimpleUploadMax: 1})
				data := append([]byte("\x89PNG\r\n\x1a\n"), testBytes(3500, 16)...)
				m := Media{Name: "p.png", Size: int64(len(data)), Type: "image/png"}

				ctx, crash := context.WithCancel(t.Context())
				var saved Progress
				f.hook = func(op string, w http.ResponseWriter, r *http.Request) bool {
					if op == "FINALIZE" && !tt.saved {
						// The server finalizes; the answer never arrives.
						f.ServeHTTPNoHook(w, r)
						crash()
						return true
					}
					return false
				}
				_, err := c.Upload(ctx, bytes.NewReader(data), m, func(p Progress) {
					saved = p
					if p.Finalized && tt.saved {
						crash()
					}
				})
				// (After a saved finalized progress the caller may or may not see the crash.)
				if !tt.saved && !errors.Is(err, context.Canceled) {
					t.Fatalf("Upload dying in FINALIZE = %v, want context.Canceled", err)
				}
				if saved.Finalized != tt.saved || len(saved.Acked) != 4 {
					t.Fatalf("saved progress %+v, want 4 segments acked, finalized %v", saved, tt.saved)
				}
				if mi := f.get(saved.MediaID); mi == nil || !mi.finalized || !bytes.Equal(mi.data, data) {
					t.Fatalf("fake holds %+v for %s, want it finalized with the file's bytes", mi, saved.MediaID)
				}
				f.hook = nil
				if tt.refinalize {
					f.refinalize = alreadyFinalized
				}
				inits := f.count("INIT")
				res, err := c.Resume(t.Context(), bytes.NewReader(data), m, saved, nil)
				if err != nil || res.MediaIDString != saved.MediaID || f.count("INIT") != inits {
					t.Fatalf("Resume = %+v, %v after %d more INITs; want id %s, no INIT", res, err, f.count("INIT")-inits, saved.MediaID)
				}
				if res.MediaKey != saved.MediaKey || res.ExpiresAt.IsZero() {
					t.Errorf("Resume = %+v, want media key %s and an expiry", res, saved.MediaKey)
				}
				f.mu.Lock()
				n := len(f.media)
				f.mu.Unlock()
				if n != 1 {
					t.Errorf("fake holds %d media, want 1", n)
				}
			})
		})
	}
}
