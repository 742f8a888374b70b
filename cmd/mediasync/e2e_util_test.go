package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/notify"
)

// The helpers of the end-to-end tests of `mediasync run` (e2e_*_test.go): a subprocess against
// the emulator, waited on by polling its manifest, its log or a receiver until a condition holds,
// with a generous deadline that only guards against a hang.

// untilProc polls cond every 50 ms until it holds. When timeout passes first, or p (if not nil)
// exited, it fails the test with what it waited for, p's log tail and the diagnostic of diag.
func untilProc(t testing.TB, p *proc, what string, timeout time.Duration, cond func() bool, diag ...func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		fail := ""
		switch {
		case p != nil && p.exited():
			fail = "the agent exited (" + errString(p.err) + ")"
		case time.Now().After(deadline): // a guard against a hang, not a timing assertion
			fail = "not within " + timeout.String()
		}
		if fail != "" {
			var b strings.Builder
			for _, d := range diag {
				b.WriteString(d() + "\n")
			}
			if p != nil {
				b.WriteString("log:\n" + tail(p.log, 40))
			}
			t.Fatalf("waiting for %s: %s\n%s", what, fail, b.String())
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

func errString(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}

// entries returns the entries of folder's manifest as on disk; none when it does not exist yet or
// cannot be read at this moment.
func entries(folder string) map[string]manifest.Entry {
	m, err := manifest.Read(manifest.DefaultPath(folder))
	if err != nil {
		return nil
	}
	return m.Files
}

// describeEntries formats the manifest of folder for a failure message.
func describeEntries(folder string) func() string {
	return func() string {
		b, err := os.ReadFile(manifest.DefaultPath(folder))
		if err != nil {
			return "manifest: " + err.Error()
		}
		return "manifest:\n" + string(b)
	}
}

// uploaded reports whether every rel has an uploaded entry in folder's manifest.
func uploaded(folder string, rels ...string) bool {
	es := entries(folder)
	for _, rel := range rels {
		if e, ok := es[rel]; !ok || e.State != manifest.Uploaded {
			return false
		}
	}
	return true
}

// logRecord is one JSON line of the agent's log, with the fields the tests look at.
type logRecord struct {
	Level    string    `json:"level"`
	Message  string    `json:"message"`
	Path     string    `json:"path"`
	MediaID  string    `json:"media_id"`
	Reason   string    `json:"reason"`
	Refusal  string    `json:"refusal"`
	Error    string    `json:"error"`
	Bytes    int64     `json:"bytes"`
	Chunk    int64     `json:"chunk_size"`
	ResumeAt time.Time `json:"resume_at"`
	Time     time.Time `json:"time"`
	Raw      string    `json:"-"`
}

// logRecords returns the JSON records of the log files at paths whose message contains msg ("" =
// all). Lines that are not JSON (a race report) are left out.
func logRecords(t testing.TB, msg string, paths ...string) []logRecord {
	t.Helper()
	var out []logRecord
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var r logRecord
			if json.Unmarshal(sc.Bytes(), &r) != nil || !strings.Contains(r.Message, msg) {
				continue
			}
			r.Raw = sc.Text()
			out = append(out, r)
		}
	}
	return out
}

// checkLogs fails the test for a data race or a panic in the logs of the (race-built) subprocesses.
func checkLogs(t testing.TB, paths ...string) {
	t.Helper()
	for _, p := range paths {
		for _, l := range scanLog(t, p).raceOrPanic {
			t.Errorf("%s: %s", filepath.Base(p), l)
		}
	}
}

// httpGet returns the status and body of GET url; status 0 when it cannot connect.
func httpGet(url string) (int, string) {
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postJSON posts body to url and fails the test unless it gets 200 (the emulator's admin API).
func postJSON(t testing.TB, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s %s: %d %s", url, body, resp.StatusCode, b)
	}
}

// put writes data at folder/rel (under a temporary name, then renamed, as export tools do).
func put(t testing.TB, folder, rel string, data []byte) {
	t.Helper()
	abs := filepath.Join(folder, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeViaRename(abs, data); err != nil {
		t.Fatal(err)
	}
}

// mkdir creates dir (and its parents) and returns it.
func mkdir(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// webhook is a notification receiver on loopback: it keeps every payload it is sent and answers
// 200.
type webhook struct {
	URL string

	mu       sync.Mutex
	payloads []notify.Payload
	auth     []string // the Authorization header of each POST
	bad      []string // bodies that were not a payload
}

func newWebhook(t testing.TB) *webhook {
	t.Helper()
	w := &webhook{}
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var p notify.Payload
		w.mu.Lock()
		defer w.mu.Unlock()
		w.auth = append(w.auth, r.Header.Get("Authorization"))
		if r.Method != http.MethodPost || json.Unmarshal(b, &p) != nil || p.Version != notify.Version {
			w.bad = append(w.bad, r.Method+" "+string(b))
			http.Error(rw, "not a payload", http.StatusBadRequest)
			return
		}
		w.payloads = append(w.payloads, p)
	}))
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

// events returns the events received so far of type typ ("" = all), in the order they came.
func (w *webhook) events(typ notify.EventType) []notify.Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []notify.Event
	for _, p := range w.payloads {
		for _, e := range p.Events {
			if typ == "" || e.Type == typ {
				out = append(out, e)
			}
		}
	}
	return out
}

// event returns the first event of type typ for path ("" = any), if one came.
func (w *webhook) event(typ notify.EventType, path string) (notify.Event, bool) {
	for _, e := range w.events(typ) {
		if path == "" || e.Path == path {
			return e, true
		}
	}
	return notify.Event{}, false
}

// describe lists what the webhook got, for a failure message.
func (w *webhook) describe() string {
	var b strings.Builder
	b.WriteString("webhook got:\n")
	for _, e := range w.events("") {
		j, _ := json.Marshal(e)
		b.WriteString("  " + string(j) + "\n")
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.bad {
		b.WriteString("  not a payload: " + s + "\n")
	}
	return b.String()
}
