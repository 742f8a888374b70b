package web

import (
	"iter"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Index keeps the manifest part of one folder's status up to date as its entries change, so that
// a status costs O(limit + log n) instead of a pass over every entry: with 100,000 entries a page
// stays well under a millisecond of work however often browsers poll. The agent builds it once
// from the manifest ([NewIndex]) and tells it every change ([Index.Put], [Index.Delete]).
// Safe for concurrent use.
type Index struct {
	path string

	mu      sync.RWMutex
	entries map[string]brief          // every entry: what the status needs of it
	counts  Counts                    // Uploaded counts every uploaded entry; Folder splits off Expired
	uploads []stamp                   // uploaded entries by upload time (newest last; ties: path descending)
	expiry  []stamp                   // uploaded entries with a media id, by expiry
	failed  []string                  // failed paths, sorted
	skipped []string                  // skipped paths, sorted
	hooks   []string                  // paths whose on_upload hook failed, sorted
	issues  map[string]manifest.Entry // the failed, skipped and hook-failed entries, whole (for Advice)
}

// brief is what the index keeps of an entry.
type brief struct {
	state              manifest.State
	mediaID            string
	uploaded, expireAt time.Time
	hookFailed         bool
}

type stamp struct {
	t   time.Time
	rel string
}

func byUpload(a, b stamp) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	return strings.Compare(b.rel, a.rel) // so that, newest first, equal times list by path
}

func byExpiry(a, b stamp) int {
	if c := a.t.Compare(b.t); c != 0 {
		return c
	}
	return strings.Compare(a.rel, b.rel)
}

// NewIndex returns the index of the folder at path holding entries (e.g. maps.All of a manifest's
// Files; nil for none). It sorts once: O(n log n).
func NewIndex(path string, entries iter.Seq2[string, manifest.Entry]) *Index {
	x := &Index{path: path, entries: map[string]brief{}, issues: map[string]manifest.Entry{}}
	if entries != nil {
		for rel, e := range entries {
			x.add(rel, e, false)
		}
	}
	slices.SortFunc(x.uploads, byUpload)
	slices.SortFunc(x.expiry, byExpiry)
	slices.Sort(x.failed)
	slices.Sort(x.skipped)
	slices.Sort(x.hooks)
	return x
}

// Put records that the entry of rel is now e (added or changed). A change that keeps the entry's
// place in every list (its state, media id, upload and expiry times; most writes of a running
// agent: progress, a hook's outcome, a removed file) costs O(1); one that moves it costs a binary
// search and a slice insert, O(n) in memory moves at worst.
func (x *Index) Put(rel string, e manifest.Entry) {
	x.mu.Lock()
	defer x.mu.Unlock()
	b := briefOf(e)
	if old, ok := x.entries[rel]; ok && old.samePlace(b) {
		x.entries[rel] = b
		if _, whole := x.issues[rel]; whole {
			x.issues[rel] = e
		}
		return
	}
	x.remove(rel)
	x.add(rel, e, true)
}

func briefOf(e manifest.Entry) brief {
	return brief{state: e.State, mediaID: e.MediaIDString, uploaded: e.UploadedAt, expireAt: e.ExpiresAt, hookFailed: hookFailed(e)}
}

// samePlace reports whether an entry described by c sits where b's does in every list.
func (b brief) samePlace(c brief) bool {
	return b.state == c.state && b.mediaID == c.mediaID && b.uploaded.Equal(c.uploaded) && b.expireAt.Equal(c.expireAt) && b.hookFailed == c.hookFailed
}

// Delete records that rel has no entry any more.
func (x *Index) Delete(rel string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.remove(rel)
}

// Entry returns what the index keeps of rel's entry: the whole entry when it failed, was skipped
// or its hook failed; else its state, media id and times only. ok is false when rel has no entry.
func (x *Index) Entry(rel string) (e manifest.Entry, ok bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	b, ok := x.entries[rel]
	if !ok {
		return manifest.Entry{}, false
	}
	if e, whole := x.issues[rel]; whole {
		return e, true
	}
	return manifest.Entry{State: b.state, MediaIDString: b.mediaID, UploadedAt: b.uploaded, ExpiresAt: b.expireAt}, true
}

// Len returns the number of entries.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.entries)
}

// insert adds v to the slice s kept sorted by f; sorted=false appends (NewIndex sorts at the end).
func insert[T any](s []T, v T, f func(a, b T) int, sorted bool) []T {
	if !sorted {
		return append(s, v)
	}
	i, _ := slices.BinarySearchFunc(s, v, f)
	return slices.Insert(s, i, v)
}

func drop[T any](s []T, v T, f func(a, b T) int) []T {
	if i, ok := slices.BinarySearchFunc(s, v, f); ok {
		return slices.Delete(s, i, i+1)
	}
	return s
}

func (x *Index) add(rel string, e manifest.Entry, sorted bool) {
	b := briefOf(e)
	x.entries[rel] = b
	if b.hookFailed {
		x.hooks = insert(x.hooks, rel, strings.Compare, sorted)
		x.issues[rel] = e
	}
	switch e.State {
	case manifest.Pending:
		x.counts.Pending++
	case manifest.Uploading:
		x.counts.Uploading++
	case manifest.Processing:
		x.counts.Processing++
	case manifest.Uploaded:
		x.counts.Uploaded++
		x.uploads = insert(x.uploads, stamp{b.uploaded, rel}, byUpload, sorted)
		if b.mediaID != "" {
			x.expiry = insert(x.expiry, stamp{b.expireAt, rel}, byExpiry, sorted)
		}
	case manifest.Failed:
		x.counts.Failed++
		x.failed = insert(x.failed, rel, strings.Compare, sorted)
		x.issues[rel] = e
	case manifest.Skipped:
		x.counts.Skipped++
		x.skipped = insert(x.skipped, rel, strings.Compare, sorted)
		x.issues[rel] = e
	}
}

func (x *Index) remove(rel string) {
	b, ok := x.entries[rel]
	if !ok {
		return
	}
	delete(x.entries, rel)
	if b.hookFailed {
		x.hooks = drop(x.hooks, rel, strings.Compare)
		delete(x.issues, rel)
	}
	switch b.state {
	case manifest.Pending:
		x.counts.Pending--
	case manifest.Uploading:
		x.counts.Uploading--
	case manifest.Processing:
		x.counts.Processing--
	case manifest.Uploaded:
		x.counts.Uploaded--
		x.uploads = drop(x.uploads, stamp{b.uploaded, rel}, byUpload)
		if b.mediaID != "" {
			x.expiry = drop(x.expiry, stamp{b.expireAt, rel}, byExpiry)
		}
	case manifest.Failed:
		x.counts.Failed--
		x.failed = drop(x.failed, rel, strings.Compare)
		delete(x.issues, rel)
	case manifest.Skipped:
		x.counts.Skipped--
		x.skipped = drop(x.skipped, rel, strings.Compare)
		delete(x.issues, rel)
	}
}

// Folder returns the manifest part of the folder's status at time now: the counts per state
// (uploaded entries whose media id expired by now apart), the q.Limit most recent uploads, and the
// page of failed, skipped and hook-failed files that q asks for, by path. The caller adds what the
// manifest does not know: Refused, Parked, Queue and Active.
func (x *Index) Folder(now time.Time, q Query, advise Advice) Folder {
	limit, offset := q.limit(), max(q.Offset, 0)
	x.mu.RLock()
	defer x.mu.RUnlock()
	f := Folder{Path: x.path, Counts: x.counts, Active: []Transfer{}, Recent: []Upload{}}
	// Valid: a media id expiring after now. The rest of the uploaded entries have expired.
	firstValid := sort.Search(len(x.expiry), func(i int) bool { return x.expiry[i].t.After(now) })
	f.Counts.Uploaded = len(x.expiry) - firstValid
	f.Counts.Expired = x.counts.Uploaded - f.Counts.Uploaded
	for i := len(x.uploads) - 1; i >= 0 && len(f.Recent) < limit; i-- {
		rel := x.uploads[i].rel
		b := x.entries[rel]
		f.Recent = append(f.Recent, Upload{Rel: rel, MediaID: b.mediaID, UploadedAt: b.uploaded, ExpiresAt: b.expireAt})
	}
	page := func(rels []string) Problems {
		p := Problems{Total: len(rels), Offset: offset, Items: []Problem{}}
		for _, rel := range rels[min(offset, len(rels)):min(offset+limit, len(rels))] {
			p.Items = append(p.Items, problemOf(rel, x.issues[rel], advise))
		}
		return p
	}
	f.Failed = page(x.failed)
	f.Skipped = page(x.skipped)
	f.Hooks = Problems{Total: len(x.hooks), Offset: offset, Items: []Problem{}}
	for _, rel := range x.hooks[min(offset, len(x.hooks)):min(offset+limit, len(x.hooks))] {
		f.Hooks.Items = append(f.Hooks.Items, hookProblem(rel, x.issues[rel]))
	}
	return f
}
