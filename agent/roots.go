package agent

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/watcher"
)

// Roots returns the watcher roots of folders exactly as an [Agent] watching them uses them (see
// [Agent.WatchOptions]), without opening a manifest: for readers such as `mediasync status` that
// list a folder's files while an agent may hold its lock. An error means a bad include or exclude
// pattern.
func Roots(folders []Folder) ([]watcher.Root, error) {
	folders = withDefaults(Options{Folders: folders}).Folders
	roots := make([]watcher.Root, 0, len(folders))
	for _, f := range folders {
		match, err := Matcher(f.Include, f.Exclude)
		if err != nil {
			return nil, fmt.Errorf("folder %s: %w", f.Path, err)
		}
		roots = append(roots, root(f, match, folders))
	}
	return roots, nil
}

// root is f's watcher root: its include/exclude matcher, and the paths the watcher must never
// descend (a manifest outside .mediasync, a move target inside the folder, another of all the
// configured folders nested in it).
func root(f Folder, match func(rel string) bool, all []Folder) watcher.Root {
	r := watcher.Root{Path: f.Path, Recursive: f.Recursive, Match: match}
	if d := filepath.Dir(f.Manifest); !isUnder(d, filepath.Join(f.Path, ".mediasync")) {
		r.Exclude = append(r.Exclude, f.Manifest, manifest.LockPath(f.Manifest), manifest.JournalPath(f.Manifest))
	}
	if f.MoveTo != "" && isUnder(f.MoveTo, f.Path) {
		r.Exclude = append(r.Exclude, f.MoveTo)
	}
	for _, g := range all { // a configured folder inside this one is its own
		if g.Path != f.Path && isUnder(g.Path, f.Path) {
			r.Exclude = append(r.Exclude, g.Path)
		}
	}
	return r
}

// InnermostFolder returns the index in folders (absolute directories) of the folder that holds
// path: of those path lies inside (a folder is not inside itself), the innermost, whatever their
// order. Folders nest where the outer one does not watch the inner (not recursive, or the inner
// directory hidden or ignored; config refuses the other nestings). The outer root never descends
// into the inner folder (see [Roots]), so the inner folder's manifest records its files: any other
// answer records a file where the watcher does not look, and it is uploaded twice. The test is
// lexical, as [manifest.Rel]'s, which gives path's key in the folder found (or refuses a name no
// manifest can record). ok is false when no folder holds path.
func InnermostFolder(folders []string, path string) (i int, ok bool) {
	i, shortest := -1, ""
	for j, f := range folders {
		rel, err := filepath.Rel(f, path)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if i < 0 || len(rel) < len(shortest) { // the folders that hold path nest: the innermost is the nearest
			i, shortest = j, rel
		}
	}
	return i, i >= 0
}
