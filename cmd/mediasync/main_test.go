package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets the test binary act as the mediasync command: testscript scripts run it by name,
// and subprocess tests (the chaos test) exec it through a symlink named mediasync (see mediasyncExe).
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"mediasync": main})
}

// mediasyncExe returns the path of a "mediasync" executable for subprocess tests: a symlink to this
// test binary, which TestMain turns into the real command.
func mediasyncExe(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "mediasync")
	if err := os.Symlink(self, link); err != nil {
		t.Fatal(err)
	}
	return link
}
