package config

import (
	"fmt"
	"net"
	"net/url"
	"runtime"
	"slices"
	"strings"
)

// Warnings returns what is allowed but probably not meant, one line each,
// "FILE:LINE: key.path: message" like a [Problem] (file and line only for
// a config from [Load]):
//   - the file holds a credential written in it (not only ${VAR}
//     references) and is accessible by group or others (mode & 0o077; not
//     checked on Windows);
//   - a credential written in the file that api.auth does not use;
//   - the deprecated metrics.listen (now http.listen);
//   - http.listen reachable from other machines: without http.token run refuses to start, and
//     with one the token travels in clear over plain http;
//   - api.base_url over plain http to a host other than loopback;
//   - an on_upload or notify command whose program is not found in PATH,
//     does not exist or is not executable (the agent's PATH as a service
//     may differ, so this is not an error);
//   - notify headers sent over plain http to a host other than loopback (a
//     header naming an unset ${VAR} is an error of Load, not a warning).
//
// Zero folders is not a warning here: the commands that need folders say so.
// Call it on a config that passed [Load] or [Config.Validate].
func (c *Config) Warnings() []string {
	var ws []*Problem
	add := func(path, format string, args ...any) {
		ws = append(ws, &Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if m := c.meta; m != nil && runtime.GOOS != "windows" && m.mode&0o077 != 0 && len(m.literal) > 0 {
		ws = append(ws, &Problem{Message: fmt.Sprintf(
			"holds %s written in the file and is accessible by group or others (mode %04o); run chmod 600 %s, or use ${VAR} references",
			strings.Join(m.literal, ", "), m.mode, m.file), Line: -1})
	}
	if c.meta != nil {
		used := []int{0, 1, 2, 3}
		if c.API.Auth == AuthOAuth2 {
			used = []int{4, 5, 6}
		}
		for i, k := range credKeys {
			kp := "credentials." + k.key
			if _, inFile := c.meta.lines[kp]; inFile && *c.Credentials.field(i) != "" && !slices.Contains(used, i) {
				add(kp, "is set but api.auth is %s, which does not use it", c.API.Auth)
			}
		}
	}
	if _, inFile := c.meta.lineOf("metrics.listen"); inFile || (c.meta == nil && c.Metrics.Listen != "") {
		add("metrics.listen", "is deprecated: write it as http.listen (the listener also serves the status page and its API)")
	}
	if l := c.HTTP.Listen; l != "" {
		if host, _, err := net.SplitHostPort(l); err == nil && !isLoopback(host) {
			if c.HTTP.Token == "" {
				add(c.listenKey(), "%q is reachable from other machines and http.token is not set: run refuses to start; set http.token (${%s}), or use 127.0.0.1:PORT and an SSH tunnel", l, HTTPTokenEnv)
			} else {
				add(c.listenKey(), "%q serves the status page beyond this machine: http.token and the session cookie travel in clear over plain http; prefer 127.0.0.1:PORT and an SSH tunnel, or a TLS proxy", l)
			}
		}
	}
	if u, err := url.Parse(c.API.BaseURL); err == nil && u.Scheme == "http" && !isLoopback(u.Hostname()) {
		add("api.base_url", "plain http to %s: media and any bearer token travel unencrypted", u.Hostname())
	}
	c.notifyWarnings(add)
	ws = redact(c.meta.locate(ws), c.secretValues())
	out := make([]string, len(ws))
	for i, w := range ws {
		if w.Line < 0 {
			w.Line = 0
		}
		out[i] = w.Error()
	}
	return out
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Missing returns the credentials that version and auth need but are
// empty, each as "key (or MEDIASYNC_KEY)"; when the config referenced a
// ${VAR} that is not set, it names that too: "consumer_key (${MY_KEY} is
// not set; or set MEDIASYNC_CONSUMER_KEY)". OAuth 1.0a (v1.1, or v2 with
// auth oauth1) needs the consumer key and secret and the access token and
// secret; v2 with oauth2 needs either a fixed bearer token (which then wins)
// or the client id (the grant itself is in the token file, which
// `mediasync auth login` writes; whether it exists is not checked here).
// Nil when none is missing.
func (c Credentials) Missing(version, auth string) []string {
	need := []int{0, 1, 2, 3}
	if auth == AuthOAuth2 && version != VersionV11 {
		if c.BearerToken != "" {
			return nil
		}
		need = []int{5}
	}
	var out []string
	for _, i := range need {
		if *c.field(i) != "" {
			continue
		}
		k := credKeys[i]
		var vars []string
		if c.unset != nil {
			for _, v := range c.unset[i] {
				if v != k.env && !slices.Contains(vars, v) {
					vars = append(vars, v)
				}
			}
		}
		if len(vars) > 0 {
			out = append(out, fmt.Sprintf("%s (${%s} is not set; or set %s)", k.key, strings.Join(vars, "}, ${"), k.env))
		} else {
			out = append(out, fmt.Sprintf("%s (or %s)", k.key, k.env))
		}
	}
	return out
}
