package web

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mediasync/mediasync/manifest"
)

// testNow is the fake's clock: every time on the page is relative to it.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const testFolder = "/srv/exports"

// mount serves the API and the page on one handler, as cmd mounts them beside /metrics.
func mount(b Backend, opts Options) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", NewAPIHandler(b, opts))
	mux.Handle("/", NewPageHandler(b, opts))
	return mux
}

// newServer serves b on a loopback httptest server.
func newServer(t *testing.T, b Backend, opts Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mount(b, opts))
	t.Cleanup(srv.Close)
	return srv
}

// browserClient is an HTTP client that keeps cookies and does not follow redirects, so tests see
// every 303.
func browserClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readBody(t, resp)
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// postForm posts a page button's form as a browser on the same origin would.
func postForm(t *testing.T, c *http.Client, u string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	return resp
}

// parse parses an HTML page.
func parse(t *testing.T, page string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse page: %v", err)
	}
	return doc
}

// walk calls fn for every element of n, depth first.
func walk(n *html.Node, fn func(*html.Node)) {
	if n.Type == html.ElementNode {
		fn(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	for _, c := range strings.Fields(v) {
		if c == class {
			return true
		}
	}
	return false
}

// text returns the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return b.String()
}

// byID returns the element with the id, or nil.
func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, "id"); ok && v == id && found == nil {
			found = n
		}
	})
	return found
}

// fileCells returns the text of every file cell (td.file) under n, without the "(deleted)" mark.
func fileCells(n *html.Node) []string {
	var out []string
	walk(n, func(n *html.Node) {
		if n.Data == "td" && hasClass(n, "file") {
			// The name is the cell's first text node; a mark may follow in <em>.
			if c := n.FirstChild; c != nil && c.Type == html.TextNode {
				out = append(out, strings.TrimSuffix(c.Data, " "))
			}
		}
	})
	return out
}

// csrfOf returns the CSRF token a page carries in its buttons' forms.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	var tok string
	walk(parse(t, page), func(n *html.Node) {
		if name, _ := attr(n, "name"); n.Data == "input" && name == csrfField && tok == "" {
			tok, _ = attr(n, "value")
		}
	})
	if tok == "" {
		t.Fatal("the page has no CSRF field")
	}
	return tok
}

// sampleFake returns a fake with one folder holding a file in every state, an upload in flight, a
// failed hook and a pause.
func sampleFake() *fake {
	f := newFake(testNow)
	f.addFolder(testFolder)
	up := f.uploadedEntry()
	up.UploadedAt = testNow.Add(-time.Hour)
	up.ExpiresAt = testNow.Add(23 * time.Hour)
	f.put(testFolder, "2026/beach.jpg", up)
	old := f.uploadedEntry()
	old.UploadedAt, old.ExpiresAt = testNow.Add(-30*time.Hour), testNow.Add(-6*time.Hour)
	f.put(testFolder, "old.jpg", old)
	f.put(testFolder, "broken.jpg", failedEntry("media processing failed: InvalidMedia", true))
	f.put(testFolder, "big.tif", manifest.Entry{State: manifest.Skipped, Reason: "17.5 MB is over X's 5 MB photo limit"})
	f.put(testFolder, "new.jpg", manifest.Entry{State: manifest.Pending})
	f.active[testFolder] = []Transfer{{Rel: "video.mp4", Phase: PhaseUploading, Bytes: 42_000_000, Total: 100_000_000,
		Segments: 10, SegmentsTotal: 24, Rate: 3_100_000, ETA: 19, Started: testNow.Add(-14 * time.Second)}}
	f.hooks[testFolder] = []Problem{{Rel: "2026/beach.jpg", Reason: "on_upload exited 1: post.sh: no such file", Fix: "fix the hook's command"}}
	f.queue = 3
	return f
}
