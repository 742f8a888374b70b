package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// MaxFileSize is the largest config file Load reads. A real one is a few
// KiB; a bigger file is a mistake (a media file passed as --config).
const MaxFileSize = 1 << 20

// maxProblems caps the problems Load lists, so that a wrong file (say a
// JSON export of something else) gives a readable answer.
const maxProblems = 100

// meta is what Load learnt about the file, for Validate and Warnings.
type meta struct {
	file    string
	lines   map[string]int      // key path → line of its key (or list item)
	unset   map[string][]string // key path → ${VAR}s it referenced that are not set
	mode    fs.FileMode         // permission bits of the file
	literal []string            // credential key paths whose value is (partly) written in the file
	secrets []string            // values no message may quote: credentials', and those of secret variables (see secretVar)
}

// credential names, in Credentials field order.
const numCreds = 7

var credKeys = [numCreds]struct{ key, env string }{
	{"consumer_key", "MEDIASYNC_CONSUMER_KEY"},
	{"consumer_secret", "MEDIASYNC_CONSUMER_SECRET"},
	{"access_token", "MEDIASYNC_ACCESS_TOKEN"},
	{"access_token_secret", "MEDIASYNC_ACCESS_TOKEN_SECRET"},
	{"bearer_token", "MEDIASYNC_BEARER_TOKEN"},
	{"client_id", "MEDIASYNC_CLIENT_ID"},
	{"client_secret", "MEDIASYNC_CLIENT_SECRET"},
}

func (c *Credentials) field(i int) *Secret {
	return [numCreds]*Secret{&c.ConsumerKey, &c.ConsumerSecret, &c.AccessToken, &c.AccessTokenSecret, &c.BearerToken, &c.ClientID, &c.ClientSecret}[i]
}

// fillFromEnv sets every empty credential from its MEDIASYNC_* variable.
func (c *Credentials) fillFromEnv(lookup func(string) (string, bool)) {
	for i, k := range credKeys {
		if p := c.field(i); *p == "" {
			if v, ok := lookup(k.env); ok {
				*p = Secret(v)
			}
		}
	}
}

// fillFromEnv sets an empty token from MEDIASYNC_HTTP_TOKEN.
func (h *HTTP) fillFromEnv(lookup func(string) (string, bool)) {
	if h.Token == "" {
		if v, ok := lookup(HTTPTokenEnv); ok {
			h.Token = Secret(v)
		}
	}
}

// Load reads the config file at path and returns it with every default
// filled in, ${VAR} references expanded, empty credentials taken from the
// MEDIASYNC_* variables, derived defaults resolved (base_url from
// api.version, each folder's manifest path, after_upload move:<dir> made
// absolute, folder paths cleaned, "~/" expanded) and validated.
//
// Load("") returns the defaults with credentials from the environment, for
// commands that can work without a file (Source is then "").
//
// Decoding is strict: unknown keys, duplicate keys, wrong types and bad
// values are all refused. On failure Load returns nil and an [errors.Join]
// of every [Problem] it found (up to 100), each "FILE:LINE: key.path:
// message", sorted by line; all of them wrap [ErrInvalid].
//
// An empty file (or one holding only comments) is valid and means "all
// defaults": Load succeeds with zero folders, and the commands that need a
// folder (run) refuse to start.
func Load(path string) (*Config, error) {
	cfg := Default()
	if path == "" {
		cfg.Credentials.fillFromEnv(os.LookupEnv)
		cfg.HTTP.fillFromEnv(os.LookupEnv)
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return &cfg, nil
	}
	data, mode, err := readFile(path)
	if err != nil {
		return nil, err
	}
	m := &meta{file: path, lines: map[string]int{}, unset: map[string][]string{}, mode: mode}
	d := &decoder{meta: m, lookup: os.LookupEnv}
	d.document(data, reflect.ValueOf(&cfg).Elem())

	cfg.Source = path
	cfg.meta = m
	cfg.Credentials.fillFromEnv(os.LookupEnv)
	cfg.HTTP.fillFromEnv(os.LookupEnv)
	var unset [numCreds][]string
	for i, k := range credKeys {
		unset[i] = m.unset["credentials."+k.key]
	}
	cfg.Credentials.unset = &unset

	probs := d.probs
	failed := map[string]bool{}
	for _, q := range d.probs {
		failed[q.Path] = true
	}
	for _, p := range cfg.validate() {
		// A value that failed to decode kept its default; don't also
		// report what validation thinks of that default.
		if !underFailed(p.Path, failed) {
			probs = append(probs, p)
		}
	}
	if len(probs) > 0 {
		return nil, joinProblems(redact(m.locate(probs), cfg.secretValues()))
	}
	return &cfg, nil
}

// underFailed reports whether key path p, or a key path enclosing it, is
// in failed.
func underFailed(p string, failed map[string]bool) bool {
	for p != "" {
		if failed[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return false
		}
		p = p[:i]
	}
	return false
}

// readFile reads a config file of at most MaxFileSize bytes.
func readFile(path string) ([]byte, fs.FileMode, error) {
	fail := func(msg string, err error) ([]byte, fs.FileMode, error) {
		return nil, 0, &Problem{File: path, Message: msg, err: err}
	}
	// Stat before opening: opening a FIFO for reading would block.
	st, err := os.Stat(path)
	if err != nil {
		return fail("cannot open: "+pathErrText(err), err)
	}
	if !st.Mode().IsRegular() {
		return fail("is not a regular file", nil)
	}
	f, err := os.Open(path)
	if err != nil {
		return fail("cannot open: "+pathErrText(err), err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return fail("cannot read: "+pathErrText(err), err)
	}
	if len(data) > MaxFileSize {
		return fail(fmt.Sprintf("is larger than %s; is it really a config file?", Size(MaxFileSize)), nil)
	}
	return data, st.Mode().Perm(), nil
}

// pathErrText drops the path an *fs.PathError repeats.
func pathErrText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Find returns the config file to use: explicit (the --config flag) if
// given, else $MEDIASYNC_CONFIG, else ./mediasync.yaml, else
// os.UserConfigDir()/mediasync/config.yaml, whichever exists first. An
// explicit or $MEDIASYNC_CONFIG path must exist. When none is found the
// error (a [Problem] wrapping [ErrInvalid] and [fs.ErrNotExist]) lists every
// place it looked.
func Find(explicit string) (string, error) {
	check := func(p, from string) (string, error) {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			return "", &Problem{File: p, Message: fmt.Sprintf("config file (from %s) cannot be used: %s", from, pathErrText(err)), err: err}
		case !st.Mode().IsRegular():
			return "", &Problem{File: p, Message: fmt.Sprintf("config file (from %s) is not a regular file", from)}
		}
		return p, nil
	}
	if explicit != "" {
		return check(explicit, "--config")
	}
	if v := os.Getenv("MEDIASYNC_CONFIG"); v != "" {
		return check(v, "$MEDIASYNC_CONFIG")
	}
	looked := []string{"--config (not given)", "$MEDIASYNC_CONFIG (not set)"}
	candidates := []string{"mediasync.yaml"}
	if dir, err := os.UserConfigDir(); err == nil {
		candidates = append(candidates, filepath.Join(dir, "mediasync", "config.yaml"))
	} else {
		looked = append(looked, "the user config directory (unknown: "+err.Error()+")")
	}
	for _, c := range candidates {
		st, err := os.Stat(c)
		if err == nil {
			if !st.Mode().IsRegular() {
				return "", &Problem{File: c, Message: "config file is not a regular file"}
			}
			return c, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", &Problem{File: c, Message: "config file cannot be used: " + pathErrText(err), err: err}
		}
		if c == "mediasync.yaml" {
			c = "./mediasync.yaml"
		}
		looked = append(looked, c)
	}
	return "", &Problem{
		Message: "no config file found; looked at " + strings.Join(looked, ", ") +
			" (start from config.example.yaml, or try `mediasync demo`)",
		err: fs.ErrNotExist,
	}
}

// locate gives each problem the file and the line of its key path (or of
// the nearest enclosing key that is in the file), notes unset variables the
// path referenced, and sorts them by line (problems without a line last).
func (m *meta) locate(probs []*Problem) []*Problem {
	if m == nil {
		return probs
	}
	for _, p := range probs {
		p.File = m.file
		if p.Line == 0 {
			p.Line = m.line(p.Path)
		}
		if vars := m.unset[p.Path]; len(vars) > 0 && !strings.Contains(p.Message, "is not set") {
			p.Message += fmt.Sprintf(" (${%s} is not set)", strings.Join(vars, "}, ${"))
		}
	}
	slices.SortStableFunc(probs, func(a, b *Problem) int {
		switch {
		case a.Line == b.Line:
			return 0
		case a.Line == 0:
			return 1
		case b.Line == 0:
			return -1
		}
		return a.Line - b.Line
	})
	return probs
}

// lineOf returns the line of exactly this key path, and whether the file has it (m may be nil: a
// config built in code).
func (m *meta) lineOf(path string) (int, bool) {
	if m == nil {
		return 0, false
	}
	l, ok := m.lines[path]
	return l, ok
}

func (m *meta) line(path string) int {
	for path != "" {
		if l, ok := m.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
	return 0
}

// secretValues returns the values no problem or warning may quote: every
// credential's (also one filled from a MEDIASYNC_* variable), and every
// value that came from a secret variable ([secretVar]) with the variable's
// own value.
func (c *Config) secretValues() []string {
	var out []string
	if c.meta != nil {
		out = append(out, c.meta.secrets...)
	}
	for i := range numCreds {
		if v := c.Credentials.field(i).Reveal(); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// redact replaces, in each problem's message, every quoted occurrence of a
// secret value with "[redacted]", and every bare occurrence of one of 4
// bytes or more (shorter ones would also hit ordinary words and numbers).
// Messages quote the values they echo, so that covers them; the longest
// secrets go first so that a secret holding another is hidden whole.
func redact(probs []*Problem, secrets []string) []*Problem {
	if len(secrets) == 0 {
		return probs
	}
	secrets = slices.Clone(secrets)
	slices.SortFunc(secrets, func(a, b string) int { return len(b) - len(a) })
	for _, p := range probs {
		for _, s := range secrets {
			if s == "" {
				continue
			}
			p.Message = strings.ReplaceAll(p.Message, strconv.Quote(s), strconv.Quote(redacted))
			if len(s) >= 4 {
				p.Message = strings.ReplaceAll(p.Message, s, redacted)
			}
		}
	}
	return probs
}

func joinProblems(probs []*Problem) error {
	if len(probs) == 0 {
		return nil
	}
	errs := make([]error, 0, min(len(probs), maxProblems)+1)
	for i, p := range probs {
		if i == maxProblems {
			errs = append(errs, &Problem{File: p.File, Message: fmt.Sprintf("... and %d more problems", len(probs)-maxProblems)})
			break
		}
		errs = append(errs, p)
	}
	return errors.Join(errs...)
}
