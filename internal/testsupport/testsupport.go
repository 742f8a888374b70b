// Package testsupport holds what several packages' tests share (only tests import it): a log
// sink that the goroutines of the code under test write to while the test reads it ([Buffer]),
// and a file whose path is longer than the system allows ([LongPath]). MP4 and image builders live
// in internal/mediagen.
package testsupport

import (
	"bytes"
	"sync"
)

// Buffer is a goroutine-safe bytes.Buffer for log output: writes and reads may happen at once
// (zerolog writes each event with one Write). The zero value is ready to use; pass a *Buffer.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns everything written so far.
func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
