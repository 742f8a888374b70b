package contrib

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case: FROM, RUN, …
	args string
}

// stage is one FROM and the instructions after it.
type stage struct {
	from, name string // image (with --platform stripped), AS name
	instrs     []instruction
}

// parseDockerfile splits a Dockerfile into instructions (Dockerfile reference: comments, parser
// directives, backslash continuation) and stages.
func parseDockerfile(data []byte) ([]stage, []instruction, error) {
	var all []instruction
	sc := bufio.NewScanner(bytes.NewReader(data))
	n := 0
	var cur *instruction
	for sc.Scan() {
		n++
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "#") {
			continue // comments, also inside continued instructions
		}
		if cur == nil {
			if line == "" {
				continue
			}
			cmd, args, _ := strings.Cut(line, " ")
			cur = &instruction{line: n, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)}
		} else {
			cur.args += " " + line
		}
		if strings.HasSuffix(cur.args, `\`) {
			cur.args = strings.TrimSpace(strings.TrimSuffix(cur.args, `\`))
			continue
		}
		all = append(all, *cur)
		cur = nil
	}
	if cur != nil {
		return nil, nil, fmt.Errorf("line %d: %s continues past the end of the file", cur.line, cur.cmd)
	}
	var stages []stage
	for _, in := range all {
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			f = slices.DeleteFunc(f, func(s string) bool { return strings.HasPrefix(s, "--platform=") })
			st := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				st.name = f[2]
			} else if len(f) != 1 {
				return nil, nil, fmt.Errorf("line %d: FROM %s", in.line, in.args)
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd != "ARG" {
				return nil, nil, fmt.Errorf("line %d: %s before the first FROM", in.line, in.cmd)
			}
			continue
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	return stages, all, sc.Err()
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instrs {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func TestDockerfile(t *testing.T) {
	const file = "docker/Dockerfile"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte("docker build")) {
		t.Errorf("%s: want a comment header with the build command", file)
	}
	stages, all, err := parseDockerfile(data)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(stages) < 2 {
		t.Fatalf("%s: %d stages, want a multi-stage build", file, len(stages))
	}
	known := []string{"FROM", "ARG", "WORKDIR", "COPY", "RUN", "ENV", "LABEL", "USER", "VOLUME", "STOPSIGNAL", "ENTRYPOINT", "CMD", "EXPOSE", "HEALTHCHECK"}
	names := map[string]bool{}
	for _, in := range all {
		if !slices.Contains(known, in.cmd) {
			t.Errorf("%s:%d: unknown instruction %s", file, in.line, in.cmd)
		}
		if in.cmd == "ADD" && regexp.MustCompile(`(?i)\bhttps?://|\bgit@`).MatchString(in.args) {
			t.Errorf("%s:%d: ADD of a URL: unpinned, unverified download", file, in.line)
		}
	}
	for _, st := range stages {
		for _, c := range st.find("COPY") {
			for f := range strings.FieldsSeq(c.args) {
				if from, ok := strings.CutPrefix(f, "--from="); ok && !names[from] {
					t.Errorf("%s:%d: COPY --from=%s names no earlier stage", file, c.line, from)
				}
			}
		}
		if st.name != "" {
			names[st.name] = true
		}
	}

	// The build stage: a static, reproducible binary with the version stamped in.
	var goBuild string
	for _, st := range stages[:len(stages)-1] {
		for _, r := range st.find("RUN") {
			if strings.Contains(r.args, "go build") {
				goBuild = r.args
			}
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/mediasync"} {
		if !strings.Contains(goBuild, want) {
			t.Errorf("%s: the go build step lacks %s: %q", file, want, goBuild)
		}
	}
	if !slices.ContainsFunc(all, func(in instruction) bool { return in.cmd == "ARG" && strings.HasPrefix(in.args, "VERSION=") }) {
		t.Errorf("%s: no ARG VERSION for -X main.version", file)
	}
	checkVersionVar(t)
	checkGoVersion(t, all)

	// The final stage: distroless or scratch, non-root, /data a volume, the documented entry point.
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("%s: final image %s, want gcr.io/distroless/static…:nonroot or scratch", file, final.from)
	}
	users := final.find("USER")
	if len(users) == 0 {
		t.Errorf("%s: final stage sets no USER", file)
	} else {
		u, _, _ := strings.Cut(users[len(users)-1].args, ":")
		if u == "" || u == "0" || u == "root" {
			t.Errorf("%s: final USER %q, want non-root", file, users[len(users)-1].args)
		}
	}
	var volumes []string
	for _, v := range final.find("VOLUME") {
		var list []string
		if err := json.Unmarshal([]byte(v.args), &list); err != nil {
			list = strings.Fields(v.args)
		}
		volumes = append(volumes, list...)
	}
	if !slices.Contains(volumes, "/data") {
		t.Errorf("%s: VOLUME %v, want /data", file, volumes)
	}
	eps := final.find("ENTRYPOINT")
	if len(eps) != 1 {
		t.Fatalf("%s: %d ENTRYPOINTs in the final stage, want 1", file, len(eps))
	}
	var ep []string
	if err := json.Unmarshal([]byte(eps[0].args), &ep); err != nil {
		t.Fatalf("%s: ENTRYPOINT is not the exec (JSON) form, so SIGTERM would go to a shell: %v", file, err)
	}
	if len(ep) != 4 || path.Base(ep[0]) != "mediasync" || !slices.Equal(ep[1:], []string{"run", "--config", "/config/config.yaml"}) {
		t.Errorf("%s: ENTRYPOINT %q, want [mediasync run --config /config/config.yaml]", file, ep)
	}
	if path.IsAbs(ep[0]) {
		// The binary must be copied to where the entry point looks.
		if !slices.ContainsFunc(final.find("COPY"), func(in instruction) bool { return strings.HasSuffix(in.args, " "+ep[0]) }) {
			t.Errorf("%s: nothing is copied to %s", file, ep[0])
		}
	}
}

// checkVersionVar makes sure the -X main.version target exists in cmd/mediasync: a string
// variable at package level of package main (a wrong name is silently ignored by the linker).
func checkVersionVar(t *testing.T) {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../cmd/mediasync/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no ../cmd/mediasync/*.go: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			continue // a file mid-edit by its owner; the others may still hold the variable
		}
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.VAR {
				continue
			}
			for _, s := range gd.Specs {
				for _, n := range s.(*ast.ValueSpec).Names {
					if n.Name == "version" && af.Name.Name == "main" {
						return
					}
				}
			}
		}
	}
	t.Errorf("-X main.version: no package-level var version in ../cmd/mediasync")
}

// checkGoVersion makes sure the builder's Go is at least the go directive of go.mod.
func checkGoVersion(t *testing.T, all []instruction) {
	t.Helper()
	mod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)(?:\.(\d+))?`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go directive")
	}
	var img string
	for _, in := range all {
		if v, ok := strings.CutPrefix(in.args, "GO_VERSION="); in.cmd == "ARG" && ok {
			img = v
		}
	}
	g := regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?$`).FindStringSubmatch(img)
	if g == nil {
		t.Fatalf("Dockerfile: ARG GO_VERSION=%q, want a Go version like 1.26.8", img)
	}
	if cmpVersion(g[1:], toStrings(m[1:])) < 0 {
		t.Errorf("Dockerfile: GO_VERSION %s is older than go.mod's go %s", img, bytes.Join(m[1:], []byte(".")))
	}
}

func toStrings(b [][]byte) []string {
	out := make([]string, len(b))
	for i, s := range b {
		out[i] = string(s)
	}
	return out
}

func cmpVersion(a, b []string) int {
	for i := range 3 {
		x, _ := strconv.Atoi(a[i])
		y, _ := strconv.Atoi(b[i])
		if x != y {
			return x - y
		}
	}
	return 0
}

func TestParseDockerfileRefuses(t *testing.T) {
	tests := []struct{ name, in string }{
		{"instruction before FROM", "RUN true\nFROM scratch\n"},
		{"dangling continuation", "FROM scratch\nRUN a \\\n"},
		{"bad FROM", "FROM a b c d\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := parseDockerfile([]byte(tt.in)); err == nil {
				t.Errorf("parseDockerfile(%q) = nil error, want one", tt.in)
			}
		})
	}
}

// ignored reports whether rel (slash-separated, relative to the context root) is excluded by the
// .dockerignore patterns: a pattern excludes a path when it matches it or one of its parent
// directories; "**/" at the start matches any number of directories. Exclusions ("!") are not
// supported and refused by the test.
func ignored(patterns []string, rel string) bool {
	parts := strings.Split(rel, "/")
	for _, p := range patterns {
		for i := 1; i <= len(parts); i++ {
			prefix := strings.Join(parts[:i], "/")
			if rest, ok := strings.CutPrefix(p, "**/"); ok {
				for j := range i {
					if m, _ := path.Match(rest, strings.Join(parts[j:i], "/")); m {
						return true
					}
				}
				continue
			}
			if m, _ := path.Match(p, prefix); m {
				return true
			}
		}
	}
	return false
}

func TestIgnored(t *testing.T) {
	pats := []string{".git", "**/testdata", "**/*_test.go", "bench"}
	tests := []struct {
		rel  string
		want bool
	}{
		{".git/config", true},
		{"agent/agent.go", false},
		{"agent/agent_test.go", true},
		{"emulator/testdata/x.json", true},
		{"testdata/x", true},
		{"bench/x.go", true},
		{"cmd/bench/x.go", false},
		{"go.mod", false},
	}
	for _, tt := range tests {
		if got := ignored(pats, tt.rel); got != tt.want {
			t.Errorf("ignored(%q) = %v, want %v", tt.rel, got, tt.want)
		}
	}
}

// TestDockerignore checks that the build context filter keeps every file `go build
// ./cmd/mediasync` reads (Go files and embedded files of the module's packages, go.mod, go.sum).
func TestDockerignore(t *testing.T) {
	data, err := os.ReadFile("docker/Dockerfile.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var pats []string
	for l := range strings.SplitSeq(string(data), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasPrefix(l, "!") {
			t.Fatalf("pattern %q: re-inclusion is not supported by this test's matcher", l)
		}
		pats = append(pats, strings.TrimPrefix(l, "/"))
	}
	if !ignored(pats, ".git/HEAD") {
		t.Error(".git is sent to the build context")
	}
	cmd := exec.CommandContext(t.Context(), "go", "list", "-e", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,EmbedFiles", "./cmd/mediasync")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	need := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p struct {
			Dir                           string
			Module                        *struct{ Path string }
			GoFiles, CgoFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if p.Module == nil || p.Module.Path != "github.com/mediasync/mediasync" {
			continue
		}
		rel, err := filepath.Rel(root, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.EmbedFiles) {
			need = append(need, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(need) < 10 {
		t.Fatalf("go list found only %v", need)
	}
	for _, f := range need {
		if ignored(pats, f) {
			t.Errorf("%s is needed by go build ./cmd/mediasync but excluded by Dockerfile.dockerignore", f)
		}
	}
}

func TestCompose(t *testing.T) {
	const file = "docker/compose.yaml"
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image           string            `yaml:"image"`
			Restart         string            `yaml:"restart"`
			User            string            `yaml:"user"`
			Volumes         []string          `yaml:"volumes"`
			EnvFile         []string          `yaml:"env_file"`
			Environment     map[string]string `yaml:"environment"`
			StopGracePeriod string            `yaml:"stop_grace_period"`
			Ports           []string          `yaml:"ports"`
			ReadOnly        bool              `yaml:"read_only"`
			SecurityOpt     []string          `yaml:"security_opt"`
			CapDrop         []string          `yaml:"cap_drop"`
		} `yaml:"services"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	s, ok := c.Services["mediasync"]
	if !ok {
		t.Fatalf("%s: no mediasync service", file)
	}
	if u, _, _ := strings.Cut(s.User, ":"); u == "" || u == "0" || u == "root" {
		t.Errorf("%s: user %q, want a non-root UID:GID", file, s.User)
	}
	if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/data") }) {
		t.Errorf("%s: volumes %v, want the folder mounted at /data", file, s.Volumes)
	}
	if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasSuffix(v, ":/config:ro") }) {
		t.Errorf("%s: volumes %v, want /config mounted read-only", file, s.Volumes)
	}
	for k := range s.Environment {
		if strings.HasPrefix(k, "MEDIASYNC_") {
			t.Errorf("%s: environment holds %s inline; secrets belong in the env_file", file, k)
		}
	}
	if d, err := time.ParseDuration(s.StopGracePeriod); err != nil || d < 30*time.Second {
		t.Errorf("%s: stop_grace_period %q, want at least 30s for resumable stops", file, s.StopGracePeriod)
	}
	for _, p := range s.Ports {
		if !strings.HasPrefix(p, "127.0.0.1:") {
			t.Errorf("%s: port %q published beyond loopback", file, p)
		}
	}
	if !s.ReadOnly || !slices.Contains(s.CapDrop, "ALL") || !slices.Contains(s.SecurityOpt, "no-new-privileges:true") {
		t.Errorf("%s: want read_only, cap_drop ALL and no-new-privileges", file)
	}
}

// TestReadmeCoversFiles checks that contrib/README.md mentions every file shipped here.
func TestReadmeCoversFiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".go") || p == "README.md" {
			return err
		}
		if !bytes.Contains(readme, []byte(filepath.ToSlash(p))) {
			t.Errorf("README.md does not mention %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
