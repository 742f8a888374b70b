package main

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

// loginScript runs `mediasync auth login --no-browser` as a subprocess, the way a script on a NAS
// would: it reads the printed authorization URL, opens it with a client that does not follow the
// redirect (a browser elsewhere, which cannot reach the callback), and pastes the address the
// browser ended on into the process's standard input. It fails the test unless the login exits 0.
func loginScript(t *testing.T, exe, cfg, logPath string) {
	t.Helper()
	cmd := exec.Command(exe, "--config", cfg, "auth", "login", "--no-browser")
	cmd.Env = agentEnv()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		pasted := false
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			fmt.Fprintln(logf, line)
			if pasted || !strings.HasPrefix(line, "http") || !strings.Contains(line, "/i/oauth2/authorize?") {
				continue
			}
			pasted = true
			c := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			resp, err := c.Get(line)
			if err != nil {
				fmt.Fprintf(logf, "browser: %v\n", err)
				break
			}
			resp.Body.Close()
			io.WriteString(stdin, resp.Header.Get("Location")+"\n")
		}
		io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	tm := time.NewTimer(time.Minute) // a guard against a hang
	defer tm.Stop()
	select {
	case err = <-done:
	case <-tm.C:
		cmd.Process.Kill()
		err = <-done
		t.Fatalf("auth login did not end within a minute:\n%s", tail(logPath, 20))
	}
	if err != nil {
		t.Fatalf("auth login: %v\n%s", err, tail(logPath, 20))
	}
}

// TestRunOAuth2ShortTokens is issue 11's "Done when" with a real `mediasync run` subprocess on
// api.auth oauth2 against the emulator with 3-second access tokens:
//
//   - `auth login --no-browser` completes from a script, and the token file is 0600;
//   - files dropped over a minute (about twenty expiries, every upload chunked) all upload with
//     none failed, while the agent is SIGKILLed at random moments and restarted (3 kills; more
//     with MEDIASYNC_OAUTH_KILLS=N). A grant lost in the one window auth/doc.go documents (the token
//     endpoint answered, the process died before the new pair was in the file: the emulator's
//     OAuth2Grant.LostAnswer) is counted and followed by a new login, as a user would; any other
//     loss fails the test. Each file is at X once;
//   - the grant revoked while the agent runs: the new files stay pending, one log line says to run
//     `mediasync auth login`, /healthz answers 503; a login in another process, and the running
//     agent resumes without a restart and uploads each of them once.
//
// No access or refresh token appears in any log (debug level).
func TestRunOAuth2ShortTokens(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the agent as a subprocess for over a minute")
	}
	t.Parallel() // its own emulator, ports and files; it mostly waits
	kills := 3
	if s := os.Getenv("MEDIASYNC_OAUTH_KILLS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("MEDIASYNC_OAUTH_KILLS=%q: want a number", s)
		}
		kills = n
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 11))
	t.Logf("seed %d, %d kills", seed, kills)

	exe := mediasyncExe(t)
	srv, redirect := oauthEmulator(t, 3*time.Second)
	base := t.TempDir()
	folder := mkdir(t, filepath.Join(base, "inbox"))
	tokenFile := filepath.Join(base, "state", "token.json")
	listen := freeAddr(t)
	cfg := writeAgentConfig(t, filepath.Join(base, "mediasync.yaml"), agentConfig{
		BaseURL: srv.URL, Auth: "oauth2", ClientID: testOAuth2ClientID, TokenFile: tokenFile, RedirectURL: redirect,
		Folder: folder, SimpleUploadMax: "0", HTTPListen: listen,
	})
	var logs []string
	newLog := func(name string) string {
		p := filepath.Join(base, fmt.Sprintf("%02d-%s.log", len(logs), name))
		logs = append(logs, p)
		return p
	}
	tokens := map[string]bool{} // every token the file held, to look for in the logs
	noteTokens := func() {
		if tok, err := auth.NewStore(tokenFile, zerolog.Nop()).Load(); err == nil {
			tokens[tok.AccessToken], tokens[tok.RefreshToken] = true, true
		}
	}
	logins := 1
	loginScript(t, exe, cfg, newLog("login"))
	noteTokens()
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file after auth login: %v, mode %v; want 0600", err, fi.Mode())
	}

	// A grant dead for another reason than the documented window fails the test; one lost in the
	// window is counted and replaced by a new login.
	windowLosses := 0
	checkGrant := func(when string) {
		t.Helper()
		g := srv.OAuth2Grants()
		cur := g[len(g)-1]
		if cur.Revoked == "" {
			return
		}
		if !cur.LostAnswer {
			t.Fatalf("%s: grant %d lost: %s, not in the kill window (OAuth2Grant %+v)", when, cur.ID, cur.Revoked, cur)
		}
		windowLosses++
		t.Logf("%s: grant %d lost in the answer-to-rename window; logging in again", when, cur.ID)
		loginScript(t, exe, cfg, newLog("relogin"))
		logins++
		noteTokens()
	}

	// Twenty files over a minute, one every three seconds (one token lifetime); kills at random
	// moments of that minute, each followed by a restart.
	type file struct {
		rel, sha string
	}
	var files []file
	const drops, every = 20, 3 * time.Second
	killAt := make([]time.Duration, kills)
	for i := range killAt {
		killAt[i] = time.Duration(rng.Int64N(int64(drops * every)))
	}
	sort.Slice(killAt, func(i, j int) bool { return killAt[i] < killAt[j] })
	start := time.Now()
	pr := startProc(t, exe, newLog("run"), agentEnv(), "run", "--config", cfg)
	killed := 0
	for i := range drops {
		var data []byte
		rel := fmt.Sprintf("f%02d.jpg", i)
		switch i % 4 {
		case 3:
			rel, data = fmt.Sprintf("f%02d.mp4", i), mediagen.MP4(int64(2<<20+rng.IntN(2<<20)), int64(i)) // 3 or 4 segments
		default:
			data = mediagen.JPEG(480+rng.IntN(200), 360, int64(i))
		}
		put(t, folder, rel, data)
		files = append(files, file{rel, sha256Hex(data)})
		next := start.Add(time.Duration(i+1) * every)
		for killed < len(killAt) && start.Add(killAt[killed]).Before(next) {
			time.Sleep(time.Until(start.Add(killAt[killed]))) // the kill's moment is the chaos, not synchronisation
			if pr.exited() {
				t.Fatalf("the agent exited on its own: %v\n%s", pr.err, tail(pr.log, 30))
			}
			pr.kill(t)
			killed++
			noteTokens()
			checkGrant(fmt.Sprintf("after kill %d", killed))
			pr = startProc(t, exe, newLog("run"), agentEnv(), "run", "--config", cfg)
		}
		time.Sleep(time.Until(next)) // the pace of the drops: one per token lifetime
		noteTokens()
		checkGrant(fmt.Sprintf("after drop %d", i+1))
	}
	rels := make([]string, len(files))
	for i, f := range files {
		rels[i] = f.rel
	}
	untilProc(t, pr, "every file dropped over the minute uploaded", 3*time.Minute, func() bool {
		noteTokens()
		checkGrant("waiting for the uploads")
		return uploaded(folder, rels...)
	}, describeEntries(folder))
	dropped := time.Since(start)

	// The grant revoked while the agent runs: a login is required.
	revokedAt := len(logRecords(t, "mediasync auth login", logs...))
	if n := srv.OAuth2RevokeAll(); n != 1 {
		t.Fatalf("revoked %d grants, want the 1 alive", n)
	}
	late := []file{}
	for i := range 3 {
		data := mediagen.JPEG(400, 300, int64(100+i))
		rel := fmt.Sprintf("late-%d.jpg", i)
		put(t, folder, rel, data)
		late = append(late, file{rel, sha256Hex(data)})
	}
	healthz := "http://" + listen + "/healthz"
	untilProc(t, pr, "the login-required pause: its log line and /healthz 503", time.Minute, func() bool {
		code, _ := httpGet(healthz)
		return len(logRecords(t, "mediasync auth login", logs...)) > revokedAt && code == http.StatusServiceUnavailable
	})
	code, body := httpGet(healthz)
	if !strings.Contains(body, "mediasync auth login") {
		t.Errorf("/healthz = %d %q; want 503 saying to run mediasync auth login", code, body)
	}
	for _, f := range late {
		if e, ok := entries(folder)[f.rel]; ok && (e.State == manifest.Uploaded || e.State == manifest.Failed || e.State == manifest.Skipped) {
			t.Errorf("%s is %s while a login is required; want it pending", f.rel, e.State)
		}
	}
	loginScript(t, exe, cfg, newLog("relogin"))
	logins++
	noteTokens()
	untilProc(t, pr, "the running agent resumed and uploaded the files after the login", time.Minute, func() bool {
		code, _ := httpGet(healthz)
		return uploaded(folder, "late-0.jpg", "late-1.jpg", "late-2.jpg") && code == http.StatusOK
	}, describeEntries(folder))
	if recs := logRecords(t, "mediasync auth login", logs...); len(recs) != revokedAt+1 {
		var b strings.Builder
		for _, r := range recs[revokedAt:] {
			b.WriteString(r.Raw + "\n")
		}
		t.Errorf("%d log lines said to run mediasync auth login for the one revocation, want 1:\n%s", len(recs)-revokedAt, b.String())
	}
	if len(logRecords(t, "X accepts the account again", pr.log)) == 0 {
		t.Errorf("the agent did not say it resumed:\n%s", tail(pr.log, 30))
	}
	if code := pr.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("SIGTERM: exit %d, want 0", code)
	}

	// Each file at X once, with its bytes; nothing failed; no token in any log.
	bySHA := map[string]int{}
	for _, mi := range srv.Media() {
		if mi.SHA256 != "" {
			bySHA[mi.SHA256]++
		}
	}
	es := entries(folder)
	for _, f := range append(files, late...) {
		if e := es[f.rel]; e.State != manifest.Uploaded || e.SHA256 != f.sha || bySHA[f.sha] != 1 {
			t.Errorf("%s: %s, sha256 match %v, %d media at X with its bytes; want uploaded once", f.rel, e.State, e.SHA256 == f.sha, bySHA[f.sha])
		}
	}
	if failed := logRecords(t, "upload failed", logs...); len(failed) > 0 {
		t.Errorf("%d upload failures, want none; first: %s", len(failed), failed[0].Raw)
	}
	delete(tokens, "")
	for _, lp := range logs {
		b, _ := os.ReadFile(lp)
		for tok := range tokens {
			if strings.Contains(string(b), tok) {
				t.Errorf("%s shows a token", filepath.Base(lp))
				break
			}
		}
	}
	if fi, err := os.Stat(tokenFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file at the end: %v, mode %v; want 0600", err, fi.Mode())
	}
	checkLogs(t, logs...)
	refreshes := 0
	for _, g := range srv.OAuth2Grants() {
		refreshes += g.Refreshes
	}
	t.Logf("oauth2 result: files=%d over %v, token lifetime 3s, refreshes=%d, kills=%d, grants=%d, lost_in_window=%d, logins=%d (1 + relogins after window losses + 1 after the revocation), seed=%d",
		len(files)+len(late), dropped.Round(time.Second), refreshes, killed, len(srv.OAuth2Grants()), windowLosses, logins, seed)
}
