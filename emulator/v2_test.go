package emulator

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// chunks splits b into pieces of n bytes.
func chunks(b []byte, n int) [][]byte {
	var out [][]byte
	for len(b) > n {
		out = append(out, b[:n])
		b = b[n:]
	}
	return append(out, b)
}

func (e *testEnv) v2Init(mediaType string, total int, category string) answer {
	e.t.Helper()
	req := map[string]any{"media_type": mediaType, "total_bytes": total}
	if category != "" {
		req["media_category"] = category
	}
	return e.postJSON("/2/media/upload/initialize", req)
}

// v2Upload runs initialize, append (in reverse order, to prove reassembly by
// index) and finalize, and returns the id and the finalize answer.
func (e *testEnv) v2Upload(data []byte, mediaType, category string, chunk int) (string, answer) {
	e.t.Helper()
	a := e.v2Init(mediaType, len(data), category)
	if a.status != http.StatusOK {
		e.t.Fatalf("initialize: %d %s", a.status, a.body)
	}
	id := str(a.data(e.t)["id"])
	parts := chunks(data, chunk)
	for i := len(parts) - 1; i >= 0; i-- {
		a := e.postMultipart("/2/media/upload/"+id+"/append", map[string]string{"segment_index": fmt.Sprint(i)}, "media", parts[i])
		if a.status != http.StatusOK {
			e.t.Fatalf("append %d: %d %s", i, a.status, a.body)
		}
	}
	return id, e.do(e.newReq("POST", "/2/media/upload/"+id+"/finalize", nil, ""))
}

func TestV2ChunkedUploads(t *testing.T) {
	jpeg := mediagen.JPEG(320, 200, 1)
	png := mediagen.PNG(64, 48, 2)
	gif := mediagen.GIF(40, 30, 3, 3)
	mp4 := mediagen.MP4(3<<20+12345, 4)
	tests := []struct {
		name, mediaType, category string
		data                      []byte
		chunk                     int
		wantKey                   string
		wantAsync                 bool
		wantW, wantH              int
	}{
		{"jpeg", "image/jpeg", "tweet_image", jpeg, 1000, "3_", false, 320, 200},
		{"png without category", "image/png", "", png, 1 << 20, "3_", false, 64, 48},
		{"animated gif", "image/gif", "tweet_gif", gif, 500, "16_", true, 0, 0},
		{"gif as image", "image/gif", "tweet_image", gif, 500, "3_", false, 40, 30},
		{"mp4 video", "video/mp4", "tweet_video", mp4, 1 << 20, "7_", true, 0, 0},
		{"mp4 amplify", "video/mp4", "amplify_video", mp4, 4 << 20, "13_", true, 0, 0},
		{"mp4 dm", "video/mp4", "dm_video", mp4, 4 << 20, "7_", true, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			id, a := e.v2Upload(tt.data, tt.mediaType, tt.category, tt.chunk)
			if a.status != http.StatusOK {
				t.Fatalf("finalize: %d %s", a.status, a.body)
			}
			d := a.data(t)
			if got := str(d["media_key"]); got != tt.wantKey+id {
				t.Errorf("media_key = %q, want %q", got, tt.wantKey+id)
			}
			if num(d["size"]) != len(tt.data) || num(d["expires_after_secs"]) != 86400 {
				t.Errorf("size, expires_after_secs = %v, %v; want %d, 86400", d["size"], d["expires_after_secs"], len(tt.data))
			}
			_, hasPI := d["processing_info"]
			if hasPI != tt.wantAsync {
				t.Errorf("processing_info present = %v, want %v (%s)", hasPI, tt.wantAsync, a.body)
			}
			if tt.wantW > 0 {
				img, _ := d["image"].(map[string]any)
				if num(img["w"]) != tt.wantW || num(img["h"]) != tt.wantH || str(img["image_type"]) != tt.mediaType {
					t.Errorf("image = %v, want %s %dx%d", img, tt.mediaType, tt.wantW, tt.wantH)
				}
			}
			info, ok := e.s.MediaByID(id)
			if !ok {
				t.Fatalf("MediaByID(%s) not found", id)
			}
			if info.SHA256 != sum(tt.data) || info.State != "succeeded" {
				t.Errorf("info = %+v; want sha256 %s, succeeded", info, sum(tt.data))
			}
			rc, err := e.s.OpenMedia(id)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			buf.ReadFrom(rc)
			rc.Close()
			if !bytes.Equal(buf.Bytes(), tt.data) {
				t.Errorf("OpenMedia bytes differ from the upload")
			}
		})
	}
}

func TestV2ProcessingProgresses(t *testing.T) {
	tests := []struct {
		name      string
		fail      bool
		wantFinal string
	}{
		{"succeeds", false, "succeeded"},
		{"fail processing", true, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{ProcessingTime: 10 * time.Second, FailProcessing: tt.fail}})
			mp4 := mediagen.MP4(200000, 7)
			id, a := e.v2Upload(mp4, "video/mp4", "tweet_video", 64<<10)
			pi, _ := a.data(t)["processing_info"].(map[string]any)
			if str(pi["state"]) != "pending" || num(pi["check_after_secs"]) < 1 {
				t.Fatalf("finalize processing_info = %v, want pending with check_after_secs", pi)
			}
			status := func() map[string]any {
				a := e.get("/2/media/upload?command=STATUS&media_id=" + id)
				if a.status != http.StatusOK {
					t.Fatalf("STATUS: %d %s", a.status, a.body)
				}
				pi, _ := a.data(t)["processing_info"].(map[string]any)
				return pi
			}
			e.clock.Advance(5 * time.Second)
			pi = status()
			if str(pi["state"]) != "in_progress" || num(pi["progress_percent"]) != 50 || num(pi["check_after_secs"]) < 1 {
				t.Errorf("STATUS at 5s = %v, want in_progress 50%%", pi)
			}
			if got, _ := e.s.MediaByID(id); got.State != "in_progress" {
				t.Errorf("MediaByID state = %s, want in_progress", got.State)
			}
			e.clock.Advance(5 * time.Second)
			pi = status()
			if str(pi["state"]) != tt.wantFinal {
				t.Errorf("STATUS at 10s = %v, want %s", pi, tt.wantFinal)
			}
			errObj, hasErr := pi["error"].(map[string]any)
			if hasErr != tt.fail || tt.fail && str(errObj["name"]) != "InvalidMedia" {
				t.Errorf("processing_info.error = %v, want present=%v InvalidMedia", pi["error"], tt.fail)
			}
		})
	}
}

func TestV2Errors(t *testing.T) {
	e := newEnv(t, Options{})
	jpeg := mediagen.JPEG(64, 64, 9)
	initOK := func() string {
		a := e.v2Init("image/jpeg", len(jpeg), "tweet_image")
		if a.status != http.StatusOK {
			t.Fatalf("initialize: %d %s", a.status, a.body)
		}
		return str(a.data(t)["id"])
	}
	tests := []struct {
		name       string
		run        func() answer
		wantStatus int
		wantInBody string
	}{
		{"initialize without media_type", func() answer {
			return e.postJSON("/2/media/upload/initialize", map[string]any{"total_bytes": 10})
		}, 400, "media_type"},
		{"initialize unknown key", func() answer {
			return e.postJSON("/2/media/upload/initialize", map[string]any{"total_bytes": 10, "media_type": "image/png", "command": "INIT"})
		}, 400, "Invalid Request"},
		{"initialize octet-stream", func() answer { return e.v2Init("application/octet-stream", 10, "") }, 400, "media_type"},
		{"initialize bad category", func() answer { return e.v2Init("image/png", 10, "TWEET_IMAGE") }, 400, "media_category"},
		{"initialize category mismatch", func() answer { return e.v2Init("video/mp4", 10, "tweet_image") }, 400, "media_category"},
		{"image over 5 MB", func() answer { return e.v2Init("image/png", 5<<20+1, "tweet_image") }, 400, "Max size is 5242880B"},
		{"gif over 15 MB", func() answer { return e.v2Init("image/gif", 15<<20+1, "tweet_gif") }, 400, "too large"},
		{"video over 512 MB", func() answer { return e.v2Init("video/mp4", 512<<20+1, "tweet_video") }, 400, "too large"},
		{"video over 15 MB without category", func() answer { return e.v2Init("video/mp4", 15<<20+1, "") }, 400, "Max size is 15728640B"},
		{"initialize form body", func() answer {
			return e.postForm("/2/media/upload/initialize", map[string][]string{"media_type": {"image/png"}, "total_bytes": {"1"}})
		}, 400, "content-type of application/json"},
		{"append unknown id", func() answer {
			return e.postMultipart("/2/media/upload/123/append", map[string]string{"segment_index": "0"}, "media", []byte("x"))
		}, 400, "invalid or expired"},
		{"append segment 1000", func() answer {
			return e.postMultipart("/2/media/upload/"+initOK()+"/append", map[string]string{"segment_index": "1000"}, "media", []byte("x"))
		}, 400, "SegmentIndex must be between 0 and 999."},
		{"append segment -1", func() answer {
			return e.postMultipart("/2/media/upload/"+initOK()+"/append", map[string]string{"segment_index": "-1"}, "media", []byte("x"))
		}, 400, "SegmentIndex"},
		{"append without segment_index", func() answer {
			return e.postMultipart("/2/media/upload/"+initOK()+"/append", nil, "media", []byte("x"))
		}, 400, "segment_index"},
		{"append without media", func() answer {
			return e.postMultipart("/2/media/upload/"+initOK()+"/append", map[string]string{"segment_index": "0"}, "", nil)
		}, 400, "media"},
		{"append over 4 MiB", func() answer {
			return e.postMultipart("/2/media/upload/"+initOK()+"/append", map[string]string{"segment_index": "0"}, "media", make([]byte, 4<<20+1))
		}, 413, ""},
		{"append comma boundary", func() answer {
			req := e.newReq("POST", "/2/media/upload/"+initOK()+"/append", strings.NewReader("--b\r\nContent-Disposition: form-data; name=\"segment_index\"\r\n\r\n0\r\n--b--\r\n"), "multipart/form-data, boundary=b")
			return e.do(req)
		}, 400, "content-type of application/json"},
		{"finalize short", func() answer {
			id := initOK()
			e.postMultipart("/2/media/upload/"+id+"/append", map[string]string{"segment_index": "0"}, "media", jpeg[:100])
			return e.do(e.newReq("POST", "/2/media/upload/"+id+"/finalize", nil, ""))
		}, 400, "Segments do not add up to provided total file size."},
		{"finalize without segments", func() answer {
			return e.do(e.newReq("POST", "/2/media/upload/"+initOK()+"/finalize", nil, ""))
		}, 400, "No segments uploaded"},
		{"finalize bytes not an image", func() answer {
			a := e.v2Init("image/jpeg", 4096, "tweet_image")
			id := str(a.data(t)["id"])
			e.postMultipart("/2/media/upload/"+id+"/append", map[string]string{"segment_index": "0"}, "media", bytes.Repeat([]byte{0}, 4096))
			return e.do(e.newReq("POST", "/2/media/upload/"+id+"/finalize", nil, ""))
		}, 400, "media type unrecognized"},
		{"append after finalize", func() answer {
			id, _ := e.v2Upload(jpeg, "image/jpeg", "tweet_image", 1<<20)
			return e.postMultipart("/2/media/upload/"+id+"/append", map[string]string{"segment_index": "0"}, "media", []byte("x"))
		}, 400, "already finalized"},
		{"status before finalize", func() answer {
			return e.get("/2/media/upload?command=STATUS&media_id=" + initOK())
		}, 400, "not been finalized"},
		{"status unknown", func() answer { return e.get("/2/media/upload?command=STATUS&media_id=42") }, 400, "invalid or expired"},
		{"status without id", func() answer { return e.get("/2/media/upload?command=STATUS") }, 400, "media_id"},
		{"one-shot without category", func() answer {
			return e.postMultipart("/2/media/upload", nil, "media", jpeg)
		}, 400, "media_category"},
		{"one-shot not media", func() answer {
			return e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", []byte("hello, world"))
		}, 400, "media type unrecognized"},
		{"one-shot image over 5 MB", func() answer {
			big := append(bytes.Clone(mediagen.PNG(8, 8, 1)), make([]byte, 5<<20)...)
			return e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", big)
		}, 413, ""},
		{"metadata too long", func() answer {
			return e.postJSON("/2/media/metadata", map[string]any{"id": "1", "metadata": map[string]any{"alt_text": map[string]any{"text": strings.Repeat("é", 1001)}}})
		}, 400, "maximum is 1000"},
		{"metadata unknown id", func() answer {
			return e.postJSON("/2/media/metadata", map[string]any{"id": "1", "metadata": map[string]any{"alt_text": map[string]any{"text": "x"}}})
		}, 400, "invalid or expired"},
		{"unknown endpoint", func() answer { return e.get("/2/media/nothing") }, 404, "Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.run()
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			if tt.wantInBody == "" && len(a.body) != 0 {
				t.Errorf("body = %q, want empty", a.body)
			}
			if !strings.Contains(string(a.body), tt.wantInBody) {
				t.Errorf("body %s does not contain %q", a.body, tt.wantInBody)
			}
			if a.header.Get("x-rate-limit-limit") == "" {
				t.Errorf("no x-rate-limit-limit header")
			}
		})
	}
}

func TestV2OneShotAndMetadata(t *testing.T) {
	e := newEnv(t, Options{})
	jpeg := mediagen.JPEG(100, 80, 5)
	tests := []struct {
		name string
		send func() answer
	}{
		{"multipart", func() answer {
			return e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", jpeg)
		}},
		{"json base64", func() answer {
			return e.postJSON("/2/media/upload", map[string]any{"media_category": "tweet_image", "media": base64.StdEncoding.EncodeToString(jpeg)})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.send()
			if a.status != http.StatusOK {
				t.Fatalf("one-shot: %d %s", a.status, a.body)
			}
			d := a.data(t)
			id := str(d["id"])
			if str(d["media_key"]) != "3_"+id {
				t.Errorf("media_key = %v", d["media_key"])
			}
			img, _ := d["image"].(map[string]any)
			if num(img["w"]) != 100 || num(img["h"]) != 80 {
				t.Errorf("image = %v, want 100x80", img)
			}
			m := e.postJSON("/2/media/metadata", map[string]any{"id": id, "metadata": map[string]any{"alt_text": map[string]any{"text": "Harbour at dawn"}}})
			if m.status != http.StatusOK {
				t.Fatalf("metadata: %d %s", m.status, m.body)
			}
			if !strings.Contains(string(m.body), `"associated_metadata":{"alt_text":{"text":"Harbour at dawn"}}`) {
				t.Errorf("metadata answer = %s", m.body)
			}
			info, _ := e.s.MediaByID(id)
			if info.AltText != "Harbour at dawn" || info.SHA256 != sum(jpeg) {
				t.Errorf("info = %+v", info)
			}
		})
	}
}

func TestV2JSONAppendAndResend(t *testing.T) {
	e := newEnv(t, Options{})
	png := mediagen.PNG(120, 90, 11)
	id := str(e.v2Init("image/png", len(png), "").data(t)["id"])
	half := len(png) / 2
	// Segment 0 first with wrong bytes, then re-sent: the second replaces it.
	wrong := bytes.Repeat([]byte{1}, half)
	for _, seg := range []struct {
		idx  int
		data []byte
	}{{0, wrong}, {1, png[half:]}, {0, png[:half]}} {
		a := e.postJSON("/2/media/upload/"+id+"/append", map[string]any{"segment_index": seg.idx, "media": base64.StdEncoding.EncodeToString(seg.data)})
		if a.status != http.StatusOK {
			t.Fatalf("append %d: %d %s", seg.idx, a.status, a.body)
		}
		if exp := num(a.data(t)["expires_at"]); exp <= int(time.Now().Unix()) {
			t.Errorf("expires_at = %d, want in the future", exp)
		}
	}
	a := e.do(e.newReq("POST", "/2/media/upload/"+id+"/finalize", nil, ""))
	if a.status != http.StatusOK {
		t.Fatalf("finalize: %d %s", a.status, a.body)
	}
	if info, _ := e.s.MediaByID(id); info.SHA256 != sum(png) || info.MediaCategory != "tweet_image" {
		t.Errorf("info = %+v, want sha256 %s", info, sum(png))
	}
}

func TestV2MP4WithoutMoovFailsProcessing(t *testing.T) {
	e := newEnv(t, Options{})
	// ftyp then mdat, no moov: sniffed as video/mp4 but unplayable.
	bad := append([]byte{0, 0, 0, 16, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0, 2, 0}, []byte{0, 0, 0, 16, 'm', 'd', 'a', 't', 1, 2, 3, 4, 5, 6, 7, 8}...)
	id, a := e.v2Upload(bad, "video/mp4", "tweet_video", 1<<20)
	pi, _ := a.data(t)["processing_info"].(map[string]any)
	if str(pi["state"]) != "failed" {
		t.Fatalf("processing_info = %v, want failed", pi)
	}
	if errObj, _ := pi["error"].(map[string]any); str(errObj["name"]) != "InvalidMedia" || num(errObj["code"]) != 1 {
		t.Errorf("error = %v, want InvalidMedia code 1", pi["error"])
	}
	if info, _ := e.s.MediaByID(id); info.State != "failed" {
		t.Errorf("state = %s, want failed", info.State)
	}
}

func TestExpiredMediaID(t *testing.T) {
	e := newEnv(t, Options{})
	id := str(e.v2Init("image/png", 10, "").data(t)["id"])
	e.clock.Advance(expiresAfter)
	// A day later the client's OAuth timestamps are out of the server's
	// window, so ask with the bearer token, which carries no timestamp.
	req := e.newReq("POST", "/2/media/upload/"+id+"/finalize", nil, "")
	req.Header.Set("Authorization", "Bearer "+DemoCredentials().BearerToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("finalize of an expired id: status %d, want 400", resp.StatusCode)
	}
	if _, ok := e.s.MediaByID(id); ok {
		t.Errorf("MediaByID found an expired id")
	}
	// v2 says 401 with a plain problem, not v1.1's code 135.
	if got := e.get("/2/users/me"); got.status != http.StatusUnauthorized || string(got.body) != v2Unauthorized {
		t.Errorf("OAuth1 request a day off: %d %s, want 401 %s", got.status, got.body, v2Unauthorized)
	}
}

func TestBearerAndUsersMe(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name, token string
		path        string
		want        int
	}{
		{"v2 with bearer", DemoCredentials().BearerToken, "/2/users/me", 200},
		{"v2 with wrong bearer", "nope", "/2/users/me", 401},
		{"v1.1 refuses bearer", DemoCredentials().BearerToken, "/1.1/account/verify_credentials.json", 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := e.newReq("GET", tt.path, nil, "")
			req.Header.Set("Authorization", "Bearer "+tt.token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
	a := e.get("/2/users/me")
	if a.status != 200 || str(a.data(t)["id"]) != "1000000000000000001" {
		t.Errorf("users/me with OAuth1 = %d %s", a.status, a.body)
	}
}
