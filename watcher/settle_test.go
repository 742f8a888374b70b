package watcher

import (
	"reflect"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// step is one operation on a settler at t0+at.
type step struct {
	at    time.Duration
	op    string // "observe", "due", "confirm", "drop"
	path  string
	size  int64
	mtime int      // seconds after t0: the file's mtime
	want  []string // due: the paths returned, in order
	ready bool     // confirm: want ready
}

func TestSettler(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	const settle = 3 * time.Second
	sec := time.Second
	tests := []struct {
		name  string
		steps []step
	}{
		{"new file is due after settle, not before", []step{
			{at: 0, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 2999 * time.Millisecond, op: "due", want: nil},
			{at: 3 * sec, op: "due", want: []string{"/r/a"}},
			{at: 3 * sec, op: "confirm", path: "/r/a", size: 10, mtime: 0, ready: true},
			{at: 10 * sec, op: "due", want: nil},
		}},
		{"growing file is never due while it grows", []step{
			{at: 0, op: "observe", path: "/r/v", size: 1, mtime: 0},
			{at: 2 * sec, op: "observe", path: "/r/v", size: 2, mtime: 2},
			{at: 4 * sec, op: "due", want: nil},
			{at: 4 * sec, op: "observe", path: "/r/v", size: 3, mtime: 4},
			{at: 6 * sec, op: "observe", path: "/r/v", size: 4, mtime: 6},
			{at: 8 * sec, op: "due", want: nil},
			{at: 9 * sec, op: "due", want: []string{"/r/v"}},
			{at: 9 * sec, op: "confirm", path: "/r/v", size: 4, mtime: 6, ready: true},
		}},
		{"unchanged re-observation does not delay", []step{
			{at: 0, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 1 * sec, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 2 * sec, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 3 * sec, op: "due", want: []string{"/r/a"}},
		}},
		{"same size new mtime re-arms", []step{
			{at: 0, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 2 * sec, op: "observe", path: "/r/a", size: 10, mtime: 2},
			{at: 3 * sec, op: "due", want: nil},
			{at: 5 * sec, op: "due", want: []string{"/r/a"}},
		}},
		{"changed at the deadline stat re-arms", []step{
			{at: 0, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 3 * sec, op: "due", want: []string{"/r/a"}},
			{at: 3 * sec, op: "confirm", path: "/r/a", size: 20, mtime: 3, ready: false},
			{at: 5 * sec, op: "due", want: nil},
			{at: 6 * sec, op: "due", want: []string{"/r/a"}},
			{at: 6 * sec, op: "confirm", path: "/r/a", size: 20, mtime: 3, ready: true},
		}},
		{"drop cancels a pending file only", []step{
			{at: 0, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 1 * sec, op: "observe", path: "/r/b", size: 1, mtime: 1},
			{at: 2 * sec, op: "drop", path: "/r/a"},
			{at: 2 * sec, op: "drop", path: "/r/nothing"},
			{at: 10 * sec, op: "due", want: []string{"/r/b"}},
			{at: 11 * sec, op: "observe", path: "/r/a", size: 10, mtime: 0},
			{at: 14 * sec, op: "due", want: []string{"/r/a"}},
		}},
		{"due returns earliest first", []step{
			{at: 0, op: "observe", path: "/r/c", size: 1, mtime: 0},
			{at: 1 * sec, op: "observe", path: "/r/a", size: 1, mtime: 0},
			{at: 1 * sec, op: "observe", path: "/r/b", size: 1, mtime: 0},
			{at: 2 * sec, op: "observe", path: "/r/c", size: 2, mtime: 2},
			{at: 10 * sec, op: "due", want: []string{"/r/a", "/r/b", "/r/c"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSettler(settle)
			var last []File
			for i, st := range tt.steps {
				now := t0.Add(st.at)
				mt := t0.Add(time.Duration(st.mtime) * time.Second)
				switch st.op {
				case "observe":
					s.observe("/r", st.path, st.size, mt, now)
				case "drop":
					s.drop(st.path)
				case "due":
					last = s.due(now)
					var got []string
					for _, f := range last {
						got = append(got, f.Path)
					}
					if !reflect.DeepEqual(got, st.want) {
						t.Fatalf("step %d: due(t0+%v) = %v, want %v", i, st.at, got, st.want)
					}
				case "confirm":
					i := slices.IndexFunc(last, func(f File) bool { return f.Path == st.path })
					if i < 0 {
						t.Fatalf("step %d: %s was not returned by the last due", i, st.path)
					}
					if got := s.confirm(last[i], st.size, mt, now); got != st.ready {
						t.Fatalf("step %d: confirm(%s, %d) = %v, want %v", i, st.path, st.size, got, st.ready)
					}
				default:
					t.Fatalf("bad op %q", st.op)
				}
			}
		})
	}
}

func TestSettlerNextAndPending(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	s := newSettler(time.Second)
	if _, ok := s.next(); ok {
		t.Fatal("next() on empty settler reported a deadline")
	}
	s.observe("/r", "/r/a", 1, t0, t0.Add(5*time.Second))
	s.observe("/r", "/r/b", 1, t0, t0.Add(2*time.Second))
	if got, ok := s.next(); !ok || !got.Equal(t0.Add(3*time.Second)) {
		t.Errorf("next() = %v, %v; want %v", got, ok, t0.Add(3*time.Second))
	}
	if got := s.pending(); got != 2 {
		t.Errorf("pending() = %d, want 2", got)
	}
	s.drop("/r/b")
	if got, ok := s.next(); !ok || !got.Equal(t0.Add(6*time.Second)) {
		t.Errorf("after drop: next() = %v, %v; want %v", got, ok, t0.Add(6*time.Second))
	}
}

// TestSettlerClock drives the settler as Run does, from a timer loop, while
// a writer keeps growing a file in fake time: the file is reported exactly
// settle after its last change, never while it grows.
func TestSettlerClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const settle = 3 * time.Second
		s := newSettler(settle)
		type change struct {
			size int64
			at   time.Time
		}
		changes := make(chan change)
		go func() { // the writer: grows the file every 2s, 10 times
			for i := range 10 {
				changes <- change{size: int64(i + 1), at: time.Now()}
				time.Sleep(2 * time.Second)
			}
			close(changes)
		}()
		var (
			size       int64
			mtime      time.Time
			lastChange time.Time
			readyAt    time.Time
			readySize  int64
		)
		timer := time.NewTimer(time.Hour)
		for {
			now := time.Now()
			for _, f := range s.due(now) {
				if s.confirm(f, size, mtime, now) {
					readyAt, readySize = now, f.Size
				}
			}
			if changes == nil && s.pending() == 0 {
				break
			}
			if next, ok := s.next(); ok {
				timer.Reset(next.Sub(now))
			}
			select {
			case c, ok := <-changes:
				if !ok {
					changes = nil
					continue
				}
				size, mtime, lastChange = c.size, c.at, c.at
				s.observe("/r", "/r/f", size, mtime, time.Now())
			case <-timer.C:
			}
		}
		if readySize != 10 {
			t.Fatalf("ready size = %d, want 10 (the final size)", readySize)
		}
		if want := lastChange.Add(settle); !readyAt.Equal(want) {
			t.Errorf("ready at %v, want %v (last change + settle)", readyAt, want)
		}
	})
}

func BenchmarkSettlerBurst(b *testing.B) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	paths := make([]string, 20000)
	for i := range paths {
		paths[i] = "/r/shoot/IMG_" + string(rune('a'+i%26)) + time.Duration(i).String() + ".jpg"
	}
	b.ReportAllocs()
	for b.Loop() {
		s := newSettler(3 * time.Second)
		for i, p := range paths {
			s.observe("/r", p, int64(i), t0, t0.Add(time.Duration(i)*time.Microsecond))
		}
		n := 0
		for _, f := range s.due(t0.Add(time.Minute)) {
			if s.confirm(f, f.Size, f.ModTime, t0.Add(time.Minute)) {
				n++
			}
		}
		if n != len(paths) {
			b.Fatalf("ready %d, want %d", n, len(paths))
		}
	}
}
