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

// TestLargeDirectory: one directory of many files (50,000 by default; MEDIASYNC_SCALE_FILES
// overrides) is uploaded completely, each file once.
func TestLargeDirectory(t *testing.T) {
	if testing.Short() {
		t.Skip("large directory")
	}
	n := 50_000
	if v := os.Getenv("MEDIASYNC_SCALE_FILES"); v != "" {
		n, _ = strconv.Atoi(v)
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
	deadline := time.Now().Add(10 * time.Minute)
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
