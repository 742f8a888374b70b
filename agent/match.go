package agent

import (
	"fmt"
	"path"
	"strings"
)

// mediaExtensions are the file name extensions that are candidates when a folder has no include
// patterns: what X accepts (API.md §1.7), plus the photo formats X refuses (HEIC, HEIF, AVIF), so that
// an iPhone photo dropped in the folder gets a manifest entry that says why it was skipped instead of
// being ignored in silence.
var mediaExtensions = map[string]bool{
	".jpg": true, ".jpeg": true, ".jpe": true, ".png": true, ".gif": true, ".webp": true,
	".bmp": true, ".tif": true, ".tiff": true,
	".mp4": true, ".m4v": true, ".mov": true, ".webm": true, ".ts": true,
	".srt": true, ".vtt": true,
	".heic": true, ".heif": true, ".avif": true,
}

// Candidate reports whether a file name has one of the media extensions mediasync considers by
// default (case-insensitive).
func Candidate(name string) bool {
	return mediaExtensions[strings.ToLower(path.Ext(name))]
}

// Matcher returns the file filter of a folder's include and exclude globs. A pattern that contains
// a "/" is matched against the path relative to the folder; any other against the file's base name.
// Matching is case-insensitive, as on the file systems photographers use. With no include patterns,
// every [Candidate] is included. Exclude wins over include.
func Matcher(include, exclude []string) (func(rel string) bool, error) {
	m, err := newMatcher(include, exclude)
	if err != nil {
		return nil, err
	}
	return func(rel string) bool {
		ok, _ := m.included(strings.ToLower(rel))
		return ok
	}, nil
}

// matcher holds a folder's include and exclude patterns, lowercased.
type matcher struct{ inc, exc, incRaw, excRaw []string }

func newMatcher(include, exclude []string) (*matcher, error) {
	inc, err := lowerPatterns(include)
	if err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	exc, err := lowerPatterns(exclude)
	if err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	return &matcher{inc: inc, exc: exc, incRaw: include, excRaw: exclude}, nil
}

// included reports whether the lowercased rel is included, and when an exclude pattern refused
// it, that pattern's index (else -1). It formats nothing: the watcher asks it of every file.
func (m *matcher) included(lower string) (ok bool, exc int) {
	if i := matchIndex(m.exc, lower); i >= 0 {
		return false, i
	}
	if len(m.inc) == 0 {
		return Candidate(lower), -1
	}
	return matchIndex(m.inc, lower) >= 0, -1
}

// why returns "" when rel is included, else why not, in words for the user.
func (m *matcher) why(rel string) string {
	lower := strings.ToLower(rel)
	ok, exc := m.included(lower)
	switch {
	case ok:
		return ""
	case exc >= 0:
		return fmt.Sprintf("it matches the folder's exclude pattern %q", m.excRaw[exc])
	case len(m.inc) > 0:
		return fmt.Sprintf("it matches none of the folder's include patterns %q", m.incRaw)
	case path.Ext(lower) == "":
		return "its name has no extension, and the folder considers only media file names (jpg, png, gif, webp, tif, mp4, mov, …) unless it has include patterns"
	}
	return fmt.Sprintf("%q is not a media file name extension mediasync considers (jpg, png, gif, webp, bmp, tif, heic, mp4, m4v, mov, webm, ts, srt, vtt); add an include pattern to the folder to consider it", path.Ext(lower))
}

func lowerPatterns(ps []string) ([]string, error) {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		p = strings.ToLower(p)
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", p, err)
		}
		out = append(out, p)
	}
	return out, nil
}

// matchIndex returns the index of the first pattern that matches rel, or -1.
func matchIndex(patterns []string, rel string) int {
	base := path.Base(rel)
	for i, p := range patterns {
		target := base
		if strings.Contains(p, "/") {
			target = rel
		}
		if ok, _ := path.Match(p, target); ok {
			return i
		}
	}
	return -1
}
