package watcher

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
)

// These tests run Run inside a synctest bubble: time is fake and advances
// only when every goroutine is blocked, so settle, poll and rescan timing is
// exact. The event source is a fake (a real inotify reader blocks in a
// syscall, which a bubble cannot wait for); the files are real.

const settle = 3 * time.Second

func fakeOpts(root, mode string) Options {
	return Options{
		Roots:        []Root{{Path: root, Recursive: true}},
		Mode:         mode,
		SettleFor:    settle,
		PollInterval: 30 * time.Second,
	}
}

// TestRunPollsWhenEventsAreNotDelivered: a folder whose events never arrive
// (a NAS share written by another machine) is found by polling in poll mode
// and in auto mode on a network filesystem; in notify mode it is not, which
// shows the polling is what finds it. A network root gets the network settle
// time in every mode.
func TestRunPollsWhenEventsAreNotDelivered(t *testing.T) {
	tests := []struct {
		mode      string
		fsName    string
		remote    bool
		wantFound bool
		wantWhy   string
		settle    time.Duration // the root's settle time
	}{
		{ModePoll, "ext4", false, true, "mode poll", settle},
		{ModeAuto, "nfs", true, true, "network filesystem nfs", DefaultNetworkSettleFor},
		{ModeAuto, "cifs", true, true, "network filesystem cifs", DefaultNetworkSettleFor},
		{ModeAuto, "ext4", false, false, "local filesystem", settle},
		{ModeNotify, "nfs", true, false, "mode notify on network filesystem nfs", DefaultNetworkSettleFor},
		{ModeNotify, "ext4", false, false, "mode notify", settle},
		{ModePoll, "nfs", true, true, "mode poll on network filesystem nfs", DefaultNetworkSettleFor},
		{ModePoll, "smb2", true, true, "mode poll on network filesystem smb2", DefaultNetworkSettleFor},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.fsName, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				root := t.TempDir()
				src := newFake()
				h := start(t, fakeOpts(root, tt.mode), func(w *Watcher) {
					w.newSource = func() (eventSource, error) { return src, nil }
					w.fsType = func(string) (string, bool, error) { return tt.fsName, tt.remote, nil }
				})
				synctest.Wait()
				p := filepath.Join(root, "share/IMG_1.jpg")
				writeFile(t, p, 100) // no event is delivered for it
				time.Sleep(30*time.Second + tt.settle - time.Millisecond)
				synctest.Wait()
				if got := h.drain(); len(got) != 0 {
					t.Fatalf("emitted %v before the root's settle time %v", keysOf(got), tt.settle)
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
				got := h.drain()
				if found := equalKeys(keysOf(got), ready(p)); found != tt.wantFound {
					t.Errorf("after one poll interval + settle: got %v, want found=%v", keysOf(got), tt.wantFound)
				}
				polled := tt.wantFound
				if n := src.addCalls(); polled && n != 0 {
					t.Errorf("a polled root added %d watches, want none", n)
				}
				h.stop(t)
				if !contains(h.log.String(), `"reason":"`+tt.wantWhy+`"`) {
					t.Errorf("log does not give the reason %q:\n%s", tt.wantWhy, h.log.String())
				}
				if want := fmt.Sprintf(`"settle":%d`, tt.settle.Milliseconds()); !contains(h.log.String(), want) {
					t.Errorf("log does not give the settle time %s:\n%s", want, h.log.String())
				}
			})
		})
	}
}

// TestRunPollRemovedAndChanged: in poll mode, a change and a removal are
// seen on the next listing.
func TestRunPollRemovedAndChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		a, b := filepath.Join(root, "a.jpg"), filepath.Join(root, "d/b.jpg")
		writeFile(t, a, 100)
		writeFile(t, b, 100)
		h := start(t, fakeOpts(root, ModePoll), nil)
		time.Sleep(settle)
		synctest.Wait()
		if got := keysOf(h.drain()); !equalKeys(got, ready(a, b)) {
			t.Fatalf("initial: got %v, want %v", got, ready(a, b))
		}
		writeFile(t, a, 5000)
		if err := os.RemoveAll(filepath.Join(root, "d")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(28 * time.Second) // the poll at t0+30s has run, a.jpg settles at t0+33s
		synctest.Wait()
		if got, want := keysOf(h.drain()), []string{"removed:" + b}; !equalKeys(got, want) {
			t.Fatalf("after a poll: got %v, want %v (a.jpg still settling)", got, want)
		}
		time.Sleep(settle)
		synctest.Wait()
		got := h.drain()
		if !equalKeys(keysOf(got), ready(a)) || got[0].Size != fileSize(t, a) {
			t.Fatalf("after settle: got %+v, want a.jpg with size %d", got, fileSize(t, a))
		}
	})
}

// TestRunSlowWriterFake grows a file every 2s for 20s, in poll mode and
// in notify mode with a Write event per step: it is emitted once, with its
// final size, exactly settle after the last write event (poll: settle after
// the first poll that saw the last write).
func TestRunSlowWriterFake(t *testing.T) {
	for _, mode := range []string{ModeNotify, ModePoll} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				root := t.TempDir()
				src := newFake()
				opts := fakeOpts(root, mode)
				opts.PollInterval = time.Second
				h := start(t, opts, withFake(src))
				synctest.Wait()
				p := filepath.Join(root, "clip.mp4")
				f, err := os.Create(p)
				if err != nil {
					t.Fatal(err)
				}
				for i := range 10 {
					if _, err := f.Write(make([]byte, 1000)); err != nil {
						t.Fatal(err)
					}
					if mode == ModeNotify {
						op := fsnotify.Write
						if i == 0 {
							op = fsnotify.Create
						}
						src.events <- fsnotify.Event{Name: p, Op: op}
					}
					time.Sleep(2 * time.Second)
					synctest.Wait()
					if got := h.drain(); len(got) > 0 {
						t.Fatalf("emitted %v while growing (write %d)", keysOf(got), i)
					}
				}
				if err := f.Close(); err != nil {
					t.Fatal(err)
				}
				lastWrite := time.Now().Add(-2 * time.Second)
				got := <-h.out // time advances until Run sends
				if got.Path != p || got.Size != 10000 {
					t.Fatalf("emitted %+v, want %s with its final 10000 bytes", got, p)
				}
				readyAt := time.Now()
				switch mode {
				case ModeNotify: // exactly settle after the last write event
					if want := lastWrite.Add(settle); !readyAt.Equal(want) {
						t.Errorf("ready at last write %+v, want +%v", readyAt.Sub(lastWrite), settle)
					}
				case ModePoll: // settle after the first poll that saw the last write
					if d := readyAt.Sub(lastWrite); d < settle || d > settle+opts.PollInterval {
						t.Errorf("ready at last write %+v, want within [%v, %v]", d, settle, settle+opts.PollInterval)
					}
				}
				time.Sleep(time.Minute)
				synctest.Wait()
				if more := h.drain(); len(more) != 0 {
					t.Errorf("emitted again: %v", keysOf(more))
				}
			})
		})
	}
}

// TestRunOverflow: when the kernel queue overflows, events are lost; the
// watcher rescans and finds what they would have announced.
func TestRunOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		src := newFake()
		h := start(t, fakeOpts(root, ModeNotify), withFake(src))
		synctest.Wait()
		var want []string
		for i := range 5 {
			p := filepath.Join(root, fmt.Sprintf("burst/IMG_%d.jpg", i))
			writeFile(t, p, 100)
			want = append(want, p)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := h.drain(); len(got) != 0 {
			t.Fatalf("found %v without events: the test cannot tell overflow handling apart", keysOf(got))
		}
		src.errs <- fsnotify.ErrEventOverflow
		time.Sleep(settle)
		synctest.Wait()
		if got := keysOf(h.drain()); !equalKeys(got, ready(want...)) {
			t.Fatalf("after overflow + settle: got %v, want %v", got, ready(want...))
		}
		if w := src.watched(); len(w) != 2 {
			t.Errorf("watched %v, want the root and burst/", w)
		}
		h.stop(t)
		if !contains(h.log.String(), "overflowed") {
			t.Errorf("overflow not logged:\n%s", h.log.String())
		}
	})
}

// TestRunOverflowRewatches: a directory removed and made anew while events
// were lost (the kernel dropped its watch with the old inode) is watched
// again by the overflow rescan, though the watcher had it as watched.
func TestRunOverflowRewatches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		d := filepath.Join(root, "d")
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		src := newFake()
		start(t, fakeOpts(root, ModeNotify), withFake(src))
		synctest.Wait()
		if w := src.watched(); !slices.Equal(w, []string{root, d}) {
			t.Fatalf("watched %v, want the root and d/", w)
		}
		// rm -r d && mkdir d, with the events lost.
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		src.kernelDropped(d)
		src.errs <- fsnotify.ErrEventOverflow
		synctest.Wait()
		if w := src.watched(); !slices.Equal(w, []string{root, d}) {
			t.Errorf("after overflow: watched %v, want the root and d/ again", w)
		}
	})
}

// TestRunNestedIgnoredRoot: a root inside a recursive root, below a
// directory the outer root ignores, is emitted once, under the inner root.
func TestRunNestedIgnoredRoot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		outer := t.TempDir()
		inner := filepath.Join(outer, "skip", "inner")
		a, b := filepath.Join(outer, "a.jpg"), filepath.Join(inner, "b.jpg")
		writeFile(t, a, 100)
		writeFile(t, b, 100)
		opts := fakeOpts(outer, ModePoll)
		opts.Roots = append(opts.Roots, Root{Path: inner, Recursive: true})
		opts.Ignore = []string{"SKIP"}
		h := start(t, opts, nil)
		time.Sleep(settle)
		synctest.Wait()
		got := h.drain()
		if !equalKeys(keysOf(got), ready(a, b)) {
			t.Fatalf("got %v, want %v once each", keysOf(got), ready(a, b))
		}
		for _, f := range got {
			if want := map[string]string{a: outer, b: inner}[f.Path]; f.Root != want {
				t.Errorf("%s: Root = %s, want %s", f.Path, f.Root, want)
			}
		}
	})
}

// TestRunRescan covers Watcher.Rescan and the jittered periodic rescan.
func TestRunRescan(t *testing.T) {
	t.Run("on request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			root := t.TempDir()
			h := start(t, fakeOpts(root, ModeNotify), withFake(newFake()))
			synctest.Wait()
			p := filepath.Join(root, "a.jpg")
			writeFile(t, p, 100)
			h.w.Rescan()
			h.w.Rescan() // coalesces, never blocks
			time.Sleep(settle)
			synctest.Wait()
			if got := keysOf(h.drain()); !equalKeys(got, ready(p)) {
				t.Fatalf("got %v, want %v", got, ready(p))
			}
		})
	})
	t.Run("periodic", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			root := t.TempDir()
			opts := fakeOpts(root, ModeNotify)
			opts.RescanEvery = time.Hour
			h := start(t, opts, withFake(newFake()))
			synctest.Wait()
			p := filepath.Join(root, "a.jpg")
			writeFile(t, p, 100)
			time.Sleep(45*time.Minute - time.Second) // earliest rescan: 1h - 25%
			synctest.Wait()
			if got := h.drain(); len(got) != 0 {
				t.Fatalf("found %v before the earliest rescan", keysOf(got))
			}
			time.Sleep(30*time.Minute + settle + time.Second) // latest: 1h + 25%
			synctest.Wait()
			if got := keysOf(h.drain()); !equalKeys(got, ready(p)) {
				t.Fatalf("after the latest rescan: got %v, want %v", got, ready(p))
			}
		})
	})
}

// TestRunWatchLimit: an inotify limit gives one actionable warning naming
// the sysctl, and the root is polled instead.
func TestRunWatchLimit(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(src *fakeSource) func(w *Watcher)
		sysctl string
	}{
		{"max_user_watches", func(src *fakeSource) func(w *Watcher) {
			src.addErr = syscall.ENOSPC
			return withFake(src)
		}, "fs.inotify.max_user_watches"},
		{"max_user_instances", func(src *fakeSource) func(w *Watcher) {
			return func(w *Watcher) {
				withFake(src)(w)
				w.newSource = func() (eventSource, error) { return nil, fmt.Errorf("couldn't initialize inotify: %w", syscall.EMFILE) }
			}
		}, "fs.inotify.max_user_instances"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				root := t.TempDir()
				for _, d := range []string{"a", "b", "c"} {
					if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				src := newFake()
				h := start(t, fakeOpts(root, ModeAuto), tt.setup(src))
				synctest.Wait()
				p := filepath.Join(root, "b/new.jpg")
				writeFile(t, p, 100)
				time.Sleep(30*time.Second + settle)
				synctest.Wait()
				if got := keysOf(h.drain()); !equalKeys(got, ready(p)) {
					t.Fatalf("got %v, want %v found by polling", got, ready(p))
				}
				h.stop(t)
				log := h.log.String()
				if n := countLines(log, tt.sysctl); n != 1 {
					t.Errorf("%d lines name %s, want exactly 1:\n%s", n, tt.sysctl, log)
				}
				if !contains(log, `"mode":"poll"`) {
					t.Errorf("log does not say the folder is polled:\n%s", log)
				}
			})
		})
	}
}

// TestRunRootUnavailable: a root missing at start (an unmounted share) is
// reported once and picked up when it appears; when it vanishes its files
// are sent as removed.
func TestRunRootUnavailable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := filepath.Join(t.TempDir(), "share")
		opts := fakeOpts(root, ModeNotify)
		h := start(t, opts, withFake(newFake()))
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		p := filepath.Join(root, "a.jpg")
		writeFile(t, p, 100)
		time.Sleep(30*time.Second + settle)
		synctest.Wait()
		if got := keysOf(h.drain()); !equalKeys(got, ready(p)) {
			t.Fatalf("got %v, want %v", got, ready(p))
		}
		if err := os.RemoveAll(root); err != nil {
			t.Fatal(err)
		}
		h.w.Rescan()
		synctest.Wait()
		if got, want := keysOf(h.drain()), []string{"removed:" + p}; !equalKeys(got, want) {
			t.Fatalf("after the root vanished: got %v, want %v", got, want)
		}
		h.stop(t)
		if n := countLines(h.log.String(), "folder unavailable"); n != 2 {
			t.Errorf("%d unavailability warnings, want 2 (at start, after it vanished):\n%s", n, h.log.String())
		}
	})
}

// TestRunDoesNotBlockOnOut: with nobody reading out, Run keeps taking
// events, and returns nil when cancelled.
func TestRunDoesNotBlockOnOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		src := newFake()
		w, err := New(fakeOpts(root, ModeNotify), discard())
		if err != nil {
			t.Fatal(err)
		}
		withFake(src)(w)
		done := make(chan error)
		ctx, cancel := contextWithCancel(t)
		out := make(chan File) // never read
		go func() { done <- w.Run(ctx, out) }()
		for i := range 50 {
			p := filepath.Join(root, fmt.Sprintf("%d.jpg", i))
			writeFile(t, p, 10)
			src.events <- fsnotify.Event{Name: p, Op: fsnotify.Create} // would block if Run were stuck sending
		}
		time.Sleep(settle)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if !src.closed {
			t.Error("event source not closed on return")
		}
	})
}

// TestRunChmodIgnored: a Chmod-only event does not arm anything.
func TestRunChmodIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		src := newFake()
		h := start(t, fakeOpts(root, ModeNotify), withFake(src))
		synctest.Wait()
		p := filepath.Join(root, "a.jpg")
		writeFile(t, p, 10)
		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Chmod}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := h.drain(); len(got) != 0 {
			t.Fatalf("Chmod armed %v", keysOf(got))
		}
		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Create | fsnotify.Chmod}
		time.Sleep(settle)
		synctest.Wait()
		if got := keysOf(h.drain()); !equalKeys(got, ready(p)) {
			t.Fatalf("got %v, want %v", got, ready(p))
		}
	})
}

// TestRunEmitsOncePerStamp: rescans, repeated events and polls of an
// unchanged file emit nothing; a change emits again; a change reverted
// before it settled emits nothing.
func TestRunEmitsOncePerStamp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := t.TempDir()
		src := newFake()
		opts := fakeOpts(root, ModeNotify)
		opts.RescanEvery = time.Hour
		h := start(t, opts, withFake(src))
		synctest.Wait()
		p := filepath.Join(root, "a.jpg")
		writeFile(t, p, 100)
		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Create}
		time.Sleep(settle)
		synctest.Wait()
		first := h.drain()
		if !equalKeys(keysOf(first), ready(p)) {
			t.Fatalf("got %v, want %v", keysOf(first), ready(p))
		}

		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Write}
		h.w.Rescan()
		time.Sleep(3 * time.Hour) // three periodic rescans
		synctest.Wait()
		if got := h.drain(); len(got) != 0 {
			t.Fatalf("unchanged file emitted again: %v", keysOf(got))
		}

		mtime := first[0].ModTime
		if err := os.Chtimes(p, mtime, mtime.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Write}
		time.Sleep(settle)
		synctest.Wait()
		if got := h.drain(); len(got) != 1 || !got[0].ModTime.Equal(mtime.Add(time.Second)) {
			t.Fatalf("after a new mtime: got %+v, want one file with the new mtime", got)
		}

		if err := os.Chtimes(p, mtime, mtime.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Write}
		time.Sleep(time.Second)
		if err := os.Chtimes(p, mtime, mtime.Add(time.Second)); err != nil { // back to what was emitted
			t.Fatal(err)
		}
		src.events <- fsnotify.Event{Name: p, Op: fsnotify.Write}
		time.Sleep(time.Minute)
		synctest.Wait()
		if got := h.drain(); len(got) != 0 {
			t.Fatalf("a change reverted before settling emitted %+v", got)
		}
	})
}
