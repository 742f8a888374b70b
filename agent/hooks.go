package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
)

// A folder's on_upload command runs after each upload of it is durable, at least once: the entry
// that records the upload also records the hook as pending, in the same write; the hook's outcome
// is recorded after it ran (done, pending again for a retry with backoff, or failed after the last
// attempt). A crash or a stop before that leaves it pending, and the next start runs it again.
// Hooks run in a pool of their own (hookWorkers), so that a slow command never holds an upload.

// hookWorkers is how many on_upload commands run at once.
const hookWorkers = 2

// hookPolicy is the retry policy of on_upload commands (hook.Policy's defaults: five runs, backoff
// from 30 s, full jitter).
var hookPolicy = hook.Policy{}

// hookJob returns the job that runs j's hook.
func hookJob(j job) job {
	return job{f: j.f, rel: j.rel, abs: j.abs, hook: true}
}

// hookWorker runs hooks from the session's hook queue until ctx is done.
func (s *session) hookWorker(ctx context.Context) {
	for {
		j, ok := s.hooks.pop(ctx)
		if !ok {
			return
		}
		s.runHook(ctx, j)
		s.hooks.done(j.key())
	}
}

// runHook runs the pending hook of j's entry, if it is due, and records its outcome.
func (s *session) runHook(ctx context.Context, j job) {
	if j.f.stopped.Load() != nil || len(j.f.OnUpload.Command) == 0 {
		return
	}
	e, ok := j.f.store.Get(j.rel)
	if !ok || e.Hook == nil || e.Hook.State != manifest.HookPending {
		return
	}
	now := s.a.now()
	if !hook.Due(e.Hook, now) {
		s.later(j, e.Hook.NextAttemptAt, false)
		return
	}
	log := s.a.log.With().Str("path", human.Printable(j.abs)).Logger()
	res := hook.Run(ctx, j.f.OnUpload, hook.Job{Folder: j.f.Path, Rel: j.rel, Entry: e, Attempt: e.Hook.Attempts + 1})
	if res.Status == hook.Canceled {
		return // stopping: still pending, it runs at the next start
	}
	next := hookPolicy.Next(*e.Hook, res, s.a.now(), rand.Float64())
	cur, ok := j.f.store.Get(j.rel)
	if !ok || cur.MediaIDString != e.MediaIDString {
		return // uploaded again meanwhile: the new upload's hook state stands
	}
	cur.Hook = &next
	s.commit(j, cur, func() {
		ev := log.Info()
		var herr error
		switch next.State {
		case manifest.HookDone:
			ev = ev.Dur("duration", res.Duration)
		case manifest.HookPending:
			ev = log.Warn().Str("reason", res.Summary()).Time("retry_at", next.NextAttemptAt)
			herr = errors.New(res.Summary())
		case manifest.HookFailed:
			ev = log.Error().Str("reason", res.Summary())
			herr = fmt.Errorf("on_upload failed after %d attempts: %s", next.Attempts, res.Summary())
		}
		if res.Output != "" {
			ev = ev.Str("output", res.Output)
		}
		if res.Note != "" {
			ev = ev.Str("note", res.Note)
		}
		ev.Int("attempt", next.Attempts).Msg("on_upload hook " + string(next.State))
		s.a.emit(Event{Kind: EventHook, Folder: j.f.Path, Rel: j.rel, Entry: cur, Err: herr})
		if next.State == manifest.HookPending {
			s.later(j, next.NextAttemptAt, false)
		}
	})
}

// queueHook queues j's hook to run now (in a direct upload: runs it here).
func (s *session) queueHook(ctx context.Context, j job) {
	hj := hookJob(j)
	if s.mode == modeDirect {
		s.runHook(ctx, hj)
		return
	}
	s.hooks.push(hj, false)
}

// RetryHooks runs again the on_upload command of every entry of folder ("" = every folder) whose
// hook failed for good, with a fresh set of attempts, and returns how many. While [Agent.Run] runs
// they are queued to its hook workers; otherwise they run here, one after the other, before it
// returns.
func (a *Agent) RetryHooks(ctx context.Context, folder string) (int, error) {
	fs, err := a.pick(folder)
	if err != nil {
		return 0, err
	}
	s := a.running.Load()
	if s == nil {
		s = a.newSession(modeDirect)
	}
	n := 0
	for _, f := range fs {
		if f.stopped.Load() != nil || len(f.OnUpload.Command) == 0 {
			continue
		}
		for rel, e := range f.store.Snapshot() {
			if e.Hook == nil || e.Hook.State != manifest.HookFailed {
				continue
			}
			h := hook.Retry(*e.Hook)
			e.Hook = &h
			j := job{f: f, rel: rel, abs: filepath.Join(f.Path, filepath.FromSlash(rel))}
			if err := s.commit(j, e, nil); err != nil {
				return n, err
			}
			s.queueHook(ctx, j)
			n++
		}
	}
	return n, nil
}
