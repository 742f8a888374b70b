package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/uploader"
)

const testOAuth2ClientID = "cmd-test-client-id"

// oauthEmulator starts an emulator with OAuth 2.0 on (tokens living lifetime) and returns it with
// the callback URI it registered, on a loopback port that was free.
func oauthEmulator(t *testing.T, lifetime time.Duration) (*emulatortest.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/callback"
	ln.Close()
	srv := emulatortest.NewServer(t, emulator.Options{
		OAuth2: emulator.OAuth2Options{ClientID: testOAuth2ClientID, RedirectURL: redirect, TokenLifetime: lifetime},
		Log:    zerolog.Nop(),
	})
	return srv, redirect
}

// pasteWriter is stdout for 'auth login --no-browser': when the authorization URL appears, it does
// what the user does (opens it in a browser that cannot reach the callback) and pastes the address
// the browser ended on into stdin.
type pasteWriter struct {
	t     *testing.T
	mu    sync.Mutex
	buf   bytes.Buffer
	stdin io.Writer
	done  bool
}

func (p *pasteWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	if p.done {
		return len(b), nil
	}
	sc := bufio.NewScanner(strings.NewReader(p.buf.String()))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "http") && strings.Contains(line, "/i/oauth2/authorize?") {
			p.done = true
			go func() {
				c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				resp, err := c.Get(line)
				if err != nil {
					p.t.Errorf("browser: %v", err)
					return
				}
				resp.Body.Close()
				io.WriteString(p.stdin, resp.Header.Get("Location")+"\n")
			}()
		}
	}
	return len(b), nil
}

func (p *pasteWriter) String() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.buf.String()
}

// oauthLogin runs 'mediasync --config cfgPath auth login --no-browser' as a user at a terminal
// would (opening the printed URL elsewhere and pasting the address the browser ended on) and returns
// its output.
func oauthLogin(t *testing.T, cfgPath string) string {
	t.Helper()
	pr, pw := io.Pipe()
	defer pw.Close()
	out := &pasteWriter{t: t, stdin: pw}
	var errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if code := Main(ctx, []string{"--config", cfgPath, "auth", "login", "--no-browser"}, pr, out, &errb); code != 0 {
		t.Fatalf("auth login = %d\n%s\n%s", code, out.String(), errb.String())
	}
	return out.String()
}

// TestAuthCommands: 'auth login --no-browser' completes from a script (the redirect pasted on
// stdin), 'auth status' shows the login without a token, 'upload' uses the grant through
// auth.Transport, 'auth logout' revokes it and removes the file, and 'auth status' then exits 1.
func TestAuthCommands(t *testing.T) {
	srv, redirect := oauthEmulator(t, time.Hour)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "state", "token.json")
	cfgPath := writeAgentConfig(t, filepath.Join(dir, "c.yaml"), agentConfig{
		BaseURL: srv.URL, Auth: "oauth2", ClientID: testOAuth2ClientID, TokenFile: tokenFile, RedirectURL: redirect,
	})
	t.Setenv("MEDIASYNC_BEARER_TOKEN", "")
	run := func(stdin io.Reader, stdout io.Writer, args ...string) (int, string) {
		var errb bytes.Buffer
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		code := Main(ctx, append([]string{"--config", cfgPath}, args...), stdin, stdout, &errb)
		return code, errb.String()
	}

	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := newAuthTransport(cfg, uploader.NewTransport(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	probe := func(ctx context.Context) error { _, err := tr.Token(ctx); return err } // what a request needs
	if err := probe(t.Context()); !auth.IsLoginRequired(err) {
		t.Errorf("login probe before the login = %v, want LoginRequired", err)
	}
	out := oauthLogin(t, cfgPath)
	for _, want := range []string{"paste it here", "Logged in. Scopes: media.write users.read tweet.read offline.access", "Authorized as @mediasync_emulator"} {
		if !strings.Contains(out, want) {
			t.Errorf("auth login output lacks %q:\n%s", want, out)
		}
	}
	if err := probe(t.Context()); err != nil {
		t.Errorf("login probe after the login = %v, want nil", err)
	}
	tok, err := auth.NewStore(tokenFile, zerolog.Nop()).Load()
	if err != nil {
		t.Fatal(err)
	}

	var status bytes.Buffer
	if code, stderr := run(strings.NewReader(""), &status, "auth", "status"); code != 0 {
		t.Fatalf("auth status = %d\n%s%s", code, status.String(), stderr)
	}
	for _, want := range []string{tokenFile + " (mode 0600)", "scopes        media.write", "access token  expires", "refresh token yes", "user          @mediasync_emulator"} {
		if !strings.Contains(status.String(), want) {
			t.Errorf("auth status lacks %q:\n%s", want, status.String())
		}
	}
	if strings.Contains(out+status.String(), tok.AccessToken) || strings.Contains(out+status.String(), tok.RefreshToken) {
		t.Error("a token was printed")
	}

	img := filepath.Join(dir, "a.jpg")
	if err := os.WriteFile(img, mediagen.JPEG(64, 48, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	var up bytes.Buffer
	if code, stderr := run(strings.NewReader(""), &up, "upload", img); code != 0 {
		t.Fatalf("upload with the OAuth 2.0 login = %d\n%s%s", code, up.String(), stderr)
	}
	if n := len(srv.Media()); n != 1 {
		t.Errorf("emulator holds %d media, want 1", n)
	}

	var lo bytes.Buffer
	if code, stderr := run(strings.NewReader(""), &lo, "auth", "logout"); code != 0 || !strings.Contains(lo.String(), "Revoked the grant") {
		t.Fatalf("auth logout = %d\n%s%s", code, lo.String(), stderr)
	}
	if _, err := os.Stat(tokenFile); !os.IsNotExist(err) {
		t.Errorf("token file after logout: %v", err)
	}
	if g := srv.OAuth2Grants(); len(g) != 1 || g[0].Revoked != "revoked by the client" {
		t.Errorf("grants after logout = %+v", g)
	}
	status.Reset()
	if code, _ := run(strings.NewReader(""), &status, "auth", "status"); code != 1 || !strings.Contains(status.String(), "login         needed") {
		t.Errorf("auth status after logout = %d\n%s", code, status.String())
	}
	if err := probe(t.Context()); !auth.IsLoginRequired(err) {
		t.Errorf("login probe after logout = %v, want LoginRequired", err)
	}
	// Uploading now fails with the login advice, not a generic 401.
	var up2 bytes.Buffer
	code, stderr := run(strings.NewReader(""), &up2, "upload", img)
	if code == 0 || !strings.Contains(up2.String()+stderr, "mediasync auth login") {
		t.Errorf("upload after logout = %d, want a failure that says to log in\n%s%s", code, up2.String(), stderr)
	}
}
