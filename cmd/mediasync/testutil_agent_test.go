package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
)

// agentConfig is what the subprocess tests vary in the configuration they write.
type agentConfig struct {
	APIVersion      string // default v2
	BaseURL         string
	Creds           emulator.Credentials
	Folder          string   // absolute; "" = no folders key
	MoreFolders     []string // absolute, after Folder
	ChunkSize       string   // default 1MiB
	SimpleUploadMax string   // default 1MiB
	Settle          string   // default 300ms
	MaxBackoff      string   // default 1s
	LogLevel        string   // default debug
	LogFormat       string   // default json
	Auth            string   // default oauth1
	// OAuth 2.0 (with Auth "oauth2" and no Creds.BearerToken): the client id, the token file
	// (written by 'auth login' or loginForTest) and the registered callback.
	ClientID, TokenFile, RedirectURL string
	ChunkParallelism                 string // default 3
	// HTTPListen and HTTPToken set http.listen and http.token ("" = none).
	HTTPListen, HTTPToken string
	Workers               int    // default 2
	FolderYAML            string // more keys of every folder, each line indented four spaces (on_upload: ...)
	YAML                  string // more top-level keys (notify: ...), appended as they are
}

// writeAgentConfig writes c as a mediasync YAML configuration at path, readable by the owner only
// (it holds credentials), and returns path.
func writeAgentConfig(t testing.TB, path string, c agentConfig) string {
	t.Helper()
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	var b strings.Builder
	fmt.Fprintf(&b, "api:\n  version: %s\n  base_url: %q\n  auth: %s\n", def(c.APIVersion, "v2"), c.BaseURL, def(c.Auth, "oauth1"))
	if c.RedirectURL != "" {
		fmt.Fprintf(&b, "  redirect_url: %q\n", c.RedirectURL)
	}
	fmt.Fprintf(&b, "credentials:\n  consumer_key: %q\n  consumer_secret: %q\n  access_token: %q\n  access_token_secret: %q\n  bearer_token: %q\n",
		c.Creds.ConsumerKey, c.Creds.ConsumerSecret, c.Creds.AccessToken, c.Creds.AccessTokenSecret, c.Creds.BearerToken)
	if c.ClientID != "" {
		fmt.Fprintf(&b, "  client_id: %q\n", c.ClientID)
	}
	if c.TokenFile != "" {
		fmt.Fprintf(&b, "  token_file: %q\n", c.TokenFile)
	}
	workers := 2
	if c.Workers > 0 {
		workers = c.Workers
	}
	fmt.Fprintf(&b, "upload:\n  workers: %d\n  chunk_size: %s\n  chunk_parallelism: %s\n  simple_upload_max: %s\n  max_backoff: %s\n  max_attempts: 20\n",
		workers, def(c.ChunkSize, "1MiB"), def(c.ChunkParallelism, "3"), def(c.SimpleUploadMax, "1MiB"), def(c.MaxBackoff, "1s"))
	fmt.Fprintf(&b, "watch:\n  mode: auto\n  settle: %s\n  poll_interval: 1s\n  rescan_interval: 0\n", def(c.Settle, "300ms"))
	if folders := slices.DeleteFunc(append([]string{c.Folder}, c.MoreFolders...), func(f string) bool { return f == "" }); len(folders) > 0 {
		b.WriteString("folders:\n")
		for _, f := range folders {
			fmt.Fprintf(&b, "  - path: %q\n    recursive: true\n    alt_text: none\n", f)
			if c.FolderYAML != "" {
				b.WriteString(strings.TrimRight(c.FolderYAML, "\n") + "\n")
			}
		}
	}
	fmt.Fprintf(&b, "log:\n  level: %s\n  format: %s\n", def(c.LogLevel, "debug"), def(c.LogFormat, "json"))
	if c.HTTPListen != "" {
		fmt.Fprintf(&b, "http:\n  listen: %q\n  token: %q\n", c.HTTPListen, c.HTTPToken)
	}
	if c.YAML != "" {
		b.WriteString(strings.TrimRight(c.YAML, "\n") + "\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// agentEnv is the environment of a subprocess: the test's own, without any MEDIASYNC_* variable
// (so a developer's real credentials or config never leak into a test run), plus extra. Under -race
// the subprocess would sleep a second at exit (GORACE atexit_sleep_ms); it is told not to.
func agentEnv(extra ...string) []string {
	var env []string
	gorace := "atexit_sleep_ms=0"
	for _, kv := range os.Environ() {
		switch {
		case strings.HasPrefix(kv, "MEDIASYNC_"):
		case strings.HasPrefix(kv, "GORACE="):
			gorace = strings.TrimPrefix(kv, "GORACE=") + " " + gorace
		default:
			env = append(env, kv)
		}
	}
	return append(append(env, "GORACE="+gorace), extra...)
}

// proc is a mediasync subprocess whose stdout and stderr go to one log file.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has been reaped
	err  error         // Wait's result, valid after done
}

// startProc starts exe with args, its output appended to logPath. A cleanup kills it if the test
// did not stop it.
func startProc(t testing.TB, exe, logPath string, env []string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = f, f, env
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", exe, err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// exited reports whether the process has ended on its own.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits until the process is reaped (so its manifest lock is released).
func (p *proc) kill(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("kill: %v", err)
	}
	<-p.done
}

// stop sends sig and waits up to timeout for the exit, returning the exit code (-1 when it was
// killed by a signal or did not stop in time, in which case it is killed).
func (p *proc) stop(t testing.TB, sig os.Signal, timeout time.Duration) int {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("signal %v: %v", sig, err)
	}
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-p.done:
	case <-tm.C:
		t.Errorf("process did not exit within %v of %v; killing it", timeout, sig)
		p.cmd.Process.Kill()
		<-p.done
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// runCLI runs exe with args to completion (up to timeout) and returns its exit code, stdout and
// stderr.
func runCLI(t testing.TB, exe string, env []string, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(exe, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr, cmd.Env = &out, &errb, env
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	select {
	case <-done:
	case <-tm.C:
		cmd.Process.Kill()
		<-done
		t.Fatalf("mediasync %s: no exit within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), timeout, out.String(), errb.String())
	}
	return cmd.ProcessState.ExitCode(), out.String(), errb.String()
}

// logLine is the part of a JSON log line the tests look at.
type logLine struct {
	Level   string `json:"level"`
	Message string `json:"message"`
	MediaID string `json:"media_id"`
	Path    string `json:"path"`
}

// logStats summarises a JSON log file of the agent.
type logStats struct {
	lines, errors, resumed int
	raceOrPanic            []string // lines that show a data race report or a panic
}

func scanLog(t testing.TB, path string) logStats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st logStats
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		st.lines++
		if bytes.Contains(line, []byte("WARNING: DATA RACE")) || bytes.HasPrefix(line, []byte("panic:")) ||
			bytes.HasPrefix(line, []byte("fatal error:")) {
			st.raceOrPanic = append(st.raceOrPanic, string(line))
		}
		var l logLine
		if json.Unmarshal(line, &l) != nil {
			continue
		}
		if l.Level == "error" {
			st.errors++
		}
		if l.Message == "resuming upload" {
			st.resumed++
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return st
}

// tail returns the last n lines of the file at path, for failure messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// writeViaRename writes data under a temporary name the agent ignores, then renames it to path, as
// an export tool does.
func writeViaRename(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".part")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// writeSlowly writes data to path in place in pieces, pausing between them (well under the settle
// time, so the file is never seen as settled before it is whole), as a copy over a slow link does.
func writeSlowly(path string, data []byte, pieces int, pause time.Duration) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	step := (len(data) + pieces - 1) / pieces
	for off := 0; off < len(data); off += step {
		if _, err := f.Write(data[off:min(off+step, len(data))]); err != nil {
			f.Close()
			return err
		}
		time.Sleep(pause) // simulates a slow writer; not used for synchronisation
	}
	return f.Close()
}
