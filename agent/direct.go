package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// Override changes how [Agent.UploadFile] treats one file.
type Override struct {
	Category   string                  // "" = the folder's media_category
	AltText    string                  // "" = the folder's alt_text policy
	OnProgress func(done, total int64) // bytes acknowledged so far; may be nil
}

// ErrNotInFolder is returned by [Agent.UploadFile] for a file outside every folder of the agent.
var ErrNotInFolder = errors.New("file is not in a configured folder")

// ErrFolderRefused is returned by [Agent.UploadFile] for a file whose folder is configured but not
// watched (its manifest locked by another agent, damaged, ...; [Agent.Refused] says why).
var ErrFolderRefused = errors.New("its folder is not watched")

// UploadFile uploads the file at path now, as the user asked for it by name, records it in its
// folder's manifest, and returns its entry: a file already uploaded with the same content and an id
// valid for 10 more minutes is not uploaded again; a skipped or failed one is tried again. While
// [Agent.Run] runs, the request joins its queue at the front (so one file is never uploaded twice at
// once); otherwise it is done here. An account-level refusal is returned as an error.
func (a *Agent) UploadFile(ctx context.Context, path string, o Override) (manifest.Entry, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return manifest.Entry{}, err
	}
	f, err := a.holder(abs)
	if err != nil {
		return manifest.Entry{}, fmt.Errorf("%s: %w", path, err)
	}
	rel, err := manifest.Rel(f.Path, abs)
	if err != nil {
		return manifest.Entry{}, fmt.Errorf("%s: %w", path, ErrNotInFolder)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return manifest.Entry{}, err
	}
	if !fi.Mode().IsRegular() {
		return manifest.Entry{}, fmt.Errorf("%s: not a regular file", path)
	}
	j := job{f: f, rel: rel, abs: abs, size: fi.Size(), mtime: fi.ModTime(), kind: jobNew, override: o, explicit: true}

	var e manifest.Entry
	if s := a.running.Load(); s != nil {
		type reply struct {
			e   manifest.Entry
			err error
		}
		ch := make(chan reply, 1)
		j.reply = func(e manifest.Entry, err error) { ch <- reply{e, err} }
		s.enqueue(j, true)
		select {
		case <-ctx.Done():
			return manifest.Entry{}, ctx.Err()
		case r := <-ch:
			e, err = r.e, r.err
		}
	} else {
		s := a.newSession(modeDirect)
		var fatal error
		s.fatal = func(err error) { fatal = err }
		e, err = s.process(ctx, j)
		if fatal != nil {
			return manifest.Entry{}, fatal
		}
	}
	if cerr := ctx.Err(); cerr != nil {
		return manifest.Entry{}, cerr
	}
	switch {
	case err == nil:
		return e, nil
	case uploader.IsAuth(err) || errors.Is(err, errFolderParked):
		return manifest.Entry{}, err
	case e.State == manifest.Uploaded:
		// Uploading it again failed and the previous, still valid id was kept: say so.
		return e, fmt.Errorf("%s: uploading again failed (the recorded media id %s stays valid until %s): %w",
			path, e.MediaIDString, e.ExpiresAt.Format(time.RFC3339), err)
	case e.State == "":
		return e, err
	}
	return e, nil // skipped or failed: the entry says why
}

// ErrNotRunning is returned by the requests that only a running agent ([Agent.Run]) can serve.
var ErrNotRunning = errors.New("the agent is not running")

// ErrUnknownFolder is returned for a folder the agent does not have.
var ErrUnknownFolder = errors.New("not a folder of this agent")

// Retry uploads the file at path again now, as the user asked for it by name ([Agent.UploadFile]
// without overrides): a failed or skipped file is tried again.
func (a *Agent) Retry(ctx context.Context, path string) (manifest.Entry, error) {
	return a.UploadFile(ctx, path, Override{})
}

// RetryFailed queues every failed file of folder ("" = every folder) for an upload now, as if the
// user had named each, and returns how many it queued. It does not wait for them. Only a running
// agent does this ([ErrNotRunning] otherwise: call [Agent.Retry] on each of [Agent.FailedFiles]).
func (a *Agent) RetryFailed(folder string) (int, error) {
	s := a.running.Load()
	if s == nil {
		return 0, ErrNotRunning
	}
	fs, err := a.pick(folder)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, f := range fs {
		for rel, e := range f.store.Snapshot() {
			if e.State != manifest.Failed || e.Deleted || e.MovedTo != "" {
				continue
			}
			j := job{f: f, rel: rel, abs: filepath.Join(f.Path, filepath.FromSlash(rel)), size: e.Size, mtime: e.MTime,
				kind: jobRetry, explicit: true}
			s.sched.remove(j.key())
			s.enqueue(j, false)
			n++
		}
	}
	return n, nil
}

// FailedFiles returns the paths of the files of folder ("" = every folder) whose entry says
// failed, sorted.
func (a *Agent) FailedFiles(folder string) ([]string, error) {
	fs, err := a.pick(folder)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range fs {
		for rel, e := range f.store.Snapshot() {
			if e.State == manifest.Failed && !e.Deleted && e.MovedTo == "" {
				out = append(out, filepath.Join(f.Path, filepath.FromSlash(rel)))
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// pick returns the folder at path ("" = all of them).
func (a *Agent) pick(path string) ([]*folder, error) {
	if path == "" {
		return a.folders, nil
	}
	for _, f := range a.folders {
		if f.Path == filepath.Clean(path) {
			return []*folder{f}, nil
		}
	}
	return nil, fmt.Errorf("%s: %w", path, ErrUnknownFolder)
}
