package agent

import (
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Observer receives the agent's events (metrics, notifications, the status page). Observe is
// called from many goroutines, in the order events happen for any one file, and must not block.
type Observer interface {
	Observe(Event)
}

// Observers returns an Observer that tells each of obs, in order; nil ones are left out.
func Observers(obs ...Observer) Observer {
	var out multi
	for _, o := range obs {
		if o != nil {
			out = append(out, o)
		}
	}
	return out
}

type multi []Observer

func (m multi) Observe(e Event) {
	for _, o := range m {
		o.Observe(e)
	}
}

// EventKind says what an [Event] reports.
type EventKind int

// The events of the agent.
const (
	// EventFile: a file's processing ended (Outcome), with its entry as recorded. Uploaded files
	// carry Bytes and Duration.
	EventFile EventKind = iota + 1
	// EventEntry: an entry was written to a folder's manifest (any change, including the progress
	// of an upload), for indexes of the manifest such as the status page's.
	EventEntry
	// EventQueue: the number of files queued or in flight changed (Queue).
	EventQueue
	// EventPaused: every upload pauses because X refuses the account; Err is the refusal.
	EventPaused
	// EventResumed: X accepted the account again; uploads resume.
	EventResumed
	// EventParked: a folder's manifest cannot be written (Err); its work waits.
	EventParked
	// EventUnparked: the folder's manifest was written again.
	EventUnparked
	// EventRefused: a configured folder cannot be used (Err): refused at start, or stopped
	// because another agent took its lock.
	EventRefused
	// EventHook: an on_upload hook ran (Entry.Hook says how it went; Err is its failure).
	EventHook
)

// Event is one thing the agent reports.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Folder   string         // the folder's path; "" for account events
	Rel      string         // the file's manifest key (file, entry and hook events)
	Entry    manifest.Entry // as recorded (file, entry and hook events)
	Outcome  Outcome        // EventFile
	Bytes    int64          // EventFile, uploaded
	Duration time.Duration  // EventFile, uploaded: time from the start of the upload to its record
	Queue    int            // EventQueue
	Err      error          // the refusal, the manifest error, the folder's refusal, the hook's failure
}

func (a *Agent) emit(e Event) {
	if a.opts.Observer == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = a.now()
	}
	a.opts.Observer.Observe(e)
}
