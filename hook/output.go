package hook

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// capture is the io.Writer a command's stdout and stderr go to. It keeps the first maxLines lines
// within maxBytes and counts the rest; Write never fails, so the copy from the pipe always drains
// it and a chatty command never blocks.
type capture struct {
	mu       sync.Mutex
	maxLines int
	maxBytes int
	kept     bytes.Buffer
	keptN    int  // lines kept (complete or not)
	full     bool // nothing more is kept
	lines    int  // newlines seen
	total    int64
	partial  bool // the last byte seen was not a newline
}

func newCapture(maxLines, maxBytes int) *capture {
	return &capture{maxLines: maxLines, maxBytes: maxBytes}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	c.lines += bytes.Count(p, []byte{'\n'})
	if len(p) > 0 {
		c.partial = p[len(p)-1] != '\n'
	}
	for rest := p; len(rest) > 0 && !c.full; {
		line, after, nl := bytes.Cut(rest, []byte{'\n'})
		if nl {
			line = rest[:len(line)+1]
		}
		if room := c.maxBytes - c.kept.Len(); len(line) > room {
			c.kept.Write(line[:max(room, 0)])
			c.full = true
			break
		}
		c.kept.Write(line)
		if nl {
			c.keptN++
			if c.keptN >= c.maxLines {
				c.full = true
			}
		}
		rest = after
	}
	return len(p), nil
}

// result returns the kept output, made safe for a log, with a last line saying what was left
// out, and the totals.
func (c *capture) result() (string, int, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	lines := c.lines
	if c.partial {
		lines++
	}
	kept := c.kept.String()
	out := sanitize(kept)
	if left := c.total - int64(len(kept)); left > 0 {
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += "\n"
		}
		out += fmt.Sprintf("[%d more bytes, %d lines in all, not shown]", left, lines)
	}
	return strings.TrimSuffix(out, "\n"), lines, c.total
}

// sanitize returns s as valid UTF-8 without control characters other than newline and tab, so that
// a command's output cannot forge log lines or send escape sequences to a terminal.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return -1
		case unicode.IsControl(r):
			return '\uFFFD'
		}
		return r
	}, s)
}

func firstLine(s string) string {
	for line := range strings.Lines(s) {
		if l := strings.TrimSpace(line); l != "" {
			return l
		}
	}
	return ""
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut with "…".
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
