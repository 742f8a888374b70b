package auth_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/internal/testsupport"
)

// Environment of the helper process (TestAuthHelperProcess).
const (
	helperEnv = "MEDIASYNC_AUTH_HELPER" // "loop": make requests until killed or AUTH_HELPER_FOR passes
)

// TestAuthHelperProcess is not a test: it is the other process of the subprocess tests. It makes
// GET /2/users/me requests through an auth.Transport on AUTH_HELPER_FILE in a loop, logging at
// debug level to stderr, printing "ok N" lines, and exits 3 on LoginRequired.
func TestAuthHelperProcess(t *testing.T) {
	if os.Getenv(helperEnv) != "loop" {
		return
	}
	emu, path := os.Getenv("AUTH_HELPER_EMU"), os.Getenv("AUTH_HELPER_FILE")
	a, tk, rv := auth.Endpoints(emu)
	cfg := auth.Config{ClientID: testClientID, ClientSecret: os.Getenv("AUTH_HELPER_SECRET"), AuthURL: a, TokenURL: tk, RevokeURL: rv}
	log := zerolog.New(os.Stderr).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	tr := &auth.Transport{Store: auth.NewStore(path, log), Config: cfg, RefreshBackoff: 5 * time.Millisecond, MaxRefreshBackoff: 50 * time.Millisecond}
	hc := &http.Client{Transport: tr}
	var until time.Time
	if d, err := time.ParseDuration(os.Getenv("AUTH_HELPER_FOR")); err == nil {
		until = time.Now().Add(d)
	}
	for n := 1; until.IsZero() || time.Now().Before(until); n++ {
		resp, err := hc.Get(emu + "/2/users/me")
		switch {
		case auth.IsLoginRequired(err):
			fmt.Println("login-required")
			os.Exit(3)
		case err != nil:
			fmt.Println("error", err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			fmt.Println("status", resp.StatusCode)
			os.Exit(4)
		}
		fmt.Println("ok", n)
		time.Sleep(5 * time.Millisecond)
	}
	os.Exit(0)
}

// helper starts the helper process; its stdout lines arrive on the returned channel (closed at
// exit), its stderr goes to logs.
func helper(t *testing.T, e *env, runFor string, logs *testsupport.Buffer) (*exec.Cmd, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestAuthHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=loop", "AUTH_HELPER_EMU="+e.emu.URL, "AUTH_HELPER_FILE="+e.path,
		"AUTH_HELPER_SECRET="+e.cfg.ClientSecret, "AUTH_HELPER_FOR="+runFor)
	cmd.Stderr = logs
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // the test stopped listening
			}
		}
	}()
	return cmd, lines
}

// TestOAuthSubprocessSharedFile: this process and a helper process make requests through one token
// file with 1-second access tokens for a few seconds; neither ever spends a refresh token the other
// spent (the emulator would revoke the grant), and both keep working.
func TestOAuthSubprocessSharedFile(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes for seconds")
	}
	e := newEnv(t, time.Second, "")
	e.login(t)
	logs := &testsupport.Buffer{}
	cmd, lines := helper(t, e, "4s", logs)
	hc := &http.Client{Transport: e.transport(auth.NewStore(e.path, e.log))}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for start := time.Now(); time.Since(start) < 4*time.Second; {
				if code, err := me(t, hc, e.emu.URL); err != nil || code != 200 {
					t.Errorf("users/me here = %d, %v", code, err)
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	var last string
	for l := range lines {
		last = l
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v (last line %q)\n%s", err, last, logs.String())
	}
	g := e.emu.OAuth2Grants()
	if len(g) != 1 || g[0].Revoked != "" || g[0].Refreshes < 3 {
		t.Fatalf("grants = %+v, want one alive, refreshed a few times", g)
	}
	t.Logf("two processes, %d refreshes, helper's last line %q", g[0].Refreshes, last)
}

// TestOAuthSubprocessKill kills helper processes with SIGKILL at random moments, half of them aimed
// at the refresh (the file's expiry minus the refresh margin, ± 30 ms), each followed by the next
// process on the same file, for many kills within a bounded time. The grant must never be lost,
// except in the one window no client can close: the token endpoint answered and the process died
// before the new pair reached the file (X's refresh tokens are single use). The emulator tells
// those apart (OAuth2Grant.LostAnswer: the reused token was the one just before the current pair,
// and that pair was never used); any other loss fails the test. Tokens and the client secret must
// not appear in the helpers' debug logs.
func TestOAuthSubprocessKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills processes for seconds")
	}
	const secret = "kill-test-client-secret"
	e := newEnv(t, time.Second, secret)
	e.login(t)
	logs := &testsupport.Buffer{}
	seen := map[string]bool{secret: true}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	var kills, aimed, windowLosses, exits int
	deadline := time.Now().Add(25 * time.Second)
	for kills < 30 && time.Now().Before(deadline) {
		tokensOf(t, e.path, seen)
		cmd, lines := helper(t, e, "", logs)
		// Wait for the first answer, so that the kill lands in the request loop.
		first, ok := <-lines
		var delay time.Duration
		if tok, err := auth.NewStore(e.path, zerolog.Nop()).Load(); err == nil && rng.IntN(2) == 0 {
			at := tok.Expiry.Add(-auth.RefreshMargin(tok.Lifetime()) + time.Duration(rng.IntN(60)-30)*time.Millisecond)
			delay = max(0, time.Until(at))
			aimed++
		} else {
			delay = time.Duration(rng.IntN(1200)) * time.Millisecond
		}
		exited := !ok || first == "login-required"
		if !exited {
			timer := time.NewTimer(delay)
		wait:
			for {
				select {
				case <-timer.C:
					break wait
				case l, ok := <-lines:
					if !ok || l == "login-required" {
						exited = true
						timer.Stop()
						break wait
					}
				}
			}
		}
		if !exited {
			cmd.Process.Signal(syscall.SIGKILL)
			kills++
		} else {
			exits++
		}
		for range lines {
		}
		cmd.Wait()
		g := e.emu.OAuth2Grants()
		cur := g[len(g)-1]
		if cur.Revoked != "" {
			if !cur.LostAnswer {
				t.Fatalf("grant %d lost after %d kills: %s, not a lost answer\n%s", cur.ID, kills, cur.Revoked, tail(logs.String(), 3000))
			}
			windowLosses++
			t.Logf("grant %d lost in the answer-to-rename window (kill %d); logging in again", cur.ID, kills)
			e.login(t)
		}
	}
	// The survivor: a process that runs to the end on the same file. It is also the first to use
	// the pair the last kill left: if that kill landed in the window, the survivor finds the grant
	// lost (a lost answer, like any other in the loop), and runs again after a new login.
	var n int
	for attempt := 0; ; attempt++ {
		cmd, lines := helper(t, e, "1500ms", logs)
		n = 0
		for l := range lines {
			if strings.HasPrefix(l, "ok") {
				n++
			}
		}
		err := cmd.Wait()
		if err == nil {
			break
		}
		g := e.emu.OAuth2Grants()
		if cur := g[len(g)-1]; attempt == 0 && cur.Revoked != "" && cur.LostAnswer {
			windowLosses++
			t.Logf("grant %d lost in the answer-to-rename window (the last kill); logging in again", cur.ID)
			e.login(t)
			continue
		}
		t.Fatalf("last helper: %v\n%s", err, tail(logs.String(), 3000))
	}
	tokensOf(t, e.path, seen)
	g := e.emu.OAuth2Grants()
	refreshes := 0
	for _, x := range g {
		refreshes += x.Refreshes
	}
	t.Logf("%d kills (%d aimed at a refresh), %d helpers ended by a lost grant, %d refreshes, %d grants, %d lost in the unavoidable window; last helper made %d requests",
		kills, aimed, exits, refreshes, len(g), windowLosses, n)
	if kills < 10 {
		t.Errorf("only %d kills in the time allowed", kills)
	}
	if g[len(g)-1].Revoked != "" || n == 0 {
		t.Errorf("the last grant is not alive (%+v) or the last helper made no request", g[len(g)-1])
	}
	if leaked := secretsIn(logs.String(), seen); len(leaked) > 0 {
		t.Errorf("secrets in the helpers' debug logs: %v", leaked)
	}
	if !strings.Contains(logs.String(), "oauth2 token refreshed") {
		t.Errorf("the helpers' debug logs show no refresh; is debug logging on?")
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
