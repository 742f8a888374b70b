// Command server runs the X media API emulator for bench/uploader.sh: on a
// loopback port, segment bytes on disk (-store), with optional latency. It
// prints the base URL on stdout and serves until SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/mediasync/mediasync/emulator"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	latency := flag.Duration("latency", 0, "latency added to every request")
	store := flag.String("store", "", "directory for segment bytes (default: a temp dir)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := emulator.Options{
		Credentials: emulator.DemoCredentials(),
		Faults:      emulator.Faults{Latency: *latency},
		StoreDir:    *store,
	}
	err := emulator.ListenAndServe(ctx, *listen, opts, func(url string) { fmt.Println(url) })
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}
