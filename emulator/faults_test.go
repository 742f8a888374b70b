package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/internal/mediagen"
)

func TestRateLimitHeadersDefaults(t *testing.T) {
	e := newEnv(t, Options{})
	jpeg := mediagen.JPEG(16, 16, 1)
	id := str(e.v11Init("image/jpeg", len(jpeg), "").json(t)["media_id_string"])
	tests := []struct {
		name      string
		run       func() answer
		wantLimit int
	}{
		{"INIT image", func() answer { return e.v11Init("image/png", 10, "") }, 415},
		{"simple upload shares the image bucket", func() answer { return e.postMultipart(v11Upload, nil, "media", jpeg) }, 415},
		{"INIT video", func() answer { return e.v11Init("video/mp4", 10, "") }, 200},
		{"APPEND", func() answer {
			return e.postMultipart(v11Upload, map[string]string{"command": "APPEND", "media_id": id, "segment_index": "0"}, "media", jpeg)
		}, 20000},
		{"FINALIZE", func() answer { return e.postForm(v11Upload, url.Values{"command": {"FINALIZE"}, "media_id": {id}}) }, 615},
		{"v2 initialize", func() answer { return e.v2Init("image/png", 10, "") }, 1875},
		{"v2 users/me", func() answer { return e.get("/2/users/me") }, 75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.run()
			if a.status >= 300 {
				t.Fatalf("status %d %s", a.status, a.body)
			}
			if got, _ := strconv.Atoi(a.header.Get("x-rate-limit-limit")); got != tt.wantLimit {
				t.Errorf("x-rate-limit-limit = %d, want %d", got, tt.wantLimit)
			}
			reset, _ := strconv.ParseInt(a.header.Get("x-rate-limit-reset"), 10, 64)
			if now := e.clock.Now().Unix(); reset <= now {
				t.Errorf("x-rate-limit-reset = %d, not after now %d", reset, now)
			}
		})
	}
	// INIT image was spent twice in the image bucket (INIT and simple upload) plus once at setup.
	a := e.v11Init("image/gif", 10, "")
	if got := a.header.Get("x-rate-limit-remaining"); got != "411" {
		t.Errorf("image bucket remaining = %s, want 411 (4 spent of 415)", got)
	}
}

func TestRateLimitExhaustedAndReset(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		ver      apiVersion
		wantBody string
	}{
		// v2: X's plain problem, no errors[].code (geduldig/TwitterAPI#180).
		{"v2", "/2/users/me", v2, `{"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}`},
		{"v1.1", "/1.1/account/verify_credentials.json", v11, `{"errors":[{"code":88,"message":"Rate limit exceeded"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, Options{Faults: Faults{RateLimit: 2, RateWindow: time.Minute}})
			for i, want := range []int{200, 200, 429} {
				a := e.get(tt.path)
				if a.status != want {
					t.Fatalf("request %d: status %d, want %d", i, a.status, want)
				}
				if want == 429 {
					if string(a.body) != tt.wantBody {
						t.Errorf("429 body = %s", a.body)
					}
					if a.header.Get("x-rate-limit-remaining") != "0" || a.header.Get("x-rate-limit-limit") != "2" {
						t.Errorf("429 headers: limit %s remaining %s", a.header.Get("x-rate-limit-limit"), a.header.Get("x-rate-limit-remaining"))
					}
				}
			}
			e.clock.Advance(time.Minute)
			if a := e.get(tt.path); a.status != 200 || a.header.Get("x-rate-limit-remaining") != "1" {
				t.Errorf("after the window: %d remaining %s", a.status, a.header.Get("x-rate-limit-remaining"))
			}
		})
	}
}

func TestFailFaults(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{FailRate: 1, Seed: 3}})
	seen := map[int]int{}
	for range 20 {
		a := e.get("/1.1/account/verify_credentials.json")
		switch a.status {
		case 500:
			if a.code(t) != 131 {
				t.Errorf("500 code = %d, want 131", a.code(t))
			}
		case 503:
			if a.code(t) != 130 {
				t.Errorf("503 code = %d, want 130", a.code(t))
			}
		default:
			t.Fatalf("status %d with fail_rate 1", a.status)
		}
		// The fault never reached the endpoint's budget: no made-up one.
		if h := a.header.Get("x-rate-limit-limit") + a.header.Get("x-rate-limit-remaining") + a.header.Get("x-rate-limit-reset"); h != "" {
			t.Errorf("fault answer carries rate-limit headers %q", h)
		}
		seen[a.status]++
	}
	if seen[500] == 0 || seen[503] == 0 {
		t.Errorf("statuses %v: want both 500 and 503", seen)
	}
	if got := e.s.Stats().Count("GET /1.1/account/verify_credentials.json", 0); got != 20 {
		t.Errorf("stats count = %d, want 20", got)
	}
}

// TestSeedRepeats: the same seed gives the same fault decisions.
func TestSeedRepeats(t *testing.T) {
	run := func(seed int64) string {
		e := newEnv(t, Options{Faults: Faults{FailRate: 0.5, Seed: seed}})
		var b strings.Builder
		for range 30 {
			fmt.Fprintf(&b, "%d ", e.get("/2/users/me").status)
		}
		return b.String()
	}
	a, b, c := run(42), run(42), run(43)
	if a != b {
		t.Errorf("seed 42 twice:\n%s\n%s", a, b)
	}
	if a == c {
		t.Errorf("seeds 42 and 43 gave the same sequence %s", a)
	}
	if !strings.Contains(a, "200") || !strings.Contains(a, "50") {
		t.Errorf("fail_rate 0.5 sequence %s: want both successes and failures", a)
	}
}

func TestDropFaultCutsConnection(t *testing.T) {
	e := newEnv(t, Options{Faults: Faults{DropRate: 1}})
	id := "1"
	tests := []struct {
		name string
		req  func() *http.Request
	}{
		{"GET", func() *http.Request { return e.newReq("GET", "/2/users/me", nil, "") }},
		{"append body", func() *http.Request {
			return e.newReq("POST", "/2/media/upload/"+id+"/append", bytes.NewReader(make([]byte, 1<<20)), "multipart/form-data; boundary=x")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := e.hc.Do(tt.req())
			if err == nil {
				resp.Body.Close()
				t.Fatalf("got status %d, want a cut connection", resp.StatusCode)
			}
		})
	}
	if got := e.s.Stats().Count("GET /2/users/me", 0); got != 1 {
		t.Errorf("dropped request not counted: %d", got)
	}
}

// serveInBubble runs one request through ServeHTTP in the background.
func serveInBubble(s *Server, req *http.Request) (*httptest.ResponseRecorder, chan struct{}) {
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeHTTP(rec, req)
	}()
	return rec, done
}

func isDone(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestLatencyAndBandwidthOnTheClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Credentials: DemoCredentials(), InMemory: true, Log: zerolog.Nop(),
			Faults: Faults{Latency: 2 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		bearer := "Bearer " + DemoCredentials().BearerToken

		req := httptest.NewRequest("GET", "/2/users/me", nil)
		req.Header.Set("Authorization", bearer)
		rec, done := serveInBubble(s, req)
		time.Sleep(1999 * time.Millisecond)
		synctest.Wait()
		if isDone(done) {
			t.Fatalf("answered before the 2s latency")
		}
		time.Sleep(time.Millisecond)
		<-done
		if rec.Code != 200 {
			t.Errorf("status %d", rec.Code)
		}

		// 64 KiB at 16 KiB/s: the body takes (64-16)/16 = 3 s after the burst.
		s.SetFaults(Faults{Bandwidth: 16 << 10})
		body := url.Values{"x": {strings.Repeat("a", 64<<10)}}.Encode()
		req = httptest.NewRequest("POST", "/2/media/metadata", strings.NewReader(body))
		req.Header.Set("Authorization", bearer)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec, done = serveInBubble(s, req)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if isDone(done) {
			t.Fatalf("64 KiB body read in 2s at 16 KiB/s")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if !isDone(done) {
			t.Fatalf("64 KiB body not read after 4s at 16 KiB/s")
		}
	})
}

// TestProcessingInBubble checks the processing clock with the real
// time.Now of a synctest bubble (no fake clock injected).
func TestProcessingInBubble(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := New(Options{Credentials: DemoCredentials(), InMemory: true, Log: zerolog.Nop(),
			Faults: Faults{ProcessingTime: 4 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		do := func(method, target, ct string, body io.Reader) map[string]any {
			req := httptest.NewRequest(method, target, body)
			req.Header.Set("Authorization", "Bearer "+DemoCredentials().BearerToken)
			if ct != "" {
				req.Header.Set("Content-Type", ct)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var m map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
				t.Fatalf("%s %s: %d %q", method, target, rec.Code, rec.Body)
			}
			d, _ := m["data"].(map[string]any)
			return d
		}
		gif := mediagen.GIF(16, 16, 2, 1)
		d := do("POST", "/2/media/upload/initialize", "application/json", strings.NewReader(fmt.Sprintf(`{"media_type":"image/gif","total_bytes":%d}`, len(gif))))
		id := str(d["id"])
		var buf bytes.Buffer
		buf.WriteString("--b\r\nContent-Disposition: form-data; name=\"segment_index\"\r\n\r\n0\r\n--b\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.gif\"\r\n\r\n")
		buf.Write(gif)
		buf.WriteString("\r\n--b--\r\n")
		do("POST", "/2/media/upload/"+id+"/append", "multipart/form-data; boundary=b", &buf)
		d = do("POST", "/2/media/upload/"+id+"/finalize", "", nil)
		states := []string{str(d["processing_info"].(map[string]any)["state"])}
		for range 3 {
			time.Sleep(2 * time.Second)
			d = do("GET", "/2/media/upload?command=STATUS&media_id="+id, "", nil)
			states = append(states, str(d["processing_info"].(map[string]any)["state"]))
		}
		if got := strings.Join(states, " "); got != "pending in_progress succeeded succeeded" {
			t.Errorf("states = %s", got)
		}
	})
}

func TestAdminAPI(t *testing.T) {
	e := newEnv(t, Options{})
	png := mediagen.PNG(10, 10, 1)
	a := e.postMultipart("/2/media/upload", map[string]string{"media_category": "tweet_image"}, "media", png)
	id := str(a.data(t)["id"])
	admin := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequestWithContext(t.Context(), method, e.url+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := admin("GET", "/_emulator/media", "")
	var list []MediaInfo
	if err := json.Unmarshal(body, &list); err != nil || code != 200 || len(list) != 1 || list[0].ID != id || list[0].SHA256 != sum(png) {
		t.Errorf("GET /_emulator/media = %d %s", code, body)
	}
	for _, k := range []string{`"media_key"`, `"media_type"`, `"media_category"`, `"size"`, `"sha256"`, `"state"`, `"alt_text"`} {
		if !bytes.Contains(body, []byte(k)) {
			t.Errorf("media listing lacks %s", k)
		}
	}
	if code, body = admin("GET", "/_emulator/media/"+id, ""); code != 200 || !bytes.Contains(body, []byte(id)) {
		t.Errorf("GET media/{id} = %d %s", code, body)
	}
	if code, _ = admin("GET", "/_emulator/media/1", ""); code != 404 {
		t.Errorf("GET unknown media = %d", code)
	}
	code, body = admin("GET", "/_emulator/stats", "")
	var st Stats
	json.Unmarshal(body, &st)
	if code != 200 || st.Requests["POST /2/media/upload"][200] != 1 {
		t.Errorf("stats = %d %s", code, body)
	}
	faultTests := []struct {
		body string
		want int
	}{
		{`{"latency":"50ms","bandwidth":"20MB","fail_rate":0.1,"drop_rate":0.05,"rate_limit":100,"rate_window":"1m","processing_time":"3s","fail_processing":true,"seed":1}`, 200},
		{`{"fail_rate":1.5}`, 400},
		{`{"latency":"soon"}`, 400},
		{`{"latncy":"5ms"}`, 400},
		{`not json`, 400},
	}
	for _, ft := range faultTests {
		if code, body = admin("POST", "/_emulator/faults", ft.body); code != ft.want {
			t.Errorf("POST faults %s = %d %s, want %d", ft.body, code, body, ft.want)
		}
	}
	want := Faults{Latency: 50 * time.Millisecond, Bandwidth: 20e6, FailRate: 0.1, DropRate: 0.05, RateLimit: 100,
		RateWindow: time.Minute, ProcessingTime: 3 * time.Second, FailProcessing: true, Seed: 1}
	if got := e.s.Faults(); got != want {
		t.Errorf("faults = %+v, want %+v", got, want)
	}
	code, body = admin("GET", "/_emulator/faults", "")
	var back Faults
	if err := json.Unmarshal(body, &back); err != nil || back != want || !bytes.Contains(body, []byte(`"50ms"`)) {
		t.Errorf("GET faults = %d %s (%v)", code, body, err)
	}
	if code, _ = admin("POST", "/_emulator/reset", ""); code != 200 {
		t.Errorf("reset = %d", code)
	}
	if len(e.s.Media()) != 0 || e.s.Stats().Total != 0 || e.s.Faults() != (Faults{}) {
		t.Errorf("after reset: media %v stats %+v faults %+v", e.s.Media(), e.s.Stats(), e.s.Faults())
	}
}

func TestDiskStore(t *testing.T) {
	tests := []struct {
		name     string
		storeDir string
	}{
		{"given dir", t.TempDir()},
		{"temp dir", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(Options{Credentials: DemoCredentials(), StoreDir: tt.storeDir, Log: zerolog.Nop()})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(s)
			defer hs.Close()
			e := &testEnv{t: t, s: s, url: hs.URL, clock: &fakeClock{now: time.Now()}}
			s.now = e.clock.Now
			e.hc = newEnv(t, Options{}).hc // same demo credentials
			mp4 := mediagen.MP4(3<<20, 5)
			id, a := e.v2Upload(mp4, "video/mp4", "tweet_video", 1<<20)
			if a.status != 200 {
				t.Fatalf("finalize %d %s", a.status, a.body)
			}
			files, _ := filepath.Glob(filepath.Join(s.storeDir, "part-*"))
			if len(files) != 3 {
				t.Errorf("store holds %d part files, want 3", len(files))
			}
			if info, _ := s.MediaByID(id); info.SHA256 != sum(mp4) {
				t.Errorf("sha256 mismatch")
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			files, _ = filepath.Glob(filepath.Join(s.storeDir, "part-*"))
			if len(files) != 0 {
				t.Errorf("Close left %d part files", len(files))
			}
			_, err = os.Stat(s.storeDir)
			if tt.storeDir == "" && !os.IsNotExist(err) {
				t.Errorf("Close kept its temp store: %v", err)
			}
			if tt.storeDir != "" && err != nil {
				t.Errorf("Close removed the user's store dir: %v", err)
			}
		})
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no credentials", Options{InMemory: true}},
		{"bad faults", Options{Credentials: DemoCredentials(), InMemory: true, Faults: Faults{DropRate: -1}}},
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("%s: New succeeded", tt.name)
		}
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	urls := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- ListenAndServe(ctx, "127.0.0.1:0", Options{Credentials: DemoCredentials(), InMemory: true, Log: zerolog.Nop()}, func(u string) { urls <- u })
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-errc:
		t.Fatalf("ListenAndServe: %v", err)
	}
	resp, err := http.Get(base + "/_emulator/stats")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("stats status %d", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ListenAndServe after cancel = %v, want nil", err)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{"1048576", 1 << 20, false}, {"20MB", 20e6, false}, {"4MiB", 4 << 20, false}, {"1.5kB", 1500, false},
		{"512 MB", 512e6, false}, {"MB", 0, true}, {"5XB", 0, true}, {"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
