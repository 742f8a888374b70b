package agent

import (
	"context"
	"errors"
	"time"

	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
)

// A folder whose manifest cannot be written (a full disk, a read-only or vanished mount) is parked:
// what it must record waits in memory, its other files wait unprocessed, and the workers go on with
// the other folders. One worker tries the write again on a growing backoff; the first success
// writes everything that waited, runs what had to follow each commit (logging, moving the file),
// and queues the held files. Nothing is counted as uploaded before its entry is durable.

// parking is one parked folder's state, guarded by session.mu.
type parking struct {
	err      error
	since    time.Time
	attempts int
	gen      uint64                   // bumped by every commit that waits
	pending  map[string]pendingCommit // rel → the newest entry to write
	held     []job                    // jobs that arrived while parked
}

type pendingCommit struct {
	e    manifest.Entry
	then []func() // run in order once e is durable
	gen  uint64
}

func (p *parking) add(rel string, e manifest.Entry, then func()) {
	p.gen++
	pc := p.pending[rel]
	pc.e, pc.gen = e, p.gen
	if then != nil {
		pc.then = append(pc.then, then)
	}
	p.pending[rel] = pc
}

// commit makes e durable as j's entry and then runs then (may be nil). While j's folder is parked,
// or when this write fails and parks it, e and then wait for the folder's next successful write
// and commit returns the write's error; then never runs before e is durable. An entry the manifest
// refuses (ErrInvalid) is logged and dropped. A direct upload (no running session to retry it)
// returns the error without parking; the entry stays in the store's memory for Close to write.
func (s *session) commit(j job, e manifest.Entry, then func()) error {
	s.mu.Lock()
	if p := s.parked[j.f]; p != nil {
		p.add(j.rel, e, then)
		err := p.err
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()
	err := s.put(j.f, j.rel, e)
	switch {
	case err == nil:
		if then != nil {
			then()
		}
		return nil
	case errors.Is(err, manifest.ErrLocked):
		s.stopFolder(j.f, err) // another agent took the folder's lock: it is its folder now
		return err
	case errors.Is(err, manifest.ErrInvalid):
		// The entry itself is refused: no retry can help, and retrying would hold the folder.
		s.a.log.Error().Str("path", human.Printable(j.abs)).Err(err).Msg("cannot record this file in the manifest")
		return err
	case s.mode == modeDirect:
		return err
	}
	s.park(j.f, err, func(p *parking) { p.add(j.rel, e, then) })
	return err
}

// park marks f parked (once) and lets add record what waits.
func (s *session) park(f *folder, err error, add func(*parking)) {
	s.mu.Lock()
	p := s.parked[f]
	first := p == nil
	if first {
		p = &parking{err: err, since: s.a.now(), pending: map[string]pendingCommit{}}
		s.parked[f] = p
	}
	add(p)
	s.mu.Unlock()
	if first {
		s.a.log.Error().Err(err).Str("folder", f.Path).Str("manifest", f.Manifest).
			Msg("cannot write manifest; retrying; this folder's uploads wait, the other folders carry on")
		s.a.emit(Event{Kind: EventParked, Folder: f.Path, Err: err})
		s.scheduleFlush(f, 1)
	}
}

func (s *session) scheduleFlush(f *folder, attempt int) {
	s.sched.add(job{f: f, flush: true}, s.a.now().Add(s.flush.Delay(attempt)), false)
}

// hold keeps j for later if its folder is parked, and reports whether it did. A request someone
// waits on is answered at once instead.
func (s *session) hold(j job) bool {
	if p := j.f.stopped.Load(); p != nil { // the folder belongs to another agent now: drop the job
		if j.reply != nil {
			j.reply(manifest.Entry{}, *p)
		}
		return true
	}
	s.mu.Lock()
	p := s.parked[j.f]
	if p == nil {
		s.mu.Unlock()
		return false
	}
	if j.reply != nil {
		err := p.err
		s.mu.Unlock()
		j.reply(manifest.Entry{}, errors.Join(errFolderParked, err))
		return true
	}
	for i := range p.held {
		if p.held[i].key() == j.key() {
			p.held[i] = j
			s.mu.Unlock()
			return true
		}
	}
	p.held = append(p.held, j)
	s.mu.Unlock()
	return true
}

// flushParked tries to write what f's parked commits wait for; on success it unparks f.
func (s *session) flushParked(ctx context.Context, f *folder) {
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	p := s.parked[f]
	if p == nil {
		s.mu.Unlock()
		return
	}
	gen := p.gen
	entries := make(map[string]manifest.Entry, len(p.pending))
	for rel, pc := range p.pending {
		entries[rel] = pc.e
	}
	s.mu.Unlock()

	var err error
	if len(entries) > 0 {
		err = s.putMany(f, entries)
	} else if fl, ok := f.store.(interface{ Flush() error }); ok {
		err = fl.Flush()
	}

	s.mu.Lock()
	if err != nil {
		p.attempts++
		p.err = err
		attempts := p.attempts
		s.mu.Unlock()
		s.a.log.Debug().Err(err).Str("folder", f.Path).Int("attempt", attempts).Msg("manifest still cannot be written")
		s.scheduleFlush(f, attempts+1)
		return
	}
	var thens []func()
	for rel, pc := range p.pending {
		if pc.gen <= gen { // written now; a newer commit for rel waits for the next flush
			thens = append(thens, pc.then...)
			delete(p.pending, rel)
		}
	}
	var held []job
	unparked := len(p.pending) == 0
	if unparked {
		delete(s.parked, f)
		held = p.held
	}
	since := p.since
	s.mu.Unlock()

	if !unparked {
		s.scheduleFlush(f, 0) // commits that arrived during this write: write them too
	} else {
		s.a.log.Info().Str("folder", f.Path).Dur("parked_for", s.a.now().Sub(since)).Int("held", len(held)).
			Msg("manifest written again; folder resumed")
		s.a.emit(Event{Kind: EventUnparked, Folder: f.Path})
	}
	for _, then := range thens {
		then()
	}
	for _, j := range held {
		s.enqueue(j, false)
	}
}

// parkedFolders returns the parked folders and why, for Status and Once.
func (s *session) parkedFolders() map[string]Parked {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Parked, len(s.parked))
	for f, p := range s.parked {
		out[f.Path] = Parked{Err: p.err, Since: p.since}
	}
	return out
}
