package agent

import (
	"context"
	"fmt"
	"sync"

	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/watcher"
)

// Summary counts the outcomes of [Agent.Once].
type Summary struct {
	Uploaded  int // uploaded now
	Skipped   int // recorded as skipped now (cannot be uploaded as they are)
	Failed    int // failed now, permanently or to be retried by a later run
	Unsettled int // still being written: left for the next run

	// FailedTotal counts the files whose entry says failed at the end, from this run or earlier
	// ones (waiting for their retry time, or permanent until they change): what `run --once`'s
	// exit code reports.
	FailedTotal int
}

// Scanner lists every folder once and tells which files settled; *watcher.Watcher is one.
type Scanner interface {
	Scan(ctx context.Context) (ready, unsettled []watcher.File, err error)
}

var _ Scanner = (*watcher.Watcher)(nil)

// Once catches up on every folder and returns: it resumes unfinished uploads, retries failed files
// whose retry time has come, lists every folder with scan, uploads every file that has settled (a
// file still being written is left for the next run and counted as unsettled), and waits for
// processing. An account-level refusal ends it with an error instead of pausing, and so does a
// manifest that could not be written (its entries stay in memory for Close to write). For cron and
// NAS task schedulers.
func (a *Agent) Once(ctx context.Context, scan Scanner) (Summary, error) {
	s := a.newSession(modeOnce)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		fatalMu sync.Mutex
		fatal   error
	)
	s.fatal = func(err error) {
		fatalMu.Lock()
		if fatal == nil {
			fatal = err
		}
		fatalMu.Unlock()
		cancel(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { s.sched.run(ctx, s.submit) })
	for range a.opts.Workers {
		wg.Go(func() { s.worker(ctx) })
	}
	for range hookWorkers {
		wg.Go(func() { s.hookWorker(ctx) })
	}
	s.recover(ctx)
	ready, unsettled, err := scan.Scan(ctx)
	if err == nil {
		for _, f := range ready {
			fo := a.folderOf(f.Root, f.Path)
			if fo == nil {
				continue
			}
			if rel, rerr := manifest.Rel(fo.Path, f.Path); rerr == nil {
				s.enqueue(job{f: fo, rel: rel, abs: f.Path, size: f.Size, mtime: f.ModTime, kind: jobNew}, false)
			}
		}
		for _, f := range unsettled {
			a.log.Info().Str("path", human.Printable(f.Path)).Msg("still being written; left for the next run")
		}
		s.queue.waitIdle(ctx)
		s.hooks.waitIdle(ctx) // uploads queue hooks, hooks queue nothing
	}
	cancel(nil)
	wg.Wait()
	sum := Summary{
		Uploaded:  int(s.counts.uploaded.Load()),
		Skipped:   int(s.counts.skipped.Load()),
		Failed:    int(s.counts.failed.Load()),
		Unsettled: len(unsettled),
	}
	for _, f := range a.folders {
		for _, e := range f.store.Snapshot() {
			if e.State == manifest.Failed && !e.Deleted {
				sum.FailedTotal++
			}
		}
	}
	if err != nil {
		return sum, err
	}
	fatalMu.Lock()
	defer fatalMu.Unlock()
	if fatal != nil {
		return sum, fatal
	}
	for folder, p := range s.parkedFolders() {
		return sum, fmt.Errorf("folder %s: cannot write its manifest: %w", folder, p.Err)
	}
	return sum, nil
}
