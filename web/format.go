package web

import (
	"fmt"
	"math"
	"path"
	"strings"
	"unicode"

	"github.com/mediasync/mediasync/manifest"
)

// scrubber removes from a backend's text what an answer must never show: the credentials (replaced
// by "[redacted]") and absolute paths outside the folders (shortened to "…/NAME"). Paths inside a
// folder, and the folder paths themselves, stay as they are; with keepPaths (the owner-only
// control socket, whose caller can read the config and the manifests anyway) every path does.
type scrubber struct {
	secrets   []string
	folders   []string
	keepPaths bool
}

// minRedact is the shortest value redacted: a shorter one is no credential (X's are 25 characters
// and more, a token at least [MinTokenLen]), and replacing it would garble ordinary words.
const minRedact = 8

func newScrubber(opts Options, folders []Folder) scrubber {
	s := scrubber{}
	for _, v := range append([]string{opts.Token}, opts.Redact...) {
		if len(v) >= minRedact {
			s.secrets = append(s.secrets, v)
		}
	}
	for _, f := range folders {
		if p := strings.TrimRight(f.Path, "/"); p != "" {
			s.folders = append(s.folders, p)
		}
	}
	return s
}

// pathStart reports whether an absolute path may start after the byte before it: at the start, or
// after a space, a quote, a bracket or '='. A '/' after ':' (a URL) or inside a word is not one.
func pathStart(text string, i int) bool {
	return i == 0 || strings.IndexByte(" \t\r\n\"'`([{<=,", text[i-1]) >= 0
}

// pathEnd returns the index where the path starting at text[i] ends: at a space, a quote, a
// bracket, a comma or semicolon, or a colon or full stop followed by a space or the end.
func pathEnd(text string, i int) int {
	for j := i; j < len(text); j++ {
		switch c := text[j]; {
		case strings.IndexByte(" \t\r\n\"'`()[]{}<>,;|", c) >= 0:
			return j
		case (c == ':' || c == '.') && (j+1 == len(text) || text[j+1] == ' '):
			return j // "open PATH: ...", or the end of a sentence
		}
	}
	return len(text)
}

// redact replaces the credentials in text, and only them.
func (s scrubber) redact(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "[redacted]")
	}
	return text
}

// text redacts the credentials in text and shortens the paths outside the folders.
func (s scrubber) text(text string) string {
	text = s.redact(text)
	if s.keepPaths || !strings.Contains(text, "/") {
		return text
	}
	var b strings.Builder
	i := 0
	for i < len(text) {
		c := text[i]
		if c != '/' || !pathStart(text, i) {
			b.WriteByte(c)
			i++
			continue
		}
		if f := s.folderAt(text[i:]); f != "" {
			// A folder's own path, or a path inside it: keep, up to where that path ends.
			end := i + len(f)
			if end < len(text) && text[end] == '/' {
				end = pathEnd(text, end)
			}
			b.WriteString(text[i:end])
			i = end
			continue
		}
		end := pathEnd(text, i)
		p := text[i:end]
		if base := path.Base(p); p == "/" || base == "/" || base == "." {
			b.WriteString(p)
		} else {
			b.WriteString("…/" + base)
		}
		i = end
	}
	return b.String()
}

// folderAt returns the longest folder whose path starts rest at a path boundary.
func (s scrubber) folderAt(rest string) string {
	best := ""
	for _, f := range s.folders {
		if strings.HasPrefix(rest, f) && len(f) > len(best) {
			if len(rest) == len(f) || strings.IndexByte("/ \t\r\n\"'`)]}>,;", rest[len(f)]) >= 0 || pathEnd(rest, len(f)) == len(f) {
				best = f
			}
		}
	}
	return best
}

// status scrubs every text of st a backend wrote (reasons, fixes, messages), in place, and makes
// every absent list an empty one (JSON [] rather than null). Lists are capped by then, so this
// costs little however many entries the folders hold.
func (s scrubber) status(st *Status) {
	if st.Folders == nil {
		st.Folders = []Folder{}
	}
	if st.Paused != nil {
		p := *st.Paused
		p.Message, p.Fix = s.text(p.Message), s.text(p.Fix)
		st.Paused = &p
	}
	for i := range st.Folders {
		f := &st.Folders[i]
		for _, r := range []**Refusal{&f.Refused, &f.Parked} {
			if *r != nil {
				c := **r
				c.Message, c.Fix = s.text(c.Message), s.text(c.Fix)
				*r = &c
			}
		}
		if f.Active == nil {
			f.Active = []Transfer{}
		}
		if f.Recent == nil {
			f.Recent = []Upload{}
		}
		for _, l := range []*Problems{&f.Failed, &f.Skipped, &f.Hooks} {
			items := make([]Problem, len(l.Items))
			for j, p := range l.Items {
				p.Reason, p.Fix = s.text(p.Reason), s.text(p.Fix)
				items[j] = p
			}
			l.Items = items
		}
	}
}

// entry scrubs the texts of a manifest entry a backend returns (error, reason, hook error, and
// where after_upload moved the file), in place.
func (s scrubber) entry(e *manifest.Entry) {
	if e == nil {
		return
	}
	if e.Error != nil {
		c := *e.Error
		c.Message = s.text(c.Message)
		e.Error = &c
	}
	if e.Hook != nil {
		h := *e.Hook
		h.LastError = s.text(h.LastError)
		e.Hook = &h
	}
	e.Reason, e.MovedTo = s.text(e.Reason), s.text(e.MovedTo)
}

// explanation scrubs every text of e a backend wrote, in place. The path asked about is the
// caller's own and stays.
func (s scrubber) explanation(e *Explanation) {
	e.Reason, e.Fix, e.Rule, e.Detail = s.text(e.Reason), s.text(e.Fix), s.text(e.Rule), s.text(e.Detail)
	if e.Entry != nil {
		c := *e.Entry
		s.entry(&c)
		e.Entry = &c
	}
}

// displayName returns a file name as the page shows it: control characters and the invisible
// characters that reorder text (bidi overrides, which can make "gpj.exe" read "exe.jpg") are shown
// as \u escapes, so that what the eye reads is the name. HTML escaping is html/template's job.
func displayName(s string) string {
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			fmt.Fprintf(&b, `\u%04X`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func hidden(r rune) bool {
	return unicode.IsControl(r) || r == unicode.ReplacementChar ||
		(r >= 0x200B && r <= 0x200F) || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0xFEFF
}

// percent returns done of total in whole percent (0 when total is unknown).
func percent(done, total int64) int {
	if total <= 0 {
		return 0
	}
	return int(math.Min(100, math.Floor(float64(done)*100/float64(total))))
}
