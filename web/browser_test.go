package web

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/web/webtest"
)

// TestBrowser runs the page in headless Chromium against the fake backend.
func TestBrowser(t *testing.T) {
	f := newFake(testNow)
	up := f.uploadedEntry()
	up.UploadedAt = testNow.Add(-time.Hour)
	f.put(testFolder, "2026/earlier.jpg", up)
	srv := httptest.NewServer(mount(f, Options{Token: "browser-token-0123456789", Refresh: 250 * time.Millisecond}))
	t.Cleanup(srv.Close)
	webtest.RunScenario(t, fakeTarget(srv.URL, "browser-token-0123456789", f))
}

// fakeTarget drives the fake backend behind url.
func fakeTarget(url, token string, f *fake) webtest.Target {
	return webtest.Target{
		URL: url, Token: token,
		Fail: func(t *testing.T, name string) {
			f.put(testFolder, name, failedEntry("media processing failed: InvalidMedia (the emulator refused it)", false))
		},
		Drop: func(t *testing.T, name string) {
			f.put(testFolder, name, manifest.Entry{State: manifest.Uploading})
			f.mu.Lock()
			f.active[testFolder] = append(f.active[testFolder], Transfer{Rel: name, Phase: PhaseUploading, Bytes: 3_000_000, Total: 8_000_000,
				Segments: 1, SegmentsTotal: 2, Rate: 2_000_000, ETA: 2.5, Started: testNow})
			f.mu.Unlock()
		},
		Settle: func(t *testing.T, name string) {
			f.mu.Lock()
			var keep []Transfer
			for _, tr := range f.active[testFolder] {
				if tr.Rel != name {
					keep = append(keep, tr)
				}
			}
			f.active[testFolder] = keep
			f.mu.Unlock()
			f.put(testFolder, name, f.uploadedEntry())
		},
	}
}
