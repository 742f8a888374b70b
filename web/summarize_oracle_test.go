package web

import (
	"container/heap"
	"iter"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Summarize is the tests' oracle for [Index] (TestIndexMatchesSummarize) and its benchmark's
// baseline: the manifest part of a folder's [Folder] status computed in one pass over every entry
// (30 to 80 ms for 100,000 on a busy two-core machine, where the Index answers in O(limit + log n)):
// the counts per state (uploaded entries whose media id expired by now apart), the q.Limit most
// recent uploads, and the page of failed, skipped and hook-failed files that q asks for, by path,
// in memory bounded by q.Offset+q.Limit.
func Summarize(path string, entries iter.Seq2[string, manifest.Entry], now time.Time, q Query, advise Advice) Folder {
	limit := q.limit()
	offset := max(q.Offset, 0)
	f := Folder{Path: path, Active: []Transfer{}}
	recent := &recentHeap{}
	failed := &entryHeap{keep: offset + limit}
	skipped := &entryHeap{keep: offset + limit}
	hooks := &entryHeap{keep: offset + limit}
	nhooks := 0
	for rel, e := range entries {
		if hookFailed(e) {
			nhooks++
			hooks.offer(rel, e)
		}
		switch e.State {
		case manifest.Pending:
			f.Counts.Pending++
		case manifest.Uploading:
			f.Counts.Uploading++
		case manifest.Processing:
			f.Counts.Processing++
		case manifest.Uploaded:
			if e.Usable(now) {
				f.Counts.Uploaded++
			} else {
				f.Counts.Expired++
			}
			recent.offer(limit, Upload{Rel: rel, MediaID: e.MediaIDString, UploadedAt: e.UploadedAt, ExpiresAt: e.ExpiresAt})
		case manifest.Failed:
			f.Counts.Failed++
			failed.offer(rel, e)
		case manifest.Skipped:
			f.Counts.Skipped++
			skipped.offer(rel, e)
		}
	}
	f.Recent = recent.newestFirst()
	page := func(h *entryHeap, total int) Problems {
		p := Problems{Total: total, Offset: offset, Items: []Problem{}}
		kept := h.sorted()
		for _, it := range kept[min(offset, len(kept)):] {
			p.Items = append(p.Items, problemOf(it.rel, it.e, advise))
		}
		return p
	}
	f.Failed = page(failed, f.Counts.Failed)
	f.Skipped = page(skipped, f.Counts.Skipped)
	f.Hooks = Problems{Total: nhooks, Offset: offset, Items: []Problem{}}
	kept := hooks.sorted()
	for _, it := range kept[min(offset, len(kept)):] {
		f.Hooks.Items = append(f.Hooks.Items, hookProblem(it.rel, it.e))
	}
	return f
}

// hookFailed reports whether e's on_upload hook gave up (manifest.HookFailed).

// entryHeap keeps the entries with the keep smallest paths offered: a max-heap by path, so the
// largest kept is at the root.
type entryHeap struct {
	keep  int
	items []keptEntry
}

type keptEntry struct {
	rel string
	e   manifest.Entry
}

func (h *entryHeap) Len() int           { return len(h.items) }
func (h *entryHeap) Less(i, j int) bool { return h.items[i].rel > h.items[j].rel }
func (h *entryHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *entryHeap) Push(x any)         { h.items = append(h.items, x.(keptEntry)) }
func (h *entryHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// offer keeps rel's entry if rel is among the keep smallest paths so far.
func (h *entryHeap) offer(rel string, e manifest.Entry) {
	switch {
	case h.keep <= 0:
	case len(h.items) < h.keep:
		heap.Push(h, keptEntry{rel, e})
	case rel < h.items[0].rel:
		h.items[0] = keptEntry{rel, e}
		heap.Fix(h, 0)
	}
}

// sorted returns the kept entries by ascending path, emptying the heap.
func (h *entryHeap) sorted() []keptEntry {
	out := make([]keptEntry, len(h.items))
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(keptEntry)
	}
	return out
}

// recentHeap keeps the most recent uploads offered: a min-heap by UploadedAt (then path, so the
// choice among equal times is stable).
type recentHeap []Upload

func (h recentHeap) Len() int { return len(h) }
func (h recentHeap) Less(i, j int) bool {
	if !h[i].UploadedAt.Equal(h[j].UploadedAt) {
		return h[i].UploadedAt.Before(h[j].UploadedAt)
	}
	return h[i].Rel > h[j].Rel
}
func (h recentHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *recentHeap) Push(x any)   { *h = append(*h, x.(Upload)) }
func (h *recentHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (h *recentHeap) offer(limit int, u Upload) {
	if len(*h) < limit {
		heap.Push(h, u)
		return
	}
	if !(recentHeap{u, (*h)[0]}).Less(1, 0) {
		return // not newer than the oldest kept
	}
	(*h)[0] = u
	heap.Fix(h, 0)
}

// newestFirst returns the kept uploads, newest first, emptying the heap.
func (h *recentHeap) newestFirst() []Upload {
	out := make([]Upload, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(Upload)
	}
	return out
}
