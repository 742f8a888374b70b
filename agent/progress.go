package agent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// progressEvery is the least time between two progress lines of one upload in the log.
const progressEvery = 10 * time.Second

// recorder saves a chunked upload's progress as the uploader reports it, so that a crash or a stop
// resumes it, and shows it (the live status, a log line at most every progressEvery, the explicit
// caller's progress bar). The uploader may report from several segment goroutines; the entry only
// moves forward, so a late report of fewer segments never overwrites a later one.
type recorder struct {
	s    *session
	p    *plan
	log  zerolog.Logger
	stop context.CancelCauseFunc
	t    *transfer

	mu      sync.Mutex
	last    *manifest.Resume
	logged  time.Time
	logFrom int64 // bytes at the last progress line
}

func (s *session) newRecorder(p *plan, log zerolog.Logger) *recorder {
	t := &transfer{folder: p.j.f.Path, rel: p.j.rel, total: p.media.Size, started: s.a.now(), phase: PhaseUploading}
	s.mu.Lock()
	s.live[p.j.key()] = t
	s.mu.Unlock()
	return &recorder{s: s, p: p, log: log, t: t, logged: t.started}
}

// close removes the upload from the live status.
func (r *recorder) close() {
	r.s.mu.Lock()
	delete(r.s.live, r.p.j.key())
	r.s.mu.Unlock()
}

// resume returns the last progress seen, for the entry of a failed attempt.
func (r *recorder) resume() *manifest.Resume {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// progress is the uploader's progress callback.
func (r *recorder) progress(p uploader.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.last != nil && r.last.MediaID == p.MediaID && (r.last.Finalized || len(p.Acked) < len(r.last.Acked)) && !p.Finalized {
		return
	}
	size := r.p.media.Size
	e := r.p.base
	e.State = manifest.Uploading
	if p.Finalized {
		e.State = manifest.Processing
	}
	// The media id must be durable before FINALIZE can happen (so a restart finalizes the same id
	// instead of uploading again), and so must the finalized state; a lost acknowledgement costs
	// only the re-sending of a segment, so those are written with the next write. The last
	// acknowledgement is made durable too: FINALIZE follows it, and a restart then only re-sends
	// FINALIZE instead of segments of a media id that may be finalized already.
	durable := p.Finalized || r.last == nil || r.last.MediaID != p.MediaID || int64(len(p.Acked))*p.ChunkSize >= size
	r.last = toResume(p)
	e.Resume = r.last
	done := min(int64(len(p.Acked))*p.ChunkSize, size)
	r.show(p, done, size)
	if r.p.act.Replace {
		return // the entry keeps the valid id; this upload's progress lives in memory only
	}
	put := r.s.stage
	if durable {
		put = r.s.put
	}
	if err := put(r.p.j.f, r.p.j.rel, e); err != nil {
		r.log.Warn().Err(err).Bool("durable", durable).Msg("cannot save upload progress")
		if durable && r.stop != nil {
			r.stop(fmt.Errorf("save upload progress: %w", err))
		}
	}
}

// show updates the live status, the caller's progress bar and, at most every progressEvery, the log.
func (r *recorder) show(p uploader.Progress, done, size int64) {
	segs := 0
	if p.ChunkSize > 0 {
		segs = int((size + p.ChunkSize - 1) / p.ChunkSize)
	}
	phase := PhaseUploading
	if p.Finalized {
		phase, done = PhaseProcessing, size
	}
	r.s.mu.Lock()
	r.t.bytes, r.t.segments, r.t.segmentsTotal, r.t.phase = done, len(p.Acked), segs, phase
	r.s.mu.Unlock()
	if cb := r.p.j.override.OnProgress; cb != nil {
		cb(done, size)
	}
	now := r.s.a.now()
	if p.Finalized || now.Sub(r.logged) < progressEvery {
		return
	}
	rate := float64(done-r.logFrom) / now.Sub(r.logged).Seconds()
	ev := r.log.Info().Str("media_id", p.MediaID).Float64("percent", float64(int(1000*float64(done)/float64(size)))/10).
		Int("segments", len(p.Acked)).Int("of", segs).Str("rate", fmt.Sprintf("%.1f MB/s", rate/1e6))
	if rate > 0 {
		ev = ev.Dur("eta", time.Duration(float64(size-done)/rate*float64(time.Second)).Round(time.Second))
	}
	ev.Msg("uploading")
	r.logged, r.logFrom = now, done
}
