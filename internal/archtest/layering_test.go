package archtest

import (
	"encoding/json"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/mediasync/mediasync"

// allowed lists, for each top-level package, the project packages its non-test code may import.
// Subpackages count as their parent (emulator/emulatortest is test support and may use emulator).
var allowed = map[string][]string{
	"agent":    {"watcher", "uploader", "manifest", "alttext", "internal", "hook", "fit"},
	"watcher":  {},
	"uploader": {"internal"},
	"manifest": {"internal"},
	"config":   {"uploader"}, // X's limits live in the uploader (one home per fact)
	"emulator": {},
	"alttext":  {},
	"auth":     {"internal"},
	"fit":      {"internal"},
	"internal": {},
	"cmd":      {"agent", "auth", "config", "emulator", "uploader", "manifest", "watcher", "alttext", "internal", "metrics", "web", "hook", "notify", "fit"},
	"metrics":  {"agent"},
	// web defines the Backend it needs; cmd adapts the agent to it, so web never imports agent.
	"web":      {"manifest", "internal"},
	"bench":    {"uploader", "emulator", "internal", "watcher", "manifest", "fit"},
	"contrib":  {},
	"examples": {},
	"hook":     {"manifest", "internal"},
	"notify":   {"hook"},
}

// forbidden lists modules a package's non-test code must not import although its layer would allow
// them. The emulator verifies OAuth 1.0a signatures with its own code: a test where the same library
// signs and verifies proves nothing (emulatortest, test support, may use the client's library).
var forbidden = map[string][]string{
	module + "/emulator": {"github.com/dghubble/oauth1"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func TestLayering(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	n := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		from := top(p.ImportPath)
		ok, known := allowed[from]
		if !known {
			t.Errorf("package %s: top-level directory %q has no layering rule; add one to allowed", p.ImportPath, from)
			continue
		}
		for _, imp := range p.Imports {
			for _, bad := range forbidden[p.ImportPath] {
				if imp == bad || strings.HasPrefix(imp, bad+"/") {
					t.Errorf("%s imports %s, which it must not", p.ImportPath, imp)
				}
			}
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := top(imp)
			if to == from || contains(ok, to) {
				continue
			}
			t.Errorf("%s imports %s: %s may not depend on %s (STYLE.md §C.1)", p.ImportPath, imp, from, to)
		}
	}
	if n < 5 {
		t.Fatalf("go list found only %d packages", n)
	}
}

func top(path string) string {
	rest := strings.TrimPrefix(path, module+"/")
	first, _, _ := strings.Cut(rest, "/")
	return first
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
