package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// Folder is one watched folder and what to do with its files.
type Folder struct {
	Path                string   // absolute
	Recursive           bool     // watch subfolders too
	Include             []string // globs; empty = every media file extension X may accept (see Candidate)
	Exclude             []string // globs
	Category            string   // "" or "auto" = from the bytes; else an X media_category
	AdditionalOwners    []string // user ids
	AltText             string   // none | sidecar | embedded | auto ("" = auto)
	AfterUpload         string   // keep ("" too) | move:<dir> (relative to Path, or absolute)
	Manifest            string   // "" = manifest.DefaultPath(Path)
	RefreshBeforeExpiry time.Duration
}

// Options configures an [Agent]. Zero values take the documented defaults.
type Options struct {
	Folders []Folder
	Workers int    // files uploaded at once; default 2
	API     string // recorded in each entry: "v2" (default) or "v1.1"

	WatchMode      string        // auto (default) | notify | poll
	Settle         time.Duration // default 3s
	NetworkSettle  time.Duration // on polled network mounts; default 20s, never below Settle
	PollInterval   time.Duration // default 30s
	RescanInterval time.Duration // default 1h; negative disables
	Ignore         []string      // extra ignore globs

	RetryBase time.Duration // first delay before a failed file is tried again; default 1m, doubling
	RetryMax  time.Duration // cap on that delay; default 1h
	AuthRetry time.Duration // first delay before uploads resume after a credentials failure; default 1m

	// Observer, when set, is told about every outcome (metrics). It must not block.
	Observer Observer
}

// Observer receives the agent's events, for metrics. Methods are called from many goroutines.
type Observer interface {
	FileDone(folder, rel string, outcome Outcome, bytes int64, d time.Duration)
	QueueDepth(n int)
	AuthPaused(paused bool)
}

// Outcome is what happened to one file.
type Outcome string

// The outcomes of one file's processing, as logged and counted.
const (
	OutcomeUploaded Outcome = "uploaded"
	OutcomeSkipped  Outcome = "skipped"
	OutcomeFailed   Outcome = "failed"
	OutcomeRetry    Outcome = "retry" // failed, will be tried again
)

// mediaUploader is what the agent needs from [uploader.Client].
type mediaUploader interface {
	PrepareFile(r io.ReaderAt, m uploader.Media) (uploader.Media, error)
	Upload(ctx context.Context, r io.ReaderAt, m uploader.Media, onProgress func(uploader.Progress)) (uploader.Result, error)
	Resume(ctx context.Context, r io.ReaderAt, m uploader.Media, p uploader.Progress, onProgress func(uploader.Progress)) (uploader.Result, error)
}

var _ mediaUploader = (*uploader.Client)(nil)

// store is what the agent needs from [manifest.Store].
type store interface {
	Get(rel string) (manifest.Entry, bool)
	Put(rel string, e manifest.Entry) error
	Stage(rel string, e manifest.Entry) error
	Snapshot() map[string]manifest.Entry
	Close() error
}

var _ store = (*manifest.Store)(nil)

// Agent uploads the files of its folders and records them. Create it with [New].
type Agent struct {
	up      mediaUploader
	opts    Options
	log     zerolog.Logger // component=agent
	rootLog zerolog.Logger // as given, for the packages the agent drives

	folders []*folder        // the folders whose manifest opened
	refused map[string]error // the others, by path, with why
	queue   *queue
	auth    authGate
	now     func() time.Time

	retryMu sync.Mutex
	retries map[string]*time.Timer // key → pending retry timer

	once       bool        // running Once: no timers for the future, auth failures end the run
	onAuthFail func(error) // set by Once
	counts     counters    // outcomes, for Once's summary
}

// folder is one configured folder with its open manifest.
type folder struct {
	Folder
	store store
	match func(rel string) bool
}

// ErrNoFolders is returned by [New] when no folder could be opened.
var ErrNoFolders = errors.New("no folder can be watched")

// New opens the manifest of every folder. A folder whose manifest is corrupt, locked by another
// agent or unwritable is refused with an error log line; the others are used. New fails only when
// no folder is left, with every folder's reason joined.
func New(up mediaUploader, opts Options, log zerolog.Logger) (*Agent, error) {
	opts = withDefaults(opts)
	a := &Agent{
		up:      up,
		opts:    opts,
		log:     log.With().Str("component", "agent").Logger(),
		rootLog: log,
		queue:   newQueue(),
		now:     time.Now,
		retries: map[string]*time.Timer{},
		refused: map[string]error{},
	}
	a.auth.base = opts.AuthRetry
	var errs []error
	for _, fc := range opts.Folders {
		f, err := openFolder(fc)
		if err != nil {
			a.log.Error().Err(err).Str("folder", fc.Path).Msg("folder refused")
			errs = append(errs, err)
			a.refused[fc.Path] = err
			continue
		}
		a.folders = append(a.folders, f)
	}
	if len(a.folders) == 0 {
		if len(errs) == 0 {
			return nil, ErrNoFolders
		}
		return nil, fmt.Errorf("%w: %w", ErrNoFolders, errors.Join(errs...))
	}
	return a, nil
}

func withDefaults(o Options) Options {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.API == "" {
		o.API = "v2"
	}
	if o.Settle <= 0 {
		o.Settle = 3 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 30 * time.Second
	}
	if o.RescanInterval == 0 {
		o.RescanInterval = time.Hour
	}
	if o.RetryBase <= 0 {
		o.RetryBase = time.Minute
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.AuthRetry <= 0 {
		o.AuthRetry = time.Minute
	}
	for i := range o.Folders {
		f := &o.Folders[i]
		f.Path = filepath.Clean(f.Path)
		if f.Manifest == "" {
			f.Manifest = manifest.DefaultPath(f.Path)
		}
		if f.AltText == "" {
			f.AltText = "auto"
		}
	}
	return o
}

func openFolder(fc Folder) (*folder, error) {
	st, err := os.Stat(fc.Path)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", fc.Path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("folder %s: not a directory", fc.Path)
	}
	match, err := Matcher(fc.Include, fc.Exclude)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", fc.Path, err)
	}
	s, err := manifest.Open(fc.Manifest, fc.Path)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", fc.Path, err)
	}
	return &folder{Folder: fc, store: s, match: match}, nil
}

// Close releases every manifest. Call it after Run or Once returned.
func (a *Agent) Close() error {
	a.retryMu.Lock()
	for k, t := range a.retries {
		t.Stop()
		delete(a.retries, k)
	}
	a.retryMu.Unlock()
	var errs []error
	for _, f := range a.folders {
		errs = append(errs, f.store.Close())
	}
	return errors.Join(errs...)
}

// Folders returns the paths of the folders the agent opened.
func (a *Agent) Folders() []string {
	out := make([]string, len(a.folders))
	for i, f := range a.folders {
		out[i] = f.Path
	}
	return out
}

// Run watches every folder and uploads each file once it has settled, until ctx is cancelled. On
// start it resumes interrupted uploads and schedules the retries recorded in the manifests. It returns
// nil on cancellation and an error only when watching itself fails.
func (a *Agent) Run(ctx context.Context) error {
	w, err := watcher.New(a.watchOptions(), a.rootLog)
	if err != nil {
		return fmt.Errorf("watch: %w", err)
	}
	g, ctx := errgroup.WithContext(ctx)
	ready := make(chan watcher.File, 256)
	g.Go(func() error { return w.Run(ctx, ready) })
	g.Go(func() error { a.dispatch(ctx, ready); return nil })
	for range a.opts.Workers {
		g.Go(func() error { a.worker(ctx); return nil })
	}
	a.recover(ctx)
	err = g.Wait()
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func (a *Agent) watchOptions() watcher.Options {
	o := watcher.Options{
		Mode:             a.opts.WatchMode,
		SettleFor:        a.opts.Settle,
		NetworkSettleFor: a.opts.NetworkSettle,
		PollInterval:     a.opts.PollInterval,
		RescanEvery:      max(a.opts.RescanInterval, 0),
		Ignore:           a.opts.Ignore,
		Skip:             a.known,
	}
	for _, f := range a.folders {
		r := watcher.Root{Path: f.Path, Recursive: f.Recursive, Match: f.match}
		if d := filepath.Dir(f.Manifest); !isUnder(d, filepath.Join(f.Path, ".mediasync")) {
			r.Exclude = append(r.Exclude, f.Manifest, manifest.LockPath(f.Manifest), manifest.JournalPath(f.Manifest))
		}
		if dir, ok := moveDir(f.Folder); ok && isUnder(dir, f.Path) {
			r.Exclude = append(r.Exclude, dir)
		}
		for _, g := range a.opts.Folders { // a configured folder inside this one is its own
			if g.Path != f.Path && isUnder(g.Path, f.Path) {
				r.Exclude = append(r.Exclude, g.Path)
			}
		}
		o.Roots = append(o.Roots, r)
	}
	return o
}

// dispatch turns watcher output into jobs.
func (a *Agent) dispatch(ctx context.Context, in <-chan watcher.File) {
	for {
		select {
		case <-ctx.Done():
			return
		case wf := <-in:
			f := a.folderOf(wf.Root, wf.Path)
			if f == nil {
				continue
			}
			rel, err := manifest.Rel(f.Path, wf.Path)
			if err != nil {
				// Reported once: the watcher emits each version of a file once per run.
				a.log.Error().Str("path", wf.Path).Err(err).Msg("cannot record this file in the manifest; rename it to upload it")
				continue
			}
			kind := jobNew
			if wf.Removed {
				kind = jobRemoved
			}
			a.enqueue(job{f: f, rel: rel, abs: wf.Path, size: wf.Size, mtime: wf.ModTime, kind: kind}, false)
		}
	}
}

func (a *Agent) enqueue(j job, front bool) {
	a.queue.push(j, front)
	if a.opts.Observer != nil {
		a.opts.Observer.QueueDepth(a.queue.len())
	}
}

// worker processes jobs until ctx is cancelled.
func (a *Agent) worker(ctx context.Context) {
	for {
		ok, probe := a.auth.wait(ctx)
		if !ok {
			return
		}
		j, ok := a.queue.pop(ctx)
		if !ok {
			return
		}
		a.process(ctx, j)
		a.queue.done(j.key())
		if probe {
			a.auth.endProbe()
		}
		if a.opts.Observer != nil {
			a.opts.Observer.QueueDepth(a.queue.len())
		}
	}
}

// recover queues, for every folder, the uploads a previous run left unfinished and the retries it
// scheduled, and flags entries whose file is gone.
func (a *Agent) recover(ctx context.Context) {
	for _, f := range a.folders {
		for rel, e := range f.store.Snapshot() {
			if ctx.Err() != nil {
				return
			}
			abs := filepath.Join(f.Path, filepath.FromSlash(rel))
			j := job{f: f, rel: rel, abs: abs, size: e.Size, mtime: e.MTime}
			switch {
			case e.State == manifest.Uploading || e.State == manifest.Processing:
				j.kind = jobResume
				a.enqueue(j, true)
			case e.State == manifest.Failed && e.Error != nil && !e.Error.Permanent:
				j.kind = jobRetry
				a.scheduleRetry(ctx, j, e.NextAttemptAt)
			case e.State == manifest.Uploaded && f.RefreshBeforeExpiry > 0:
				j.kind = jobRefresh
				a.scheduleRetry(ctx, j, e.ExpiresAt.Add(-f.RefreshBeforeExpiry))
			}
			if !e.Deleted && e.MovedTo == "" && j.kind != jobResume {
				_, err := os.Lstat(abs)
				_, moves := moveDir(f.Folder)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					a.enqueue(job{f: f, rel: rel, abs: abs, size: e.Size, mtime: e.MTime, kind: jobRemoved}, false)
				case err == nil && moves && e.State == manifest.Uploaded:
					// Stopped between recording the upload and moving the file: move it now.
					a.enqueue(job{f: f, rel: rel, abs: abs, size: e.Size, mtime: e.MTime, kind: jobNew}, false)
				}
			}
		}
	}
}

// scheduleRetry queues j at time at (now if it is past). One timer per file. Under Once, a time in
// the future is left for a later run.
func (a *Agent) scheduleRetry(ctx context.Context, j job, at time.Time) {
	d := at.Sub(a.now())
	if a.once {
		if d <= 0 {
			a.enqueue(j, false)
		}
		return
	}
	key := j.key()
	a.retryMu.Lock()
	defer a.retryMu.Unlock()
	if t, ok := a.retries[key]; ok {
		t.Stop()
	}
	a.retries[key] = time.AfterFunc(max(d, 0), func() {
		a.retryMu.Lock()
		delete(a.retries, key)
		a.retryMu.Unlock()
		if ctx.Err() == nil {
			a.enqueue(j, false)
		}
	})
}

// known tells the watcher which files need no attention: those whose entry matches their size and
// mtime. Unfinished and failed entries are the agent's own business (recover schedules them).
func (a *Agent) known(path string, size int64, mtime time.Time) bool {
	f := a.folderOf("", path)
	if f == nil {
		return false
	}
	rel, ok := relPath(f.Path, path)
	if !ok {
		return false
	}
	e, ok := f.store.Get(rel)
	if !ok || e.Deleted || e.State == manifest.Pending {
		return false
	}
	return e.Size == size && e.MTime.Equal(mtime)
}

func (a *Agent) folderOf(root, path string) *folder {
	for _, f := range a.folders {
		if root != "" && f.Path == root {
			return f
		}
		if root == "" && isUnder(path, f.Path) {
			return f
		}
	}
	return nil
}

// relPath returns p's manifest key in the folder at root (manifest.Rel), and false when p is not
// inside root or its name cannot be a key (not valid UTF-8, say).
func relPath(root, p string) (string, bool) {
	rel, err := manifest.Rel(root, p)
	return rel, err == nil
}

// isUnder reports whether p is dir or inside it.
func isUnder(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// moveDir returns the absolute directory of an after_upload: move:<dir> setting.
func moveDir(f Folder) (string, bool) {
	d, ok := strings.CutPrefix(f.AfterUpload, "move:")
	if !ok || d == "" {
		return "", false
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(f.Path, d)
	}
	return filepath.Clean(d), true
}
