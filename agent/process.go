package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// explicitMinValidity is how long a media id must still be valid for `mediasync upload FILE` to
// return it instead of uploading again: long enough for a posting step to use it.
const explicitMinValidity = 10 * time.Minute

// process takes one file from "seen" to a durable manifest entry. It never returns an error: every
// outcome is recorded in the manifest and logged once.
func (a *Agent) process(ctx context.Context, j job) {
	log := a.log.With().Str("path", j.abs).Logger()
	prev, had := j.f.store.Get(j.rel)

	fi, err := os.Lstat(j.abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if had && !prev.Deleted && prev.MovedTo == "" {
				prev.Deleted = true
				if a.record(ctx, j, prev, log) {
					log.Info().Str("state", string(prev.State)).Msg("file removed; entry kept")
				}
			}
			return
		}
		log.Warn().Err(err).Msg("cannot read file")
		return
	}
	if !fi.Mode().IsRegular() {
		return
	}
	size, mtime := fi.Size(), fi.ModTime()
	if j.kind == jobNew && (size != j.size || !mtime.Equal(j.mtime)) {
		log.Debug().Msg("file changed after it settled; waiting for it to settle again")
		return
	}
	same := had && prev.Size == size && prev.MTime.Equal(mtime)
	if same {
		switch prev.State {
		case manifest.Uploaded:
			if j.kind == jobRefresh && a.refreshDue(j.f, prev) {
				break
			}
			if j.explicit && !prev.ExpiresAt.After(a.now().Add(explicitMinValidity)) {
				break // asked for by name (mediasync upload) and expired or about to: upload again
			}
			a.undelete(ctx, j, prev, log)
			if prev.MovedTo == "" && !prev.Deleted {
				a.afterUpload(ctx, j, prev, log) // a stop between recording and moving: move now
			}
			return
		case manifest.Skipped:
			if j.explicit {
				break // asked for by name, perhaps with another category: look again
			}
			a.undelete(ctx, j, prev, log)
			return
		case manifest.Failed:
			if j.explicit {
				break // asked for by name: try again now, whatever happened before
			}
			if prev.Error == nil || prev.Error.Permanent {
				a.undelete(ctx, j, prev, log)
				return
			}
			if j.kind != jobRetry && a.now().Before(prev.NextAttemptAt) {
				j.kind = jobRetry
				a.scheduleRetry(ctx, j, prev.NextAttemptAt)
				return
			}
		}
	}
	a.upload(ctx, j, prev, had, log)
}

// undelete clears the deleted flag of an entry whose file is back, unchanged.
func (a *Agent) undelete(ctx context.Context, j job, e manifest.Entry, log zerolog.Logger) {
	if e.Deleted {
		e.Deleted = false
		a.record(ctx, j, e, log)
	}
}

func (a *Agent) refreshDue(f *folder, e manifest.Entry) bool {
	return f.RefreshBeforeExpiry > 0 && !e.ExpiresAt.IsZero() && !a.now().Before(e.ExpiresAt.Add(-f.RefreshBeforeExpiry))
}

// upload sends the file and records the outcome.
func (a *Agent) upload(ctx context.Context, j job, prev manifest.Entry, had bool, log zerolog.Logger) {
	start := a.now()
	file, err := os.Open(j.abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return // vanished after the stat; the watcher reports the removal
		}
		// Most often a permission problem: retried with growing delays, so fixing the permissions
		// is enough, and the reason is in the manifest meanwhile.
		a.fail(ctx, j, prev, a.keepOnFailure(j, prev, had), fmt.Errorf("open: %w", err), log)
		return
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	size, mtime := fi.Size(), fi.ModTime()
	if lst, err := os.Lstat(j.abs); err != nil || !os.SameFile(lst, fi) {
		return // replaced between stat and open; the watcher will report the new file
	}

	sum, err := hashFile(ctx, file, size)
	if err != nil {
		if ctx.Err() == nil {
			a.fail(ctx, j, prev, a.keepOnFailure(j, prev, had), fmt.Errorf("read: %w", err), log)
		}
		return
	}
	if had && prev.SHA256 == sum && prev.State == manifest.Uploaded && !a.refreshDue(j.f, prev) &&
		prev.ExpiresAt.After(a.now()) && !(j.explicit && !prev.ExpiresAt.After(a.now().Add(explicitMinValidity))) {
		// Touched, not changed: the media id still stands for these bytes.
		prev.Size, prev.MTime, prev.Deleted = size, mtime, false
		if a.record(ctx, j, prev, log) {
			log.Info().Str("media_id", prev.MediaIDString).Msg("content unchanged; entry kept")
		}
		return
	}

	attempts := 1
	if had && prev.SHA256 == sum && prev.State != manifest.Uploaded {
		attempts = prev.Attempts + 1
	}
	base := manifest.Entry{Size: size, MTime: mtime, SHA256: sum, API: a.opts.API, Attempts: attempts}
	if had && prev.SHA256 == sum {
		base.Resume = prev.Resume // kept through a failure before the upload resumes
	}
	// A valid media id being replaced (refresh before expiry, or an explicit upload of a file whose
	// id expires soon) stays in the manifest until its successor is uploaded: a posting step keeps
	// using it meanwhile, and a failed replacement is only retried, never recorded over it.
	replacing := had && prev.State == manifest.Uploaded && prev.MediaIDString != "" && prev.ExpiresAt.After(a.now())

	mtype, err := uploader.Detect(file, size)
	if err != nil && !uploader.IsPermanent(err) {
		a.fail(ctx, j, prev, base, fmt.Errorf("detect type: %w", err), log)
		return
	}
	base.MediaType = mtype
	m := uploader.Media{
		Name:             filepath.Base(j.abs),
		Size:             size,
		Type:             mtype,
		Category:         j.f.Category,
		AdditionalOwners: j.f.AdditionalOwners,
	}
	if j.override.Category != "" {
		m.Category = j.override.Category
	}
	if err == nil {
		m, err = a.up.PrepareFile(file, m)
	}
	if err != nil {
		a.fail(ctx, j, prev, base, err, log)
		return
	}
	base.MediaType, base.MediaCategory = m.Type, m.Category

	text, src, truncated, err := alttext.Find(j.abs, j.f.AltText)
	if j.override.AltText != "" {
		text, src, truncated, err = j.override.AltText, "flag", false, nil
	}
	if err != nil {
		log.Warn().Err(err).Msg("cannot read alt text; uploading without it")
	} else if text != "" {
		m.AltText, base.AltText = text, text
		ev := log.Debug()
		if truncated {
			ev = log.Warn()
		}
		ev.Str("source", string(src)).Bool("truncated", truncated).Msg("alt text found")
	}

	// The uploader may report progress from several segment goroutines at once; the entry only moves
	// forward, so a late report of fewer segments never overwrites a later one.
	var (
		progMu sync.Mutex
		last   *manifest.Resume
	)
	// A progress write that must be durable (the media id before FINALIZE can follow, the finalized
	// state) and fails stops the upload: going on would let a crash upload the file a second time.
	uctx, stopUpload := context.WithCancelCause(ctx)
	defer stopUpload(nil)
	onProgress := func(p uploader.Progress) {
		progMu.Lock()
		defer progMu.Unlock()
		if last != nil && last.MediaID == p.MediaID && (last.Finalized || len(p.Acked) < len(last.Acked)) && !p.Finalized {
			return
		}
		e := base
		e.State = manifest.Uploading
		if p.Finalized {
			e.State = manifest.Processing
		}
		// The media id must be durable before FINALIZE can happen (so a restart finalizes the same
		// id instead of uploading again), and so must the finalized state; a lost acknowledgement
		// costs only the re-sending of a segment, so those are written with the next write.
		// The last acknowledgement is made durable too: FINALIZE follows it, and a restart then
		// only re-sends FINALIZE instead of segments of a media id that may be finalized already.
		durable := p.Finalized || last == nil || last.MediaID != p.MediaID ||
			int64(len(p.Acked))*p.ChunkSize >= size
		last = toResume(p)
		e.Resume = last
		if replacing {
			return // the entry keeps the valid id; this upload's progress lives in memory only
		}
		put := j.f.store.Stage
		if durable {
			put = j.f.store.Put
		}
		if err := put(j.rel, e); err != nil {
			log.Warn().Err(err).Bool("durable", durable).Msg("cannot save upload progress")
			if durable {
				stopUpload(fmt.Errorf("save upload progress: %w", err))
			}
		}
		if j.override.OnProgress != nil {
			j.override.OnProgress(min(int64(len(p.Acked))*p.ChunkSize, size), size)
		}
	}
	var res uploader.Result
	if !replacing && had && prev.Resume != nil && prev.SHA256 == sum && prev.Size == size {
		last = prev.Resume
		log.Info().Str("media_id", prev.Resume.MediaID).Int("segments_done", len(prev.Resume.Acked)).Msg("resuming upload")
		res, err = a.up.Resume(uctx, file, m, fromResume(prev.Resume), onProgress)
	} else {
		res, err = a.up.Upload(uctx, file, m, onProgress)
	}
	if err != nil && ctx.Err() == nil && uctx.Err() != nil {
		err = context.Cause(uctx) // stopped because its progress could not be saved: retried later
	}
	if err != nil && res.MediaIDString != "" && ctx.Err() == nil {
		// The media is uploaded; only setting its alt text failed. The media id stands.
		log.Warn().Err(err).Str("media_id", res.MediaIDString).Msg("uploaded, but the alt text could not be set")
		base.AltText, err = "", nil
	}
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the progress saved so far lets the next run resume
		}
		e := base
		progMu.Lock()
		e.Resume = last
		progMu.Unlock()
		a.fail(ctx, j, prev, e, err, log)
		return
	}
	if a.auth.succeeded() {
		log.Info().Msg("credentials accepted again; uploads resumed")
		a.observeAuth(false)
	}

	e := base
	e.State = manifest.Uploaded
	e.MediaIDString, e.MediaKey, e.ExpiresAt = res.MediaIDString, res.MediaKey, res.ExpiresAt
	e.UploadedAt = a.now()
	if res.API != "" {
		e.API = res.API
	}
	if res.Category != "" {
		e.MediaCategory = res.Category
	}
	after, err := os.Lstat(j.abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		e.Deleted = true // we read it whole through the open file; the media stands
	case err != nil:
		log.Warn().Err(err).Msg("cannot stat file after upload; it will be checked again")
		return
	case after.Size() != size || !after.ModTime().Equal(mtime):
		if after.Size() == size && a.sameBytes(ctx, j.abs, size, sum) {
			e.MTime = after.ModTime() // touched, not changed: the upload stands
			break
		}
		log.Warn().Str("media_id", res.MediaIDString).Msg("file changed during upload; it will be uploaded again once it settles")
		if !replacing {
			pending := base
			pending.State = manifest.Pending
			pending.Resume = nil
			a.record(ctx, j, pending, log)
		}
		return
	}
	if !a.record(ctx, j, e, log) {
		return
	}
	log.Info().Str("media_id", e.MediaIDString).Str("media_key", e.MediaKey).Int64("bytes", size).
		Dur("duration", a.now().Sub(start)).Int("attempt", attempts).Time("expires_at", e.ExpiresAt).Msg("uploaded")
	a.observe(j, OutcomeUploaded, size, a.now().Sub(start))
	if j.f.RefreshBeforeExpiry > 0 {
		a.scheduleRetry(ctx, job{f: j.f, rel: j.rel, abs: j.abs, size: size, mtime: mtime, kind: jobRefresh},
			e.ExpiresAt.Add(-j.f.RefreshBeforeExpiry))
	}
	if !e.Deleted {
		a.afterUpload(ctx, j, e, log)
	}
}

// fail records an upload that did not succeed: skipped when the file can never be uploaded as it is,
// failed and not retried when X refused it for good, failed and retried later otherwise. A
// credentials failure records nothing: it pauses all uploads and the job waits for the next probe.
func (a *Agent) fail(ctx context.Context, j job, prev manifest.Entry, e manifest.Entry, err error, log zerolog.Logger) {
	if j.override.onFail != nil {
		j.override.onFail(err)
	}
	var ae *uploader.APIError
	if errors.As(err, &ae) && !uploader.IsAuth(err) && a.auth.succeeded() {
		// X answered, and not about the credentials: they work again.
		log.Info().Msg("credentials accepted again; uploads resumed")
		a.observeAuth(false)
	}
	if uploader.IsAuth(err) {
		if a.onAuthFail != nil {
			log.Error().Err(err).Msg("credentials rejected by the API")
			a.onAuthFail(fmt.Errorf("credentials rejected: %w", err))
			return
		}
		first, pause := a.auth.failed()
		if first {
			log.Error().Err(err).Dur("retry_in", pause).Msg("credentials rejected by the API; all uploads paused until they work")
			a.observeAuth(true)
		} else {
			log.Debug().Err(err).Dur("retry_in", pause).Msg("credentials still rejected")
		}
		a.enqueue(j, true)
		return
	}
	if prev.State == manifest.Uploaded && prev.MediaIDString != "" && prev.ExpiresAt.After(a.now()) &&
		prev.Size == e.Size && prev.MTime.Equal(e.MTime) {
		// Replacing a media id that is still valid failed: keep the valid one and try again later.
		wait := a.opts.RetryBase
		log.Warn().Err(err).Str("media_id", prev.MediaIDString).Time("valid_until", prev.ExpiresAt).Dur("retry_in", wait).
			Msg("could not upload the file again; its current media id stays in the manifest")
		a.observe(j, OutcomeRetry, e.Size, 0)
		if j.kind == jobRefresh {
			a.scheduleRetry(ctx, j, a.now().Add(wait))
		}
		return
	}
	switch {
	case errors.Is(err, uploader.ErrUnsupported), errors.Is(err, uploader.ErrTooLarge), errors.Is(err, uploader.ErrEmpty):
		e.State = manifest.Skipped
		e.Reason = err.Error()
		e.Resume, e.Error = nil, nil
		if a.record(ctx, j, e, log) {
			log.Info().Str("reason", e.Reason).Msg("skipped")
			a.observe(j, OutcomeSkipped, e.Size, 0)
		}
		return
	}
	e.State = manifest.Failed
	e.Error = toError(err)
	if e.Error.Permanent {
		e.Resume = nil
		if a.record(ctx, j, e, log) {
			log.Error().Err(err).Int("attempt", e.Attempts).Msg("upload failed; not retried until the file changes")
			a.observe(j, OutcomeFailed, e.Size, 0)
		}
		return
	}
	wait := a.retryDelay(e.Attempts)
	e.NextAttemptAt = a.now().Add(wait)
	if !a.record(ctx, j, e, log) {
		return
	}
	log.Warn().Err(err).Int("attempt", e.Attempts).Dur("retry_in", wait).Msg("upload failed; will retry")
	a.observe(j, OutcomeRetry, e.Size, 0)
	j.kind = jobRetry
	a.scheduleRetry(ctx, j, e.NextAttemptAt)
}

// keepOnFailure is the entry to record when the file cannot be read before its upload: the reason
// comes from fail; what a resume needs (hash, resume state) is kept while the file is unchanged.
func (a *Agent) keepOnFailure(j job, prev manifest.Entry, had bool) manifest.Entry {
	e := manifest.Entry{Size: j.size, MTime: j.mtime, Attempts: prev.Attempts + 1, API: prev.API}
	if had && prev.Size == j.size && prev.MTime.Equal(j.mtime) {
		e.SHA256, e.Resume, e.MediaType, e.MediaCategory = prev.SHA256, prev.Resume, prev.MediaType, prev.MediaCategory
	}
	return e
}

// sameBytes reports whether the file at path still hashes to sum.
func (a *Agent) sameBytes(ctx context.Context, path string, size int64, sum string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	got, err := hashFile(ctx, f, size)
	return err == nil && got == sum
}

// retryDelay is the wait before attempt n+1 of a file: RetryBase doubling per attempt, capped.
func (a *Agent) retryDelay(attempts int) time.Duration {
	d := a.opts.RetryBase
	for i := 1; i < attempts && d < a.opts.RetryMax; i++ {
		d *= 2
	}
	return min(d, a.opts.RetryMax)
}

// record makes e durable as the entry of j's file, retrying with growing delays while the manifest
// cannot be written (a full disk, say), so that an upload is never forgotten. It returns false only
// when ctx was cancelled first.
func (a *Agent) record(ctx context.Context, j job, e manifest.Entry, log zerolog.Logger) bool {
	delay := time.Second
	for logged := false; ; {
		err := j.f.store.Put(j.rel, e)
		if err == nil {
			if logged {
				log.Info().Msg("manifest written again")
			}
			return true
		}
		if errors.Is(err, manifest.ErrInvalid) {
			// The entry itself is refused: no retry can help, and retrying would hold the worker.
			log.Error().Err(err).Msg("cannot record this file in the manifest")
			return false
		}
		if !logged {
			log.Error().Err(err).Str("manifest", j.f.Manifest).Msg("cannot write manifest; retrying")
			logged = true
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		delay = min(delay*2, time.Minute)
	}
}

// afterUpload applies the folder's after_upload policy. It runs only once the entry e is durable,
// and records where the file went.
func (a *Agent) afterUpload(ctx context.Context, j job, e manifest.Entry, log zerolog.Logger) {
	dir, ok := moveDir(j.f.Folder)
	if !ok {
		return
	}
	dst, err := moveFile(j.abs, filepath.Join(dir, filepath.FromSlash(j.rel)))
	if err != nil {
		log.Error().Err(err).Str("to", dst).Msg("cannot move uploaded file")
		return
	}
	e.MovedTo = dst
	if a.record(ctx, j, e, log) {
		log.Info().Str("to", dst).Msg("moved after upload")
	}
}

func (a *Agent) observe(j job, o Outcome, bytes int64, d time.Duration) {
	switch o {
	case OutcomeUploaded:
		a.counts.uploaded.Add(1)
	case OutcomeSkipped:
		a.counts.skipped.Add(1)
	default:
		a.counts.failed.Add(1)
	}
	if a.opts.Observer != nil {
		a.opts.Observer.FileDone(j.f.Path, j.rel, o, bytes, d)
	}
}

func (a *Agent) observeAuth(paused bool) {
	if a.opts.Observer != nil {
		a.opts.Observer.AuthPaused(paused)
	}
}

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

// moveFile renames src to dst, creating dst's directory; it never overwrites an existing file: a
// numbered name is used instead. Across file systems it copies, syncs, and removes src. It returns
// the path the file got.
func moveFile(src, dst string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return dst, err
	}
	ext := filepath.Ext(dst)
	stem := dst[:len(dst)-len(ext)]
	for i := 1; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, fs.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s (%d)%s", stem, i, ext)
	}
	err := os.Rename(src, dst)
	if err == nil || !isCrossDevice(err) {
		return dst, err
	}
	return dst, copyThenRemove(src, dst)
}

func copyThenRemove(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	if err := out.Close(); err != nil {
		os.Remove(dst)
		return err
	}
	return os.Remove(src)
}
