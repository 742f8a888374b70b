package agent_test

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// logHook is an on_upload command that appends "REL MEDIA_ID" to log, and fails with exit status 3
// while the file gate does not exist.
func logHook(log, gate string) hook.Spec {
	return hook.Spec{Command: []string{"sh", "-c", `test -e "$GATE" || exit 3; echo "$MEDIASYNC_REL $MEDIASYNC_MEDIA_ID" >> "$LOG"`},
		Env: []string{"LOG", "GATE"}}
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := strings.Fields(strings.ReplaceAll(string(b), " ", "|"))
	sort.Strings(out)
	return out
}

// TestSimHooks: each upload's on_upload command runs once the entry is durable, with the media id;
// a failing command is retried with backoff (recorded as pending with its error) and succeeds once
// it can; a command that keeps failing ends failed, and RetryHooks runs it again.
func TestSimHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tmp := t.TempDir()
		logf, gate := filepath.Join(tmp, "hook.log"), filepath.Join(tmp, "gate")
		t.Setenv("LOG", logf)
		t.Setenv("GATE", gate)
		os.WriteFile(gate, nil, 0o644)
		s := newSim(t, simOptions{configure: func(o *agent.Options) { o.Folders[0].OnUpload = logHook(logf, gate) }})
		s.drop(0, "a.jpg", mediagen.JPEG(20, 20, 1))
		s.drop(0, "b.jpg", mediagen.JPEG(20, 20, 2))
		time.Sleep(time.Second)
		synctest.Wait()
		a, b := s.entry(0, "a.jpg"), s.entry(0, "b.jpg")
		want := []string{"a.jpg|" + a.MediaIDString, "b.jpg|" + b.MediaIDString}
		if got := lines(t, logf); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("hook runs %q, want %q", got, want)
		}
		if a.Hook == nil || a.Hook.State != manifest.HookDone || a.Hook.Attempts != 1 {
			t.Errorf("a.jpg hook state %+v, want done after one run", a.Hook)
		}

		os.Remove(gate) // the posting step is down
		s.drop(0, "c.jpg", mediagen.JPEG(20, 20, 3))
		time.Sleep(time.Second)
		synctest.Wait()
		c := s.entry(0, "c.jpg")
		if c.State != manifest.Uploaded || c.Hook == nil || c.Hook.State != manifest.HookPending || c.Hook.Attempts != 1 ||
			!strings.Contains(c.Hook.LastError, "exit status 3") || c.Hook.NextAttemptAt.IsZero() {
			t.Fatalf("c.jpg after a failed hook: %s %+v; want uploaded, hook pending with its error and a retry time", c.State, c.Hook)
		}
		os.WriteFile(gate, nil, 0o644) // back
		time.Sleep(time.Hour)
		synctest.Wait()
		if c = s.entry(0, "c.jpg"); c.Hook.State != manifest.HookDone || c.Hook.Attempts != 2 {
			t.Errorf("c.jpg once the command works: %+v, want done at the second run", c.Hook)
		}

		os.Remove(gate) // down for good
		s.drop(0, "d.jpg", mediagen.JPEG(20, 20, 4))
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		d := s.entry(0, "d.jpg")
		if d.Hook.State != manifest.HookFailed || d.Hook.Attempts != hook.DefaultMaxAttempts {
			t.Fatalf("d.jpg: %+v, want failed after %d runs", d.Hook, hook.DefaultMaxAttempts)
		}
		if ex := s.ag.Explain(filepath.Join(s.dirs[0], "d.jpg")); !strings.Contains(ex.Why, "failed 5 time(s), for good") ||
			!strings.Contains(ex.Fix, "retry --hooks") {
			t.Errorf("Explain(d.jpg) = %q / %q; want the failed hook and how to retry it", ex.Why, ex.Fix)
		}
		os.WriteFile(gate, nil, 0o644)
		n, err := s.ag.RetryHooks(t.Context(), "")
		if err != nil || n != 1 {
			t.Fatalf("RetryHooks = %d, %v; want 1", n, err)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if d = s.entry(0, "d.jpg"); d.Hook.State != manifest.HookDone {
			t.Errorf("d.jpg after RetryHooks: %+v, want done", d.Hook)
		}
		if got := lines(t, logf); len(got) != 4 {
			t.Errorf("hook ran successfully %d times for 4 files, want 4: %q", len(got), got)
		}
	})
}

// TestSimHookAfterCrash: an entry recorded uploaded with its hook pending, as a crash between the
// commit and the end of the hook leaves it, gets its hook run at the next start (at least once).
func TestSimHookAfterCrash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tmp := t.TempDir()
		logf, gate := filepath.Join(tmp, "hook.log"), filepath.Join(tmp, "gate")
		t.Setenv("LOG", logf)
		t.Setenv("GATE", gate)
		os.WriteFile(gate, nil, 0o644)
		dir := t.TempDir()
		data := mediagen.JPEG(20, 20, 1)
		p := filepath.Join(dir, "a.jpg")
		os.WriteFile(p, data, 0o644)
		fi, _ := os.Stat(p)
		st, err := manifest.Open(manifest.DefaultPath(dir), dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put("a.jpg", manifest.Entry{State: manifest.Uploaded, Size: fi.Size(), MTime: fi.ModTime(), SHA256: sum(data),
			MediaIDString: "1234", ExpiresAt: time.Now().Add(time.Hour), Hook: hook.Pending()}); err != nil {
			t.Fatal(err)
		}
		st.Close()
		s := newSim(t, simOptions{configure: func(o *agent.Options) {
			o.Folders[0] = agent.Folder{Path: dir, OnUpload: logHook(logf, gate)}
		}})
		s.dirs[0] = dir
		time.Sleep(time.Second)
		synctest.Wait()
		if got := lines(t, logf); len(got) != 1 || got[0] != "a.jpg|1234" {
			t.Errorf("hook runs after the restart: %q; want a.jpg|1234 once", got)
		}
		if e := s.entry(0, "a.jpg"); e.Hook.State != manifest.HookDone {
			t.Errorf("hook state %+v, want done", e.Hook)
		}
		if n := len(s.srv.Media()); n != 0 {
			t.Errorf("%d uploads; the file was uploaded already", n)
		}
	})
}
