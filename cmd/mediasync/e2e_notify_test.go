package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/notify"
	"github.com/mediasync/mediasync/uploader"
)

// TestNotifyEvent: each agent event becomes the notification docs/notifications.md documents,
// and only those that are news do (a failure that will be retried, an entry written, a hook that
// will run again are not).
func TestNotifyEvent(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 2, 0, time.UTC)
	exp := at.Add(24 * time.Hour)
	up := manifest.Entry{State: manifest.Uploaded, MediaIDString: "1912", MediaKey: "3_1912", ExpiresAt: exp, Attempts: 1}
	hookFailed := up
	hookFailed.Hook = &manifest.HookState{State: manifest.HookFailed, Attempts: 5, LastError: "exit status 7: curl: (7) Failed to connect"}
	hookPending := up
	hookPending.Hook = &manifest.HookState{State: manifest.HookPending, Attempts: 1, LastError: "exit status 7"}
	refusal := &agent.PauseError{Refusal: uploader.RefusalCreditsDepleted, Advice: "Buy credits.", Err: errors.New("402 CreditsDepleted")}
	for _, c := range []struct {
		name string
		in   agent.Event
		want *notify.Event // nil: no notification
	}{
		{"uploaded", agent.Event{Kind: agent.EventFile, Time: at, Folder: "/srv/x", Rel: "a/b.jpg", Outcome: agent.OutcomeUploaded, Entry: up},
			&notify.Event{Type: notify.Uploaded, Time: at, Folder: "/srv/x", Path: "a/b.jpg", MediaID: "1912", MediaKey: "3_1912", ExpiresAt: exp}},
		{"skipped", agent.Event{Kind: agent.EventFile, Time: at, Folder: "/srv/x", Rel: "c.heic", Outcome: agent.OutcomeSkipped,
			Entry: manifest.Entry{State: manifest.Skipped, Reason: "X does not accept HEIC"}},
			&notify.Event{Type: notify.Skipped, Time: at, Folder: "/srv/x", Path: "c.heic", Reason: "X does not accept HEIC"}},
		{"failed", agent.Event{Kind: agent.EventFile, Time: at, Folder: "/srv/x", Rel: "d.mp4", Outcome: agent.OutcomeFailed,
			Entry: manifest.Entry{State: manifest.Failed, Attempts: 2, Error: &manifest.Error{Permanent: true, Message: "InvalidMedia"}}},
			&notify.Event{Type: notify.Failed, Time: at, Folder: "/srv/x", Path: "d.mp4", Reason: "InvalidMedia", Attempts: 2}},
		{"retry is not news", agent.Event{Kind: agent.EventFile, Folder: "/srv/x", Rel: "d.mp4", Outcome: agent.OutcomeRetry,
			Entry: manifest.Entry{State: manifest.Failed, Attempts: 1, Error: &manifest.Error{Message: "503"}}}, nil},
		{"paused", agent.Event{Kind: agent.EventPaused, Time: at, Err: refusal},
			&notify.Event{Type: notify.AuthPaused, Time: at, Reason: "Buy credits."}},
		{"resumed", agent.Event{Kind: agent.EventResumed, Time: at}, &notify.Event{Type: notify.AuthResumed, Time: at}},
		{"refused", agent.Event{Kind: agent.EventRefused, Time: at, Folder: "/srv/y", Err: errors.New("manifest damaged")},
			&notify.Event{Type: notify.FolderRefused, Time: at, Folder: "/srv/y", Reason: "manifest damaged"}},
		{"hook failed", agent.Event{Kind: agent.EventHook, Time: at, Folder: "/srv/x", Rel: "a/b.jpg", Entry: hookFailed,
			Err: errors.New("on_upload failed after 5 attempts: exit status 7: curl: (7) Failed to connect")},
			&notify.Event{Type: notify.HookFailed, Time: at, Folder: "/srv/x", Path: "a/b.jpg", MediaID: "1912", Attempts: 5,
				Reason: "exit status 7: curl: (7) Failed to connect"}},
		{"hook to be retried is not news", agent.Event{Kind: agent.EventHook, Folder: "/srv/x", Rel: "a/b.jpg", Entry: hookPending,
			Err: errors.New("exit status 7")}, nil},
		{"entry written", agent.Event{Kind: agent.EventEntry, Folder: "/srv/x", Rel: "a/b.jpg", Entry: up}, nil},
		{"queue", agent.Event{Kind: agent.EventQueue, Queue: 3}, nil},
		{"parked", agent.Event{Kind: agent.EventParked, Folder: "/srv/x", Err: errors.New("disk full")}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := notifyEvent(c.in)
			switch {
			case c.want == nil && ok:
				t.Errorf("notifyEvent(%+v) = %+v; want no notification", c.in, got)
			case c.want != nil && !ok:
				t.Errorf("notifyEvent(%+v): no notification; want %+v", c.in, *c.want)
			case c.want != nil && got != *c.want:
				t.Errorf("notifyEvent(%+v)\n got %+v\nwant %+v", c.in, got, *c.want)
			}
		})
	}
}

// TestRunNotifies: notifications reach a local webhook for each event type, from real `mediasync
// run --once` and `run` processes against the emulator (issue 14, "Done when"):
//
//   - run --once: uploaded, skipped (bytes that are no image), failed (a video X fails to
//     process), folder_refused (a second folder whose manifest is damaged) are all at the webhook
//     when the process has exited (flushed before the exit), with the configured header, whose
//     value never shows in the log;
//   - run: hook_failed (the last attempt of a failing on_upload), auth_paused with the fix
//     (credits_depleted switched on through the emulator's admin API) and auth_resumed once it is
//     switched off, after which the file that met the refusal is uploaded and notified.
func TestRunNotifies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess for about a minute (the first probe after a refusal)")
	}
	t.Parallel() // its own emulator, webhook and folders; it mostly waits
	exe := mediasyncExe(t)
	srv := emulatortest.NewServer(t, emulator.Options{Faults: emulator.Faults{FailProcessing: true, RateLimit: 1 << 20}})
	hookSrv := newWebhook(t)
	base := t.TempDir()
	good, damaged := mkdir(t, filepath.Join(base, "good")), mkdir(t, filepath.Join(base, "damaged"))
	mkdir(t, filepath.Join(damaged, ".mediasync"))
	if err := os.WriteFile(manifest.DefaultPath(damaged), []byte(`{"version":1,"files":{"x.jpg":`), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "nt-6c1f0e9a4b7d"
	creds := srv.Creds
	creds.BearerToken = ""
	cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
		BaseURL: srv.URL, Creds: creds, Folder: good, MoreFolders: []string{damaged},
		FolderYAML: `    on_upload:
      command: [sh, -c, 'if [ "$MEDIASYNC_REL" = hookfail.jpg ]; then echo "post refused"; exit 3; fi']
      timeout: 30s`,
		YAML: fmt.Sprintf(`notify:
  - url: %s/mediasync
    headers: {Authorization: "Bearer ${NOTIFY_TOKEN}"}
    events: [uploaded, skipped, failed, auth_paused, auth_resumed, folder_refused, hook_failed]`, hookSrv.URL),
	})
	env := agentEnv("NOTIFY_TOKEN=" + token)
	put(t, good, "ok.jpg", mediagen.JPEG(320, 240, 1))
	put(t, good, "hookfail.jpg", mediagen.JPEG(320, 240, 2))
	put(t, good, "clip.mp4", mediagen.MP4(300<<10, 3))
	put(t, good, "notanimage.jpg", []byte("this is a text file with an image's name\n"))

	// run --once: one failed file, so exit 1; every event delivered before the exit.
	code, stdout, stderr := runCLI(t, exe, env, 2*time.Minute, "run", "--once", "--config", cfg)
	onceLog := filepath.Join(base, "once.log")
	if err := os.WriteFile(onceLog, []byte(stdout+stderr), 0o600); err != nil {
		t.Fatal(err)
	}
	if code != 1 {
		t.Fatalf("run --once: exit %d, want 1 (clip.mp4 failed)\n%s%s", code, stdout, stderr)
	}
	es := entries(good)
	for rel, want := range map[string]notify.EventType{"ok.jpg": notify.Uploaded, "hookfail.jpg": notify.Uploaded,
		"notanimage.jpg": notify.Skipped, "clip.mp4": notify.Failed} {
		ev, ok := hookSrv.event(want, rel)
		if !ok {
			t.Errorf("%s: no %s notification when run --once exited\n%s", rel, want, hookSrv.describe())
			continue
		}
		e := es[rel]
		if ev.Folder != good || ev.ID == "" || ev.Time.IsZero() {
			t.Errorf("%s: %s notification %+v: want folder %s, an id and a time", rel, want, ev, good)
		}
		switch want {
		case notify.Uploaded:
			if e.State != manifest.Uploaded || ev.MediaID != e.MediaIDString || ev.MediaKey != e.MediaKey || !ev.ExpiresAt.Equal(e.ExpiresAt) {
				t.Errorf("%s: uploaded notification %+v, manifest entry %+v", rel, ev, e)
			}
		case notify.Skipped:
			if e.State != manifest.Skipped || ev.Reason == "" || ev.Reason != e.Reason {
				t.Errorf("%s: skipped notification %+v, manifest reason %q", rel, ev, e.Reason)
			}
		case notify.Failed:
			if e.State != manifest.Failed || ev.Reason == "" || ev.Attempts != e.Attempts {
				t.Errorf("%s: failed notification %+v, manifest entry %+v", rel, ev, e)
			}
		}
	}
	if ev, ok := hookSrv.event(notify.FolderRefused, ""); !ok || ev.Folder != damaged || ev.Reason == "" {
		t.Errorf("folder_refused notification = %+v, %v; want one for %s with the reason\n%s", ev, ok, damaged, hookSrv.describe())
	}
	if t.Failed() {
		t.FailNow()
	}

	// The failing hook's next attempt is to be its last (as if four had failed already), so that
	// the run below gives up on it at once instead of in the four minutes of the real backoff.
	e := es["hookfail.jpg"]
	if e.Hook == nil || e.Hook.State != manifest.HookPending || e.Hook.Attempts != 1 {
		t.Fatalf("hookfail.jpg after run --once: hook %+v, want pending after 1 attempt", e.Hook)
	}
	e.Hook.Attempts, e.Hook.NextAttemptAt = 4, time.Time{}
	st, err := manifest.Open(manifest.DefaultPath(good), good)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Put("hookfail.jpg", e)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}

	pr := startProc(t, exe, filepath.Join(base, "run.log"), env, "run", "--config", cfg)
	untilProc(t, pr, "a hook_failed notification", time.Minute, func() bool {
		_, ok := hookSrv.event(notify.HookFailed, "hookfail.jpg")
		return ok
	}, hookSrv.describe)
	if ev, _ := hookSrv.event(notify.HookFailed, "hookfail.jpg"); ev.Attempts != 5 || ev.MediaID != e.MediaIDString ||
		!strings.Contains(ev.Reason, "exit status 3") || !strings.Contains(ev.Reason, "post refused") {
		t.Errorf("hook_failed notification %+v: want attempts 5, media id %s, the exit status and the output", ev, e.MediaIDString)
	}

	// X refuses the account: the next upload pauses everything.
	postJSON(t, srv.URL+"/_emulator/faults", `{"credits_depleted": true, "fail_processing": true, "rate_limit": 1048576}`)
	put(t, good, "later.jpg", mediagen.JPEG(320, 240, 4))
	untilProc(t, pr, "an auth_paused notification", time.Minute, func() bool {
		_, ok := hookSrv.event(notify.AuthPaused, "")
		return ok
	}, hookSrv.describe)
	if ev, _ := hookSrv.event(notify.AuthPaused, ""); !strings.Contains(ev.Reason, "credits") {
		t.Errorf("auth_paused notification %+v: want the fix (credits) as its reason", ev)
	}
	if uploaded(good, "later.jpg") {
		t.Fatal("later.jpg uploaded while X refuses the account")
	}
	postJSON(t, srv.URL+"/_emulator/faults", `{"fail_processing": true, "rate_limit": 1048576}`)
	// The probe comes at the end of the first pause (agent Options.AuthRetry: one minute).
	untilProc(t, pr, "auth_resumed and later.jpg uploaded", 3*time.Minute, func() bool {
		_, resumed := hookSrv.event(notify.AuthResumed, "")
		_, up := hookSrv.event(notify.Uploaded, "later.jpg")
		return resumed && up
	}, hookSrv.describe)
	if code := pr.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}

	if n := len(hookSrv.events(notify.AuthPaused)); n != 1 {
		t.Errorf("%d auth_paused notifications for one pause, want 1\n%s", n, hookSrv.describe())
	}
	for _, typ := range notify.EventTypes() {
		if len(hookSrv.events(typ)) == 0 {
			t.Errorf("no %s notification", typ)
		}
	}
	hookSrv.mu.Lock()
	for i, a := range hookSrv.auth {
		if a != "Bearer "+token {
			t.Errorf("POST %d: Authorization %q, want the configured header", i+1, a)
		}
	}
	hookSrv.mu.Unlock()
	for _, lp := range []string{onceLog, pr.log} {
		b, _ := os.ReadFile(lp)
		if strings.Contains(string(b), token) {
			t.Errorf("%s shows the header's value", filepath.Base(lp))
		}
	}
	checkLogs(t, onceLog, pr.log)
}
