package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/mediagen"
)

// TestReadmeCommands clones the repository as a newcomer would and runs the README's two commands
// for a fresh machine: the demo (it must upload its sample, then a JPEG dropped into the inbox, and
// stop cleanly on Ctrl-C), and the test command, run as written but on one fast package (running the
// whole suite again from inside itself would only double CI time).
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("clones the repository and builds it")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	demoCmd, testCmd := readmeCommands(t, string(readme))
	if demoCmd != "go run ./cmd/mediasync demo" {
		t.Fatalf("README's demo command is %q", demoCmd)
	}
	if !strings.Contains(testCmd, "go test") {
		t.Fatalf("README's test command is %q", testCmd)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("not a git checkout: nothing to clone")
	}
	clone := filepath.Join(t.TempDir(), "mediasync")
	if out, err := exec.Command("git", "clone", "--quiet", "--no-hardlinks", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}

	t.Run("demo", func(t *testing.T) { runDemo(t, clone, demoCmd) })
	t.Run("tests", func(t *testing.T) {
		// The README's command as a shell runs it, its `go test` narrowed to one fast package: the
		// same vet of every package, flags (-race) and toolchain, without running the whole suite
		// again from inside itself.
		command := narrowTestCommand(t, testCmd, "./internal/backoff/")
		cmd := exec.Command("sh", "-c", command)
		cmd.Dir = clone
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s in a fresh clone: %v\n%s", command, err, out)
		}
		if !regexp.MustCompile(`(?m)^ok\s+github\.com/mediasync/mediasync/internal/backoff\s`).Match(out) {
			t.Errorf("%s ran no test:\n%s", command, out)
		}
	})
}

// narrowTestCommand returns command with the package pattern ./... of its `go test` replaced by pkg.
func narrowTestCommand(t *testing.T, command, pkg string) string {
	t.Helper()
	parts := strings.Split(command, "&&")
	narrowed := false
	for i, p := range parts {
		f := strings.Fields(p)
		if len(f) < 2 || f[0] != "go" || f[1] != "test" {
			continue
		}
		for j := range f {
			if f[j] == "./..." {
				f[j], narrowed = pkg, true
			}
		}
		parts[i] = " " + strings.Join(f, " ") + " "
	}
	if !narrowed {
		t.Fatalf("README's test command %q has no `go test ... ./...`", command)
	}
	return strings.TrimSpace(strings.Join(parts, "&&"))
}

// readmeCommands returns the demo and test commands from the README's "On a fresh machine" block.
func readmeCommands(t *testing.T, readme string) (demo, test string) {
	t.Helper()
	_, section, ok := strings.Cut(readme, "## On a fresh machine")
	if !ok {
		t.Fatal(`README has no "## On a fresh machine" section`)
	}
	block := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(section)
	if block == nil {
		t.Fatal("no sh block in the fresh-machine section")
	}
	for _, line := range strings.Split(block[1], "\n") {
		cmd, _, _ := strings.Cut(line, "#")
		cmd = strings.TrimSpace(cmd)
		switch {
		case strings.Contains(cmd, "mediasync demo"):
			demo = cmd
		case strings.Contains(cmd, "go test"):
			test = cmd
		}
	}
	return demo, test
}

func runDemo(t *testing.T, clone, command string) {
	args := strings.Fields(command)
	dir := filepath.Join(t.TempDir(), "demo")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, args[0], append(args[1:], "--dir", dir)...)
	cmd.Dir = clone
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches go run and the demo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	})
	var seen []string
	waitFor := func(re string) {
		t.Helper()
		rx := regexp.MustCompile(re)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("demo ended before %q; output:\n%s\nstderr:\n%s", re, strings.Join(seen, "\n"), stderr.String())
				}
				seen = append(seen, l)
				if rx.MatchString(l) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %q in time; output:\n%s\nstderr:\n%s", re, strings.Join(seen, "\n"), stderr.String())
			}
		}
	}
	waitFor(`uploads go to the built-in X API emulator at http://127\.0\.0\.1:\d+`)
	waitFor(`^uploaded sample-.*\.jpg .*media_id_string \d+`)
	waitFor(`"media_key": "3_\d+"`)

	// A JPEG the user drops in, written elsewhere then moved in, as a file manager does.
	tmp := filepath.Join(t.TempDir(), "mine.jpg")
	if err := os.WriteFile(tmp, mediagen.JPEG(800, 600, 42), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "inbox", "mine.jpg")); err != nil {
		t.Fatal(err)
	}
	waitFor(`^uploaded mine\.jpg .*media_id_string \d+`)

	// Ctrl-C: the demo must stop cleanly. (go run itself exits 1 when interrupted, whatever the
	// program did, so the demo's own word is what counts.)
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	waitFor(`^demo stopped`)
	for range lines {
	}
	wg.Wait()
	cmd.Wait()
	if strings.Contains(stderr.String(), "mediasync: ") || strings.Contains(stderr.String(), "panic") {
		t.Errorf("demo reported an error on Ctrl-C:\n%s", stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "inbox", ".mediasync", "manifest.json")); err != nil {
		t.Errorf("no manifest: %v", err)
	}
}
