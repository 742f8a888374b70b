// Package emulatortest starts the X media API emulator for tests of other
// packages, the way net/http/httptest starts a server: [NewServer] on
// 127.0.0.1 with a random port, or [NewInMemory] with no listener, reached
// through [Server.Transport] (for testing/synctest bubbles, where real
// network I/O is not allowed). Both stop with tb.Cleanup; bytes stay in
// memory unless Options.StoreDir is set; the demo credentials are used
// unless others are given.
//
// # Contract
//
// NewServer and NewInMemory fail the test (tb.Fatalf) when the emulator
// cannot start. OAuth1Client signs with github.com/dghubble/oauth1, the
// library the uploader uses; the emulator verifies with its own code. The
// in-memory transport serves each request in the caller's goroutine and
// reports a connection cut by a drop or lose-answer fault as an error. No
// channels.
package emulatortest
