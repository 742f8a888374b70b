package watcher

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"
)

type rootMode int

const (
	modeNotify rootMode = iota
	modePoll
)

func (m rootMode) String() string {
	if m == modePoll {
		return ModePoll
	}
	return ModeNotify
}

// rootState is Run's view of one Root.
type rootState struct {
	Root
	mode      rootMode
	why       string // why this mode, for the log
	decided   bool   // mode fixed (config, or fs type checked once available)
	fsChecked bool   // fs type checked (once available), for the network settle time
	available bool   // the root directory exists and was scanned
	reported  bool   // its unavailability was logged
	real      string // the root with symlinks resolved, for the symlink check
	exclude   map[string]bool
}

// fileState is the last stamp seen for a file, the stamp last emitted for
// it (each is emitted once), and the scan generation of its directory that
// last saw it (absent from a newer listing = removed).
type fileState struct {
	st     stamp
	sentSt stamp
	sent   bool
	gen    uint32
}

// dirState is one directory under a root. Files are keyed by base name,
// which keeps a tree of 100,000 files to a few tens of MiB.
type dirState struct {
	root    *rootState
	rel     string               // slash-separated path relative to the root; "" for the root
	files   map[string]fileState // regular files that passed the ignore and Match rules
	subdirs map[string]uint32    // subdirectory name → generation that last saw it
	watched bool
}

// run is the state of one Run call, owned by its goroutine.
type run struct {
	w          *Watcher
	log        zerolog.Logger
	src        eventSource
	srcFailed  bool
	oneShot    bool // Scan: no watching, quieter logs
	listing    bool // List: nothing settles; problems are collected, not logged
	problems   []error
	stop       <-chan struct{} // closed: stop walking (List's ctx); nil never is
	roots      []*rootState
	dirs       map[string]*dirState
	set        *settler
	queue      []File
	qhead      int
	gen        uint32
	warned     map[string]bool // paths whose problem was reported (once)
	noted      map[string]bool // symlinks and special files logged at debug (once)
	nextPoll   time.Time
	nextRescan time.Time
}

func newRun(w *Watcher) *run {
	r := &run{
		w:      w,
		log:    w.log,
		dirs:   make(map[string]*dirState),
		set:    newSettler(w.opts.SettleFor),
		warned: make(map[string]bool),
		noted:  make(map[string]bool),
	}
	for _, root := range w.roots {
		rs := &rootState{Root: root, exclude: make(map[string]bool, len(root.Exclude))}
		for _, e := range root.Exclude {
			rs.exclude[e] = true
		}
		switch w.opts.Mode {
		case ModePoll:
			rs.mode, rs.why, rs.decided = modePoll, "mode poll", true
		case ModeNotify:
			rs.mode, rs.why, rs.decided = modeNotify, "mode notify", true
		}
		r.roots = append(r.roots, rs)
	}
	return r
}

func (r *run) close() {
	if r.src != nil {
		_ = r.src.Close()
		r.src = nil
	}
}

// start does the initial scan of every root.
func (r *run) start(now time.Time) {
	begin := time.Now()
	r.scanRoots(now, func(*rootState) bool { return true })
	files := 0
	for _, d := range r.dirs {
		files += len(d.files)
	}
	r.log.Info().Int("dirs", len(r.dirs)).Int("files", files).Int("pending", r.set.pending()).
		Dur("duration", time.Since(begin)).Msg("initial scan done")
	r.nextPoll = now.Add(r.w.opts.PollInterval)
	if r.w.opts.RescanEvery > 0 {
		r.nextRescan = now.Add(jitter(r.w.opts.RescanEvery))
	}
}

func (r *run) nextGen() uint32 {
	r.gen++
	if r.gen == 0 { // 0 marks "seen by an event"; never a scan generation
		r.gen++
	}
	return r.gen
}

func (r *run) needsPoll() bool {
	for _, rs := range r.roots {
		if rs.mode == modePoll || !rs.available {
			return true
		}
	}
	return false
}

func (r *run) hasNotify() bool {
	for _, rs := range r.roots {
		if rs.mode == modeNotify && rs.available {
			return true
		}
	}
	return false
}

// nextWake is when the loop must wake up next: the earliest settle
// deadline, poll or rescan. In notify mode with nothing settling that is the
// next rescan: no busy polling while idle.
func (r *run) nextWake(now time.Time) time.Time {
	wake := now.Add(24 * time.Hour)
	if t, ok := r.set.next(); ok && t.Before(wake) {
		wake = t
	}
	if r.needsPoll() && r.nextPoll.Before(wake) {
		wake = r.nextPoll
	}
	if r.w.opts.RescanEvery > 0 && r.hasNotify() && r.nextRescan.Before(wake) {
		wake = r.nextRescan
	}
	return wake
}

// tick runs the poll and the periodic rescan when they are due.
func (r *run) tick(now time.Time) {
	if !now.Before(r.nextPoll) {
		r.nextPoll = now.Add(r.w.opts.PollInterval)
		r.scanRoots(now, func(rs *rootState) bool { return rs.mode == modePoll || !rs.available })
	}
	if r.w.opts.RescanEvery > 0 && !now.Before(r.nextRescan) {
		r.nextRescan = now.Add(jitter(r.w.opts.RescanEvery))
		if r.hasNotify() {
			r.log.Debug().Msg("periodic rescan")
			r.scanRoots(now, func(rs *rootState) bool { return rs.mode == modeNotify })
		}
	}
}

// processDue stats every candidate whose settle time is up and queues the
// ones that did not change.
func (r *run) processDue(now time.Time) {
	for _, f := range r.set.due(now) {
		info, err := os.Lstat(f.Path)
		ds := r.dirs[filepath.Dir(f.Path)]
		name := filepath.Base(f.Path)
		if err != nil || !info.Mode().IsRegular() {
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				r.warnOnce(f.Path, "stat", err)
			}
			if ds != nil {
				r.fileGone(ds, f.Path, name)
			}
			continue
		}
		fsx, ok := fileState{}, false
		if ds != nil {
			fsx, ok = ds.files[name]
		}
		if !ok { // forgotten meanwhile (its directory went away)
			continue
		}
		st := stampOf(info.Size(), info.ModTime())
		fsx.st = st
		if r.set.confirm(f, info.Size(), info.ModTime(), now) && (!fsx.sent || fsx.sentSt != st) {
			fsx.sent, fsx.sentSt = true, st
			r.log.Debug().Str("path", f.Path).Int64("bytes", f.Size).Msg("file ready")
			r.enqueue(f)
		}
		ds.files[name] = fsx
	}
}

func (r *run) enqueue(f File) { r.queue = append(r.queue, f) }

func (r *run) dequeue() {
	r.queue[r.qhead] = File{}
	r.qhead++
	switch {
	case r.qhead == len(r.queue):
		r.queue, r.qhead = r.queue[:0], 0
	case r.qhead >= 1024 && r.qhead*2 >= len(r.queue):
		n := copy(r.queue, r.queue[r.qhead:])
		clear(r.queue[n:])
		r.queue, r.qhead = r.queue[:n], 0
	}
}

// scanRoots scans the roots that pick selects.
func (r *run) scanRoots(now time.Time, pick func(*rootState) bool) {
	for _, rs := range r.roots {
		if pick(rs) {
			r.scanRoot(rs, now)
		}
	}
}

func (r *run) scanRoot(rs *rootState, now time.Time) {
	fi, err := os.Stat(rs.Path)
	if err == nil && !fi.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		if rs.available {
			rs.available = false
			r.removeSubtree(rs.Path)
		}
		if r.listing {
			r.problems = append(r.problems, &Error{Op: "scan", Path: rs.Path, Err: err})
			return
		}
		if !rs.reported {
			rs.reported = true
			r.log.Warn().Str("path", rs.Path).Err(err).Dur("retry_in", r.w.opts.PollInterval).
				Msg("folder unavailable; retrying each poll interval")
		}
		return
	}
	if !rs.available {
		r.activate(rs)
	}
	r.scanDir(rs, rs.Path, "", now)
}

// activate sets a root up once its directory exists: fs type (the mode in
// auto mode, the settle time in every mode), event source, and one log line
// saying how it is followed.
func (r *run) activate(rs *rootState) {
	rs.available = true
	rs.reported = false
	if real, err := filepath.EvalSymlinks(rs.Path); err == nil {
		rs.real = real
	} else {
		rs.real = rs.Path
	}
	if !rs.fsChecked {
		// Every mode: a network root needs NetworkSettleFor whether auto
		// mode picked polling or the config forced poll or notify.
		rs.fsChecked = true
		name, remote, err := r.w.fsType(rs.Path)
		if err == nil && remote {
			r.set.setRootSettle(rs.Path, r.w.opts.NetworkSettleFor)
		}
		if !rs.decided {
			rs.decided = true
			switch {
			case err != nil:
				rs.mode, rs.why = modeNotify, "filesystem type unknown"
				r.log.Debug().Str("path", rs.Path).Err(err).Msg("statfs failed; watching")
			case remote:
				rs.mode, rs.why = modePoll, "network filesystem "+name
			default:
				rs.mode, rs.why = modeNotify, "local filesystem"
			}
		} else if err == nil && remote {
			rs.why += " on network filesystem " + name
		}
	}
	if rs.mode == modeNotify && r.src == nil {
		if r.srcFailed {
			rs.mode, rs.why = modePoll, "file notifications unavailable"
		} else if src, err := r.w.newSource(); err != nil {
			r.srcFailed = true
			rs.mode, rs.why = modePoll, "file notifications unavailable"
			r.limitOrWarn(rs, &Error{Op: "notify", Err: err})
		} else {
			r.src = src
		}
	}
	lvl := zerolog.InfoLevel
	if r.oneShot {
		lvl = zerolog.DebugLevel
	}
	ev := r.log.WithLevel(lvl).Str("path", rs.Path).Str("mode", rs.mode.String()).Str("reason", rs.why).
		Dur("settle", r.set.settleFor(rs.Path))
	if rs.mode == modePoll {
		ev = ev.Dur("poll_interval", r.w.opts.PollInterval)
	}
	ev.Msg("watching folder")
}

// scanDir lists dir (watching it first in notify mode, so that nothing
// created during the listing is missed), compares with what was seen
// before, and recurses. Files absent from the listing are removed.
func (r *run) scanDir(rs *rootState, dir, rel string, now time.Time) {
	select {
	case <-r.stop:
		return
	default:
	}
	ds := r.dirs[dir]
	if ds == nil {
		ds = &dirState{root: rs, rel: rel, files: make(map[string]fileState), subdirs: make(map[string]uint32)}
		r.dirs[dir] = ds
	}
	if rs.mode == modeNotify { // even when watched: the name may now be another directory (renamed over, made anew); Add is idempotent
		r.watch(rs, ds, dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && dir != rs.Path {
			r.removeSubtree(dir)
			return
		}
		r.warnOnce(dir, "scan", err)
		return
	}
	delete(r.warned, dir)
	gen := r.nextGen()

	// Forget vanished subdirectories first: their watches must be gone
	// before a renamed twin is added (inotify would hand back the old watch).
	if len(ds.subdirs) > 0 {
		for _, e := range entries {
			if _, ok := ds.subdirs[e.Name()]; ok && e.IsDir() {
				ds.subdirs[e.Name()] = gen
			}
		}
		for name, g := range ds.subdirs {
			if g != gen {
				r.removeSubtree(joinPath(dir, name))
			}
		}
	}

	for _, e := range entries {
		name := e.Name()
		if Ignored(name, r.w.ignore) {
			continue
		}
		if len(rs.exclude) > 0 && rs.exclude[joinPath(dir, name)] {
			continue
		}
		t := e.Type()
		switch {
		case t.IsDir():
			if !rs.Recursive {
				continue
			}
			ds.subdirs[name] = gen
			r.scanDir(rs, joinPath(dir, name), joinRel(rel, name), now)
		case t&fs.ModeSymlink != 0:
			r.symlink(rs, joinPath(dir, name))
		case t.IsRegular():
			if rs.Match != nil && !rs.Match(joinRel(rel, name)) {
				continue
			}
			info, err := e.Info()
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				r.warnOnce(joinPath(dir, name), "stat", err) // e.g. ENAMETOOLONG: a path longer than PATH_MAX
			}
			if err != nil || !info.Mode().IsRegular() {
				continue // vanished or replaced since the listing: absent below
			}
			r.seenFile(rs, ds, dir, name, info.Size(), info.ModTime(), gen, now)
		default:
			r.special(joinPath(dir, name), t)
		}
	}
	for name, f := range ds.files {
		if f.gen != gen {
			r.fileGone(ds, joinPath(dir, name), name)
		}
	}
}

// seenFile records a regular file's stamp; a new or changed one goes to
// Skip and then to the settle machine.
func (r *run) seenFile(rs *rootState, ds *dirState, dir, name string, size int64, mtime time.Time, gen uint32, now time.Time) {
	st := stampOf(size, mtime)
	old, had := ds.files[name]
	if had && old.st == st {
		if old.gen != gen {
			old.gen = gen
			ds.files[name] = old
		}
		return
	}
	ds.files[name] = fileState{st: st, sentSt: old.sentSt, sent: old.sent, gen: gen}
	if r.listing {
		return
	}
	path := joinPath(dir, name)
	if old.sent && old.sentSt == st { // changed back to what was emitted
		r.set.drop(path)
		return
	}
	if skip := r.w.opts.Skip; skip != nil && skip(path, size, mtime) {
		r.set.drop(path)
		return
	}
	r.set.observe(rs.Path, path, size, mtime, now)
}

// fileGone forgets a file; one that had been seen is sent as Removed.
func (r *run) fileGone(ds *dirState, path, name string) {
	r.set.drop(path)
	f, ok := ds.files[name]
	if !ok {
		return
	}
	delete(ds.files, name)
	r.enqueue(File{Root: ds.root.Path, Path: path, Size: f.st.size, ModTime: time.Unix(0, f.st.mtime), Removed: true})
}

// removeSubtree forgets dir and everything below it: its files are sent as
// Removed and its watches are dropped.
func (r *run) removeSubtree(dir string) {
	ds := r.dirs[dir]
	if ds == nil {
		return
	}
	for name := range ds.subdirs {
		r.removeSubtree(joinPath(dir, name))
	}
	for name := range ds.files {
		r.fileGone(ds, joinPath(dir, name), name)
	}
	if ds.watched && r.src != nil {
		_ = r.src.Remove(dir) // already gone if the kernel dropped it
	}
	delete(r.dirs, dir)
	if dir != ds.root.Path {
		if parent := r.dirs[filepath.Dir(dir)]; parent != nil {
			delete(parent.subdirs, filepath.Base(dir))
		}
	}
}

// watch adds an inotify watch for dir.
func (r *run) watch(rs *rootState, ds *dirState, dir string) {
	if r.src == nil {
		return
	}
	err := r.src.Add(dir)
	switch {
	case err == nil:
		ds.watched = true
	case IsLimit(err):
		r.limitOrWarn(rs, &Error{Op: "watch", Path: dir, Err: err})
	case errors.Is(err, fs.ErrNotExist):
	default:
		r.warnOnce(dir, "watch", err)
	}
}

// limitOrWarn handles an event-source failure for rs: an OS limit switches
// the root to polling with one actionable message.
func (r *run) limitOrWarn(rs *rootState, err error) {
	if !IsLimit(err) {
		r.log.Warn().Str("path", rs.Path).Str("mode", ModePoll).Err(err).Msg("file notifications unavailable; polling folder")
	} else {
		r.log.Warn().Str("path", rs.Path).Str("mode", ModePoll).Err(err).Str("fix", limitHint(err)).Msg("inotify limit reached; polling folder")
	}
	rs.mode, rs.why = modePoll, "inotify limit"
	if !IsLimit(err) {
		rs.why = "file notifications unavailable"
	}
	if r.src == nil {
		return
	}
	for d, ds := range r.dirs {
		if ds.root == rs && ds.watched {
			_ = r.src.Remove(d)
			ds.watched = false
		}
	}
}

func (r *run) warnOnce(path, op string, err error) {
	if r.warned[path] {
		return
	}
	r.warned[path] = true
	if r.listing {
		r.problems = append(r.problems, &Error{Op: op, Path: path, Err: err})
		return
	}
	msg := "cannot read; skipping"
	if errors.Is(err, fs.ErrPermission) {
		msg = "permission denied; skipping"
	}
	r.log.Warn().Str("path", path).Str("op", op).Err(err).Msg(msg)
}

// symlink logs a skipped symbolic link once. Links are never followed: one
// pointing outside the root must not leak files from elsewhere, and one
// pointing inside names a file that is emitted under its own path.
func (r *run) symlink(rs *rootState, path string) {
	if r.noted[path] {
		return
	}
	r.noted[path] = true
	target, err := filepath.EvalSymlinks(path)
	inside := err == nil && (target == rs.real || within(rs.real, target))
	r.log.Debug().Str("path", path).Str("target", target).Bool("inside_root", inside).Msg("symlink skipped")
}

func (r *run) special(path string, mode fs.FileMode) {
	if r.noted[path] {
		return
	}
	r.noted[path] = true
	r.log.Debug().Str("path", path).Str("mode", mode.String()).Msg("not a regular file; skipped")
}

// handleEvent applies one fsnotify event. The event is only a hint: the
// path is stat'ed and what is there now decides.
func (r *run) handleEvent(ev fsnotify.Event, now time.Time) {
	if ev.Op&^fsnotify.Chmod == 0 {
		return // Spotlight, antivirus and backups fire these constantly
	}
	path := filepath.Clean(ev.Name)
	gone := ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename)
	if gone {
		if ds, ok := r.dirs[path]; ok {
			r.removeSubtree(path)
			if path == ds.root.Path {
				r.scanRoot(ds.root, now)
				return
			}
		}
	}
	ds := r.dirs[filepath.Dir(path)]
	if ds == nil {
		return
	}
	rs := ds.root
	name := filepath.Base(path)
	if Ignored(name, r.w.ignore) || rs.exclude[path] {
		return
	}
	info, err := os.Lstat(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.warnOnce(path, "stat", err)
		}
		r.fileGone(ds, path, name)
		return
	}
	m := info.Mode()
	if !m.IsRegular() {
		r.fileGone(ds, path, name)
	}
	switch {
	case m.IsDir():
		if !rs.Recursive {
			return
		}
		if _, ok := ds.subdirs[name]; !ok {
			ds.subdirs[name] = 0
		}
		r.scanDir(rs, path, joinRel(ds.rel, name), now)
	case m&fs.ModeSymlink != 0:
		r.symlink(rs, path)
	case m.IsRegular():
		rel := joinRel(ds.rel, name)
		if rs.Match != nil && !rs.Match(rel) {
			return
		}
		gen := uint32(0)
		if f, ok := ds.files[name]; ok {
			gen = f.gen
		}
		r.seenFile(rs, ds, filepath.Dir(path), name, info.Size(), info.ModTime(), gen, now)
	default:
		r.special(path, m)
	}
}

// handleError applies an error from the event source. Events may have been
// lost in every case, so watched roots are rescanned.
func (r *run) handleError(err error, now time.Time) {
	if errors.Is(err, fsnotify.ErrEventOverflow) {
		r.log.Warn().Msg("event queue overflowed; rescanning watched folders")
	} else {
		r.log.Warn().Err(err).Msg("watch error; rescanning watched folders")
	}
	r.scanRoots(now, func(rs *rootState) bool { return rs.mode == modeNotify })
}

// sourceLost switches every watched root to polling when the event source
// stops working.
func (r *run) sourceLost(err error) {
	r.log.Error().Err(err).Msg("file notifications stopped; polling every folder")
	r.close()
	r.srcFailed = true
	for _, rs := range r.roots {
		if rs.mode == modeNotify {
			rs.mode, rs.why = modePoll, "file notifications stopped"
		}
	}
	for _, ds := range r.dirs {
		ds.watched = false
	}
}

func joinPath(dir, name string) string {
	if len(dir) > 0 && dir[len(dir)-1] == filepath.Separator {
		return dir + name
	}
	return dir + string(filepath.Separator) + name
}

func joinRel(rel, name string) string {
	if rel == "" {
		return name
	}
	return rel + "/" + name
}
