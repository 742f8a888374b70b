package web

import "github.com/mediasync/mediasync/manifest"

// Advice says what to do about a failed or skipped manifest entry (the why is the entry's own error
// message or skip reason). The backend supplies it: the agent knows its limits and settings. Nil
// gives no fix.
type Advice func(rel string, e manifest.Entry) (fix string)

func hookFailed(e manifest.Entry) bool {
	return e.Hook != nil && e.Hook.State == manifest.HookFailed
}

// hookProblem is the problem of an entry whose on_upload hook failed: the upload stands, the
// command did not run through, and the agent no longer runs it by itself.
func hookProblem(rel string, e manifest.Entry) Problem {
	reason := "on_upload failed"
	if e.Hook.LastError != "" {
		reason += ": " + e.Hook.LastError
	}
	return Problem{Rel: rel, Reason: reason, Fix: "fix the command (or what it reaches), then re-run the failed hooks",
		Permanent: true, Attempts: e.Hook.Attempts, Since: e.UpdatedAt, Deleted: e.Deleted}
}

func problemOf(rel string, e manifest.Entry, advise Advice) Problem {
	p := Problem{Rel: rel, Attempts: e.Attempts, Since: e.UpdatedAt, Deleted: e.Deleted}
	if e.State == manifest.Failed {
		if e.Error != nil {
			p.Reason, p.Permanent = e.Error.Message, e.Error.Permanent
		}
		if !p.Permanent {
			p.NextAttempt = e.NextAttemptAt
		}
	} else {
		p.Reason = e.Reason
	}
	if advise != nil {
		p.Fix = advise(rel, e)
	}
	return p
}
