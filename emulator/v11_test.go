package emulator

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

const v11Upload = "/1.1/media/upload.json"

func (e *testEnv) v11Init(mediaType string, total int, category string) answer {
	e.t.Helper()
	f := url.Values{"command": {"INIT"}, "media_type": {mediaType}, "total_bytes": {fmt.Sprint(total)}}
	if category != "" {
		f.Set("media_category", category)
	}
	return e.postForm(v11Upload, f)
}

func (e *testEnv) v11Chunked(data []byte, mediaType, category string, chunk int) (string, answer) {
	e.t.Helper()
	a := e.v11Init(mediaType, len(data), category)
	if a.status != http.StatusAccepted {
		e.t.Fatalf("INIT: %d %s", a.status, a.body)
	}
	id := str(a.json(e.t)["media_id_string"])
	if a.header.Get("x-mediaid") != id {
		e.t.Errorf("INIT x-mediaid = %q, want %q", a.header.Get("x-mediaid"), id)
	}
	for i, p := range chunks(data, chunk) {
		a := e.postMultipart(v11Upload, map[string]string{"command": "APPEND", "media_id": id, "segment_index": fmt.Sprint(i)}, "media", p)
		if a.status != http.StatusNoContent || len(a.body) != 0 {
			e.t.Fatalf("APPEND %d: %d %q", i, a.status, a.body)
		}
	}
	return id, e.postForm(v11Upload, url.Values{"command": {"FINALIZE"}, "media_id": {id}})
}

func TestV11Chunked(t *testing.T) {
	mp4 := mediagen.MP4(2<<20+7, 3)
	gif := mediagen.GIF(50, 40, 4, 3)
	jpeg := mediagen.JPEG(70, 60, 3)
	tests := []struct {
		name, mediaType, category string
		data                      []byte
		wantStatus                int
		wantKey                   string // "" = no media_key in the answers
		wantPI                    bool
		wantObj                   string // image or video
	}{
		{"mp4 sync", "video/mp4", "", mp4, 201, "", false, "video"},
		{"mp4 tweet_video", "video/mp4", "tweet_video", mp4, 200, "7_", true, ""},
		{"mp4 TweetVideo spelling", "video/mp4", "TweetVideo", mp4, 200, "7_", true, ""},
		{"mp4 amplify", "video/mp4", "amplify_video", mp4, 200, "13_", true, ""},
		{"gif sync", "image/gif", "", gif, 201, "", false, "image"},
		{"gif tweet_gif", "image/gif", "tweet_gif", gif, 200, "16_", true, ""},
		{"jpeg TWEET_IMAGE", "image/jpeg", "TWEET_IMAGE", jpeg, 201, "3_", false, "image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{ProcessingTime: 3 * time.Second}})
			id, a := e.v11Chunked(tt.data, tt.mediaType, tt.category, 1<<20)
			if a.status != tt.wantStatus {
				t.Fatalf("FINALIZE: %d %s, want %d", a.status, a.body, tt.wantStatus)
			}
			body := a.json(t)
			if got := str(body["media_key"]); tt.wantKey == "" && got != "" || tt.wantKey != "" && got != tt.wantKey+id {
				t.Errorf("media_key = %q, want prefix %q", got, tt.wantKey)
			}
			if _, ok := body["processing_info"]; ok != tt.wantPI {
				t.Errorf("processing_info present = %v, want %v", ok, tt.wantPI)
			}
			if tt.wantObj != "" && body[tt.wantObj] == nil {
				t.Errorf("answer has no %s object: %s", tt.wantObj, a.body)
			}
			st := e.get(v11Upload + "?command=STATUS&media_id=" + id)
			if !tt.wantPI {
				if st.status != http.StatusNotFound || st.code(t) != 34 {
					t.Errorf("STATUS of sync media: %d %s, want 404 code 34", st.status, st.body)
				}
			} else {
				e.clock.Advance(3 * time.Second)
				st = e.get(v11Upload + "?command=STATUS&media_id=" + id)
				pi, _ := st.json(t)["processing_info"].(map[string]any)
				if st.status != 200 || str(pi["state"]) != "succeeded" || num(pi["progress_percent"]) != 100 {
					t.Errorf("STATUS after processing: %d %s", st.status, st.body)
				}
			}
			if info, _ := e.s.MediaByID(id); info.SHA256 != sum(tt.data) || info.API != "v1.1" {
				t.Errorf("info = %+v, want sha256 %s", info, sum(tt.data))
			}
		})
	}
}

func TestV11SimpleUploadForms(t *testing.T) {
	png := mediagen.PNG(30, 20, 8)
	b64 := base64.StdEncoding.EncodeToString(png)
	tests := []struct {
		name    string
		send    func(e *testEnv) answer
		wantKey bool
	}{
		{"multipart media", func(e *testEnv) answer { return e.postMultipart(v11Upload, nil, "media", png) }, false},
		{"multipart media_data", func(e *testEnv) answer { return e.postMultipart(v11Upload, nil, "media_data", []byte(b64)) }, false},
		{"form media_data (signed body)", func(e *testEnv) answer {
			return e.postForm(v11Upload, url.Values{"media_data": {b64}})
		}, false},
		{"with category", func(e *testEnv) answer {
			return e.postMultipart(v11Upload, map[string]string{"media_category": "tweet_image"}, "media", png)
		}, true},
		{"twurl comma boundary", func(e *testEnv) answer {
			var buf bytes.Buffer
			buf.WriteString("--B\r\nContent-Disposition: form-data; name=\"media\"; filename=\"x.png\"\r\nContent-Type: application/octet-stream\r\n\r\n")
			buf.Write(png)
			buf.WriteString("\r\n--B--\r\n")
			return e.do(e.newReq("POST", v11Upload, &buf, `multipart/form-data, boundary="B"`))
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			a := tt.send(e)
			if a.status != http.StatusOK {
				t.Fatalf("status %d %s", a.status, a.body)
			}
			body := a.json(t)
			img, _ := body["image"].(map[string]any)
			if str(img["image_type"]) != "image/png" || num(img["w"]) != 30 || num(img["h"]) != 20 || num(body["size"]) != len(png) {
				t.Errorf("answer = %s", a.body)
			}
			if _, ok := body["media_key"]; ok != tt.wantKey {
				t.Errorf("media_key present = %v, want %v", ok, tt.wantKey)
			}
			if info, _ := e.s.MediaByID(str(body["media_id_string"])); info.SHA256 != sum(png) {
				t.Errorf("sha256 = %s, want %s", info.SHA256, sum(png))
			}
		})
	}
}

// TestDghubbleCharsetPitfall: dghubble/oauth1 signs a form body only when
// the Content-Type is exactly application/x-www-form-urlencoded (API.md
// §3.2). With a charset parameter it leaves the body out of the signature,
// while X (and the emulator) sign it: the client bug is caught with 401.
func TestDghubbleCharsetPitfall(t *testing.T) {
	e := newEnv(t, Options{})
	body := url.Values{"command": {"INIT"}, "media_type": {"image/png"}, "total_bytes": {"10"}}.Encode()
	a := e.do(e.newReq("POST", v11Upload, strings.NewReader(body), "application/x-www-form-urlencoded; charset=UTF-8"))
	if a.status != http.StatusUnauthorized || a.code(t) != 32 {
		t.Errorf("status %d %s, want 401 code 32", a.status, a.body)
	}
}

func TestV11ParamsInQuery(t *testing.T) {
	e := newEnv(t, Options{})
	jpeg := mediagen.JPEG(40, 40, 1)
	a := e.do(e.newReq("POST", fmt.Sprintf("%s?command=INIT&media_type=image%%2Fjpeg&total_bytes=%d", v11Upload, len(jpeg)), nil, ""))
	if a.status != http.StatusAccepted {
		t.Fatalf("INIT in query: %d %s", a.status, a.body)
	}
	id := str(a.json(t)["media_id_string"])
	a = e.postMultipart(v11Upload+"?command=APPEND&media_id="+id+"&segment_index=0", nil, "media", jpeg)
	if a.status != http.StatusNoContent {
		t.Fatalf("APPEND with query params: %d %s", a.status, a.body)
	}
	a = e.do(e.newReq("POST", v11Upload+"?command=FINALIZE&media_id="+id, nil, ""))
	if a.status != http.StatusCreated {
		t.Fatalf("FINALIZE in query: %d %s", a.status, a.body)
	}
}

func TestV11Errors(t *testing.T) {
	e := newEnv(t, Options{})
	jpeg := mediagen.JPEG(64, 64, 9)
	initID := func(mt string, n int) string {
		a := e.v11Init(mt, n, "")
		if a.status != http.StatusAccepted {
			t.Fatalf("INIT: %d %s", a.status, a.body)
		}
		return str(a.json(t)["media_id_string"])
	}
	appendSeg := func(id, idx string, data []byte) answer {
		return e.postMultipart(v11Upload, map[string]string{"command": "APPEND", "media_id": id, "segment_index": idx}, "media", data)
	}
	finalize := func(id string) answer {
		return e.postForm(v11Upload, url.Values{"command": {"FINALIZE"}, "media_id": {id}})
	}
	tests := []struct {
		name       string
		run        func() answer
		wantStatus int
		wantCode   int    // errors[].code, 0 = not that shape
		wantError  string // legacy {"request","error"} text, "" = not that shape
	}{
		{"simple without media", func() answer { return e.postMultipart(v11Upload, map[string]string{"x": "y"}, "", nil) }, 400, 38, ""},
		{"simple not media", func() answer { return e.postMultipart(v11Upload, nil, "media", []byte("plain text here")) }, 400, 0, "media type unrecognized."},
		{"simple video", func() answer { return e.postMultipart(v11Upload, nil, "media", mediagen.MP4(4096, 1)) }, 400, 0, "media type unrecognized."},
		{"simple over 5 MB", func() answer {
			return e.postMultipart(v11Upload, nil, "media", append(bytes.Clone(jpeg), make([]byte, 5<<20)...))
		}, 413, 0, ""},
		{"simple over 15 MB", func() answer {
			return e.postMultipart(v11Upload, nil, "media", append(bytes.Clone(jpeg), make([]byte, 15<<20)...))
		}, 413, 0, ""},
		{"simple tweet_video", func() answer {
			return e.postMultipart(v11Upload, map[string]string{"media_category": "tweet_video"}, "media", jpeg)
		}, 400, 0, "media_category tweet_video needs the chunked upload (INIT/APPEND/FINALIZE)."},
		{"INIT unknown type", func() answer { return e.v11Init("application/pdf", 10, "") }, 400, 0, "media type unrecognized."},
		{"INIT no total_bytes", func() answer {
			return e.postForm(v11Upload, url.Values{"command": {"INIT"}, "media_type": {"image/png"}})
		}, 400, 38, ""},
		{"INIT bad category", func() answer { return e.v11Init("image/png", 10, "banana") }, 400, 0, "Invalid media_category banana"},
		{"INIT image over 5 MB", func() answer { return e.v11Init("image/jpeg", 5<<20+1, "") }, 400, 0, "This file is too large. Max size is 5242880B. Got: 5242881B."},
		{"INIT video over 15 MB without category", func() answer { return e.v11Init("video/mp4", 17738403, "") }, 400, 0, "This file is too large. Max size is 15728640B. Got: 17738403B."},
		{"command lower case", func() answer { return e.postForm(v11Upload, url.Values{"command": {"init"}}) }, 400, 0, `Invalid command "init": want INIT, APPEND or FINALIZE (STATUS is a GET).`},
		{"APPEND unknown id", func() answer { return appendSeg("99", "0", []byte("x")) }, 400, 324, ""},
		{"APPEND segment 1000", func() answer { return appendSeg(initID("image/jpeg", 10), "1000", []byte("x")) }, 400, 0, "SegmentIndex must be between 0 and 999."},
		{"APPEND no segment_index", func() answer {
			return e.postMultipart(v11Upload, map[string]string{"command": "APPEND", "media_id": initID("image/jpeg", 10)}, "media", []byte("x"))
		}, 400, 38, ""},
		{"APPEND over 5 MB", func() answer { return appendSeg(initID("video/mp4", 10<<20), "0", make([]byte, 5<<20+1)) }, 413, 0, ""},
		{"APPEND media_data", func() answer {
			id := initID("image/jpeg", len(jpeg))
			e.postMultipart(v11Upload, map[string]string{"command": "APPEND", "media_id": id, "segment_index": "0"}, "media_data", []byte(base64.StdEncoding.EncodeToString(jpeg)))
			return finalize(id)
		}, 201, 0, ""},
		{"FINALIZE short", func() answer {
			id := initID("image/jpeg", len(jpeg))
			appendSeg(id, "0", jpeg[:10])
			return finalize(id)
		}, 400, 0, "Segments do not add up to provided total file size."},
		{"FINALIZE long", func() answer {
			id := initID("image/jpeg", len(jpeg))
			appendSeg(id, "0", jpeg)
			appendSeg(id, "1", jpeg[:1])
			return finalize(id)
		}, 400, 0, "Segments do not add up to provided total file size."},
		{"FINALIZE wrong bytes", func() answer {
			id := initID("image/jpeg", 2048)
			appendSeg(id, "0", make([]byte, 2048))
			return finalize(id)
		}, 400, 0, "media type unrecognized."},
		{"FINALIZE unknown", func() answer { return finalize("12") }, 400, 324, ""},
		{"FINALIZE no media_id", func() answer { return e.postForm(v11Upload, url.Values{"command": {"FINALIZE"}}) }, 400, 38, ""},
		{"APPEND after FINALIZE", func() answer {
			id := initID("image/jpeg", len(jpeg))
			appendSeg(id, "0", jpeg)
			finalize(id)
			return appendSeg(id, "1", []byte("x"))
		}, 400, 0, ""},
		{"STATUS unknown", func() answer { return e.get(v11Upload + "?command=STATUS&media_id=5") }, 400, 324, ""},
		{"STATUS before FINALIZE", func() answer { return e.get(v11Upload + "?command=STATUS&media_id=" + initID("video/mp4", 10)) }, 404, 34, ""},
		{"GET without STATUS", func() answer { return e.get(v11Upload + "?media_id=5") }, 400, 0, "Invalid command: GET takes command=STATUS."},
		{"metadata unknown id", func() answer {
			return e.postJSON("/1.1/media/metadata/create.json", map[string]any{"media_id": "1", "alt_text": map[string]string{"text": "x"}})
		}, 400, 324, ""},
		{"metadata too long", func() answer {
			return e.postJSON("/1.1/media/metadata/create.json", map[string]any{"media_id": "1", "alt_text": map[string]string{"text": strings.Repeat("a", 1001)}})
		}, 400, 0, "alt_text.text must be <= 1000 chars; got 1001."},
		{"metadata form body", func() answer {
			return e.postForm("/1.1/media/metadata/create.json", url.Values{"media_id": {"1"}})
		}, 400, 0, "Content-Type must be application/json or text/plain."},
		{"unknown endpoint", func() answer { return e.get("/1.1/statuses/home_timeline.json") }, 404, 34, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.run()
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", a.status, tt.wantStatus, a.body)
			}
			switch {
			case tt.wantCode != 0:
				if got := a.code(t); got != tt.wantCode {
					t.Errorf("code = %d, want %d (%s)", got, tt.wantCode, a.body)
				}
			case tt.wantError != "":
				if got := a.json(t); str(got["error"]) != tt.wantError || !strings.HasPrefix(str(got["request"]), "/1.1/media/") {
					t.Errorf("body = %s, want legacy error %q", a.body, tt.wantError)
				}
			case a.status == 413 && len(a.body) != 0:
				t.Errorf("413 body = %q, want empty", a.body)
			}
			if a.header.Get("x-rate-limit-remaining") == "" {
				t.Errorf("no x-rate-limit-remaining header")
			}
		})
	}
}

func TestV11MetadataAndVerify(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.postMultipart(v11Upload, nil, "media", mediagen.JPEG(20, 20, 2))
	id := str(a.json(t)["media_id_string"])
	tests := []struct {
		name string
		ct   string
		want int
	}{
		{"json", "application/json; charset=UTF-8", 200},
		{"text/plain", "text/plain; charset=UTF-8", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"media_id":%q,"alt_text":{"text":"dancing cat"}}`, id)
			a := e.do(e.newReq("POST", "/1.1/media/metadata/create.json", strings.NewReader(body), tt.ct))
			if a.status != tt.want || len(a.body) != 0 || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Fatalf("metadata: %d %q %s", a.status, a.body, a.header.Get("Content-Type"))
			}
			if info, _ := e.s.MediaByID(id); info.AltText != "dancing cat" {
				t.Errorf("alt text = %q", info.AltText)
			}
		})
	}
	v := e.get("/1.1/account/verify_credentials.json")
	if v.status != 200 || str(v.json(t)["id_str"]) != "1000000000000000001" {
		t.Errorf("verify_credentials: %d %s", v.status, v.body)
	}
}
