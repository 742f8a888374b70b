package emulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"

	"github.com/dghubble/oauth1"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/rs/zerolog"
)

// handlerTransport serves each request with s.ServeHTTP in the caller's
// goroutine, so that tests run inside testing/synctest bubbles.
type handlerTransport struct{ s *Server }

func (h handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	h.s.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// bubbleClient is an OAuth 1.0a client of s over handlerTransport.
func bubbleClient(s *Server) *http.Client {
	c := s.creds
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: handlerTransport{s}})
	return oauth1.NewConfig(c.ConsumerKey, c.ConsumerSecret).Client(ctx, oauth1.NewToken(c.AccessToken, c.AccessTokenSecret))
}

type reply struct {
	status int
	body   string
}

func send(t *testing.T, hc *http.Client, method, target, ct string, body []byte) reply {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://emulator.test"+target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, target, err)
		return reply{}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s: read: %v", method, target, err)
	}
	return reply{resp.StatusCode, string(b)}
}

func formData(t *testing.T, fields map[string]string, mediaField string, media []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := mw.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if media != nil {
		w, err := mw.CreateFormFile(mediaField, "blob")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(media)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

// A FINALIZE (and a STATUS) that arrives while the same media is still
// being finalized waits for that FINALIZE and answers with its outcome,
// as a repeated FINALIZE does.
func TestConcurrentFinalizeWaits(t *testing.T) {
	gif := mediagen.GIF(24, 24, 3, 7)
	tests := []struct {
		name       string
		init       func(hc *http.Client, t *testing.T) string
		append     func(hc *http.Client, t *testing.T, id string) reply
		finalize   func(id string) (method, target, ct string, body []byte)
		status     func(id string) string
		wantStatus int // of both FINALIZEs
	}{
		{
			name: "v2",
			init: func(hc *http.Client, t *testing.T) string {
				r := send(t, hc, "POST", "/2/media/upload/initialize", "application/json",
					fmt.Appendf(nil, `{"media_type":"image/gif","total_bytes":%d,"media_category":"tweet_gif"}`, len(gif)))
				var env struct{ Data struct{ ID string } }
				json.Unmarshal([]byte(r.body), &env)
				return env.Data.ID
			},
			append: func(hc *http.Client, t *testing.T, id string) reply {
				b, ct := formData(t, map[string]string{"segment_index": "0"}, "media", gif)
				return send(t, hc, "POST", "/2/media/upload/"+id+"/append", ct, b)
			},
			finalize: func(id string) (string, string, string, []byte) {
				return "POST", "/2/media/upload/" + id + "/finalize", "", nil
			},
			status:     func(id string) string { return "/2/media/upload?command=STATUS&media_id=" + id },
			wantStatus: http.StatusOK,
		},
		{
			name: "v1.1",
			init: func(hc *http.Client, t *testing.T) string {
				form := url.Values{"command": {"INIT"}, "media_type": {"image/gif"}, "total_bytes": {fmt.Sprint(len(gif))}, "media_category": {"tweet_gif"}}
				r := send(t, hc, "POST", "/1.1/media/upload.json", "application/x-www-form-urlencoded", []byte(form.Encode()))
				var env struct {
					ID string `json:"media_id_string"`
				}
				json.Unmarshal([]byte(r.body), &env)
				return env.ID
			},
			append: func(hc *http.Client, t *testing.T, id string) reply {
				b, ct := formData(t, map[string]string{"command": "APPEND", "media_id": id, "segment_index": "0"}, "media", gif)
				return send(t, hc, "POST", "/1.1/media/upload.json", ct, b)
			},
			finalize: func(id string) (string, string, string, []byte) {
				return "POST", "/1.1/media/upload.json", "application/x-www-form-urlencoded", []byte(url.Values{"command": {"FINALIZE"}, "media_id": {id}}.Encode())
			},
			status:     func(id string) string { return "/1.1/media/upload.json?command=STATUS&media_id=" + id },
			wantStatus: http.StatusOK, // async (category given): 200 with processing_info
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := New(Options{Credentials: DemoCredentials(), InMemory: true, Log: zerolog.Nop()})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				entered, release := make(chan struct{}), make(chan struct{})
				first := true
				s.finalizingHook = func(string) {
					if first {
						first = false
						close(entered)
						<-release
					}
				}
				hc := bubbleClient(s)
				id := tt.init(hc, t)
				if id == "" {
					t.Fatal("INIT gave no media id")
				}
				if r := tt.append(hc, t, id); r.status/100 != 2 {
					t.Fatalf("APPEND: %d %s", r.status, r.body)
				}
				m, target, ct, body := tt.finalize(id)
				answers := make(chan reply, 3)
				go func() { answers <- send(t, hc, m, target, ct, body) }()
				<-entered // the first FINALIZE is now reading the bytes
				second := make(chan reply, 1)
				go func() { second <- send(t, hc, m, target, ct, body) }()
				status := make(chan reply, 1)
				go func() { status <- send(t, hc, "GET", tt.status(id), "", nil) }()
				synctest.Wait()
				if len(second) > 0 || len(status) > 0 {
					t.Errorf("answered while the first FINALIZE was in flight: FINALIZE %d, STATUS %d (want both waiting)", len(second), len(status))
				}
				close(release)
				r1, r2, st := <-answers, <-second, <-status
				for _, r := range []reply{r1, r2} {
					if r.status != tt.wantStatus || !strings.Contains(r.body, id) || !strings.Contains(r.body, "processing_info") {
						t.Errorf("FINALIZE = %d %s, want %d with the media's state", r.status, r.body, tt.wantStatus)
					}
				}
				if st.status != http.StatusOK || !strings.Contains(st.body, "processing_info") {
					t.Errorf("STATUS = %d %s, want 200 with processing_info", st.status, st.body)
				}
				if info, ok := s.MediaByID(id); !ok || info.SHA256 != sum(gif) {
					t.Errorf("media after FINALIZE = %+v, want sha256 %s", info, sum(gif))
				}
			})
		})
	}
}

// With LoseAnswerRate=1 the request is processed (the media exists) but
// the client sees a connection error instead of the answer.
func TestLoseAnswerFault(t *testing.T) {
	jpeg := mediagen.JPEG(32, 32, 5)
	tests := []struct {
		name      string
		req       func(e *testEnv) *http.Request
		wantState string // of the one media id the request created
		wantStats string
		wantCode  int
	}{
		{"v2 initialize", func(e *testEnv) *http.Request {
			return e.newReq("POST", "/2/media/upload/initialize", strings.NewReader(`{"media_type":"video/mp4","total_bytes":1000}`), "application/json")
		}, "uploading", "POST /2/media/upload/initialize", 200},
		{"v1.1 INIT", func(e *testEnv) *http.Request {
			form := url.Values{"command": {"INIT"}, "media_type": {"image/jpeg"}, "total_bytes": {"1000"}}
			return e.newReq("POST", v11Upload, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded")
		}, "uploading", "POST /1.1/media/upload.json INIT", 202},
		{"v2 one-shot", func(e *testEnv) *http.Request {
			b, ct := formData(t, map[string]string{"media_category": "tweet_image"}, "media", jpeg)
			return e.newReq("POST", "/2/media/upload", bytes.NewReader(b), ct)
		}, "succeeded", "POST /2/media/upload", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{LoseAnswerRate: 1}})
			resp, err := e.hc.Do(tt.req(e))
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Fatalf("got %d %s, want a connection error", resp.StatusCode, b)
			}
			media := e.s.Media()
			if len(media) != 1 || media[0].State != tt.wantState {
				t.Fatalf("media = %+v, want one in state %s", media, tt.wantState)
			}
			if got := e.s.Stats().Count(tt.wantStats, tt.wantCode); got != 1 {
				t.Errorf("stats %s %d = %d, want 1 (%+v)", tt.wantStats, tt.wantCode, got, e.s.Stats())
			}
		})
	}
}

// Lost answers repeat for the same seed, and the knob is validated and
// round-trips through JSON.
func TestLoseAnswerSeedAndValidate(t *testing.T) {
	run := func(seed int64) (string, int) {
		e := newEnv(t, Options{Faults: Faults{LoseAnswerRate: 0.5, Seed: seed}})
		var b strings.Builder
		for range 24 {
			resp, err := e.hc.Do(e.newReq("POST", "/2/media/upload/initialize", strings.NewReader(`{"media_type":"image/png","total_bytes":10}`), "application/json"))
			if err != nil {
				b.WriteString("lost ")
				continue
			}
			resp.Body.Close()
			fmt.Fprintf(&b, "%d ", resp.StatusCode)
		}
		return b.String(), len(e.s.Media())
	}
	a, na := run(7)
	b, _ := run(7)
	if a != b {
		t.Errorf("seed 7 twice:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "lost") || !strings.Contains(a, "200") {
		t.Errorf("lose_answer_rate 0.5 gave %s: want lost and answered requests", a)
	}
	if na != 24 {
		t.Errorf("%d media ids, want 24: every request is processed", na)
	}
	for _, rate := range []float64{-0.1, 1.5} {
		if err := (Faults{LoseAnswerRate: rate}).Validate(); err == nil {
			t.Errorf("lose_answer_rate %v accepted", rate)
		}
	}
	var f Faults
	if err := json.Unmarshal([]byte(`{"lose_answer_rate":0.25}`), &f); err != nil || f.LoseAnswerRate != 0.25 {
		t.Errorf("unmarshal lose_answer_rate = %+v, %v", f, err)
	}
	out, err := json.Marshal(Faults{LoseAnswerRate: 0.5})
	if err != nil || !strings.Contains(string(out), `"lose_answer_rate":0.5`) {
		t.Errorf("marshal = %s, %v", out, err)
	}
}

// v2 JSON bodies are capped by what their media may be (413 above), and
// base64 media is decoded from the body as sent, escapes included.
func TestV2JSONBodyCaps(t *testing.T) {
	seg := bytes.Repeat([]byte{0xfb, 0xff, 0xbf}, maxV2SegmentBytes/3) // base64 "+///"...
	seg = append(seg, 1)
	jpeg := mediagen.JPEG(64, 64, 9)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	pad := strings.Repeat("x", int(maxJSONBody(maxImageBytes))) // alone beyond the one-shot cap
	tests := []struct {
		name     string
		path     string // "append" or "oneshot"
		body     string
		want     int
		wantHash string
	}{
		{"append of a full segment", "append", `{"segment_index":0,"media":"` + b64(seg) + `"}`, 200, sum(seg)},
		{"append with escaped slashes", "append", `{"segment_index":0,"media":"` + strings.ReplaceAll(b64(seg[:3000]), "/", `\/`) + `"}`, 200, sum(seg[:3000])},
		{"append of a segment too large", "append", `{"segment_index":0,"media":"` + b64(append(seg, 2, 3, 4)) + `"}`, 413, ""},
		{"append padded beyond the cap", "append", `{"segment_index":0,"pad":"` + strings.Repeat("x", int(maxJSONBody(maxV2SegmentBytes))) + `","media":"` + b64(seg[:9]) + `"}`, 413, ""},
		{"one-shot image", "oneshot", `{"media_category":"tweet_image","media":"` + b64(jpeg) + `"}`, 200, sum(jpeg)},
		{"one-shot padded beyond the cap", "oneshot", `{"media_category":"tweet_image","pad":"` + pad + `","media":"` + b64(jpeg) + `"}`, 413, ""},
		{"media not a string", "oneshot", `{"media_category":"tweet_image","media":12}`, 400, ""},
	}
	for _, tt := range tests {
		for _, store := range []string{"memory", "disk"} {
			t.Run(tt.name+"/"+store, func(t *testing.T) {
				var opts Options
				if store == "disk" {
					opts.StoreDir = t.TempDir()
				}
				e := newEnv(t, opts)
				path := "/2/media/upload"
				var id string
				if tt.path == "append" {
					a := e.postJSON("/2/media/upload/initialize", map[string]any{"media_type": "video/mp4", "total_bytes": len(seg)})
					id = str(a.data(t)["id"])
					path = "/2/media/upload/" + id + "/append"
				}
				a := e.do(e.newReq("POST", path, strings.NewReader(tt.body), "application/json"))
				if a.status != tt.want {
					t.Fatalf("status = %d, want %d; body %.300s", a.status, tt.want, a.body)
				}
				if tt.wantHash == "" {
					return
				}
				if tt.path == "oneshot" {
					id = str(a.data(t)["id"])
					if info, _ := e.s.MediaByID(id); info.SHA256 != tt.wantHash {
						t.Errorf("sha256 = %s, want %s", info.SHA256, tt.wantHash)
					}
					return
				}
				rc := e.s.segmentForTest(t, id, 0)
				if got := sum(rc); got != tt.wantHash {
					t.Errorf("segment sha256 = %s, want %s", got, tt.wantHash)
				}
			})
		}
	}
}

// v2 takes JSON (base64 media) or multipart with a media part; the v1.1
// shapes (urlencoded media_data, a media_data part) are refused there and
// still accepted on v1.1.
func TestV2RefusesV11BodyShapes(t *testing.T) {
	data := mediagen.JPEG(16, 16, 4)
	tests := []struct {
		name    string
		v2      bool
		send    func(e *testEnv, id string) answer
		want    int
		wantMsg string
	}{
		{"v2 urlencoded media_data", true, func(e *testEnv, id string) answer {
			return e.postForm("/2/media/upload/"+id+"/append", url.Values{"segment_index": {"0"}, "media_data": {base64.StdEncoding.EncodeToString(data)}})
		}, 400, "content-type of application/json"},
		{"v2 multipart media_data", true, func(e *testEnv, id string) answer {
			return e.postMultipart("/2/media/upload/"+id+"/append", map[string]string{"segment_index": "0", "media_data": base64.StdEncoding.EncodeToString(data)}, "", nil)
		}, 400, "`media` part is required"},
		{"v2 one-shot urlencoded media_data", true, func(e *testEnv, id string) answer {
			return e.postForm("/2/media/upload", url.Values{"media_category": {"tweet_image"}, "media_data": {base64.StdEncoding.EncodeToString(data)}})
		}, 400, "content-type of application/json"},
		{"v1.1 urlencoded media_data", false, func(e *testEnv, id string) answer {
			return e.postForm(v11Upload, url.Values{"command": {"APPEND"}, "media_id": {id}, "segment_index": {"0"}, "media_data": {base64.StdEncoding.EncodeToString(data)}})
		}, 204, ""},
		{"v1.1 multipart media_data", false, func(e *testEnv, id string) answer {
			return e.postMultipart(v11Upload, map[string]string{"command": "APPEND", "media_id": id, "segment_index": "0", "media_data": base64.StdEncoding.EncodeToString(data)}, "", nil)
		}, 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			var id string
			if tt.v2 {
				id = str(e.postJSON("/2/media/upload/initialize", map[string]any{"media_type": "image/jpeg", "total_bytes": len(data)}).data(t)["id"])
			} else {
				id = str(e.v11Init("image/jpeg", len(data), "").json(t)["media_id_string"])
			}
			a := tt.send(e, id)
			if a.status != tt.want || !strings.Contains(string(a.body), tt.wantMsg) {
				t.Fatalf("answer = %d %s, want %d with %q", a.status, a.body, tt.want, tt.wantMsg)
			}
			info, _ := e.s.MediaByID(id)
			wantSegs := 0
			if tt.want == http.StatusNoContent {
				wantSegs = 1
			}
			if info.Segments != wantSegs {
				t.Errorf("segments = %d, want %d", info.Segments, wantSegs)
			}
		})
	}
}

// Answers that never reached an endpoint's budget carry no x-rate-limit-*
// headers (X's 401s have none); answers of an endpoint carry its budget.
func TestRateLimitHeadersOnlyFromABudget(t *testing.T) {
	tests := []struct {
		name       string
		send       func(e *testEnv) answer
		wantStatus int
		wantLimit  string
	}{
		{"wrong bearer token", func(e *testEnv) answer {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/2/users/me", nil)
			req.Header.Set("Authorization", "Bearer nope")
			return plainDo(t, req)
		}, 401, ""},
		{"no authorization", func(e *testEnv) answer {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/1.1/account/verify_credentials.json", nil)
			return plainDo(t, req)
		}, 400, ""},
		{"wrong signature", func(e *testEnv) answer {
			req, _ := http.NewRequestWithContext(t.Context(), "GET", e.url+"/2/users/me", nil)
			req.Header.Set("Authorization", `OAuth oauth_consumer_key="mediasync-demo-consumer-key", oauth_nonce="n1", oauth_signature="AAAA", oauth_signature_method="HMAC-SHA1", oauth_timestamp="`+fmt.Sprint(e.clock.Now().Unix())+`", oauth_token="1000000000000000001-mediasyncdemoaccesstoken", oauth_version="1.0"`)
			return plainDo(t, req)
		}, 401, ""},
		{"endpoint answer", func(e *testEnv) answer { return e.get("/2/users/me") }, 200, "75"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{})
			a := tt.send(e)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", a.status, tt.wantStatus, a.body)
			}
			if got := a.header.Get("x-rate-limit-limit"); got != tt.wantLimit {
				t.Errorf("x-rate-limit-limit = %q, want %q", got, tt.wantLimit)
			}
			if tt.wantLimit == "" && (a.header.Get("x-rate-limit-remaining") != "" || a.header.Get("x-rate-limit-reset") != "") {
				t.Errorf("rate-limit headers on an answer that spent no budget: %v", a.header)
			}
		})
	}
}

func plainDo(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

// segmentForTest returns the stored bytes of segment idx of media id.
func (s *Server) segmentForTest(t *testing.T, id string, idx int) []byte {
	t.Helper()
	s.mu.Lock()
	m := s.media[id]
	var b *blob
	if m != nil {
		b = m.segments[idx]
	}
	s.mu.Unlock()
	if b == nil {
		t.Fatalf("media %s has no segment %d", id, idx)
	}
	c, err := openConcat([]*blob{b})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := io.ReadAll(io.NewSectionReader(c, 0, c.size))
	if err != nil {
		t.Fatal(err)
	}
	return out
}
