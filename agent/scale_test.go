package agent_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// TestLargeDirectory: one directory of many files is uploaded completely, each file once. It runs
// 1,000 files by default, so that the suite fits its machine; MEDIASYNC_SCALE_FILES=50000 (or
// bench/scale.sh) runs the full size, which takes minutes.
func TestLargeDirectory(t *testing.T) {
	n := 1_000
	if v := os.Getenv("MEDIASYNC_SCALE_FILES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("MEDIASYNC_SCALE_FILES=%q: want a positive number", v)
		}
	}
	// X allows 500 one-shot uploads per 15 minutes; this test is about the agent, not that budget.
	h := newHarness(t, emulator.Faults{RateLimit: 1 << 30, RateWindow: time.Minute})
	// Small, distinct, real images; written before the agent starts, as a backlog.
	base := mediagen.PNG(8, 8, 1)
	for i := range n {
		data := append(append([]byte{}, base...), []byte(strconv.Itoa(i))...) // trailing bytes after IEND: still a valid PNG, distinct sha
		if err := os.WriteFile(filepath.Join(h.dir, fmt.Sprintf("img%06d.png", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	opts := h.options()
	opts.Workers = 4
	h.start(opts)
	deadline := time.Now().Add(max(2*time.Minute, time.Duration(n)*20*time.Millisecond))
	for {
		m, err := manifest.Read(manifest.DefaultPath(h.dir))
		done := 0
		if err == nil {
			for _, e := range m.Files {
				if e.State == manifest.Uploaded {
					done++
				}
			}
		}
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d uploaded before the deadline", done, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	el := time.Since(start)
	if got := len(h.srv.Media()); got != n {
		t.Errorf("emulator holds %d media for %d files", got, n)
	}
	t.Logf("%d files uploaded in %s (%.0f files/s)", n, el.Round(time.Millisecond), float64(n)/el.Seconds())
}
