package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/web"
)

// backend is the [web.Backend] of a running agent: the status page, its JSON API and the control
// socket all answer through it.
//
// The manifest part of a status comes from one [web.Index] per folder, built from
// [agent.Agent.Entries] by attach and kept current by Observe (agent.EventEntry), so that a page
// polled every two seconds costs O(limit + log n) with 100,000 entries. The live part (pause,
// uploads in flight, parked and refused folders, queue) is [agent.Agent.Status], read on every
// call. Retries and uploads go to the agent.
//
// Lifecycle: newBackend before agent.New (its Observe goes into agent.Options.Observer), attach
// once the agent exists and before Run, then serve; wait after Run returned and before the agent
// is closed, for the retries Retry started in the background.
type backend struct {
	folders []string // configured folder paths, cleaned, in configuration order
	log     zerolog.Logger

	ag    *agent.Agent
	bgCtx context.Context // background retries run under it: cancelled when the agent stops
	bg    sync.WaitGroup

	mu      sync.RWMutex
	index   map[string]*web.Index // per opened folder
	refused map[string]event      // folders refused while running (agent.EventRefused)

	rates meter
}

// event is when a folder event happened and its error.
type event struct {
	at  time.Time
	err error
}

var _ web.Backend = (*backend)(nil)
var _ agent.Observer = (*backend)(nil)

// newBackend returns the backend of the configured folders (absolute paths).
func newBackend(folders []string, log zerolog.Logger) *backend {
	b := &backend{index: map[string]*web.Index{}, refused: map[string]event{},
		log: log.With().Str("component", "web").Logger()}
	for _, f := range folders {
		b.folders = append(b.folders, filepath.Clean(f))
	}
	return b
}

// attach builds the indexes of ag's folders from their entries. ctx bounds the retries the page
// starts: cancel it when the agent stops.
func (b *backend) attach(ctx context.Context, ag *agent.Agent) error {
	idx := map[string]*web.Index{}
	for _, f := range ag.Folders() {
		entries, err := ag.Entries(f)
		if err != nil {
			return fmt.Errorf("status index of %s: %w", f, err)
		}
		idx[f] = web.NewIndex(f, maps.All(entries))
	}
	b.mu.Lock()
	b.ag, b.bgCtx = ag, ctx
	for f, x := range idx {
		b.index[f] = x
	}
	b.mu.Unlock()
	return nil
}

// wait waits for the retries started by Retry to end (they end soon after the attach context is
// cancelled).
func (b *backend) wait() { b.bg.Wait() }

// Observe keeps the indexes current and notes when folders are refused. It never blocks
// on I/O: an index update is a map write and a binary-search insert under the index's lock.
func (b *backend) Observe(e agent.Event) {
	switch e.Kind {
	case agent.EventEntry:
		b.mu.RLock()
		x := b.index[e.Folder]
		b.mu.RUnlock()
		if x != nil {
			x.Put(e.Rel, e.Entry)
		}
	case agent.EventRefused:
		b.mu.Lock()
		b.refused[e.Folder] = event{e.Time, e.Err}
		b.mu.Unlock()
	}
}

// errNotAttached answers requests that arrive before attach (they cannot: serving starts after it).
var errNotAttached = errors.New("the agent is starting")

func (b *backend) agent() (*agent.Agent, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ag == nil {
		return nil, errNotAttached
	}
	return b.ag, nil
}

// Status returns the agent's status: the live part from agent.Status, the manifest part from the
// indexes.
func (b *backend) Status(ctx context.Context, q web.Query) (web.Status, error) {
	ag, err := b.agent()
	if err != nil {
		return web.Status{}, err
	}
	if q.Folder != "" && !b.configured(q.Folder) {
		return web.Status{}, fmt.Errorf("%w: %s is not a configured folder", web.ErrNotFound, q.Folder)
	}
	st := ag.Status()
	now := st.Now
	out := web.Status{Version: web.Version, Now: now, Folders: []web.Folder{}}
	for _, n := range st.Queued {
		out.Queue += n
	}
	if p := st.Paused; p != nil {
		out.Paused = pauseOf(p)
	}
	active := map[string][]web.Transfer{}
	for _, t := range st.InFlight {
		active[t.Folder] = append(active[t.Folder], b.rates.transfer(t, now))
	}
	b.rates.keep(st.InFlight)

	b.mu.RLock()
	defer b.mu.RUnlock()
	advise := func(rel string, e manifest.Entry) string {
		_, _, fix := agent.Describe(e, now, true)
		return fix
	}
	for _, path := range b.folders {
		if q.Folder != "" && filepath.Clean(q.Folder) != path {
			continue
		}
		var f web.Folder
		if x := b.index[path]; x != nil {
			f = x.Folder(now, q, advise)
		} else {
			f = web.Folder{Path: path, Recent: []web.Upload{}, Failed: emptyProblems(q), Skipped: emptyProblems(q), Hooks: emptyProblems(q)}
		}
		f.Active = active[path]
		if f.Active == nil {
			f.Active = []web.Transfer{}
		}
		f.Queue = st.Queued[path]
		if err, ok := st.Refused[path]; ok {
			f.Refused = refusalOf(err, b.refused[path].at)
		} else if ev, ok := b.refused[path]; ok {
			f.Refused = refusalOf(ev.err, ev.at)
		}
		if p, ok := st.Parked[path]; ok {
			f.Parked = &web.Refusal{Cause: "parked", Since: p.Since,
				Message: "its manifest cannot be written (" + p.Err.Error() + "); its uploads wait in memory",
				Fix:     "free space on the manifest's disk, or fix its permissions; the agent writes it again by itself"}
		}
		out.Folders = append(out.Folders, f)
	}
	return out, nil
}

func emptyProblems(q web.Query) web.Problems {
	return web.Problems{Offset: max(q.Offset, 0), Items: []web.Problem{}}
}

// configured reports whether folder is one of the configured folders.
func (b *backend) configured(folder string) bool {
	for _, f := range b.folders {
		if f == filepath.Clean(folder) {
			return true
		}
	}
	return false
}

// pauseOf says why every upload pauses: X's account refusal, as a stable word (uploader.Refusal,
// snake_case as the API's other causes), its message and its advice.
func pauseOf(p *agent.Pause) *web.Pause {
	out := &web.Pause{Cause: "refused", Since: p.Since, NextProbe: p.NextProbe}
	if p.Cause != nil {
		out.Message = p.Cause.Error()
		if r, ok := uploader.AccountRefusal(p.Cause); ok {
			out.Cause = strings.ReplaceAll(string(r), "-", "_")
			out.Fix = r.Advice()
		}
	}
	return out
}

// refusalOf says why a folder is not watched, with a stable cause word and what to do.
func refusalOf(err error, since time.Time) *web.Refusal {
	r := &web.Refusal{Cause: "unusable", Message: err.Error(), Since: since,
		Fix: "see the agent's log; restart the agent once it is fixed"}
	switch {
	case errors.Is(err, manifest.ErrLocked):
		r.Cause = "locked"
		r.Fix = "another mediasync process uses this folder's manifest: stop it, or keep the folder in one configuration only; then restart this agent"
	case errors.Is(err, manifest.ErrLockLost):
		r.Cause = "lock_lost"
		r.Fix = "something removed or replaced the manifest's lock file; check what else touches the .mediasync directory, then restart the agent"
	case errors.Is(err, manifest.ErrCorrupt):
		r.Cause = "corrupt_manifest"
		r.Fix = "the manifest is kept as it is: repair it or move it aside, then restart the agent"
	case errors.Is(err, manifest.ErrNewerVersion):
		r.Cause = "newer_manifest"
		r.Fix = "a newer mediasync wrote this manifest: upgrade this one"
	case errors.Is(err, fs.ErrNotExist):
		r.Cause = "missing"
		r.Fix = "create or mount the folder, then restart the agent"
	case errors.Is(err, fs.ErrPermission):
		r.Cause = "permission"
		r.Fix = "give the agent's user access to the folder and its manifest, then restart the agent"
	}
	return r
}

// Retry starts the upload of the failed file rel of folder now, in the background, and returns.
func (b *backend) Retry(ctx context.Context, folder, rel string) error {
	ag, err := b.agent()
	if err != nil {
		return err
	}
	folder = filepath.Clean(folder)
	b.mu.RLock()
	x := b.index[folder]
	b.mu.RUnlock()
	if x == nil {
		if b.configured(folder) {
			return fmt.Errorf("%w: %s is not watched now (see its status)", web.ErrInvalid, folder)
		}
		return fmt.Errorf("%w: %s is not a configured folder", web.ErrNotFound, folder)
	}
	e, ok := x.Entry(rel)
	switch {
	case !ok:
		return fmt.Errorf("%w: %s has no entry for %s", web.ErrNotFound, folder, rel)
	case e.State != manifest.Failed:
		return fmt.Errorf("%w: %s is %s, not failed", web.ErrInvalid, rel, e.State)
	case e.Deleted:
		return fmt.Errorf("%w: %s is no longer in the folder", web.ErrInvalid, rel)
	}
	path := filepath.Join(folder, filepath.FromSlash(rel))
	b.bg.Go(func() {
		// The agent logs the outcome of the upload; what it returns before one is logged here.
		if _, err := ag.Retry(b.bgCtx, path); err != nil && b.bgCtx.Err() == nil {
			var ae *uploader.APIError
			if !errors.As(err, &ae) && !uploader.IsAuth(err) {
				b.log.Warn().Str("path", path).Err(err).Msg("retry from the status page failed")
			}
		}
	})
	return nil
}

// RetryFailed queues every failed file of folder ("" = all) now.
func (b *backend) RetryFailed(ctx context.Context, folder string) (int, error) {
	ag, err := b.agent()
	if err != nil {
		return 0, err
	}
	n, err := ag.RetryFailed(folder)
	return n, b.agentErr(folder, err)
}

// RetryHooks runs the failed on_upload hooks of folder ("" = all) again: they are queued to the
// running agent's hook workers, with a fresh set of attempts.
func (b *backend) RetryHooks(ctx context.Context, folder string) (int, error) {
	ag, err := b.agent()
	if err != nil {
		return 0, err
	}
	n, err := ag.RetryHooks(ctx, folder)
	return n, b.agentErr(folder, err)
}

// agentErr maps the agent's request errors to the API's.
func (b *backend) agentErr(folder string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, agent.ErrUnknownFolder) && b.configured(folder):
		return fmt.Errorf("%w: %s is not watched now (see its status)", web.ErrInvalid, folder)
	case errors.Is(err, agent.ErrUnknownFolder):
		return fmt.Errorf("%w: %w", web.ErrNotFound, err)
	case errors.Is(err, agent.ErrNotRunning):
		return fmt.Errorf("%w: %w", web.ErrInvalid, err)
	}
	return err
}

// Upload uploads the file at path now through the agent (it joins the running agent's queue at
// the front) and returns its entry.
func (b *backend) Upload(ctx context.Context, path string, opts web.UploadOptions) (web.UploadResult, error) {
	ag, err := b.agent()
	if err != nil {
		return web.UploadResult{}, err
	}
	path = filepath.Clean(path)
	folder, rel := b.folderOf(ag, path)
	if folder == "" {
		return web.UploadResult{}, fmt.Errorf("%w: %s is in no folder this agent watches", web.ErrInvalid, path)
	}
	if fi, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return web.UploadResult{}, fmt.Errorf("%w: %s: no such file", web.ErrNotFound, path)
	} else if err == nil && !fi.Mode().IsRegular() {
		return web.UploadResult{}, fmt.Errorf("%w: %s is not a regular file", web.ErrInvalid, path)
	}
	e, err := ag.UploadFile(ctx, path, agent.Override{Category: opts.Category, AltText: opts.AltText, OnProgress: opts.OnProgress})
	if errors.Is(err, agent.ErrNotInFolder) {
		return web.UploadResult{}, fmt.Errorf("%w: %w", web.ErrInvalid, err)
	}
	if err != nil {
		return web.UploadResult{}, err
	}
	return web.UploadResult{Folder: folder, Rel: rel, Entry: e}, nil
}

// folderOf returns the folder of ag that holds path (agent.InnermostFolder) and path's manifest
// key there; "" when none does, or path's name cannot be a key.
func (b *backend) folderOf(ag *agent.Agent, path string) (folder, rel string) {
	folders := ag.Folders()
	i, ok := agent.InnermostFolder(folders, path)
	if !ok {
		return "", ""
	}
	rel, err := manifest.Rel(folders[i], path)
	if err != nil {
		return "", ""
	}
	return folders[i], rel
}

// Explain says what the agent knows and decides about path, live.
func (b *backend) Explain(ctx context.Context, path string) (web.Explanation, error) {
	ag, err := b.agent()
	if err != nil {
		return web.Explanation{}, err
	}
	ex := ag.Explain(path)
	out := web.Explanation{Version: web.Version, Path: path, Folder: ex.Folder, Rel: ex.Rel,
		Verdict: verdictOf(ex), Detail: string(ex.Verdict), Reason: ex.Why, Fix: ex.Fix, Entry: ex.Entry}
	if ex.Verdict == agent.VerdictOutside {
		// A folder the agent refused is not among its folders: say so rather than "outside".
		st := ag.Status()
		for f, rerr := range st.Refused {
			if _, err := manifest.Rel(f, filepath.Clean(ex.Path)); err == nil {
				r := refusalOf(rerr, time.Time{})
				out.Verdict, out.Detail, out.Folder = web.VerdictRefused, "", f
				out.Reason = "its folder is not watched now: " + r.Message
				out.Fix = r.Fix
			}
		}
	}
	if t := ex.Transfer; t != nil {
		tr := b.rates.transfer(*t, time.Now())
		out.Progress = &tr
	}
	return out, nil
}

// verdictOf maps the agent's verdict onto the API's vocabulary (web.Verdict); the agent's own word
// goes in Explanation.Detail.
func verdictOf(ex agent.Explanation) web.Verdict {
	switch ex.Verdict {
	case agent.VerdictOutside:
		return web.VerdictOutside
	case agent.VerdictIgnored:
		return web.VerdictIgnored
	case agent.VerdictNotMedia, agent.VerdictNotRegular:
		return web.VerdictNotMedia
	case agent.VerdictMissing, agent.VerdictRemoved:
		return web.VerdictMissing
	case agent.VerdictSettling, agent.VerdictChanged:
		return web.VerdictSettling
	case agent.VerdictWaiting:
		return web.VerdictQueued
	case agent.VerdictUploading:
		return web.VerdictUploading
	case agent.VerdictUploaded:
		return web.VerdictUploaded
	case agent.VerdictExpired:
		return web.VerdictExpired
	case agent.VerdictSkipped:
		return web.VerdictSkipped
	case agent.VerdictFailed, agent.VerdictRetrying:
		return web.VerdictFailed
	}
	return web.Verdict(ex.Verdict)
}

// meter estimates the speed of the uploads in flight from the progress samples the status
// requests see: the bytes acknowledged over the last half minute or so. Until a second sample
// exists it averages since the upload started (an overestimate for a resumed upload, whose first
// report includes the segments sent before).
type meter struct {
	mu   sync.Mutex
	seen map[string][]sample // by transfer key
}

type sample struct {
	at    time.Time
	bytes int64
}

const (
	sampleEvery  = time.Second
	sampleWindow = 30 * time.Second
)

func transferKey(t agent.Transfer) string {
	return t.Folder + "\x00" + t.Rel + "\x00" + t.Started.String()
}

// transfer returns t as the API shows it, with its rate (bytes/s) and ETA (s).
func (m *meter) transfer(t agent.Transfer, now time.Time) web.Transfer {
	out := web.Transfer{Rel: t.Rel, Phase: web.Phase(t.Phase), Bytes: t.Bytes, Total: t.Total,
		Segments: t.Segments, SegmentsTotal: t.SegmentsTotal, Started: t.Started}
	if t.Phase != agent.PhaseUploading {
		return out
	}
	m.mu.Lock()
	if m.seen == nil {
		m.seen = map[string][]sample{}
	}
	k := transferKey(t)
	s := m.seen[k]
	if len(s) == 0 || now.Sub(s[len(s)-1].at) >= sampleEvery {
		s = append(s, sample{now, t.Bytes})
	}
	for len(s) > 2 && now.Sub(s[1].at) >= sampleWindow {
		s = s[1:]
	}
	m.seen[k] = s
	first := s[0]
	m.mu.Unlock()

	if dt := now.Sub(first.at); len(s) > 1 && dt >= sampleEvery {
		out.Rate = float64(t.Bytes-first.bytes) / dt.Seconds()
	} else if dt := now.Sub(t.Started); dt >= sampleEvery {
		out.Rate = float64(t.Bytes) / dt.Seconds()
	}
	if out.Rate > 0 && t.Total > t.Bytes {
		out.ETA = float64(t.Total-t.Bytes) / out.Rate
	}
	return out
}

// keep forgets the samples of uploads no longer in flight.
func (m *meter) keep(inFlight []agent.Transfer) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.seen) == 0 {
		return
	}
	live := make(map[string]bool, len(inFlight))
	for _, t := range inFlight {
		live[transferKey(t)] = true
	}
	for k := range m.seen {
		if !live[k] {
			delete(m.seen, k)
		}
	}
}
