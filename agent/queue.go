package agent

import (
	"context"
	"sync"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// job is one file to look at, and why.
type job struct {
	f     *folder
	rel   string // relative to f.Path, with / separators
	abs   string
	size  int64 // as the watcher saw it settle (jobNew)
	mtime time.Time
	kind  jobKind

	explicit bool     // the user named this file (mediasync upload, retry)
	override Override // explicit uploads only
	// reply, when set, receives the outcome once the job is processed (explicit requests).
	reply func(manifest.Entry, error)
	// flush marks the job that writes a parked folder's manifest again (see park.go).
	flush bool
	// hook marks the job that runs the file's on_upload command (see hooks.go).
	hook bool
}

func (j job) key() string {
	switch {
	case j.flush:
		return "flush:" + j.f.Path
	case j.hook:
		return "hook:" + j.abs
	}
	return j.abs
}

// queue is the agent's work list: FIFO, at most one job per file queued and one in flight. A job for
// a file that is in flight waits until that one is done, so one file is never uploaded twice at once.
type queue struct {
	mu       sync.Mutex
	items    []job
	queued   map[string]bool // queued, not yet popped
	inflight map[string]bool
	again    map[string]pending // arrived while in flight
	wake     chan struct{}
	idleCh   chan struct{} // closed when the queue becomes idle; nil while nobody waits
}

// pending is a job that arrived for a file in flight, and whether it goes to the front.
type pending struct {
	j     job
	front bool
}

func newQueue() *queue {
	return &queue{
		queued:   map[string]bool{},
		inflight: map[string]bool{},
		again:    map[string]pending{},
		wake:     make(chan struct{}, 1),
	}
}

// push adds j; front puts it before the others (resumed uploads, explicit requests, and the
// job whose upload an account refusal interrupted keep their place at the front).
func (q *queue) push(j job, front bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := j.key()
	switch {
	case q.inflight[k]:
		if old, ok := q.again[k]; ok {
			var keep bool
			if j, keep = supersede(old.j, j); keep {
				return
			}
			front = front || old.front
		}
		q.again[k] = pending{j, front}
		return
	case q.queued[k]:
		// Keep the queued job's place but take the newer facts: a file re-exported while its
		// first version waited must be processed as it is now (decide drops a job whose size or
		// mtime no longer match, and the watcher reports each version only once).
		for i := range q.items {
			if q.items[i].key() == k {
				var keep bool
				if j, keep = supersede(q.items[i], j); keep {
					return
				}
				if front && i > 0 {
					q.items = append(q.items[:i], q.items[i+1:]...)
					q.items = append([]job{j}, q.items...)
				} else {
					q.items[i] = j
				}
				break
			}
		}
		return
	}
	q.queued[k] = true
	if front {
		q.items = append([]job{j}, q.items...)
	} else {
		q.items = append(q.items, j)
	}
	q.signal()
}

// supersede returns the job that takes old's place for the same file: j, answering old's caller
// too when both have one; or, with keep, old itself when someone waits on old and nobody on j (the
// watcher's news never displaces a request someone waits on).
func supersede(old, j job) (_ job, keep bool) {
	switch {
	case old.reply == nil:
		return j, false
	case j.reply == nil:
		return old, true
	}
	first, second := old.reply, j.reply
	j.reply = func(e manifest.Entry, err error) {
		first(e, err)
		second(e, err)
	}
	return j, false
}

// pop blocks until a job is available or ctx is done.
func (q *queue) pop(ctx context.Context) (job, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			j := q.items[0]
			q.items[0] = job{}
			q.items = q.items[1:]
			delete(q.queued, j.key())
			q.inflight[j.key()] = true
			if len(q.items) > 0 {
				q.signal()
			}
			q.mu.Unlock()
			return j, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return job{}, false
		case <-q.wake:
		}
	}
}

// done marks the job for key finished, and queues what arrived for it meanwhile.
func (q *queue) done(key string) {
	q.mu.Lock()
	delete(q.inflight, key)
	j, ok := q.again[key]
	delete(q.again, key)
	if !ok && len(q.items) == 0 && len(q.inflight) == 0 && q.idleCh != nil {
		close(q.idleCh)
		q.idleCh = nil
	}
	q.mu.Unlock()
	if ok {
		q.push(j.j, j.front)
	}
}

// waitIdle blocks until nothing is queued or in flight, or ctx is done.
func (q *queue) waitIdle(ctx context.Context) {
	q.mu.Lock()
	if len(q.items) == 0 && len(q.inflight) == 0 {
		q.mu.Unlock()
		return
	}
	if q.idleCh == nil {
		q.idleCh = make(chan struct{})
	}
	ch := q.idleCh
	q.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-ch:
	}
}

// has reports whether a job for key is queued or in flight.
func (q *queue) has(key string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued[key] || q.inflight[key]
}

// len returns the number of jobs queued or in flight.
// byFolder counts the queued jobs (not in flight) of each folder, manifest writes apart.
func (q *queue) byFolder() map[string]int {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := map[string]int{}
	for _, j := range q.items {
		if !j.flush {
			out[j.f.Path]++
		}
	}
	return out
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + len(q.inflight)
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}
