package agent

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// scheduler holds every job that must run later (a failed file's retry, a refresh before expiry, a
// parked folder's next manifest write) in one deadline heap, with one timer owned by one goroutine
// (run), as the watcher's settle machine does: 10,000 failures after an outage are 10,000 heap
// entries, not 10,000 timers. A file has at most one scheduled job; scheduling it again moves it.
type scheduler struct {
	now  func() time.Time
	mu   sync.Mutex
	h    schedHeap
	keys map[string]*schedItem
	seq  uint64
	wake chan struct{}
}

type schedItem struct {
	at     time.Time
	seq    uint64 // ties keep the order of scheduling
	j      job
	outage bool // a retry after the API or the network failed: brought forward when X answers again
	index  int
}

func newScheduler(now func() time.Time) *scheduler {
	return &scheduler{now: now, keys: map[string]*schedItem{}, wake: make(chan struct{}, 1)}
}

// add schedules j at at, replacing any job already scheduled for its file.
func (s *scheduler) add(j job, at time.Time, outage bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := j.key()
	s.seq++
	if it, ok := s.keys[k]; ok {
		it.at, it.seq, it.j, it.outage = at, s.seq, j, outage
		heap.Fix(&s.h, it.index)
	} else {
		it := &schedItem{at: at, seq: s.seq, j: j, outage: outage}
		heap.Push(&s.h, it)
		s.keys[k] = it
	}
	s.signal()
}

// remove forgets the job scheduled for key, if any.
func (s *scheduler) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it, ok := s.keys[key]; ok {
		heap.Remove(&s.h, it.index)
		delete(s.keys, key)
	}
}

// forward brings every outage retry scheduled after at to at: X answers again, so files that
// failed because it did not should not wait out their backoff. It returns how many moved.
func (s *scheduler) forward(at time.Time) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, it := range s.h {
		if it.outage && it.at.After(at) {
			it.at = at
			n++
		}
	}
	if n > 0 {
		heap.Init(&s.h)
		s.signal()
	}
	return n
}

// len returns the number of scheduled jobs.
func (s *scheduler) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.h)
}

// due removes and returns the jobs whose time has come, earliest first, and the time until the
// next one (-1: none left).
func (s *scheduler) due(now time.Time) ([]job, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []job
	for len(s.h) > 0 && !s.h[0].at.After(now) {
		it := heap.Pop(&s.h).(*schedItem)
		delete(s.keys, it.j.key())
		out = append(out, it.j)
	}
	if len(s.h) == 0 {
		return out, -1
	}
	return out, s.h[0].at.Sub(now)
}

// run fires each job when its time comes, until ctx is done. It is the one goroutine that waits
// on the heap's timer.
func (s *scheduler) run(ctx context.Context, fire func(job)) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		jobs, next := s.due(s.now())
		for _, j := range jobs {
			fire(j)
		}
		var tc <-chan time.Time
		if next >= 0 {
			t.Reset(next)
			tc = t.C
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tc:
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

func (s *scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type schedHeap []*schedItem

func (h schedHeap) Len() int { return len(h) }
func (h schedHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h schedHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *schedHeap) Push(x any) {
	it := x.(*schedItem)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *schedHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
