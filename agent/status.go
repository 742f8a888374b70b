package agent

import (
	"fmt"
	"sort"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Phase is what an upload in flight is doing.
type Phase string

// The phases of an upload in flight.
const (
	PhaseUploading  Phase = "uploading"  // segments being sent
	PhaseProcessing Phase = "processing" // finalized; X is processing it
)

// Transfer is one upload in flight.
type Transfer struct {
	Folder        string
	Rel           string
	Phase         Phase
	Bytes         int64 // acknowledged so far
	Total         int64
	Segments      int // acknowledged
	SegmentsTotal int // 0 for a one-shot upload
	Started       time.Time
}

// Pause says why every upload is paused.
type Pause struct {
	Cause     error     // X's refusal
	Since     time.Time // first refusal of this pause
	NextProbe time.Time // when one upload tries again
}

// Status is a snapshot of what a running agent is doing.
type Status struct {
	Running   bool              // Run is running; the rest is empty when it is not
	Paused    *Pause            // nil unless every upload is paused
	Queued    map[string]int    // by folder: files waiting for a worker (not in flight)
	Scheduled int               // retries, refreshes and manifest writes waiting for their time
	InFlight  []Transfer        // sorted by folder and path
	Parked    map[string]Parked // folders whose manifest cannot be written
	Refused   map[string]error  // configured folders that could not be opened, and why
	Now       time.Time         // when the snapshot was taken
}

// Parked is a folder whose manifest cannot be written (see park.go): why, and since when.
type Parked struct {
	Err   error
	Since time.Time
}

// transfer is the live state of one upload in flight, guarded by session.mu.
type transfer struct {
	folder, rel             string
	phase                   Phase
	bytes, total            int64
	segments, segmentsTotal int
	started                 time.Time
}

// Status returns what the running agent is doing. It never blocks on I/O.
func (a *Agent) Status() Status {
	st := Status{Refused: a.Refused(), Now: a.now()}
	s := a.running.Load()
	if s == nil {
		return st
	}
	st.Running = true
	if paused, cause, since, next := s.gate.state(); paused {
		st.Paused = &Pause{Cause: cause, Since: since, NextProbe: next}
	}
	st.Queued = s.queue.byFolder()
	st.Scheduled = s.sched.len()
	st.Parked = s.parkedFolders()
	s.mu.Lock()
	for _, t := range s.live {
		st.InFlight = append(st.InFlight, Transfer{Folder: t.folder, Rel: t.rel, Phase: t.phase, Bytes: t.bytes,
			Total: t.total, Segments: t.segments, SegmentsTotal: t.segmentsTotal, Started: t.started})
	}
	s.mu.Unlock()
	sort.Slice(st.InFlight, func(i, j int) bool {
		if st.InFlight[i].Folder != st.InFlight[j].Folder {
			return st.InFlight[i].Folder < st.InFlight[j].Folder
		}
		return st.InFlight[i].Rel < st.InFlight[j].Rel
	})
	return st
}

// Entries returns a copy of every entry of folder's manifest as the agent holds it (in memory, so
// it includes what a parked folder has not written yet), keyed by manifest key. For the status
// page's index; then follow EventEntry.
func (a *Agent) Entries(folder string) (map[string]manifest.Entry, error) {
	fs, err := a.pick(folder)
	if err != nil || folder == "" {
		if err == nil {
			err = fmt.Errorf("%w: name one folder", ErrUnknownFolder)
		}
		return nil, err
	}
	return fs[0].store.Snapshot(), nil
}
