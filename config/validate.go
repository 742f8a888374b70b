package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/mediasync/mediasync/uploader"
)

// Validate checks every key of c and returns an [errors.Join] of every
// [Problem] (nil when c is valid), each naming its key path
// ("folders[1].path: ..."); for a config that came from [Load] also its
// file and line. All wrap [ErrInvalid].
//
// Validate also resolves the derived defaults, as Load does: an empty
// api.base_url becomes the default of api.version (a trailing "/" is
// dropped), folder paths are cleaned and "~/" expanded, an empty manifest
// becomes <path>/.mediasync/manifest.json (a relative one is taken
// relative to the folder), and after_upload move:<dir> gets an absolute
// <dir>. It changes nothing else; in particular it never clamps a value.
// Whether the credentials are present is not checked here (see
// [Credentials.Missing]); only that none has surrounding whitespace or a
// control character, a copy-paste slip X would answer with an opaque 401.
func (c *Config) Validate() error {
	return joinProblems(redact(c.meta.locate(c.validate()), c.secretValues()))
}

type checker struct{ probs []*Problem }

func (k *checker) add(path, format string, args ...any) {
	k.probs = append(k.probs, &Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func oneOf(k *checker, path, v string, allowed ...string) bool {
	if slices.Contains(allowed, v) {
		return true
	}
	k.add(path, "%q is not one of: %s", v, strings.Join(allowed, ", "))
	return false
}

func (c *Config) validate() []*Problem {
	k := &checker{}
	c.validateAPI(k)
	c.validateCredentials(k)
	c.validateUpload(k)
	c.validateWatch(k)
	c.validateFolders(k)
	c.validateNotify(k)
	oneOf(k, "log.level", c.Log.Level, "debug", "info", "warn", "error")
	oneOf(k, "log.format", c.Log.Format, "auto", "console", "json")
	c.validateHTTP(k)
	return k.probs
}

// validateHTTP moves the deprecated metrics.listen to http.listen and checks the listener.
func (c *Config) validateHTTP(k *checker) {
	h := &c.HTTP
	if old := c.Metrics.Listen; old != "" {
		switch {
		case h.Listen == "":
			h.Listen = old
		case h.Listen != old:
			k.add("metrics.listen", "is the old name of http.listen, which is set too (to %q); keep only http.listen", h.Listen)
		}
	}
	if l := h.Listen; l != "" {
		if err := checkListen(l); err != nil {
			k.add(c.listenKey(), "%q %s", l, err.Error())
		}
	}
	if v := h.Token.Reveal(); v != "" {
		switch {
		case v != strings.TrimSpace(v) || strings.ContainsFunc(v, unicode.IsControl):
			k.add("http.token", "has surrounding whitespace or a control character (a copy-paste slip?); check the value or %s", HTTPTokenEnv)
		case len(v) < MinHTTPToken:
			k.add("http.token", "is %d characters; use at least %d (a random one: openssl rand -hex 32)", len(v), MinHTTPToken)
		}
	}
}

// listenKey is the key the listen address came from: http.listen, or the deprecated
// metrics.listen when only that one is in the file.
func (c *Config) listenKey() string {
	if c.Metrics.Listen != "" && c.Metrics.Listen == c.HTTP.Listen {
		if _, inFile := c.meta.lineOf("http.listen"); !inFile {
			return "metrics.listen"
		}
	}
	return "http.listen"
}

func (c *Config) validateAPI(k *checker) {
	a := &c.API
	versionOK := true
	switch a.Version {
	case VersionV2, VersionV11:
	case "2", "1.1", "v1", "1", "V2", "V1.1":
		k.add("api.version", "%q is not a version; write v2 or v1.1", a.Version)
		versionOK = false
	default:
		versionOK = oneOf(k, "api.version", a.Version, VersionV2, VersionV11)
	}
	if oneOf(k, "api.auth", a.Auth, AuthOAuth1, AuthOAuth2) && a.Auth == AuthOAuth2 && a.Version == VersionV11 {
		k.add("api.auth", "oauth2 needs api.version v2 (v1.1 speaks OAuth 1.0a only)")
	}
	if a.RedirectURL == "" {
		a.RedirectURL = DefaultRedirectURL
	} else if msg := checkRedirectURL(a.RedirectURL); msg != "" {
		k.add("api.redirect_url", "%s", msg)
	}
	if a.BaseURL == "" {
		if versionOK {
			a.BaseURL = map[string]string{VersionV2: DefaultBaseURLV2, VersionV11: DefaultBaseURLV11}[a.Version]
		}
		return
	}
	if msg := checkBaseURL(a.BaseURL); msg != "" {
		k.add("api.base_url", "%s", msg)
		return
	}
	a.BaseURL = strings.TrimRight(a.BaseURL, "/")
}

// checkBaseURL returns what is wrong with a base URL. Messages quote only
// its scheme, host and path (see quotableURL), never a user, password,
// query or fragment, any of which may hold a token.
func checkBaseURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	q := quotableURL(u)
	switch {
	case u.User != nil:
		return "must not hold a user or password (credentials go under credentials:)"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("%q must start with https:// (or http:// for a local emulator)", q)
	case u.Host == "" || u.Hostname() == "":
		return fmt.Sprintf("%q has no host", q)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.Contains(s, "#"):
		return fmt.Sprintf("%q must not have a query or fragment", q)
	}
	if p := strings.TrimRight(u.Path, "/"); strings.HasSuffix(p, "/2") || strings.HasSuffix(p, "/1.1") || strings.Contains(p, "/media/") || strings.HasSuffix(p, "/media") {
		return fmt.Sprintf("%q names an API path; give the scheme and host only (e.g. https://api.x.com): mediasync adds /2/media/... or /1.1/media/... itself", q)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Sprintf("%q has an invalid port", q)
		}
	}
	return ""
}

// quotableURL returns the part of u an error message may quote:
// scheme://host/path (host with its port), without the user, password,
// query, fragment or an opaque part, which may hold secrets.
func quotableURL(u *url.URL) string {
	var b strings.Builder
	if u.Scheme != "" {
		b.WriteString(u.Scheme + ":")
		if u.Opaque == "" {
			b.WriteString("//")
		}
	}
	if u.Opaque == "" {
		b.WriteString(u.Host)
		b.WriteString(u.EscapedPath())
	}
	return b.String()
}

// checkRedirectURL returns what is wrong with an OAuth 2.0 loopback
// callback: it must be http:// on a loopback host with a port, because X
// sends the browser there and `auth login` must be listening.
func checkRedirectURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	q := quotableURL(u)
	switch {
	case u.Scheme != "http":
		return fmt.Sprintf("%q must start with http:// (a loopback callback such as %s, registered for the app in the developer portal)", q, DefaultRedirectURL)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return fmt.Sprintf("%q must not have a user, query or fragment", q)
	case u.Port() == "":
		return fmt.Sprintf("%q needs a port, e.g. %s", q, DefaultRedirectURL)
	case !isLoopback(u.Hostname()):
		return fmt.Sprintf("%q must name a loopback host (127.0.0.1, [::1] or localhost): `mediasync auth login` listens there", q)
	}
	if n, err := strconv.Atoi(u.Port()); err != nil || n < 1 || n > 65535 {
		return fmt.Sprintf("%q has an invalid port", q)
	}
	return ""
}

// validateCredentials refuses credentials with surrounding whitespace or
// control characters: no OAuth token has them, and a copy-paste slip
// would otherwise surface as X's opaque "32 Could not authenticate you".
// Whether they are present is [Credentials.Missing]'s business.
func (c *Config) validateCredentials(k *checker) {
	for i, key := range credKeys {
		v := c.Credentials.field(i).Reveal()
		if v != strings.TrimSpace(v) || strings.ContainsFunc(v, unicode.IsControl) {
			k.add("credentials."+key.key, "has surrounding whitespace or a control character (a copy-paste slip?); check the value or %s", key.env)
		}
	}
	c.resolveTokenFile(k)
}

// resolveTokenFile makes credentials.token_file absolute: "" is
// <user config dir>/mediasync/token.json (left "" when there is no user
// config dir; the auth commands then say so), "~/" is expanded, a relative
// path is taken relative to the config file's directory.
func (c *Config) resolveTokenFile(k *checker) {
	cr := &c.Credentials
	if cr.TokenFile == "" {
		if dir, err := os.UserConfigDir(); err == nil {
			cr.TokenFile = filepath.Join(dir, "mediasync", TokenFileName)
		}
		return
	}
	base := ""
	if c.Source != "" {
		if abs, err := filepath.Abs(filepath.Dir(c.Source)); err == nil {
			base = abs
		}
	}
	p, msg := resolvePath(cr.TokenFile, base)
	if msg != "" {
		k.add("credentials.token_file", "%s", msg)
		return
	}
	cr.TokenFile = p
}

func (c *Config) validateUpload(k *checker) {
	u := c.Upload
	between := func(path string, v, lo, hi int) {
		if v < lo || v > hi {
			k.add(path, "%d is out of range; must be %d..%d", v, lo, hi)
		}
	}
	between("upload.workers", u.Workers, 1, MaxWorkers)
	between("upload.chunk_parallelism", u.ChunkParallelism, 1, MaxChunkParallelism)
	if u.MaxAttempts < 1 {
		k.add("upload.max_attempts", "%d is out of range; must be at least 1", u.MaxAttempts)
	}
	versionName := VersionV2
	if c.API.Version == VersionV11 {
		versionName = VersionV11
	}
	maxChunk := Size(uploader.MaxChunkSize(versionName))
	switch {
	case u.ChunkSize < 1:
		k.add("upload.chunk_size", "must be at least 1 byte")
	case u.ChunkSize > maxChunk:
		k.add("upload.chunk_size", "%s (%d bytes) is too large; at most %s (%d bytes) on %s", u.ChunkSize, int64(u.ChunkSize), maxChunk, int64(maxChunk), versionName)
	}
	switch {
	case u.SimpleUploadMax < 0:
		k.add("upload.simple_upload_max", "must not be negative (0 = always chunked)")
	case u.SimpleUploadMax > uploader.MaxSimpleUpload:
		k.add("upload.simple_upload_max", "%s is too large; at most %s (the one-shot image limit)", u.SimpleUploadMax, Size(uploader.MaxSimpleUpload))
	}
	if u.BandwidthLimit < 0 {
		k.add("upload.bandwidth_limit", "must not be negative (0 = unlimited)")
	}
	positive := func(path string, d Duration) {
		if d <= 0 {
			k.add(path, "must be longer than 0, e.g. 1m")
		}
	}
	positive("upload.max_backoff", u.MaxBackoff)
	positive("upload.request_timeout", u.RequestTimeout)
	positive("upload.processing_timeout", u.ProcessingTimeout)
}

func (c *Config) validateWatch(k *checker) {
	w := c.Watch
	oneOf(k, "watch.mode", w.Mode, "auto", "notify", "poll")
	if w.Settle.D() < MinSettle {
		k.add("watch.settle", "%s is too short; must be at least %s, e.g. 3s (how long a file must stay unchanged: shorter cannot tell a finished file from one still being written)", w.Settle, Duration(MinSettle))
	}
	switch {
	case w.NetworkSettle.D() < MinSettle:
		k.add("watch.network_settle", "%s is too short; must be at least %s and at least watch.settle, e.g. 20s (network mounts cache file attributes)", w.NetworkSettle, Duration(MinSettle))
	case w.NetworkSettle < w.Settle:
		k.add("watch.network_settle", "%s is shorter than watch.settle (%s); must be at least that, e.g. 20s (network mounts cache file attributes)", w.NetworkSettle, w.Settle)
	}
	if w.PollInterval.D() < MinPollInterval {
		k.add("watch.poll_interval", "%s is too short; must be at least %s, e.g. 30s (each poll lists every folder)", w.PollInterval, Duration(MinPollInterval))
	}
	if w.RescanInterval != 0 && w.RescanInterval.D() < MinRescanInterval {
		k.add("watch.rescan_interval", "%s is out of range; must be 0 (no periodic rescan) or at least %s, e.g. 1h (each rescan walks every folder)", w.RescanInterval, Duration(MinRescanInterval))
	}
	for i, p := range w.Ignore {
		kp := fmt.Sprintf("watch.ignore[%d]", i)
		if msg := checkGlob(p); msg != "" {
			k.add(kp, "%s", msg)
		} else if strings.Contains(p, "/") {
			k.add(kp, "%q contains \"/\"; ignore patterns match file and directory names, not paths", p)
		}
	}
}

func checkGlob(p string) string {
	if p == "" {
		return "empty pattern"
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Sprintf("%q is not a valid glob (unbalanced [ ] or a trailing \\)", p)
	}
	return ""
}

func checkListen(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("is not host:port (e.g. 127.0.0.1:9464)")
	}
	if strings.ContainsAny(host, " /") {
		return fmt.Errorf("has an invalid host")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("has an invalid port (1..65535)")
	}
	return nil
}

// expandHome turns "~" and "~/x" into paths under the user's home directory.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") && !strings.HasPrefix(p, `~`+string(filepath.Separator)) {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p, fmt.Errorf("%q starts with ~ but the home directory is unknown", p)
	}
	return filepath.Join(home, p[1:]), nil
}

// resolvePath expands "~", makes p absolute relative to base (when base is
// not "") and cleans it; when it cannot, it returns a message saying why.
func resolvePath(p, base string) (string, string) {
	p, err := expandHome(p)
	if err != nil {
		return "", err.Error()
	}
	if !filepath.IsAbs(p) {
		if base == "" {
			return "", fmt.Sprintf("%q is not an absolute path", p)
		}
		p = filepath.Join(base, p)
	}
	return filepath.Clean(p), ""
}

func (c *Config) validateFolders(k *checker) {
	valid := make([]bool, len(c.Folders)) // path is absolute: cross-folder checks can use it
	for i := range c.Folders {
		f := &c.Folders[i]
		fp := func(key string) string { return fmt.Sprintf("folders[%d].%s", i, key) }
		if f.Path == "" {
			k.add(fp("path"), "is required: the absolute path of the folder to watch")
		} else if p, msg := resolvePath(f.Path, ""); msg != "" {
			k.add(fp("path"), "%s", msg)
		} else {
			f.Path, valid[i] = p, true
		}
		for _, list := range []struct {
			key   string
			globs []string
		}{{"include", f.Include}, {"exclude", f.Exclude}} {
			for j, g := range list.globs {
				kp := fmt.Sprintf("%s[%d]", fp(list.key), j)
				if msg := checkGlob(g); msg != "" {
					k.add(kp, "%s", msg)
				} else if strings.HasPrefix(g, "/") {
					k.add(kp, "%q starts with \"/\"; patterns are relative to the folder", g)
				}
			}
		}
		oneOf(k, fp("media_category"), f.MediaCategory, MediaCategories...)
		oneOf(k, fp("alt_text"), f.AltText, AltTextModes...)
		if n := len(f.AdditionalOwners); n > uploader.MaxOwners {
			k.add(fp("additional_owners"), "has %d user ids; at most %d", n, uploader.MaxOwners)
		}
		seen := map[string]bool{}
		for j, id := range f.AdditionalOwners {
			kp := fmt.Sprintf("%s[%d]", fp("additional_owners"), j)
			if _, err := strconv.ParseUint(id, 10, 64); err != nil || strings.HasPrefix(id, "+") {
				k.add(kp, "%q is not a numeric user id", id)
			} else if seen[id] {
				k.add(kp, "%q is listed twice", id)
			}
			seen[id] = true
		}
		validateHook(k, fp("on_upload"), &f.OnUpload)
		oneOf(k, fp("fit"), f.Fit, FitModes...)
		if f.FitMaxEdge < MinFitMaxEdge || f.FitMaxEdge > MaxFitMaxEdge {
			k.add(fp("fit_max_edge"), "%d is out of range; must be %d to %d pixels", f.FitMaxEdge, MinFitMaxEdge, MaxFitMaxEdge)
		}
		if f.RefreshBeforeExpiry < 0 || f.RefreshBeforeExpiry.D() >= MaxRefreshBeforeExpiry {
			k.add(fp("refresh_before_expiry"), "%s is out of range; must be 0 (off) or less than 24h (media ids live 24h)", f.RefreshBeforeExpiry)
		}
		switch dir, isMove := strings.CutPrefix(f.AfterUpload, "move:"); {
		case f.AfterUpload == "keep":
		case !isMove:
			k.add(fp("after_upload"), "%q is not keep or move:<dir>", f.AfterUpload)
		case strings.TrimSpace(dir) == "":
			k.add(fp("after_upload"), "move: needs a directory, e.g. move:.uploaded or move:/srv/uploaded")
		case valid[i]:
			if abs, msg := resolvePath(dir, f.Path); msg != "" {
				k.add(fp("after_upload"), "%s", msg)
			} else {
				f.AfterUpload = "move:" + abs
			}
		}
		if valid[i] {
			m := f.Manifest
			if m == "" {
				m = filepath.Join(ManifestDir, ManifestName)
			}
			if abs, msg := resolvePath(m, f.Path); msg != "" {
				k.add(fp("manifest"), "%s", msg)
			} else {
				f.Manifest = abs
			}
		}
	}
	if len(c.Folders) > MaxFolders {
		k.add("folders", "has %d folders; at most %d (watch a common parent instead)", len(c.Folders), MaxFolders)
		return
	}
	c.crossCheckFolders(k, valid)
}

// crossCheckFolders refuses folders that overlap: the same path twice, a
// folder inside another that watches it, a move target another (or the
// same) folder watches, and two folders sharing one manifest.
func (c *Config) crossCheckFolders(k *checker, valid []bool) {
	fs := c.Folders
	for j := range fs {
		if !valid[j] {
			continue
		}
		// One problem per folder and kind: the first clash is enough to act on.
		var dup, nested, manifest bool
		for i := range fs {
			if i == j || !valid[i] {
				continue
			}
			switch {
			case fs[i].Path == fs[j].Path:
				if i < j && !dup {
					k.add(fmt.Sprintf("folders[%d].path", j), "%q is already folders[%d]", fs[j].Path, i)
				}
				dup = true
				continue
			case !nested && c.watches(fs[i], fs[j].Path):
				k.add(fmt.Sprintf("folders[%d].path", j), "%q is inside folders[%d] (%q), which watches it: two manifests would claim the same files; remove one of them, or add the inner directory's name to watch.ignore", fs[j].Path, i, fs[i].Path)
				nested = true
			}
			if i < j && !manifest && fs[i].Manifest != "" && fs[i].Manifest == fs[j].Manifest {
				k.add(fmt.Sprintf("folders[%d].manifest", j), "%q is also the manifest of folders[%d]; each folder needs its own", fs[j].Manifest, i)
				manifest = true
			}
		}
	}
	for i, f := range fs {
		dir := f.MoveDir()
		if !valid[i] || dir == "" || !filepath.IsAbs(dir) {
			continue
		}
		kp := fmt.Sprintf("folders[%d].after_upload", i)
		if dir == f.Path {
			k.add(kp, "move target %q is the folder itself", dir)
			continue
		}
		for g, w := range fs {
			if valid[g] && (dir == w.Path || c.watches(w, dir)) {
				k.add(kp, "move target %q is watched by folders[%d] (%q): moved files would be uploaded again; use a directory outside it, or one whose name starts with \".\"", dir, g, w.Path)
				break
			}
		}
	}
}

// watches reports whether files in directory dir would be seen while
// watching folder f: dir lies inside f (or is f) and, when dir is below f,
// f is recursive and no directory on the way is hidden (".name") or
// matched by watch.ignore (case-insensitively), which the watcher never
// descends into.
//
// This approximates the watcher's rules (config does not import watcher):
// the hidden-name rule and the case-insensitive watch.ignore match are the
// same, but the watcher also skips built-in names (@eaDir, #recycle,
// $RECYCLE.BIN, "*.tmp", ...) that are not replicated here. So watches may
// say true where the watcher would skip the directory, never the reverse:
// the overlap checks can refuse a safe config (naming the directory in
// watch.ignore resolves it), never accept an overlapping one.
func (c *Config) watches(f Folder, dir string) bool {
	rel, err := filepath.Rel(f.Path, dir)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return false
	}
	if rel == "." {
		return true
	}
	if !f.Recursive {
		return false
	}
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		if strings.HasPrefix(part, ".") {
			return false
		}
		lower := strings.ToLower(part)
		for _, g := range c.Watch.Ignore {
			if ok, _ := path.Match(strings.ToLower(g), lower); ok {
				return false
			}
		}
	}
	return true
}
