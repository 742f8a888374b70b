// Package testlog is test support: a log sink that the goroutines of the code under test write to
// while the test reads it. Only tests import it.
package testlog

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
