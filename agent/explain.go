package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// Verdict is what mediasync makes of a path, in one word.
type Verdict string

// The verdicts of [Explain].
const (
	VerdictOutside    Verdict = "outside"     // in no watched folder
	VerdictIgnored    Verdict = "ignored"     // by a name rule, an ignore pattern, or an excluded directory
	VerdictNotMedia   Verdict = "not-media"   // not a media file the folder considers (extension, include/exclude)
	VerdictNotRegular Verdict = "not-regular" // a symbolic link, a directory, a FIFO, a device
	VerdictMissing    Verdict = "missing"     // no such file, and no entry
	VerdictSettling   Verdict = "settling"    // still changing: uploaded once it stops
	VerdictWaiting    Verdict = "waiting"     // settled, no entry yet: queued, or waiting for the agent
	VerdictUploading  Verdict = "uploading"   // an upload in progress or interrupted (resumes)
	VerdictUploaded   Verdict = "uploaded"    // uploaded; the id is usable
	VerdictExpired    Verdict = "expired"     // uploaded, but the id has expired
	VerdictChanged    Verdict = "changed"     // changed since its upload: it is uploaded again
	VerdictRemoved    Verdict = "removed"     // uploaded, then removed (or moved away by after_upload)
	VerdictSkipped    Verdict = "skipped"     // cannot be uploaded as it is
	VerdictFailed     Verdict = "failed"      // X refused it for good
	VerdictRetrying   Verdict = "retrying"    // failed; tried again later
)

// Explanation is what mediasync knows and decides about one path.
type Explanation struct {
	Path     string          // absolute
	Folder   string          // the watched folder it lies in, if any
	Rel      string          // its manifest key, if any
	Verdict  Verdict         //
	Why      string          // what mediasync knows, in a sentence or two
	Fix      string          // what the user can do; "" when nothing is needed
	Entry    *manifest.Entry // its manifest entry, if any
	Transfer *Transfer       // its upload in flight, when the agent runs and is uploading it
}

// ExplainOptions is what [Explain] needs besides the manifests.
type ExplainOptions struct {
	Folders []Folder      // as the agent is configured
	Ignore  []string      // watch.ignore patterns
	Settle  time.Duration // watch.settle
	Now     time.Time     // zero: time.Now()
}

// Explain says what mediasync knows and decides about path, reading the manifests (never writing
// or locking them): for `mediasync explain` when no agent runs. A running agent answers with
// [Agent.Explain], which also knows what is queued and in flight.
func Explain(o ExplainOptions, path string) Explanation {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	x := explainer{opts: o, lookup: func(f Folder, rel string) (manifest.Entry, bool, error) {
		m, err := manifest.Read(f.Manifest)
		if errors.Is(err, fs.ErrNotExist) {
			return manifest.Entry{}, false, nil
		}
		if err != nil {
			return manifest.Entry{}, false, err
		}
		e, ok := m.Files[rel]
		return e, ok, nil
	}}
	return x.explain(path)
}

// Explain is [Explain] with what the agent knows live: its folders' entries as they are in memory,
// whether the file is queued, and its upload in flight. The watch settings are those given to
// [Agent.WatchOptions].
func (a *Agent) Explain(path string) Explanation {
	a.mu.Lock()
	base := a.watchBase
	a.mu.Unlock()
	o := ExplainOptions{Ignore: base.Ignore, Settle: base.SettleFor, Now: a.now()}
	for _, f := range a.folders {
		o.Folders = append(o.Folders, f.Folder)
	}
	x := explainer{opts: o, lookup: func(f Folder, rel string) (manifest.Entry, bool, error) {
		for _, af := range a.folders {
			if af.Path == f.Path {
				e, ok := af.store.Get(rel)
				return e, ok, nil
			}
		}
		return manifest.Entry{}, false, nil
	}, session: a.running.Load()}
	x.running = x.session != nil
	return x.explain(path)
}

type explainer struct {
	opts    ExplainOptions
	lookup  func(f Folder, rel string) (manifest.Entry, bool, error)
	session *session // the running agent's session; nil when no agent runs (or it is not ours)
	running bool     // an agent runs
}

// Limits of a path that the system refuses (Linux NAME_MAX and PATH_MAX).
const (
	maxNameBytes = 255
	maxPathBytes = 4095
)

func (x explainer) explain(p string) Explanation {
	abs, err := filepath.Abs(p)
	if err != nil {
		abs = p
	}
	ex := Explanation{Path: abs}
	f, ok := x.folder(abs)
	if !ok {
		ex.Verdict = VerdictOutside
		ex.Why = "it is in no folder of the configuration"
		var paths []string
		for _, f := range x.opts.Folders {
			paths = append(paths, f.Path)
		}
		if len(paths) > 0 {
			ex.Why += " (" + strings.Join(paths, ", ") + ")"
		}
		ex.Fix = "move it into a watched folder, or upload it alone with `mediasync upload FILE` (then nothing is recorded)"
		return ex
	}
	ex.Folder = f.Path
	if why := x.excluded(f, abs); why != "" {
		ex.Verdict, ex.Why = VerdictIgnored, why
		return ex
	}
	rel, err := manifest.Rel(f.Path, abs)
	if err != nil {
		ex.Verdict = VerdictNotMedia
		ex.Why = "its name cannot be recorded in the manifest: " + err.Error()
		ex.Fix = "rename it (to valid UTF-8)"
		return ex
	}
	ex.Rel = rel
	if why := x.tooLong(abs); why != "" {
		ex.Verdict, ex.Why, ex.Fix = VerdictNotRegular, why, "rename it, or move it less deep"
		return ex
	}
	e, had, lerr := x.lookup(f, rel)
	if had {
		ex.Entry = &e
	}
	fi, serr := os.Lstat(abs)
	switch {
	case errors.Is(serr, fs.ErrNotExist), errors.Is(serr, syscall.ENOTDIR):
		return x.gone(ex, e, had)
	case serr != nil:
		ex.Verdict, ex.Why = VerdictNotRegular, "it cannot be read: "+serr.Error()
		ex.Fix = "check its permissions and those of its folders"
		return ex
	case fi.Mode()&fs.ModeSymlink != 0:
		ex.Verdict = VerdictNotRegular
		ex.Why = "it is a symbolic link: mediasync never follows links (one could let files from outside the folder in)"
		ex.Fix = "put the file itself in the folder"
		return ex
	case !fi.Mode().IsRegular():
		ex.Verdict, ex.Why = VerdictNotRegular, fmt.Sprintf("it is not a regular file (%s)", fi.Mode().Type())
		return ex
	}
	if lerr != nil {
		ex.Verdict, ex.Why = VerdictWaiting, "its folder's manifest cannot be read: "+lerr.Error()
		ex.Fix = "see `mediasync status`; a damaged manifest is kept as it is for you to repair or move aside"
		return ex
	}
	if t := x.transfer(f, rel); t != nil {
		ex.Transfer = t
		ex.Verdict = VerdictUploading
		switch {
		case t.Phase == PhaseProcessing:
			ex.Why = "uploaded; X is processing it"
		case t.SegmentsTotal > 0:
			ex.Why = fmt.Sprintf("uploading: %d of %d segments sent (%s of %s)", t.Segments, t.SegmentsTotal, human.Bytes(t.Bytes), human.Bytes(t.Total))
		default:
			ex.Why = fmt.Sprintf("uploading (%s)", human.Bytes(t.Total))
		}
		return ex
	}
	if had && e.State != manifest.Pending {
		if e.Size == fi.Size() && e.MTime.Equal(fi.ModTime()) {
			return x.recorded(ex, e)
		}
		if e.State == manifest.Uploaded || e.State == manifest.Skipped || e.State == manifest.Failed {
			ex.Verdict = VerdictChanged
			ex.Why = fmt.Sprintf("it changed since it was %s (then %s, now %s): it is looked at again once it stops changing", e.State, human.Bytes(e.Size), human.Bytes(fi.Size()))
			ex.Fix = x.runHint()
			return ex
		}
	}
	if why := x.matches(f, rel); why != "" {
		ex.Verdict, ex.Why = VerdictNotMedia, why
		return ex
	}
	if age := x.opts.Now.Sub(fi.ModTime()); x.opts.Settle > 0 && age >= 0 && age < x.opts.Settle {
		ex.Verdict = VerdictSettling
		ex.Why = fmt.Sprintf("it changed %s ago; it is uploaded once it has not changed for %s", age.Round(100*time.Millisecond), x.opts.Settle)
		return ex
	}
	ex.Verdict = VerdictWaiting
	switch {
	case x.session != nil && x.session.queue.has(abs):
		ex.Why = "settled and queued: it is uploaded as soon as a worker is free"
	case x.session != nil:
		ex.Why = "settled, not uploaded yet: the agent will pick it up (its next scan at the latest)"
	default:
		ex.Why = "not uploaded yet"
		ex.Fix = "start the agent (`mediasync run`), or upload it now with `mediasync upload FILE`"
	}
	if pred := predict(abs, fi.Size()); pred != "" {
		ex.Why += "; but " + pred
	}
	return ex
}

// folder returns the configured folder that holds p ([InnermostFolder]). A configured folder
// itself is in none (explained as outside).
func (x explainer) folder(p string) (Folder, bool) {
	paths := make([]string, len(x.opts.Folders))
	for i, f := range x.opts.Folders {
		if filepath.Clean(f.Path) == p {
			return Folder{}, false
		}
		paths[i] = f.Path
	}
	if i, ok := InnermostFolder(paths, p); ok {
		return x.opts.Folders[i], true
	}
	return Folder{}, false
}

// excluded says why a path inside f is never looked at, by a directory or name rule.
func (x explainer) excluded(f Folder, p string) string {
	if f.MoveTo != "" && isUnder(p, f.MoveTo) {
		return "it is in the folder's after_upload move target " + f.MoveTo + ", where uploaded files go; it is not watched"
	}
	if isUnder(p, filepath.Dir(f.Manifest)) && filepath.Dir(f.Manifest) != f.Path {
		return "it is in the manifest's directory, which is never watched"
	}
	relDir, _ := filepath.Rel(f.Path, filepath.Dir(p))
	if relDir != "." {
		if !f.Recursive {
			return "it is in a subfolder, and the folder is not recursive (recursive: false)"
		}
		for _, c := range strings.Split(relDir, string(filepath.Separator)) {
			if rule, ok := watcher.IgnoredBy(c, x.opts.Ignore); ok {
				return fmt.Sprintf("it is inside %q, a directory that is never watched: %s", c, rule)
			}
		}
	}
	if rule, ok := watcher.IgnoredBy(filepath.Base(p), x.opts.Ignore); ok {
		return "its name is ignored: " + rule
	}
	return ""
}

func (x explainer) matches(f Folder, rel string) string {
	m, err := newMatcher(f.Include, f.Exclude)
	if err != nil {
		return err.Error()
	}
	return m.why(rel)
}

func (x explainer) tooLong(p string) string {
	if len(p) > maxPathBytes {
		return fmt.Sprintf("its path is %d bytes long, more than the system allows (%d)", len(p), maxPathBytes)
	}
	if n := len(filepath.Base(p)); n > maxNameBytes {
		return fmt.Sprintf("its name is %d bytes long, more than the system allows (%d)", n, maxNameBytes)
	}
	return ""
}

func (x explainer) transfer(f Folder, rel string) *Transfer {
	if x.session == nil {
		return nil
	}
	x.session.mu.Lock()
	defer x.session.mu.Unlock()
	for _, t := range x.session.live {
		if t.folder == f.Path && t.rel == rel {
			return &Transfer{Folder: t.folder, Rel: t.rel, Phase: t.phase, Bytes: t.bytes, Total: t.total,
				Segments: t.segments, SegmentsTotal: t.segmentsTotal, Started: t.started}
		}
	}
	return nil
}

func (x explainer) runHint() string {
	if x.running {
		return ""
	}
	return "start the agent (`mediasync run`), or upload it now with `mediasync upload FILE`"
}

// gone explains a path that does not exist.
func (x explainer) gone(ex Explanation, e manifest.Entry, had bool) Explanation {
	switch {
	case !had:
		ex.Verdict, ex.Why = VerdictMissing, "there is no such file, and the manifest has no entry for it"
	case e.MovedTo != "":
		ex.Verdict = VerdictRemoved
		ex.Why = fmt.Sprintf("it was uploaded (media id %s) and moved to %s by after_upload", e.MediaIDString, e.MovedTo)
	case e.State == manifest.Uploaded:
		ex.Verdict = VerdictRemoved
		ex.Why = fmt.Sprintf("it was uploaded (media id %s, %s) and then removed from the folder; the entry is kept", e.MediaIDString, x.validity(e))
	default:
		ex.Verdict = VerdictRemoved
		ex.Why = fmt.Sprintf("it was removed from the folder; its entry says %s", e.State)
	}
	return ex
}

// Describe says what an entry means and what to do about it, as [Explain] would for a file whose
// bytes match it: its verdict, why, and the fix ("" when nothing is needed). running tells whether
// an agent runs (the fix for an interrupted upload is then nothing).
func Describe(e manifest.Entry, now time.Time, running bool) (v Verdict, why, fix string) {
	x := explainer{opts: ExplainOptions{Now: now}, running: running}
	ex := x.recorded(Explanation{}, e)
	return ex.Verdict, ex.Why, ex.Fix
}

// recorded explains a file whose entry matches its size and mtime.
func (x explainer) recorded(ex Explanation, e manifest.Entry) Explanation {
	now := x.opts.Now
	switch e.State {
	case manifest.Uploaded:
		if e.Usable(now) {
			ex.Verdict = VerdictUploaded
			ex.Why = fmt.Sprintf("uploaded as media id %s (key %s), %s", e.MediaIDString, e.MediaKey, x.validity(e))
			if f := e.Fitted; f != nil {
				ex.Why += fmt.Sprintf("; X has a fitted copy (%d×%d JPEG, %s), the original is untouched", f.Width, f.Height, human.Bytes(f.Bytes))
			}
			if h := e.Hook; h != nil {
				ex.Why += "; its on_upload command " + hookText(h, now)
				if h.State == manifest.HookFailed {
					ex.Fix = "fix the command, then `mediasync retry --hooks` runs it again"
				}
			}
			return ex
		}
		ex.Verdict = VerdictExpired
		ex.Why = fmt.Sprintf("uploaded as media id %s, which expired at %s", e.MediaIDString, e.ExpiresAt.Local().Format(time.RFC1123))
		ex.Fix = "`mediasync upload FILE` uploads it again and records the new id; refresh_before_expiry on the folder renews ids before they expire"
	case manifest.Skipped:
		ex.Verdict, ex.Why = VerdictSkipped, "skipped: "+e.Reason
		ex.Fix = "a changed file is looked at again; `mediasync upload FILE` (with --category to choose another media category) tries it as it is"
	case manifest.Failed:
		msg := "(no message)"
		if e.Error != nil {
			msg = e.Error.Message
			if e.Error.HTTPStatus != 0 {
				msg = fmt.Sprintf("%s (HTTP %d)", msg, e.Error.HTTPStatus)
			}
		}
		if e.Error == nil || e.Error.Permanent {
			ex.Verdict = VerdictFailed
			ex.Why = fmt.Sprintf("X refused it after %d attempt(s): %s", e.Attempts, msg)
			ex.Fix = "export it again (a changed file is uploaded again by itself), or `mediasync retry FILE` to try these bytes once more"
			return ex
		}
		ex.Verdict = VerdictRetrying
		ex.Why = fmt.Sprintf("attempt %d failed: %s; it is tried again %s", e.Attempts, msg, when(e.NextAttemptAt, now))
		ex.Fix = "nothing: it is retried by itself while the agent runs; `mediasync retry FILE` tries it now"
	case manifest.Uploading, manifest.Processing:
		ex.Verdict = VerdictUploading
		if r := e.Resume; r != nil {
			ex.Why = fmt.Sprintf("its upload was interrupted after %d segment(s) (media id %s); it resumes where it stopped while the id is valid (%s)",
				len(r.Acked), r.MediaID, when(r.ExpiresAt, now))
			if e.State == manifest.Processing {
				ex.Why = fmt.Sprintf("uploaded and finalized as media id %s; waiting for X's processing", r.MediaID)
			}
		} else {
			ex.Why = "an upload is in progress"
		}
		ex.Fix = x.runHint()
	default:
		ex.Verdict, ex.Why = VerdictWaiting, "seen, not uploaded yet"
		ex.Fix = x.runHint()
	}
	return ex
}

func (x explainer) validity(e manifest.Entry) string {
	if e.ExpiresAt.IsZero() {
		return "with no expiry recorded"
	}
	if !e.ExpiresAt.After(x.opts.Now) {
		return "expired at " + e.ExpiresAt.Local().Format(time.RFC1123)
	}
	return "valid for " + e.ExpiresAt.Sub(x.opts.Now).Round(time.Minute).String() + " more"
}

// hookText says how an entry's on_upload command went.
func hookText(h *manifest.HookState, now time.Time) string {
	switch h.State {
	case manifest.HookDone:
		return "ran"
	case manifest.HookFailed:
		return fmt.Sprintf("failed %d time(s), for good: %s", h.Attempts, h.LastError)
	}
	if h.Attempts == 0 {
		return "is yet to run"
	}
	return fmt.Sprintf("failed %d time(s) (%s); it runs again %s", h.Attempts, h.LastError, when(h.NextAttemptAt, now))
}

// when says a time relative to now: "now", "in 3m0s", "at …".
func when(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case t.IsZero():
		return "later"
	case d <= 0:
		return "now"
	case d < 24*time.Hour:
		return "in " + d.Round(time.Second).String()
	}
	return "at " + t.Local().Format(time.RFC1123)
}

// predict reads the start of a file not looked at yet and says, when it can tell, why it will not
// be uploaded as it is ("" when it looks fine).
func predict(p string, size int64) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	mt, err := uploader.Detect(f, size)
	if err != nil {
		return "it will be skipped: " + reasonText(err, uploader.Media{Name: filepath.Base(p), Size: size})
	}
	cat, err := uploader.AutoCategory(mt)
	if err != nil {
		return ""
	}
	if limit := categoryLimit(cat); limit > 0 && size > limit {
		return reasonText(fmt.Errorf("%w", uploader.ErrTooLarge), uploader.Media{Name: filepath.Base(p), Size: size, Type: mt, Category: cat})
	}
	return ""
}
