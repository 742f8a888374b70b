package watcher

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

// File is a regular file that stopped changing and is ready to upload, or,
// with Removed, a path that vanished after being seen.
type File struct {
	Root    string    // the Root.Path it was found under (absolute, cleaned)
	Path    string    // absolute path
	Size    int64     // for Removed: the last size seen
	ModTime time.Time // for Removed: the last mtime seen
	Removed bool      // the file was removed or renamed away after being seen (Remove/Rename event or absent from a scan)
}

// Root is one watched folder.
type Root struct {
	Path      string                // absolute; cleaned by New
	Recursive bool                  // descend into subdirectories
	Match     func(rel string) bool // rel = slash-separated path relative to Path; nil = every file; called for files only
	Exclude   []string              // absolute paths never descended nor emitted (e.g. a custom manifest location); .mediasync is always excluded
}

// Mode values for [Options].Mode.
const (
	ModeAuto   = "auto"   // poll network and FUSE roots, watch the others
	ModeNotify = "notify" // watch every root with fsnotify
	ModePoll   = "poll"   // list every root each PollInterval
)

// Defaults for zero [Options] fields.
const (
	DefaultSettleFor        = 3 * time.Second
	DefaultNetworkSettleFor = 20 * time.Second
	DefaultPollInterval     = 30 * time.Second
)

// Options configures a Watcher. Zero values take the documented defaults.
type Options struct {
	Roots []Root

	// Mode is "auto" (the default), "notify" or "poll". Auto polls roots on
	// NFS, SMB/CIFS/SMB2 and FUSE mounts (statfs), where events for changes
	// made by other machines never arrive, and watches the others. In auto
	// and notify mode a root whose watches hit an inotify limit is polled
	// instead, after one actionable log line.
	Mode string

	// SettleFor is how long size and mtime must stay unchanged before a
	// file is ready (default 3s).
	SettleFor time.Duration

	// NetworkSettleFor is the settle time of roots on a network or FUSE
	// filesystem, whatever the Mode (default 20s, never less than
	// SettleFor): a client may serve cached attributes (NFS acregmax is
	// 60s), so a file another machine is still writing can look unchanged
	// for a few seconds.
	NetworkSettleFor time.Duration

	// PollInterval is how often a polled root is listed (default 30s).
	PollInterval time.Duration

	// RescanEvery is the period of the safety-net full rescan of watched
	// roots, jittered ±25%; 0 disables it (mediasync's config supplies 1h).
	RescanEvery time.Duration

	// Ignore holds extra glob patterns (path.Match syntax, on base names,
	// case-insensitive) on top of the built-in list; see [Ignored].
	Ignore []string

	// Skip reports that a file is already known (e.g. recorded in the
	// manifest with this size and mtime): it is neither settled nor
	// emitted. It is called from Run's goroutine only, once per new or
	// changed (path, size, mtime). May be nil.
	Skip func(path string, size int64, mtime time.Time) bool
}

// Watcher finds files that are ready to upload. Create it with New and call
// Run once.
type Watcher struct {
	opts    Options
	roots   []Root
	ignore  []string
	log     zerolog.Logger
	rescan  chan struct{}
	running atomic.Bool

	// Seams for tests; New sets the real ones.
	newSource func() (eventSource, error)
	fsType    func(path string) (name string, remote bool, err error)
}

// New validates opts and returns a Watcher. It does no I/O: a root that does
// not exist yet is reported, and retried, by Run.
//
// A root may lie inside a recursive root only if the outer root never
// descends into it: it lies in (or is) one of the outer root's Exclude
// paths, or a path component between them, the inner root's own name
// included, is ignored ([Ignored] with Options.Ignore), e.g. a hidden
// directory. Otherwise New returns an *Error: its files would be found
// twice.
func New(opts Options, log zerolog.Logger) (*Watcher, error) {
	if len(opts.Roots) == 0 {
		return nil, &Error{Op: "options", Err: errors.New("no roots to watch")}
	}
	switch opts.Mode {
	case "":
		opts.Mode = ModeAuto
	case ModeAuto, ModeNotify, ModePoll:
	default:
		return nil, &Error{Op: "options", Err: fmt.Errorf("mode %q: want auto, notify or poll", opts.Mode)}
	}
	if opts.SettleFor < 0 || opts.NetworkSettleFor < 0 || opts.PollInterval < 0 || opts.RescanEvery < 0 {
		return nil, &Error{Op: "options", Err: errors.New("durations must not be negative")}
	}
	if opts.SettleFor == 0 {
		opts.SettleFor = DefaultSettleFor
	}
	if opts.NetworkSettleFor == 0 {
		opts.NetworkSettleFor = DefaultNetworkSettleFor
	}
	opts.NetworkSettleFor = max(opts.NetworkSettleFor, opts.SettleFor)
	if opts.PollInterval == 0 {
		opts.PollInterval = DefaultPollInterval
	}
	ign, err := lowerPatterns(opts.Ignore)
	if err != nil {
		return nil, err
	}
	roots := make([]Root, len(opts.Roots))
	for i, r := range opts.Roots {
		if !filepath.IsAbs(r.Path) {
			return nil, &Error{Op: "options", Path: r.Path, Err: errors.New("root path must be absolute")}
		}
		r.Path = filepath.Clean(r.Path)
		ex := make([]string, len(r.Exclude))
		for j, e := range r.Exclude {
			if !filepath.IsAbs(e) {
				return nil, &Error{Op: "options", Path: e, Err: errors.New("exclude path must be absolute")}
			}
			ex[j] = filepath.Clean(e)
		}
		r.Exclude = ex
		roots[i] = r
	}
	for i, a := range roots {
		for j, b := range roots {
			if i == j {
				continue
			}
			if a.Path == b.Path {
				return nil, &Error{Op: "options", Path: a.Path, Err: errors.New("root listed twice")}
			}
			if a.Recursive && within(a.Path, b.Path) && !excludes(a, b.Path) && !ignoredBetween(a.Path, b.Path, ign) {
				return nil, &Error{Op: "options", Path: b.Path, Err: fmt.Errorf("root lies inside root %s (exclude it there)", a.Path)}
			}
		}
	}
	opts.Roots = roots
	return &Watcher{
		opts:      opts,
		roots:     roots,
		ignore:    ign,
		log:       log.With().Str("component", "watcher").Logger(),
		rescan:    make(chan struct{}, 1),
		newSource: newFsnotifySource,
		fsType:    remoteFS,
	}, nil
}

// ignoredBetween reports whether a recursive walk of dir never reaches p
// (strictly inside dir) because a path component on the way, p's own base
// name included, is ignored (see [Ignored]; ign are the extra patterns).
func ignoredBetween(dir, p string, ign []string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	for part := range strings.SplitSeq(rel, string(filepath.Separator)) {
		if Ignored(part, ign) {
			return true
		}
	}
	return false
}

// excludes reports whether p lies in (or is) one of r's excluded paths.
func excludes(r Root, p string) bool {
	for _, e := range r.Exclude {
		if p == e || within(e, p) {
			return true
		}
	}
	return false
}

// within reports whether p lies strictly inside dir (both cleaned).
func within(dir, p string) bool {
	if dir == string(filepath.Separator) {
		return len(p) > 1 && p[0] == filepath.Separator
	}
	return len(p) > len(dir) && p[len(dir)] == filepath.Separator && strings.HasPrefix(p, dir)
}

// Rescan asks Run for a full rescan of every root soon. It never blocks and
// is safe from any goroutine; requests made while one is pending coalesce.
func (w *Watcher) Rescan() {
	select {
	case w.rescan <- struct{}{}:
	default:
	}
}

// Run scans every root, then follows events (or polls) until ctx is
// cancelled, sending ready and removed files on out. It returns nil on
// cancellation. It never closes out: the caller owns it. Every send selects
// on ctx.Done(), and events keep being read while out is not: ready files
// queue inside Run. Run may be called once per Watcher at a time.
func (w *Watcher) Run(ctx context.Context, out chan<- File) error {
	if !w.running.CompareAndSwap(false, true) {
		return &Error{Op: "run", Err: errors.New("already running")}
	}
	defer w.running.Store(false)
	r := newRun(w)
	defer r.close()
	r.start(time.Now())

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		r.processDue(now)
		timer.Reset(r.nextWake(now).Sub(now))

		var send chan<- File
		var head File
		if r.qhead < len(r.queue) {
			send, head = out, r.queue[r.qhead]
		}
		var evs <-chan fsnotify.Event
		var errs <-chan error
		if r.src != nil {
			evs, errs = r.src.Events(), r.src.Errors()
		}
		select {
		case <-ctx.Done():
			return nil
		case send <- head:
			r.dequeue()
		case ev, ok := <-evs:
			if !ok {
				r.sourceLost(errors.New("event channel closed"))
				continue
			}
			r.handleEvent(ev, time.Now())
		case err, ok := <-errs:
			if !ok {
				r.sourceLost(errors.New("error channel closed"))
				continue
			}
			r.handleError(err, time.Now())
		case <-w.rescan:
			r.log.Info().Msg("rescan requested")
			r.scanRoots(time.Now(), func(*rootState) bool { return true })
		case <-timer.C:
			r.tick(time.Now())
		}
	}
}

// jitter returns d ±25%, uniformly.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	q := int64(d) / 4
	if q == 0 {
		return d
	}
	return time.Duration(int64(d) - q + rand.Int64N(2*q+1))
}
