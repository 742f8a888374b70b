package notify

import "slices"

// queue is a FIFO of events: a slice consumed from the front, compacted when half of it is
// consumed, so that push, take and dropping the oldest cost amortised O(1) and memory follows the
// queue's length rather than its bound.
type queue struct {
	items []Event
	off   int
}

func (q *queue) len() int { return len(q.items) - q.off }

func (q *queue) push(e Event) { q.items = append(q.items, e) }

func (q *queue) dropOldest() {
	q.items[q.off] = Event{}
	q.off++
	q.compact()
}

// take removes and returns up to n events from the front.
func (q *queue) take(n int) []Event {
	n = min(n, q.len())
	out := slices.Clone(q.items[q.off : q.off+n])
	clear(q.items[q.off : q.off+n])
	q.off += n
	q.compact()
	return out
}

// pushFront puts events back at the front, in order.
func (q *queue) pushFront(evs []Event) {
	q.items = append(slices.Clone(evs), q.items[q.off:]...)
	q.off = 0
}

func (q *queue) compact() {
	if q.off == 0 || q.off*2 < len(q.items) {
		return
	}
	n := copy(q.items, q.items[q.off:])
	clear(q.items[n:])
	q.items = q.items[:n]
	q.off = 0
	if cap(q.items) > 1024 && n < cap(q.items)/4 {
		q.items = slices.Clip(slices.Clone(q.items))
	}
}
