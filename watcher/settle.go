package watcher

import (
	"container/heap"
	"time"
)

// stamp is what "unchanged" compares: size and modification time.
type stamp struct {
	size  int64
	mtime int64 // UnixNano
}

func stampOf(size int64, mtime time.Time) stamp { return stamp{size: size, mtime: mtime.UnixNano()} }

// candidate is a file waiting to settle.
type candidate struct {
	root     string
	path     string
	st       stamp
	modTime  time.Time
	deadline time.Time // st must still hold at this time
	index    int       // position in the heap
}

// settler is the settle state machine. It is pure: it does no I/O and reads
// no clock; the caller passes the time in. It is not safe for concurrent use
// (Run's goroutine owns it).
//
// A file is observed with its size and mtime; it becomes due settle after
// the last observed change. The caller then stats it again and confirms: an
// unchanged stamp makes it ready, a changed one re-arms it. (Run remembers
// what it emitted per file, to emit each stamp once.) Pending candidates live in a min-heap by deadline, so a burst
// of n files costs O(log n) per operation, and due(now) is O(k log n) for the
// k files that are due.
type settler struct {
	settle time.Duration
	byRoot map[string]time.Duration // roots with a settle time of their own
	byPath map[string]*candidate
	q      candHeap
}

func newSettler(settle time.Duration) *settler {
	return &settler{settle: settle, byRoot: make(map[string]time.Duration), byPath: make(map[string]*candidate)}
}

// setRootSettle gives the files under root their own settle time (network
// roots, whose attributes may be cached); d <= 0 restores the default.
// Candidates already pending keep their deadline.
func (s *settler) setRootSettle(root string, d time.Duration) {
	if d <= 0 {
		delete(s.byRoot, root)
		return
	}
	s.byRoot[root] = d
}

func (s *settler) settleFor(root string) time.Duration {
	if d, ok := s.byRoot[root]; ok {
		return d
	}
	return s.settle
}

// observe records that path (under root) was seen with size and mtime at now.
// A new path, or a changed stamp, (re)arms the candidate: it becomes due at
// now+settle. An unchanged stamp leaves the deadline alone, so repeated
// observations of a quiet file do not delay it.
func (s *settler) observe(root, path string, size int64, mtime, now time.Time) {
	st := stampOf(size, mtime)
	if c, ok := s.byPath[path]; ok {
		if c.st == st {
			return
		}
		c.st, c.modTime, c.root = st, mtime, root
		c.deadline = now.Add(s.settleFor(root))
		heap.Fix(&s.q, c.index)
		return
	}
	c := &candidate{root: root, path: path, st: st, modTime: mtime, deadline: now.Add(s.settleFor(root))}
	s.byPath[path] = c
	heap.Push(&s.q, c)
}

// due removes and returns the candidates whose deadline is at or before now,
// earliest first. The caller stats each one and calls confirm.
func (s *settler) due(now time.Time) []File {
	var out []File
	for len(s.q) > 0 && !s.q[0].deadline.After(now) {
		c := heap.Pop(&s.q).(*candidate)
		delete(s.byPath, c.path)
		out = append(out, File{Root: c.root, Path: c.path, Size: c.st.size, ModTime: c.modTime})
	}
	return out
}

// confirm takes a file returned by due and its size and mtime stat'ed now.
// It reports whether the file settled: the stamp is still the one observed
// settle ago. A changed stamp re-arms the file (observe) and reports false.
func (s *settler) confirm(f File, size int64, mtime, now time.Time) bool {
	if stampOf(size, mtime) != stampOf(f.Size, f.ModTime) {
		s.observe(f.Root, f.Path, size, mtime, now)
		return false
	}
	return true
}

// drop cancels a pending candidate, if any.
func (s *settler) drop(path string) {
	if c, ok := s.byPath[path]; ok {
		heap.Remove(&s.q, c.index)
		delete(s.byPath, path)
	}
}

// next returns the earliest deadline, if any candidate is pending.
func (s *settler) next() (time.Time, bool) {
	if len(s.q) == 0 {
		return time.Time{}, false
	}
	return s.q[0].deadline, true
}

// pending returns the number of candidates waiting to settle.
func (s *settler) pending() int { return len(s.q) }

// candHeap is a min-heap of candidates by deadline (container/heap).
type candHeap []*candidate

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].deadline.Equal(h[j].deadline) {
		return h[i].path < h[j].path
	}
	return h[i].deadline.Before(h[j].deadline)
}
func (h candHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *candHeap) Push(x any) {
	c := x.(*candidate)
	c.index = len(*h)
	*h = append(*h, c)
}
func (h *candHeap) Pop() any {
	old := *h
	n := len(old)
	c := old[n-1]
	old[n-1] = nil
	c.index = -1
	*h = old[:n-1]
	return c
}
