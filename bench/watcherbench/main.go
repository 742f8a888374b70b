//go:build unix

// Command watcherbench measures the watcher on the real filesystem and
// prints one markdown table row per run (bench/watcher.sh runs every
// scenario in its own process, so that peak RSS belongs to one scenario).
//
//	watcherbench -scenario latency|burst|startup|idle|poll [-n N] [-settle D] [-dir DIR]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/mediasync/mediasync/watcher"
	"github.com/rs/zerolog"
)

func main() {
	scenario := flag.String("scenario", "latency", "latency | burst | startup | idle | poll")
	n := flag.Int("n", 0, "files (default per scenario)")
	settle := flag.Duration("settle", 3*time.Second, "watch.settle")
	dir := flag.String("dir", "", "work directory (default: a new temp dir, removed after)")
	header := flag.Bool("header", false, "print the table header and exit")
	flag.Parse()
	if *header {
		fmt.Println("| scenario | files | result | missed | CPU | peak RSS | target | ok |")
		fmt.Println("|---|---:|---|---:|---:|---:|---|:-:|")
		return
	}
	base := *dir
	if base == "" {
		d, err := os.MkdirTemp("", "watcherbench-")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(d)
		base = d
	}
	var r row
	var err error
	switch *scenario {
	case "latency":
		r, err = latency(base, def(*n, 30), *settle)
	case "burst":
		r, err = burst(base, def(*n, 2000), *settle)
	case "startup":
		r, err = startup(base, def(*n, 100000), *settle, false)
	case "idle":
		r, err = startup(base, def(*n, 100000), *settle, true)
	case "poll":
		r, err = poll(base, def(*n, 100000), *settle)
	default:
		err = fmt.Errorf("unknown scenario %q", *scenario)
	}
	if err != nil {
		fail(err)
	}
	r.print()
}

func def(n, d int) int {
	if n > 0 {
		return n
	}
	return d
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "watcherbench:", err)
	os.Exit(1)
}

type row struct {
	scenario, result, target string
	files, missed            int
	cpu                      time.Duration
	ok                       bool
}

func (r row) print() {
	ok := "yes"
	if !r.ok {
		ok = "NO"
	}
	fmt.Printf("| %s | %d | %s | %d | %.2fs | %.0f MiB | %s | %s |\n",
		r.scenario, r.files, r.result, r.missed, r.cpu.Seconds(), peakRSS(), r.target, ok)
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is VmHWM from /proc/self/status, in MiB.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// idleSignal is a zerolog writer that closes done at "initial scan done".
type idleSignal struct {
	once sync.Once
	done chan struct{}
}

func (s *idleSignal) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("initial scan done")) {
		s.once.Do(func() { close(s.done) })
	}
	if bytes.Contains(p, []byte(`"level":"warn"`)) || bytes.Contains(p, []byte(`"level":"error"`)) {
		os.Stderr.Write(p)
	}
	return len(p), nil
}

type running struct {
	w      *watcher.Watcher
	out    chan watcher.File
	idle   chan struct{}
	cancel context.CancelFunc
	done   chan error
}

func run(opts watcher.Options) (*running, error) {
	sig := &idleSignal{done: make(chan struct{})}
	w, err := watcher.New(opts, zerolog.New(sig).Level(zerolog.InfoLevel))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, out: make(chan watcher.File, 1024), idle: sig.done, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- w.Run(ctx, r.out) }()
	<-r.idle
	return r, nil
}

func (r *running) stop() error {
	r.cancel()
	return <-r.done
}

func writeN(dir string, n int, size int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	data := bytes.Repeat([]byte{0xff}, size)
	paths := make([]string, n)
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("IMG_%06d.jpg", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return nil, err
		}
		paths[i] = p
	}
	return paths, nil
}

// latency drops n files one by one (moved in, 97ms apart) and measures
// drop → ready minus settle.
func latency(base string, n int, settle time.Duration) (row, error) {
	root, stage := filepath.Join(base, "root"), filepath.Join(base, "stage")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return row{}, err
	}
	paths, err := writeN(stage, n, 200<<10)
	if err != nil {
		return row{}, err
	}
	r, err := run(watcher.Options{Roots: []watcher.Root{{Path: root, Recursive: true}}, Mode: watcher.ModeNotify, SettleFor: settle})
	if err != nil {
		return row{}, err
	}
	cpu0 := cpuTime()
	dropped := make(map[string]time.Time, n)
	var mu sync.Mutex
	go func() {
		for _, p := range paths {
			dst := filepath.Join(root, filepath.Base(p))
			mu.Lock()
			if err := os.Rename(p, dst); err != nil {
				fail(err)
			}
			dropped[dst] = time.Now()
			mu.Unlock()
			time.Sleep(97 * time.Millisecond)
		}
	}()
	var lat []time.Duration
	deadline := time.After(time.Duration(n)*100*time.Millisecond + settle + time.Minute)
	for len(lat) < n {
		select {
		case f := <-r.out:
			at := time.Now()
			mu.Lock()
			d := at.Sub(dropped[f.Path]) - settle
			mu.Unlock()
			lat = append(lat, d)
		case <-deadline:
			return row{}, fmt.Errorf("latency: %d of %d ready", len(lat), n)
		}
	}
	cpu := cpuTime() - cpu0
	if err := r.stop(); err != nil {
		return row{}, err
	}
	slices.Sort(lat)
	med, p95, max := lat[len(lat)/2], lat[len(lat)*95/100], lat[len(lat)-1]
	return row{
		scenario: fmt.Sprintf("detection latency (notify, settle %v)", settle),
		files:    n,
		result:   fmt.Sprintf("settle + %v median, + %v p95, + %v max", med.Round(time.Millisecond), p95.Round(time.Millisecond), max.Round(time.Millisecond)),
		target:   "median ≤ settle + 100ms",
		cpu:      cpu,
		ok:       med <= 100*time.Millisecond,
	}, nil
}

// burst writes n files in a staging directory, moves them all into the
// watched root at once, and measures the time until every one is ready.
func burst(base string, n int, settle time.Duration) (row, error) {
	root, stage := filepath.Join(base, "root"), filepath.Join(base, "stage")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return row{}, err
	}
	paths, err := writeN(stage, n, 4096)
	if err != nil {
		return row{}, err
	}
	r, err := run(watcher.Options{Roots: []watcher.Root{{Path: root, Recursive: true}}, Mode: watcher.ModeNotify, SettleFor: settle})
	if err != nil {
		return row{}, err
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	for _, p := range paths {
		if err := os.Rename(p, filepath.Join(root, filepath.Base(p))); err != nil {
			return row{}, err
		}
	}
	moved := time.Since(t0)
	seen := make(map[string]bool, n)
	deadline := time.After(settle + 2*time.Minute)
wait:
	for len(seen) < n {
		select {
		case f := <-r.out:
			seen[f.Path] = true
		case <-deadline:
			break wait
		}
	}
	all := time.Since(t0)
	cpu := cpuTime() - cpu0
	if err := r.stop(); err != nil {
		return row{}, err
	}
	past := all - settle
	return row{
		scenario: fmt.Sprintf("burst moved in at once (notify, settle %v)", settle),
		files:    n,
		result:   fmt.Sprintf("all ready settle + %v (moves took %v)", past.Round(time.Millisecond), moved.Round(time.Millisecond)),
		missed:   n - len(seen),
		target:   "none missed, ≤ settle + 5s",
		cpu:      cpu,
		ok:       len(seen) == n && past <= 5*time.Second,
	}, nil
}

// tree creates n files in directories of 1,000 and returns the "manifest":
// every path with its size and mtime, as the agent would hold it.
func tree(root string, n int) (map[string]stamp, error) {
	known := make(map[string]stamp, n)
	for d := 0; d*1000 < n; d++ {
		k := min(1000, n-d*1000)
		paths, err := writeN(filepath.Join(root, fmt.Sprintf("shoot-%03d", d)), k, 1)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			fi, err := os.Lstat(p)
			if err != nil {
				return nil, err
			}
			known[p] = stamp{fi.Size(), fi.ModTime().UnixNano()}
		}
	}
	return known, nil
}

type stamp struct{ size, mtime int64 }

func skipper(known map[string]stamp) func(string, int64, time.Time) bool {
	return func(p string, size int64, mtime time.Time) bool {
		s, ok := known[p]
		return ok && s.size == size && s.mtime == mtime.UnixNano()
	}
}

// startup starts the watcher on n files that Skip reports as known and
// measures the time until the initial scan is done; with idle, it then
// measures CPU over 10s of idling.
func startup(base string, n int, settle time.Duration, idle bool) (row, error) {
	root := filepath.Join(base, "root")
	known, err := tree(root, n)
	if err != nil {
		return row{}, err
	}
	cpu0 := cpuTime()
	t0 := time.Now()
	r, err := run(watcher.Options{
		Roots: []watcher.Root{{Path: root, Recursive: true}}, Mode: watcher.ModeNotify,
		SettleFor: settle, RescanEvery: time.Hour, Skip: skipper(known),
	})
	if err != nil {
		return row{}, err
	}
	took := time.Since(t0)
	cpu := cpuTime() - cpu0
	if !idle {
		emitted := drainFor(r.out, settle+time.Second)
		if err := r.stop(); err != nil {
			return row{}, err
		}
		return row{
			scenario: "start-up, all files known via Skip (notify)",
			files:    n,
			result:   fmt.Sprintf("idle after %v", took.Round(time.Millisecond)),
			missed:   emitted, // nothing may be emitted: every file is known
			target:   "≤ 3s, ≤ 150 MiB RSS",
			cpu:      cpu,
			ok:       emitted == 0 && took <= 3*time.Second && peakRSS() <= 150,
		}, nil
	}
	const window = 10 * time.Second
	c0 := cpuTime()
	time.Sleep(window)
	idleCPU := cpuTime() - c0
	if err := r.stop(); err != nil {
		return row{}, err
	}
	return row{
		scenario: fmt.Sprintf("idle after start-up (notify), %v window", window),
		files:    n,
		result:   fmt.Sprintf("%.1f ms CPU per minute idle", float64(idleCPU.Microseconds())/1000*float64(time.Minute/window)),
		target:   "no busy polling",
		cpu:      idleCPU,
		ok:       idleCPU < 50*time.Millisecond,
	}, nil
}

// poll runs poll mode over n known files and measures the CPU of one
// listing, averaged over three intervals, and that a new file is found.
func poll(base string, n int, settle time.Duration) (row, error) {
	root := filepath.Join(base, "root")
	known, err := tree(root, n)
	if err != nil {
		return row{}, err
	}
	const interval = 2 * time.Second
	r, err := run(watcher.Options{
		Roots: []watcher.Root{{Path: root, Recursive: true}}, Mode: watcher.ModePoll,
		SettleFor: settle, PollInterval: interval, Skip: skipper(known),
	})
	if err != nil {
		return row{}, err
	}
	c0 := cpuTime()
	time.Sleep(3 * interval)
	perPoll := (cpuTime() - c0) / 3
	fresh := filepath.Join(root, "shoot-000", "new.jpg")
	if err := os.WriteFile(fresh, []byte("x"), 0o644); err != nil {
		return row{}, err
	}
	found := 0
	select {
	case f := <-r.out:
		if f.Path == fresh {
			found = 1
		}
	case <-time.After(interval + settle + 30*time.Second):
	}
	if err := r.stop(); err != nil {
		return row{}, err
	}
	return row{
		scenario: fmt.Sprintf("poll mode, every %v, files known", interval),
		files:    n,
		result:   fmt.Sprintf("%v CPU per listing; new file found", perPoll.Round(time.Millisecond)),
		missed:   1 - found,
		target:   "lists all without reading them",
		cpu:      perPoll,
		ok:       found == 1 && perPoll < interval/2,
	}, nil
}

func drainFor(ch <-chan watcher.File, d time.Duration) int {
	n := 0
	t := time.After(d)
	for {
		select {
		case <-ch:
			n++
		case <-t:
			return n
		}
	}
}
