package watcher

import (
	"context"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// Scan lists every root once, without watching, for one-shot runs
// (mediasync run --once). It returns the files that are ready, unchanged
// across a settle period, and the ones still changing (unsettled, with
// their current size and mtime), each in the order found. Files that
// opts.Skip reports as known are in neither; ignore, Exclude, Match and
// symlink rules are those of Run.
//
// Every candidate is stat'ed when listed and again one settle period later
// (NetworkSettleFor on a network root, whatever the mode), so Scan waits that
// long once, and not at all when nothing needs it. A root that does not
// exist is logged and skipped, not an error. Scan returns ctx.Err() if ctx
// is cancelled first, and an *Error for invalid options.
func Scan(ctx context.Context, opts Options, log zerolog.Logger) (ready, unsettled []File, err error) {
	w, err := New(opts, log)
	if err != nil {
		return nil, nil, err
	}
	return w.scanOnce(ctx)
}

// Scan is the package-level [Scan] over w's options: one listing of every root, one settle
// period. It may run while no Run does.
func (w *Watcher) Scan(ctx context.Context) (ready, unsettled []File, err error) {
	return w.scanOnce(ctx)
}

func (w *Watcher) scanOnce(ctx context.Context) (ready, unsettled []File, err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	r := newRun(w)
	r.oneShot = true
	for _, rs := range r.roots {
		rs.mode, rs.why, rs.decided = modePoll, "one-shot scan", true
		if _, remote, err := w.fsType(rs.Path); err == nil && remote { // whatever the mode
			r.set.setRootSettle(rs.Path, w.opts.NetworkSettleFor)
		}
	}
	begin := time.Now()
	r.scanRoots(begin, func(*rootState) bool { return true })
	var cands []File
	if r.set.pending() > 0 {
		last := latest(r.set)
		cands = r.set.due(last) // every candidate, earliest first
		timer := time.NewTimer(time.Until(last))
		defer timer.Stop()
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-timer.C:
		}
	}
	for _, f := range cands {
		info, err := os.Lstat(f.Path)
		if err != nil || !info.Mode().IsRegular() {
			continue // gone meanwhile: nothing to upload
		}
		if stampOf(info.Size(), info.ModTime()) == stampOf(f.Size, f.ModTime) {
			ready = append(ready, f)
			continue
		}
		f.Size, f.ModTime = info.Size(), info.ModTime()
		unsettled = append(unsettled, f)
	}
	r.log.Info().Int("ready", len(ready)).Int("unsettled", len(unsettled)).
		Dur("duration", time.Since(begin)).Msg("one-shot scan done")
	return ready, unsettled, nil
}

// latest returns the latest deadline pending in s.
func latest(s *settler) time.Time {
	var t time.Time
	for _, c := range s.q {
		if c.deadline.After(t) {
			t = c.deadline
		}
	}
	return t
}
