//go:build unix

package web

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mediasync/mediasync/manifest"
)

// serveSocket serves the API over f on a socket in a fresh directory until the test ends; it
// returns the socket's path once the socket accepts.
func serveSocket(t *testing.T, f Backend, opts Options) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- ServeUnix(ctx, path, NewAPIHandler(f, opts)) }()
	go func() {
		defer close(ready)
		for ctx.Err() == nil {
			if _, err := Dial(path).Status(ctx, Query{}); err == nil || !errors.Is(err, ErrNoAgent) {
				return
			}
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("ServeUnix: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeUnix returned %v after cancel", err)
		}
		if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("the socket is still there after ServeUnix returned: %v", err)
		}
	})
	return path
}

// TestClientOverSocket: every Client method against a fake through ServeUnix; the socket's
// requests need no token and no CSRF token although Options is the zero value.
func TestClientOverSocket(t *testing.T) {
	f := sampleFake()
	f.put(testFolder, "second.jpg", failedEntry("boom", false))
	path := serveSocket(t, f, Options{})
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want an owner-only (0600) socket", fi.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("the socket's directory holds %d names, want only the socket", len(entries))
	}
	c := Dial(path)
	defer c.Close()
	ctx := t.Context()

	st, err := c.Status(ctx, Query{Folder: testFolder, Limit: 1})
	if err != nil || len(st.Folders) != 1 || st.Folders[0].Failed.Total != 2 || len(st.Folders[0].Failed.Items) != 1 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	if err := c.Retry(ctx, testFolder, "broken.jpg"); err != nil {
		t.Errorf("Retry: %v", err)
	}
	if err := c.Retry(ctx, testFolder, "broken.jpg"); !errors.Is(err, ErrInvalid) {
		t.Errorf("Retry of an uploaded file = %v, want ErrInvalid", err)
	}
	var ae *APIError
	if err := c.Retry(ctx, testFolder, "nope.jpg"); !errors.Is(err, ErrNotFound) || !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(err.Error(), "nope.jpg") {
		t.Errorf("Retry of an unknown file = %v, want ErrNotFound naming it", err)
	}
	if n, err := c.RetryFailed(ctx, testFolder); n != 1 || err != nil {
		t.Errorf("RetryFailed = %d, %v", n, err)
	}
	if n, err := c.RetryHooks(ctx, testFolder); n != 1 || err != nil {
		t.Errorf("RetryHooks = %d, %v", n, err)
	}
	x, err := c.Explain(ctx, "/srv/exports/x.jpg.part")
	if err != nil || x.Verdict != VerdictIgnored || x.Rule != "built-in: *.part" || x.Rel != "x.jpg.part" {
		t.Errorf("Explain = %+v, %v", x, err)
	}
	res, err := c.Upload(ctx, "/srv/exports/new.jpg", UploadOptions{AltText: "a gull", Category: "tweet_image"})
	if err != nil || res.Rel != "new.jpg" || res.Entry.State != manifest.Uploaded || res.Entry.AltText != "a gull" {
		t.Errorf("Upload = %+v, %v", res, err)
	}
	if calls := f.called(); calls[len(calls)-1] != "upload /srv/exports/new.jpg tweet_image a gull" {
		t.Errorf("backend saw %q", calls[len(calls)-1])
	}
	var mu sync.Mutex
	var seen [][2]int64
	res, err = c.Upload(ctx, "/srv/exports/streamed.jpg", UploadOptions{OnProgress: func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, [2]int64{done, total})
	}})
	if err != nil || res.Rel != "streamed.jpg" || len(seen) < 2 || seen[0] != [2]int64{0, 4000} || seen[len(seen)-1] != [2]int64{4000, 4000} {
		t.Errorf("streamed Upload = %+v, %v; progress %v", res, err, seen)
	}
	_, err = c.Upload(ctx, "/srv/exports/fails-to-start.jpg", UploadOptions{OnProgress: func(int64, int64) {}})
	if err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("streamed Upload that fails = %v", err)
	}
	if _, err := c.Upload(ctx, "/tmp/loose.jpg", UploadOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("Upload outside the folders = %v, want ErrInvalid (the caller uploads it itself)", err)
	}
}

func TestDialNoAgent(t *testing.T) {
	dir := t.TempDir()
	// No socket at all.
	if _, err := Dial(filepath.Join(dir, SocketName)).Status(t.Context(), Query{}); !errors.Is(err, ErrNoAgent) {
		t.Errorf("no socket: %v, want ErrNoAgent", err)
	}
	// No directory either.
	if _, err := Dial(filepath.Join(dir, "missing", SocketName)).Status(t.Context(), Query{}); !errors.Is(err, ErrNoAgent) {
		t.Errorf("no directory: %v, want ErrNoAgent", err)
	}
	// A stale socket: its agent died without removing it.
	stale := staleSocket(t, dir)
	if err := Dial(stale).Retry(t.Context(), testFolder, "a.jpg"); !errors.Is(err, ErrNoAgent) {
		t.Errorf("stale socket: %v, want ErrNoAgent", err)
	}
}

// staleSocket leaves a socket nothing listens on, as a killed agent does.
func staleSocket(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, SocketName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	return path
}

func TestServeUnixReplacesStaleSocket(t *testing.T) {
	dir := t.TempDir()
	path := staleSocket(t, dir)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ServeUnix(ctx, path, NewAPIHandler(sampleFake(), Options{})) }()
	for {
		_, err := Dial(path).Status(ctx, Query{})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrNoAgent) {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			t.Fatalf("ServeUnix over a stale socket: %v", err)
		default:
		}
	}
	// A second agent on the same socket is refused, and leaves the first one's socket alone.
	if err := ServeUnix(ctx, path, NewAPIHandler(sampleFake(), Options{})); !errors.Is(err, ErrSocketInUse) {
		t.Errorf("second ServeUnix = %v, want ErrSocketInUse", err)
	}
	if _, err := Dial(path).Status(ctx, Query{}); err != nil {
		t.Errorf("the first agent no longer answers: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestServeUnixRefuses: ServeUnix never removes what is not a stale socket, never follows a
// symlink, and never serves in a directory that is a symlink.
func TestServeUnixRefuses(t *testing.T) {
	ctx := t.Context()
	h := NewAPIHandler(sampleFake(), Options{})

	dir := t.TempDir()
	file := filepath.Join(dir, SocketName)
	os.WriteFile(file, []byte("precious"), 0o600)
	if err := ServeUnix(ctx, file, h); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a regular file: %v", err)
	}
	if b, _ := os.ReadFile(file); string(b) != "precious" {
		t.Error("the regular file was touched")
	}

	dir = t.TempDir()
	target := filepath.Join(t.TempDir(), "target")
	os.WriteFile(target, []byte("precious"), 0o600)
	link := filepath.Join(dir, SocketName)
	os.Symlink(target, link)
	if err := ServeUnix(ctx, link, h); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("over a symlink: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Error("the symlink was removed")
	}
	if b, _ := os.ReadFile(target); string(b) != "precious" {
		t.Error("the symlink's target was touched")
	}

	// A symlink to a stale socket: still a symlink, left alone.
	sdir := t.TempDir()
	stale := staleSocket(t, sdir)
	dir = t.TempDir()
	link = filepath.Join(dir, SocketName)
	os.Symlink(stale, link)
	if err := ServeUnix(ctx, link, h); err == nil {
		t.Error("over a symlink to a stale socket: served")
	}
	if _, err := os.Lstat(stale); err != nil {
		t.Errorf("the symlink's target socket was removed: %v", err)
	}

	real := t.TempDir()
	linkDir := filepath.Join(t.TempDir(), "dirlink")
	os.Symlink(real, linkDir)
	if err := ServeUnix(ctx, filepath.Join(linkDir, SocketName), h); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("in a symlinked directory: %v", err)
	}

	if os.Geteuid() == 0 {
		// Only root can give a directory to another user: then it is refused.
		theirs := t.TempDir()
		if err := os.Chown(theirs, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		if err := ServeUnix(ctx, filepath.Join(theirs, SocketName), h); err == nil || !strings.Contains(err.Error(), "not to this user") {
			t.Errorf("in another user's directory: %v", err)
		}
	}

	long := filepath.Join(t.TempDir(), strings.Repeat("d", 100))
	os.Mkdir(long, 0o700)
	if err := ServeUnix(ctx, filepath.Join(long, SocketName), h); err == nil || !strings.Contains(err.Error(), "longer than a unix socket allows") {
		t.Errorf("a too long path: %v", err)
	}
	if entries, _ := os.ReadDir(long); len(entries) != 0 {
		t.Errorf("a refused ServeUnix left %d names behind", len(entries))
	}
}

// TestClientRefusesOtherVersions: a server that is not a mediasync agent, or speaks another
// schema version, gives a clear error rather than a misread answer.
func TestClientRefusesOtherVersions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SocketName)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	version := ""
	srv := &httpServer{ln: ln, version: &version}
	srv.start(t)
	if _, err := Dial(path).Status(t.Context(), Query{}); err == nil || !strings.Contains(err.Error(), "not as a mediasync agent") {
		t.Errorf("a foreign server: %v", err)
	}
	version = "2"
	if _, err := Dial(path).Status(t.Context(), Query{}); err == nil || !strings.Contains(err.Error(), "API version 2") {
		t.Errorf("a newer agent: %v", err)
	}
}

// httpServer answers every request with {} and the version header it is told.
type httpServer struct {
	ln      net.Listener
	version *string
}

func (s *httpServer) start(t *testing.T) {
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *s.version != "" {
			w.Header().Set(versionHeader, *s.version)
		}
		w.Write([]byte("{}"))
	})}
	go srv.Serve(s.ln)
	t.Cleanup(func() { srv.Close() })
}
