package agent

import (
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// This file is the agent's decision as data: what to do with one file, given its manifest entry,
// what was seen on disk, why the file came up, and the time. It is pure (no I/O, no clock), so
// decide_test.go can cover every row.

// jobKind is why a file came up.
type jobKind int

const (
	jobNew     jobKind = iota // the watcher reported a settled file
	jobRemoved                // the watcher reported a file gone
	jobResume                 // an upload a previous run left unfinished
	jobRetry                  // a failed file whose retry time came
	jobRefresh                // an uploaded file whose media id is about to expire
)

func (k jobKind) String() string {
	switch k {
	case jobNew:
		return "new"
	case jobRemoved:
		return "removed"
	case jobResume:
		return "resume"
	case jobRetry:
		return "retry"
	case jobRefresh:
		return "refresh"
	}
	return "unknown"
}

// observation is what the agent saw of a file, from a stat of the file it opened (never of the
// path) and, once read, from its bytes.
type observation struct {
	Exists  bool // false: gone, or no longer reachable inside the folder
	Regular bool
	Size    int64
	MTime   time.Time
	SHA256  string // "" until the bytes were hashed

	CTime time.Time // the inode's change time (not used by decide: a commit compares it)
}

// request is what decide needs to know about the job beyond the entry and the file.
type request struct {
	Kind     jobKind
	Explicit bool // the user named the file (mediasync upload, retry): look again whatever happened

	// Size and MTime are what the watcher saw settle (jobNew): a file that no longer matches them
	// changed since, and waits to settle again.
	Size  int64
	MTime time.Time

	RefreshBefore time.Duration // the folder's refresh_before_expiry; 0 = never refresh
	MovePending   bool          // the folder moves uploaded files away (after_upload: move)
}

// explicitMinValidity is how long a media id must still be valid for an explicit upload to return it
// instead of uploading again: long enough for a posting step to use it.
const explicitMinValidity = 10 * time.Minute

// actionKind is what to do with the file.
type actionKind int

const (
	// actNothing: the entry already says everything about the file.
	actNothing actionKind = iota
	// actFlagRemoved: the file is gone; its entry is kept, flagged deleted (the id stays valid).
	actFlagRemoved
	// actKeep: the entry stands for the file; only bookkeeping is due: clear a deleted flag,
	// finish a move that a stop interrupted.
	actKeep
	// actWaitSettle: the file changed after it settled; the watcher reports it again once it
	// settles anew.
	actWaitSettle
	// actSchedule: a retry that is not due yet: schedule it at action.At.
	actSchedule
	// actHash: the size and mtime do not settle it: read the bytes and decide again.
	actHash
	// actTouch: the same bytes under a new mtime, and their media id stands: record the new stat.
	actTouch
	// actUpload: upload the file (continuing action.Resume when set).
	actUpload
)

func (k actionKind) String() string {
	return [...]string{"nothing", "flag-removed", "keep", "wait-settle", "schedule", "hash", "touch", "upload"}[k]
}

// action is decide's verdict.
type action struct {
	Kind actionKind
	At   time.Time // actSchedule: when

	// actUpload:
	Resume   bool // continue the chunked upload recorded in the entry
	Replace  bool // the entry holds a valid media id that stays recorded until this upload succeeds
	Attempts int  // the attempt number to record
}

// decide returns what to do with a file. Call it first with obs.SHA256 empty; when it answers
// actHash, hash the bytes (of the file it opened) and call it again with obs.SHA256 set. It is the
// one place that decides whether an entry is still good for the bytes on disk.
func decide(prev manifest.Entry, had bool, obs observation, req request, now time.Time) action {
	if !obs.Exists {
		if had && !prev.Deleted && prev.MovedTo == "" {
			return action{Kind: actFlagRemoved}
		}
		return action{Kind: actNothing}
	}
	if !obs.Regular {
		return action{Kind: actNothing}
	}
	if req.Kind == jobNew && (obs.Size != req.Size || !obs.MTime.Equal(req.MTime)) {
		return action{Kind: actWaitSettle}
	}
	if obs.SHA256 == "" {
		return decideByStat(prev, had, obs, req, now)
	}
	return decideByContent(prev, had, obs, req, now)
}

// decideByStat decides from the entry and the file's size and mtime alone, or asks for the hash.
func decideByStat(prev manifest.Entry, had bool, obs observation, req request, now time.Time) action {
	if !had || prev.Size != obs.Size || !prev.MTime.Equal(obs.MTime) {
		return action{Kind: actHash} // new or changed: its bytes decide
	}
	keep := action{Kind: actNothing}
	if prev.Deleted {
		keep.Kind = actKeep
	}
	switch prev.State {
	case manifest.Uploaded:
		if (req.Kind == jobRefresh && refreshDue(prev, req.RefreshBefore, now)) || (req.Explicit && expiring(prev, now)) {
			return action{Kind: actHash}
		}
		if req.MovePending && prev.MovedTo == "" && !prev.Deleted {
			keep.Kind = actKeep // a stop came between recording the upload and moving the file
		}
		return keep
	case manifest.Skipped:
		if req.Explicit {
			return action{Kind: actHash} // named by the user, perhaps with another category
		}
		return keep
	case manifest.Failed:
		if req.Explicit {
			return action{Kind: actHash}
		}
		if prev.Error == nil || prev.Error.Permanent {
			return keep // not tried again until the file changes
		}
		if req.Kind != jobRetry && now.Before(prev.NextAttemptAt) {
			return action{Kind: actSchedule, At: prev.NextAttemptAt}
		}
	}
	return action{Kind: actHash}
}

// decideByContent decides once the file's bytes are hashed.
func decideByContent(prev manifest.Entry, had bool, obs observation, req request, now time.Time) action {
	same := had && prev.SHA256 == obs.SHA256
	valid := had && prev.Usable(now)
	if same && valid && !refreshDue(prev, req.RefreshBefore, now) && !(req.Explicit && expiring(prev, now)) {
		// Touched, not changed (or named again while its id is good for a while): the id stands.
		return action{Kind: actTouch}
	}
	act := action{Kind: actUpload, Attempts: 1, Replace: valid}
	if same && prev.State != manifest.Uploaded {
		act.Attempts = prev.Attempts + 1
	}
	// A valid id being replaced stays in the manifest until its successor is uploaded, so the
	// successor's progress is not recorded and cannot be resumed.
	act.Resume = !act.Replace && same && prev.Resume != nil && prev.Size == obs.Size
	return act
}

// refreshDue reports whether an uploaded entry's id expires within the refresh window.
func refreshDue(e manifest.Entry, window time.Duration, now time.Time) bool {
	return window > 0 && !e.ExpiresAt.IsZero() && !now.Before(e.ExpiresAt.Add(-window))
}

// expiring reports whether an entry's id is expired or too close to expiry to hand to a posting
// step that asked for the file by name.
func expiring(e manifest.Entry, now time.Time) bool {
	return !e.ExpiresAt.After(now.Add(explicitMinValidity))
}

// recorded reports whether the entry already accounts for a file of this size and mtime, so that
// the watcher need not report it: any state but pending, not flagged deleted. Unfinished and failed
// entries are the agent's own business (it resumes and schedules them on start).
func recorded(e manifest.Entry, had bool, size int64, mtime time.Time) bool {
	return had && !e.Deleted && e.State != manifest.Pending && e.Size == size && e.MTime.Equal(mtime)
}
