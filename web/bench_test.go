package web

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// bigFake holds n manifest entries in one folder, as a long-running agent's: mostly uploaded (a
// tenth of them expired), 5% failed, 3% skipped, 2% pending; plus two uploads in flight.
func bigFake(n int) *fake {
	f := newFake(testNow)
	f.addFolder(testFolder)
	files := f.folders[testFolder]
	for i := range n {
		rel := fmt.Sprintf("%04d/%02d/IMG_%06d.jpg", 2000+i%26, i%12+1, i)
		var e manifest.Entry
		switch r := i % 100; {
		case r < 5:
			e = failedEntry("503 Service Unavailable from X; retried with backoff", r == 0)
		case r < 8:
			e = manifest.Entry{State: manifest.Skipped, Reason: "17.5 MB is over X's 5 MB photo limit"}
		case r < 10:
			e = manifest.Entry{State: manifest.Pending}
		default:
			at := testNow.Add(-time.Duration(i) * time.Second)
			e = manifest.Entry{State: manifest.Uploaded, MediaIDString: fmt.Sprint(1_800_000_000_000_000_000 + i), MediaKey: "3_1", UploadedAt: at,
				ExpiresAt: at.Add(24 * time.Hour), Size: 4_000_000, SHA256: strings.Repeat("ab", 32), MediaType: "image/jpeg", UpdatedAt: at}
		}
		files[rel] = e
	}
	f.index[testFolder] = NewIndex(testFolder, maps.All(files))
	f.active[testFolder] = []Transfer{{Rel: "video.mp4", Phase: PhaseUploading, Bytes: 1, Total: 2}, {Rel: "b.jpg", Phase: PhaseHashing}}
	return f
}

// TestPageBounded: with 100,000 entries the page and the status stay small: counts, and capped
// lists with a link to the rest.
func TestPageBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 100,000 entries")
	}
	h := mount(bigFake(100_000), Options{Loopback: true})
	for path, max := range map[string]int{"/": 60_000, "/api/status": 60_000} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9464"+path, nil))
		if rec.Code != http.StatusOK || rec.Body.Len() > max {
			t.Errorf("GET %s = %d, %d bytes; want 200 and at most %d", path, rec.Code, rec.Body.Len(), max)
		}
		if path == "/" {
			doc := parse(t, rec.Body.String())
			if n := len(fileCells(doc)); n > 2+3*defaultPageLimit {
				t.Errorf("GET / renders %d file rows", n)
			}
			if s := text(byID(doc, "f0-failed")); !strings.Contains(s, "Failed (5000)") || !strings.Contains(s, "and 4975 more") {
				t.Errorf("failed section = %.200q…", s)
			}
		}
	}
}

// BenchmarkPage100k measures GET / and GET /api/status over 100,000 manifest entries, the
// backend's work included: with an [Index] (what the agent should keep), and with [Summarize]
// going through every entry on each request ("scan"). Target: under 50 ms per request.
func BenchmarkPage100k(b *testing.B) {
	for _, scan := range []bool{false, true} {
		f := bigFake(100_000)
		f.scan = scan
		h := mount(f, Options{Loopback: true})
		for _, path := range []string{"/", "/api/status"} {
			name := map[string]string{"/": "page", "/api/status": "api_status"}[path]
			if scan {
				name += "/scan"
			} else {
				name += "/index"
			}
			benchGet(b, name, h, path)
		}
	}
}

func benchGet(b *testing.B, name string, h http.Handler, path string) {
	b.Run(name, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://127.0.0.1:9464"+path, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("GET %s = %d", path, rec.Code)
			}
		}
	})
}

// BenchmarkIndexPut100k measures what a running agent's writes cost the index of a folder of
// 100,000 entries: "new_upload" records an upload (newest: its place is at the end of the sorted
// lists), "move_oldest" moves the oldest upload to the newest place (the worst case: the slices
// shift by their whole length), "in_place" rewrites an uploaded entry without moving it (a hook's
// outcome, a removed file).
func BenchmarkIndexPut100k(b *testing.B) {
	f := bigFake(100_000)
	x := f.index[testFolder]
	relOf := func(i int) string { return fmt.Sprintf("%04d/%02d/IMG_%06d.jpg", 2000+i%26, i%12+1, i) }
	for _, c := range []struct {
		name string
		i    int // bigFake's uploaded entry i is uploaded i seconds before testNow
		move bool
	}{{"new_upload", 10, true}, {"move_oldest", 99_999, true}, {"in_place", 99_999, false}} {
		b.Run(c.name, func(b *testing.B) {
			rel := relOf(c.i)
			e := f.folders[testFolder][rel]
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n++
				if c.move {
					// Alternate between the entry's own time and the newest, so each Put moves it.
					at := testNow.Add(-time.Duration(c.i) * time.Second)
					if n%2 == 1 {
						at = testNow.Add(time.Hour)
					}
					e.UploadedAt, e.ExpiresAt = at, at.Add(24*time.Hour)
				} else {
					e.Deleted = !e.Deleted
				}
				x.Put(rel, e)
			}
		})
	}
}
