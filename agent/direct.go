package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mediasync/mediasync/manifest"
)

// Override changes how [Agent.UploadFile] treats one file.
type Override struct {
	Category   string                  // "" = the folder's media_category
	AltText    string                  // "" = the folder's alt_text policy
	OnProgress func(done, total int64) // bytes acknowledged so far; may be nil
}

// ErrNotInFolder is returned by [Agent.UploadFile] for a file outside every folder of the agent.
var ErrNotInFolder = fmt.Errorf("file is not in a configured folder")

// UploadFile uploads the file at path now and records it in its folder's manifest, as Run would once
// the file settled, and returns its entry. A file already uploaded with the same content is not
// uploaded again. A credentials failure is returned as an error rather than pausing.
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
	var authErr error
	a.once = true
	a.onAuthFail = func(err error) { authErr = err }
	a.process(ctx, job{f: f, rel: rel, abs: abs, size: fi.Size(), mtime: fi.ModTime(), kind: jobNew, override: o, explicit: true})
	if authErr != nil {
		return manifest.Entry{}, authErr
	}
	if err := ctx.Err(); err != nil {
		return manifest.Entry{}, err
	}
	e, _ := f.store.Get(rel)
	return e, nil
}
