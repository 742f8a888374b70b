package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mediasync/mediasync/uploader"
)

// Configs built in code (the demo does this) get the same checks as files,
// with key paths and no file or line.
func TestValidateInCode(t *testing.T) {
	t.Setenv("HOME", "/home/editor")
	base := func() Config {
		c := Default()
		c.Folders = []Folder{DefaultFolder("/srv/exports")}
		return c
	}
	tests := []struct {
		name   string
		change func(c *Config)
		want   []string // one substring per expected problem, in order
	}{
		{"defaults with a folder", func(*Config) {}, nil},
		{"zero value folder", func(c *Config) { c.Folders = []Folder{{Path: "/srv/x"}} },
			[]string{`folders[0].media_category: "" is not one of`, `folders[0].alt_text: "" is not one of`, `folders[0].fit: "" is not one of`,
				`folders[0].fit_max_edge: 0 is out of range`, `folders[0].after_upload: "" is not keep or move:<dir>`}},
		{"zero config", func(c *Config) { *c = Config{} }, []string{
			`api.version: "" is not one of: v2, v1.1`, `api.auth: "" is not one of`,
			"upload.workers: 0 is out of range", "upload.chunk_parallelism: 0 is out of range", "upload.max_attempts: 0",
			"upload.chunk_size: must be at least 1 byte", "upload.max_backoff", "upload.request_timeout", "upload.processing_timeout",
			`watch.mode: ""`, "watch.settle", "watch.network_settle", "watch.poll_interval", `log.level: ""`, `log.format: ""`}},
		{"v1.1 allows a 5MB chunk", func(c *Config) { c.API.Version = VersionV11; c.Upload.ChunkSize = 5_000_000 }, nil},
		{"v2 refuses a 5MB chunk", func(c *Config) { c.Upload.ChunkSize = 5_000_000 }, []string{"upload.chunk_size: 5MB (5000000 bytes) is too large; at most 4MiB"}},
		{"simple_upload_max 0 means always chunked", func(c *Config) { c.Upload.SimpleUploadMax = 0 }, nil},
		{"negative sizes", func(c *Config) { c.Upload.SimpleUploadMax = -1; c.Upload.BandwidthLimit = -1 },
			[]string{"upload.simple_upload_max: must not be negative", "upload.bandwidth_limit: must not be negative"}},
		{"base_url with password is not quoted", func(c *Config) { c.API.BaseURL = "https://user:pa55word@example.com" },
			[]string{"api.base_url: must not hold a user or password"}},
		{"base_url bad port", func(c *Config) { c.API.BaseURL = "http://127.0.0.1:99999" }, []string{"has an invalid port"}},
		{"base_url no host", func(c *Config) { c.API.BaseURL = "https:///2/media" }, []string{"has no host"}},
		{"http listen bad", func(c *Config) { c.HTTP.Listen = "127.0.0.1" }, []string{"http.listen: \"127.0.0.1\" is not host:port"}},
		{"http listen ipv6", func(c *Config) { c.HTTP.Listen = "[::1]:9464" }, nil},
		{"metrics listen bad", func(c *Config) { c.Metrics.Listen = "127.0.0.1" }, []string{"metrics.listen: \"127.0.0.1\" is not host:port"}},
		{"metrics listen moves to http", func(c *Config) { c.Metrics.Listen = "[::1]:9464" }, nil},
		{"metrics and http listen differ", func(c *Config) { c.Metrics.Listen, c.HTTP.Listen = "[::1]:9464", "127.0.0.1:9464" },
			[]string{`metrics.listen: is the old name of http.listen, which is set too (to "127.0.0.1:9464"); keep only http.listen`}},
		{"http token short", func(c *Config) { c.HTTP.Token = "short" }, []string{"http.token: is 5 characters; use at least 16"}},
		{"http token space", func(c *Config) { c.HTTP.Token = "0123456789abcdef\n" }, []string{"http.token: has surrounding whitespace or a control character"}},
		{"http token ok", func(c *Config) { c.HTTP.Token = "0123456789abcdef" }, nil},
		{"refresh just under 24h", func(c *Config) { c.Folders[0].RefreshBeforeExpiry = Duration(24*time.Hour - time.Second) }, nil},
		{"refresh negative", func(c *Config) { c.Folders[0].RefreshBeforeExpiry = -1 }, []string{"folders[0].refresh_before_expiry"}},
		{"101 owners", func(c *Config) {
			for i := range 101 {
				c.Folders[0].AdditionalOwners = append(c.Folders[0].AdditionalOwners, strconv.Itoa(1000+i))
			}
		}, []string{"folders[0].additional_owners: has 101 user ids; at most 100"}},
		{"100 owners", func(c *Config) {
			for i := range 100 {
				c.Folders[0].AdditionalOwners = append(c.Folders[0].AdditionalOwners, strconv.Itoa(1000+i))
			}
		}, nil},
		{"move into a hidden dir of the folder", func(c *Config) { c.Folders[0].AfterUpload = "move:.uploaded" }, nil},
		{"move into an ignored dir of the folder", func(c *Config) {
			c.Watch.Ignore = []string{"done-*"}
			c.Folders[0].AfterUpload = "move:done-2026"
		}, nil},
		{"move into a visible subdir", func(c *Config) { c.Folders[0].AfterUpload = "move:uploaded" }, []string{`folders[0].after_upload: move target "/srv/exports/uploaded" is watched by folders[0]`}},
		{"move into a deeper visible subdir", func(c *Config) { c.Folders[0].AfterUpload = "move:a/b" }, []string{"is watched by folders[0]"}},
		{"move to the folder itself", func(c *Config) { c.Folders[0].AfterUpload = "move:." }, []string{"is the folder itself"}},
		{"move to a subdir of a non-recursive folder", func(c *Config) {
			c.Folders[0].Recursive = false
			c.Folders[0].AfterUpload = "move:uploaded"
		}, nil},
		{"move into another folder", func(c *Config) {
			c.Folders = append(c.Folders, DefaultFolder("/srv/other"))
			c.Folders[0].AfterUpload = "move:/srv/other/in"
		}, []string{`is watched by folders[1] ("/srv/other")`}},
		{"move outside with ~", func(c *Config) { c.Folders[0].AfterUpload = "move:~/uploaded" }, nil},
		{"nested under a non-recursive folder", func(c *Config) {
			c.Folders[0].Recursive = false
			c.Folders = append(c.Folders, DefaultFolder("/srv/exports/sub"))
		}, nil},
		{"outer folder inside inner's parent order does not matter", func(c *Config) {
			c.Folders = []Folder{DefaultFolder("/srv/exports/sub"), DefaultFolder("/srv/exports")}
		}, []string{`folders[0].path: "/srv/exports/sub" is inside folders[1]`}},
		{"same path after cleaning", func(c *Config) { c.Folders = append(c.Folders, DefaultFolder("/srv/exports/../exports/")) },
			[]string{`folders[1].path: "/srv/exports" is already folders[0]`}},
		{"prefix is not nesting", func(c *Config) { c.Folders = append(c.Folders, DefaultFolder("/srv/exports-old")) }, nil},
		{"shared custom manifest", func(c *Config) {
			c.Folders = append(c.Folders, DefaultFolder("/srv/b"))
			c.Folders[0].Manifest = "/var/lib/mediasync/m.json"
			c.Folders[1].Manifest = "/var/lib/mediasync/m.json"
		}, []string{`folders[1].manifest: "/var/lib/mediasync/m.json" is also the manifest of folders[0]`}},
		{"relative path", func(c *Config) { c.Folders[0].Path = "exports" }, []string{`folders[0].path: "exports" is not an absolute path`}},
		{"ignore glob with slash", func(c *Config) { c.Watch.Ignore = []string{"a/b"} }, []string{`watch.ignore[0]: "a/b" contains "/"`}},
		{"base_url with the API path", func(c *Config) { c.API.BaseURL = "https://api.x.com/2/" }, []string{"names an API path"}},
		{"base_url with the v1.1 endpoint", func(c *Config) { c.API.BaseURL = "https://upload.twitter.com/1.1/media/upload.json" }, []string{"names an API path"}},
		{"base_url behind a proxy prefix", func(c *Config) { c.API.BaseURL = "https://proxy.example/x-api" }, nil},
		{"secret with a trailing newline is refused unquoted", func(c *Config) {
			c.Credentials.ConsumerSecret = "pa55word\n"
			c.Credentials.BearerToken = " pa55word"
		}, []string{"credentials.consumer_secret: has surrounding whitespace", "credentials.bearer_token: has surrounding whitespace"}},
		{"version spelled as a number", func(c *Config) { c.API.Version = "1.1" }, []string{`api.version: "1.1" is not a version; write v2 or v1.1`}},
		{"redirect_url on another host", func(c *Config) { c.API.RedirectURL = "http://nas.lan:8765/callback" },
			[]string{`api.redirect_url: "http://nas.lan:8765/callback" must name a loopback host`}},
		{"redirect_url over https", func(c *Config) { c.API.RedirectURL = "https://127.0.0.1:8765/callback" }, []string{"must start with http://"}},
		{"redirect_url without a port", func(c *Config) { c.API.RedirectURL = "http://localhost/callback" }, []string{"needs a port"}},
		{"redirect_url with a query quoted without it", func(c *Config) { c.API.RedirectURL = "http://[::1]:9000/cb?x=pa55word" },
			[]string{`api.redirect_url: "http://[::1]:9000/cb" must not have`}},
		{"redirect_url on another loopback port", func(c *Config) { c.API.RedirectURL = "http://localhost:9000/cb" }, nil},
		{"token_file relative without a config file", func(c *Config) { c.Credentials.TokenFile = "token.json" }, []string{`credentials.token_file: "token.json" is not an absolute path`}},

		// base_url messages quote scheme://host/path only: a query, fragment,
		// user info or opaque part may hold a token.
		{"base_url query with a token", func(c *Config) { c.API.BaseURL = "https://api.x.com/?access_token=pa55word" },
			[]string{`api.base_url: "https://api.x.com/" must not have a query or fragment`}},
		{"base_url fragment with a token", func(c *Config) { c.API.BaseURL = "https://api.x.com/x#pa55word" },
			[]string{`api.base_url: "https://api.x.com/x" must not have a query or fragment`}},
		{"base_url empty query", func(c *Config) { c.API.BaseURL = "https://api.x.com?" }, []string{`"https://api.x.com" must not have a query`}},
		{"base_url empty fragment", func(c *Config) { c.API.BaseURL = "https://api.x.com#" }, []string{`"https://api.x.com" must not have a query`}},
		{"base_url bad scheme with a query", func(c *Config) { c.API.BaseURL = "ftp://api.x.com/up?key=pa55word" },
			[]string{`api.base_url: "ftp://api.x.com/up" must start with https://`}},
		{"base_url no host with a query", func(c *Config) { c.API.BaseURL = "https:///?t=pa55word" }, []string{`"https:///" has no host`}},
		{"base_url opaque", func(c *Config) { c.API.BaseURL = "token:pa55word" }, []string{`api.base_url: "token:" must start with https://`}},
		{"base_url without scheme", func(c *Config) { c.API.BaseURL = "api.x.com/up?t=pa55word" }, []string{`"api.x.com/up" must start with https://`}},
		{"base_url user and query", func(c *Config) { c.API.BaseURL = "ftp://me:pa55word@h/?q=pa55word" }, []string{"must not hold a user or password"}},
		{"base_url API path with a token", func(c *Config) { c.API.BaseURL = "https://api.x.com/2/media?t=pa55word" }, []string{`"https://api.x.com/2/media" must not have a query`}},

		// Floors of the watch timings.
		{"settle at its floor", func(c *Config) { c.Watch.Settle = Duration(MinSettle) }, nil},
		{"settle below its floor", func(c *Config) { c.Watch.Settle = Duration(99 * time.Millisecond) }, []string{"watch.settle: 99ms is too short; must be at least 100ms"}},
		{"network_settle equal to settle", func(c *Config) { c.Watch.Settle, c.Watch.NetworkSettle = Duration(time.Minute), Duration(time.Minute) }, nil},
		{"network_settle shorter than settle", func(c *Config) {
			c.Watch.Settle, c.Watch.NetworkSettle = Duration(30*time.Second), Duration(20*time.Second)
		},
			[]string{"watch.network_settle: 20s is shorter than watch.settle (30s)"}},
		{"network_settle below the floor", func(c *Config) { c.Watch.NetworkSettle = Duration(time.Millisecond) }, []string{"watch.network_settle: 1ms is too short; must be at least 100ms"}},
		{"both settles too short", func(c *Config) { c.Watch.Settle, c.Watch.NetworkSettle = 0, 0 }, []string{"watch.settle: 0s is too short", "watch.network_settle: 0s is too short"}},
		{"poll_interval at its floor", func(c *Config) { c.Watch.PollInterval = Duration(MinPollInterval) }, nil},
		{"poll_interval below its floor", func(c *Config) { c.Watch.PollInterval = Duration(999 * time.Millisecond) }, []string{"watch.poll_interval: 999ms is too short; must be at least 1s"}},
		{"rescan_interval off", func(c *Config) { c.Watch.RescanInterval = 0 }, nil},
		{"rescan_interval at its floor", func(c *Config) { c.Watch.RescanInterval = Duration(MinRescanInterval) }, nil},
		{"rescan_interval below its floor", func(c *Config) { c.Watch.RescanInterval = Duration(59 * time.Second) }, []string{"watch.rescan_interval: 59s is out of range; must be 0 (no periodic rescan) or at least 1m"}},
		{"rescan_interval negative", func(c *Config) { c.Watch.RescanInterval = Duration(-time.Hour) }, []string{"watch.rescan_interval: -1h is out of range"}},

		// Nesting follows the watcher's ignore rules: watch.ignore matches
		// case-insensitively, hidden directories are never entered.
		{"nested under an ignored dir, other case", func(c *Config) {
			c.Watch.Ignore = []string{"Raw"}
			c.Folders = append(c.Folders, DefaultFolder("/srv/exports/RAW/in"))
		}, nil},
		{"move into an ignored dir, other case", func(c *Config) {
			c.Watch.Ignore = []string{"done-*"}
			c.Folders[0].AfterUpload = "move:DONE-2026"
		}, nil},
		{"nested under a hidden dir", func(c *Config) { c.Folders = append(c.Folders, DefaultFolder("/srv/exports/.cache/in")) }, nil},
		{"nested under a built-in ignored name is refused (approximation)", func(c *Config) {
			c.Folders = append(c.Folders, DefaultFolder("/srv/exports/@eaDir/in"))
		}, []string{`folders[1].path: "/srv/exports/@eaDir/in" is inside folders[0]`}},

		// on_upload and notify.
		hookCase("on_upload with a program in PATH", func(h *Hook) { h.Command = []string{"post-on-upload.sh", "--flag"}; h.Env = []string{"X_BEARER_TOKEN"} }, nil),
		hookCase("on_upload with a shell", func(h *Hook) { h.Command = []string{"sh", "-c", `curl -d @- "$URL"`} }, nil),
		hookCase("on_upload with an empty argument", func(h *Hook) { h.Command = []string{"/usr/bin/printf", ""} }, nil),
		hookCase("on_upload empty program", func(h *Hook) { h.Command = []string{""} }, []string{"folders[0].on_upload.command[0]: the program is empty"}),
		hookCase("on_upload relative program", func(h *Hook) { h.Command = []string{"bin/post"} }, []string{`folders[0].on_upload.command[0]: "bin/post" is not an absolute path`}),
		hookCase("on_upload shell line", func(h *Hook) { h.Command = []string{"curl -d @- http://x"} }, []string{"is one argument with spaces"}),
		hookCase("on_upload NUL", func(h *Hook) { h.Command = []string{"/bin/post", "a\x00b"} }, []string{"folders[0].on_upload.command[1]: contains a NUL byte"}),
		hookCase("on_upload zero timeout", func(h *Hook) { h.Command = []string{"true"}; h.Timeout = 0 }, []string{"folders[0].on_upload.timeout: must be longer than 0, e.g. 1m"}),
		hookCase("on_upload timeout without command is fine", func(h *Hook) { h.Timeout = 0 }, nil),
		hookCase("on_upload env without command", func(h *Hook) { h.Env = []string{"A"} }, []string{"folders[0].on_upload.env: is set but folders[0].on_upload.command is empty"}),
		hookCase("on_upload reserved env", func(h *Hook) {
			h.Command = []string{"true"}
			h.Env = []string{"MEDIASYNC_MEDIA_ID", "MEDIASYNC_CONFIG"}
		},
			[]string{"folders[0].on_upload.env[0]: MEDIASYNC_MEDIA_ID is set by mediasync"}),
		{"webhook", func(c *Config) { c.Notify = []Notify{webhook("https://hooks.example.com/x?token=pa55word")} }, nil},
		{"command target", func(c *Config) {
			n := DefaultNotify()
			n.Command, n.Env, n.Events = []string{"notify-send"}, []string{"DISPLAY"}, []string{"failed"}
			c.Notify = []Notify{n}
		}, nil},
		{"webhook ftp with a token", func(c *Config) { c.Notify = []Notify{webhook("ftp://h/pa55word")} }, []string{"notify[0].url: must start with https://"}},
		{"webhook user", func(c *Config) { c.Notify = []Notify{webhook("https://me:pa55word@h/x")} }, []string{"notify[0].url: must not hold a user or password"}},
		{"webhook no host", func(c *Config) { c.Notify = []Notify{webhook("https:///pa55word")} }, []string{"notify[0].url: has no host"}},
		{"webhook unparsable", func(c *Config) { c.Notify = []Notify{webhook("https://h/%zz/pa55word")} }, []string{"notify[0].url: is not a valid URL"}},
		{"webhook space", func(c *Config) { c.Notify = []Notify{webhook("https://h/x pa55word")} }, []string{"notify[0].url: https://h...: contains a space"}},
		{"target with neither", func(c *Config) { c.Notify = []Notify{DefaultNotify()} }, []string{"notify[0].url: is empty; a target needs url (a webhook) or command"}},
		{"header secrets are not quoted", func(c *Config) {
			n := webhook("https://h/x")
			n.Headers = map[string]Secret{"Authorization": "Bearer pa55word\r\nX: y", "Host": "pa55word", "X-A": "", "x-a": "pa55word"}
			c.Notify = []Notify{n}
		}, []string{"notify[0].headers.Authorization: the value has a line break", "notify[0].headers.Host: Host is set by mediasync", `notify[0].headers.x-a: is the same header as "X-A"`}},
		{"events unknown and zero timeout", func(c *Config) {
			n := webhook("https://h/x")
			n.Events, n.Timeout = []string{"upload"}, 0
			c.Notify = []Notify{n}
		}, []string{`notify[0].events[0]: "upload" is not one of: uploaded, skipped`, "notify[0].timeout: must be longer than 0, e.g. 30s"}},
		{"events nil means all", func(c *Config) {
			n := webhook("https://h/x")
			n.Events = nil
			c.Notify = []Notify{n}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.change(&c)
			err := c.Validate()
			probs := Problems(err)
			if len(probs) != len(tt.want) {
				t.Fatalf("Validate() gave %d problems, want %d:\n%v", len(probs), len(tt.want), err)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("Validate() error does not wrap ErrInvalid")
			}
			for i, p := range probs {
				if !strings.Contains(p.Error(), tt.want[i]) {
					t.Errorf("problem %d = %q, want it to contain %q", i, p, tt.want[i])
				}
				if p.File != "" || p.Line != 0 {
					t.Errorf("problem %q of a config built in code has a file or line", p)
				}
			}
			if strings.Contains(errString(err), "pa55word") {
				t.Errorf("error quotes a password: %v", err)
			}
		})
	}
}

// hookCase is a TestValidateInCode case that changes folders[0].on_upload.
func hookCase(name string, change func(h *Hook), want []string) struct {
	name   string
	change func(c *Config)
	want   []string
} {
	return struct {
		name   string
		change func(c *Config)
		want   []string
	}{name, func(c *Config) { change(&c.Folders[0].OnUpload) }, want}
}

func webhook(url string) Notify {
	n := DefaultNotify()
	n.URL = Secret(url)
	return n
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestValidateResolves(t *testing.T) {
	t.Setenv("HOME", "/home/editor")
	c := Default()
	c.API.Version = VersionV11
	f := DefaultFolder("~/Exports/")
	f.AfterUpload = "move:.done/"
	f.Manifest = ".state/m.json"
	f.OnUpload.Command = []string{"~/bin/post.sh", "~/arg"}
	c.Folders = []Folder{f, DefaultFolder("/srv/x")}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := c.Folders[0]
	for _, tt := range []struct{ name, got, want string }{
		{"base_url", c.API.BaseURL, DefaultBaseURLV11},
		{"path", got.Path, "/home/editor/Exports"},
		{"after_upload", got.AfterUpload, "move:/home/editor/Exports/.done"},
		{"MoveDir", got.MoveDir(), "/home/editor/Exports/.done"},
		{"manifest", got.Manifest, "/home/editor/Exports/.state/m.json"},
		{"default manifest", c.Folders[1].Manifest, "/srv/x/.mediasync/manifest.json"},
		{"keep MoveDir", c.Folders[1].MoveDir(), ""},
		{"on_upload program", strings.Join(got.OnUpload.Command, " "), "/home/editor/bin/post.sh ~/arg"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
	// Validate is idempotent.
	before := c.Folders[0]
	if err := c.Validate(); err != nil || c.Folders[0].AfterUpload != before.AfterUpload || c.Folders[0].Manifest != before.Manifest {
		t.Errorf("second Validate changed the config: %v, %+v", err, c.Folders[0])
	}

	c.API.BaseURL = "http://127.0.0.1:8089///"
	if err := c.Validate(); err != nil || c.API.BaseURL != "http://127.0.0.1:8089" {
		t.Errorf("base_url = %q, %v; want the trailing slashes dropped", c.API.BaseURL, err)
	}
}

// Validate on a loaded config, after a change in code, still points at the
// file and line.
func TestValidateAfterLoadHasLines(t *testing.T) {
	testEnv(t)
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("upload:\n  workers: 2\nfolders:\n  - path: /srv/a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Upload.Workers = 0
	if err := cfg.Validate(); err == nil || err.Error() != file+":2: upload.workers: 0 is out of range; must be 1..64" {
		t.Errorf("Validate() = %v", err)
	}
}

func TestWarnings(t *testing.T) {
	testEnv(t)
	file := filepath.Join(t.TempDir(), "c.yaml")
	body := `api:
  base_url: http://emulator.lan:8089
  auth: oauth2
credentials:
  consumer_key: ${MEDIASYNC_TEST_CK}
  bearer_token: ${MEDIASYNC_TEST_BEARER}
http:
  listen: 0.0.0.0:9464
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Warnings()
	want := []string{
		file + ":2: api.base_url: plain http to emulator.lan: media and any bearer token travel unencrypted",
		file + ":5: credentials.consumer_key: is set but api.auth is oauth2, which does not use it",
		file + ":8: http.listen: \"0.0.0.0:9464\" is reachable from other machines and http.token is not set: run refuses to start; set http.token (${MEDIASYNC_HTTP_TOKEN}), or use 127.0.0.1:PORT and an SSH tunnel",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("Warnings() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A command whose program cannot be found or run is a warning (the agent's
// PATH under a service manager may differ), with its line.
func TestCommandWarnings(t *testing.T) {
	testEnv(t)
	dir := t.TempDir()
	noexec := filepath.Join(dir, "noexec.sh")
	okexec := filepath.Join(dir, "ok.sh")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(okexec, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	file := filepath.Join(t.TempDir(), "c.yaml")
	body := `folders:
  - path: /srv/a
    on_upload: {command: [` + noexec + `]}
  - path: /srv/b
    on_upload: {command: [` + okexec + `]}
  - path: /srv/c
    on_upload: {command: [ok.sh]}
  - path: /srv/d
    on_upload: {command: [mediasync-no-such-program]}
  - path: /srv/e
    on_upload: {command: [` + dir + `]}
notify:
  - command: [` + filepath.Join(dir, "missing") + `]
  - url: http://alerts.lan/x
    headers: {Authorization: "Bearer ${MEDIASYNC_TEST_BEARER}"}
  - url: http://127.0.0.1:9/x
    headers: {Authorization: "Bearer ${MEDIASYNC_TEST_BEARER}"}
`
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got := cfg.Warnings()
	want := []string{
		file + `:3: folders[0].on_upload.command: program "` + noexec + `" is not executable (chmod +x it)`,
		file + `:9: folders[3].on_upload.command: program "mediasync-no-such-program" is not found in PATH`,
		file + `:11: folders[4].on_upload.command: program "` + dir + `" is a directory`,
		file + `:13: notify[0].command: program "` + filepath.Join(dir, "missing") + `" cannot be used: no such file or directory`,
		file + `:14: notify[1].url: plain http to alerts.lan: the headers travel unencrypted`,
	}
	if len(got) != len(want) {
		t.Fatalf("Warnings() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("warning %d = %q, want %q...", i, got[i], want[i])
		}
	}
}

func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	seeds = append(seeds, "../config.example.yaml")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("a: &a [*a]"))
	f.Add([]byte("folders: [&f {path: /a}, *f, <<: *f]"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		file := filepath.Join(dir, "fuzz.yaml")
		if err := os.WriteFile(file, data, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, err := Load(file)
		switch {
		case err != nil && !errors.Is(err, ErrInvalid):
			t.Fatalf("error does not wrap ErrInvalid: %v", err)
		case err != nil && cfg != nil:
			t.Fatal("config returned with an error")
		case err == nil:
			if verr := cfg.Validate(); verr != nil {
				t.Fatalf("loaded config fails Validate: %v", verr)
			}
			_ = cfg.Warnings()
		}
	})
}

// X's limits have one home, the uploader: at and just over each limit,
// Validate accepts exactly what the uploader's options accept (issue 16.4:
// they disagreed, 5,000,000 against 5 MiB).
func TestLimitsAgreeWithUploader(t *testing.T) {
	type value struct {
		version          string
		chunk, simpleMax int64
	}
	var values []value
	for _, v := range []string{VersionV2, VersionV11} {
		lim := uploader.MaxChunkSize(v)
		for _, chunk := range []int64{lim - 1, lim, lim + 1, 5_000_000, 5 << 20} {
			values = append(values, value{v, chunk, 1 << 20})
		}
	}
	for _, sm := range []int64{5_000_000, uploader.MaxSimpleUpload, uploader.MaxSimpleUpload + 1} {
		values = append(values, value{VersionV2, 4 << 20, sm})
	}
	for _, v := range values {
		c := Default()
		c.Folders = []Folder{DefaultFolder("/srv/exports")}
		c.API.Version, c.Upload.ChunkSize, c.Upload.SimpleUploadMax = v.version, Size(v.chunk), Size(v.simpleMax)
		cfgErr := c.Validate()
		upErr := uploader.Options{BaseURL: "https://api.x.com", Version: v.version, ChunkSize: v.chunk, SimpleUploadMax: v.simpleMax}.Validate()
		if (cfgErr == nil) != (upErr == nil) {
			t.Errorf("%+v: config says %v, uploader says %v", v, cfgErr, upErr)
		}
	}
	for _, n := range []int{uploader.MaxOwners, uploader.MaxOwners + 1} {
		c := Default()
		c.Folders = []Folder{DefaultFolder("/srv/exports")}
		for i := range n {
			c.Folders[0].AdditionalOwners = append(c.Folders[0].AdditionalOwners, strconv.Itoa(1000+i))
		}
		if got, want := c.Validate() == nil, n <= uploader.MaxOwners; got != want {
			t.Errorf("%d additional owners: valid %v, want %v", n, got, want)
		}
	}
	if want := append([]string{"auto"}, uploader.Categories()...); !slices.Equal(MediaCategories, want) {
		t.Errorf("MediaCategories = %v, want auto and the uploader's %v", MediaCategories, want)
	}
}

// TestHTTPSection: http.listen and http.token, and the deprecated metrics.listen, read from a file.
func TestHTTPSection(t *testing.T) {
	testEnv(t)
	for _, tc := range []struct {
		name, body string
		env        string // MEDIASYNC_HTTP_TOKEN
		listen     string
		token      string
		problem    string
		warnings   []string
	}{
		{name: "new key", body: "http:\n  listen: 127.0.0.1:9464\n", listen: "127.0.0.1:9464"},
		{name: "old key still read", body: "metrics:\n  listen: 127.0.0.1:9464\n", listen: "127.0.0.1:9464",
			warnings: []string{":2: metrics.listen: is deprecated: write it as http.listen"}},
		{name: "both keys, same address", body: "metrics:\n  listen: 127.0.0.1:9464\nhttp:\n  listen: 127.0.0.1:9464\n", listen: "127.0.0.1:9464",
			warnings: []string{":2: metrics.listen: is deprecated"}},
		{name: "both keys, different addresses", body: "metrics:\n  listen: 127.0.0.1:9464\nhttp:\n  listen: 127.0.0.1:9465\n",
			problem: `:2: metrics.listen: is the old name of http.listen, which is set too (to "127.0.0.1:9465")`},
		{name: "old key, bad value, named by the old key", body: "metrics:\n  listen: 127.0.0.1\n", problem: `:2: metrics.listen: "127.0.0.1" is not host:port`},
		{name: "token from a variable", body: "http:\n  listen: 0.0.0.0:9464\n  token: ${MEDIASYNC_TEST_HTTP_TOKEN}\n",
			listen: "0.0.0.0:9464", token: "http-token-0123456789",
			warnings: []string{`:2: http.listen: "0.0.0.0:9464" serves the status page beyond this machine: http.token and the session cookie travel in clear`}},
		{name: "token from MEDIASYNC_HTTP_TOKEN", body: "http:\n  listen: 127.0.0.1:9464\n", env: "env-token-0123456789",
			listen: "127.0.0.1:9464", token: "env-token-0123456789"},
		{name: "no token beyond loopback", body: "metrics:\n  listen: :9464\n", listen: ":9464",
			warnings: []string{":2: metrics.listen: is deprecated", `:2: metrics.listen: ":9464" is reachable from other machines and http.token is not set: run refuses to start`}},
		{name: "short token", body: "http:\n  token: abc\n", problem: ":2: http.token: is 3 characters; use at least 16"},
		{name: "typo offers http, not metrics", body: "htp:\n  listen: 127.0.0.1:9464\n", problem: `:1: htp: unknown key (did you mean "http"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(HTTPTokenEnv, tc.env)
			file := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(file)
			if tc.problem != "" {
				if err == nil || !strings.Contains(err.Error(), file+tc.problem) {
					t.Fatalf("Load = %v, want %q", err, tc.problem)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTP.Listen != tc.listen || cfg.HTTP.Token.Reveal() != tc.token {
				t.Errorf("http = %q, token %q; want %q, %q", cfg.HTTP.Listen, cfg.HTTP.Token.Reveal(), tc.listen, tc.token)
			}
			got := cfg.Warnings()
			if len(got) != len(tc.warnings) {
				t.Fatalf("Warnings() = %q, want %d", got, len(tc.warnings))
			}
			for i, w := range tc.warnings {
				if !strings.HasPrefix(got[i], file+w) {
					t.Errorf("warning %d = %q, want %q", i, got[i], w)
				}
			}
			for _, w := range got {
				if tc.token != "" && strings.Contains(w, tc.token) {
					t.Errorf("warning %q shows the token", w)
				}
			}
		})
	}
}
