package auth_test

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/emulator/emulatortest"
	"github.com/mediasync/mediasync/internal/testsupport"
)

const testClientID = "test-client-id"

// env is an emulator with OAuth 2.0 on, a client config for it and a token file.
type env struct {
	emu  *emulatortest.Server
	cfg  auth.Config
	path string
	logs *testsupport.Buffer
	log  zerolog.Logger
}

// freePort returns a loopback port that was free a moment ago, for a redirect URI.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newEnv(t *testing.T, lifetime time.Duration, secret string) *env {
	t.Helper()
	redirect := "http://127.0.0.1:" + strconv.Itoa(freePort(t)) + "/callback"
	return newEnvOn(t, emulatortest.NewServer, lifetime, secret, redirect, t.TempDir()+"/mediasync/token.json")
}

// newEnvOn is an env on the emulator start gives (on loopback, or in memory for synctest).
func newEnvOn(t *testing.T, start func(testing.TB, emulator.Options) *emulatortest.Server, lifetime time.Duration,
	secret, redirect, path string) *env {
	t.Helper()
	logs := &testsupport.Buffer{}
	emu := start(t, emulator.Options{
		OAuth2: emulator.OAuth2Options{ClientID: testClientID, ClientSecret: secret, RedirectURL: redirect, TokenLifetime: lifetime},
		Faults: emulator.Faults{RateLimit: 1 << 30}, // users/me allows 75 per 15 minutes; these tests make thousands
		Log:    zerolog.New(logs).Level(zerolog.DebugLevel),
	})
	a, tk, rv := auth.Endpoints(emu.URL)
	return &env{
		emu:  emu,
		cfg:  auth.Config{ClientID: testClientID, ClientSecret: secret, AuthURL: a, TokenURL: tk, RevokeURL: rv, RedirectURL: redirect},
		path: path,
		logs: logs,
		log:  zerolog.New(logs).Level(zerolog.DebugLevel),
	}
}

// browser is what a user's browser does with the authorization URL: follow the redirects,
// ending at the loopback callback.
func browser(t *testing.T) func(ctx context.Context, u string) error {
	return func(ctx context.Context, u string) error {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Logf("browser: %v", err)
				return
			}
			resp.Body.Close()
		}()
		return nil
	}
}

// login logs in through the loopback flow and returns the store.
func (e *env) login(t *testing.T) *auth.Store {
	t.Helper()
	st := auth.NewStore(e.path, e.log)
	if _, err := auth.Login(t.Context(), e.cfg, st, auth.LoginOptions{OpenBrowser: browser(t), Timeout: time.Minute}); err != nil {
		t.Fatalf("Login: %v", err)
	}
	return st
}

func (e *env) transport(st *auth.Store) *auth.Transport {
	return &auth.Transport{Store: st, Config: e.cfg, RefreshBackoff: 5 * time.Millisecond, MaxRefreshBackoff: 50 * time.Millisecond}
}

// me calls GET /2/users/me through hc and returns the status code.
func me(t *testing.T, hc *http.Client, base string) (int, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/2/users/me", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// grant returns the emulator's only grant.
func (e *env) grants(t *testing.T) []emulator.OAuth2Grant {
	t.Helper()
	return e.emu.OAuth2Grants()
}
