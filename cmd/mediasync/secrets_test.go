package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// secretMarker starts every secret the secrets test uses, so that any fragment of one that keeps
// its start is found too.
const secretMarker = "S3CRET"

// testSecrets returns credentials whose secret parts are distinctive: the marker, the role, and a
// random tail (searched for on its own, so a secret with its start cut off is found as well). The
// consumer key and access token are public and carry no marker.
func testSecrets(t testing.TB, role string) emulator.Credentials {
	t.Helper()
	tag := func() string {
		b := make([]byte, 8)
		rand.Read(b)
		return hex.EncodeToString(b)
	}
	return emulator.Credentials{
		ConsumerKey:       "ck-public-" + role + "-" + tag(),
		ConsumerSecret:    secretMarker + "-consumer-" + role + "-" + tag(),
		AccessToken:       "4242-public-" + role + "-" + tag(),
		AccessTokenSecret: secretMarker + "-tokensecret-" + role + "-" + tag(),
		BearerToken:       secretMarker + "-bearer-" + role + "-" + tag(),
	}
}

// secretValues are the strings that must never appear: every secret whole, its random tail alone,
// and the marker.
func secretValues(cs ...emulator.Credentials) []string {
	out := []string{secretMarker}
	for _, c := range cs {
		for _, s := range []string{c.ConsumerSecret, c.AccessTokenSecret, c.BearerToken} {
			out = append(out, s, s[strings.LastIndexByte(s, '-')+1:])
		}
	}
	return out
}

// leaks returns the needles that occur in text, as they are, percent-encoded or JSON-escaped
// (the forms a careless log line, URL or error would carry them in).
func leaks(text string, needles []string) []string {
	var found []string
	for _, n := range needles {
		if n == "" {
			continue
		}
		forms := []string{n, url.QueryEscape(n), url.PathEscape(n), strings.ReplaceAll(n, "/", `\/`)}
		for _, f := range forms {
			if strings.Contains(text, f) {
				found = append(found, n)
				break
			}
		}
	}
	return found
}

func TestLeaks(t *testing.T) {
	needles := []string{"S3CRET-consumer-x-0badc0de", "0badc0de", "ab+cd/ef=="}
	tests := []struct {
		name, text string
		want       []string
	}{
		{"clean", `{"level":"info","message":"uploaded","media_id":"123"}`, nil},
		{"raw secret", "error: key S3CRET-consumer-x-0badc0de rejected", needles[:2]},
		{"tail only", "secret ...0badc0de", needles[1:2]},
		{"percent-encoded signature", "oauth_signature=ab%2Bcd%2Fef%3D%3D", needles[2:]},
		{"json-escaped slash", `{"sig":"ab+cd\/ef=="}`, needles[2:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := leaks(tc.text, needles); !slices.Equal(got, tc.want) {
				t.Errorf("leaks(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

// sigRecorder is an emulator front that remembers every oauth_signature it was sent, raw and
// decoded, so the test can look for them in the output.
type sigRecorder struct {
	h    http.Handler
	mu   sync.Mutex
	sigs map[string]bool
}

func (r *sigRecorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if a, ok := strings.CutPrefix(req.Header.Get("Authorization"), "OAuth "); ok {
		for part := range strings.SplitSeq(a, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok || k != "oauth_signature" {
				continue
			}
			v = strings.Trim(v, `"`)
			r.mu.Lock()
			r.sigs[v] = true
			if d, err := url.PathUnescape(v); err == nil {
				r.sigs[d] = true
			}
			r.mu.Unlock()
		}
	}
	r.h.ServeHTTP(w, req)
}

func (r *sigRecorder) signatures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.sigs))
	for s := range r.sigs {
		out = append(out, s)
	}
	return out
}

// newSecretsEmulator starts an emulator that accepts right, behind a signature recorder.
func newSecretsEmulator(t *testing.T, right emulator.Credentials) (string, *sigRecorder) {
	t.Helper()
	es, err := emulator.New(emulator.Options{Credentials: right, InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := &sigRecorder{h: es, sigs: map[string]bool{}}
	hs := httptest.NewServer(rec)
	t.Cleanup(func() {
		hs.Close()
		es.Close()
	})
	return hs.URL, rec
}

// TestNoSecretsInOutput runs every command that touches credentials as a subprocess, at debug level,
// with JSON and console logs, with wrong and with right credentials (OAuth 1.0a and the OAuth 2.0
// bearer token), and checks that no consumer secret, token secret, bearer token or oauth_signature
// the client sent appears in stdout, stderr, the log, the manifest, or any file the agent wrote.
func TestNoSecretsInOutput(t *testing.T) {
	exe := mediasyncExe(t)
	tests := []struct {
		name, format, auth string
	}{
		{"json_oauth1", "json", "oauth1"},
		{"console_oauth1", "console", "oauth1"},
		{"json_oauth2", "json", "oauth2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			right, wrong := testSecrets(t, "right"), testSecrets(t, "wrong")
			wrong.ConsumerKey, wrong.AccessToken = right.ConsumerKey, right.AccessToken // only the secrets are wrong
			baseURL, rec := newSecretsEmulator(t, right)
			base := t.TempDir()
			out := &outputs{}
			for _, cr := range []struct {
				name  string
				creds emulator.Credentials
				ok    bool
			}{{"wrong", wrong, false}, {"right", right, true}} {
				dir := filepath.Join(base, cr.name)
				folder := filepath.Join(dir, "inbox")
				if err := os.MkdirAll(folder, 0o755); err != nil {
					t.Fatal(err)
				}
				creds := cr.creds
				if tc.auth == "oauth1" {
					creds.BearerToken = "" // it would only draw a warning
				}
				cfg := writeAgentConfig(t, filepath.Join(dir, "mediasync.yaml"), agentConfig{
					BaseURL: baseURL, Creds: creds, Folder: folder, Auth: tc.auth, LogLevel: "debug", LogFormat: tc.format,
				})
				secretCLI(t, exe, cfg, folder, cr.ok, out.add(cr.name))
			}
			secretEmulate(t, exe, right, out.add("emulate"))
			secretConfigs(t, exe, filepath.Join(base, "other"), baseURL, tc.auth, right, out.add("config"))

			needles := append(secretValues(right, wrong), rec.signatures()...)
			if tc.auth == "oauth1" && len(rec.signatures()) == 0 {
				t.Error("the emulator saw no oauth_signature: the signature check would be empty")
			}
			needles = append(needles, "oauth_signature", "Authorization")
			for name, text := range out.texts {
				if found := leaks(text, needles); len(found) > 0 {
					t.Errorf("%s leaks %q:\n%s", name, found, text)
				}
			}
			// Every file the runs left behind (logs, manifests, lock files), except the
			// configurations, which hold the secrets on purpose and prove the check finds them.
			configs := 0
			err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				found := leaks(string(b), needles)
				if filepath.Base(p) == "mediasync.yaml" {
					configs++
					if !slices.Contains(found, secretMarker) {
						t.Errorf("%s holds the secrets, yet the check found none of them: %q", p, found)
					}
					return nil
				}
				if len(found) > 0 {
					t.Errorf("%s leaks %q", p, found)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if configs != 3 {
				t.Errorf("checked %d configurations holding secrets, want 3", configs)
			}
		})
	}
}

// outputs collects what the commands printed, by name.
type outputs struct{ texts map[string]string }

func (o *outputs) add(prefix string) func(name, text string) {
	if o.texts == nil {
		o.texts = map[string]string{}
	}
	return func(name, text string) { o.texts[prefix+" "+name] = text }
}

// secretCLI runs check, check --online, upload, run, status and get with the configuration cfg,
// and hands every output to add. ok says whether the credentials are right: then each command must
// succeed; else the commands that call the API must fail with a credentials error and the agent
// must pause its uploads.
func secretCLI(t *testing.T, exe, cfg, folder string, ok bool, add func(name, text string)) {
	t.Helper()
	env := agentEnv()
	const timeout = time.Minute
	run := func(name string, wantCode int, args ...string) (string, string) {
		t.Helper()
		code, stdout, stderr := runCLI(t, exe, env, timeout, append(args, "--config", cfg)...)
		add(name+" stdout", stdout)
		add(name+" stderr", stderr)
		if code != wantCode {
			t.Errorf("mediasync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, stdout, stderr)
		}
		return stdout, stderr
	}

	run("check", 0, "check")
	if ok {
		if stdout, _ := run("check online", 0, "check", "--online"); !strings.Contains(stdout, "ok, authenticated") {
			t.Errorf("check --online with right credentials: %q, want it to say ok", stdout)
		}
	} else if stdout, _ := run("check online", 1, "check", "--online"); !strings.Contains(stdout, "credentials refused") {
		t.Errorf("check --online with wrong credentials: %q, want it to say the credentials are refused", stdout)
	}

	// upload: one file now.
	img := filepath.Join(folder, "direct.jpg")
	if err := os.WriteFile(img, mediagen.JPEG(320, 240, 7), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok {
		if stdout, _ := run("upload", 0, "upload", "--json", img); !strings.Contains(stdout, `"state":"uploaded"`) {
			t.Errorf("upload: %q, want an uploaded line", stdout)
		}
	} else if _, stderr := run("upload", 1, "upload", img); !strings.Contains(stderr, "credentials") {
		t.Errorf("upload with wrong credentials: stderr %q, want a credentials error", stderr)
	}

	// run: the agent at debug level until the file is uploaded, or until it pauses for the
	// credentials; then SIGTERM.
	drop := filepath.Join(folder, "dropped.png")
	if err := os.WriteFile(drop, mediagen.PNG(64, 48, 9), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(filepath.Dir(cfg), "run.log")
	p := startProc(t, exe, logPath, env, "run", "--config", cfg)
	deadline := time.Now().Add(timeout) // a failure guard only
	for done := false; !done; {
		if ok {
			m, err := manifest.Read(manifest.DefaultPath(folder))
			done = err == nil && m.Files["dropped.png"].State == manifest.Uploaded
		} else {
			b, _ := os.ReadFile(logPath)
			done = strings.Contains(string(b), "X refuses the account; all uploads paused")
		}
		if !done && (p.exited() || time.Now().After(deadline)) {
			t.Fatalf("run (credentials ok: %v): neither uploaded nor paused; log:\n%s", ok, tail(logPath, 30))
		}
		if !done {
			time.Sleep(100 * time.Millisecond) // polling interval
		}
	}
	if code := p.stop(t, syscall.SIGTERM, timeout); code != 0 {
		t.Errorf("run: SIGTERM gave exit %d, want 0", code)
	}
	b, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	add("run log", string(b))
	if !ok {
		if n := strings.Count(string(b), "all uploads paused"); n != 1 {
			t.Errorf("run with wrong credentials logged the pause %d times, want once", n)
		}
		m, err := manifest.Read(manifest.DefaultPath(folder))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if err == nil && m.Files["dropped.png"].State == manifest.Failed {
			t.Errorf("a credentials failure marked the file failed: %+v", m.Files["dropped.png"])
		}
	}

	run("status", 0, "status")
	run("status json", 0, "status", "--json")
	if ok {
		run("get", 0, "get", drop)
		run("get json", 0, "get", "--field", "json", drop)
	} else {
		run("get", exitNotFound, "get", drop)
	}
}

// secretEmulate starts `mediasync emulate` with custom credentials, from flags and from the
// environment, and hands its output to add once it listens.
func secretEmulate(t *testing.T, exe string, creds emulator.Credentials, add func(name, text string)) {
	t.Helper()
	flagArgs := []string{"emulate", "--listen", "127.0.0.1:0", "--log-level", "debug",
		"--consumer-key", creds.ConsumerKey, "--consumer-secret", creds.ConsumerSecret,
		"--access-token", creds.AccessToken, "--access-token-secret", creds.AccessTokenSecret,
		"--bearer-token", creds.BearerToken}
	envVars := agentEnv(
		"MEDIASYNC_EMULATOR_CONSUMER_KEY="+creds.ConsumerKey,
		"MEDIASYNC_EMULATOR_CONSUMER_SECRET="+creds.ConsumerSecret,
		"MEDIASYNC_EMULATOR_ACCESS_TOKEN="+creds.AccessToken,
		"MEDIASYNC_EMULATOR_ACCESS_TOKEN_SECRET="+creds.AccessTokenSecret,
		"MEDIASYNC_EMULATOR_BEARER_TOKEN="+creds.BearerToken,
	)
	for _, v := range []struct {
		name string
		env  []string
		args []string
	}{
		{"flags", agentEnv(), flagArgs},
		{"env", envVars, []string{"emulate", "--listen", "127.0.0.1:0", "--log-level", "debug"}},
	} {
		logPath := filepath.Join(t.TempDir(), "emulate.log")
		p := startProc(t, exe, logPath, v.env, v.args...)
		deadline := time.Now().Add(time.Minute) // a failure guard only
		for {
			b, _ := os.ReadFile(logPath)
			if strings.Contains(string(b), "listening on") {
				break
			}
			if p.exited() || time.Now().After(deadline) {
				t.Fatalf("emulate (%s) did not start; output:\n%s", v.name, b)
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
		if code := p.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
			t.Errorf("emulate (%s): SIGTERM gave exit %d, want 0", v.name, code)
		}
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "demo credentials") {
			t.Errorf("emulate (%s) with custom credentials printed the demo ones:\n%s", v.name, b)
		}
		add(fmt.Sprintf("output (%s)", v.name), string(b))
	}
}

// secretConfigs runs the commands on a configuration with mistakes next to the secrets (a misspelled
// key holding one, a bad value, a wrong type), which must be refused without echoing them, and on
// one whose credentials come from MEDIASYNC_* variables instead of the file.
func secretConfigs(t *testing.T, exe, dir, baseURL, auth string, right emulator.Credentials, add func(name, text string)) {
	t.Helper()
	folder := filepath.Join(dir, "inbox")
	if err := os.MkdirAll(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad", "mediasync.yaml")
	if err := os.MkdirAll(filepath.Dir(bad), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`api:
  version: v3
  base_url: %q
credentials:
  consumer_key: %q
  consumer_secrett: %q
  access_token: [%q]
  access_token_secret: %q
  bearer_token: {token: %q}
folders:
  - path: %q
`, baseURL, right.ConsumerKey, right.ConsumerSecret, right.AccessToken, right.AccessTokenSecret, right.BearerToken, folder)
	if err := os.WriteFile(bad, []byte(body), 0o644); err != nil { // group-readable too: the warning must not quote it
		t.Fatal(err)
	}
	env := agentEnv()
	for _, args := range [][]string{{"check"}, {"check", "--online"}, {"run", "--once"}, {"status"}} {
		code, stdout, stderr := runCLI(t, exe, env, time.Minute, append(args, "--config", bad)...)
		name := "bad " + strings.Join(args, " ")
		add(name+" stdout", stdout)
		add(name+" stderr", stderr)
		if code != exitUsage {
			t.Errorf("mediasync %s on a bad config: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, exitUsage, stdout, stderr)
		}
		if !strings.Contains(stdout+stderr, "consumer_secrett") {
			t.Errorf("mediasync %s on a bad config does not name the misspelled key:\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stdout, stderr)
		}
	}

	// Named apart from the others: it holds no secret, and the leak check covers it like any output.
	cfg := writeAgentConfig(t, filepath.Join(dir, "env.yaml"), agentConfig{
		BaseURL: baseURL, Folder: folder, Auth: auth, LogLevel: "debug", LogFormat: "json",
	})
	env = agentEnv(
		"MEDIASYNC_CONSUMER_KEY="+right.ConsumerKey,
		"MEDIASYNC_CONSUMER_SECRET="+right.ConsumerSecret,
		"MEDIASYNC_ACCESS_TOKEN="+right.AccessToken,
		"MEDIASYNC_ACCESS_TOKEN_SECRET="+right.AccessTokenSecret,
		"MEDIASYNC_BEARER_TOKEN="+right.BearerToken,
	)
	img := filepath.Join(folder, "from-env.jpg")
	if err := os.WriteFile(img, mediagen.JPEG(160, 120, 11), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", "--online"}, {"upload", img}, {"run", "--once"}, {"get", "--field", "json", img}} {
		code, stdout, stderr := runCLI(t, exe, env, time.Minute, append(args, "--config", cfg)...)
		name := "env " + strings.Join(args, " ")
		add(name+" stdout", stdout)
		add(name+" stderr", stderr)
		if code != 0 {
			t.Errorf("mediasync %s with credentials from the environment: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}
