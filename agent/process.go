package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// process takes one file from "seen" to a durable manifest entry: it opens the file, decides
// (decide.go), and prepares, transfers and commits an upload when one is due. It returns the entry
// as it stands afterwards and, when the attempt failed, why (recorded or not). Every outcome is
// recorded in the manifest and logged once.
func (s *session) process(ctx context.Context, j job) (manifest.Entry, error) {
	log := s.a.log.With().Str("path", human.Printable(j.abs)).Logger()
	prev, had := j.f.store.Get(j.rel)
	req := request{Kind: j.kind, Explicit: j.explicit, Size: j.size, MTime: j.mtime,
		RefreshBefore: j.f.RefreshBeforeExpiry, MovePending: j.f.MoveTo != ""}

	file, obs, err := openFile(j)
	if err != nil {
		// Most often a permission problem: retried with growing delays, so fixing the permissions
		// is enough, and the reason is in the manifest meanwhile.
		return s.fail(ctx, j, prev, keepOnFailure(j, prev, had), fmt.Errorf("open: %w", err), log)
	}
	if file != nil {
		defer file.Close()
	}
	act := decide(prev, had, obs, req, s.a.now())
	var sums *uploader.Sums
	if act.Kind == actHash {
		// One read gives the file's SHA-256 and its segments', which the uploader then checks the
		// bytes it sends against: what is recorded is what X got (issue 17.2).
		sm, err := s.a.up.HashFile(ctx, file, obs.Size)
		if err != nil {
			if ctx.Err() != nil {
				return prev, ctx.Err()
			}
			return s.fail(ctx, j, prev, keepOnFailure(j, prev, had), fmt.Errorf("read: %w", err), log)
		}
		sums, obs.SHA256 = &sm, sm.Hex()
		act = decide(prev, had, obs, req, s.a.now())
	}
	switch act.Kind {
	case actNothing:
		return prev, nil
	case actWaitSettle:
		log.Debug().Msg("file changed after it settled; waiting for it to settle again")
		return prev, nil
	case actSchedule:
		j.kind = jobRetry
		s.later(j, act.At, false)
		return prev, nil
	case actFlagRemoved:
		prev.Deleted = true
		s.commit(j, prev, func() { log.Info().Str("state", string(prev.State)).Msg("file removed; entry kept") })
		return prev, nil
	case actKeep:
		return s.keep(j, prev, log), nil
	case actTouch:
		prev.Size, prev.MTime, prev.Deleted = obs.Size, obs.MTime, false
		s.commit(j, prev, func() { log.Info().Str("media_id", prev.MediaIDString).Msg("content unchanged; entry kept") })
		return prev, nil
	}
	p, err := s.prepare(ctx, j, prev, had, file, obs, act, sums, log)
	defer p.fit.close()
	if err != nil {
		if ctx.Err() != nil {
			return prev, ctx.Err()
		}
		return s.fail(ctx, j, prev, p.base, err, log)
	}
	if err := s.checkLock(j.f); err != nil && errors.Is(err, manifest.ErrLocked) {
		return prev, err // another agent took the folder: not one byte for it from here
	}
	res, err := s.transfer(ctx, p, log)
	return s.finish(ctx, p, res, err, log)
}

// keep does the bookkeeping of an entry that still stands for its file: clear a deleted flag, and
// finish a move that a stop interrupted.
func (s *session) keep(j job, e manifest.Entry, log zerolog.Logger) manifest.Entry {
	if e.Deleted {
		e.Deleted = false
		s.commit(j, e, nil)
	}
	if e.State == manifest.Uploaded && e.MovedTo == "" && j.f.MoveTo != "" {
		s.afterUpload(j, e, log)
	}
	return e
}

// plan is an upload about to be sent: the open file, what it was when hashed, and the entry and
// media description to send it with.
type plan struct {
	j       job
	prev    manifest.Entry
	act     action
	file    *os.File // the file in the folder
	obs     observation
	fit     *fitted        // the derivative sent instead of file, if any (fit.go)
	src     io.ReaderAt    // what is sent: file, or the derivative
	base    manifest.Entry // the entry every outcome builds on
	media   uploader.Media
	started time.Time
}

// prepare turns an actUpload into a plan: the derivative to send instead of a photo X would refuse
// (fit.go), the media type from the bytes, the category and its limits (uploader.PrepareFile),
// the alt text. An error is the file's: base is still valid for recording it.
func (s *session) prepare(ctx context.Context, j job, prev manifest.Entry, had bool, file *os.File, obs observation, act action,
	sums *uploader.Sums, log zerolog.Logger) (*plan, error) {
	p := &plan{j: j, prev: prev, act: act, file: file, src: file, obs: obs, started: s.a.now()}
	p.base = manifest.Entry{Size: obs.Size, MTime: obs.MTime, SHA256: obs.SHA256, API: s.a.opts.API, Attempts: act.Attempts}
	if had && prev.SHA256 == obs.SHA256 {
		p.base.Resume = prev.Resume // kept through a failure before the upload resumes
	}
	category := j.f.Category
	if j.override.Category != "" {
		category = j.override.Category
	}
	size := obs.Size
	d, err := s.fitIfNeeded(ctx, p, category, log)
	if err != nil {
		return p, err
	}
	if d != nil {
		p.fit, p.src, size = d, d.file, d.result.Bytes
		p.base.Fitted = fittedEntry(d.result)
		sm, err := s.a.up.HashFile(ctx, d.file, size)
		if err != nil {
			return p, fmt.Errorf("read the fitted copy: %w", err)
		}
		sums = &sm
	}
	if p.act.Resume && (prev.Fitted == nil) != (d == nil) || d != nil && prev.Fitted != nil && prev.Fitted.SHA256 != d.result.SHA256 {
		// The recorded upload sent other bytes (the original where a derivative goes now, or the
		// other way round, or a derivative made differently): start over.
		p.act.Resume, p.base.Resume = false, nil
	}
	mtype, err := uploader.Detect(p.src, size)
	if err != nil && !uploader.IsPermanent(err) {
		return p, fmt.Errorf("detect type: %w", err)
	}
	p.base.MediaType = mtype
	m := uploader.Media{
		Name:             filepath.Base(j.abs),
		Size:             size,
		Type:             mtype,
		Category:         category,
		AdditionalOwners: j.f.AdditionalOwners,
		Sums:             sums,
	}
	if err == nil {
		m, err = s.a.up.PrepareFile(p.src, m)
	}
	p.media = m
	if err != nil {
		if m.Category != "auto" {
			p.base.MediaCategory = m.Category
		}
		return p, err
	}
	p.base.MediaType, p.base.MediaCategory = m.Type, m.Category

	text, src, truncated, err := alttext.Find(j.abs, j.f.AltText)
	if j.override.AltText != "" {
		text, src, truncated, err = j.override.AltText, "flag", false, nil
	}
	switch {
	case err != nil:
		log.Warn().Err(err).Msg("cannot read alt text; uploading without it")
	case text != "":
		p.media.AltText, p.base.AltText = text, text
		ev := log.Debug()
		if truncated {
			ev = log.Warn()
		}
		ev.Str("source", string(src)).Bool("truncated", truncated).Msg("alt text found")
	}
	return p, nil
}

// transfer sends the planned upload, recording its progress as it goes (progress.go).
func (s *session) transfer(ctx context.Context, p *plan, log zerolog.Logger) (uploader.Result, error) {
	rec := s.newRecorder(p, log)
	defer rec.close()
	// A progress write that must be durable and fails stops the upload: going on would let a crash
	// upload the file a second time.
	uctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	rec.stop = stop
	var (
		res uploader.Result
		err error
	)
	if p.act.Resume {
		r := p.prev.Resume
		rec.last = r
		log.Info().Str("media_id", r.MediaID).Int("segments_done", len(r.Acked)).Msg("resuming upload")
		res, err = s.a.up.Resume(uctx, p.src, p.media, fromResume(r), rec.progress)
	} else {
		res, err = s.a.up.Upload(uctx, p.src, p.media, rec.progress)
	}
	if err != nil && ctx.Err() == nil && uctx.Err() != nil {
		err = context.Cause(uctx) // stopped because its progress could not be saved: retried later
	}
	if err != nil && res.MediaIDString != "" && ctx.Err() == nil {
		// The media is uploaded; only setting its alt text failed. The media id stands.
		log.Warn().Err(err).Str("media_id", res.MediaIDString).Msg("uploaded, but the alt text could not be set")
		p.base.AltText, err = "", nil
	}
	if err != nil {
		p.base.Resume = rec.resume()
	}
	return res, err
}

// finish records the outcome of a transfer: the uploaded entry once the bytes on disk are still the
// ones sent, or the failure.
func (s *session) finish(ctx context.Context, p *plan, res uploader.Result, err error, log zerolog.Logger) (manifest.Entry, error) {
	j := p.j
	if err != nil {
		if ctx.Err() != nil {
			return p.prev, ctx.Err() // stopping: the progress saved so far lets the next run resume
		}
		return s.fail(ctx, j, p.prev, p.base, err, log)
	}
	s.accepted(log)

	e := p.base
	e.State = manifest.Uploaded
	e.Resume = nil
	e.MediaIDString, e.MediaKey, e.ExpiresAt = res.MediaIDString, res.MediaKey, res.ExpiresAt
	e.UploadedAt = s.a.now()
	if res.API != "" {
		e.API = res.API
	}
	if res.Category != "" {
		e.MediaCategory = res.Category
	}

	// The bytes sent were read through the open file: judge a change by it, not by the path.
	if changed, err := changedSince(p.file, p.obs); err == nil && changed {
		if same, herr := sameBytes(ctx, p.file, p.obs); herr == nil && same {
			if fi, err := p.file.Stat(); err == nil {
				e.MTime = fi.ModTime() // touched, not changed: the upload stands
			}
		} else {
			log.Warn().Str("media_id", res.MediaIDString).Msg("file changed during upload; it will be uploaded again once it settles")
			if !p.act.Replace {
				pending := p.base
				pending.State, pending.Resume = manifest.Pending, nil
				s.commit(j, pending, nil)
			}
			return p.prev, errors.New("file changed during upload")
		}
	}
	if !exists(j) {
		e.Deleted = true // read whole through the open file; the media stands
	}
	if len(j.f.OnUpload.Command) > 0 {
		e.Hook = hook.Pending() // in the same write as the upload: at least once
		if p.act.Replace && p.prev.SHA256 == e.SHA256 && p.prev.Hook != nil && p.prev.Hook.State == manifest.HookDone {
			// The same bytes uploaded again to renew an expiring id (refresh_before_expiry, or an
			// explicit upload): the posting step has seen them already.
			e.Hook = p.prev.Hook
		}
	}
	d := s.a.now().Sub(p.started)
	s.commit(j, e, func() {
		log.Info().Str("media_id", e.MediaIDString).Str("media_key", e.MediaKey).Int64("bytes", e.Size).
			Dur("duration", d).Int("attempt", e.Attempts).Time("expires_at", e.ExpiresAt).Msg("uploaded")
		s.observe(j, OutcomeUploaded, e, d)
		if j.f.RefreshBeforeExpiry > 0 {
			s.later(job{f: j.f, rel: j.rel, abs: j.abs, size: e.Size, mtime: e.MTime, kind: jobRefresh},
				e.ExpiresAt.Add(-j.f.RefreshBeforeExpiry), false)
		}
		if !e.Deleted {
			s.afterUpload(j, e, log)
		}
		if e.Hook != nil && e.Hook.State == manifest.HookPending {
			s.queueHook(ctx, j) // after the move: the hook sees where the file is
		}
	})
	return e, nil
}

// accepted is called when X answered without refusing the account: a pause ends, and retries that
// wait because X or the network failed are brought forward.
func (s *session) accepted(log zerolog.Logger) {
	if s.gate.accepted() {
		log.Info().Msg("X accepts the account again; uploads resumed")
		s.observeAuth(false, nil)
	}
	s.forward(log)
}

// forward brings the retries of an outage forward: X answers normally again.
func (s *session) forward(log zerolog.Logger) {
	if n := s.sched.forward(s.a.now()); n > 0 {
		log.Info().Int("files", n).Msg("X answers again; retries brought forward")
	}
}

// wait handles a server-asked wait longer than the uploader sleeps in a call (a spent 15-minute or
// 24-hour budget, a long Retry-After): the file waits in the scheduler until then, its progress
// kept, no attempt counted, and the worker goes on with other files. Said once per wait.
func (s *session) wait(j job, we *uploader.WaitError, log zerolog.Logger) {
	s.mu.Lock()
	first := we.Until.Sub(s.waitUntil) > time.Minute || s.waitUntil.Sub(we.Until) > time.Minute
	if first {
		s.waitUntil = we.Until
	}
	s.mu.Unlock()
	if first {
		log.Warn().Str("op", we.Op).Str("reason", we.Reason).Time("resume_at", we.Until).
			Msg("X asks to wait before more uploads; the files that hit the limit resume then, nothing fails")
	}
	if j.reply != nil {
		return
	}
	s.later(j, we.Until, false)
}

// fail records an upload that did not succeed: skipped when the file can never be uploaded as it is,
// failed and not retried when X refused it for good, failed and retried later otherwise. An
// account-level refusal records nothing: it pauses all uploads and the job waits for the next
// probe. It returns the entry as it stands and err.
func (s *session) fail(ctx context.Context, j job, prev, e manifest.Entry, err error, log zerolog.Logger) (manifest.Entry, error) {
	var we *uploader.WaitError
	if errors.As(err, &we) {
		s.wait(j, we, log)
		return prev, err
	}
	if uploader.IsAuth(err) {
		s.refused(j, err, log)
		return prev, err
	}
	var ae *uploader.APIError
	if errors.As(err, &ae) {
		if s.gate.accepted() { // X answered, and not about the account
			log.Info().Msg("X accepts the account again; uploads resumed")
			s.observeAuth(false, nil)
		}
		if !outage(err) {
			s.forward(log)
		}
	}
	if prev.Usable(s.a.now()) && prev.Size == e.Size && prev.MTime.Equal(e.MTime) {
		// Replacing a media id that is still valid failed: keep the valid one and try again later.
		wait := s.retry.Delay(1)
		log.Warn().Err(err).Str("media_id", prev.MediaIDString).Time("valid_until", prev.ExpiresAt).Dur("retry_in", wait).
			Msg("could not upload the file again; its current media id stays in the manifest")
		s.observe(j, OutcomeRetry, prev, 0)
		if j.kind == jobRefresh {
			s.later(j, s.a.now().Add(wait), outage(err))
		}
		return prev, err
	}
	if errors.Is(err, uploader.ErrUnsupported) || errors.Is(err, uploader.ErrTooLarge) || errors.Is(err, uploader.ErrEmpty) {
		e.State = manifest.Skipped
		e.Reason = reasonText(err, uploader.Media{Name: filepath.Base(j.abs), Size: e.Size, Type: e.MediaType, Category: e.MediaCategory})
		e.Resume, e.Error = nil, nil
		s.commit(j, e, func() {
			log.Warn().Str("reason", e.Reason).Msg("skipped: it will not be uploaded as it is")
			s.observe(j, OutcomeSkipped, e, 0)
		})
		return e, err
	}
	e.State = manifest.Failed
	e.Error = toError(err)
	if e.Error.Permanent {
		e.Resume = nil
		s.commit(j, e, func() {
			log.Error().Err(err).Int("attempt", e.Attempts).Msg("upload failed; not retried until the file changes")
			s.observe(j, OutcomeFailed, e, 0)
		})
		return e, err
	}
	wait := s.retry.Delay(e.Attempts)
	e.NextAttemptAt = s.a.now().Add(wait)
	out := outage(err)
	s.commit(j, e, func() {
		log.Warn().Err(err).Int("attempt", e.Attempts).Dur("retry_in", wait).Msg("upload failed; will retry")
		s.observe(j, OutcomeRetry, e, 0)
		j.kind = jobRetry
		s.later(j, e.NextAttemptAt, out)
	})
	return e, err
}

// refused handles an account-level refusal: in Run, every upload pauses (one log line per pause)
// and the job goes back to the front of the queue; in Once and direct uploads, the session ends.
func (s *session) refused(j job, err error, log zerolog.Logger) {
	pe := pauseError(err)
	if s.fatal != nil {
		log.Error().Err(err).Str("refusal", string(pe.Refusal)).Msg("X refuses the account: " + pe.Advice)
		s.fatal(pe)
		return
	}
	s.pause(pe, log)
	if j.reply == nil {
		s.enqueue(j, true)
	}
}

// pause records an account refusal in the gate and says so once per pause (and again when the
// refusal changes: credits bought, but the token lost its scope).
func (s *session) pause(pe *PauseError, log zerolog.Logger) {
	_, before, _, _ := s.gate.state()
	first, wait := s.gate.refused(pe)
	var prev *PauseError
	changed := !first && errors.As(before, &prev) && prev.Refusal != pe.Refusal
	if first || changed {
		log.Error().Err(pe.Err).Str("refusal", string(pe.Refusal)).Dur("retry_in", wait).
			Msg("X refuses the account; all uploads paused until it accepts it: " + pe.Advice)
		s.observeAuth(true, pe)
	} else {
		log.Debug().Err(pe.Err).Dur("retry_in", wait).Msg("X still refuses the account")
	}
}

// probe tests, at the end of a pause, whether X accepts the account again, with one harmless
// request (the status of a media id that does not exist), so that no file is spent on it.
func (s *session) probe(ctx context.Context) {
	log := s.a.log
	err := s.a.up.ProbeUpload(ctx)
	switch {
	case ctx.Err() != nil:
	case err == nil:
		s.accepted(log)
	case uploader.IsAuth(err):
		s.pause(pauseError(err), log)
	default:
		// No verdict (the network, X's 5xx): keep the pause and its cause, and try again later.
		_, cause, _, _ := s.gate.state()
		log.Debug().Err(err).Msg("the probe got no answer about the account")
		var pe *PauseError
		if errors.As(cause, &pe) {
			s.gate.refused(pe)
		} else {
			s.gate.endProbe() // the pause ended while the probe ran
		}
	}
}

// keepOnFailure is the entry to record when the file cannot be read before its upload: the reason
// comes from fail; what a resume needs (hash, resume state) is kept while the file is unchanged.
func keepOnFailure(j job, prev manifest.Entry, had bool) manifest.Entry {
	e := manifest.Entry{Size: j.size, MTime: j.mtime, Attempts: prev.Attempts + 1, API: prev.API}
	if had && prev.Size == j.size && prev.MTime.Equal(j.mtime) {
		e.SHA256, e.Resume, e.MediaType, e.MediaCategory = prev.SHA256, prev.Resume, prev.MediaType, prev.MediaCategory
	}
	return e
}

// afterUpload moves an uploaded file when its folder says so. It runs only once the entry e is
// durable, and records where the file went.
func (s *session) afterUpload(j job, e manifest.Entry, log zerolog.Logger) {
	if j.f.MoveTo == "" {
		return
	}
	dst, err := moveFile(j)
	if err != nil {
		log.Error().Err(err).Str("to", human.Printable(dst)).Msg("cannot move uploaded file")
		return
	}
	e.MovedTo = dst
	s.commit(j, e, func() { log.Info().Str("to", human.Printable(dst)).Msg("moved after upload") })
}

func (s *session) observe(j job, o Outcome, e manifest.Entry, d time.Duration) {
	switch o {
	case OutcomeUploaded:
		s.counts.uploaded.Add(1)
	case OutcomeSkipped:
		s.counts.skipped.Add(1)
	default:
		s.counts.failed.Add(1)
	}
	ev := Event{Kind: EventFile, Folder: j.f.Path, Rel: j.rel, Entry: e, Outcome: o}
	if o == OutcomeUploaded {
		ev.Bytes, ev.Duration = e.Size, d
	}
	s.a.emit(ev)
}

func (s *session) observeAuth(paused bool, cause error) {
	if paused {
		s.a.emit(Event{Kind: EventPaused, Err: cause})
	} else {
		s.a.emit(Event{Kind: EventResumed})
	}
}

// hashFile returns the SHA-256 of r's first size bytes.
func hashFile(ctx context.Context, r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := r.ReadAt(buf[:min(int64(len(buf)), size-off)], off)
		h.Write(buf[:n])
		off += int64(n)
		if err != nil && !(errors.Is(err, io.EOF) && off == size) {
			if errors.Is(err, io.EOF) {
				return "", fmt.Errorf("file shrank to %d bytes while being read", off)
			}
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// changedSince reports whether the open file's size, mtime or change time moved since obs.
func changedSince(f *os.File, obs observation) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	return fi.Size() != obs.Size || !fi.ModTime().Equal(obs.MTime) || !changeTime(fi).Equal(obs.CTime), nil
}

// sameBytes reports whether the open file still hashes to obs.SHA256.
func sameBytes(ctx context.Context, f *os.File, obs observation) (bool, error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() != obs.Size {
		return false, err
	}
	got, err := hashFile(ctx, f, obs.Size)
	return err == nil && got == obs.SHA256, err
}

func toResume(p uploader.Progress) *manifest.Resume {
	return &manifest.Resume{
		MediaID:   p.MediaID,
		MediaKey:  p.MediaKey,
		ChunkSize: p.ChunkSize,
		Acked:     append([]int(nil), p.Acked...),
		ExpiresAt: p.ExpiresAt,
		Finalized: p.Finalized,
		Category:  p.Category,
	}
}

// fromResume is the uploader's view of a saved upload. Its category is the one the upload was
// initialized with, so the uploader starts over when the file's category has changed since.
func fromResume(r *manifest.Resume) uploader.Progress {
	return uploader.Progress{
		MediaID:   r.MediaID,
		MediaKey:  r.MediaKey,
		ChunkSize: r.ChunkSize,
		Acked:     append([]int(nil), r.Acked...),
		ExpiresAt: r.ExpiresAt,
		Finalized: r.Finalized,
		Category:  r.Category,
	}
}

// toError turns an upload error into its manifest form. Messages come from the API or from our own
// errors, never from request headers, so they hold no secret.
func toError(err error) *manifest.Error {
	e := &manifest.Error{Permanent: uploader.IsPermanent(err), Message: err.Error()}
	var ae *uploader.APIError
	if errors.As(err, &ae) {
		e.HTTPStatus, e.Code, e.Name = ae.StatusCode, ae.Code, ae.Name
		switch {
		case ae.Message != "":
			e.Message = ae.Message
		case ae.Title != "":
			e.Message = ae.Title
		}
	}
	return e
}
