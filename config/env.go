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
}

// expand replaces ${NAME} with the variable's value ("" when unset) and
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
