package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// apiCall sends a request as a script with a bearer token does and decodes the JSON answer.
func apiCall(t *testing.T, srv string, token, method, path, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, srv+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get(versionHeader) != "1" {
		t.Errorf("%s %s: %s = %q, want 1", method, path, versionHeader, resp.Header.Get(versionHeader))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp
}

const apiToken = "api-token-0123456789abcdef"

func TestAPIStatus(t *testing.T) {
	f := sampleFake()
	for i := range 120 {
		f.put(testFolder, "many/"+strings.Repeat("x", i%7)+time.Duration(i).String()+".jpg", failedEntry("boom", false))
	}
	f.addFolder("/srv/other")
	srv := newServer(t, f, Options{Token: apiToken})

	var st Status
	resp := apiCall(t, srv.URL, apiToken, "GET", "/api/status", "", &st)
	if resp.StatusCode != http.StatusOK || st.Version != Version || len(st.Folders) != 2 || st.Queue != 3 {
		t.Fatalf("GET /api/status = %s %+v", resp.Status, st)
	}
	fl := st.Folders[0]
	if fl.Failed.Total != 121 || len(fl.Failed.Items) != DefaultLimit || fl.Counts.Uploaded != 1 || fl.Counts.Expired != 1 || len(fl.Active) != 1 || fl.Hooks.Total != 1 {
		t.Errorf("folder = total %d, %d items, counts %+v, %d active, %d hooks", fl.Failed.Total, len(fl.Failed.Items), fl.Counts, len(fl.Active), fl.Hooks.Total)
	}

	var page Status
	apiCall(t, srv.URL, apiToken, "GET", "/api/status?folder=%2Fsrv%2Fexports&offset=100&limit=500", "", &page)
	if len(page.Folders) != 1 || page.Folders[0].Failed.Offset != 100 || len(page.Folders[0].Failed.Items) != 21 {
		t.Errorf("page 100+: %d folders, offset %d, %d items", len(page.Folders), page.Folders[0].Failed.Offset, len(page.Folders[0].Failed.Items))
	}
	var capped Status
	apiCall(t, srv.URL, apiToken, "GET", "/api/status?limit=100000", "", &capped)
	if n := len(capped.Folders[0].Failed.Items); n != 121 {
		t.Errorf("limit=100000 gave %d items", n)
	}

	for _, q := range []string{"offset=-1", "limit=x", "offset=1e3"} {
		var e errorBody
		if resp := apiCall(t, srv.URL, apiToken, "GET", "/api/status?"+q, "", &e); resp.StatusCode != http.StatusBadRequest || e.Error.Code != codeInvalid {
			t.Errorf("GET /api/status?%s = %s %+v, want 400 invalid", q, resp.Status, e)
		}
	}
	var e errorBody
	if resp := apiCall(t, srv.URL, apiToken, "GET", "/api/status?folder=/nowhere", "", &e); resp.StatusCode != http.StatusNotFound || e.Error.Code != codeNotFound || e.Version != Version {
		t.Errorf("unknown folder = %s %+v, want 404 not_found", resp.Status, e)
	}
}

func TestAPIRetry(t *testing.T) {
	f := sampleFake()
	f.put(testFolder, "second.jpg", failedEntry("boom", false))
	srv := newServer(t, f, Options{Token: apiToken})
	for _, tc := range []struct {
		path, body string
		status     int
		code       string
		retried    int
	}{
		{"/api/retry", `{"folder":"/srv/exports","rel":"broken.jpg"}`, 200, "", 1},
		{"/api/retry", `{"folder":"/srv/exports","rel":"broken.jpg"}`, 400, codeInvalid, 0}, // uploaded now
		{"/api/retry", `{"folder":"/srv/exports","rel":"nope.jpg"}`, 404, codeNotFound, 0},
		{"/api/retry", `{"folder":"/nowhere","rel":"a.jpg"}`, 404, codeNotFound, 0},
		{"/api/retry", `{"folder":"/srv/exports"}`, 400, codeInvalid, 0},
		{"/api/retry", `{"folder":"/srv/exports","rel":"a.jpg","force":true}`, 400, codeInvalid, 0},
		{"/api/retry", `{"folder":`, 400, codeInvalid, 0},
		{"/api/retry-failed", `{"folder":"/srv/exports"}`, 200, "", 1},
		{"/api/retry-failed", `{"folder":"/srv/exports"}`, 200, "", 0},
		{"/api/retry-hooks", `{"folder":"/srv/exports"}`, 200, "", 1},
		{"/api/nothing", `{}`, 404, codeNoEndpoint, 0},
	} {
		var out struct {
			retried
			Error struct{ Code string } `json:"error"`
		}
		resp := apiCall(t, srv.URL, apiToken, "POST", tc.path, tc.body, &out)
		if resp.StatusCode != tc.status || out.Error.Code != tc.code || out.Retried != tc.retried || out.Version != Version {
			t.Errorf("POST %s %s = %s %+v, want %d %q retried %d", tc.path, tc.body, resp.Status, out, tc.status, tc.code, tc.retried)
		}
	}
}

func TestAPIExplain(t *testing.T) {
	srv := newServer(t, sampleFake(), Options{Token: apiToken})
	for path, want := range map[string]Verdict{
		"/srv/exports/broken.jpg":     VerdictFailed,
		"/srv/exports/2026/beach.jpg": VerdictUploaded,
		"/srv/exports/x.jpg.part":     VerdictIgnored,
		"/tmp/elsewhere.jpg":          VerdictOutside,
	} {
		var x Explanation
		resp := apiCall(t, srv.URL, apiToken, "GET", "/api/explain?path="+path, "", &x)
		if resp.StatusCode != 200 || x.Verdict != want || x.Path != path || x.Version != Version {
			t.Errorf("explain %s = %s %+v, want %s", path, resp.Status, x, want)
		}
	}
	var e errorBody
	if resp := apiCall(t, srv.URL, apiToken, "GET", "/api/explain?path=relative.jpg", "", &e); resp.StatusCode != 400 {
		t.Errorf("explain of a relative path = %s, want 400", resp.Status)
	}
}

func TestAPIUpload(t *testing.T) {
	f := sampleFake()
	srv := newServer(t, f, Options{Token: apiToken})
	var line uploadLine
	resp := apiCall(t, srv.URL, apiToken, "POST", "/api/upload", `{"path":"/srv/exports/new.jpg","alt_text":"a gull"}`, &line)
	if resp.StatusCode != 200 || line.Result == nil || line.Result.Rel != "new.jpg" || line.Result.Entry.State != manifest.Uploaded || line.Result.Entry.AltText != "a gull" {
		t.Fatalf("upload = %s %+v", resp.Status, line)
	}
	var e errorBody
	if resp := apiCall(t, srv.URL, apiToken, "POST", "/api/upload", `{"path":"/tmp/loose.jpg"}`, &e); resp.StatusCode != 400 || !strings.Contains(e.Error.Message, "no watched folder") {
		t.Errorf("upload outside the folders = %s %+v", resp.Status, e)
	}

	// Streamed: progress lines, then the result.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/upload", strings.NewReader(`{"path":"/srv/exports/new.jpg"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", ndjson)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != ndjson {
		t.Errorf("streamed upload Content-Type %q", ct)
	}
	var lines []uploadLine
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var l uploadLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	if n := len(lines); n < 2 || lines[0].Progress == nil || lines[n-2].Progress == nil || lines[n-2].Progress.Bytes != 4000 || lines[n-1].Result == nil {
		t.Errorf("streamed lines = %+v, want progress (first and last) then the result", lines)
	}
}

// TestStatusGolden pins the JSON schema of version 1: a change to this file is a change to the
// documented API (docs/api.md); a field removed or renamed needs Version+1.
func TestStatusGolden(t *testing.T) {
	f := sampleFake()
	f.paused = &Pause{Cause: "unauthorized", Message: "X refused the credentials (401)", Fix: "mediasync auth login", Since: testNow.Add(-time.Minute), NextProbe: testNow.Add(time.Minute)}
	f.addFolder("/srv/other")
	f.refused["/srv/other"] = &Refusal{Cause: "locked", Message: "locked by pid 42", Fix: "stop the other agent", Since: testNow.Add(-time.Hour)}
	f.put(testFolder, "gone.jpg", manifest.Entry{State: manifest.Failed, Attempts: 2, Deleted: true, UpdatedAt: testNow.Add(-time.Hour),
		NextAttemptAt: testNow.Add(time.Hour), Error: &manifest.Error{Message: "503 from X"}})
	srv := newServer(t, f, Options{Token: apiToken})
	var raw json.RawMessage
	apiCall(t, srv.URL, apiToken, "GET", "/api/status", "", &raw)
	var pretty bytes.Buffer
	if err := json.Indent(&pretty, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	golden := filepath.Join("testdata", "status.golden.json")
	if *update {
		if err := os.WriteFile(golden, []byte(pretty.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run Golden -update)", err)
	}
	if pretty.String() != string(want) {
		t.Errorf("GET /api/status differs from %s (go test -run Golden -update, and update docs/api.md):\n%s", golden, pretty.String())
	}
}
