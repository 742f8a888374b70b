package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/metrics"
	"github.com/mediasync/mediasync/web"
)

// writeBigManifest writes a manifest of n entries for dir, as a long-running agent's with
// after_upload: move: 90% uploaded and moved away (a tenth of them expired), 5% failed and 5%
// skipped with their files still in the folder (small files; the entries record their size and
// mtime, so the agent leaves them alone).
func writeBigManifest(tb testing.TB, dir string, n int) {
	tb.Helper()
	now := time.Now().UTC()
	entries := make(map[string]manifest.Entry, n)
	for i := range n {
		rel := fmt.Sprintf("%04d/%02d/IMG_%06d.jpg", 2000+i%26, i%12+1, i)
		var e manifest.Entry
		switch r := i % 100; {
		case r < 10:
			abs := filepath.Join(dir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
				tb.Fatal(err)
			}
			if err := os.WriteFile(abs, []byte("not a photo"), 0o644); err != nil {
				tb.Fatal(err)
			}
			fi, err := os.Stat(abs)
			if err != nil {
				tb.Fatal(err)
			}
			e = manifest.Entry{State: manifest.Failed, Attempts: 3, UpdatedAt: now, Size: fi.Size(), MTime: fi.ModTime(),
				Error: &manifest.Error{Message: "media processing failed: InvalidMedia", Permanent: true, HTTPStatus: 400}}
			if r >= 5 {
				e = manifest.Entry{State: manifest.Skipped, UpdatedAt: now, Size: fi.Size(), MTime: fi.ModTime(),
					Reason: "17.5 MB is over X's 5 MB photo limit"}
			}
		default:
			at := now.Add(-time.Duration(i) * time.Second)
			e = manifest.Entry{State: manifest.Uploaded, MediaIDString: fmt.Sprint(1_800_000_000_000_000_000 + i), MediaKey: "3_1",
				UploadedAt: at, ExpiresAt: at.Add(24 * time.Hour), Size: 4_000_000, SHA256: strings.Repeat("ab", 32),
				MediaType: "image/jpeg", MediaCategory: "tweet_image", UpdatedAt: at, Attempts: 1,
				MovedTo: "/archive/" + rel}
		}
		entries[rel] = e
	}
	st, err := manifest.Open(manifest.DefaultPath(dir), dir)
	if err != nil {
		tb.Fatal(err)
	}
	if err := st.PutMany(entries); err != nil {
		tb.Fatal(err)
	}
	if err := st.Close(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkStatusPage100k measures GET / (the status page) and GET /api/status over a folder of
// 100,000 manifest entries through the real backend of a running agent (its index built from the
// agent's entries at start), as `mediasync run` serves them. Target: under 50 ms per request.
func BenchmarkStatusPage100k(b *testing.B) {
	dir := b.TempDir()
	writeBigManifest(b, dir, 100_000)
	la := startLiveAgent(b, dir)
	if _, f := la.status(b); f.Counts.Total() != 100_000 {
		b.Fatalf("the index holds %d entries, want 100000", f.Counts.Total())
	}
	h := httpHandler(metrics.New(), la.b, web.Options{Loopback: true})
	for _, c := range []struct{ name, path string }{{"page", "/"}, {"api_status", "/api/status"}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9464"+c.path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d", c.path, rec.Code)
				}
			}
		})
	}
}
