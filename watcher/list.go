package watcher

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// List walks every root once, as [Watcher.Run] and [Scan] do — the same [Ignored] names and
// Options.Ignore patterns, [Root].Exclude and .mediasync never entered, [Root].Match, symbolic links
// never followed, FIFOs, sockets and devices skipped — and returns every regular file it finds
// with its size and mtime, sorted by path. It waits for nothing to settle and ignores Options.Skip:
// it is a listing (mediasync status), not a source of uploads. Removed is never set.
//
// What it cannot read does not stop it: a root that does not exist, a directory that cannot be
// listed, a file that cannot be stat'ed (a path longer than the system allows, ENAMETOOLONG) are
// each an *Error in the returned error ([errors.Join]), returned together with the files it could
// list. It returns ctx.Err() if ctx is cancelled first, and an *Error for invalid options.
func List(ctx context.Context, opts Options) ([]File, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts.Skip = nil
	w, err := New(opts, zerolog.Nop())
	if err != nil {
		return nil, err
	}
	r := newRun(w)
	r.oneShot, r.listing, r.stop = true, true, ctx.Done()
	for _, rs := range r.roots {
		rs.mode, rs.why, rs.decided, rs.fsChecked = modePoll, "listing", true, true
	}
	r.scanRoots(time.Now(), func(*rootState) bool { return true })
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var files []File
	for dir, ds := range r.dirs {
		for name, f := range ds.files {
			files = append(files, File{Root: ds.root.Path, Path: joinPath(dir, name), Size: f.st.size, ModTime: time.Unix(0, f.st.mtime)})
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, errors.Join(r.problems...)
}
