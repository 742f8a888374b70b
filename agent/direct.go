package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Override changes how [Agent.UploadFile] treats one file.
type Override struct {
	Category   string                  // "" = the folder's media_category
	AltText    string                  // "" = the folder's alt_text policy
	OnProgress func(done, total int64) // bytes acknowledged so far; may be nil

	onFail func(error) // set by UploadFile: the error of a failed attempt, recorded or not
}

// ErrNotInFolder is returned by [Agent.UploadFile] for a file outside every folder of the agent.
var ErrNotInFolder = fmt.Errorf("file is not in a configured folder")

// UploadFile uploads the file at path now and records it in its folder's manifest, as Run would once
// the file settled, and returns its entry. A file already uploaded with the same content is not
// uploaded again. A credentials failure is returned as an error rather than pausing. It puts the agent
// in the one-shot mode of [Agent.Once] (no timers for later retries): use a separate Agent for Run.
func (a *Agent) UploadFile(ctx context.Context, path string, o Override) (manifest.Entry, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return manifest.Entry{}, err
	}
	f := a.folderOf("", abs)
	if f == nil {
		return manifest.Entry{}, fmt.Errorf("%s: %w", path, ErrNotInFolder)
	}
	rel, ok := relPath(f.Path, abs)
	if !ok {
		return manifest.Entry{}, fmt.Errorf("%s: %w", path, ErrNotInFolder)
	}
	fi, err := os.Lstat(abs)
	if err != nil {
		return manifest.Entry{}, err
	}
	if !fi.Mode().IsRegular() {
		return manifest.Entry{}, fmt.Errorf("%s: not a regular file", path)
	}
	var authErr, failErr error
	a.once = true
	a.onAuthFail = func(err error) { authErr = err }
	o.onFail = func(err error) { failErr = err }
	a.process(ctx, job{f: f, rel: rel, abs: abs, size: fi.Size(), mtime: fi.ModTime(), kind: jobNew, override: o, explicit: true})
	if authErr != nil {
		return manifest.Entry{}, authErr
	}
	if err := ctx.Err(); err != nil {
		return manifest.Entry{}, err
	}
	e, _ := f.store.Get(rel)
	if failErr != nil && e.State == manifest.Uploaded {
		// Uploading it again failed and the previous, still valid id was kept: say so.
		return e, fmt.Errorf("%s: uploading again failed (the recorded media id %s stays valid until %s): %w",
			path, e.MediaIDString, e.ExpiresAt.Format(time.RFC3339), failErr)
	}
	return e, nil
}

// Refused returns, for each configured folder that could not be opened (a corrupt manifest, one
// locked by another agent), why.
func (a *Agent) Refused() map[string]error {
	out := make(map[string]error, len(a.refused))
	for k, v := range a.refused {
		out[k] = v
	}
	return out
}
