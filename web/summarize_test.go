package web

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
)

func rels(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Rel)
	}
	return out
}

func TestSummarize(t *testing.T) {
	now := testNow
	files := map[string]manifest.Entry{
		"p.jpg":    {State: manifest.Pending},
		"u1.jpg":   {State: manifest.Uploading},
		"pr.mp4":   {State: manifest.Processing},
		"ok1.jpg":  {State: manifest.Uploaded, MediaIDString: "1", UploadedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(21 * time.Hour)},
		"ok2.jpg":  {State: manifest.Uploaded, MediaIDString: "2", UploadedAt: now.Add(-1 * time.Hour), ExpiresAt: now.Add(23 * time.Hour)},
		"ok3.jpg":  {State: manifest.Uploaded, MediaIDString: "3", UploadedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(22 * time.Hour)},
		"old.jpg":  {State: manifest.Uploaded, MediaIDString: "4", UploadedAt: now.Add(-25 * time.Hour), ExpiresAt: now.Add(-time.Hour)},
		"edge.jpg": {State: manifest.Uploaded, MediaIDString: "5", UploadedAt: now.Add(-24 * time.Hour), ExpiresAt: now},
		"c.jpg":    {State: manifest.Failed, Attempts: 2, NextAttemptAt: now.Add(time.Minute), Error: &manifest.Error{Message: "503"}},
		"a.jpg":    {State: manifest.Failed, NextAttemptAt: now.Add(time.Minute), Error: &manifest.Error{Message: "bad media", Permanent: true}},
		"b.jpg":    {State: manifest.Failed, Deleted: true, Error: &manifest.Error{Message: "gone"}},
		"s.tif":    {State: manifest.Skipped, Reason: "not a type X takes"},
	}
	f := Summarize("/f", maps.All(files), now, Query{Limit: 2}, nil)
	want := Counts{Pending: 1, Uploading: 1, Processing: 1, Uploaded: 3, Expired: 2, Failed: 3, Skipped: 1}
	if f.Counts != want || f.Counts.Total() != len(files) {
		t.Errorf("counts = %+v, want %+v", f.Counts, want)
	}
	if got := []string{f.Recent[0].Rel, f.Recent[1].Rel}; len(f.Recent) != 2 || !slices.Equal(got, []string{"ok2.jpg", "ok3.jpg"}) {
		t.Errorf("recent = %+v, want ok2, ok3 (newest first, limit 2)", f.Recent)
	}
	if got := rels(f.Failed.Items); f.Failed.Total != 3 || !slices.Equal(got, []string{"a.jpg", "b.jpg"}) {
		t.Errorf("failed = %d %v, want 3 [a b]", f.Failed.Total, got)
	}
	a := f.Failed.Items[0]
	if a.Reason != "bad media" || !a.Permanent || !a.NextAttempt.IsZero() {
		t.Errorf("a.jpg = %+v: a permanent failure has no next attempt", a)
	}
	if b := f.Failed.Items[1]; !b.Deleted {
		t.Errorf("b.jpg = %+v, want deleted", b)
	}
	if f.Skipped.Total != 1 || f.Skipped.Items[0].Reason != "not a type X takes" {
		t.Errorf("skipped = %+v", f.Skipped)
	}

	f = Summarize("/f", maps.All(files), now, Query{Offset: 2, Limit: 2}, func(rel string, e manifest.Entry) string { return "fix " + rel })
	if got := f.Failed.Items; f.Failed.Offset != 2 || len(got) != 1 || got[0].Rel != "c.jpg" || got[0].Reason != "503" || got[0].Fix != "fix c.jpg" ||
		got[0].Attempts != 2 || !got[0].NextAttempt.Equal(now.Add(time.Minute)) {
		t.Errorf("failed page 2 = %+v", f.Failed)
	}
	if f.Skipped.Offset != 2 || len(f.Skipped.Items) != 0 || f.Skipped.Total != 1 {
		t.Errorf("skipped page 2 = %+v, want empty with total 1", f.Skipped)
	}
	if f.Active == nil || f.Hooks.Items == nil {
		t.Error("empty lists must be [] in JSON, not null")
	}
}

// TestSummarizePagesTile: the pages of a long list, in any entry order, are the sorted list cut
// in pieces, with nothing left out or repeated.
func TestSummarizePagesTile(t *testing.T) {
	var all []string
	seq := func(yield func(string, manifest.Entry) bool) {
		// Worst case for a bounded selection: descending order, every entry displaces one.
		for i := 999; i >= 0; i-- {
			if !yield(fmt.Sprintf("f%03d", i), manifest.Entry{State: manifest.Failed, Error: &manifest.Error{Message: "x"}}) {
				return
			}
		}
	}
	for off := 0; off < 1000; off += 37 {
		f := Summarize("/f", seq, testNow, Query{Offset: off, Limit: 37}, nil)
		all = append(all, rels(f.Failed.Items)...)
	}
	if len(all) != 1000 || !slices.IsSorted(all) || all[0] != "f000" || all[999] != "f999" {
		t.Errorf("pages give %d paths, sorted %v", len(all), slices.IsSorted(all))
	}
}

func TestScrub(t *testing.T) {
	s := newScrubber(Options{Token: "tok-0123456789", Redact: []string{"AAAA-secret", "short"}}, []Folder{{Path: "/srv/exports"}, {Path: "/srv/exports/deep"}, {Path: "/volume1/My Photos"}})
	for in, want := range map[string]string{
		"open /srv/exports/a.jpg: permission denied":                 "open /srv/exports/a.jpg: permission denied",
		"open /srv/exports.bak/a.jpg: no such file":                  "open …/a.jpg: no such file",
		"rename /srv/exports/a.jpg /mnt/x/a.jpg: cross-device":       "rename /srv/exports/a.jpg …/a.jpg: cross-device",
		"/usr/local/bin/hook.sh exited 1":                            "…/hook.sh exited 1",
		"moved to /srv/exports.":                                     "moved to /srv/exports.",
		"see https://docs.x.com/x-api/media/upload and /etc/passwd.": "see https://docs.x.com/x-api/media/upload and …/passwd.",
		`stat "/home/alice/x y.jpg"`:                                 `stat "…/x y.jpg"`,
		"in /volume1/My Photos/2026/a b.jpg: bad":                    "in /volume1/My Photos/2026/a b.jpg: bad",
		"token tok-0123456789 and AAAA-secret, short":                "token [redacted] and [redacted], short",
		"ratio 3/4, a/b and / alone":                                 "ratio 3/4, a/b and / alone",
		"(/root/.ssh/id_ed25519)":                                    "(…/id_ed25519)",
		"no path here":                                               "no path here",
	} {
		if got := s.text(in); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDisplayName(t *testing.T) {
	for in, want := range map[string]string{
		"plain.jpg":           "plain.jpg",
		"été/ünï.jpg":         "été/ünï.jpg",
		"a\nb.jpg":            `a\u000Ab.jpg`,
		"x\u202Egpj.exe":      `x\u202Egpj.exe`,
		"zero\u200Bwidth.png": `zero\u200Bwidth.png`,
		"<b>&.jpg":            "<b>&.jpg", // escaping is html/template's job
	} {
		if got := displayName(in); got != want {
			t.Errorf("displayName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHumanFormats(t *testing.T) {
	for n, want := range map[int64]string{999: "999 bytes", 17_461_790: "17.5 MB", 5_000_000: "5 MB", 2_500_000_000: "2.5 GB"} {
		if got := human.Bytes(n); got != want {
			t.Errorf("human.Bytes(%d) = %q, want %q", n, got, want)
		}
	}
	if percent(1, 0) != 0 || percent(50, 200) != 25 || percent(300, 200) != 100 {
		t.Error("percent")
	}
}

// TestHooksListed: an uploaded entry whose on_upload hook gave up is listed under Hooks, with the
// command's error as the reason, by Summarize and Index alike; a done or pending hook is not.
func TestHooksListed(t *testing.T) {
	up := func(h *manifest.HookState) manifest.Entry {
		return manifest.Entry{State: manifest.Uploaded, MediaIDString: "1", UploadedAt: testNow, ExpiresAt: testNow.Add(time.Hour), Hook: h}
	}
	files := map[string]manifest.Entry{
		"b.jpg": up(&manifest.HookState{State: manifest.HookFailed, Attempts: 3, LastError: "exit status 7: curl: (7) Failed to connect"}),
		"a.jpg": up(&manifest.HookState{State: manifest.HookFailed, Attempts: 1}),
		"c.jpg": up(&manifest.HookState{State: manifest.HookDone}),
		"d.jpg": up(&manifest.HookState{State: manifest.HookPending}),
	}
	x := NewIndex("/f", maps.All(files))
	for name, f := range map[string]Folder{
		"summarize": Summarize("/f", maps.All(files), testNow, Query{}, nil),
		"index":     x.Folder(testNow, Query{}, nil),
	} {
		if got := rels(f.Hooks.Items); f.Hooks.Total != 2 || !slices.Equal(got, []string{"a.jpg", "b.jpg"}) {
			t.Errorf("%s: hooks = %d %v, want 2 [a.jpg b.jpg]", name, f.Hooks.Total, got)
			continue
		}
		if b := f.Hooks.Items[1]; b.Reason != "on_upload failed: exit status 7: curl: (7) Failed to connect" || b.Attempts != 3 || !b.Permanent || b.Fix == "" {
			t.Errorf("%s: b.jpg = %+v", name, b)
		}
	}
	x.Put("b.jpg", up(&manifest.HookState{State: manifest.HookDone}))
	if f := x.Folder(testNow, Query{}, nil); f.Hooks.Total != 1 {
		t.Errorf("after b.jpg's hook ran again: hooks = %+v, want a.jpg only", f.Hooks)
	}
	if e, ok := x.Entry("a.jpg"); !ok || e.Hook == nil {
		t.Errorf("Entry(a.jpg) = %+v, %v; want the whole entry", e, ok)
	}
	if e, ok := x.Entry("c.jpg"); !ok || e.State != manifest.Uploaded || e.MediaIDString != "1" {
		t.Errorf("Entry(c.jpg) = %+v, %v", e, ok)
	}
	if _, ok := x.Entry("nope.jpg"); ok {
		t.Error("Entry(nope.jpg) found")
	}
}
