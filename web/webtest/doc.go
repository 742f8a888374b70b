// Package webtest drives the status page of package web in a real browser, for tests: headless
// Chromium (Debian's chromium package) through chromedp. [RunScenario] is issue 15's browser test
// over any [Target] — web's fake backend, or a running agent and the emulator (cmd/mediasync) — so
// the same scenario proves both.
//
// # Contract
//
// [Chromium] skips the test when no Chromium is installed, and fails it instead when
// MEDIASYNC_REQUIRE_CHROMIUM=1 (CI, which installs it). [NewBrowser] starts a fresh profile in a
// temporary directory and stops the browser with t.Cleanup. RunScenario waits for what the page
// shows by polling the DOM with a generous deadline, never by sleeping, and keeps its screenshot
// in a new temporary directory that it logs and does not remove. The package knows the page only
// by its ids and classes (#live, #flash, #conn, [id$="-failed"] td.file, ...); it imports nothing
// of this module.
package webtest
