package auth_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/uploader"
)

// memEnv is an in-memory emulator for testing/synctest bubbles, with a grant logged in through
// Login's --no-browser paste path.
// memEnv is an env in memory, for synctest bubbles: its login pastes the code.
type memEnv struct{ *env }

func newMemEnv(t *testing.T, lifetime time.Duration) *memEnv {
	t.Helper()
	return newMemEnvSecret(t, lifetime, "")
}

// newMemEnvSecret is newMemEnv with a confidential client when secret is not "".
func newMemEnvSecret(t *testing.T, lifetime time.Duration, secret string) *memEnv {
	t.Helper()
	// The redirect URI is never listened on: the code is pasted.
	return &memEnv{newEnvOn(t, emulatortest.NewInMemory, lifetime, secret, "http://127.0.0.1:1/callback", t.TempDir()+"/token.json")}
}

// login runs Login with the redirect pasted on stdin (no listener is reachable in a bubble).
func (e *memEnv) login(t *testing.T) *auth.Token {
	t.Helper()
	pr, pw := io.Pipe()
	defer pw.Close()
	stop := &http.Client{Transport: e.emu.Transport(), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tok, err := auth.Login(t.Context(), e.cfg, auth.NewStore(e.path, e.log), auth.LoginOptions{
		NoBrowser: true, In: pr, HTTPClient: &http.Client{Transport: e.emu.Transport()},
		OnURL: func(u string) {
			resp, err := stop.Get(u)
			if err != nil {
				t.Errorf("authorize: %v", err)
				return
			}
			resp.Body.Close()
			go io.WriteString(pw, resp.Header.Get("Location")+"\n")
		},
	})
	if err != nil {
		t.Fatalf("Login: %v", err)
	}
	return tok
}

func (e *memEnv) transport(st *auth.Store) *auth.Transport {
	return &auth.Transport{Store: st, Config: e.cfg, Base: e.emu.Transport(), RefreshBackoff: 10 * time.Millisecond, MaxRefreshBackoff: 100 * time.Millisecond}
}

func (e *memEnv) me(t *testing.T, hc *http.Client) (int, error) {
	return me(t, hc, e.emu.URL)
}

// secretsIn returns which of the given secrets appear in the logs.
func secretsIn(logs string, secrets map[string]bool) []string {
	var out []string
	for s := range secrets {
		if s != "" && strings.Contains(logs, s) {
			out = append(out, s[:min(6, len(s))]+"…")
		}
	}
	return out
}

// tokensOf adds the file's tokens to seen.
func tokensOf(t *testing.T, path string, seen map[string]bool) {
	t.Helper()
	tok, err := auth.NewStore(path, zerolog.Nop()).Load()
	if err == nil {
		seen[tok.AccessToken], seen[tok.RefreshToken] = true, true
	}
}

// TestOAuthRefreshRotation: 20 minutes of requests from three goroutines with 2-second access
// tokens: 600 rotations, every request authorised, the grant never refused (a refresh token
// spent twice would have revoked it), and the refreshes made at use, never early.
func TestOAuthRefreshRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lifetime, span, step = 2 * time.Second, 20 * time.Minute, 500 * time.Millisecond
		e := newMemEnv(t, lifetime)
		e.login(t)
		st := auth.NewStore(e.path, e.log)
		hc := &http.Client{Transport: e.transport(st)}
		seen := map[string]bool{}
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			requests int
		)
		start := time.Now()
		for range 3 {
			wg.Go(func() {
				for time.Since(start) < span {
					code, err := e.me(t, hc)
					if err != nil || code != http.StatusOK {
						t.Errorf("users/me at %v = %d, %v", time.Since(start), code, err)
						return
					}
					mu.Lock()
					requests++
					mu.Unlock()
					time.Sleep(step)
				}
			})
		}
		for time.Since(start) < span {
			tokensOf(t, e.path, seen)
			time.Sleep(10 * time.Second)
		}
		wg.Wait()
		g := e.emu.OAuth2Grants()
		if len(g) != 1 || g[0].Revoked != "" {
			t.Fatalf("grants = %+v, want one alive", g)
		}
		tok, err := st.Load()
		if err != nil {
			t.Fatal(err)
		}
		// Refreshed at the first request when less than a tenth of the 2 s is left: 1.8 s after
		// the last refresh, rounded up to the request cadence.
		due := lifetime - auth.RefreshMargin(lifetime)
		want := int(span / ((due + step - 1) / step * step))
		if g[0].Refreshes != tok.Refreshes || g[0].Refreshes < want-2 || g[0].Refreshes > want+2 {
			t.Errorf("refreshes: emulator %d, file %d; want both about %d", g[0].Refreshes, tok.Refreshes, want)
		}
		t.Logf("%d requests, %d refreshes over %v of 2 s tokens", requests, g[0].Refreshes, span)
		if leaked := secretsIn(e.logs.String(), seen); len(leaked) > 0 {
			t.Errorf("tokens in the debug log: %v", leaked)
		}
	})
}

// TestOAuthTwoTransportsOneFile: two Stores on one file (as two processes have) refresh under the
// file lock and re-read after taking it, so a refresh token is never spent twice.
func TestOAuthTwoTransportsOneFile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newMemEnv(t, 2*time.Second)
		e.login(t)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range 2 {
			hc := &http.Client{Transport: e.transport(auth.NewStore(e.path, e.log))}
			for range 3 {
				wg.Go(func() {
					for time.Since(start) < 3*time.Minute {
						if code, err := e.me(t, hc); err != nil || code != 200 {
							t.Errorf("transport %d: users/me = %d, %v", i, code, err)
							return
						}
						time.Sleep(150 * time.Millisecond)
					}
				})
			}
		}
		wg.Wait()
		g := e.emu.OAuth2Grants()
		if len(g) != 1 || g[0].Revoked != "" || g[0].Refreshes < 90 {
			t.Fatalf("grants = %+v, want one alive with about 100 refreshes", g)
		}
		refreshes := e.emu.Stats().Count("POST /2/oauth2/token", 200) - 1 // minus the login
		if refreshes != g[0].Refreshes {
			t.Errorf("token endpoint answered %d refreshes, grant counts %d", refreshes, g[0].Refreshes)
		}
	})
}

// TestOAuthTokenEndpointOutage: 503s and cut connections from the token endpoint keep the grant.
// Within the refresh margin the current token goes on being used; once it has expired, requests
// fail with a temporary *RefreshError until the endpoint is back, then the same grant refreshes.
func TestOAuthTokenEndpointOutage(t *testing.T) {
	for _, status := range []int{http.StatusServiceUnavailable, 0} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newMemEnv(t, 10*time.Second)
				first := e.login(t)
				st := auth.NewStore(e.path, e.log)
				hc := &http.Client{Transport: e.transport(st)}

				// Inside the margin (1 s before expiry): refresh fails, the current token is used.
				e.emu.SetOAuth2TokenFault(emulator.OAuth2TokenFault{Next: 2, Status: status})
				time.Sleep(9500 * time.Millisecond)
				if code, err := e.me(t, hc); err != nil || code != 200 {
					t.Fatalf("users/me in the margin during the outage = %d, %v; want 200 with the current token", code, err)
				}
				if tok, _ := st.Load(); tok.AccessToken != first.AccessToken {
					t.Errorf("the token changed during the outage")
				}

				// Expired: the request fails with a temporary error; the grant is kept.
				e.emu.SetOAuth2TokenFault(emulator.OAuth2TokenFault{Next: 100, Status: status})
				time.Sleep(time.Second)
				_, err := e.me(t, hc)
				var re *auth.RefreshError
				if !errors.As(err, &re) || auth.IsLoginRequired(err) {
					t.Fatalf("users/me after expiry during the outage = %v, want a *auth.RefreshError", err)
				}
				if tok, lerr := st.Load(); lerr != nil || tok.RefreshToken != first.RefreshToken || tok.Invalid != "" {
					t.Errorf("token file after failed refreshes = %v, %v; want the grant unchanged", tok, lerr)
				}

				// The endpoint recovers: the next request refreshes the same grant.
				e.emu.SetOAuth2TokenFault(emulator.OAuth2TokenFault{})
				time.Sleep(200 * time.Millisecond) // past the (capped, 100 ms) backoff
				if code, err := e.me(t, hc); err != nil || code != 200 {
					t.Fatalf("users/me after the outage = %d, %v", code, err)
				}
				if g := e.emu.OAuth2Grants(); len(g) != 1 || g[0].Revoked != "" || g[0].Refreshes != 1 {
					t.Errorf("grants = %+v, want the one grant refreshed once", g)
				}
			})
		})
	}
}

// TestOAuthOutageRetriedOnce: during a token-endpoint outage a request through the uploader is
// retried in one place. Before, the transport tried the refresh up to 3 times with its own backoff
// inside each RoundTrip and the uploader retried the RoundTrip up to 8 times: 24 token requests
// (23 measured: the transport's waits inside RoundTrip also tripped the uploader's 2-minute stall
// watchdog) over 10 minutes for one API request. Now each RoundTrip makes at most one token
// request, the uploader's attempts are the only loop (waiting for the Store's shared backoff
// between them), and the grant survives.
func TestOAuthOutageRetriedOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const attempts = 8 // the uploader's default MaxAttempts
		e := newMemEnv(t, 10*time.Second)
		first := e.login(t)
		st := auth.NewStore(e.path, e.log)
		// The defaults of both layers, as cmd wires them.
		hc := &http.Client{Transport: &auth.Transport{Store: st, Config: e.cfg, Base: e.emu.Transport()}}
		up := uploader.New(hc, uploader.Options{BaseURL: e.emu.URL, MaxAttempts: attempts})

		time.Sleep(11 * time.Second) // the access token has expired
		e.emu.SetOAuth2TokenFault(emulator.OAuth2TokenFault{Next: 1000, Status: http.StatusServiceUnavailable})
		before := e.emu.Stats().Count("POST /2/oauth2/token", 0)
		start := time.Now()
		_, err := up.VerifyCredentials(t.Context())
		calls := e.emu.Stats().Count("POST /2/oauth2/token", 0) - before
		t.Logf("one request during the outage: %d token requests over %v", calls, time.Since(start))
		var re *auth.RefreshError
		if !errors.As(err, &re) || auth.IsLoginRequired(err) || uploader.IsAuth(err) || uploader.IsPermanent(err) {
			t.Fatalf("VerifyCredentials during the outage = %v; want a temporary *auth.RefreshError", err)
		}
		if calls != attempts {
			// Fewer means attempts were spent inside the Store's backoff (RetryAt not waited for).
			t.Errorf("%d token requests for one API request; want %d, one per uploader attempt", calls, attempts)
		}
		if n := e.emu.Stats().Count("GET /2/users/me", 0); n != 0 {
			t.Errorf("%d users/me requests sent without a token", n)
		}

		e.emu.SetOAuth2TokenFault(emulator.OAuth2TokenFault{})
		time.Sleep(2 * time.Minute) // past the longest shared backoff
		if _, err := up.VerifyCredentials(t.Context()); err != nil {
			t.Fatalf("VerifyCredentials after the outage = %v", err)
		}
		if g := e.emu.OAuth2Grants(); len(g) != 1 || g[0].Revoked != "" || g[0].Refreshes != 1 {
			t.Errorf("grants = %+v, want the one grant refreshed once", g)
		}
		if tok, _ := st.Load(); tok == nil || tok.RefreshToken == first.RefreshToken {
			t.Errorf("token file after the outage = %v; want the refreshed pair", tok)
		}
	})
}

// TestOAuthInvalidGrantThenRelogin: a revoked grant makes requests fail with LoginRequired (the
// 401 forces a refresh, which is refused), recorded in the file so that later requests fail without
// calling the token endpoint; a new login is picked up by the running transport.
func TestOAuthInvalidGrantThenRelogin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newMemEnv(t, time.Hour)
		e.login(t)
		st := auth.NewStore(e.path, e.log)
		hc := &http.Client{Transport: e.transport(st)}
		if code, err := e.me(t, hc); err != nil || code != 200 {
			t.Fatalf("users/me = %d, %v", code, err)
		}
		e.emu.OAuth2RevokeAll()
		_, err := e.me(t, hc)
		var le *auth.LoginRequiredError
		if !errors.As(err, &le) || !le.LoginRequired() || !errors.Is(err, auth.ErrLoginRequired) || le.Reason != auth.ReasonRefused {
			t.Fatalf("users/me after revoke = %v, want a LoginRequiredError (refused)", err)
		}
		if !strings.Contains(err.Error(), "mediasync auth login") {
			t.Errorf("error %q does not say what to run", err)
		}
		tok, _ := auth.NewStore(e.path, zerolog.Nop()).Load()
		if tok == nil || tok.Invalid == "" || tok.RefreshToken != "" {
			t.Errorf("token file after the refusal = %v, want it marked invalid without tokens", tok)
		}
		calls := e.emu.Stats().Count("POST /2/oauth2/token", 0)
		for range 3 {
			if _, err := e.me(t, hc); !auth.IsLoginRequired(err) {
				t.Fatalf("users/me while logged out = %v, want LoginRequired", err)
			}
		}
		// A second transport (another process) stops too, without a token request.
		other := &http.Client{Transport: e.transport(auth.NewStore(e.path, e.log))}
		if _, err := e.me(t, other); !auth.IsLoginRequired(err) {
			t.Fatalf("second transport: %v, want LoginRequired", err)
		}
		if n := e.emu.Stats().Count("POST /2/oauth2/token", 0); n != calls {
			t.Errorf("token endpoint called %d more times while the grant was known dead", n-calls)
		}
		e.login(t) // `mediasync auth login` in another process
		if code, err := e.me(t, hc); err != nil || code != 200 {
			t.Fatalf("users/me after a new login = %d, %v; want 200 without a restart", code, err)
		}
	})
}

// TestOAuthRefreshAfter401: an access token the API refuses though it is not expired is refreshed
// once and the request (with its body) sent again.
func TestOAuthRefreshAfter401(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newMemEnv(t, time.Hour)
		e.login(t)
		st := auth.NewStore(e.path, e.log)
		// Make the stored access token one the server does not know (as after a server-side
		// invalidation), keeping the refresh token.
		data, err := os.ReadFile(e.path)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := st.Load()
		if err := os.WriteFile(e.path, bytes.Replace(data, []byte(tok.AccessToken), []byte("unknown-access-token"), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: e.transport(st)}
		req, _ := http.NewRequest(http.MethodPost, e.emu.URL+"/2/media/upload/initialize", strings.NewReader(`{"media_category":"tweet_image","media_type":"image/jpeg","total_bytes":1000}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("INIT after a refused token = %d, want 2xx after one refresh", resp.StatusCode)
		}
		if g := e.emu.OAuth2Grants(); g[0].Refreshes != 1 {
			t.Errorf("refreshes = %d, want 1", g[0].Refreshes)
		}
	})
}

// TestOAuthMissingScope: a grant without media.write gets X's 403 on the media endpoints.
func TestOAuthMissingScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newMemEnv(t, time.Hour)
		e.cfg.Scopes = []string{"tweet.read", "users.read", "offline.access"}
		e.login(t)
		hc := &http.Client{Transport: e.transport(auth.NewStore(e.path, e.log))}
		if code, _ := e.me(t, hc); code != 200 {
			t.Errorf("users/me = %d, want 200", code)
		}
		req, _ := http.NewRequest(http.MethodPost, e.emu.URL+"/2/media/upload/initialize", strings.NewReader(`{"media_category":"tweet_image","media_type":"image/jpeg","total_bytes":1000}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), `"title":"Forbidden"`) {
			t.Errorf("INIT without media.write = %d %s, want 403 Forbidden problem", resp.StatusCode, b)
		}
	})
}

func TestOAuthTokenFileMode(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	e.login(t)
	if err := os.Chmod(e.path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.NewStore(e.path, e.log).Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	fi, _ := os.Stat(e.path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode after Load = %04o, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(e.logs.String(), "changed to 0600") {
		t.Errorf("no warning about the repaired mode in the log:\n%s", e.logs.String())
	}
	if fi, err := os.Stat(auth.LockPath(e.path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}

func TestOAuthNoTokenFile(t *testing.T) {
	e := newEnv(t, time.Hour, "")
	hc := &http.Client{Transport: e.transport(auth.NewStore(e.path, e.log))}
	_, err := me(t, hc, e.emu.URL)
	var le *auth.LoginRequiredError
	if !errors.As(err, &le) || le.Reason != auth.ReasonNoToken || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("users/me without a token file = %v, want LoginRequired (no token)", err)
	}
}

// TestOAuthClientRefusedKeepsGrant: a wrong client secret makes the token endpoint refuse the
// client (invalid_client) before it looks at the grant: the error says to fix the client
// configuration, the refresh token stays in the file, no further token request is made for it, and
// a transport with the right secret refreshes the same grant.
func TestOAuthClientRefusedKeepsGrant(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newMemEnvSecret(t, 10*time.Second, "right-secret")
		first := e.login(t)
		bad := e.transport(auth.NewStore(e.path, e.log))
		bad.Config.ClientSecret = "wrong-secret"
		hc := &http.Client{Transport: bad}
		time.Sleep(10 * time.Second)
		_, err := e.me(t, hc)
		var le *auth.LoginRequiredError
		if !errors.As(err, &le) || le.Reason != auth.ReasonClient || !strings.Contains(err.Error(), "client_secret") {
			t.Fatalf("users/me with a wrong secret = %v, want LoginRequired (client)", err)
		}
		calls := e.emu.Stats().Count("POST /2/oauth2/token", 0)
		if _, err := e.me(t, hc); !auth.IsLoginRequired(err) || e.emu.Stats().Count("POST /2/oauth2/token", 0) != calls {
			t.Errorf("second request: %v, %d more token requests; want the same error without one", err, e.emu.Stats().Count("POST /2/oauth2/token", 0)-calls)
		}
		if tok, _ := auth.NewStore(e.path, zerolog.Nop()).Load(); tok == nil || tok.RefreshToken != first.RefreshToken || tok.Invalid != "" {
			t.Errorf("token file after the refused client = %v, want the grant untouched", tok)
		}
		good := &http.Client{Transport: e.transport(auth.NewStore(e.path, e.log))}
		if code, err := e.me(t, good); err != nil || code != 200 {
			t.Fatalf("users/me with the right secret = %d, %v", code, err)
		}
		if g := e.emu.OAuth2Grants(); g[0].Revoked != "" || g[0].Refreshes != 1 {
			t.Errorf("grant = %+v, want alive and refreshed once", g[0])
		}
	})
}
