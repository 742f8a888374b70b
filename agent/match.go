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
	inc, err := lowerPatterns(include)
	if err != nil {
		return nil, fmt.Errorf("include: %w", err)
	}
	exc, err := lowerPatterns(exclude)
	if err != nil {
		return nil, fmt.Errorf("exclude: %w", err)
	}
	return func(rel string) bool {
		rel = strings.ToLower(rel)
		if matchAny(exc, rel) {
			return false
		}
		if len(inc) == 0 {
			return Candidate(rel)
		}
		return matchAny(inc, rel)
	}, nil
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

func matchAny(patterns []string, rel string) bool {
	base := path.Base(rel)
	for _, p := range patterns {
		target := base
		if strings.Contains(p, "/") {
			target = rel
		}
		if ok, _ := path.Match(p, target); ok {
			return true
		}
	}
	return false
}
