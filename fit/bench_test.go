package fit_test

import (
	"bytes"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mediasync/mediasync/fit"
	"github.com/mediasync/mediasync/internal/mediagen"
)

// photo45MP is a 45-megapixel camera-sized JPEG (8256×5504, as a Nikon Z7
// writes; 12 MB at quality 90), generated once.
var photo45MP = sync.OnceValue(func() []byte { return mediagen.JPEG(8256, 5504, 1) })

// BenchmarkFit45MP fits a 45-megapixel JPEG to X's defaults (4096 px, 5 MiB)
// and reports the peak heap seen during the fits (sampled every
// millisecond: live and not yet collected objects). bench/fit.sh measures
// the peak RSS of one fit per process.
func BenchmarkFit45MP(b *testing.B) {
	src := photo45MP()
	runtime.GC() // the generator's garbage is not the fit's
	var peak atomic.Uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			peak.Store(max(peak.Load(), s[0].Value.Uint64()))
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	b.SetBytes(int64(len(src)))
	var res fit.Result
	for b.Loop() {
		var err error
		res, err = fit.Fit(b.Context(), bytes.NewReader(src), int64(len(src)), "image/jpeg", io.Discard, fit.Options{})
		if err != nil {
			b.Fatal(err)
		}
	}
	close(done)
	<-finished
	if res.Width != 4096 || res.Bytes > fit.DefaultMaxBytes {
		b.Fatalf("derivative %d×%d, %d bytes", res.Width, res.Height, res.Bytes)
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(res.Quality), "quality")
}
