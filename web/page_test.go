package web

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/mediasync/mediasync/manifest"
)

func TestPageShowsStatus(t *testing.T) {
	f := sampleFake()
	f.paused = &Pause{Cause: "credits_depleted", Message: "the account has no API credits left", Fix: "buy credits in the X developer console",
		Since: testNow.Add(-5 * time.Minute), NextProbe: testNow.Add(10 * time.Minute)}
	f.addFolder("/srv/other")
	f.refused["/srv/other"] = &Refusal{Cause: "locked", Message: "its manifest is locked by another mediasync (pid 42)", Fix: "stop the other agent"}
	f.addFolder("/srv/full")
	f.parked["/srv/full"] = &Refusal{Cause: "parked", Message: "its manifest cannot be written: no space left on device", Fix: "free space", Since: testNow.Add(-time.Minute)}
	srv := newServer(t, f, Options{Loopback: true})
	resp, page := get(t, browserClient(t), srv.URL+"/")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET / = %s", resp.Status)
	}
	doc := parse(t, page)
	for id, want := range map[string][]string{
		"summary":    {"3 queued", "2026-03-01 12:00:00"},
		"paused":     {"Uploads are paused", "credits_depleted", "for 5m00s", "no API credits left", "What to do: buy credits", "Next try in 10m00s"},
		"f0-head":    {"/srv/exports", "1 uploaded", "1 expired", "1 pending", "1 failed", "1 skipped"},
		"f0-active":  {"video.mp4", "uploading", "42%", "42 MB of 100 MB", "10 of 24", "3.1 MB/s", "19s"},
		"f0-failed":  {"Failed (1)", "broken.jpg", "media processing failed: InvalidMedia", "check the file and press Retry", "not by itself"},
		"f0-skipped": {"Skipped (1)", "big.tif", "17.5 MB is over X's 5 MB photo limit", "fit: auto would resize it"},
		"f0-hooks":   {"Hooks failed (1)", "on_upload exited 1", "fix the hook's command"},
		"f0-recent":  {"2026/beach.jpg", "1000000001", "1h00m ago", "23h00m", "old.jpg", "expired"},
		"f1-head":    {"/srv/other", "Not watched", "locked", "locked by another mediasync", "stop the other agent"},
		"f2-head":    {"/srv/full", "Uploads wait (for 1m00s)", "no space left on device", "What to do: free space"},
	} {
		n := byID(doc, id)
		if n == nil {
			t.Errorf("page has no #%s", id)
			continue
		}
		got := strings.Join(strings.Fields(text(n)), " ")
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("#%s = %q, want it to contain %q", id, got, w)
			}
		}
	}
	// The progress bar is a <progress> element, not an inline style (the CSP forbids those).
	var prog []string
	walk(doc, func(n *html.Node) {
		if n.Data == "progress" {
			v, _ := attr(n, "value")
			prog = append(prog, v)
		}
	})
	if !slices.Equal(prog, []string{"42"}) {
		t.Errorf("progress values = %v, want [42]", prog)
	}
}

// TestPageWithoutJavaScript checks what the page is without its script: everything is in the
// HTML, a <noscript> refresh reloads it, the buttons are plain forms that post to this origin,
// and the script is an external file (no inline script, no event-handler attributes, no inline
// style, which the CSP would block anyway).
func TestPageWithoutJavaScript(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{Loopback: true, Refresh: 700 * time.Millisecond})
	_, page := get(t, browserClient(t), srv.URL+"/")
	doc := parse(t, page)
	var scripts, forms []string
	refresh := ""
	walk(doc, func(n *html.Node) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
				t.Errorf("<%s> has a %s attribute", n.Data, a.Key)
			}
		}
		switch n.Data {
		case "script":
			src, _ := attr(n, "src")
			if strings.TrimSpace(text(n)) != "" {
				t.Errorf("inline script %q", text(n))
			}
			scripts = append(scripts, src)
		case "form":
			m, _ := attr(n, "method")
			a, _ := attr(n, "action")
			forms = append(forms, m+" "+a)
		case "body":
			if v, _ := attr(n, "data-refresh"); v != "700" {
				t.Errorf("data-refresh = %q, want 700", v)
			}
		case "noscript":
			refresh = text(n) // a <noscript> in <head> is parsed as text when scripting is on
		}
	})
	if !slices.Equal(scripts, []string{"/static/app.js"}) {
		t.Errorf("scripts = %v, want [/static/app.js]", scripts)
	}
	if want := []string{"post /retry-failed", "post /retry", "post /retry-hooks"}; !slices.Equal(forms, want) {
		t.Errorf("forms = %v, want %v", forms, want)
	}
	if !strings.Contains(refresh, `http-equiv="refresh"`) {
		t.Errorf("<noscript> = %q, want a meta refresh", refresh)
	}
	for _, asset := range []struct{ path, ctype string }{{"/static/app.js", "text/javascript"}, {"/static/app.css", "text/css"}} {
		resp, body := get(t, browserClient(t), srv.URL+asset.path)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), asset.ctype) || len(body) < 100 {
			t.Errorf("GET %s = %s %q (%d bytes)", asset.path, resp.Status, resp.Header.Get("Content-Type"), len(body))
		}
	}
}

// hostileNames are file names that would run script if a page pasted them into HTML.
var hostileNames = []string{
	`<img src=x onerror=alert(1)>.jpg`,
	`<script>alert(1)</script>.jpg`,
	`"><svg onload=alert(1)>.png`,
	`a&amp;b' onmouseover='alert(1).gif`,
	"</td></tr></table><iframe src=//evil.example>.mp4",
}

func TestPageEscapesHostileNames(t *testing.T) {
	f := newFake(testNow)
	f.addFolder(testFolder)
	var active []Transfer
	for i, name := range hostileNames {
		f.put(testFolder, "failed/"+name, failedEntry("failed: "+name, false))
		f.put(testFolder, "skipped/"+name, manifest.Entry{State: manifest.Skipped, Reason: "skipped: " + name})
		up := f.uploadedEntry()
		up.UploadedAt = testNow.Add(-time.Duration(i) * time.Minute)
		f.put(testFolder, "up/"+name, up)
		active = append(active, Transfer{Rel: "active/" + name, Phase: PhaseHashing, Total: 10})
	}
	f.active[testFolder] = active
	srv := newServer(t, f, Options{Loopback: true})
	_, page := get(t, browserClient(t), srv.URL+"/")
	doc := parse(t, page)

	// No element the names hold was created: only the page's own elements exist.
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "img", "svg", "iframe":
			t.Errorf("the page has an <%s> element: a name was not escaped", n.Data)
		case "script":
			if src, _ := attr(n, "src"); src != "/static/app.js" {
				t.Errorf("the page has a <script> other than app.js: %v", n.Attr)
			}
		}
	})
	// Each name is one text node, exactly as named, in every list.
	cells := fileCells(doc)
	for _, name := range hostileNames {
		for _, want := range []string{"failed/" + name, "skipped/" + name, "up/" + name, "active/" + name} {
			if !slices.Contains(cells, want) {
				t.Errorf("no file cell reads %q; cells: %q", want, cells)
			}
		}
	}
	// The retry forms carry the names intact in their attribute values.
	var rels []string
	walk(doc, func(n *html.Node) {
		if name, _ := attr(n, "name"); n.Data == "input" && name == "rel" {
			v, _ := attr(n, "value")
			rels = append(rels, v)
		}
	})
	for _, name := range hostileNames {
		if !slices.Contains(rels, "failed/"+name) {
			t.Errorf("no retry form for %q; rel values: %q", name, rels)
		}
	}
}

func TestPageShowsHiddenCharacters(t *testing.T) {
	f := newFake(testNow)
	f.put(testFolder, "invoice\u202Egpj.exe", failedEntry("x", false))
	srv := newServer(t, f, Options{Loopback: true})
	_, page := get(t, browserClient(t), srv.URL+"/")
	if cells := fileCells(parse(t, page)); !slices.Contains(cells, `invoice\u202Egpj.exe`) {
		t.Errorf("cells = %q, want the bidi override shown as \\u202E", cells)
	}
}

// TestPageShowsNoPathOutsideFolders: reasons and messages that name files outside the folders
// (a hook script, a move target, the config) show only their base name; paths in a folder stay;
// credentials and the token never appear.
func TestPageShowsNoPathOutsideFolders(t *testing.T) {
	const token = "tok-0123456789abcdef"
	const bearer = "AAAAAAAAAAAAAAAAAAAAAsecret-bearer"
	f := newFake(testNow)
	f.put(testFolder, "a.jpg", failedEntry("open /srv/exports/sub/a b.jpg: permission denied", false))
	f.put(testFolder, "b.jpg", failedEntry("after_upload: rename /srv/exports/b.jpg /mnt/archive/2026/b.jpg: cross-device link", false))
	f.put(testFolder, "c.jpg", manifest.Entry{State: manifest.Skipped, Reason: "config /home/alice/.config/mediasync/config.yaml says so; see https://docs.x.com/x-api/media"})
	moved := f.uploadedEntry()
	moved.MovedTo = "/mnt/archive/2026/d.jpg"
	f.put(testFolder, "d.jpg", moved)
	f.hooks[testFolder] = []Problem{{Rel: "d.jpg", Reason: "/home/alice/bin/post.sh: exit status 1 (Authorization: Bearer " + bearer + ")"}}
	f.paused = &Pause{Cause: "unauthorized", Message: "401 with token " + token, Since: testNow}
	opts := Options{Token: token, Redact: []string{bearer}, Loopback: true}
	srv := newServer(t, f, opts)
	c := browserClient(t)
	get(t, c, srv.URL+"/?token="+token)
	for _, path := range []string{"/", "/api/status"} {
		resp, page := get(t, c, srv.URL+path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %s", path, resp.Status)
		}
		if path == "/" {
			page = text(parse(t, page)) // the text a person reads
		}
		for _, bad := range []string{"/mnt", "/home", "alice", ".config", token, bearer} {
			if strings.Contains(page, bad) {
				t.Errorf("GET %s shows %q", path, bad)
			}
		}
		for _, want := range []string{"/srv/exports/sub/a b.jpg", "rename /srv/exports/b.jpg …/b.jpg", "config …/config.yaml", "…/post.sh", "https://docs.x.com/x-api/media", "[redacted]"} {
			if !strings.Contains(page, want) {
				t.Errorf("GET %s does not show %q", path, want)
			}
		}
	}
}

// TestEveryAnswerIsScrubbed: not only the status, every answer a backend's text reaches is
// scrubbed: /api/explain (its reason, the entry's error, hook error and move target), the error
// answers of the API, the upload result, and the flash cookie a button sets, which must not carry
// a credential even though the page would scrub it when shown. The owner-only socket keeps the
// paths, and redacts the credentials too.
func TestEveryAnswerIsScrubbed(t *testing.T) {
	const bearer = "AAAAAAAAAAAAAAAAAAAAAsecret-bearer"
	leak := fmt.Errorf("retry failed: %s in /home/alice/.netrc", bearer)
	f := newFake(testNow)
	e := failedEntry("401 for "+bearer+" reading /home/alice/keys/x.jpg", false)
	e.Hook = &manifest.HookState{State: manifest.HookFailed, LastError: "curl -H 'Authorization: Bearer " + bearer + "'"}
	e.MovedTo = "/home/alice/private/e.jpg"
	f.put(testFolder, "e.jpg", e)
	opts := Options{Token: apiToken, Redact: []string{bearer}, Loopback: true}
	srv := newServer(t, f, opts)
	clean := func(what, body string, bad ...string) {
		t.Helper()
		for _, b := range append(bad, bearer) {
			if strings.Contains(body, b) {
				t.Errorf("%s shows %q: %s", what, b, body)
			}
		}
		if !strings.Contains(body, "[redacted]") {
			t.Errorf("%s: no [redacted] in %s", what, body)
		}
	}
	var x Explanation
	apiCall(t, srv.URL, apiToken, http.MethodGet, "/api/explain?path="+url.QueryEscape(testFolder+"/e.jpg"), "", &x)
	js, _ := json.Marshal(x)
	clean("GET /api/explain", string(js), "/home", "alice")
	if x.Entry == nil || x.Entry.MovedTo != "…/e.jpg" {
		t.Errorf("explain's moved_to = %+v, want …/e.jpg", x.Entry)
	}

	f.mu.Lock()
	f.err = leak
	f.mu.Unlock()
	for _, c := range []struct{ path, body string }{
		{"/api/retry", `{"folder":"` + testFolder + `","rel":"e.jpg"}`},
		{"/api/upload", `{"path":"` + testFolder + `/e.jpg"}`},
	} {
		var eb errorBody
		apiCall(t, srv.URL, apiToken, http.MethodPost, c.path, c.body, &eb)
		clean("POST "+c.path, eb.Error.Message, "/home", "alice")
	}

	// The flash cookie, as it leaves the server.
	b := browserClient(t)
	get(t, b, srv.URL+"/?token="+apiToken)
	_, page := get(t, b, srv.URL+"/")
	form := url.Values{"folder": {testFolder}, "rel": {"e.jpg"}, csrfField: {csrfOf(t, page)}}
	resp := postForm(t, b, srv.URL+"/retry", form)
	var cookie string
	for _, c := range resp.Cookies() {
		if c.Name == flashCookie {
			p64, _, _ := strings.Cut(c.Value, ".")
			raw, err := base64.RawURLEncoding.DecodeString(p64)
			if err != nil {
				t.Fatal(err)
			}
			cookie = string(raw)
		}
	}
	if cookie == "" {
		t.Fatal("POST /retry set no flash cookie")
	}
	clean("the flash cookie", cookie)

	// The owner's socket: credentials redacted, paths whole.
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
	x, err := Dial(serveSocket(t, f, Options{Redact: []string{bearer}})).Explain(t.Context(), testFolder+"/e.jpg")
	if err != nil {
		t.Fatal(err)
	}
	js, _ = json.Marshal(x)
	clean("Explain over the socket", string(js))
	if x.Entry == nil || x.Entry.MovedTo != e.MovedTo || !strings.Contains(x.Entry.Error.Message, "/home/alice/keys/x.jpg") {
		t.Errorf("the socket's explain shortened the owner's paths: %s", js)
	}
}

func TestPagePagesLongLists(t *testing.T) {
	f := newFake(testNow)
	for i := range 1000 {
		f.put(testFolder, fmt.Sprintf("f%04d.jpg", i), failedEntry("boom", false))
	}
	f.addFolder("/srv/other")
	srv := newServer(t, f, Options{Loopback: true, Limit: 25})
	c := browserClient(t)
	_, page := get(t, c, srv.URL+"/")
	doc := parse(t, page)
	cells := fileCells(byID(doc, "f0-failed"))
	if len(cells) != 25 || cells[0] != "f0000.jpg" || cells[24] != "f0024.jpg" {
		t.Fatalf("first page: %d cells %q…", len(cells), cells[:min(3, len(cells))])
	}
	next := ""
	walk(byID(doc, "f0-failed"), func(n *html.Node) {
		if n.Data == "a" && strings.Contains(text(n), "and 975 more") {
			next, _ = attr(n, "href")
		}
	})
	want := "/?" + url.Values{"folder": {testFolder}, "offset": {"25"}}.Encode()
	if next != want {
		t.Fatalf("next link = %q, want %q", next, want)
	}
	_, page = get(t, c, srv.URL+next)
	doc = parse(t, page)
	if byID(doc, "f1-head") != nil {
		t.Error("the folder's second page shows the other folder too")
	}
	cells = fileCells(byID(doc, "f0-failed"))
	if len(cells) != 25 || cells[0] != "f0025.jpg" {
		t.Errorf("second page: %d cells, first %q", len(cells), cells[0])
	}
	if !strings.Contains(text(byID(doc, "f0-failed")), "previous 25") {
		t.Error("second page has no link back")
	}
	if resp, _ := get(t, c, srv.URL+"/?folder=/nowhere"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown folder: %s, want 404", resp.Status)
	}
}

func TestPageButtons(t *testing.T) {
	f := sampleFake()
	f.put(testFolder, "second.jpg", failedEntry("boom", false))
	srv := newServer(t, f, Options{Loopback: true})
	c := browserClient(t)
	_, page := get(t, c, srv.URL+"/")
	csrf := csrfOf(t, page)
	for _, tc := range []struct {
		action string
		form   url.Values
		call   string
		flash  string
		loc    string
	}{
		{"/retry", url.Values{"folder": {testFolder}, "rel": {"broken.jpg"}}, "retry /srv/exports broken.jpg", "Retrying broken.jpg.", "/"},
		{"/retry", url.Values{"folder": {testFolder}, "rel": {"nope.jpg"}, "back": {"folder=/srv/exports&offset=25&evil=1"}},
			"retry /srv/exports nope.jpg", "not found: no file nope.jpg", "/?folder=%2Fsrv%2Fexports&offset=25"},
		{"/retry-failed", url.Values{"folder": {testFolder}}, "retry-failed /srv/exports", "Retrying 1 failed file in /srv/exports.", "/"},
		{"/retry-hooks", url.Values{"folder": {testFolder}}, "retry-hooks /srv/exports", "Running 1 failed hook again in /srv/exports.", "/"},
	} {
		tc.form.Set(csrfField, csrf)
		resp := postForm(t, c, srv.URL+tc.action, tc.form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tc.loc {
			t.Errorf("POST %s = %s to %q, want 303 to %q", tc.action, resp.Status, resp.Header.Get("Location"), tc.loc)
		}
		if calls := f.called(); len(calls) == 0 || calls[len(calls)-1] != tc.call {
			t.Errorf("POST %s: backend calls %q, want last %q", tc.action, calls, tc.call)
		}
		_, page := get(t, c, srv.URL+"/")
		if got := text(byID(parse(t, page), "flash")); !strings.Contains(got, tc.flash) {
			t.Errorf("after POST %s the page says %q, want %q", tc.action, got, tc.flash)
		}
		// The message shows once.
		if _, page := get(t, c, srv.URL+"/"); strings.TrimSpace(text(byID(parse(t, page), "flash"))) != "" {
			t.Errorf("after POST %s the message shows twice", tc.action)
		}
	}
	_, page = get(t, c, srv.URL+"/")
	if cells := fileCells(byID(parse(t, page), "f0-failed")); len(cells) != 0 {
		t.Errorf("failed files after retrying them all: %q", cells)
	}
}

// TestFlashCannotBeForged: a flash cookie not signed by this process shows nothing.
func TestFlashCannotBeForged(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{Loopback: true})
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.AddCookie(&http.Cookie{Name: flashCookie, Value: "ZXJyb3I6eW91ciB0b2tlbiBleHBpcmVk.AAAA"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if got := text(byID(parse(t, readBody(t, resp)), "flash")); strings.TrimSpace(got) != "" {
		t.Errorf("a forged flash shows %q", got)
	}
}

func TestPageBackendDown(t *testing.T) {
	srv := newServer(t, downBackend{sampleFake()}, Options{Loopback: true})
	resp, page := get(t, browserClient(t), srv.URL+"/")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(text(byID(parse(t, page), "problem")), "agent is stopping") {
		t.Errorf("GET / with a failing backend = %s %q", resp.Status, page)
	}
}

type downBackend struct{ *fake }

func (downBackend) Status(ctx context.Context, q Query) (Status, error) {
	return Status{}, errors.New("agent is stopping")
}
