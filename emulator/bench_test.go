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
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/dghubble/oauth1"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// benchEnv is an emulator on loopback with rate limits out of the way.
func benchEnv(b *testing.B, storeDir string) (*Server, string, *http.Client) {
	b.Helper()
	opts := Options{Credentials: DemoCredentials(), Log: zerolog.Nop(), Faults: Faults{RateLimit: 1 << 30}}
	if storeDir == "" {
		opts.InMemory = true
	} else {
		opts.StoreDir = storeDir
	}
	s, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(s)
	b.Cleanup(func() {
		hs.Close()
		s.Close()
	})
	c := opts.Credentials
	hc := oauth1.NewConfig(c.ConsumerKey, c.ConsumerSecret).Client(context.Background(), oauth1.NewToken(c.AccessToken, c.AccessTokenSecret))
	return s, hs.URL, hc
}

func multipartBody(b *testing.B, fields map[string]string, media []byte) ([]byte, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	w, _ := mw.CreateFormFile("media", "blob")
	w.Write(media)
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func post(b *testing.B, hc *http.Client, url string, body []byte, ct string) int {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		b.Logf("%s: %d %s", url, resp.StatusCode, msg)
	}
	return resp.StatusCode
}

// BenchmarkV2Append measures the emulator's ceiling for chunked uploads:
// 4 MiB v2 APPENDs over loopback, signed with OAuth 1.0a, 1 and 4 in flight,
// bytes kept in memory or stored on disk.
func BenchmarkV2Append(b *testing.B) {
	seg := bytes.Repeat([]byte{0xa5}, 4<<20)
	for _, store := range []string{"memory", "disk"} {
		for _, par := range []int{1, 4} {
			b.Run(fmt.Sprintf("store=%s/inflight=%d", store, par), func(b *testing.B) {
				dir := ""
				if store == "disk" {
					dir = b.TempDir()
				}
				s, base, hc := benchEnv(b, dir)
				a := struct{ id string }{}
				req, _ := http.NewRequest("POST", base+"/2/media/upload/initialize", bytes.NewReader([]byte(`{"media_type":"video/mp4","total_bytes":536870912,"media_category":"tweet_video"}`)))
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				var buf bytes.Buffer
				buf.ReadFrom(resp.Body)
				resp.Body.Close()
				fmt.Sscanf(buf.String()[bytes.Index(buf.Bytes(), []byte(`"id":"`))+6:], "%19s", &a.id)
				if _, err := s.lookup(a.id); err != nil {
					b.Fatalf("initialize: %s", buf.String())
				}
				bodies := make([][]byte, par)
				cts := make([]string, par)
				for i := range bodies {
					// Each worker re-sends its own index: the stored bytes stay bounded.
					bodies[i], cts[i] = multipartBody(b, map[string]string{"segment_index": fmt.Sprint(i)}, seg)
				}
				url := base + "/2/media/upload/" + a.id + "/append"
				b.SetBytes(int64(len(seg)))
				// RunParallel starts GOMAXPROCS×p goroutines; make that par.
				b.SetParallelism(max(1, par/runtime.GOMAXPROCS(0)))
				var workers atomic.Int64
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					w := int(workers.Add(1)-1) % par
					for pb.Next() {
						if code := post(b, hc, url, bodies[w], cts[w]); code != 200 {
							b.Errorf("append: status %d", code)
							return
						}
					}
				})
			})
		}
	}
}

// BenchmarkV2OneShotImage measures one-shot uploads of a small JPEG per
// second (sniffing, dimension decoding and hashing included).
func BenchmarkV2OneShotImage(b *testing.B) {
	jpeg := mediagen.JPEG(320, 240, 1)
	s, base, hc := benchEnv(b, "")
	body, ct := multipartBody(b, map[string]string{"media_category": "tweet_image"}, jpeg)
	b.SetBytes(int64(len(jpeg)))
	b.ResetTimer()
	for i := range b.N {
		if i%2000 == 1999 {
			s.Reset() // keep memory flat; the faults (rate limit) survive a reset
		}
		if code := post(b, hc, base+"/2/media/upload", body, ct); code != 200 {
			b.Fatalf("one-shot: status %d", code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkSignatureVerify is the cost of one OAuth 1.0a verification.
func BenchmarkSignatureVerify(b *testing.B) {
	req := httptest.NewRequest("POST", docURL, nil)
	form := map[string][]string{"status": {"Hello Ladies + Gentlemen, a signed OAuth request!"}}
	params, _ := parseOAuthHeader(docHeader(docSignature))
	r := &oauthRequest{method: "POST", baseURI: requestBaseURI(req), query: req.URL.Query(), form: form, oauthParams: params, fromHeader: true}
	for b.Loop() {
		signature(r, docCreds.ConsumerSecret, docCreds.AccessTokenSecret)
	}
}

// BenchmarkV2JSONAppend is the server side of a 4 MiB v2 APPEND sent as
// JSON with base64 media (no network): B/op shows the copies the body costs.
func BenchmarkV2JSONAppend(b *testing.B) {
	s, err := New(Options{Credentials: DemoCredentials(), Log: zerolog.Nop(), InMemory: true, Faults: Faults{RateLimit: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	serve := func(path string, body []byte) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+DemoCredentials().BearerToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	rec := serve("/2/media/upload/initialize", []byte(`{"media_type":"video/mp4","total_bytes":536870912,"media_category":"tweet_video"}`))
	var init struct{ Data struct{ ID string } }
	if err := json.Unmarshal(rec.Body.Bytes(), &init); err != nil || init.Data.ID == "" {
		b.Fatalf("initialize: %d %s", rec.Code, rec.Body)
	}
	seg := bytes.Repeat([]byte{0xa5, 0x17, 0xfe}, (4<<20)/3)
	body := []byte(`{"segment_index":0,"media":"` + base64.StdEncoding.EncodeToString(seg) + `"}`)
	path := "/2/media/upload/" + init.Data.ID + "/append"
	b.SetBytes(int64(len(seg)))
	b.ReportAllocs()
	for b.Loop() {
		if rec := serve(path, body); rec.Code != http.StatusOK {
			b.Fatalf("append: %d %s", rec.Code, rec.Body)
		}
	}
}
