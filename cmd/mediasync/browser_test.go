package main

import (
	"path/filepath"
	"testing"

	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/web/webtest"
)

// TestBrowserRealAgent is issue 15's browser test against the real thing: `mediasync run` serving
// http.listen with a token, uploading to the emulator. In headless Chromium: dropped files move to
// the recent uploads without a reload, a file whose processing X fails (an animated GIF while the
// emulator fails processing) is listed failed, the Retry button uploads it once the fault is
// lifted, and a file named <img src=x onerror=alert(1)>.jpg shows as text. The screenshot is kept
// in a temporary directory (logged).
func TestBrowserRealAgent(t *testing.T) {
	webtest.Chromium(t) // skip (or fail with MEDIASYNC_REQUIRE_CHROMIUM=1) before starting anything
	if testing.Short() {
		t.Skip("starts a browser")
	}
	const token = "browser-token-0123456789"
	ra := startRunning(t, runOpts{http: true, token: token})
	seed := int64(0)
	webtest.RunScenario(t, webtest.Target{
		URL: ra.url, Token: token,
		Fail: func(t *testing.T, name string) { ra.failGIF(name) },
		Drop: func(t *testing.T, name string) {
			seed++
			if err := writeViaRename(filepath.Join(ra.folder, name), mediagen.JPEG(64, 48, seed)); err != nil {
				t.Fatal(err)
			}
		},
	})
}
