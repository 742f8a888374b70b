package watcher

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// makeTree creates n one-byte files in directories of 1,000.
func makeTree(b *testing.B, root string, n int) {
	b.Helper()
	for i := range n {
		d := filepath.Join(root, fmt.Sprintf("d%03d", i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%06d.jpg", i)), []byte{1}, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanUnchanged is one listing of a tree whose files did not
// change: readdir + lstat per file, nothing opened or read. In notify mode
// (the safety-net rescan) each directory's watch is added again too.
func BenchmarkScanUnchanged(b *testing.B) {
	const n = 20000
	root := b.TempDir()
	makeTree(b, root, n)
	for _, mode := range []string{ModePoll, ModeNotify} {
		b.Run(mode, func(b *testing.B) {
			w, err := New(Options{Roots: []Root{{Path: root, Recursive: true}}, Mode: mode}, zerolog.Nop())
			if err != nil {
				b.Fatal(err)
			}
			r := newRun(w)
			defer r.close()
			now := time.Now()
			r.start(now)
			if r.set.pending() != n {
				b.Fatalf("pending %d, want %d", r.set.pending(), n)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r.scanRoot(r.roots[0], now)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/file")
		})
	}
}

// BenchmarkDetect drops one file (moved in) per iteration and waits for it,
// in notify mode with a 20ms settle; ms-over-settle is the median time past
// settle.
func BenchmarkDetect(b *testing.B) {
	root, stage := b.TempDir(), b.TempDir()
	const settle = 20 * time.Millisecond
	w, err := New(Options{Roots: []Root{{Path: root}}, Mode: ModeNotify, SettleFor: settle}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan File, 16)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, out) }()
	defer func() { cancel(); <-done }()
	var lat []time.Duration
	i := 0
	for b.Loop() {
		i++
		src := filepath.Join(stage, fmt.Sprintf("%d.jpg", i))
		if err := os.WriteFile(src, []byte("x"), 0o644); err != nil {
			b.Fatal(err)
		}
		dst := filepath.Join(root, filepath.Base(src))
		t0 := time.Now()
		if err := os.Rename(src, dst); err != nil {
			b.Fatal(err)
		}
		select {
		case f := <-out:
			if f.Path != dst {
				b.Fatalf("got %s, want %s", f.Path, dst)
			}
			lat = append(lat, time.Since(t0)-settle)
		case <-time.After(time.Minute):
			b.Fatal("not detected within a minute")
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-over-settle")
}

// BenchmarkBurst moves 2,000 files into a watched folder at once per
// iteration and waits until every one is ready (settle 20ms).
func BenchmarkBurst(b *testing.B) {
	const n = 2000
	root := b.TempDir()
	const settle = 20 * time.Millisecond
	w, err := New(Options{Roots: []Root{{Path: root, Recursive: true}}, Mode: ModeNotify, SettleFor: settle}, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan File, 2*n)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, out) }()
	defer func() { cancel(); <-done }()
	iter := 0
	for b.Loop() {
		iter++
		b.StopTimer()
		stage := b.TempDir()
		for i := range n {
			if err := os.WriteFile(filepath.Join(stage, fmt.Sprintf("%d.jpg", i)), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		dst := filepath.Join(root, fmt.Sprint(iter))
		b.StartTimer()
		if err := os.Rename(stage, dst); err != nil { // the whole folder at once
			b.Fatal(err)
		}
		got := 0
		for got < n {
			select {
			case f := <-out:
				if !f.Removed {
					got++
				}
			case <-time.After(time.Minute):
				b.Fatalf("%d of %d ready after a minute", got, n)
			}
		}
	}
	b.ReportMetric(n, "files/op")
}
