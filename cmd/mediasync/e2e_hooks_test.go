package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// hookScript is the on_upload command of TestRunHooks; $0 is its state directory. What it does
// depends on the file:
//   - block.jpg: notes its pid, then waits until the test creates "release";
//   - hang.jpg: notes its pid and sleeps far past the timeout;
//   - flaky.jpg: fails the first time, succeeds the next.
//
// Every run that succeeds appends "path attempt" to done.log.
const hookScript = `d="$0"
case "$MEDIASYNC_REL" in
block.jpg)
  echo $$ >> "$d/block.started"
  while [ ! -e "$d/release" ]; do sleep 0.05; done ;;
hang.jpg)
  echo $$ >> "$d/hang.started"
  sleep 600 ;;
flaky.jpg)
  if [ ! -e "$d/flaky.failed" ]; then : > "$d/flaky.failed"; echo "backend not ready"; exit 4; fi ;;
esac
echo "$MEDIASYNC_REL $MEDIASYNC_HOOK_ATTEMPT" >> "$d/done.log"
`

// TestRunHooks: the on_upload guarantees of issue 14 with a real `mediasync run` subprocess:
//
//   - the agent SIGKILLed between the commit and the end of the hook (the hook is running: it
//     waits for a file the test creates only later): the entry stays uploaded with its hook
//     pending; after the restart the hook runs again, to the end, and the entry records it done
//     after one counted attempt (the killed run counts none);
//   - a hook that hangs is killed at its timeout: pending again with "timed out" in last_error,
//     and its process group is gone once the agent stops;
//   - a hook that fails, then succeeds: done on attempt 2, last_error cleared.
func TestRunHooks(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess")
	}
	t.Parallel() // its own emulator and folder; it mostly waits (the flaky hook's retry is up to 30 s away)
	exe := mediasyncExe(t)
	srv := emulatortest.NewServer(t, emulator.Options{})
	base := t.TempDir()
	folder, state := mkdir(t, filepath.Join(base, "inbox")), mkdir(t, filepath.Join(base, "hookstate"))
	var script strings.Builder
	for line := range strings.Lines(hookScript) {
		script.WriteString("          " + line)
	}
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
		BaseURL: srv.URL, Creds: creds, Folder: folder,
		FolderYAML: "    on_upload:\n      timeout: 2s\n      command:\n        - sh\n        - -c\n        - |\n" +
			script.String() + "        - " + strconv.Quote(state) + "\n",
	})
	env := agentEnv()
	pids := func(name string) []int {
		b, _ := os.ReadFile(filepath.Join(state, name))
		var out []int
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
		return out
	}
	hookOf := func(rel string) manifest.HookState {
		if h := entries(folder)[rel].Hook; h != nil {
			return *h
		}
		return manifest.HookState{}
	}
	// A hook the killed agent left behind runs on in its own process group: end it (and, when the
	// test fails half-way, the ones a failure leaves; a passing test leaves none).
	killGroups := func(name string) {
		for _, pid := range pids(name) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			killGroups("block.started")
			killGroups("hang.started")
		}
	})

	// 1. The upload is committed and its hook is running when the agent is killed.
	p1 := startProc(t, exe, filepath.Join(base, "run-1.log"), env, "run", "--config", cfg)
	put(t, folder, "block.jpg", mediagen.JPEG(320, 240, 1))
	untilProc(t, p1, "block.jpg uploaded and its hook running", time.Minute, func() bool {
		return uploaded(folder, "block.jpg") && len(pids("block.started")) == 1
	}, describeEntries(folder))
	p1.kill(t)
	killGroups("block.started")
	first := entries(folder)["block.jpg"]
	if first.State != manifest.Uploaded || first.Hook == nil || first.Hook.State != manifest.HookPending || first.Hook.Attempts != 0 {
		t.Fatalf("after the kill: entry %+v hook %+v; want uploaded with the hook pending, no attempt counted", first, first.Hook)
	}

	// 2. After the restart the hook runs again, and to its end once released.
	p2 := startProc(t, exe, filepath.Join(base, "run-2.log"), env, "run", "--config", cfg)
	untilProc(t, p2, "block.jpg's hook run again after the restart", time.Minute, func() bool {
		return len(pids("block.started")) == 2
	})
	if h := hookOf("block.jpg"); h.State != manifest.HookPending {
		t.Errorf("while the hook runs again: hook %+v, want pending", h)
	}
	if err := os.WriteFile(filepath.Join(state, "release"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	untilProc(t, p2, "block.jpg's hook done", time.Minute, func() bool { return hookOf("block.jpg").State == manifest.HookDone },
		describeEntries(folder))
	if h, e := hookOf("block.jpg"), entries(folder)["block.jpg"]; h.Attempts != 1 || h.DoneAt.IsZero() || e.MediaIDString != first.MediaIDString {
		t.Errorf("block.jpg after the restart: hook %+v, media id %s (was %s); want done after 1 attempt on the same upload", h, e.MediaIDString, first.MediaIDString)
	}

	// 3. A hook that hangs, and one that fails before it succeeds.
	put(t, folder, "hang.jpg", mediagen.JPEG(320, 240, 2))
	put(t, folder, "flaky.jpg", mediagen.JPEG(320, 240, 3))
	untilProc(t, p2, "hang.jpg's hook timed out", time.Minute, func() bool {
		h := hookOf("hang.jpg")
		return h.Attempts >= 1 && strings.Contains(h.LastError, "timed out")
	}, describeEntries(folder))
	if h := hookOf("hang.jpg"); h.State != manifest.HookPending || h.NextAttemptAt.IsZero() || !strings.Contains(h.LastError, "timed out after 2s") {
		t.Errorf("hang.jpg: hook %+v; want pending for a retry, last_error saying it timed out after 2s", h)
	}
	// The first retry comes within hook.DefaultBaseDelay (30 s) of the failure.
	untilProc(t, p2, "flaky.jpg's hook done on its retry", 2*time.Minute, func() bool { return hookOf("flaky.jpg").State == manifest.HookDone },
		describeEntries(folder))
	if h := hookOf("flaky.jpg"); h.Attempts != 2 || h.LastError != "" {
		t.Errorf("flaky.jpg: hook %+v; want done on attempt 2, last_error cleared", h)
	}
	if code := p2.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}
	// No hung hook outlives the agent: the timeout and the stop kill its whole process group.
	for _, pid := range pids("hang.started") {
		untilProc(t, nil, "hang.jpg's hook (pid "+strconv.Itoa(pid)+") gone", 30*time.Second, func() bool {
			return errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH)
		})
	}

	done, _ := os.ReadFile(filepath.Join(state, "done.log"))
	if got := strings.Fields(string(done)); strings.Join(got, " ") != "block.jpg 1 flaky.jpg 2" {
		t.Errorf("done.log = %q; want block.jpg's hook to end once (attempt 1), flaky.jpg's on attempt 2", done)
	}
	recs := logRecords(t, "on_upload hook pending", p2.log)
	timedOut := false
	for _, r := range recs {
		timedOut = timedOut || strings.Contains(r.Reason, "timed out")
	}
	if !timedOut {
		t.Errorf("the log does not say the hook timed out:\n%s", tail(p2.log, 40))
	}
	checkLogs(t, p1.log, p2.log)
}
