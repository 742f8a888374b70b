package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// uploadedEntry is a typical uploaded entry (about 560 bytes in the file, like SPEC.md §4's).
func uploadedEntry(i int) Entry {
	id := fmt.Sprintf("19124750188621%05d", i)
	return Entry{
		State: Uploaded, MediaIDString: id, MediaKey: "3_" + id,
		ExpiresAt: t0.Add(24 * time.Hour), UploadedAt: t0, API: "v2", Size: 182734 + int64(i),
		MTime:     t0.Add(-time.Duration(i) * time.Second),
		SHA256:    fmt.Sprintf("%064x", i*7919),
		MediaType: "image/jpeg", MediaCategory: "tweet_image", AltText: "Harbour at dawn", Attempts: 1, UpdatedAt: t0,
	}
}

func relName(i int) string { return fmt.Sprintf("shoot-%03d/IMG_%05d.jpg", i/500, i) }

// writeManifest writes a manifest of n uploaded entries and returns its path and size.
func writeManifest(tb testing.TB, n int) (string, int64) {
	tb.Helper()
	m := &Manifest{Version: Version, Folder: "/srv/exports", UpdatedAt: t0, Files: make(map[string]Entry, n)}
	for i := range n {
		m.Files[relName(i)] = uploadedEntry(i)
	}
	data, err := encode(m)
	if err != nil {
		tb.Fatal(err)
	}
	path := DefaultPath(tb.TempDir())
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, int64(len(data))
}

// BenchmarkRead loads a manifest as a reader does (mediasync status / get).
func BenchmarkRead(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path, size := writeManifest(b, n)
			b.SetBytes(size)
			for b.Loop() {
				m, err := Read(path)
				if err != nil || len(m.Files) != n {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkOpen opens the writer's store (lock, read, decode) and closes it.
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path, size := writeManifest(b, n)
			b.SetBytes(size)
			for b.Loop() {
				s, err := Open(path, "/srv/exports")
				if err != nil || s.Len() != n {
					b.Fatal(err)
				}
				s.Close()
			}
		})
	}
}

// BenchmarkPut is one Put at a time into a manifest of n entries: the latency of one commit (a
// full durable rewrite for a small manifest, mostly a journal append for a large one).
func BenchmarkPut(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			path, size := writeManifest(b, n)
			s, err := Open(path, "/srv/exports")
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			s.Put(relName(0), uploadedEntry(0)) // the first write encodes every loaded entry once
			_ = size
			i := 0
			for b.Loop() {
				if err := s.Put(relName(i%n), uploadedEntry(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkCheckLock is the cost of CheckLock with the lock held (one stat(2)), the check every
// write also makes before writing.
func BenchmarkCheckLock(b *testing.B) {
	path := DefaultPath(b.TempDir())
	s, err := Open(path, "/srv/exports")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if err := s.CheckLock(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUploadBurst is a burst of uploads into an empty folder: `uploads` files, each recorded
// with three changes (pending, processing, uploaded), from `workers` goroutines; all three are Puts,
// or with "staged" the first two are Stages. It reports manifest writes per change and manifest
// bytes written per upload.
func BenchmarkUploadBurst(b *testing.B) {
	for _, bc := range []struct {
		uploads, workers int
		stage            bool
	}{{1000, 2, false}, {1000, 8, false}, {10_000, 8, false}, {1000, 2, true}, {10_000, 8, true}} {
		name := fmt.Sprintf("uploads=%d/workers=%d", bc.uploads, bc.workers)
		if bc.stage {
			name += "/staged"
		}
		b.Run(name, func(b *testing.B) {
			var st Stats
			for b.Loop() {
				st = burst(b, bc.uploads, bc.workers, bc.stage)
			}
			b.ReportMetric(float64(st.Writes)/float64(st.Puts), "writes/put")
			b.ReportMetric(float64(st.BytesWritten)/float64(bc.uploads), "manifest-B/upload")
			b.ReportMetric(float64(st.Writes), "writes")
			b.ReportMetric(float64(st.Checkpoints), "checkpoints")
		})
	}
}

func burst(b *testing.B, uploads, workers int, stage bool) Stats {
	b.StopTimer()
	s, err := Open(DefaultPath(b.TempDir()), "/srv/exports")
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < uploads; i += workers {
				rel := relName(i)
				up := uploadedEntry(i)
				for j, e := range []Entry{{State: Pending, Size: up.Size, MTime: up.MTime}, {State: Processing, Size: up.Size}, up} {
					put := s.Put
					if stage && j < 2 {
						put = s.Stage
					}
					if err := put(rel, e); err != nil {
						b.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	st := s.Stats()
	s.Close()
	b.StartTimer()
	return st
}

// TestLoadLarge opens, changes and reads back a 100,000-entry manifest; BenchmarkOpen and
// BenchmarkRead measure how fast.
func TestLoadLarge(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("writes a 60 MB manifest; too slow under -short or the race detector")
	}
	path, size := writeManifest(t, 100_000)
	s, err := Open(path, "/srv/exports")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Len() != 100_000 {
		t.Fatalf("Len() = %d", s.Len())
	}
	if err := s.Put("new.jpg", Entry{State: Pending}); err != nil {
		t.Fatal(err)
	}
	m, err := Read(path)
	if err != nil || len(m.Files) != 100_001 {
		t.Fatalf("Read = %d entries, %v", len(m.Files), err)
	}
	t.Logf("100,000 entries: %d bytes", size)
}
