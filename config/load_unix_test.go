//go:build unix

package config

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// A FIFO passed as the config is refused without blocking on it.
func TestLoadFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo.yaml")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "is not a regular file") {
		t.Errorf("Load(fifo) = %v", err)
	}
	if _, err := Find(p); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find(fifo) = %v", err)
	}
}
