//go:build linux || darwin || freebsd || openbsd || netbsd || dragonfly

package alttext_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mediasync/mediasync/alttext"
)

// TestFindFIFO: a FIFO planted as a sidecar or as the media file is refused
// at once; opening it for reading must not block waiting for a writer.
func TestFindFIFO(t *testing.T) {
	tests := []struct {
		name, fifo, mode string
		sidecar          bool
	}{
		{"sidecar", "IMG_1.txt", "auto", true},
		{"media", "IMG_1.jpg", "embedded", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := folder(t, map[string][]byte{"IMG_1.jpg": photo})
			fifo := filepath.Join(filepath.Dir(path), tt.fifo)
			if tt.fifo == "IMG_1.jpg" {
				path = filepath.Join(t.TempDir(), "IMG_1.jpg")
				fifo = path
			}
			if err := syscall.Mkfifo(fifo, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			_, _, _, err := alttext.Find(path, tt.mode)
			if err == nil || alttext.IsSidecar(err) != tt.sidecar {
				t.Errorf("Find with a FIFO %s: err = %v; want an error, IsSidecar = %v", tt.fifo, err, tt.sidecar)
			}
		})
	}
}
