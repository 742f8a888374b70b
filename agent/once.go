package agent

import (
	"context"
	"sync"
	"sync/atomic"

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

type counters struct{ uploaded, skipped, failed atomic.Int64 }

// Once catches up on every folder and returns: it resumes unfinished uploads, retries failed files
// whose retry time has come, scans every folder, uploads every file that has settled (a file still
// being written is left for the next run and counted as unsettled), and waits for processing. A
// credentials failure ends it with an error instead of pausing. For cron and NAS task schedulers.
func (a *Agent) Once(ctx context.Context) (Summary, error) {
	a.once = true
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var authMu sync.Mutex
	var authErr error
	a.onAuthFail = func(err error) {
		authMu.Lock()
		authErr = err
		authMu.Unlock()
		cancel(err)
	}

	var wg sync.WaitGroup
	for range a.opts.Workers {
		wg.Go(func() { a.worker(ctx) })
	}
	a.recover(ctx)
	ready, unsettled, err := watcher.Scan(ctx, a.watchOptions(), a.rootLog)
	if err == nil {
		for _, f := range ready {
			fo := a.folderOf(f.Root, f.Path)
			if fo == nil {
				continue
			}
			if rel, ok := relPath(fo.Path, f.Path); ok {
				a.enqueue(job{f: fo, rel: rel, abs: f.Path, size: f.Size, mtime: f.ModTime, kind: jobNew}, false)
			}
		}
		for _, f := range unsettled {
			a.log.Info().Str("path", f.Path).Msg("still being written; left for the next run")
		}
		a.queue.waitIdle(ctx)
	}
	cancel(nil)
	wg.Wait()
	sum := Summary{
		Uploaded:  int(a.counts.uploaded.Load()),
		Skipped:   int(a.counts.skipped.Load()),
		Failed:    int(a.counts.failed.Load()),
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
	authMu.Lock()
	defer authMu.Unlock()
	return sum, authErr
}
