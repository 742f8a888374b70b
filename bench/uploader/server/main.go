// Command server runs the X media API emulator for bench/uploader.sh: on a
// loopback port, segment bytes on disk (-store), with optional latency. It
// prints the base URL on stdout and serves until SIGINT/SIGTERM. With
// -cpuprofile it writes a CPU profile of the whole run, to see where the
// emulator's time goes while a client uploads.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/mediasync/mediasync/emulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	latency := flag.Duration("latency", 0, "latency added to every request")
	store := flag.String("store", "", "directory for segment bytes (default: a temp dir)")
	inMemory := flag.Bool("inmemory", false, "keep segment bytes in memory instead of -store")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if err := run(*listen, *latency, *store, *inMemory, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

func run(listen string, latency time.Duration, store string, inMemory bool, cpuprofile string) error {
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := emulator.Options{
		Credentials: emulator.DemoCredentials(),
		Faults:      emulator.Faults{Latency: latency},
		StoreDir:    store,
		InMemory:    inMemory,
	}
	return emulator.ListenAndServe(ctx, listen, opts, func(url string) { fmt.Println(url) })
}
