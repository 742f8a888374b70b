package emulator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/rs/zerolog"
)

// fakeClock is a clock tests move by hand; it starts at the real time so
// that the client's OAuth timestamps fall in the window.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testEnv is an emulator on loopback with an OAuth 1.0a client.
type testEnv struct {
	t     *testing.T
	s     *Server
	url   string
	clock *fakeClock
	hc    *http.Client
}

func newEnv(t *testing.T, opts Options) *testEnv {
	t.Helper()
	if opts.Credentials == (Credentials{}) {
		opts.Credentials = DemoCredentials()
	}
	if opts.StoreDir == "" {
		opts.InMemory = true
	}
	opts.Log = zerolog.Nop()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Now()}
	s.now = clock.Now
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		hs.Close()
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	c := opts.Credentials
	hc := oauth1.NewConfig(c.ConsumerKey, c.ConsumerSecret).Client(context.Background(), oauth1.NewToken(c.AccessToken, c.AccessTokenSecret))
	return &testEnv{t: t, s: s, url: hs.URL, clock: clock, hc: hc}
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d %q is not a JSON object: %v", a.status, a.body, err)
	}
	return m
}

// data returns a v2 answer's data object.
func (a answer) data(t *testing.T) map[string]any {
	t.Helper()
	d, ok := a.json(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("answer %d %s has no data object", a.status, a.body)
	}
	return d
}

// code returns the first errors[].code of an answer.
func (a answer) code(t *testing.T) int {
	t.Helper()
	errs, _ := a.json(t)["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("answer %d %s has no errors", a.status, a.body)
	}
	c, _ := errs[0].(map[string]any)["code"].(float64)
	return int(c)
}

func (e *testEnv) do(req *http.Request) answer {
	e.t.Helper()
	resp, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *testEnv) newReq(method, path string, body io.Reader, ct string) *http.Request {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	return req
}

func (e *testEnv) get(path string) answer {
	e.t.Helper()
	return e.do(e.newReq("GET", path, nil, ""))
}

func (e *testEnv) postJSON(path string, v any) answer {
	e.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(e.newReq("POST", path, bytes.NewReader(b), "application/json"))
}

func (e *testEnv) postForm(path string, form url.Values) answer {
	e.t.Helper()
	return e.do(e.newReq("POST", path, strings.NewReader(form.Encode()), "application/x-www-form-urlencoded"))
}

// postMultipart sends fields then, if media is not nil, a part named
// mediaField holding it.
func (e *testEnv) postMultipart(path string, fields map[string]string, mediaField string, media []byte) answer {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if media != nil {
		w, err := mw.CreateFormFile(mediaField, "blob")
		if err != nil {
			e.t.Fatal(err)
		}
		w.Write(media)
	}
	mw.Close()
	return e.do(e.newReq("POST", path, &buf, mw.FormDataContentType()))
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}
