package config

import (
	"errors"
	"fmt"
	"strings"
)

// expansion is the result of expanding ${VAR} references in one value.
type expansion struct {
	value   string
	literal bool     // the value has text of its own besides references (a literal secret)
	text    string   // that text: the value without what references expanded to
	unset   []string // variables referenced without a default that are not set
	refs    []string // every variable referenced
}

// expand replaces ${NAME} with the variable's value ("" when unset, and
// listed in unset: the decoder makes that an error except for credentials)
// and
// ${NAME:-default} with the value, or default when the variable is unset or
// empty. "$${" is a literal "${". A "$" not followed by "{" is kept, so
// passwords with "$" in them survive. When secret is true the error never
// quotes any part of s.
func expand(s string, lookup func(string) (string, bool), secret bool) (expansion, error) {
	var (
		b, lit strings.Builder
		out    expansion
	)
	for i := 0; i < len(s); {
		rest := s[i:]
		if strings.HasPrefix(rest, "$${") {
			b.WriteString("${")
			lit.WriteString("${")
			out.literal = true
			i += 3
			continue
		}
		if !strings.HasPrefix(rest, "${") {
			b.WriteByte(s[i])
			lit.WriteByte(s[i])
			out.literal = true
			i++
			continue
		}
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return expansion{}, errors.New(`unterminated "${" (write "$${" for a literal "${")`)
		}
		expr := rest[2:end]
		name, def, hasDef := strings.Cut(expr, ":-")
		if !validEnvName(name) {
			if secret {
				return expansion{}, errors.New(`invalid ${...} reference: a variable name is letters, digits and "_", not starting with a digit`)
			}
			return expansion{}, fmt.Errorf("invalid reference %q: a variable name is letters, digits and \"_\", not starting with a digit", "${"+expr+"}")
		}
		v, ok := lookup(name)
		out.refs = append(out.refs, name)
		switch {
		case hasDef && v == "":
			v = def
		case !ok:
			out.unset = append(out.unset, name)
		}
		if hasDef && def != "" {
			out.literal = true
			lit.WriteString(def)
		}
		b.WriteString(v)
		i += end + 1
	}
	out.value = b.String()
	out.text = lit.String()
	return out, nil
}

// authScheme reports whether text, the literal part of a secret, is only an
// HTTP authentication scheme such as "Bearer " (from "Bearer ${TOKEN}"),
// which is not itself a secret.
func authScheme(text string) bool {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case "bearer", "basic", "token", "bot", "digest", "apikey":
		return true
	}
	return false
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// fallsBack reports whether the key at path may reference a variable that
// is not set: the credentials, which Load then fills from their MEDIASYNC_*
// variable and, if that is not set either, [Credentials.Missing] names the
// unset reference when a command needs the credential. So `mediasync status`
// and `get` work on a machine without the credentials, and
// "consumer_secret: ${MEDIASYNC_CONSUMER_SECRET}" means the same as leaving
// the key out.
func fallsBack(path string) bool {
	for _, k := range credKeys {
		if path == "credentials."+k.key {
			return true
		}
	}
	return false
}

// unsetList formats unset variable names for a message: "${A} is", or
// "${A}, ${B} are".
func unsetList(names []string) string {
	if len(names) == 1 {
		return "${" + names[0] + "} is"
	}
	return "${" + strings.Join(names, "}, ${") + "} are"
}

// secretWords mark a variable whose value is a secret: no message of this
// package quotes it, even when it ends up in a key that is not a
// credential (workers: ${API_TOKEN} is a slip whose error must not print
// the token).
var secretWords = []string{"SECRET", "TOKEN", "PASSWORD", "PASSWD", "PASSPHRASE", "KEY", "CREDENTIAL", "AUTH", "PRIVATE"}

// secretVar reports whether a variable's value is treated as a secret: the
// MEDIASYNC_* credential variables and any name holding one of
// [secretWords] (case-insensitive).
func secretVar(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}
