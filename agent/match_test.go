package agent

import (
	"strings"
	"testing"
)

// The watcher's filter (Matcher) and explain's words (why) give the same verdict for every file.
func TestMatcherAgreesWithWhy(t *testing.T) {
	rels := []string{"a.jpg", "A.JPG", "sub/b.png", "c.txt", "noext", "raw/d.CR2", "e.heic", "tmp/f.jpg", "g.jpg.part", "h.mp4"}
	for _, tc := range []struct {
		include, exclude []string
		want             map[string]string // rel -> a piece of why; "" = included
	}{
		{nil, nil, map[string]string{"a.jpg": "", "A.JPG": "", "c.txt": `".txt" is not a media file name extension`, "noext": "has no extension", "e.heic": ""}},
		{nil, []string{"tmp/*", "*.MP4"}, map[string]string{"tmp/f.jpg": `exclude pattern "tmp/*"`, "h.mp4": `exclude pattern "*.MP4"`, "sub/b.png": ""}},
		{[]string{"*.cr2", "*.txt"}, []string{"c.*"}, map[string]string{"raw/d.CR2": "", "c.txt": `exclude pattern "c.*"`, "a.jpg": "none of the folder's include patterns"}},
	} {
		m, err := newMatcher(tc.include, tc.exclude)
		if err != nil {
			t.Fatal(err)
		}
		match, err := Matcher(tc.include, tc.exclude)
		if err != nil {
			t.Fatal(err)
		}
		for _, rel := range rels {
			why := m.why(rel)
			if match(rel) != (why == "") {
				t.Errorf("include %q exclude %q: Matcher(%q) = %v, why %q", tc.include, tc.exclude, rel, match(rel), why)
			}
			if want, ok := tc.want[rel]; ok && (want == "") != (why == "") || !strings.Contains(why, tc.want[rel]) {
				t.Errorf("include %q exclude %q: why(%q) = %q, want %q", tc.include, tc.exclude, rel, why, tc.want[rel])
			}
		}
	}
}

// BenchmarkMatcherRejects is the watcher's cost per file the folder does not consider (every
// scan asks it of every file): no words are formatted for it.
func BenchmarkMatcherRejects(b *testing.B) {
	match, err := Matcher(nil, []string{"*.tmp"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if match("exports/2026/session-12/notes.txt") {
			b.Fatal("included")
		}
	}
}
