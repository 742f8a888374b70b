package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/spf13/pflag"
)

// TestEmulateCommand runs `mediasync emulate` as a user would: it prints its URL, applies the fault
// flags, serves the admin API, does not print custom secrets, and stops with exit 0 on SIGTERM.
func TestEmulateCommand(t *testing.T) {
	cmd := exec.Command(mediasyncExe(t), "emulate", "--listen", "127.0.0.1:0",
		"--consumer-key", "ck", "--consumer-secret", "custom-consumer-secret",
		"--access-token", "at", "--access-token-secret", "custom-token-secret",
		"--latency", "5ms", "--processing-time", "250ms", "--seed", "7", "--credits-depleted", "--missing-scope", "--edge-body-limit", "5MiB",
		"--omit-check-after", "--stuck-with-error", "--daily-app-limit", "9", "--daily-user-limit", "8", "--daily-window", "2m")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	urlc := make(chan string, 1)
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if m := regexp.MustCompile(`listening on (http://\S+)`).FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
		close(urlc)
	}()
	var url string
	select {
	case url = <-urlc:
	case <-time.After(30 * time.Second):
		t.Fatalf("no URL printed; stderr:\n%s", stderr.String())
	}
	resp, err := http.Get(url + "/_emulator/faults")
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]any
	json.NewDecoder(resp.Body).Decode(&f)
	resp.Body.Close()
	if f["latency"] != "5ms" || f["processing_time"] != "250ms" || f["seed"] != float64(7) ||
		f["credits_depleted"] != true || f["missing_scope"] != true || f["client_forbidden"] != false || f["edge_body_limit"] != float64(5<<20) ||
		f["omit_check_after"] != true || f["stuck_with_error"] != true || f["daily_app_limit"] != float64(9) ||
		f["daily_user_limit"] != float64(8) || f["daily_window"] != "2m0s" {
		t.Errorf("faults = %v; want the flags' values", f)
	}
	// A v2 request without credentials is refused as X does: 401 with a plain problem, no code.
	resp, err = http.Post(url+"/2/media/upload/initialize", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`; resp.StatusCode != http.StatusUnauthorized || string(body) != want {
		t.Errorf("request without credentials: %d %s, want 401 %s", resp.StatusCode, body, want)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("emulate after SIGTERM: %v\n%s", err, stderr.String())
	}
	for range urlc {
	}
	for _, secret := range []string{"custom-consumer-secret", "custom-token-secret"} {
		if strings.Contains(out.String()+stderr.String(), secret) {
			t.Errorf("emulate printed the secret %q", secret)
		}
	}
	// Secrets given as flags are visible in ps: a warning names each flag (never its value).
	for _, flag := range []string{"--consumer-secret", "--access-token-secret"} {
		if !regexp.MustCompile(`secret given on the command line.*"flag":"` + flag + `"|flag=` + flag + `.*|` + flag + `.*secret given on the command line`).MatchString(stderr.String()) {
			t.Errorf("no warning about %s on stderr:\n%s", flag, stderr.String())
		}
	}
	if strings.Contains(stderr.String(), "--bearer-token") {
		t.Errorf("warned about --bearer-token, which was not given:\n%s", stderr.String())
	}
}

// startEmulate starts `mediasync emulate` on a random port and returns its base URL, the process
// and its log (stdout and stderr).
func startEmulate(t *testing.T, env []string, args ...string) (string, *proc, string) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "emulate.log")
	p := startProc(t, mediasyncExe(t), logPath, env, append([]string{"emulate", "--listen", "127.0.0.1:0"}, args...)...)
	re := regexp.MustCompile(`listening on (http://\S+)`)
	deadline := time.Now().Add(time.Minute) // a failure guard only
	for {
		b, _ := os.ReadFile(logPath)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1]), p, logPath
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("emulate did not start; output:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

// TestEmulateCredentialsFile: --credentials-file (YAML, the block the demo prints) supplies the
// secrets, ahead of MEDIASYNC_EMULATOR_* variables and behind flags; requests signed with them
// are accepted; nothing is warned about a private file and no secret is printed. A file others
// can read is warned about; a malformed one is a usage error that does not echo its values.
func TestEmulateCredentialsFile(t *testing.T) {
	creds := testSecrets(t, "file")
	creds.AppBearerToken = secretMarker + "-appbearer-file"
	dir := t.TempDir()
	file := filepath.Join(dir, "creds.yaml")
	body := fmt.Sprintf("consumer_key: %s\nconsumer_secret: %s\naccess_token: %s\naccess_token_secret: %s\nbearer_token: %s\napp_bearer_token: %s\n",
		creds.ConsumerKey, creds.ConsumerSecret, creds.AccessToken, creds.AccessTokenSecret, creds.BearerToken, creds.AppBearerToken)
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	// The variable loses to the file; the flag wins over both.
	env := agentEnv("MEDIASYNC_EMULATOR_CONSUMER_SECRET="+secretMarker+"-from-env", "MEDIASYNC_EMULATOR_ACCESS_TOKEN=4242-env")
	url, p, logPath := startEmulate(t, env, "--credentials-file", file, "--consumer-key", creds.ConsumerKey)

	signed := oauth1.NewConfig(creds.ConsumerKey, creds.ConsumerSecret).Client(t.Context(), oauth1.NewToken(creds.AccessToken, creds.AccessTokenSecret))
	get := func(hc *http.Client, bearer string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/2/users/me", nil)
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	if code, b := get(signed, ""); code != 200 {
		t.Errorf("OAuth 1.0a with the file's credentials = %d %s", code, b)
	}
	if code, b := get(http.DefaultClient, creds.BearerToken); code != 200 {
		t.Errorf("the file's bearer token = %d %s", code, b)
	}
	if code, _ := get(http.DefaultClient, creds.AppBearerToken); code != 403 {
		t.Errorf("the file's app-only bearer token = %d, want 403", code)
	}
	if code := p.stop(t, syscall.SIGTERM, time.Minute); code != 0 {
		t.Errorf("emulate: SIGTERM gave exit %d", code)
	}
	out, _ := os.ReadFile(logPath)
	if l := leaks(string(out), secretValues(creds)); len(l) > 0 {
		t.Errorf("emulate printed secrets %q:\n%s", l, out)
	}
	for _, unwanted := range []string{"demo credentials", "command line", "readable by other users"} {
		if strings.Contains(string(out), unwanted) {
			t.Errorf("output says %q:\n%s", unwanted, out)
		}
	}

	// A file others can read works, with a warning.
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	_, p, logPath = startEmulate(t, agentEnv(), "--credentials-file", file)
	p.stop(t, syscall.SIGTERM, time.Minute)
	if out, _ := os.ReadFile(logPath); !strings.Contains(string(out), "readable by other users") {
		t.Errorf("no warning about a world-readable credentials file:\n%s", out)
	}

	// A malformed file (KEY=VALUE lines, an unknown key) is refused without echoing a value.
	for name, text := range map[string]string{
		"key=value":    "MEDIASYNC_EMULATOR_CONSUMER_SECRET=" + creds.ConsumerSecret + "\n",
		"unknown key":  "consumer_secrett: " + creds.ConsumerSecret + "\n",
		"not a string": "consumer_secret: [" + creds.ConsumerSecret + "]\n",
	} {
		bad := filepath.Join(dir, "bad.yaml")
		os.WriteFile(bad, []byte(text), 0o600)
		code, stdout, stderr := runCLI(t, mediasyncExe(t), agentEnv(), time.Minute, "emulate", "--listen", "127.0.0.1:0", "--credentials-file", bad)
		if code != exitUsage || !strings.Contains(stderr, "credentials-file") {
			t.Errorf("%s: exit %d, stderr %s; want a usage error naming --credentials-file", name, code, stderr)
		}
		if l := leaks(stdout+stderr, secretValues(creds)); len(l) > 0 {
			t.Errorf("%s: the error echoes secrets %q: %s", name, l, stderr)
		}
	}
}

// TestEmulateHelpWarnsAboutPs: --help says where secrets belong and that flags show up in ps.
func TestEmulateHelpWarnsAboutPs(t *testing.T) {
	code, stdout, _ := runCLI(t, mediasyncExe(t), agentEnv(), time.Minute, "emulate", "--help")
	for _, want := range []string{"'ps'", "--credentials-file", "MEDIASYNC_EMULATOR_", "app_bearer_token:"} {
		if code != 0 || !strings.Contains(stdout, want) {
			t.Errorf("emulate --help (exit %d) lacks %q:\n%s", code, want, stdout)
		}
	}
}

// Every emulate flag that carries a secret (its name says "secret" or is a bearer token) is one
// the command warns about when given.
func TestEmulateSecretFlagsListed(t *testing.T) {
	cmd := (&app{}).emulateCmd()
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		secret := strings.Contains(f.Name, "secret") || strings.HasSuffix(f.Name, "bearer-token")
		if secret != slices.Contains(secretEmulatorFlags, f.Name) {
			t.Errorf("--%s: carries a secret %v, in secretEmulatorFlags %v", f.Name, secret, !secret)
		}
	})
}
