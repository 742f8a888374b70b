package alttext

import (
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Normalize returns s as alt text: cleaned as the package comment describes
// and, if longer than [MaxLen] runes, cut at a word boundary (a hard cut,
// never inside a combined character, when there is none in the second half of
// the limit) and ended with "…" unless the kept part ends a sentence. The
// result is at most MaxLen runes; truncated reports the cut. Normalize is
// idempotent, so the agent may apply it to text given on the command line too.
func Normalize(s string) (text string, truncated bool) {
	return truncate(clean(s), MaxLen)
}

// clean returns s as valid UTF-8 with "\n" line breaks and without control
// characters, trailing spaces on lines, runs of blank lines, or surrounding
// space. It is one pass: spaces and line breaks are held back until a visible
// character shows they are inside the text.
func clean(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	newlines := 0 // line breaks held back
	spaces := -1  // start in s of the spaces held back, -1 for none
	tabs := false // they include a tab, vertical tab or form feed
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		at := i
		i += n
		switch {
		case r == utf8.RuneError && n <= 1:
			// an invalid byte: dropped
		case r == '\r' || r == '\n' || r == '\u0085' || r == '\u2028' || r == '\u2029':
			if r == '\r' && i < len(s) && s[i] == '\n' {
				i++
			}
			newlines++
			spaces, tabs = -1, false // trailing spaces of the line: dropped
		case unicode.IsSpace(r):
			if spaces < 0 {
				spaces = at
			}
			tabs = tabs || r == '\t' || r == '\v' || r == '\f'
		case unicode.IsControl(r), r == '\uFEFF', r == utf8.RuneError, r == '\uFFFE', r == '\uFFFF':
			// NUL, other C0/C1 controls, byte order marks, replacement and
			// non-characters: dropped (they do not end a run of spaces)
		default:
			if b.Len() > 0 {
				b.WriteString("\n\n"[:min(newlines, 2)])
				if spaces >= 0 {
					writeSpaces(&b, s[spaces:at], tabs)
				}
			}
			newlines, spaces, tabs = 0, -1, false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// writeSpaces writes a run of spaces, with tabs, vertical tabs and form feeds
// as spaces, and without the control characters clean drops from within it.
func writeSpaces(b *strings.Builder, run string, tabs bool) {
	if !tabs && strings.IndexFunc(run, func(r rune) bool { return !unicode.IsSpace(r) }) < 0 {
		b.WriteString(run)
		return
	}
	for _, r := range run {
		switch {
		case r == '\t' || r == '\v' || r == '\f':
			b.WriteByte(' ')
		case unicode.IsSpace(r):
			b.WriteRune(r)
		}
	}
}

// truncate cuts s to at most limit runes, as [Normalize] describes.
func truncate(s string, limit int) (string, bool) {
	if utf8.RuneCountInString(s) <= limit {
		return s, false
	}
	keep := limit - 1 // room for "…"
	end := 0
	for range keep {
		_, n := utf8.DecodeRuneInString(s[end:])
		end += n
	}
	cut := end
	if next, _ := utf8.DecodeRuneInString(s[end:]); !unicode.IsSpace(next) {
		if i := strings.LastIndexFunc(s[:end], unicode.IsSpace); i >= 0 && utf8.RuneCountInString(s[:i]) >= keep/2 {
			cut = i
		} else {
			cut = clusterStart(s, end)
		}
	}
	out := strings.TrimRightFunc(s[:cut], func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;:-–—", r)
	})
	if out == "" {
		out = strings.TrimRightFunc(s[:end], unicode.IsSpace) // only punctuation before the cut: cut hard
	}
	if last, _ := utf8.DecodeLastRuneInString(out); !strings.ContainsRune(".!?…。！？", last) {
		out += "…"
	}
	return out, true
}

// clusterStart moves the cut at byte i of s back until it does not split a
// combined character: a base and its combining marks, variation selectors,
// emoji modifiers, a zero-width-joiner sequence, or a regional-indicator flag.
func clusterStart(s string, i int) int {
	for i > 0 {
		next, _ := utf8.DecodeRuneInString(s[i:])
		prev, n := utf8.DecodeLastRuneInString(s[:i])
		switch {
		case extends(next), prev == '\u200D':
		case isRegional(next) && isRegional(prev) && regionalRun(s[:i])%2 == 1:
		default:
			return i
		}
		i -= n
	}
	return i
}

func extends(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) ||
		r == '\u200D' || // zero width joiner
		(r >= '\uFE00' && r <= '\uFE0F') || (r >= 0xE0100 && r <= 0xE01EF) || // variation selectors
		(r >= 0x1F3FB && r <= 0x1F3FF) || // emoji skin-tone modifiers
		(r >= 0xE0020 && r <= 0xE007F) // emoji tag sequences
}

func isRegional(r rune) bool { return r >= 0x1F1E6 && r <= 0x1F1FF }

// regionalRun counts the regional indicators that end s.
func regionalRun(s string) int {
	n := 0
	for s != "" {
		r, size := utf8.DecodeLastRuneInString(s)
		if !isRegional(r) {
			break
		}
		n++
		s = s[:len(s)-size]
	}
	return n
}

// placeholders are ImageDescription values cameras and phones write on their
// own. They describe nothing, so they are never used as alt text.
var placeholders = []string{
	"OLYMPUS DIGITAL CAMERA",
	"SONY DSC",
	"KONICA MINOLTA DIGITAL CAMERA",
	"MINOLTA DIGITAL CAMERA",
	"SAMSUNG DIGITAL CAMERA",
	"NIKON DIGITAL CAMERA",
	"PENTAX DIGITAL CAMERA",
	"SANYO DIGITAL CAMERA",
	"FUJIFILM DIGITAL CAMERA",
	"KODAK Digital Still Camera",
	"DIGITAL CAMERA",
	"default",
	"binary comment",
}

func isPlaceholder(s string) bool {
	for _, p := range placeholders {
		if strings.EqualFold(s, p) {
			return true
		}
	}
	return false
}

// decode8 decodes text of an undeclared 8-bit encoding: UTF-8 when the bytes
// are valid UTF-8 (text in another encoding almost never is, once it has a
// byte above 0x7F), else Windows-1252.
func decode8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return decode1252(b)
}

// decodeText decodes a sidecar: UTF-8 (with or without a byte order mark),
// UTF-16 with a byte order mark (Windows Notepad's "Unicode"), else as decode8.
func decodeText(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		return string(b[3:]) // invalid bytes are dropped by clean
	case len(b) >= 2 && b[0] == 0xFF && b[1] == 0xFE:
		return decodeUTF16(b[2:], false)
	case len(b) >= 2 && b[0] == 0xFE && b[1] == 0xFF:
		return decodeUTF16(b[2:], true)
	}
	return decode8(b)
}

// bomOf returns the byte order mark that raw (a sidecar's start) begins
// with, as decodeText reads it; nil for none.
func bomOf(raw []byte) []byte {
	switch {
	case len(raw) >= 3 && raw[0] == 0xEF && raw[1] == 0xBB && raw[2] == 0xBF:
		return raw[:3:3]
	case len(raw) >= 2 && (raw[0] == 0xFF && raw[1] == 0xFE || raw[0] == 0xFE && raw[1] == 0xFF):
		return raw[:2:2]
	}
	return nil
}

// splitPartial splits a piece of a sidecar (whose text, after its first skip
// bytes, is as the BOM at its start says) before a character that the end of
// the piece cuts in two: a lone byte or high surrogate of UTF-16, or the
// start of a multi-byte UTF-8 sequence. Without it, a UTF-8 piece cut inside
// a character would be invalid and so decoded as Windows-1252. (A
// Windows-1252 text ending in such a byte loses it to the next piece too.)
func splitPartial(b []byte, skip int) (whole, tail []byte) {
	if len(b) <= skip {
		return b, nil
	}
	if skip == 2 { // UTF-16
		end := len(b) - (len(b)-skip)%2
		if end-2 >= skip {
			var u uint16
			if b[0] == 0xFE {
				u = uint16(b[end-2])<<8 | uint16(b[end-1])
			} else {
				u = uint16(b[end-1])<<8 | uint16(b[end-2])
			}
			if u >= 0xD800 && u < 0xDC00 {
				end -= 2
			}
		}
		return b[:end], b[end:]
	}
	for k := 1; k <= utf8.UTFMax-1 && len(b)-k >= skip; k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			break // ASCII: nothing cut
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-k:]) {
				return b[:len(b)-k], b[len(b)-k:]
			}
			break
		}
	}
	return b, nil
}

func decodeUTF16(b []byte, bigEndian bool) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		if bigEndian {
			u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		} else {
			u[i] = uint16(b[2*i+1])<<8 | uint16(b[2*i])
		}
	}
	return string(utf16.Decode(u))
}

// win1252 maps bytes 0x80-0x9F of Windows-1252; 0 marks the five unassigned.
// The other bytes are Latin-1, that is their own code point.
var win1252 = [32]rune{
	'€', 0, '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', 0, 'Ž', 0,
	0, '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', 0, 'ž', 'Ÿ',
}

func decode1252(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		switch {
		case c < 0x80:
			sb.WriteByte(c)
		case c < 0xA0:
			if r := win1252[c-0x80]; r != 0 {
				sb.WriteRune(r)
			}
		default:
			sb.WriteRune(rune(c))
		}
	}
	return sb.String()
}
