package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
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
}
