package examples

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/manifest"
)

const hookScript = "post-on-upload.sh"

// TestPostOnUpload runs post-on-upload.sh the way the agent runs an on_upload command, through
// package hook (minimal environment, the job's variables, the entry on stdin), against a fake
// POST /2/tweets, one run after another as mediasync would: a failure that is retried, the post,
// a second run for the same upload (at least once) that must not post again, and the other exits.
func TestPostOnUpload(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "sed", "date", "mktemp"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	realCurl, _ := exec.LookPath("curl")
	script, err := filepath.Abs(hookScript)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin, stub, state, folder := filepath.Join(dir, "bin"), filepath.Join(dir, "stub"), filepath.Join(dir, "posted"), filepath.Join(dir, "outbox")
	for _, d := range []string{bin, stub, filepath.Join(folder, "shoot")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "curl"), curlSpy, 0o755)
	const sidecarText = "Harbour at dawn \"golden\" \\ 🌅\nsecond line"
	write(filepath.Join(folder, "shoot", "IMG_1.jpg"), "jpeg", 0o644)
	write(filepath.Join(folder, "shoot", "IMG_1.jpg.post.txt"), sidecarText+"\n", 0o644)
	write(filepath.Join(folder, "b.jpg"), "jpeg", 0o644)
	write(filepath.Join(folder, "moved.jpg.post.txt"), "moved away", 0o644)

	// The hook's PATH (from the agent's, one of the base variables) finds the curl spy first.
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("STUB_STATE", stub)
	t.Setenv("REAL_CURL", realCurl)
	t.Setenv("X_BEARER_TOKEN", token)

	var (
		mu      sync.Mutex
		answers []answer
		posts   []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, request{method: r.Method, path: r.URL.Path, auth: r.Header.Get("Authorization"), contentType: r.Header.Get("Content-Type"), body: body})
		a := created
		if len(answers) > 0 {
			a, answers = answers[0], answers[1:]
		}
		mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	defer srv.Close()
	t.Setenv("X_API_BASE", srv.URL)

	env := []string{"X_BEARER_TOKEN", "X_API_BASE", "STUB_STATE", "REAL_CURL"}
	spec := hook.Spec{Command: []string{script, "-t", "New from the studio", "-s", state}, Env: env, Timeout: time.Minute}
	entry := func(id string) manifest.Entry {
		return manifest.Entry{State: manifest.Uploaded, MediaIDString: id, MediaKey: "3_" + id, ExpiresAt: time.Now().Add(24 * time.Hour), MediaType: "image/jpeg", Hook: hook.Pending()}
	}
	const sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	// run runs the hook for one job and returns the result and the POSTs it made.
	run := func(t *testing.T, spec hook.Spec, job hook.Job, a ...answer) (hook.Result, []request) {
		t.Helper()
		mu.Lock()
		answers, posts = a, nil
		mu.Unlock()
		res := hook.Run(t.Context(), spec, job)
		mu.Lock()
		defer mu.Unlock()
		for _, p := range posts {
			if p.method != http.MethodPost || p.path != "/2/tweets" || p.auth != "Bearer "+token || p.contentType != "application/json" {
				t.Errorf("request %s %s, Authorization %q, Content-Type %q", p.method, p.path, p.auth, p.contentType)
			}
		}
		if strings.Contains(res.Output, token) {
			t.Errorf("the token appears in the hook's output:\n%s", res.Output)
		}
		return res, slices.Clone(posts)
	}
	body := func(t *testing.T, p request) (text *string, ids []string) {
		t.Helper()
		var b struct {
			Text  *string `json:"text"`
			Media struct {
				MediaIDs []string `json:"media_ids"`
			} `json:"media"`
		}
		dec := json.NewDecoder(strings.NewReader(string(p.body)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			t.Fatalf("body %s: %v", p.body, err)
		}
		return b.Text, b.Media.MediaIDs
	}

	first := entry("1111")
	first.SHA256 = sha
	job := hook.Job{Folder: folder, Rel: "shoot/IMG_1.jpg", Entry: first, Attempt: 1}
	hs := *hook.Pending()
	now := time.Now()

	t.Run("X unavailable: failed, to be retried", func(t *testing.T) {
		res, p := run(t, spec, job, answer{status: http.StatusServiceUnavailable, body: `{"title":"Service Unavailable"}`})
		if res.Status != hook.Failed || res.ExitCode != 75 || len(p) != 1 || !strings.Contains(res.Summary(), "HTTP 503 from POST /2/tweets") {
			t.Fatalf("run = %+v, %d POSTs", res, len(p))
		}
		hs = hook.Policy{}.Next(hs, res, now, 0.5)
		if hs.State != manifest.HookPending || hs.Attempts != 1 || !strings.HasPrefix(hs.LastError, "exit status 75: ") {
			t.Errorf("hook state %+v, want pending again", hs)
		}
		if _, err := os.Stat(filepath.Join(state, sha)); err == nil {
			t.Error("a failed post was noted as posted")
		}
	})
	t.Run("retried: posted with the sidecar text", func(t *testing.T) {
		job.Attempt = 2
		res, p := run(t, spec, job)
		if res.Status != hook.Done || len(p) != 1 || !strings.Contains(res.Output, "1999000000000000001") {
			t.Fatalf("run = %+v, %d POSTs", res, len(p))
		}
		text, ids := body(t, p[0])
		if text == nil || *text != sidecarText || !slices.Equal(ids, []string{"1111"}) {
			t.Errorf("posted text %q, media %q", deref(text), ids)
		}
		if b, _ := os.ReadFile(filepath.Join(state, sha)); string(b) != "1999000000000000001\n" {
			t.Errorf("note %q", b)
		}
		if hs = (hook.Policy{}).Next(hs, res, now, 0.5); hs.State != manifest.HookDone || hs.Attempts != 2 {
			t.Errorf("hook state %+v", hs)
		}
	})
	t.Run("run again for the same upload: not posted twice", func(t *testing.T) {
		res, p := run(t, spec, job)
		if res.Status != hook.Done || len(p) != 0 || !strings.Contains(res.Output, "posted before (post 1999000000000000001)") {
			t.Errorf("run = %+v, %d POSTs", res, len(p))
		}
	})
	t.Run("uploaded again, same content (renewed id): not posted twice", func(t *testing.T) {
		again := job
		again.Entry = entry("1112")
		again.Entry.SHA256 = sha
		res, p := run(t, spec, again)
		if res.Status != hook.Done || len(p) != 0 || !strings.Contains(res.Output, "posted before") {
			t.Errorf("run = %+v, %d POSTs", res, len(p))
		}
	})
	t.Run("without a sha256, keyed by the media id", func(t *testing.T) {
		j := hook.Job{Folder: folder, Rel: "b.jpg", Entry: entry("1113")}
		if res, p := run(t, spec, j); res.Status != hook.Done || len(p) != 1 {
			t.Fatalf("run = %+v, %d POSTs", res, len(p))
		}
		if res, p := run(t, spec, j); res.Status != hook.Done || len(p) != 0 {
			t.Errorf("second run = %+v, %d POSTs", res, len(p))
		}
		if _, err := os.Stat(filepath.Join(state, "media-1113")); err != nil {
			t.Error(err)
		}
	})
	t.Run("no sidecar: the -t text", func(t *testing.T) {
		res, p := run(t, spec, hook.Job{Folder: folder, Rel: "b.jpg", Entry: entry("2222")})
		if res.Status != hook.Done || len(p) != 1 {
			t.Fatalf("run = %+v, %d POSTs", res, len(p))
		}
		if text, ids := body(t, p[0]); deref(text) != "New from the studio" || !slices.Equal(ids, []string{"2222"}) {
			t.Errorf("posted text %q, media %q", deref(text), ids)
		}
	})
	t.Run("moved away: the sidecar left in the folder", func(t *testing.T) {
		e := entry("2323")
		e.MovedTo = filepath.Join(dir, "elsewhere", "moved.jpg")
		res, p := run(t, spec, hook.Job{Folder: folder, Rel: "moved.jpg", Entry: e})
		if res.Status != hook.Done || len(p) != 1 {
			t.Fatalf("run = %+v, %d POSTs", res, len(p))
		}
		if text, _ := body(t, p[0]); deref(text) != "moved away" {
			t.Errorf("posted text %q", deref(text))
		}
	})
	t.Run("no text at all: media only", func(t *testing.T) {
		res, p := run(t, hook.Spec{Command: []string{script, "-s", state}, Env: env}, hook.Job{Folder: folder, Rel: "b.jpg", Entry: entry("2424")})
		if res.Status != hook.Done || len(p) != 1 {
			t.Fatalf("run = %+v, %d POSTs", res, len(p))
		}
		if text, ids := body(t, p[0]); text != nil || !slices.Equal(ids, []string{"2424"}) {
			t.Errorf("posted text %q, media %q", deref(text), ids)
		}
	})
	t.Run("expired media id: nothing posted", func(t *testing.T) {
		e := entry("3333")
		e.ExpiresAt = time.Now().Add(-time.Minute)
		res, p := run(t, spec, hook.Job{Folder: folder, Rel: "b.jpg", Entry: e})
		if res.ExitCode != 4 || len(p) != 0 || !strings.Contains(res.Output, "expired") {
			t.Errorf("run = %+v, %d POSTs", res, len(p))
		}
	})
	t.Run("X refuses", func(t *testing.T) {
		res, p := run(t, spec, hook.Job{Folder: folder, Rel: "b.jpg", Entry: entry("4444")},
			answer{status: http.StatusForbidden, body: `{"detail":"You are not allowed to create a Tweet with duplicate content.","status":403}`})
		if res.ExitCode != 1 || len(p) != 1 || !strings.Contains(res.Summary(), "HTTP 403") {
			t.Errorf("run = %+v, %d POSTs", res, len(p))
		}
	})
	t.Run("rate limited: to be retried", func(t *testing.T) {
		res, _ := run(t, spec, hook.Job{Folder: folder, Rel: "b.jpg", Entry: entry("5555")}, answer{status: http.StatusTooManyRequests})
		if res.ExitCode != 75 {
			t.Errorf("run = %+v", res)
		}
	})
	t.Run("token not passed on", func(t *testing.T) {
		res, p := run(t, hook.Spec{Command: spec.Command, Env: []string{"X_API_BASE"}}, hook.Job{Folder: folder, Rel: "b.jpg", Entry: entry("6666")})
		if res.ExitCode != 2 || len(p) != 0 || !strings.Contains(res.Output, "list it in the folder's on_upload env") {
			t.Errorf("run = %+v", res)
		}
	})
	t.Run("dry run", func(t *testing.T) {
		res, p := run(t, hook.Spec{Command: []string{script, "-n"}, Env: env}, hook.Job{Folder: folder, Rel: "shoot/IMG_1.jpg", Entry: entry("7777")})
		want := `{"text":"Harbour at dawn \"golden\" \\ 🌅\nsecond line","media":{"media_ids":["7777"]}}`
		if res.Status != hook.Done || len(p) != 0 || res.Output != want {
			t.Errorf("run = %+v\nwant output %s", res, want)
		}
	})
	t.Run("not run by mediasync", func(t *testing.T) {
		out, err := exec.CommandContext(t.Context(), "bash", script).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 || !strings.Contains(string(out), "run me as a folder's on_upload command") {
			t.Errorf("exit %v: %s", err, out)
		}
	})

	// The token never appeared in an argument list: curl got it on stdin.
	argv, _ := os.ReadFile(filepath.Join(stub, "argv"))
	if len(argv) == 0 || strings.Contains(string(argv), token) {
		t.Errorf("curl's arguments (%d bytes) hold the token or were not recorded:\n%s", len(argv), argv)
	}
}

func deref(s *string) string {
	if s == nil {
		return "<none>"
	}
	return *s
}
