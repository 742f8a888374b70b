package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite testdata/**/*.golden")

// testEnv pins every variable the testdata refers to, and blanks the real
// MEDIASYNC_* credential variables so the machine's own do not leak in.
func testEnv(t *testing.T) {
	t.Helper()
	for _, k := range credKeys {
		t.Setenv(k.env, "")
	}
	t.Setenv("MEDIASYNC_CONFIG", "")
	t.Setenv(HTTPTokenEnv, "")
	t.Setenv("MEDIASYNC_TEST_HTTP_TOKEN", "http-token-0123456789")
	t.Setenv("MEDIASYNC_TEST_CK", "ck-value")
	t.Setenv("MEDIASYNC_TEST_CS", "cs-value")
	t.Setenv("MEDIASYNC_TEST_AT", "at-value")
	t.Setenv("MEDIASYNC_TEST_ATS", "ats-value")
	t.Setenv("MEDIASYNC_TEST_BEARER", "bearer-value")
	t.Setenv("HOME", "/home/editor")
	t.Setenv("XDG_CONFIG_HOME", "") // the default token file is then /home/editor/.config/mediasync/token.json
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run go test -update): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestLoadGood(t *testing.T) {
	testEnv(t)
	files, _ := filepath.Glob("testdata/good/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/good/*.yaml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cfg, err := Load(file)
			if err != nil {
				t.Fatalf("Load(%s) = %v", file, err)
			}
			if cfg.Source != file {
				t.Errorf("Source = %q, want %q", cfg.Source, file)
			}
			if err := cfg.Validate(); err != nil {
				t.Errorf("Validate() after Load = %v", err)
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetIndent("", "  ")
			if err := enc.Encode(cfg); err != nil {
				t.Fatal(err)
			}
			b.WriteString("warnings:\n")
			for _, w := range cfg.Warnings() {
				b.WriteString("  " + w + "\n")
			}
			b.WriteString("missing credentials:\n")
			for _, m := range cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth) {
				b.WriteString("  " + m + "\n")
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", b.Bytes())
		})
	}
}

func TestLoadBad(t *testing.T) {
	testEnv(t)
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata/bad/*.yaml")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			cfg, err := Load(file)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, nil; want an error", file, cfg)
			}
			if cfg != nil {
				t.Errorf("Load(%s) returned a config with its error", file)
			}
			if !errors.Is(err, ErrInvalid) || !IsInvalid(err) {
				t.Errorf("Load(%s) error does not wrap ErrInvalid: %v", file, err)
			}
			probs := Problems(err)
			if len(probs) == 0 {
				t.Fatalf("Problems(%v) is empty", err)
			}
			for _, p := range probs {
				if !strings.HasPrefix(p.Error(), file+":") {
					t.Errorf("problem %q does not start with %q", p, file+":")
				}
				if p.Line == 0 && p.Path != "" {
					t.Errorf("problem %q has a key path but no line", p)
				}
			}
			if !slices.IsSortedFunc(probs, func(a, b *Problem) int { return a.Line - b.Line }) {
				t.Errorf("problems not sorted by line:\n%v", err)
			}
			checkGolden(t, strings.TrimSuffix(file, ".yaml")+".golden", []byte(err.Error()+"\n"))
		})
	}
}

// Credential values written in a bad file never show up in the errors.
func TestLoadErrorsHideSecrets(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_BEARER_TOKEN", "sk-live-777777")
	_, err := Load("testdata/bad/secrets.yaml")
	if err == nil {
		t.Fatal("Load(secrets.yaml) succeeded")
	}
	if n := len(Problems(err)); n < 5 {
		t.Errorf("got %d problems, want at least 5:\n%v", n, err)
	}
	if strings.Contains(err.Error(), "sk-live") {
		t.Errorf("error leaks a secret:\n%v", err)
	}
}

func TestLoadReadErrors(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, bytes.Repeat([]byte("# padding\n"), MaxFileSize/10+1), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
		notExist         bool
	}{
		{"missing", filepath.Join(dir, "nope.yaml"), "cannot open: no such file or directory", true},
		{"directory", dir, "is not a regular file", false},
		{"too big", big, "is larger than 1MiB", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), tt.path+": ") {
				t.Fatalf("Load(%s) = %v, want %q", tt.path, err, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tt.notExist)
			}
		})
	}
}

func TestLoadNoFile(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_CONSUMER_KEY", "from-env")
	cfg, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Source != "" || cfg.Credentials.ConsumerKey.Reveal() != "from-env" || cfg.API.BaseURL != DefaultBaseURLV2 {
		t.Errorf("Load(\"\") = %+v", cfg)
	}
}

func TestLoadCapsProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("folders:\n")
	for range 150 {
		b.WriteString("  - path: relative\n")
	}
	file := filepath.Join(t.TempDir(), "many.yaml")
	if err := os.WriteFile(file, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file)
	probs := Problems(err)
	if len(probs) != maxProblems+1 || !strings.Contains(probs[maxProblems].Message, "and 50 more problems") {
		t.Errorf("got %d problems, last %v", len(probs), probs[len(probs)-1])
	}
}

// Values in notify targets never show up in the errors: not a URL's path,
// query or user, not a header value.
func TestLoadHooksHideSecrets(t *testing.T) {
	testEnv(t)
	_, err := Load("testdata/bad/hooks.yaml")
	if err == nil {
		t.Fatal("Load(bad/hooks.yaml) = nil")
	}
	for _, secret := range []string{"s3cret", "X-Evil"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the errors quote %q:\n%v", secret, err)
		}
	}
}

// The example at the repository root loads cleanly, holds every key of the
// schema, and shows the defaults.
func TestExampleConfig(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_CONSUMER_KEY", "k")
	t.Setenv("MEDIASYNC_CONSUMER_SECRET", "s")
	t.Setenv("MEDIASYNC_ACCESS_TOKEN", "t")
	t.Setenv("MEDIASYNC_ACCESS_TOKEN_SECRET", "ts")
	t.Setenv("NOTIFY_TOKEN", "nt")
	const file = "../config.example.yaml"
	cfg, err := Load(file)
	if err != nil {
		t.Fatalf("Load(%s) = %v", file, err)
	}
	if w := cfg.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %q, want none", w)
	}
	if m := cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth); len(m) != 0 {
		t.Errorf("Missing() = %q, want none", m)
	}

	want := Default()
	want.Folders = []Folder{DefaultFolder("/srv/exports")}
	// The notify examples: a webhook and a command, each with its defaults
	// but the events, which show a choice.
	webhook, command := DefaultNotify(), DefaultNotify()
	webhook.URL = "https://alerts.example.com/mediasync"
	webhook.Headers = map[string]Secret{"Authorization": "Bearer nt"}
	webhook.Events = []string{"failed", "skipped", "auth_paused", "auth_resumed", "folder_refused", "hook_failed"}
	command.Command = []string{"sh", "-c", `cat >> "$HOME/mediasync-events.jsonl"`}
	command.Events = []string{"uploaded"}
	want.Notify = []Notify{webhook, command}
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	got := *cfg
	got.Source, got.meta, got.Credentials = "", nil, Credentials{}
	want.Credentials = Credentials{}
	if !reflect.DeepEqual(normalize(got), normalize(want)) {
		t.Errorf("example differs from the defaults:\n got %+v\nwant %+v", got, want)
	}

	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			walk(n.Content[0], path)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := joinPath(path, n.Content[i].Value)
				have[p] = true
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path+"[]")
			}
		}
	}
	walk(&root, "")
	for _, key := range schemaKeys(reflect.TypeFor[Config](), "") {
		if !have[key] {
			t.Errorf("config.example.yaml does not document %s", key)
		}
	}
}

// normalize makes nil and empty slices compare equal.
func normalize(c Config) Config {
	fix := func(s []string) []string {
		if len(s) == 0 {
			return nil
		}
		return s
	}
	c.Watch.Ignore = fix(c.Watch.Ignore)
	fs := slices.Clone(c.Folders)
	for i := range fs {
		fs[i].Include, fs[i].Exclude, fs[i].AdditionalOwners = fix(fs[i].Include), fix(fs[i].Exclude), fix(fs[i].AdditionalOwners)
		fs[i].OnUpload.Command, fs[i].OnUpload.Env = fix(fs[i].OnUpload.Command), fix(fs[i].OnUpload.Env)
	}
	c.Folders = fs
	ns := slices.Clone(c.Notify)
	for i := range ns {
		ns[i].Command, ns[i].Env = fix(ns[i].Command), fix(ns[i].Env)
	}
	c.Notify = ns
	return c
}

func schemaKeys(t reflect.Type, prefix string) []string {
	var out []string
	for _, k := range keysOf(t) {
		f, _ := fieldByKey(t, k)
		p := joinPath(prefix, k)
		out = append(out, p)
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct:
			out = append(out, schemaKeys(ft, p)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			out = append(out, schemaKeys(ft.Elem(), p+"[]")...)
		}
	}
	return out
}

func TestPermissionWarning(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_TEST_SECRET", "from-env")
	tests := []struct {
		name string
		body string
		mode fs.FileMode
		want bool
	}{
		{"literal, world-readable", "credentials:\n  consumer_secret: abc123\n", 0o644, true},
		{"literal, group-readable", "credentials:\n  access_token_secret: abc123\n", 0o640, true},
		{"literal, private", "credentials:\n  consumer_secret: abc123\n", 0o600, false},
		{"reference only, world-readable", "credentials:\n  consumer_secret: ${MEDIASYNC_TEST_SECRET}\n", 0o644, false},
		{"default in the file, world-readable", "credentials:\n  consumer_secret: ${MEDIASYNC_TEST_UNSET:-abc123}\n", 0o644, true},
		{"empty, world-readable", "credentials:\n  consumer_secret: \"\"\n", 0o644, false},
		{"webhook header literal, world-readable", "notify:\n  - url: https://h/x\n    headers: {X-Token: abc123}\n", 0o644, true},
		{"webhook header scheme and reference, world-readable", "notify:\n  - url: https://h/x\n    headers: {Authorization: \"Bearer ${MEDIASYNC_TEST_SECRET}\"}\n", 0o644, false},
		{"webhook header scheme and literal, world-readable", "notify:\n  - url: https://h/x\n    headers: {Authorization: Bearer abc123}\n", 0o644, true},
		{"webhook url literal, world-readable", "notify:\n  - url: https://h/services/abc123\n", 0o644, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "mediasync.yaml")
			if err := os.WriteFile(file, []byte(tt.body+"folders: [{path: /srv/x}]\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(file, tt.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			ws := cfg.Warnings()
			got := slices.ContainsFunc(ws, func(w string) bool { return strings.Contains(w, "accessible by group or others") })
			if got != tt.want {
				t.Errorf("permission warning = %v, want %v; warnings: %q", got, tt.want, ws)
			}
			if got && !strings.Contains(strings.Join(ws, "\n"), "chmod 600 "+file) {
				t.Errorf("warning does not say how to fix it: %q", ws)
			}
			if strings.Contains(strings.Join(ws, "\n"), "abc123") {
				t.Errorf("warning leaks the secret: %q", ws)
			}
		})
	}
}

func TestMissing(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_TEST_SET", "x")
	tests := []struct {
		name, body string
		want       []string
	}{
		{"all from env refs, none set", "api: {version: v2}\n", []string{
			"consumer_key (or MEDIASYNC_CONSUMER_KEY)", "consumer_secret (or MEDIASYNC_CONSUMER_SECRET)",
			"access_token (or MEDIASYNC_ACCESS_TOKEN)", "access_token_secret (or MEDIASYNC_ACCESS_TOKEN_SECRET)"}},
		{"own variable unset", "credentials:\n  consumer_key: ${MY_UNSET_KEY}\n  consumer_secret: ${MEDIASYNC_TEST_SET}\n  access_token: t\n  access_token_secret: ${MEDIASYNC_ACCESS_TOKEN_SECRET}\n",
			[]string{"consumer_key (${MY_UNSET_KEY} is not set; or set MEDIASYNC_CONSUMER_KEY)", "access_token_secret (or MEDIASYNC_ACCESS_TOKEN_SECRET)"}},
		{"oauth2 needs the client id", "api: {auth: oauth2}\ncredentials: {consumer_key: k}\n", []string{"client_id (or MEDIASYNC_CLIENT_ID)"}},
		{"oauth2 client id set", "api: {auth: oauth2}\ncredentials: {client_id: cid}\n", nil},
		{"oauth2 bearer set", "api: {auth: oauth2}\ncredentials: {bearer_token: \"${MEDIASYNC_TEST_SET}\"}\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(file)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth); !slices.Equal(got, tt.want) {
				t.Errorf("Missing() = %q, want %q", got, tt.want)
			}
		})
	}
	// A config built in code has no file references to name.
	var c Credentials
	if got := c.Missing(VersionV11, AuthOAuth2); len(got) != 4 {
		t.Errorf("Missing(v1.1, oauth2) = %q, want the four OAuth 1.0a credentials", got)
	}
}

func TestEnvFillIn(t *testing.T) {
	testEnv(t)
	t.Setenv("MEDIASYNC_CONSUMER_KEY", "env-ck")
	t.Setenv("MEDIASYNC_CONSUMER_SECRET", "env-cs")
	t.Setenv("MEDIASYNC_TEST_AT", "ref-at")
	file := filepath.Join(t.TempDir(), "c.yaml")
	body := "credentials:\n  consumer_key: file-ck\n  access_token: ${MEDIASYNC_TEST_AT}\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Credentials
	for _, tt := range []struct {
		name string
		got  Secret
		want string
	}{
		{"consumer_key (the file wins)", c.ConsumerKey, "file-ck"},
		{"consumer_secret (filled from env)", c.ConsumerSecret, "env-cs"},
		{"access_token (reference)", c.AccessToken, "ref-at"},
		{"access_token_secret (nowhere)", c.AccessTokenSecret, ""},
	} {
		if tt.got.Reveal() != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got.Reveal(), tt.want)
		}
	}
}

func TestFind(t *testing.T) {
	for _, k := range credKeys {
		t.Setenv(k.env, "")
	}
	base := t.TempDir()
	home := filepath.Join(base, "home")
	xdg := filepath.Join(base, "xdg")
	work := filepath.Join(base, "work")
	for _, d := range []string{home, filepath.Join(xdg, "mediasync"), work} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string) string {
		if err := os.WriteFile(p, []byte("{}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", xdg)
	t.Setenv("MEDIASYNC_CONFIG", "")
	t.Chdir(work)
	userFile := filepath.Join(xdg, "mediasync", "config.yaml")

	// Nothing anywhere: the error lists every place.
	_, err := Find("")
	if err == nil || !errors.Is(err, ErrInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Find(\"\") with no file = %v", err)
	}
	for _, want := range []string{"--config", "$MEDIASYNC_CONFIG", "./mediasync.yaml", userFile} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Find error %q does not mention %q", err, want)
		}
	}

	explicit := write(filepath.Join(base, "explicit.yaml"))
	envFile := write(filepath.Join(base, "env.yaml"))
	write(userFile)
	if got, err := Find(""); err != nil || got != userFile {
		t.Errorf("Find(\"\") = %q, %v; want the user config file %q", got, err, userFile)
	}
	write(filepath.Join(work, "mediasync.yaml"))
	if got, err := Find(""); err != nil || got != "mediasync.yaml" {
		t.Errorf("Find(\"\") = %q, %v; want ./mediasync.yaml", got, err)
	}
	t.Setenv("MEDIASYNC_CONFIG", envFile)
	if got, err := Find(""); err != nil || got != envFile {
		t.Errorf("Find(\"\") = %q, %v; want $MEDIASYNC_CONFIG %q", got, err, envFile)
	}
	if got, err := Find(explicit); err != nil || got != explicit {
		t.Errorf("Find(%q) = %q, %v", explicit, got, err)
	}

	// An explicit or $MEDIASYNC_CONFIG file that does not exist is an error,
	// not a reason to look elsewhere.
	if _, err := Find(filepath.Join(base, "typo.yaml")); err == nil || !strings.Contains(err.Error(), "--config") || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Find(missing explicit) = %v", err)
	}
	t.Setenv("MEDIASYNC_CONFIG", filepath.Join(base, "typo.yaml"))
	if _, err := Find(""); err == nil || !strings.Contains(err.Error(), "$MEDIASYNC_CONFIG") {
		t.Errorf("Find with missing $MEDIASYNC_CONFIG = %v", err)
	}
	if _, err := Find(base); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("Find(directory) = %v", err)
	}
}

func TestLoadDurationDefaultsSurvivePartialSections(t *testing.T) {
	testEnv(t)
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("upload:\n  workers: 4\nwatch:\nfolders:\n  - path: ~/Exports\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Upload.Workers != 4 || cfg.Upload.ChunkSize != 4<<20 || cfg.Upload.MaxBackoff.D() != 2*time.Minute || cfg.Watch.Settle.D() != 3*time.Second {
		t.Errorf("partial sections lost defaults: %+v %+v", cfg.Upload, cfg.Watch)
	}
	f := cfg.Folders[0]
	if f.Path != "/home/editor/Exports" || !f.Recursive || f.Manifest != "/home/editor/Exports/.mediasync/manifest.json" {
		t.Errorf("folder = %+v", f)
	}
}

// Aliases and merge keys cannot make a small file expensive to load.
func TestLoadAliasBombs(t *testing.T) {
	testEnv(t)
	merge := []string{"x-0: &m0 {workers: 1}"}
	for i := 1; i <= 30; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 9), ", ")
		merge = append(merge, fmt.Sprintf("x-%d: &m%d {<<: [%s]}", i, i, refs))
	}
	merge = append(merge, "upload:\n  <<: *m30\n")

	seq := []string{"x-0: &s0 [a, b, c, d, e, f, g, h, i, j]"}
	for i := 1; i <= 8; i++ {
		refs := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*s%d, ", i-1), 10), ", ")
		seq = append(seq, fmt.Sprintf("x-%d: &s%d [%s]", i, i, refs))
	}
	seq = append(seq, "folders:\n  - &f {path: /srv/a, include: *s8}", "  - *f")

	budget := "x-s: &s [" + strings.TrimSuffix(strings.Repeat("a, ", 100), ", ") + "]\nfolders:\n  - &f {path: /srv/a, include: *s}\n" +
		strings.Repeat("  - *f\n", 1500)

	long := "folders:\n  - path: /" + strings.Repeat("a", MaxValueLen) + "\n"
	tests := []struct {
		name, body, want string
	}{
		{"merge keys", strings.Join(merge, "\n"), ""},
		{"self merge", "x-a: &a {workers: 3, <<: *a}\nupload: *a\n", ""},
		{"nested lists", strings.Join(seq, "\n") + "\n", "expected a string, got a list"},
		{"too long", long, "value is longer than 4096 bytes"},
		{"value budget", budget, "expands to more than 100000 values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Load(file)
			if tt.want == "" && err != nil {
				t.Fatalf("Load = %v", err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Load = %v, want %q", err, tt.want)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, file := range []string{"../config.example.yaml", "testdata/good/full.yaml", "testdata/bad/folders.yaml"} {
		b.Run(filepath.Base(file), func(b *testing.B) {
			b.Setenv("MEDIASYNC_CONSUMER_KEY", "k")
			b.ReportAllocs()
			for b.Loop() {
				_, _ = Load(file)
			}
		})
	}
}

func TestConfigTokenFile(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	for _, tt := range []struct{ value, want string }{
		{"", "/home/editor/.config/mediasync/token.json"},
		{"tokens/x.json", filepath.Join(dir, "tokens/x.json")},
		{"~/tok.json", "/home/editor/tok.json"},
		{"/var/lib/mediasync/token.json", "/var/lib/mediasync/token.json"},
	} {
		path := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(path, []byte("api: {auth: oauth2}\ncredentials:\n  client_id: cid\n  token_file: \""+tt.value+"\"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(path)
		if err != nil {
			t.Fatalf("Load(token_file %q): %v", tt.value, err)
		}
		if cfg.Credentials.TokenFile != tt.want {
			t.Errorf("token_file %q resolved to %q, want %q", tt.value, cfg.Credentials.TokenFile, tt.want)
		}
	}
}
