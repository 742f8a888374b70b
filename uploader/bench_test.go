package uploader_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/uploader"
)

// BenchmarkUpload uploads a 64 MiB MP4 from disk to the loopback emulator
// (segments stored on disk) with several chunk sizes and parallelisms, on
// loopback and with 40 ms of latency per request. B/op shows that memory
// does not follow the file size. bench/uploader.sh compares with plain
// clients in separate processes and measures peak RSS.
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	path := filepath.Join(b.TempDir(), "clip.mp4")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := mediagen.WriteMP4(f, size, 1); err != nil {
		b.Fatal(err)
	}
	if _, err := f.Seek(0, 0); err != nil {
		b.Fatal(err)
	}
	defer f.Close()

	for _, latency := range []time.Duration{0, 40 * time.Millisecond} {
		for _, cfg := range []struct{ chunk, par int64 }{{1 << 20, 1}, {1 << 20, 3}, {4 << 20, 3}, {4 << 20, 6}} {
			name := fmt.Sprintf("latency=%v/chunk=%dMiB/par=%d", latency, cfg.chunk>>20, cfg.par)
			b.Run(name, func(b *testing.B) {
				srv := emulatortest.NewServer(b, emulator.Options{StoreDir: b.TempDir(), Faults: emulator.Faults{Latency: latency}})
				c := uploader.New(srv.OAuth1Client(), uploader.Options{BaseURL: srv.URL, ChunkSize: cfg.chunk, ChunkParallelism: int(cfg.par)})
				m := uploader.Media{Name: "clip.mp4", Size: size, Type: "video/mp4"}
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := c.Upload(b.Context(), f, m, nil); err != nil {
						b.Fatal(err)
					}
					srv.Reset() // fresh rate-limit budgets and storage
				}
			})
		}
	}
}
