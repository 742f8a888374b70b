//go:build unix

// Command fitbench measures fit.Fit on one generated photo per process, so
// that the peak RSS it prints (VmHWM) is that of one Fit (bench/fit.sh runs
// it per size and prints the table).
//
//	fitbench -gen -w 8256 -h 5504 -out photo.jpg   # write the photo
//	fitbench -in photo.jpg [-runs 3]               # fit it, print a table row
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/mediasync/mediasync/fit"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/internal/mediagen"
)

func main() {
	gen := flag.Bool("gen", false, "generate a photo")
	w := flag.Int("w", 8256, "width of the generated photo")
	h := flag.Int("h", 5504, "height of the generated photo")
	out := flag.String("out", "", "where to write the generated photo")
	in := flag.String("in", "", "photo to fit")
	runs := flag.Int("runs", 1, "fits of the photo; the fastest counts")
	header := flag.Bool("header", false, "print the table header and exit")
	flag.Parse()
	switch {
	case *header:
		fmt.Println("| source | source size | derivative | quality | time | CPU | peak heap | peak RSS |")
		fmt.Println("|---|---:|---|---:|---:|---:|---:|---:|")
	case *gen:
		if err := os.WriteFile(*out, mediagen.JPEG(*w, *h, 1), 0o644); err != nil {
			fail(err)
		}
	default:
		if err := run(*in, *runs); err != nil {
			fail(err)
		}
	}
}

func run(path string, runs int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	var peak atomic.Uint64
	stop := sampleHeap(&peak)
	var best, bestCPU time.Duration
	var res fit.Result
	for i := range max(runs, 1) {
		start, startCPU := time.Now(), cpuTime()
		res, err = fit.Fit(context.Background(), f, st.Size(), "image/jpeg", io.Discard, fit.Options{})
		if err != nil {
			return err
		}
		if d := time.Since(start); i == 0 || d < best {
			best = d
		}
		if d := cpuTime() - startCPU; i == 0 || d < bestCPU {
			bestCPU = d
		}
	}
	stop()
	fmt.Printf("| %d×%d (%.1f MP) | %s | %d×%d, %s | %d | %.2f s | %.2f s | %d MiB | %d MiB |\n",
		res.SourceWidth, res.SourceHeight, float64(res.SourceWidth*res.SourceHeight)/1e6, human.Bytes(st.Size()),
		res.Width, res.Height, human.Bytes(res.Bytes), res.Quality, best.Seconds(), bestCPU.Seconds(), peak.Load()>>20, peakRSS()>>20)
	return nil
}

// sampleHeap records the largest heap (live and not yet swept objects) seen
// every millisecond until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// cpuTime is the user and system time of the process so far (the garbage
// collector's workers included).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS is VmHWM from /proc/self/status, in bytes.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "fitbench:", err)
	os.Exit(1)
}
