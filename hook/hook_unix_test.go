//go:build unix

package hook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether process pid still runs (a zombie, dead but not yet reaped by its new
// parent, counts as dead).
func alive(pid int) bool {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// pid (comm) STATE ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		return i >= 0 && i+2 < len(s) && s[i+2] != 'Z' && s[i+2] != 'X'
	} else if runtime.GOOS == "linux" {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// waitGone waits, with a generous deadline, until process pid is gone.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d still runs", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the hook did not record its child (%v); did it start at all before the timeout?", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file %q", b)
	}
	return pid
}

// A hook that hangs is killed at the timeout together with everything it started, even a child
// that ignores SIGTERM and holds stdout open; Run returns instead of waiting for them.
func TestTimeoutKillsProcessGroup(t *testing.T) {
	needSh(t)
	tests := []struct {
		name   string
		script string
	}{
		{"sleeps", `sleep 600 & echo $! > child; wait`},
		{"ignores SIGTERM, child holds stdout", `trap '' TERM; sleep 600 & echo $! > child; echo started; wait; wait; wait`},
		{"child in the background, hook loops", `(sleep 600; echo late) & echo $! > child; while :; do sleep 1; done`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			done := make(chan Result, 1)
			go func() {
				done <- Exec(t.Context(), Spec{Command: []string{"sh", "-c", tt.script}, Timeout: 2 * time.Second, KillGrace: 500 * time.Millisecond}, Input{Dir: dir})
			}()
			var res Result
			select {
			case res = <-done:
			case <-time.After(60 * time.Second):
				t.Fatal("Run did not return within 60 s of a 2 s timeout")
			}
			if res.Status != Failed || !res.TimedOut || res.ExitCode != -1 || !strings.Contains(res.Reason, "timed out after 2s; process group killed") {
				t.Errorf("Run = %+v, want failed, timed out", res)
			}
			waitGone(t, readPID(t, filepath.Join(dir, "child")))
		})
	}
}

// A hook that exits but leaves a background child holding its output open is done, and the child
// is killed after the grace instead of hanging the agent.
func TestExitWithChildHoldingOutput(t *testing.T) {
	needSh(t)
	dir := t.TempDir()
	res := Exec(t.Context(), Spec{Command: []string{"sh", "-c", `sleep 600 & echo $! > child; echo posted`}, KillGrace: 300 * time.Millisecond}, Input{Dir: dir})
	if res.Status != Done || res.ExitCode != 0 || !strings.Contains(res.Note, "held open by a background process") || res.Output != "posted" {
		t.Errorf("Run = %+v, want done with a note", res)
	}
	waitGone(t, readPID(t, filepath.Join(dir, "child")))

	// A failed run's leftovers are killed too, whether or not they hold the output: they would
	// meet the retry.
	for _, script := range []string{`sleep 600 & echo $! > child; exit 3`, `sleep 600 >/dev/null 2>&1 & echo $! > child; exit 3`} {
		res = Exec(t.Context(), Spec{Command: []string{"sh", "-c", script}, KillGrace: 300 * time.Millisecond}, Input{Dir: dir})
		if res.Status != Failed || res.ExitCode != 3 {
			t.Errorf("Run(%q) = %+v, want failed with exit status 3", script, res)
		}
		waitGone(t, readPID(t, filepath.Join(dir, "child")))
	}

	// After a successful run, a child that redirected its output is left alone.
	res = Exec(t.Context(), Spec{Command: []string{"sh", "-c", `sleep 600 >/dev/null 2>&1 & echo $! > child`}, KillGrace: 300 * time.Millisecond}, Input{Dir: dir})
	pid := readPID(t, filepath.Join(dir, "child"))
	defer syscall.Kill(pid, syscall.SIGKILL)
	if res.Status != Done || res.Note != "" {
		t.Errorf("Run = %+v, want done without a note", res)
	}
	if !alive(pid) {
		t.Errorf("a properly detached child was killed")
	}
}

// When the agent stops, the run is canceled (no attempt counted) and its process group killed.
func TestCanceled(t *testing.T) {
	needSh(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan Result, 1)
	go func() {
		done <- Exec(ctx, Spec{Command: []string{"sh", "-c", `sleep 600 & echo $! > child.tmp; mv child.tmp child; wait`}, KillGrace: 300 * time.Millisecond}, Input{Dir: dir})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "child")); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hook did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	res := <-done
	if res.Status != Canceled || res.TimedOut || !strings.Contains(res.Reason, "context canceled") {
		t.Errorf("Run = %+v, want canceled", res)
	}
	waitGone(t, readPID(t, filepath.Join(dir, "child")))

	res = Exec(ctx, Spec{Command: []string{"true"}}, Input{})
	if res.Status != Canceled || !strings.Contains(res.Reason, "not started") {
		t.Errorf("Run on a canceled context = %+v", res)
	}
}

func TestFailureReasons(t *testing.T) {
	needSh(t)
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.sh")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\nexit 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	noShebang := filepath.Join(dir, "noshebang")
	if err := os.WriteFile(noShebang, []byte("\x00\x01\x02 not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		command  []string
		wantCode int
		want     string
	}{
		{"exit status", []string{"sh", "-c", "echo 'curl: (7) Failed to connect' >&2; exit 7"}, 7, "exit status 7"},
		{"signal", []string{"sh", "-c", "kill -SEGV $$"}, -1, "killed by signal SIGSEGV"},
		{"not in PATH", []string{"mediasync-no-such-hook"}, -1, `"mediasync-no-such-hook": program not found in PATH`},
		{"no such file", []string{filepath.Join(dir, "missing.sh")}, -1, "missing.sh\": no such file"},
		{"not executable", []string{plain}, -1, "permission denied (not executable?)"},
		{"no #! line", []string{noShebang}, -1, "exec format error"},
		{"no command", nil, -1, "no command configured"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Exec(t.Context(), Spec{Command: tt.command}, Input{Dir: dir})
			if res.Status != Failed || res.ExitCode != tt.wantCode || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("Run(%q) = %+v, want failed with exit code %d and reason %q", tt.command, res, tt.wantCode, tt.want)
			}
		})
	}
	res := Exec(t.Context(), Spec{Command: []string{"sh", "-c", "echo; echo '  curl: (7) Failed to connect  '; exit 7"}}, Input{})
	if got, want := res.Summary(), "exit status 7: curl: (7) Failed to connect"; got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
}
