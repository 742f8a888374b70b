package config

import (
	"fmt"
	"net/textproto"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"unicode"
)

// validateHook checks a folder's on_upload and expands "~/" in its program.
func validateHook(k *checker, path string, h *Hook) {
	if len(h.Command) == 0 {
		if len(h.Env) > 0 {
			k.add(path+".env", "is set but %s.command is empty", path)
		}
		return
	}
	checkCommand(k, path+".command", h.Command)
	if h.Timeout <= 0 {
		k.add(path+".timeout", "must be longer than 0, e.g. %s", Duration(DefaultHookTimeout))
	}
	checkEnvNames(k, path+".env", h.Env, ReservedHookEnv())
}

// checkCommand checks an argv: a program that is an absolute path ("~/"
// expanded in place) or a bare name looked up in PATH. A relative path
// would be taken relative to the folder, the command's working directory,
// which is a trap.
func checkCommand(k *checker, path string, argv []string) {
	for i, a := range argv {
		if strings.ContainsRune(a, 0) {
			k.add(fmt.Sprintf("%s[%d]", path, i), "contains a NUL byte")
		}
	}
	prog := argv[0]
	switch {
	case strings.TrimSpace(prog) == "":
		k.add(path+"[0]", "the program is empty; write a list: [/usr/local/bin/post.sh, --flag]")
	case prog != strings.TrimSpace(prog):
		k.add(path+"[0]", "%q has surrounding spaces; the command is a list of arguments, not a shell line: [prog, arg1, arg2] (or [sh, -c, \"...\"] for a shell)", prog)
	case strings.ContainsRune(prog, ' ') && len(argv) == 1 && !filepath.IsAbs(prog) && !strings.HasPrefix(prog, "~"):
		k.add(path+"[0]", "%q is one argument with spaces; the command is a list, not a shell line: write [%s] (or [sh, -c, %q] for a shell)", prog, strings.Join(strings.Fields(prog), ", "), prog)
	case strings.ContainsAny(prog, `/\`) || prog == "~":
		abs, msg := resolvePath(prog, "")
		if msg != "" {
			k.add(path+"[0]", "%s; give an absolute path, or a program name found in PATH", msg)
			return
		}
		argv[0] = abs
	}
}

// checkEnvNames checks a list of variable names passed on to a command.
func checkEnvNames(k *checker, path string, names, reserved []string) {
	seen := map[string]bool{}
	for i, name := range names {
		kp := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !validEnvName(name):
			k.add(kp, "%q is not a variable name (letters, digits and _, not starting with a digit); list names, not NAME=value", name)
		case slices.Contains(reserved, name):
			k.add(kp, "%s is set by mediasync for the command; leave it out", name)
		case seen[name]:
			k.add(kp, "%s is listed twice", name)
		}
		seen[name] = true
	}
}

func (c *Config) validateNotify(k *checker) {
	for i := range c.Notify {
		n := &c.Notify[i]
		np := fmt.Sprintf("notify[%d]", i)
		url := n.URL.Reveal()
		switch {
		case url == "" && len(n.Command) == 0:
			k.add(np+".url", "is empty; a target needs url (a webhook) or command")
		case url != "" && len(n.Command) > 0:
			k.add(np, "has both url and command; make them two targets")
		case url != "":
			if msg := checkNotifyURL(url); msg != "" {
				k.add(np+".url", "%s", msg)
			}
			if len(n.Env) > 0 {
				k.add(np+".env", "is for command targets; a webhook gets no environment")
			}
			checkHeaders(k, np+".headers", n.Headers)
		default:
			checkCommand(k, np+".command", n.Command)
			checkEnvNames(k, np+".env", n.Env, nil)
			if len(n.Headers) > 0 {
				k.add(np+".headers", "is for url targets; a command gets the payload on stdin")
			}
		}
		if n.Events != nil && len(n.Events) == 0 {
			k.add(np+".events", "lists no events; leave it out to get every event")
		}
		seen := map[string]bool{}
		for j, e := range n.Events {
			kp := fmt.Sprintf("%s.events[%d]", np, j)
			if oneOf(k, kp, e, NotifyEvents...) && seen[e] {
				k.add(kp, "%q is listed twice", e)
			}
			seen[e] = true
		}
		if n.Timeout <= 0 {
			k.add(np+".timeout", "must be longer than 0, e.g. %s", Duration(DefaultNotifyTimeout))
		}
	}
}

// checkNotifyURL returns what is wrong with a webhook URL. Messages quote
// its scheme and host at most: the path or query may be the credential.
func checkNotifyURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "is not a valid URL"
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with https:// (or http://)"
	case u.User != nil:
		return "must not hold a user or password; send credentials in headers (Authorization: ...)"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case strings.ContainsFunc(s, unicode.IsSpace):
		return fmt.Sprintf("%s://%s...: contains a space", u.Scheme, u.Host)
	}
	return ""
}

// headersSetByMediasync are the headers a webhook POST gets from the HTTP
// client or the notifier, which the config may not replace.
var headersSetByMediasync = []string{"Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Connection"}

func checkHeaders(k *checker, path string, h map[string]Secret) {
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range h {
			if !yield(name) {
				return
			}
		}
	})
	seen := map[string]string{}
	for _, name := range names {
		kp := joinPath(path, name)
		canon := textproto.CanonicalMIMEHeaderKey(name)
		switch {
		case !validHeaderName(name):
			k.add(kp, "%q is not a valid header name", name)
			continue
		case slices.Contains(headersSetByMediasync, canon):
			k.add(kp, "%s is set by mediasync; leave it out", canon)
			continue
		case seen[canon] != "":
			k.add(kp, "is the same header as %q (names are case-insensitive)", seen[canon])
			continue
		}
		seen[canon] = name
		if strings.ContainsFunc(h[name].Reveal(), func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) {
			k.add(kp, "the value has a line break or control character")
		}
	}
}

// validHeaderName reports whether s is an HTTP field name (a token, RFC 9110 §5.1).
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return true
}

// commandWarning says when a command's program cannot be found or run as
// the config stands, "" when it can. The agent's PATH under a service
// manager may differ from the shell's, so this is a warning, not an error.
func commandWarning(argv []string) string {
	if len(argv) == 0 || argv[0] == "" {
		return ""
	}
	prog := argv[0]
	if !filepath.IsAbs(prog) {
		if strings.ContainsAny(prog, `/\`) {
			return "" // refused by Validate
		}
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Sprintf("program %q is not found in PATH (a service may run with another PATH than your shell; an absolute path avoids the doubt)", prog)
		}
		return ""
	}
	st, err := os.Stat(prog)
	switch {
	case err != nil:
		return fmt.Sprintf("program %q cannot be used: %s", prog, pathErrText(err))
	case st.IsDir():
		return fmt.Sprintf("program %q is a directory", prog)
	case st.Mode()&0o111 == 0 && os.PathSeparator == '/':
		return fmt.Sprintf("program %q is not executable (chmod +x it)", prog)
	}
	return ""
}

// notifyWarnings returns the warnings of the notify targets.
func (c *Config) notifyWarnings(add func(path, format string, args ...any)) {
	for i, n := range c.Notify {
		np := fmt.Sprintf("notify[%d]", i)
		if w := commandWarning(n.Command); w != "" && n.URL == "" {
			add(np+".command", "%s", w)
		}
		if u, err := url.Parse(n.URL.Reveal()); err == nil && u.Scheme == "http" && len(n.Headers) > 0 && !isLoopback(u.Hostname()) {
			add(np+".url", "plain http to %s: the headers travel unencrypted", u.Hostname())
		}
	}
	for i, f := range c.Folders {
		if w := commandWarning(f.OnUpload.Command); w != "" {
			add(fmt.Sprintf("folders[%d].on_upload.command", i), "%s", w)
		}
	}
}
