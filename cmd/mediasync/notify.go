package main

import (
	"context"
	"errors"
	"os"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/notify"
)

// notifyTargets maps the notify section of cfg onto notify's targets. The URL and header values
// are revealed here, for the notifier only: it never logs them.
func notifyTargets(cfg *config.Config) []notify.Target {
	var out []notify.Target
	for _, n := range cfg.Notify {
		t := notify.Target{
			URL:     n.URL.Reveal(),
			Timeout: n.Timeout.D(),
			Command: hook.Spec{Command: n.Command, Env: n.Env, Timeout: n.Timeout.D()},
		}
		if len(n.Headers) > 0 {
			t.Headers = make(map[string]string, len(n.Headers))
			for k, v := range n.Headers {
				t.Headers[k] = v.Reveal()
			}
		}
		if n.Events != nil {
			t.Events = make([]notify.EventType, 0, len(n.Events))
			for _, e := range n.Events {
				t.Events = append(t.Events, notify.EventType(e))
			}
		}
		out = append(out, t)
	}
	return out
}

// newNotifier returns the notifier of cfg's notify targets, or nil when there are none.
func newNotifier(cfg *config.Config, log zerolog.Logger) *notify.Notifier {
	targets := notifyTargets(cfg)
	if len(targets) == 0 {
		return nil
	}
	host, _ := os.Hostname()
	return notify.New(targets, notify.Options{Host: host}, log)
}

// withNotify returns obs extended with n, which publishes the agent's events that notify has a type
// for; obs itself when n is nil.
func withNotify(obs agent.Observer, n *notify.Notifier) agent.Observer {
	if n == nil {
		return obs
	}
	return agent.Observers(obs, notifyObserver{n})
}

// startNotify runs n's delivery until the returned function is called; that function stops it
// and returns once what was queued is delivered (or notify.Options.StopGrace has passed). For run
// --once, whose events must go out before the process exits. A nil n gives a no-op.
func startNotify(ctx context.Context, n *notify.Notifier) (stop func()) {
	if n == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = n.Run(ctx) // returns nil
	}()
	return func() {
		cancel()
		<-done
	}
}

// notifyObserver publishes agent events as notifications. Publish never blocks, as an
// [agent.Observer] must not.
type notifyObserver struct{ n *notify.Notifier }

func (o notifyObserver) Observe(e agent.Event) {
	if ev, ok := notifyEvent(e); ok {
		o.n.Publish(ev)
	}
}

// notifyEvent maps an agent event onto the notification it means, if any (docs/notifications.md):
// a file uploaded, skipped or failed for good (a failure that will be retried is not news), the
// account paused (with what to do) and resumed, a folder refused, a hook failed for good.
func notifyEvent(e agent.Event) (notify.Event, bool) {
	ev := notify.Event{Time: e.Time, Folder: e.Folder, Path: e.Rel}
	switch e.Kind {
	case agent.EventFile:
		switch e.Outcome {
		case agent.OutcomeUploaded:
			ev.Type = notify.Uploaded
			ev.MediaID, ev.MediaKey, ev.ExpiresAt = e.Entry.MediaIDString, e.Entry.MediaKey, e.Entry.ExpiresAt
		case agent.OutcomeSkipped:
			ev.Type, ev.Reason = notify.Skipped, e.Entry.Reason
		case agent.OutcomeFailed:
			ev.Type, ev.Attempts = notify.Failed, e.Entry.Attempts
			switch {
			case e.Entry.Error != nil:
				ev.Reason = e.Entry.Error.Message
			case e.Err != nil:
				ev.Reason = e.Err.Error()
			}
		default:
			return notify.Event{}, false
		}
	case agent.EventPaused:
		ev.Type = notify.AuthPaused
		var pe *agent.PauseError
		switch {
		case errors.As(e.Err, &pe):
			ev.Reason = pe.Advice
		case e.Err != nil:
			ev.Reason = e.Err.Error()
		}
	case agent.EventResumed:
		ev.Type = notify.AuthResumed
	case agent.EventRefused:
		ev.Type = notify.FolderRefused
		if e.Err != nil {
			ev.Reason = e.Err.Error()
		}
	case agent.EventHook:
		h := e.Entry.Hook
		if h == nil || h.State != manifest.HookFailed {
			return notify.Event{}, false
		}
		ev.Type, ev.MediaID, ev.Attempts, ev.Reason = notify.HookFailed, e.Entry.MediaIDString, h.Attempts, h.LastError
		if ev.Reason == "" && e.Err != nil {
			ev.Reason = e.Err.Error()
		}
	default:
		return notify.Event{}, false
	}
	return ev, true
}
