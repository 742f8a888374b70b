package hook

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// TestHelperProcess is not a test: the tests run the test binary itself as a hook with
// "-test.run=^TestHelperProcess$ -- ACTION ARGS...", so that what the hook sees (environment,
// stdin) is recorded exactly, without depending on the tools of the machine.
func TestHelperProcess(t *testing.T) {
	i := slices.Index(os.Args, "--")
	if i < 0 || i+1 >= len(os.Args) {
		return
	}
	args := os.Args[i+1:]
	switch args[0] {
	case "record": // record DIR: the environment as JSON, stdin as is, the working directory
		env := map[string]string{}
		for _, kv := range os.Environ() {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		b, _ := json.Marshal(env)
		in, _ := io.ReadAll(os.Stdin)
		wd, _ := os.Getwd()
		_ = os.WriteFile(filepath.Join(args[1], "env.json"), b, 0o644)
		_ = os.WriteFile(filepath.Join(args[1], "stdin"), in, 0o644)
		_ = os.WriteFile(filepath.Join(args[1], "wd"), []byte(wd), 0o644)
	case "lines": // lines N: N numbered lines on stdout, every tenth on stderr
		n, _ := strconv.Atoi(args[1])
		for i := range n {
			w := os.Stdout
			if i%10 == 9 {
				w = os.Stderr
			}
			fmt.Fprintf(w, "line %d\n", i)
		}
	case "bytes": // bytes N: N bytes without a newline
		n, _ := strconv.Atoi(args[1])
		_, _ = os.Stdout.Write([]byte(strings.Repeat("x", n)))
	case "ignore-stdin": // exits at once without reading stdin
	}
	os.Exit(0)
}

func helper(t *testing.T, args ...string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe, "-test.run=^TestHelperProcess$", "--"}, args...)
}

func needSh(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("needs a Unix shell and process groups")
	}
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("sh not installed")
	}
}

var t0 = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

func sampleEntry() manifest.Entry {
	return manifest.Entry{
		State: manifest.Uploaded, MediaIDString: "1912475018862166016", MediaKey: "3_1912475018862166016",
		ExpiresAt: t0.Add(24 * time.Hour), UploadedAt: t0, API: "v2", Size: 182734,
		MediaType: "image/jpeg", MediaCategory: "tweet_image", AltText: "Harbour at dawn,\n\"golden\" — café",
		Hook: Pending(), UpdatedAt: t0,
	}
}

// The command sees exactly the base environment, the names the user listed, and the job's
// variables: none of the agent's credentials, even under MEDIASYNC_* names, and no other variable.
// Its stdin is the manifest entry as JSON; its working directory is the folder.
func TestRunEnvironmentAndStdin(t *testing.T) {
	secrets := map[string]string{
		"MEDIASYNC_CONSUMER_KEY":        "ck-leak-1",
		"MEDIASYNC_CONSUMER_SECRET":     "cs-leak-2",
		"MEDIASYNC_ACCESS_TOKEN":        "at-leak-3",
		"MEDIASYNC_ACCESS_TOKEN_SECRET": "ats-leak-4",
		"MEDIASYNC_BEARER_TOKEN":        "bt-leak-5",
		"AWS_SECRET_ACCESS_KEY":         "aws-leak-6",
		"X_BEARER_TOKEN":                "xb-7",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("LANG", "de_DE.UTF-8")
	t.Setenv("TZ", "Europe/Berlin")
	t.Setenv("PASSED_ON", "yes")
	t.Setenv("NOT_SET_HERE", "")
	os.Unsetenv("NOT_SET_HERE")

	folder, out := t.TempDir(), t.TempDir()
	entry := sampleEntry()
	job := Job{Folder: folder, Rel: "shoot 01/IMG_0001.jpg", Entry: entry, Attempt: 2}

	tests := []struct {
		name  string
		extra []string
		want  []string // variables beyond the base and the job's
	}{
		{"base only", nil, nil},
		{"with the names the user listed", []string{"PASSED_ON", "X_BEARER_TOKEN", "NOT_SET_HERE"}, []string{"PASSED_ON", "X_BEARER_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Run(t.Context(), Spec{Command: helper(t, "record", out), Env: tt.extra}, job)
			if res.Status != Done || res.ExitCode != 0 || res.Reason != "" {
				t.Fatalf("Run = %+v, want done", res)
			}
			var env map[string]string
			b, err := os.ReadFile(filepath.Join(out, "env.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &env); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{
				"MEDIASYNC_FOLDER":       folder,
				"MEDIASYNC_PATH":         filepath.Join(folder, "shoot 01", "IMG_0001.jpg"),
				"MEDIASYNC_REL":          "shoot 01/IMG_0001.jpg",
				"MEDIASYNC_MEDIA_ID":     "1912475018862166016",
				"MEDIASYNC_MEDIA_KEY":    "3_1912475018862166016",
				"MEDIASYNC_EXPIRES_AT":   "2026-11-22T10:00:00Z",
				"MEDIASYNC_ALT_TEXT":     "Harbour at dawn,\n\"golden\" — café",
				"MEDIASYNC_HOOK_ATTEMPT": "2",
			}
			for _, k := range BaseEnv() {
				if v, ok := os.LookupEnv(k); ok {
					want[k] = v
				}
			}
			for _, k := range tt.want {
				want[k] = os.Getenv(k)
			}
			if !maps.Equal(env, want) {
				t.Errorf("hook environment:\n%v\nwant:\n%v", env, want)
			}
			for k, v := range env {
				for sk, sv := range secrets {
					if strings.Contains(v, sv) && !slices.Contains(tt.extra, sk) {
						t.Errorf("the hook sees %s's value in %s", sk, k)
					}
				}
			}
			stdin, _ := os.ReadFile(filepath.Join(out, "stdin"))
			wantIn, _ := json.Marshal(entry)
			if string(stdin) != string(wantIn)+"\n" {
				t.Errorf("stdin = %s\nwant %s", stdin, wantIn)
			}
			var back manifest.Entry
			if err := json.Unmarshal(stdin, &back); err != nil || back.MediaIDString != entry.MediaIDString || back.Hook.State != manifest.HookPending {
				t.Errorf("stdin does not decode to the entry: %+v, %v", back, err)
			}
			if wd, _ := os.ReadFile(filepath.Join(out, "wd")); string(wd) != folder {
				t.Errorf("working directory %q, want the folder %q", wd, folder)
			}
		})
	}
}

func TestJobPath(t *testing.T) {
	e := sampleEntry()
	tests := []struct {
		job  Job
		want string
	}{
		{Job{Folder: "/srv/x", Rel: "a/b.jpg", Entry: e}, filepath.Join("/srv/x", "a", "b.jpg")},
		{Job{Folder: "/srv/x", Rel: "a/b.jpg", Entry: manifest.Entry{MovedTo: "/srv/done/b.jpg"}}, "/srv/done/b.jpg"},
		{Job{Folder: "/srv/x", Rel: "a/b.jpg", Path: "/elsewhere/b.jpg", Entry: e}, "/elsewhere/b.jpg"},
	}
	for _, tt := range tests {
		if got := tt.job.path(); got != tt.want {
			t.Errorf("%+v.path() = %q, want %q", tt.job, got, tt.want)
		}
	}
	vars := Job{Folder: "/f", Rel: "a\x00b.jpg"}.Vars()
	env := environ(nil, vars)
	for _, kv := range env {
		if strings.ContainsRune(kv, 0) {
			t.Errorf("environment entry %q holds a NUL byte", kv)
		}
	}
	if !slices.Contains(env, "MEDIASYNC_EXPIRES_AT=") || !slices.Contains(env, "MEDIASYNC_HOOK_ATTEMPT=1") {
		t.Errorf("a job without expiry or attempt: %q", env)
	}
}

// Output is kept for the log only up to its bounds; the rest is read and counted, so the command
// never blocks on a full pipe.
func TestOutputBounds(t *testing.T) {
	res := Exec(t.Context(), Spec{Command: helper(t, "lines", "10000")}, Input{})
	if res.Status != Done {
		t.Fatalf("Run = %+v", res)
	}
	var total int64
	for i := range 10000 {
		total += int64(len(fmt.Sprintf("line %d\n", i)))
	}
	if res.OutputLines != 10000 || res.OutputBytes != total {
		t.Errorf("counted %d lines, %d bytes; want 10000, %d", res.OutputLines, res.OutputBytes, total)
	}
	lines := strings.Split(res.Output, "\n")
	if len(lines) != DefaultMaxOutputLines+1 || !strings.HasPrefix(lines[0], "line ") ||
		!strings.Contains(lines[len(lines)-1], "10000 lines in all, not shown") {
		t.Errorf("output kept:\n%s", res.Output)
	}

	res = Exec(t.Context(), Spec{Command: helper(t, "bytes", strconv.Itoa(4<<20)), MaxOutputBytes: 1000}, Input{})
	if res.Status != Done || res.OutputBytes != 4<<20 || res.OutputLines != 1 {
		t.Fatalf("Run = %+v", res)
	}
	first, _, _ := strings.Cut(res.Output, "\n")
	if first != strings.Repeat("x", 1000) || !strings.Contains(res.Output, fmt.Sprintf("[%d more bytes, 1 lines in all, not shown]", 4<<20-1000)) {
		t.Errorf("output kept %d bytes: %.80q...", len(res.Output), res.Output)
	}
}

func TestCapture(t *testing.T) {
	tests := []struct {
		name            string
		maxLines, maxB  int
		writes          []string
		want            string
		wantLines       int
		wantBytesOfKept int
	}{
		{"empty", 5, 100, nil, "", 0, 0},
		{"no newline at the end", 5, 100, []string{"a\nb"}, "a\nb", 2, 3},
		{"split writes", 5, 100, []string{"hel", "lo\nwor", "ld\n"}, "hello\nworld", 2, 12},
		{"line bound", 2, 100, []string{"1\n2\n3\n4\n"}, "1\n2\n[4 more bytes, 4 lines in all, not shown]", 4, 4},
		{"byte bound", 5, 4, []string{"abcdef\n"}, "abcd\n[3 more bytes, 1 lines in all, not shown]", 1, 4},
		{"control characters", 5, 100, []string{"\x1b[31mred\r\n\tok\x07\n"}, "\uFFFD[31mred\n\tok\uFFFD", 2, 15},
		{"invalid UTF-8", 5, 100, []string{"caf\xc3\n\xff\n"}, "caf\uFFFD\n\uFFFD", 2, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture(tt.maxLines, tt.maxB)
			for _, w := range tt.writes {
				if n, err := c.Write([]byte(w)); n != len(w) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			got, lines, _ := c.result()
			if got != tt.want || lines != tt.wantLines || c.kept.Len() != tt.wantBytesOfKept {
				t.Errorf("result() = %q, %d lines (kept %d bytes); want %q, %d lines (%d bytes)", got, lines, c.kept.Len(), tt.want, tt.wantLines, tt.wantBytesOfKept)
			}
		})
	}
}

// A command that does not read its stdin still succeeds, even with an entry larger than a pipe.
// An alt text too long for an environment variable is cut there (it is whole on stdin).
func TestStdinNotRead(t *testing.T) {
	e := sampleEntry()
	e.AltText = strings.Repeat("a", 1<<20)
	res := Run(t.Context(), Spec{Command: helper(t, "ignore-stdin")}, Job{Folder: t.TempDir(), Rel: "a.jpg", Entry: e})
	if res.Status != Done {
		t.Errorf("Run = %+v, want done", res)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("ab", 5); got != "ab" {
		t.Errorf("truncate = %q", got)
	}
	got := truncate(strings.Repeat("é", 200), 200)
	if len(got) > 200 || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("truncate = %q (%d bytes)", got, len(got))
	}
}
