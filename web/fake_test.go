package web

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// fake is a [Backend] over in-memory manifests, for the handler, browser and benchmark tests. Its
// Status comes from an [Index] per folder, as the agent's should; with scan set, from [Summarize]
// over every entry instead.
type fake struct {
	mu      sync.Mutex
	now     time.Time
	scan    bool
	order   []string
	folders map[string]map[string]manifest.Entry
	index   map[string]*Index
	active  map[string][]Transfer
	hooks   map[string][]Problem
	refused map[string]*Refusal
	parked  map[string]*Refusal
	paused  *Pause
	queue   int
	nextID  int
	calls   []string // "retry FOLDER REL", "retry-failed FOLDER", ... in order
	err     error    // when set, what Retry and Upload return
}

func newFake(now time.Time) *fake {
	return &fake{now: now, folders: map[string]map[string]manifest.Entry{}, index: map[string]*Index{}, active: map[string][]Transfer{},
		hooks: map[string][]Problem{}, refused: map[string]*Refusal{}, parked: map[string]*Refusal{}, nextID: 1_000_000_000}
}

func (f *fake) addFolder(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.folders[path]; !ok {
		f.order = append(f.order, path)
		f.folders[path] = map[string]manifest.Entry{}
		f.index[path] = NewIndex(path, nil)
	}
}

func (f *fake) put(folder, rel string, e manifest.Entry) {
	f.addFolder(folder)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set(folder, rel, e)
}

// set stores an entry; f.mu is held.
func (f *fake) set(folder, rel string, e manifest.Entry) {
	f.folders[folder][rel] = e
	f.index[folder].Put(rel, e)
}

// uploadedEntry returns an uploaded entry with a fresh media id, uploaded at f.now.
func (f *fake) uploadedEntry() manifest.Entry {
	f.nextID++
	return manifest.Entry{State: manifest.Uploaded, MediaIDString: fmt.Sprint(f.nextID), UploadedAt: f.now, ExpiresAt: f.now.Add(24 * time.Hour), UpdatedAt: f.now}
}

func failedEntry(msg string, permanent bool) manifest.Entry {
	return manifest.Entry{State: manifest.Failed, Attempts: 3, Error: &manifest.Error{Message: msg, Permanent: permanent}}
}

func (f *fake) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fake) Status(ctx context.Context, q Query) (Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := Status{Version: Version, Now: f.now, Paused: f.paused, Queue: f.queue, Folders: []Folder{}}
	found := false
	for _, path := range f.order {
		if q.Folder != "" && q.Folder != path {
			continue
		}
		found = true
		advise := func(rel string, e manifest.Entry) string {
			if e.State == manifest.Skipped {
				return "fit: auto would resize it"
			}
			return "check the file and press Retry"
		}
		var fs Folder
		if f.scan {
			fs = Summarize(path, maps.All(f.folders[path]), f.now, q, advise)
		} else {
			fs = f.index[path].Folder(f.now, q, advise)
		}
		fs.Refused = f.refused[path]
		fs.Parked = f.parked[path]
		fs.Active = append([]Transfer{}, f.active[path]...)
		h := f.hooks[path]
		fs.Hooks = Problems{Total: len(h), Offset: q.Offset, Items: append([]Problem{}, h[min(q.Offset, len(h)):min(q.Offset+q.limit(), len(h))]...)}
		st.Folders = append(st.Folders, fs)
	}
	if q.Folder != "" && !found {
		return Status{}, fmt.Errorf("%w: no folder %s", ErrNotFound, q.Folder)
	}
	return st, nil
}

func (f *fake) Retry(ctx context.Context, folder, rel string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "retry "+folder+" "+rel)
	if f.err != nil {
		return f.err
	}
	files, ok := f.folders[folder]
	if !ok {
		return fmt.Errorf("%w: no folder %s", ErrNotFound, folder)
	}
	e, ok := files[rel]
	if !ok {
		return fmt.Errorf("%w: no file %s in %s", ErrNotFound, rel, folder)
	}
	if e.State != manifest.Failed {
		return fmt.Errorf("%w: %s is %s, not failed", ErrInvalid, rel, e.State)
	}
	f.set(folder, rel, f.uploadedEntry())
	return nil
}

func (f *fake) RetryFailed(ctx context.Context, folder string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "retry-failed "+folder)
	n := 0
	for path, files := range f.folders {
		if folder != "" && path != folder {
			continue
		}
		for rel, e := range files {
			if e.State == manifest.Failed {
				f.set(path, rel, f.uploadedEntry())
				n++
			}
		}
	}
	return n, nil
}

func (f *fake) RetryHooks(ctx context.Context, folder string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "retry-hooks "+folder)
	n := len(f.hooks[folder])
	delete(f.hooks, folder)
	return n, nil
}

// folderOf returns the folder holding path and its rel there.
func (f *fake) folderOf(path string) (string, string, bool) {
	for _, folder := range f.order {
		if rel, err := manifest.Rel(folder, path); err == nil {
			return folder, rel, true
		}
	}
	return "", "", false
}

func (f *fake) Upload(ctx context.Context, path string, opts UploadOptions) (UploadResult, error) {
	f.mu.Lock()
	f.calls = append(f.calls, "upload "+path+" "+opts.Category+" "+opts.AltText)
	folder, rel, ok := f.folderOf(path)
	err := f.err
	f.mu.Unlock()
	if err != nil {
		return UploadResult{}, err
	}
	if !ok {
		return UploadResult{}, fmt.Errorf("%w: %s is in no watched folder", ErrInvalid, path)
	}
	if strings.Contains(rel, "fails-to-start") {
		return UploadResult{}, fmt.Errorf("open %s: permission denied", path)
	}
	if opts.OnProgress != nil {
		for i := int64(0); i <= 4; i++ {
			opts.OnProgress(i*1000, 4000)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.uploadedEntry()
	e.AltText = opts.AltText
	f.set(folder, rel, e)
	return UploadResult{Folder: folder, Rel: rel, Entry: e}, nil
}

func (f *fake) Explain(ctx context.Context, path string) (Explanation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	folder, rel, ok := f.folderOf(path)
	if !ok {
		return Explanation{Path: path, Verdict: VerdictOutside, Reason: "in no watched folder"}, nil
	}
	x := Explanation{Path: path, Folder: folder, Rel: rel}
	if strings.HasSuffix(rel, ".part") {
		x.Verdict, x.Rule, x.Reason = VerdictIgnored, "built-in: *.part", "a partial download"
		return x, nil
	}
	e, ok := f.folders[folder][rel]
	if !ok {
		x.Verdict, x.Reason = VerdictSettling, "seen, waiting until it stops changing"
		return x, nil
	}
	x.Entry = &e
	switch e.State {
	case manifest.Uploaded:
		x.Verdict, x.Reason = VerdictUploaded, "uploaded"
	case manifest.Failed:
		x.Verdict, x.Reason, x.Fix = VerdictFailed, e.Error.Message, "mediasync retry "+filepath.Base(path)
	default:
		x.Verdict, x.Reason = Verdict(e.State), string(e.State)
	}
	return x, nil
}
