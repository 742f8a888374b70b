package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	f := a.folderOf("", abs)
	if f == nil {
		return manifest.Entry{}, fmt.Errorf("%s: %w", path, ErrNotInFolder)
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
