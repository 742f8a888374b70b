package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mediasync/mediasync/internal/backoff"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/watcher"
)

// mode is what a session is for.
type mode int

const (
	modeRun    mode = iota // Run: watch until cancelled; retries and refreshes are scheduled
	modeOnce               // Once: catch up and return; a retry in the future is left for a later run
	modeDirect             // UploadFile without a running agent: the named file only
)

// session is one Run, Once or direct UploadFile over the agent's folders: its queue, its scheduled
// jobs, its account gate, its parked folders and its counts. Nothing of it outlives the call.
type session struct {
	a     *Agent
	mode  mode
	queue *queue
	hooks *queue // on_upload commands to run (hooks.go)
	sched *scheduler
	gate  *gate
	retry backoff.Policy // a failed file's next attempt
	flush backoff.Policy // a parked folder's next manifest write

	// fatal, set for Once and direct uploads, ends the session on an account refusal instead of
	// pausing (nobody would be there to see the pause end).
	fatal func(error)

	mu        sync.Mutex
	waitUntil time.Time // the last server-asked wait said in the log
	parked    map[*folder]*parking
	live      map[string]*transfer // uploads in flight, by job key (status.go)

	counts struct{ uploaded, skipped, failed atomic.Int64 }
}

func (a *Agent) newSession(m mode) *session {
	return &session{
		a:      a,
		mode:   m,
		queue:  newQueue(),
		hooks:  newQueue(),
		sched:  newScheduler(a.now),
		gate:   newGate(a.now, a.opts.AuthRetry),
		retry:  backoff.Policy{Base: a.opts.RetryBase, Max: a.opts.RetryMax, Min: a.opts.RetryBase / 2},
		flush:  backoff.Policy{Base: time.Second, Max: time.Minute, Min: time.Second / 2},
		parked: map[*folder]*parking{},
		live:   map[string]*transfer{},
	}
}

// Run uploads each file src reports, until ctx is cancelled. On start it resumes interrupted
// uploads and schedules the retries and refreshes recorded in the manifests. It returns nil on
// cancellation and an error only when src fails. Build src with [watcher.New] and
// [Agent.WatchOptions].
func (a *Agent) Run(ctx context.Context, src Source) error {
	s := a.newSession(modeRun)
	if !a.running.CompareAndSwap(nil, s) {
		return errors.New("agent: Run is already running")
	}
	defer a.running.Store(nil)
	g, ctx := errgroup.WithContext(ctx)
	ready := make(chan watcher.File, 256)
	g.Go(func() error { return src.Run(ctx, ready) })
	g.Go(func() error { s.dispatch(ctx, ready); return nil })
	g.Go(func() error { s.sched.run(ctx, s.submit); return nil })
	g.Go(func() error { s.watchLocks(ctx); return nil })
	for range a.opts.Workers {
		g.Go(func() error { s.worker(ctx); return nil })
	}
	for range hookWorkers {
		g.Go(func() error { s.hookWorker(ctx); return nil })
	}
	s.recover(ctx)
	err := g.Wait()
	if ctx.Err() != nil && (err == nil || errors.Is(err, context.Canceled)) {
		return nil
	}
	return err
}

// dispatch turns source output into jobs.
func (s *session) dispatch(ctx context.Context, in <-chan watcher.File) {
	for {
		select {
		case <-ctx.Done():
			return
		case wf := <-in:
			f := s.a.folderOf(wf.Root, wf.Path)
			if f == nil || f.stopped.Load() != nil {
				continue
			}
			rel, err := manifest.Rel(f.Path, wf.Path)
			if err != nil {
				// Reported once: the watcher emits each version of a file once per run.
				s.a.log.Error().Str("path", human.Printable(wf.Path)).Err(err).Msg("cannot record this file in the manifest; rename it to upload it")
				continue
			}
			kind := jobNew
			if wf.Removed {
				kind = jobRemoved
			}
			s.enqueue(job{f: f, rel: rel, abs: wf.Path, size: wf.Size, mtime: wf.ModTime, kind: kind}, false)
		}
	}
}

// submit hands a job whose time came to its queue: a parked folder's next write goes first, a hook
// to the hook workers, any other file to the upload workers.
func (s *session) submit(j job) {
	switch {
	case j.hook:
		s.hooks.push(j, false)
	default:
		s.enqueue(j, j.flush)
	}
}

func (s *session) enqueue(j job, front bool) {
	s.queue.push(j, front)
	s.observeQueue()
}

func (s *session) observeQueue() {
	if s.a.opts.Observer != nil {
		s.a.emit(Event{Kind: EventQueue, Queue: s.queue.len()})
	}
}

// put, putMany and stage write entries to f's manifest (see manifest.Store) and report each
// entry written to the observer.
func (s *session) put(f *folder, rel string, e manifest.Entry) error {
	if err := f.store.Put(rel, e); err != nil {
		return err
	}
	s.written(f, rel)
	return nil
}

func (s *session) putMany(f *folder, entries map[string]manifest.Entry) error {
	if err := f.store.PutMany(entries); err != nil {
		return err
	}
	for rel := range entries {
		s.written(f, rel)
	}
	return nil
}

func (s *session) stage(f *folder, rel string, e manifest.Entry) error {
	if err := f.store.Stage(rel, e); err != nil {
		return err
	}
	s.written(f, rel)
	return nil
}

func (s *session) written(f *folder, rel string) {
	if s.a.opts.Observer == nil {
		return
	}
	if e, ok := f.store.Get(rel); ok {
		s.a.emit(Event{Kind: EventEntry, Folder: f.Path, Rel: rel, Entry: e})
	}
}

// worker processes jobs until ctx is cancelled.
func (s *session) worker(ctx context.Context) {
	for {
		ok, probe := s.gate.wait(ctx)
		if !ok {
			return
		}
		if probe {
			s.probe(ctx)
			continue
		}
		j, ok := s.queue.pop(ctx)
		if !ok {
			return
		}
		if j.flush {
			s.flushParked(ctx, j.f)
		} else if !s.hold(j) {
			e, err := s.process(ctx, j)
			if j.reply != nil {
				j.reply(e, err)
			}
		}
		s.queue.done(j.key())
		s.observeQueue()
	}
}

// recover queues, for every folder, the uploads a previous run left unfinished and the retries and
// refreshes it scheduled, and flags entries whose file is gone.
func (s *session) recover(ctx context.Context) {
	for _, f := range s.a.folders {
		gone := map[string]manifest.Entry{} // removed while the agent was stopped: flagged in one write
		for rel, e := range f.store.Snapshot() {
			if ctx.Err() != nil {
				return
			}
			abs := filepath.Join(f.Path, filepath.FromSlash(rel))
			j := job{f: f, rel: rel, abs: abs, size: e.Size, mtime: e.MTime}
			switch {
			case e.State == manifest.Uploading || e.State == manifest.Processing:
				j.kind = jobResume
				s.enqueue(j, true)
				continue
			case e.State == manifest.Failed && e.Error != nil && !e.Error.Permanent:
				j.kind = jobRetry
				s.later(j, e.NextAttemptAt, false)
			case e.State == manifest.Uploaded && f.RefreshBeforeExpiry > 0:
				j.kind = jobRefresh
				s.later(j, e.ExpiresAt.Add(-f.RefreshBeforeExpiry), false)
			}
			if e.Hook != nil && e.Hook.State == manifest.HookPending && len(f.OnUpload.Command) > 0 {
				// Recorded but not run to its end (a crash, a stop): at least once means now.
				s.later(hookJob(j), e.Hook.NextAttemptAt, false)
			}
			if e.Deleted || e.MovedTo != "" {
				continue
			}
			present := exists(j)
			switch {
			case !present:
				e.Deleted = true
				gone[rel] = e
			case f.MoveTo != "" && e.State == manifest.Uploaded:
				// Stopped between recording the upload and moving the file: decide moves it now.
				s.enqueue(job{f: f, rel: rel, abs: abs, size: e.Size, mtime: e.MTime, kind: jobRetry}, false)
			}
		}
		if len(gone) == 0 {
			continue
		}
		if err := s.putMany(f, gone); err != nil {
			for rel, e := range gone { // one by one, through the parking of a manifest that cannot be written
				abs := filepath.Join(f.Path, filepath.FromSlash(rel))
				s.enqueue(job{f: f, rel: rel, abs: abs, size: e.Size, mtime: e.MTime, kind: jobRemoved}, false)
			}
			continue
		}
		s.a.log.Info().Str("folder", f.Path).Int("files", len(gone)).Msg("files removed while the agent was stopped; their entries are kept, flagged deleted")
	}
}

// later runs j at at: now if at has passed; in Run, from the scheduler; in Once and direct uploads,
// a time in the future is left for a later run.
func (s *session) later(j job, at time.Time, outage bool) {
	if !at.After(s.a.now()) {
		s.submit(j)
		return
	}
	if s.mode != modeRun {
		return
	}
	s.sched.add(j, at, outage)
}

// lockCheckEvery is how often a running agent checks that it still holds each manifest's lock.
const lockCheckEvery = 5 * time.Second

// watchLocks checks every folder's manifest lock every few seconds (and the uploads check it
// before they start), so that deleting .mediasync while the agent runs cannot let a second agent
// upload the same files (issue 17.5).
func (s *session) watchLocks(ctx context.Context) {
	t := time.NewTicker(lockCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			for _, f := range s.a.folders {
				s.checkLock(f)
			}
		}
	}
}

// checkLock returns nil while the agent holds f's lock (retaking it if it was lost), else stops f.
func (s *session) checkLock(f *folder) error {
	if p := f.stopped.Load(); p != nil {
		return *p
	}
	err := f.store.CheckLock()
	if errors.Is(err, manifest.ErrLocked) {
		s.stopFolder(f, err)
	}
	return err
}

// stopFolder gives f up: another agent holds its lock now. Nothing more is uploaded or recorded for
// it; its queued files are dropped as they come up.
func (s *session) stopFolder(f *folder, err error) {
	err = fmt.Errorf("folder %s: %w; this agent stopped working on it", f.Path, err)
	if f.stopped.CompareAndSwap(nil, &err) {
		s.a.log.Error().Err(err).Str("folder", f.Path).Msg("another mediasync took this folder's manifest lock; the folder is left to it")
		s.a.emit(Event{Kind: EventRefused, Folder: f.Path, Err: err})
	}
}

// Status of a running agent: see status.go. Errors of the session's parts are never fatal to it.

// errFolderParked is what an explicit request for a file of a parked folder gets.
var errFolderParked = errors.New("its folder's manifest cannot be written")
