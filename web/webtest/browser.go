package webtest

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Target is what [RunScenario] drives: a status page, and the ways to change what it shows. Over
// a fake backend, Drop puts an upload in flight and Settle finishes it; over a running agent and
// the emulator, Drop writes a file into a watched folder, Settle is nil (the agent uploads by
// itself), and Fail drops a file while the emulator refuses it and lifts the fault afterwards.
type Target struct {
	// URL is the page's base URL (http://127.0.0.1:PORT), without a trailing slash.
	URL string
	// Token is the http.token ("" for a loopback listener without one).
	Token string
	// Fail makes name a failed file of the first folder whose retry will succeed; it returns once
	// the backend reports it failed.
	Fail func(t *testing.T, name string)
	// Drop makes a file named name appear in the first folder and start uploading.
	Drop func(t *testing.T, name string)
	// Settle, when set, lets name's upload finish (an agent needs nothing).
	Settle func(t *testing.T, name string)
}

// HostileName is the file name of issue 15 that must show as text.
const HostileName = `<img src=x onerror=alert(1)>.jpg`

// FailedName is the file the scenario makes fail (Target.Fail) and retries with the page's button.
const FailedName = "broken.jpg"

// Chromium returns the Chromium to drive, or skips the test (fails it with
// MEDIASYNC_REQUIRE_CHROMIUM=1, as CI sets after installing it).
func Chromium(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if os.Getenv("MEDIASYNC_REQUIRE_CHROMIUM") == "1" {
		t.Fatal("chromium is not installed, and MEDIASYNC_REQUIRE_CHROMIUM=1 requires it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed: skipping the browser test (apt-get install chromium; MEDIASYNC_REQUIRE_CHROMIUM=1 makes this a failure)")
	return ""
}

// NewBrowser starts a headless Chromium with a fresh profile and returns its context, which
// counts every JavaScript dialog (alert, confirm, prompt) that opens, dismissing it.
func NewBrowser(t testing.TB) (context.Context, *atomic.Int32) {
	t.Helper()
	exe := Chromium(t)
	if testing.Short() {
		t.Skip("starts a browser")
	}
	profile, err := os.MkdirTemp("", "mediasync-chromium-profile-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) }) // best effort: Chromium's helpers may still write in it
	actx, cancel := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 1000),
	)
	t.Cleanup(cancel)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(ctx); err != nil { // start the browser on a context without a deadline
		t.Fatalf("start chromium: %v", err)
	}
	var dialogs atomic.Int32
	events := chromedp.Events(ctx, cdppage.JavascriptDialogOpening)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			t.Logf("a JavaScript dialog opened: %s %q", ev.Type, ev.Message)
			chromedp.Call(ctx, cdppage.HandleJavaScriptDialog, cdppage.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return ctx, &dialogs
}

// shows waits until a file cell of a section (active, failed, recent; "" = any) reads name
// exactly, as text.
func shows(t testing.TB, ctx context.Context, section, name string) {
	t.Helper()
	const fn = `(section, name) => Array.from(document.querySelectorAll(section ? '[id$="-' + section + '"] td.file' : 'td.file'))
		.some(td => td.firstChild && td.firstChild.nodeType === Node.TEXT_NODE && td.firstChild.nodeValue.trim() === name)`
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn, chromedp.WithPollingArgs(section, name),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("waiting for %q in %q: %v", name, section, err)
	}
}

// gone waits until no file cell of section reads name.
func gone(t testing.TB, ctx context.Context, section, name string) {
	t.Helper()
	const fn = `(section, name) => !Array.from(document.querySelectorAll('[id$="-' + section + '"] td.file'))
		.some(td => td.firstChild && td.firstChild.nodeValue.trim() === name)`
	if _, err := chromedp.Run(ctx, chromedp.PollFunction[bool](fn, chromedp.WithPollingArgs(section, name),
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Fatalf("waiting for %q to leave %q: %v", name, section, err)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func js[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// RunScenario is issue 15's browser test: load the page, see a dropped file move to
// uploaded without a reload, retry a failed file and see it succeed, show a hostile name as text
// with no dialog, and keep a screenshot.
func RunScenario(t *testing.T, target Target) {
	ctx, dialogs := NewBrowser(t)
	const failed = FailedName
	target.Fail(t, failed)

	start := target.URL + "/"
	if target.Token != "" {
		start += "?token=" + target.Token
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(start), chromedp.WaitVisible(chromedp.ID("live"))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	if loc := js[string](t, ctx, "location.href"); loc != target.URL+"/" {
		t.Errorf("after logging in the page is at %q, want %q (the token must leave the address bar)", loc, target.URL+"/")
	}
	// A mark that a reload would wipe: every change below must arrive without one.
	js[bool](t, ctx, "window.__notReloaded = true")
	shows(t, ctx, "failed", failed)

	// Live refresh: a dropped file shows up uploading, then moves to the recent uploads.
	target.Drop(t, "fresh.jpg")
	if target.Settle != nil {
		shows(t, ctx, "active", "fresh.jpg")
		target.Settle(t, "fresh.jpg")
	}
	shows(t, ctx, "recent", "fresh.jpg")

	// Retry: the button posts in place; the file leaves the failed list and is uploaded.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[aria-label="Retry `+failed+`"]`))); err != nil {
		t.Fatalf("click retry: %v", err)
	}
	shows(t, ctx, "recent", failed)
	gone(t, ctx, "failed", failed)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('flash').textContent.includes(`+jsString(failed)+`)`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		t.Errorf("no message naming %s after the retry: %v", failed, err)
	}

	// A hostile name is text: no element, no script, no dialog.
	target.Drop(t, HostileName)
	if target.Settle != nil {
		target.Settle(t, HostileName)
	}
	shows(t, ctx, "recent", HostileName)
	if n := js[int](t, ctx, `document.querySelectorAll('img, svg, iframe').length + document.scripts.length - 1`); n != 0 {
		t.Errorf("the page grew %d elements from file names", n)
	}
	if !js[bool](t, ctx, "window.__notReloaded === true") {
		t.Error("the page reloaded; it must refresh its data in place")
	}
	if conn := js[string](t, ctx, `document.getElementById('conn').textContent`); conn != "live" {
		t.Errorf("connection indicator = %q, want live", conn)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialog(s) opened", n)
	}
	// The dialog detector works: an alert of our own is seen (and dismissed).
	js[any](t, ctx, `alert('probe')`)
	if n := dialogs.Load(); n != 1 {
		t.Errorf("the probe alert was counted %d times, want 1: the dialog listener is not working", n)
	}

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir, err := os.MkdirTemp("", "mediasync-browser-")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "status-page.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot kept at %s (%d bytes; not removed by the test)", path, len(shot))
}
