package main

import (
	"net/http"
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
)

// waitUntil polls cond until it holds, failing the test after a generous deadline (this is not a
// timing assertion: the deadline only bounds a hang).
func waitUntil(t *testing.T, p *proc, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if p.exited() {
			t.Fatalf("mediasync exited (%v) while waiting for %s; log:\n%s", p.err, what, tail(p.log, 40))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in time; log:\n%s", what, tail(p.log, 40))
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a synchronisation
	}
}

func logHas(path, s string) func() bool {
	return func() bool {
		b, _ := os.ReadFile(path)
		return strings.Contains(string(b), s)
	}
}

func uploadedIn(folder, rel string) func() bool {
	return func() bool {
		m, err := manifest.Read(manifest.DefaultPath(folder))
		return err == nil && m.Files[rel].State == manifest.Uploaded
	}
}

type reloadRig struct {
	exe, cfg, logPath string
	srv               *emulatortest.Server
	a, b              string // folders
	base              agentConfig
	p                 *proc
}

// startReloadRig runs `mediasync run` watching folder a only, and waits until it watches.
func startReloadRig(t *testing.T) *reloadRig {
	t.Helper()
	r := &reloadRig{exe: mediasyncExe(t), srv: emulatortest.NewServer(t, emulator.Options{})}
	dir := t.TempDir()
	r.a, r.b = filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for _, d := range []string{r.a, r.b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	creds := r.srv.Creds
	creds.BearerToken = ""
	r.base = agentConfig{BaseURL: r.srv.URL, Creds: creds, Folder: r.a, LogLevel: "info"}
	r.cfg = writeAgentConfig(t, filepath.Join(dir, "mediasync.yaml"), r.base)
	r.logPath = filepath.Join(dir, "run.log")
	r.p = startProc(t, r.exe, r.logPath, agentEnv(), "run", "--config", r.cfg)
	waitUntil(t, r.p, `"watching"`, logHas(r.logPath, `"message":"watching"`))
	return r
}

// drop writes a JPEG into folder under name, as a file manager does (temp name, then rename).
func drop(t *testing.T, folder, name string, seed int64) {
	t.Helper()
	if err := writeViaRename(filepath.Join(folder, name), mediagen.JPEG(320, 240, seed)); err != nil {
		t.Fatal(err)
	}
}

// finish stops the agent with SIGTERM and checks it exits 0 with no race or panic report.
func (r *reloadRig) finish(t *testing.T) {
	t.Helper()
	if code := r.p.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; log:\n%s", code, tail(r.logPath, 40))
	}
	if st := scanLog(t, r.logPath); len(st.raceOrPanic) > 0 {
		t.Errorf("race or panic in the agent:\n%s", strings.Join(st.raceOrPanic, "\n"))
	}
}

// SIGHUP with a configuration that adds a folder: the agent restarts with it, and a file waiting in
// the new folder is uploaded; the first folder's file is not uploaded again.
func TestReloadAddsFolder(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	r := startReloadRig(t)
	drop(t, r.a, "first.jpg", 1)
	waitUntil(t, r.p, "first.jpg uploaded", uploadedIn(r.a, "first.jpg"))
	drop(t, r.b, "second.jpg", 2)

	next := r.base
	next.MoreFolders = []string{r.b}
	writeAgentConfig(t, r.cfg, next)
	if err := r.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, r.p, "second.jpg uploaded", uploadedIn(r.b, "second.jpg"))
	if !logHas(r.logPath, `"message":"configuration reloaded"`)() {
		t.Errorf("no \"configuration reloaded\" line; log:\n%s", tail(r.logPath, 40))
	}
	// The first folder is still watched by the new agent.
	drop(t, r.a, "third.jpg", 3)
	waitUntil(t, r.p, "third.jpg uploaded", uploadedIn(r.a, "third.jpg"))
	if n := len(r.srv.Media()); n != 3 {
		t.Errorf("the emulator holds %d media, want 3 (each file once)", n)
	}
	r.finish(t)
}

// SIGHUP with an invalid configuration: every problem is logged, and the running agent goes on
// uploading with the configuration it had.
func TestReloadInvalidKeepsRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	tests := []struct {
		name  string
		write func(r *reloadRig) error
		want  []string // in the log
	}{
		{"bad values", func(r *reloadRig) error {
			b, err := os.ReadFile(r.cfg)
			if err != nil {
				return err
			}
			s := strings.Replace(string(b), "workers: 2", "workers: many", 1)
			s = strings.Replace(s, "settle: 300ms", "settle: ${MEDIASYNC_TEST_UNSET_SETTLE}", 1)
			return os.WriteFile(r.cfg, []byte(s), 0o600)
		}, []string{`upload.workers: \"many\" is not a whole number`, `watch.settle: ${MEDIASYNC_TEST_UNSET_SETTLE} is not set`}},
		{"every folder missing", func(r *reloadRig) error {
			c := r.base
			c.Folder = filepath.Join(filepath.Dir(r.a), "gone")
			writeAgentConfig(t, r.cfg, c)
			return nil
		}, []string{`folders[0].path: `, `gone does not exist`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startReloadRig(t)
			if err := tt.write(r); err != nil {
				t.Fatal(err)
			}
			if err := r.p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, r.p, "the reload refused", logHas(r.logPath, `"message":"configuration not reloaded; still running the previous one"`))
			for _, w := range tt.want {
				if !logHas(r.logPath, w)() {
					t.Errorf("log lacks %q:\n%s", w, tail(r.logPath, 40))
				}
			}
			drop(t, r.a, "after.jpg", 4)
			waitUntil(t, r.p, "after.jpg uploaded by the agent still running", uploadedIn(r.a, "after.jpg"))
			r.finish(t)
		})
	}
}

// SIGHUP that fixes the credentials during an account pause: the new agent uploads the file, and
// /healthz, which answered 503 for the old agent's pause, answers 200 again (the metrics collector
// is kept across the reload, its pause gauge was the old agent's).
func TestReloadClearsPause(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	srv := emulatortest.NewServer(t, emulator.Options{})
	dir := t.TempDir()
	folder := filepath.Join(dir, "a")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	good := srv.Creds
	good.BearerToken = ""
	bad := good
	bad.AccessTokenSecret = "not-the-secret-0123456789"
	listen := freeAddr(t)
	base := agentConfig{BaseURL: srv.URL, Creds: bad, Folder: folder, LogLevel: "info", HTTPListen: listen}
	cfg := writeAgentConfig(t, filepath.Join(dir, "mediasync.yaml"), base)
	logPath := filepath.Join(dir, "run.log")
	p := startProc(t, mediasyncExe(t), logPath, agentEnv(), "run", "--config", cfg)
	drop(t, folder, "held.jpg", 1)
	healthz := "http://" + listen + "/healthz"
	waitUntil(t, p, "the account pause on /healthz", func() bool {
		code, _ := httpGet(healthz)
		return code == http.StatusServiceUnavailable
	})

	base.Creds = good
	writeAgentConfig(t, cfg, base)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, p, "held.jpg uploaded with the fixed credentials", uploadedIn(folder, "held.jpg"))
	if code, body := httpGet(healthz); code != http.StatusOK {
		t.Errorf("/healthz after the reload fixed the credentials = %d %q, want 200", code, body)
	}
	if code := p.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0; log:\n%s", code, tail(logPath, 40))
	}
}

// SIGHUP during run --once is logged and ignored, never the default death: the run goes on (here
// until SIGTERM, the emulator's processing of the GIF taking an hour).
func TestOnceIgnoresSIGHUP(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{ProcessingTime: time.Hour}})
	dir := t.TempDir()
	folder := filepath.Join(dir, "a")
	if err := os.Mkdir(folder, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeViaRename(filepath.Join(folder, "held.gif"), mediagen.GIF(40, 30, 4, 1)); err != nil {
		t.Fatal(err)
	}
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(dir, "mediasync.yaml"), agentConfig{BaseURL: srv.URL, Creds: creds, Folder: folder})
	logPath := filepath.Join(dir, "run.log")
	p := startProc(t, mediasyncExe(t), logPath, agentEnv(), "run", "--once", "--config", cfg)
	waitUntil(t, p, "the one-shot scan", logHas(logPath, `"message":"one-shot scan done"`))
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, p, "the SIGHUP logged", logHas(logPath, "SIGHUP ignored"))
	if code := p.stop(t, syscall.SIGTERM, time.Minute); code != exitInterrupted {
		t.Errorf("exit code %d after SIGTERM, want %d; log:\n%s", code, exitInterrupted, tail(logPath, 20))
	}
}
