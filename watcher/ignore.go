package watcher

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// ignoredNames are exact base names (compared case-insensitively) that are
// never emitted nor descended: OS, NAS and editor artefacts (WATCHING.md §2.5).
var ignoredNames = map[string]bool{
	"4913":               true, // vim's write probe
	"thumbs.db":          true,
	"desktop.ini":        true,
	"icon\r":             true,
	"$recycle.bin":       true,
	"@eadir":             true, // Synology thumbnails and metadata
	"#recycle":           true,
	"#snapshot":          true,
	"@tmp":               true,
	"@sharebin":          true,
	"@synologycloudsync": true,
	"@recycle":           true, // QNAP
	"@recently-snapshot": true, // QNAP
	"lost+found":         true,
}

// ignoredSuffixes are name endings (lowercase) of partial, temporary and
// backup files.
var ignoredSuffixes = []string{
	".tmp", ".temp", ".part", ".partial", ".crdownload", ".download",
	".!ut", ".swp", ".swx", ".swpx", ".bak", "~",
}

// Ignored reports whether a base name (of a file or a directory) is ignored:
// by the built-in rules, or by one of the extra glob patterns (path.Match
// syntax, matched against the base name).
//
// The built-in rules, all case-insensitive: names starting with "." (hidden
// files, AppleDouble "._*", rsync/renameio/Syncthing temporaries, the
// .mediasync state directory, .DS_Store, .Trashes, ...); "~$*" (Office owner
// files); "#*#" (Emacs autosave); names ending in .tmp, .temp, .part,
// .partial, .crdownload, .download, .!ut, .swp, .swx, .swpx, .bak or "~";
// and the names 4913, Thumbs.db, desktop.ini, "Icon\r", $RECYCLE.BIN,
// @eaDir, #recycle, #snapshot, @tmp, @sharebin, @SynologyCloudSync,
// @Recycle, @Recently-Snapshot and lost+found. Extra patterns are matched
// case-insensitively too; an invalid pattern matches nothing (New rejects
// them).
func Ignored(name string, extra []string) bool {
	_, ok := IgnoredBy(name, extra)
	return ok
}

// IgnoredBy is [Ignored] that also names the rule that matched, in words fit for a user
// ("hidden (starts with \".\")", "ends in .part: a file still being written", "the ignore
// pattern \"*.xmp\"").
func IgnoredBy(name string, extra []string) (rule string, ok bool) {
	if name == "" || name == "." || name == ".." {
		return "not a file name", true
	}
	if name[0] == '.' {
		return `hidden (the name starts with ".")`, true
	}
	lower := strings.ToLower(name)
	if ignoredNames[lower] {
		return fmt.Sprintf("%q, an operating system or NAS file", name), true
	}
	if strings.HasPrefix(lower, "~$") {
		return `starts with "~$": an Office lock file`, true
	}
	if len(lower) >= 2 && lower[0] == '#' && lower[len(lower)-1] == '#' {
		return `"#…#": an editor's autosave file`, true
	}
	for _, s := range ignoredSuffixes {
		if strings.HasSuffix(lower, s) {
			return fmt.Sprintf("ends in %q: a temporary, partial or backup file (it is picked up once renamed to its final name)", s), true
		}
	}
	for _, p := range extra {
		if ok, err := path.Match(strings.ToLower(p), lower); err == nil && ok {
			return fmt.Sprintf("the watch.ignore pattern %q", p), true
		}
	}
	return "", false
}

// lowerPatterns validates extra ignore patterns and returns them lowercased,
// the form Ignored compares in.
func lowerPatterns(pats []string) ([]string, error) {
	out := make([]string, 0, len(pats))
	for _, p := range pats {
		if p == "" {
			return nil, &Error{Op: "options", Err: errors.New("empty ignore pattern")}
		}
		if strings.Contains(p, "/") {
			return nil, &Error{Op: "options", Err: fmt.Errorf("ignore pattern %q contains '/': patterns match base names", p)}
		}
		lp := strings.ToLower(p)
		if _, err := path.Match(lp, ""); err != nil {
			return nil, &Error{Op: "options", Err: fmt.Errorf("bad ignore pattern %q: %w", p, err)}
		}
		out = append(out, lp)
	}
	return out, nil
}
