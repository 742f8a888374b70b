package examples

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const script = "post-with-media.sh"

// token is the bearer token the tests hand the script; it must never show up in an argument list
// or in the script's output.
const token = "test-bearer-token-7f3a9c"

// stub is the stand-in for the mediasync binary. Per file (by base name) it answers `get` from
// $STUB_STATE/NAME.get, one line per call ("STATUS TEXT"; the last line repeats), answers `upload`
// with the status in $STUB_STATE/NAME.upload (0 if absent), and appends every call to
// $STUB_STATE/calls as "COMMAND NAME". Its whole argument list goes to $STUB_STATE/argv.
const stub = `#!/usr/bin/env bash
set -eu
state=${STUB_STATE:?}
printf '%s\n' "$*" >>"$state/argv"
cmd=$1
shift
while (($#)); do
	case $1 in
	--config) shift 2 ;;
	--) shift; break ;;
	-*) shift ;;
	*) break ;;
	esac
done
name=${1##*/}
printf '%s %s\n' "$cmd" "$name" >>"$state/calls"
case $cmd in
get)
	n=$(cat "$state/$name.n" 2>/dev/null || echo 0)
	n=$((n + 1))
	echo "$n" >"$state/$name.n"
	total=$(wc -l <"$state/$name.get")
	((n <= total)) || n=$total
	line=$(sed -n "${n}p" "$state/$name.get")
	status=${line%% *}
	text=${line#* }
	if ((status == 0)); then echo "$text"; else echo "mediasync: $name: $text" >&2; fi
	exit "$status"
	;;
upload)
	status=$(cat "$state/$name.upload" 2>/dev/null || echo 0)
	printf '%s\tuploaded\n' "$1"
	exit "$status"
	;;
esac
exit 2
`

// curlSpy stands in front of the real curl and records its arguments.
const curlSpy = `#!/usr/bin/env bash
printf '%s\n' "$*" >>"${STUB_STATE:?}/argv"
exec "${REAL_CURL:?}" "$@"
`

// media is one FILE argument and how the stub answers for it.
type media struct {
	name   string
	gets   []string // "STATUS TEXT" per get call; the last repeats
	upload int      // exit status of `mediasync upload`
}

// answer is one response of the fake POST /2/tweets.
type answer struct {
	status int
	header map[string]string
	body   string
}

// request is what the fake /2/tweets received.
type request struct {
	method, path, auth, contentType string
	body                            []byte
}

type tweetBody struct {
	Text  string `json:"text"`
	Media struct {
		MediaIDs []string `json:"media_ids"`
	} `json:"media"`
}

type result struct {
	code           int
	stdout, stderr string
	calls          []string
	argv           string
	posts          []request
}

// run runs `post-with-media.sh OPTS -- FILE... TEXT` with the files created in a temp dir, against
// the stub and a fake X answering answers in turn (the last repeats).
func run(t *testing.T, opts []string, files []media, text string, answers []answer, env ...string) result {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "sed", "wc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	realCurl, _ := exec.LookPath("curl")
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	state := filepath.Join(dir, "state")
	media := filepath.Join(dir, "media")
	for _, d := range []string{bin, state, media} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, data string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(bin, "mediasync"), stub, 0o755)
	write(filepath.Join(bin, "curl"), curlSpy, 0o755)
	var argv []string
	for _, m := range files {
		p := filepath.Join(media, m.name)
		write(p, "not really "+m.name, 0o644)
		if len(m.gets) > 0 {
			write(filepath.Join(state, m.name+".get"), strings.Join(m.gets, "\n")+"\n", 0o644)
		}
		write(filepath.Join(state, m.name+".upload"), strconv.Itoa(m.upload), 0o644)
		argv = append(argv, p)
	}

	var (
		mu    sync.Mutex
		posts []request
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts = append(posts, request{r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), b})
		a := answers[min(len(posts), len(answers))-1]
		mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)

	args := slices.Concat([]string{script}, opts, []string{"--"}, argv, []string{text})
	cmd := exec.CommandContext(t.Context(), "bash", args...)
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"STUB_STATE="+state,
		"REAL_CURL="+realCurl,
		"X_API_BASE="+srv.URL,
		"X_BEARER_TOKEN="+token,
		"TMPDIR="+dir,
	)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("run %s: %v", script, err)
	}
	if b, err := os.ReadFile(filepath.Join(state, "calls")); err == nil {
		res.calls = strings.Split(strings.TrimSpace(string(b)), "\n")
	}
	if b, err := os.ReadFile(filepath.Join(state, "argv")); err == nil {
		res.argv = string(b)
	}
	mu.Lock()
	res.posts = slices.Clone(posts)
	mu.Unlock()
	// The script's temporary directory is gone.
	if left, _ := filepath.Glob(filepath.Join(dir, "post-with-media.*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	return res
}

var created = answer{status: http.StatusCreated, body: `{"data":{"id":"1999000000000000001","text":"hi"}}`}

func TestPostWithMedia(t *testing.T) {
	// The text has what JSON must escape: quotes, a backslash, a newline, a tab, a control byte,
	// plus UTF-8 that must pass through untouched.
	const text = "Harbour at dawn \"golden\" \\ 🌅 café\nline two\tend\x01"
	tests := []struct {
		name      string
		files     []media
		args      []string
		env       []string
		answers   []answer
		wantCode  int
		wantOut   string   // exact stdout
		wantIDs   []string // media_ids of the single POST; nil = no POST expected
		wantCalls []string // the stub's calls, in order
		wantErr   string   // substring of stderr
	}{
		{
			name:      "every media id valid",
			files:     []media{{name: "a.jpg", gets: []string{"0 1111"}}, {name: "b.png", gets: []string{"0 2222"}}},
			answers:   []answer{created},
			wantOut:   "1999000000000000001\n",
			wantIDs:   []string{"1111", "2222"},
			wantCalls: []string{"get a.jpg", "get b.png"},
		},
		{
			name:      "expired: uploaded again, then the new id",
			files:     []media{{name: "a.jpg", gets: []string{"4 media id 1111 expired", "0 3333"}}, {name: "b.png", gets: []string{"0 2222"}}},
			answers:   []answer{created},
			wantOut:   "1999000000000000001\n",
			wantIDs:   []string{"3333", "2222"},
			wantCalls: []string{"get a.jpg", "upload a.jpg", "get a.jpg", "get b.png"},
			wantErr:   "media id expired; uploading it again",
		},
		{
			name:      "not uploaded yet: waits for the agent",
			files:     []media{{name: "v.mp4", gets: []string{"3 not uploaded (state uploading)", "3 not uploaded (state processing)", "0 4444"}}},
			args:      []string{"-w", "600", "-i", "0"},
			answers:   []answer{created},
			wantOut:   "1999000000000000001\n",
			wantIDs:   []string{"4444"},
			wantCalls: []string{"get v.mp4", "get v.mp4", "get v.mp4"},
			wantErr:   "not uploaded yet",
		},
		{
			name:      "not uploaded and no waiting: uploads it",
			files:     []media{{name: "a.jpg", gets: []string{"3 not uploaded (no entry)", "0 5555"}}},
			args:      []string{"-w", "0"},
			answers:   []answer{created},
			wantOut:   "1999000000000000001\n",
			wantIDs:   []string{"5555"},
			wantCalls: []string{"get a.jpg", "upload a.jpg", "get a.jpg"},
		},
		{
			name:      "upload fails: no post",
			files:     []media{{name: "a.jpg", gets: []string{"4 expired"}, upload: 1}, {name: "b.png", gets: []string{"0 2222"}}},
			answers:   []answer{created},
			wantCode:  3,
			wantCalls: []string{"get a.jpg", "upload a.jpg"},
			wantErr:   "a.jpg: mediasync upload failed",
		},
		{
			name:      "uploaded but still not recorded: outside every folder",
			files:     []media{{name: "a.jpg", gets: []string{"3 not uploaded (no manifest yet)"}}},
			args:      []string{"-w", "0"},
			answers:   []answer{created},
			wantCode:  3,
			wantCalls: []string{"get a.jpg", "upload a.jpg", "get a.jpg"},
			wantErr:   "inside a folder of the mediasync configuration",
		},
		{
			name:      "still expired after the upload",
			files:     []media{{name: "a.jpg", gets: []string{"4 expired"}}},
			answers:   []answer{created},
			wantCode:  3,
			wantCalls: []string{"get a.jpg", "upload a.jpg", "get a.jpg"},
			wantErr:   "still expired",
		},
		{
			name:      "get fails otherwise",
			files:     []media{{name: "a.jpg", gets: []string{"2 bad config"}}},
			answers:   []answer{created},
			wantCode:  3,
			wantCalls: []string{"get a.jpg"},
			wantErr:   "mediasync get failed (exit 2)",
		},
		{
			name:      "get prints something that is not an id",
			files:     []media{{name: "a.jpg", gets: []string{`0 1","x":"`}}},
			answers:   []answer{created},
			wantCode:  3,
			wantCalls: []string{"get a.jpg"},
			wantErr:   "not a media id",
		},
		{
			name:      "X refuses the post",
			files:     []media{{name: "a.jpg", gets: []string{"0 1111"}}},
			answers:   []answer{{status: http.StatusForbidden, body: `{"title":"Forbidden","detail":"You are not permitted to perform this action.","status":403}`}},
			wantCode:  1,
			wantIDs:   []string{"1111"},
			wantCalls: []string{"get a.jpg"},
			wantErr:   "HTTP 403: {\"title\":\"Forbidden\"",
		},
		{
			name:  "rate limited once, then posted",
			files: []media{{name: "a.jpg", gets: []string{"0 1111"}}},
			// The reset is in the past: the script waits its minimum of one second.
			answers:   []answer{{status: http.StatusTooManyRequests, header: map[string]string{"x-rate-limit-reset": "1000"}, body: `{"title":"Too Many Requests"}`}, created},
			wantOut:   "1999000000000000001\n",
			wantIDs:   []string{"1111"},
			wantCalls: []string{"get a.jpg"},
			wantErr:   "rate limited; retrying in 1s",
		},
		{
			name:      "rate limited for too long",
			files:     []media{{name: "a.jpg", gets: []string{"0 1111"}}},
			answers:   []answer{{status: http.StatusTooManyRequests, header: map[string]string{"x-rate-limit-reset": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10)}}},
			wantCode:  1,
			wantIDs:   []string{"1111"},
			wantCalls: []string{"get a.jpg"},
			wantErr:   "try again later",
		},
		{
			name:      "dry run prints the body",
			files:     []media{{name: "a.jpg", gets: []string{"0 1111"}}},
			args:      []string{"-n"},
			env:       []string{"X_BEARER_TOKEN="},
			wantOut:   `{"text":"Harbour at dawn \"golden\" \\ 🌅 café\nline two\tend\u0001","media":{"media_ids":["1111"]}}` + "\n",
			wantCalls: []string{"get a.jpg"},
		},
		{
			name:     "no token",
			files:    []media{{name: "a.jpg", gets: []string{"0 1111"}}},
			env:      []string{"X_BEARER_TOKEN="},
			wantCode: 2,
			wantErr:  "X_BEARER_TOKEN is not set",
		},
		{
			name:     "five files",
			files:    []media{{name: "1.jpg"}, {name: "2.jpg"}, {name: "3.jpg"}, {name: "4.jpg"}, {name: "5.jpg"}},
			wantCode: 2,
			wantErr:  "at most 4 media",
		},
		{
			name:     "bad option value",
			files:    []media{{name: "a.jpg", gets: []string{"0 1111"}}},
			args:     []string{"-w", "soon"},
			wantCode: 2,
			wantErr:  "-w wants seconds",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.args, tt.files, text, tt.answers, tt.env...)
			if res.code != tt.wantCode {
				t.Errorf("exit status %d, want %d\nstderr:\n%s", res.code, tt.wantCode, res.stderr)
			}
			if res.stdout != tt.wantOut {
				t.Errorf("stdout %q, want %q", res.stdout, tt.wantOut)
			}
			if !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("stderr does not say %q:\n%s", tt.wantErr, res.stderr)
			}
			if !slices.Equal(res.calls, tt.wantCalls) {
				t.Errorf("mediasync calls %q, want %q", res.calls, tt.wantCalls)
			}
			for _, out := range []string{res.argv, res.stdout, res.stderr} {
				if strings.Contains(out, token) {
					t.Errorf("the bearer token appears in arguments or output:\n%s", out)
				}
			}
			if tt.wantIDs == nil {
				if len(res.posts) != 0 {
					t.Errorf("%d POSTs, want none", len(res.posts))
				}
				return
			}
			if len(res.posts) == 0 {
				t.Fatal("no POST /2/tweets")
			}
			for i, p := range res.posts {
				if p.method != http.MethodPost || p.path != "/2/tweets" {
					t.Errorf("request %d: %s %s, want POST /2/tweets", i, p.method, p.path)
				}
				if p.auth != "Bearer "+token {
					t.Errorf("request %d: Authorization %q, want the bearer token", i, p.auth)
				}
				if p.contentType != "application/json" {
					t.Errorf("request %d: Content-Type %q, want application/json", i, p.contentType)
				}
				var got tweetBody
				dec := json.NewDecoder(bytes.NewReader(p.body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&got); err != nil {
					t.Fatalf("request %d: body %s: %v", i, p.body, err)
				}
				if got.Text != text {
					t.Errorf("request %d: text %q, want %q", i, got.Text, text)
				}
				if !slices.Equal(got.Media.MediaIDs, tt.wantIDs) {
					t.Errorf("request %d: media_ids %q, want %q", i, got.Media.MediaIDs, tt.wantIDs)
				}
			}
		})
	}
}

func TestShellcheck(t *testing.T) {
	sc, err := exec.LookPath("shellcheck")
	if err != nil {
		if os.Getenv("MEDIASYNC_REQUIRE_SHELLCHECK") == "1" {
			t.Fatal("shellcheck not found and MEDIASYNC_REQUIRE_SHELLCHECK=1")
		}
		t.Skip("shellcheck not installed")
	}
	for _, script := range []string{script, hookScript} {
		out, err := exec.CommandContext(t.Context(), sc, "--shell=bash", "--severity=style", script).CombinedOutput()
		if err != nil {
			t.Errorf("shellcheck %s: %v\n%s", script, err, out)
		}
	}
}

func TestSyntax(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	for _, script := range []string{script, hookScript} {
		out, err := exec.CommandContext(t.Context(), "bash", "-n", script).CombinedOutput()
		if err != nil {
			t.Errorf("bash -n %s: %v\n%s", script, err, out)
		}
		fi, err := os.Stat(script)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("%s is not executable (mode %v)", script, fi.Mode())
		}
	}
}

// TestTextEscaping runs the dry run with texts that stress the script's own JSON encoding and checks
// that the body decodes back to the very same text.
func TestTextEscaping(t *testing.T) {
	var controls strings.Builder
	for c := byte(1); c < 0x20; c++ {
		controls.WriteByte(c)
	}
	tests := []struct{ name, text string }{
		{"plain", "hello"},
		{"every control character", "a" + controls.String() + "z\x7f"},
		{"quotes and backslashes", `\"\\"" \u0041 \n`},
		{"utf-8", "日本語 — ünïcødé 👩‍👩‍👧 ﷽"},
		{"looks like an option", "-n"},
		{"spaces only around", "  padded  "},
		{"percent signs", "100% %s %d %%"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := []media{{name: "-odd name.jpg", gets: []string{"0 1111"}}}
			res := run(t, []string{"-n"}, files, tt.text, nil)
			if res.code != 0 {
				t.Fatalf("exit %d: %s", res.code, res.stderr)
			}
			var got tweetBody
			if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
				t.Fatalf("dry-run body %q is not JSON: %v", res.stdout, err)
			}
			if got.Text != tt.text {
				t.Errorf("text %q, want %q", got.Text, tt.text)
			}
			if !slices.Equal(res.calls, []string{"get -odd name.jpg"}) {
				t.Errorf("calls %q", res.calls)
			}
		})
	}
}

func TestHelpAndUsage(t *testing.T) {
	tests := []struct {
		name     string
		opts     []string
		files    []media
		text     string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{"help", []string{"-h"}, nil, "x", 0, "mediasync get exits 0", ""},
		{"no file", nil, nil, "only text", 2, "", "usage: post-with-media.sh"},
		{"unknown option", []string{"-z"}, nil, "x", 2, "", "unknown option -z"},
		{"empty text", nil, []media{{name: "a.jpg", gets: []string{"0 1"}}}, "", 2, "", "TEXT is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, tt.opts, tt.files, tt.text, nil)
			if res.code != tt.wantCode || !strings.Contains(res.stdout, tt.wantOut) || !strings.Contains(res.stderr, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
					res.code, res.stdout, res.stderr, tt.wantCode, tt.wantOut, tt.wantErr)
			}
			if len(res.calls) != 0 {
				t.Errorf("mediasync was called: %q", res.calls)
			}
		})
	}
}
