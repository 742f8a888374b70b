package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/web"
)

// runningAgent is a `mediasync run` subprocess watching one folder, uploading to an in-process
// emulator.
type runningAgent struct {
	t      testing.TB
	p      *proc
	exe    string
	env    []string
	cfg    string // the configuration file
	folder string
	sock   string // its control socket
	url    string // http.listen's base URL, "" without it
	srv    *emulatortest.Server
}

// runOpts vary startRunning's configuration.
type runOpts struct {
	http  bool   // serve http.listen on 127.0.0.1:0
	token string // http.token
	// sequential sends one segment at a time (upload.chunk_parallelism 1).
	sequential bool
	// before runs after the folder and the configuration file exist, before the agent starts.
	before func(folder, cfg string)
}

// startRunning starts `mediasync run` and returns once its control socket answers (and, with
// o.http, once its listener serves).
func startRunning(t testing.TB, o runOpts) *runningAgent {
	t.Helper()
	srv := emulatortest.NewServer(t, emulator.Options{})
	base := t.TempDir()
	folder := filepath.Join(base, "inbox")
	if err := os.MkdirAll(filepath.Join(folder, ".mediasync"), 0o755); err != nil {
		t.Fatal(err)
	}
	creds := srv.Creds
	creds.BearerToken = "" // oauth1 only; a bearer token would draw a config warning
	ac := agentConfig{BaseURL: srv.URL, Creds: creds, Folder: folder, ChunkSize: "256KiB", SimpleUploadMax: "0", Settle: "200ms",
		LogLevel: "info"}
	if o.http {
		ac.HTTPListen, ac.HTTPToken = freeAddr(t), o.token
	}
	if o.sequential {
		ac.ChunkParallelism = "1"
	}
	ra := &runningAgent{t: t, exe: mediasyncExe(t), env: agentEnv(), folder: folder, srv: srv,
		cfg: writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), ac), sock: socketPath(manifest.DefaultPath(folder))}
	if o.before != nil {
		o.before(folder, ra.cfg)
	}
	ra.p = startProc(t, ra.exe, filepath.Join(base, "run.log"), ra.env, "run", "--config", ra.cfg)
	if o.http {
		ra.url = "http://" + ra.waitLog(`"serving http"`, "addr")
	}
	c := web.Dial(ra.sock)
	defer c.Close()
	ra.until("the control socket answers", func() bool {
		_, err := c.Status(context.Background(), web.Query{Limit: 1})
		return err == nil
	})
	return ra
}

// freeAddr returns a loopback host:port that was free a moment ago (the configuration refuses
// port 0).
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// until polls cond until it holds; it fails the test when the deadline passes or the agent exits.
func (ra *runningAgent) until(what string, cond func() bool) {
	ra.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if ra.p.exited() || time.Now().After(deadline) {
			ra.t.Fatalf("waiting until %s: the agent exited or the deadline passed; its log:\n%s", what, tail(ra.p.log, 30))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits for a JSON log line containing marker and returns its string field key.
func (ra *runningAgent) waitLog(marker, key string) string {
	ra.t.Helper()
	var val string
	ra.until("the log says "+marker, func() bool {
		f, err := os.Open(ra.p.log)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if !strings.Contains(sc.Text(), marker) {
				continue
			}
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				val, _ = m[key].(string)
				return true
			}
		}
		return false
	})
	return val
}

// cli runs the mediasync command with args (the configuration added) to completion.
func (ra *runningAgent) cli(args ...string) (code int, stdout, stderr string) {
	ra.t.Helper()
	return runCLI(ra.t, ra.exe, ra.env, 90*time.Second, append(args, "--config", ra.cfg)...)
}

// TestRunServesHTTPAndSocket: `run` with http.listen serves the status page, its API, /metrics and
// /healthz on one listener, and the API on the folder's owner-only control socket; after a SIGHUP
// reload the new agent serves both again, and the socket is removed when it stops.
func TestRunServesHTTPAndSocket(t *testing.T) {
	ra := startRunning(t, runOpts{http: true})
	for path, want := range map[string]string{
		"/healthz":    "ok",
		"/metrics":    "mediasync_files_total",
		"/":           ra.folder,
		"/api/status": `"folders"`,
	} {
		resp, err := http.Get(ra.url + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), want) {
			t.Errorf("GET %s = %s, %.300q; want 200 with %q", path, resp.Status, b, want)
		}
	}
	fi, err := os.Lstat(ra.sock)
	if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("control socket %s: %v, %v; want a socket with mode 0600", ra.sock, fi.Mode(), err)
	}
	c := web.Dial(ra.sock)
	defer c.Close()
	st, err := c.Status(context.Background(), web.Query{})
	if err != nil || len(st.Folders) != 1 || st.Folders[0].Path != ra.folder {
		t.Errorf("status over the socket = %+v, %v", st, err)
	}
	// SIGHUP replaces the agent (cmd_run.go): the new one serves the socket and the page again.
	if err := ra.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	ra.waitLog("configuration reloaded", "message")
	ra.until("the reloaded agent answers on the socket and the listener", func() bool {
		_, err := c.Status(context.Background(), web.Query{})
		resp, herr := http.Get(ra.url + "/api/status")
		if herr == nil {
			resp.Body.Close()
		}
		return err == nil && herr == nil && resp.StatusCode == http.StatusOK
	})
	if code := ra.p.stop(t, syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("run exited %d after SIGTERM, want 0; log:\n%s", code, tail(ra.p.log, 20))
	}
	if _, err := os.Lstat(ra.sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the control socket is left behind after the agent stopped: %v", err)
	}
	if _, err := c.Status(context.Background(), web.Query{}); !errors.Is(err, web.ErrNoAgent) {
		t.Errorf("status after the agent stopped = %v, want ErrNoAgent", err)
	}
}

// TestRunRefusesOpenListenWithoutToken: an http.listen reachable from other machines without
// http.token is a configuration error (exit 2) before anything starts.
func TestRunRefusesOpenListenWithoutToken(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	dir := t.TempDir()
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(dir, "c.yaml"), agentConfig{BaseURL: srv.URL, Creds: creds, Folder: dir, HTTPListen: "0.0.0.0:9464"})
	code, _, stderr := runCLI(t, mediasyncExe(t), agentEnv(), 60*time.Second, "run", "--config", cfg)
	if code != exitUsage || !strings.Contains(stderr, "http.token is required") {
		t.Errorf("run = exit %d, stderr %q; want 2 naming http.token", code, stderr)
	}
	if _, err := os.Stat(manifest.DefaultPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a manifest was created before the refusal: %v", err)
	}
}

// TestRunWithoutControlSocket: when the control socket cannot be made (here a regular file holds
// its name), the agent warns and uploads anyway.
func TestRunWithoutControlSocket(t *testing.T) {
	srv := emulatortest.NewServer(t, emulator.Options{})
	base := t.TempDir()
	folder := filepath.Join(base, "inbox")
	if err := os.MkdirAll(filepath.Join(folder, ".mediasync"), 0o755); err != nil {
		t.Fatal(err)
	}
	sock := socketPath(manifest.DefaultPath(folder))
	if err := os.WriteFile(sock, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(base, "c.yaml"), agentConfig{BaseURL: srv.URL, Creds: creds, Folder: folder, Settle: "200ms", LogLevel: "info"})
	ra := &runningAgent{t: t, folder: folder}
	ra.p = startProc(t, mediasyncExe(t), filepath.Join(base, "run.log"), agentEnv(), "run", "--config", cfg)
	ra.waitLog("no control socket", "message")
	if err := writeViaRename(filepath.Join(folder, "a.jpg"), mediagen.JPEG(64, 48, 1)); err != nil {
		t.Fatal(err)
	}
	ra.until("a.jpg is uploaded", func() bool {
		m, err := manifest.Read(manifest.DefaultPath(folder))
		return err == nil && m.Files["a.jpg"].State == manifest.Uploaded
	})
	if b, _ := os.ReadFile(sock); string(b) != "not a socket" {
		t.Errorf("the file at the socket's path was changed: %q", b)
	}
}

// TestLiftDeadlines: behind a server with short read and write timeouts (metrics.Serve's are 30 s
// and 60 s), a request that answers after both have passed is cut without liftDeadlines and
// answered with it, its context never cancelled.
func TestLiftDeadlines(t *testing.T) {
	const timeout = 100 * time.Millisecond
	for _, lift := range []bool{false, true} {
		ctxErr := make(chan error, 1)
		var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.ReadAll(r.Body)
			select {
			case <-r.Context().Done():
			case <-time.After(4 * timeout): // a long upload; not a synchronisation
			}
			ctxErr <- r.Context().Err()
			io.WriteString(w, "done")
		})
		if lift {
			h = liftDeadlines(h)
		}
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ReadTimeout, srv.Config.WriteTimeout = timeout, timeout
		srv.Start()
		resp, err := http.Post(srv.URL, "application/json", strings.NewReader("{}"))
		var body []byte
		if err == nil {
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		cerr := <-ctxErr
		srv.Close()
		switch {
		case lift && (err != nil || string(body) != "done" || cerr != nil):
			t.Errorf("with liftDeadlines: %q, %v, request context %v; want the answer", body, err, cerr)
		case !lift && err == nil && string(body) == "done" && cerr == nil:
			t.Errorf("without liftDeadlines the answer arrived: the test does not exercise the timeouts")
		}
	}
}
