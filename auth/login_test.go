package auth_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/internal/testsupport"
)

// noRedirect is a client that stops at the authorize page's redirect, as a browser on another
// machine does when the loopback callback cannot load.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// redirectOf returns where the emulator's authorize page sends the browser.
func redirectOf(t *testing.T, authURL string) *url.URL {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize answered %d, want 302", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestOAuthLoginLoopback(t *testing.T) {
	for _, secret := range []string{"", "test-client-secret"} {
		name := "public"
		if secret != "" {
			name = "confidential"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, time.Hour, secret)
			var out strings.Builder
			st := auth.NewStore(e.path, e.log)
			var seen string
			tok, err := auth.Login(t.Context(), e.cfg, st, auth.LoginOptions{
				Out: &out, Timeout: time.Minute,
				OpenBrowser: func(ctx context.Context, u string) error { seen = u; return browser(t)(ctx, u) },
			})
			if err != nil {
				t.Fatalf("Login: %v\n%s", err, out.String())
			}
			q, _ := url.Parse(seen)
			for k, want := range map[string]string{"response_type": "code", "client_id": testClientID, "redirect_uri": e.cfg.RedirectURL,
				"scope": "media.write users.read tweet.read offline.access", "code_challenge_method": "S256"} {
				if got := q.Query().Get(k); got != want {
					t.Errorf("authorize URL %s = %q, want %q", k, got, want)
				}
			}
			if tok.RefreshToken == "" || !tok.HasScope("media.write") || tok.ClientID != testClientID {
				t.Errorf("token = %v, want a refresh token, media.write and the client id", tok)
			}
			fi, err := os.Stat(e.path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("token file mode = %04o, want 0600", fi.Mode().Perm())
			}
			hc := &http.Client{Transport: e.transport(st)}
			if code, err := me(t, hc, e.emu.URL); err != nil || code != 200 {
				t.Errorf("users/me = %d, %v; want 200", code, err)
			}
			if strings.Contains(out.String(), tok.AccessToken) || strings.Contains(e.logs.String(), tok.AccessToken) {
				t.Error("the access token was printed")
			}
		})
	}
}

func TestOAuthLoginNoBrowserPaste(t *testing.T) {
	for _, mode := range []string{"url", "code"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t, time.Hour, "")
			st := auth.NewStore(e.path, e.log)
			pr, pw := io.Pipe()
			defer pw.Close()
			var out strings.Builder
			_, err := auth.Login(t.Context(), e.cfg, st, auth.LoginOptions{
				NoBrowser: true, In: pr, Out: &out, Timeout: time.Minute,
				OpenBrowser: func(context.Context, string) error { t.Error("a browser was opened with --no-browser"); return nil },
				OnURL: func(u string) {
					loc := redirectOf(t, u)
					line := loc.String()
					if mode == "code" {
						line = loc.Query().Get("code")
					}
					go io.WriteString(pw, "\n  "+line+"  \n")
				},
			})
			if err != nil {
				t.Fatalf("Login: %v\n%s", err, out.String())
			}
			if !strings.Contains(out.String(), "paste it here") {
				t.Errorf("instructions missing:\n%s", out.String())
			}
			if _, err := st.Load(); err != nil {
				t.Errorf("Load after login: %v", err)
			}
		})
	}
}

// TestOAuthLoginNoBrowserLoopback: with --no-browser the listener is still up, so a browser on the
// same machine completes the login without pasting.
func TestOAuthLoginNoBrowserLoopback(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	st := auth.NewStore(e.path, e.log)
	pr, pw := io.Pipe()
	defer pw.Close()
	_, err := auth.Login(t.Context(), e.cfg, st, auth.LoginOptions{
		NoBrowser: true, In: pr, Timeout: time.Minute,
		OnURL: func(u string) { browser(t)(t.Context(), u) },
	})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
}

func TestOAuthLoginStateMismatch(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	st := auth.NewStore(e.path, e.log)
	pr, pw := io.Pipe()
	defer pw.Close()
	var out testsupport.Buffer
	_, err := auth.Login(t.Context(), e.cfg, st, auth.LoginOptions{
		NoBrowser: true, In: pr, Out: &out, Timeout: time.Minute,
		OnURL: func(u string) {
			loc := redirectOf(t, u)
			forged := *loc
			q := forged.Query()
			q.Set("state", "forged-state")
			forged.RawQuery = q.Encode()
			// A forged callback to the listener is refused...
			resp, err := http.Get(forged.String())
			if err != nil {
				t.Errorf("forged callback: %v", err)
			} else {
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadRequest {
					t.Errorf("forged callback answered %d, want 400", resp.StatusCode)
				}
			}
			// ... so is a pasted one, and then the real one is accepted.
			go io.WriteString(pw, forged.String()+"\n"+loc.String()+"\n")
		},
	})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	for _, want := range []string{"Refused a callback whose state does not match", "state mismatch"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestOAuthLoginTimeout(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	st := auth.NewStore(e.path, e.log)
	_, err := auth.Login(t.Context(), e.cfg, st, auth.LoginOptions{
		Timeout: 50 * time.Millisecond, OpenBrowser: func(context.Context, string) error { return nil },
	})
	if !errors.Is(err, auth.ErrLoginTimeout) {
		t.Fatalf("Login = %v, want ErrLoginTimeout", err)
	}
	if _, err := os.Stat(e.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a token file exists after a timed-out login: %v", err)
	}
}

// A redirect URI that is not http on a loopback host with a port is refused before anything is
// listened on or opened: the error is the redirect URL's (not a timeout or a failed listen, which
// a login that went ahead would also end in), and no browser is started.
func TestOAuthLoginRefusesNonLoopbackRedirect(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	port := strconv.Itoa(freePort(t))
	for _, bad := range []string{"https://127.0.0.1:" + port + "/callback", "http://example.com:" + port + "/callback", "http://127.0.0.1/callback"} {
		cfg := e.cfg
		cfg.RedirectURL = bad
		opened := false
		_, err := auth.Login(t.Context(), cfg, auth.NewStore(e.path, e.log), auth.LoginOptions{
			Timeout:     time.Second,
			OpenBrowser: func(context.Context, string) error { opened = true; return nil },
		})
		if !errors.Is(err, auth.ErrRedirectURL) {
			t.Errorf("Login with redirect %s = %v, want an error matching auth.ErrRedirectURL", bad, err)
		}
		if opened {
			t.Errorf("Login with redirect %s opened a browser", bad)
		}
	}
}
