package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/hook"
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
	MoveTo              string   // after upload, move the file under this directory (absolute); "" = keep it
	Manifest            string   // "" = manifest.DefaultPath(Path)
	RefreshBeforeExpiry time.Duration
	OnUpload            hook.Spec // run after each upload is recorded (hooks.go); no Command = none
	Fit                 FitPolicy // photos over X's limit or in a type it does not show (fit.go)
}

// Options configures an [Agent]. Zero values take the documented defaults.
type Options struct {
	Folders []Folder
	Workers int    // files uploaded at once; default 2
	API     string // recorded in each entry: "v2" (default) or "v1.1"

	RetryBase time.Duration // ceiling of the first delay before a failed file is tried again; default 1m, doubling
	RetryMax  time.Duration // cap on that delay; default 1h
	AuthRetry time.Duration // first pause of every upload after an account-level refusal; default 1m

	// Now is the agent's one clock; default time.Now. Timers run on the runtime's clock, so tests
	// that control time use testing/synctest rather than a fake Now.
	Now func() time.Time

	// Observer, when set, is told about everything that happens (events.go). It must not block.
	Observer Observer
}

// Source delivers the files the agent must look at; *watcher.Watcher is one. Run sends each file
// that settled (or vanished) on out until ctx is cancelled, then returns nil; it never closes out.
type Source interface {
	Run(ctx context.Context, out chan<- watcher.File) error
}

var _ Source = (*watcher.Watcher)(nil)

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
	HashFile(ctx context.Context, r io.ReaderAt, size int64) (uploader.Sums, error)
	PrepareFile(r io.ReaderAt, m uploader.Media) (uploader.Media, error)
	ProbeUpload(ctx context.Context) error
	Upload(ctx context.Context, r io.ReaderAt, m uploader.Media, onProgress func(uploader.Progress)) (uploader.Result, error)
	Resume(ctx context.Context, r io.ReaderAt, m uploader.Media, p uploader.Progress, onProgress func(uploader.Progress)) (uploader.Result, error)
}

var _ mediaUploader = (*uploader.Client)(nil)

// store is what the agent needs from [manifest.Store].
type store interface {
	Get(rel string) (manifest.Entry, bool)
	Put(rel string, e manifest.Entry) error
	PutMany(entries map[string]manifest.Entry) error
	Stage(rel string, e manifest.Entry) error
	Snapshot() map[string]manifest.Entry
	CheckLock() error
	Close() error
}

var _ store = (*manifest.Store)(nil)

// Agent uploads the files of its folders and records them. Create it with [New]. Its manifests
// are open until [Agent.Close]; [Agent.Run], [Agent.Once] and [Agent.UploadFile] each run a
// session of their own over them (UploadFile joins a running Run's session).
type Agent struct {
	up   mediaUploader
	opts Options
	now  func() time.Time
	log  zerolog.Logger // component=agent

	folders []*folder        // the folders whose manifest opened
	refused map[string]error // the others, by path, with why

	running atomic.Pointer[session] // the session of Run, while it runs
	fitting chan struct{}           // one photo fitted at a time (memory)

	mu        sync.Mutex
	watchBase watcher.Options // what WatchOptions was given, for Explain
}

// folder is one configured folder with its open manifest.
type folder struct {
	Folder
	store store
	match func(rel string) bool

	stopped atomic.Pointer[error] // set when another agent took the folder's lock: nothing more is done
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
		now:     opts.Now,
		log:     log.With().Str("component", "agent").Logger(),
		refused: map[string]error{},
		fitting: make(chan struct{}, 1),
	}
	var errs []error
	for _, fc := range opts.Folders {
		f, err := a.openFolder(fc)
		if err != nil {
			a.log.Error().Err(err).Str("folder", fc.Path).Msg("folder refused")
			errs = append(errs, err)
			a.refused[fc.Path] = err
			a.emit(Event{Kind: EventRefused, Folder: fc.Path, Err: err})
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

// withDefaults is the agent's one set of defaults.
func withDefaults(o Options) Options {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.API == "" {
		o.API = uploader.V2
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
	if o.Now == nil {
		o.Now = time.Now
	}
	o.Folders = append([]Folder(nil), o.Folders...)
	for i := range o.Folders {
		f := &o.Folders[i]
		f.Path = filepath.Clean(f.Path)
		if f.Manifest == "" {
			f.Manifest = manifest.DefaultPath(f.Path)
		}
		if f.AltText == "" {
			f.AltText = "auto"
		}
		if f.MoveTo != "" {
			f.MoveTo = filepath.Clean(f.MoveTo)
		}
	}
	return o
}

func (a *Agent) openFolder(fc Folder) (*folder, error) {
	st, err := os.Stat(fc.Path)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", fc.Path, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("folder %s: not a directory", fc.Path)
	}
	if fc.MoveTo != "" && !filepath.IsAbs(fc.MoveTo) {
		return nil, fmt.Errorf("folder %s: move target %q is not absolute", fc.Path, fc.MoveTo)
	}
	match, err := Matcher(fc.Include, fc.Exclude)
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", fc.Path, err)
	}
	log := a.log.With().Str("folder", fc.Path).Logger()
	s, err := manifest.OpenWith(fc.Manifest, fc.Path, manifest.Options{Report: func(err error) {
		// The store repaired something by itself (issue 17.5): say so once, loudly.
		var de *manifest.DamageError
		switch {
		case errors.As(err, &de):
			log.Error().Str("manifest", de.Path).Str("kept", de.Kept).Str("problem", de.Problem).Str("action", de.Action).
				Msg("the manifest was damaged or replaced behind the agent's back; the damaged copy is kept")
		case errors.Is(err, manifest.ErrLockLost):
			log.Error().Err(err).Msg("the manifest's lock was lost (was .mediasync removed?); the agent took it again and rewrote the manifest")
		default:
			log.Error().Err(err).Msg("manifest problem")
		}
	}})
	if err != nil {
		return nil, fmt.Errorf("folder %s: %w", fc.Path, err)
	}
	removeFitLeftovers(fc) // the lock is ours: nothing else writes beside the manifest
	return &folder{Folder: fc, store: s, match: match}, nil
}

// Close releases every manifest. Call it after Run or Once returned.
func (a *Agent) Close() error {
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

// Refused returns, for each configured folder that could not be opened (a corrupt manifest, one
// locked by another agent) or was stopped since (another agent took its lock), why.
func (a *Agent) Refused() map[string]error {
	out := make(map[string]error, len(a.refused))
	for k, v := range a.refused {
		out[k] = v
	}
	for _, f := range a.folders {
		if p := f.stopped.Load(); p != nil {
			out[f.Path] = *p
		}
	}
	return out
}

// WatchOptions returns base (mode, settle times, intervals, ignore patterns) completed with what
// only the agent knows: a root per folder with its include/exclude matcher, the paths the watcher
// must never descend (a manifest outside .mediasync, a move target inside the folder, a configured
// folder nested in another), and a Skip that spares files the manifest already records.
func (a *Agent) WatchOptions(base watcher.Options) watcher.Options {
	a.mu.Lock()
	a.watchBase = base
	a.mu.Unlock()
	o := base
	o.Roots = nil
	o.Skip = a.known
	for _, f := range a.folders {
		o.Roots = append(o.Roots, root(f.Folder, f.match, a.opts.Folders))
	}
	return o
}

// known tells the watcher which files need no attention: those whose entry records their size and
// mtime (see recorded).
func (a *Agent) known(path string, size int64, mtime time.Time) bool {
	f := a.folderOf("", path)
	if f == nil {
		return false
	}
	rel, err := manifest.Rel(f.Path, path)
	if err != nil {
		return false
	}
	e, ok := f.store.Get(rel)
	return recorded(e, ok, size, mtime)
}

// folderOf returns the folder whose root is root, or, with root "", the open folder that holds
// path (see holder); nil if there is none.
func (a *Agent) folderOf(root, path string) *folder {
	if root == "" {
		f, _ := a.holder(path)
		return f
	}
	for _, f := range a.folders {
		if f.Path == root {
			return f
		}
	}
	return nil
}

// holder returns the folder that holds path: the innermost configured folder ([InnermostFolder]:
// the first one path lies in may be an outer folder, whose manifest does not record the files of a
// folder nested in it). That folder is chosen among every configured one, open or not: when it
// could not be opened, the error wraps [ErrFolderRefused] (an enclosing folder that is open must not
// record the file either, the inner folder's manifest will); when none holds path,
// [ErrNotInFolder].
func (a *Agent) holder(path string) (*folder, error) {
	paths := make([]string, len(a.opts.Folders))
	for i, f := range a.opts.Folders {
		paths[i] = f.Path
	}
	i, ok := InnermostFolder(paths, path)
	if !ok {
		return nil, ErrNotInFolder
	}
	for _, f := range a.folders {
		if f.Path == paths[i] {
			return f, nil
		}
	}
	if why := a.Refused()[paths[i]]; why != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFolderRefused, paths[i], why)
	}
	return nil, fmt.Errorf("%w: %s", ErrFolderRefused, paths[i])
}

// isUnder reports whether p is dir or inside it.
func isUnder(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}
