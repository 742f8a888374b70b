package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrInvalid is wrapped by every error of this package: a config that does
// not parse or validate, a size or duration that does not parse, a config
// file that cannot be read or found. cmd maps it to exit code 2.
var ErrInvalid = errors.New("invalid configuration")

// Problem is one thing wrong with a configuration. [Load] and
// [Config.Validate] return an [errors.Join] of every Problem found; use
// [Problems] to get them back as a list. Error() reads
// "FILE:LINE: key.path: message", leaving out the parts that are unknown
// (a config built in code has no file or line). A Problem never contains
// the value of a credential.
type Problem struct {
	File    string `json:"file,omitempty"` // the config file; "" for a config built in code
	Line    int    `json:"line,omitempty"` // 1-based line in File; 0 when unknown
	Path    string `json:"path,omitempty"` // key path such as "folders[0].path"; "" for the whole file
	Message string `json:"message"`

	err error // the underlying cause, if any (e.g. an *fs.PathError)
}

// Error formats the problem as "FILE:LINE: key.path: message".
func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Unwrap makes every Problem match [ErrInvalid], and its cause if it has one.
func (p *Problem) Unwrap() []error {
	if p.err != nil {
		return []error{ErrInvalid, p.err}
	}
	return []error{ErrInvalid}
}

// ProblemAt returns a Problem about the key at keyPath ("folders[0].path"),
// with the file and line of that key when c came from [Load], for checks
// only the caller can make (a folder that does not exist). Secret values are
// redacted from the message as in Load's problems.
func (c *Config) ProblemAt(keyPath, format string, args ...any) *Problem {
	p := &Problem{Path: keyPath, Message: fmt.Sprintf(format, args...)}
	redact(c.meta.locate([]*Problem{p}), c.secretValues())
	return p
}

// IsInvalid reports whether err is, or wraps, a configuration problem
// ([ErrInvalid]); cmd maps those to exit code 2.
func IsInvalid(err error) bool { return errors.Is(err, ErrInvalid) }

// Problems returns every [Problem] in err's tree (as built by [Load] and
// [Config.Validate]), in order; nil when there is none.
func Problems(err error) []*Problem {
	var out []*Problem
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if p, ok := e.(*Problem); ok {
			out = append(out, p)
			return
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, x := range u.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}
