package agent

import (
	"testing"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// TestDecide covers every row of the agent's decision: for each (entry, file, job, time), the
// action. Each row names the behaviour it pins.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	mtime := now.Add(-time.Hour)
	const size = 1000
	file := observation{Exists: true, Regular: true, Size: size, MTime: mtime}
	hashed := file
	hashed.SHA256 = "aaaa"
	changed := file
	changed.Size, changed.SHA256 = size+1, "bbbb"
	touched := hashed
	touched.MTime = mtime.Add(time.Minute)
	changedStat := file
	changedStat.Size = size + 1

	uploaded := manifest.Entry{State: manifest.Uploaded, Size: size, MTime: mtime, SHA256: "aaaa",
		MediaIDString: "1", ExpiresAt: now.Add(20 * time.Hour), Attempts: 1}
	with := func(e manifest.Entry, f func(*manifest.Entry)) manifest.Entry { f(&e); return e }
	expired := with(uploaded, func(e *manifest.Entry) { e.ExpiresAt = now.Add(-time.Minute) })
	expiringSoon := with(uploaded, func(e *manifest.Entry) { e.ExpiresAt = now.Add(5 * time.Minute) })
	deleted := with(uploaded, func(e *manifest.Entry) { e.Deleted = true })
	moved := with(uploaded, func(e *manifest.Entry) { e.MovedTo = "/x/.done/a.jpg" })
	skipped := manifest.Entry{State: manifest.Skipped, Size: size, MTime: mtime, Reason: "too large"}
	permanent := manifest.Entry{State: manifest.Failed, Size: size, MTime: mtime, SHA256: "aaaa", Attempts: 2,
		Error: &manifest.Error{Permanent: true, Message: "InvalidMedia"}}
	retryable := manifest.Entry{State: manifest.Failed, Size: size, MTime: mtime, SHA256: "aaaa", Attempts: 3,
		Error: &manifest.Error{Message: "http 503"}, NextAttemptAt: now.Add(10 * time.Minute)}
	retryDue := with(retryable, func(e *manifest.Entry) { e.NextAttemptAt = now.Add(-time.Second) })
	resume := &manifest.Resume{MediaID: "9", ChunkSize: 4 << 20, Acked: []int{0}, ExpiresAt: now.Add(time.Hour)}
	uploading := manifest.Entry{State: manifest.Uploading, Size: size, MTime: mtime, SHA256: "aaaa", Attempts: 1, Resume: resume}
	failedWithResume := with(retryDue, func(e *manifest.Entry) { e.Resume = resume })
	pending := manifest.Entry{State: manifest.Pending, Size: size, MTime: mtime}

	newJob := request{Kind: jobNew, Size: size, MTime: mtime}
	explicit := request{Kind: jobNew, Size: size, MTime: mtime, Explicit: true}
	refresh := request{Kind: jobRefresh, RefreshBefore: 21 * time.Hour}
	retry := request{Kind: jobRetry}
	moving := request{Kind: jobNew, Size: size, MTime: mtime, MovePending: true}
	changedJob := request{Kind: jobNew, Size: size + 1, MTime: mtime}
	touchedJob := request{Kind: jobNew, Size: size, MTime: touched.MTime}

	rows := []struct {
		name string
		prev manifest.Entry
		had  bool
		obs  observation
		req  request
		want action
	}{
		// The file is gone.
		{"gone, entry flagged deleted", uploaded, true, observation{}, newJob, action{Kind: actFlagRemoved}},
		{"gone, already flagged", deleted, true, observation{}, newJob, action{Kind: actNothing}},
		{"gone after a move: the entry follows the file", moved, true, observation{}, request{Kind: jobRemoved}, action{Kind: actNothing}},
		{"gone, never recorded", manifest.Entry{}, false, observation{}, newJob, action{Kind: actNothing}},
		{"not a regular file", manifest.Entry{}, false, observation{Exists: true}, newJob, action{Kind: actNothing}},
		{"changed after it settled", manifest.Entry{}, false, changed, newJob, action{Kind: actWaitSettle}},

		// By size and mtime.
		{"new file: hash it", manifest.Entry{}, false, file, newJob, action{Kind: actHash}},
		{"changed stat: hash it", uploaded, true, changedStat, changedJob, action{Kind: actHash}},
		{"uploaded, unchanged", uploaded, true, file, newJob, action{Kind: actNothing}},
		{"uploaded, back after deletion", deleted, true, file, newJob, action{Kind: actKeep}},
		{"uploaded, move interrupted by a stop", uploaded, true, file, moving, action{Kind: actKeep}},
		{"uploaded and moved already", moved, true, file, moving, action{Kind: actNothing}},
		{"refresh due", uploaded, true, file, refresh, action{Kind: actHash}},
		{"refresh not due yet", uploaded, true, file, request{Kind: jobRefresh, RefreshBefore: time.Hour}, action{Kind: actNothing}},
		{"named by the user, id good for hours", uploaded, true, file, explicit, action{Kind: actNothing}},
		{"named by the user, id about to expire", expiringSoon, true, file, explicit, action{Kind: actHash}},
		{"skipped stays skipped", skipped, true, file, newJob, action{Kind: actNothing}},
		{"skipped, named by the user: look again", skipped, true, file, explicit, action{Kind: actHash}},
		{"permanent failure waits for a change", permanent, true, file, newJob, action{Kind: actNothing}},
		{"permanent failure, named by the user", permanent, true, file, explicit, action{Kind: actHash}},
		{"retryable failure, not due", retryable, true, file, newJob, action{Kind: actSchedule, At: retryable.NextAttemptAt}},
		{"retryable failure, its retry came", retryable, true, file, retry, action{Kind: actHash}},
		{"retryable failure, due", retryDue, true, file, newJob, action{Kind: actHash}},
		{"unfinished upload: hash, then resume", uploading, true, file, request{Kind: jobResume}, action{Kind: actHash}},
		{"pending entry", pending, true, file, newJob, action{Kind: actHash}},

		// By content.
		{"new file: upload", manifest.Entry{}, false, hashed, newJob, action{Kind: actUpload, Attempts: 1}},
		{"touched, same bytes: keep the id", uploaded, true, touched, touchedJob, action{Kind: actTouch}},
		{"touched, same bytes, id expired: upload again", expired, true, hashed, newJob, action{Kind: actUpload, Attempts: 1}},
		{"changed bytes, id valid: replace it", uploaded, true, changed, changedJob, action{Kind: actUpload, Attempts: 1, Replace: true}},
		{"refresh: replace the valid id", uploaded, true, hashed, refresh, action{Kind: actUpload, Attempts: 1, Replace: true}},
		{"same bytes inside the refresh window", uploaded, true, touched, request{Kind: jobNew, Size: size, MTime: touched.MTime, RefreshBefore: 21 * time.Hour},
			action{Kind: actUpload, Attempts: 1, Replace: true}},
		{"named, expiring: replace", expiringSoon, true, hashed, explicit, action{Kind: actUpload, Attempts: 1, Replace: true}},
		{"named, id good: keep", uploaded, true, hashed, explicit, action{Kind: actTouch}},
		{"unfinished upload resumes", uploading, true, hashed, request{Kind: jobResume}, action{Kind: actUpload, Attempts: 2, Resume: true}},
		{"failed with progress resumes", failedWithResume, true, hashed, retry, action{Kind: actUpload, Attempts: 4, Resume: true}},
		{"unfinished upload, bytes changed: start over", uploading, true, changed, request{Kind: jobResume}, action{Kind: actUpload, Attempts: 1}},
		{"retry counts attempts", retryDue, true, hashed, retry, action{Kind: actUpload, Attempts: 4}},
		{"skipped, named: upload", skipped, true, hashed, explicit, action{Kind: actUpload, Attempts: 1}},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got := decide(r.prev, r.had, r.obs, r.req, now)
			if got != r.want {
				t.Errorf("decide(%s, %+v, %s) = %+v (%s), want %+v (%s)", r.prev.State, r.obs, r.req.Kind, got, got.Kind, r.want, r.want.Kind)
			}
		})
	}
}

func TestRecorded(t *testing.T) {
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := manifest.Entry{State: manifest.Uploaded, Size: 10, MTime: mtime}
	for _, c := range []struct {
		name string
		e    manifest.Entry
		had  bool
		size int64
		want bool
	}{
		{"same stat", e, true, 10, true},
		{"other size", e, true, 11, false},
		{"no entry", manifest.Entry{}, false, 10, false},
		{"deleted", manifest.Entry{State: manifest.Uploaded, Size: 10, MTime: mtime, Deleted: true}, true, 10, false},
		{"pending", manifest.Entry{State: manifest.Pending, Size: 10, MTime: mtime}, true, 10, false},
		{"failed: the agent schedules it", manifest.Entry{State: manifest.Failed, Size: 10, MTime: mtime}, true, 10, true},
	} {
		if got := recorded(c.e, c.had, c.size, mtime); got != c.want {
			t.Errorf("%s: recorded = %v, want %v", c.name, got, c.want)
		}
	}
}
