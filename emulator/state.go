package emulator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"
)

type phase int

const (
	phaseUploading  phase = iota // INIT done, taking APPENDs
	phaseFinalizing              // FINALIZE is reading the bytes
	phaseFinal                   // FINALIZE done
)

// media is one media id. The Server's mutex guards every field.
type media struct {
	id, key    string
	api        apiVersion
	mediaType  string // declared (chunked) or sniffed (one-shot)
	kind       kind   // of the declared type
	category   string // normalized; "" = none given
	totalBytes int64
	owners     []string
	created    time.Time
	expires    time.Time
	segments   map[int]*blob
	phase      phase
	finalizing chan struct{} // closed when the FINALIZE in flight ends; set in phaseFinalizing

	// Set by FINALIZE.
	ordered     []*blob
	size        int64
	digest      *digest // SHA-256 of the bytes, computed when first inspected
	detected    string
	width       int
	height      int
	duration    time.Duration // videos: what the movie header states; 0 = unknown
	async       bool          // processing_info is reported
	finalizedAt time.Time     // processing starts here
	procTime    time.Duration // snapshot of Faults.ProcessingTime
	failure     *procError    // processing ends failed with this
	noCheck     bool          // snapshot of Faults.OmitCheckAfter
	stuck       bool          // snapshot of Faults.StuckWithError
	altText     string
}

// release deletes stored bytes. Callers hold no lock on m afterwards.
func (m *media) release() {
	for _, b := range m.segments {
		b.remove()
	}
	for _, b := range m.ordered {
		b.remove()
	}
}

// processingInfo is processing_info as X reports it.
type processingInfo struct {
	State           string     `json:"state"`
	CheckAfterSecs  int        `json:"check_after_secs,omitempty"`
	ProgressPercent int        `json:"progress_percent,omitempty"`
	Error           *procError `json:"error,omitempty"`
}

// state is the media's state at now: uploading, pending, in_progress,
// succeeded or failed. Processing runs on the clock, without a goroutine:
// pending for the first tenth of Faults.ProcessingTime, in_progress with a
// growing progress_percent, then succeeded (or failed).
func (m *media) state(now time.Time) (string, *processingInfo) {
	if m.phase != phaseFinal {
		return "uploading", nil
	}
	if !m.async {
		if m.failure != nil {
			return "failed", nil
		}
		return "succeeded", nil
	}
	elapsed := now.Sub(m.finalizedAt)
	if elapsed >= m.procTime {
		if m.stuck {
			// X can leave state at in_progress with an error instead of
			// moving to failed: abraham/twitteroauth#1185 (2023-07-20):
			// {"state":"in_progress","progress_percent":99,"error":{"code":1,"name":"InvalidMedia","message":"file is invalid"}}
			// (twython#549: the same at 100; PLhery changelog #483). No
			// check_after_secs, and it never moves on.
			e := m.failure
			if e == nil {
				e = invalidMedia("file is invalid")
			}
			return "in_progress", &processingInfo{State: "in_progress", ProgressPercent: 99, Error: e}
		}
		if m.failure != nil {
			return "failed", &processingInfo{State: "failed", ProgressPercent: 100, Error: m.failure}
		}
		return "succeeded", &processingInfo{State: "succeeded", ProgressPercent: 100}
	}
	checkAfter := func(d time.Duration) int {
		if m.noCheck {
			// tweepy PR #2050: X "stopped reliably returning the
			// 'check_after_secs' key"; omitempty drops the 0.
			return 0
		}
		return max(1, int(math.Ceil(d.Seconds())))
	}
	if pend := m.procTime / 10; elapsed < pend {
		return "pending", &processingInfo{State: "pending", CheckAfterSecs: checkAfter(pend - elapsed)}
	}
	pct := int(100 * elapsed / m.procTime)
	remaining := m.procTime - elapsed
	return "in_progress", &processingInfo{State: "in_progress", CheckAfterSecs: checkAfter(min(remaining, m.procTime/4+time.Millisecond)), ProgressPercent: max(1, min(pct, 99))}
}

// info describes m, except for SHA256: the caller fills it in from the
// returned digest after letting go of the server's lock, since hashing a
// large video takes a while.
func (m *media) info(now time.Time) (MediaInfo, *digest) {
	st, _ := m.state(now)
	size := m.totalBytes
	if m.phase == phaseFinal {
		size = m.size
	}
	mt := m.mediaType
	if m.detected != "" {
		mt = m.detected
	}
	return MediaInfo{
		ID: m.id, MediaKey: m.key, API: m.api.String(), MediaType: mt, MediaCategory: m.category,
		Size: size, State: st, AltText: m.altText, Width: m.width, Height: m.height, DurationMS: m.duration.Milliseconds(),
		Segments: len(m.segments) + len(m.ordered), AdditionalOwners: m.owners,
		CreatedAt: m.created, ExpiresAt: m.expires,
	}, m.digest
}

// flowError is a client mistake in a request or in the upload flow,
// answered with 400 (or 404 for STATUS); msg is the text X sends for it.
// It is the package's one error type: handlers classify with errors.As and
// errors.Is, never by the text.
type flowError struct{ msg string }

func (e *flowError) Error() string { return "bad request: " + e.msg }

// isFlowError reports whether err is a client mistake (a *flowError), as
// opposed to a failure of the emulator itself.
func isFlowError(err error) bool {
	var fe *flowError
	return errors.As(err, &fe)
}

// flowMessage is the text to send for a client mistake.
func flowMessage(err error) string {
	var fe *flowError
	if errors.As(err, &fe) {
		return fe.msg
	}
	return "Internal error"
}

// Mistakes of the chunked flow, with X's texts where X's are known.
var (
	errUnknownMedia   = &flowError{"Invalid or unknown media id."}
	errExpiredMedia   = &flowError{"Expired media id."}
	errNotUploading   = &flowError{"Media id already finalized."}
	errFinalizing     = &flowError{"Media id is being finalized."}
	errSegmentsAddUp  = &flowError{"Segments do not add up to provided total file size."}
	errNoSegments     = &flowError{"No segments uploaded before FINALIZE."}
	errSegmentIndex   = &flowError{"SegmentIndex must be between 0 and 999."}
	errTooManyOwners  = &flowError{"additional_owners takes at most 100 user ids."}
	errOwnerNotNumber = &flowError{"additional_owners must be numeric user ids."}
)

// lookup returns a live media id. Expired ones are dropped here.
func (s *Server) lookup(id string) (*media, error) {
	now := s.now()
	s.mu.Lock()
	m, ok := s.media[id]
	if ok && !now.Before(m.expires) {
		delete(s.media, id)
		s.mu.Unlock()
		m.release()
		return nil, errExpiredMedia
	}
	s.mu.Unlock()
	if !ok {
		return nil, errUnknownMedia
	}
	return m, nil
}

// create registers a new media id; it also sweeps expired ones now and then.
func (s *Server) create(m *media) {
	now := s.now()
	m.id = s.newID(now)
	m.key = keyPrefix(m.kind, m.category) + m.id
	m.created, m.expires = now, now.Add(expiresAfter)
	if m.segments == nil {
		m.segments = make(map[int]*blob)
	}
	var dead []*media
	s.mu.Lock()
	s.media[m.id] = m
	if now.Sub(s.lastSweep) > time.Minute {
		s.lastSweep = now
		for id, o := range s.media {
			if !now.Before(o.expires) {
				delete(s.media, id)
				dead = append(dead, o)
			}
		}
	}
	s.mu.Unlock()
	for _, o := range dead {
		o.release()
	}
}

// putSegment stores segment idx of m, replacing an earlier one.
func (s *Server) putSegment(m *media, idx int, b *blob) error {
	s.mu.Lock()
	var old *blob
	var err error
	switch m.phase {
	case phaseUploading:
		old = m.segments[idx]
		m.segments[idx] = b
	case phaseFinalizing:
		err = errFinalizing
	default:
		err = errNotUploading
	}
	s.mu.Unlock()
	if err != nil {
		b.remove()
		return err
	}
	old.remove()
	return nil
}

// awaitFinalize waits while a FINALIZE of m is in flight (reassembling and
// checking the bytes), so that a concurrent FINALIZE or STATUS sees its outcome. It
// returns ctx's error if ctx ends first.
func (s *Server) awaitFinalize(ctx context.Context, m *media) error {
	for {
		s.mu.Lock()
		done := m.finalizing
		s.mu.Unlock()
		if done == nil {
			return nil
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("await finalize of %s: %w", m.id, ctx.Err())
		}
	}
}

// finalize reassembles m's segments by index and analyses the bytes. A
// second FINALIZE of a finalized id is answered with its current state; one
// that arrives while another is in flight waits for it (or for ctx) first.
// The returned *procError is a problem with the bytes that a synchronous
// FINALIZE reports as an error (asynchronous processing reports it later).
func (s *Server) finalize(ctx context.Context, m *media, allowAsync bool) (*procError, error) {
	if err := s.awaitFinalize(ctx, m); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for m.phase == phaseFinalizing {
		// Another FINALIZE started between the wait and the lock.
		s.mu.Unlock()
		if err := s.awaitFinalize(ctx, m); err != nil {
			return nil, err
		}
		s.mu.Lock()
	}
	if m.phase == phaseFinal {
		var problem *procError
		if !m.async {
			problem = m.failure
		}
		s.mu.Unlock()
		return problem, nil
	}
	idx := make([]int, 0, len(m.segments))
	var sum int64
	for i, b := range m.segments {
		idx = append(idx, i)
		sum += b.size
	}
	if len(idx) == 0 && m.totalBytes > 0 {
		s.mu.Unlock()
		return nil, errNoSegments
	}
	if sum != m.totalBytes {
		s.mu.Unlock()
		return nil, errSegmentsAddUp
	}
	sort.Ints(idx)
	ordered := make([]*blob, len(idx))
	for i, k := range idx {
		ordered[i] = m.segments[k]
	}
	m.phase = phaseFinalizing
	done := make(chan struct{})
	m.finalizing = done
	procTime, failProc := s.faults.ProcessingTime, s.faults.FailProcessing
	noCheck, stuck := s.faults.OmitCheckAfter, s.faults.StuckWithError
	hook := s.finalizingHook
	s.mu.Unlock()

	if hook != nil {
		hook(m.id)
	}
	a, err := s.analyzeBlobs(ordered, m.totalBytes, m.kind)
	s.mu.Lock()
	defer s.mu.Unlock()
	m.finalizing = nil
	defer close(done)
	if err != nil {
		m.phase = phaseUploading
		return nil, err
	}
	m.phase = phaseFinal
	m.ordered, m.segments = ordered, map[int]*blob{}
	m.size, m.detected, m.width, m.height = m.totalBytes, a.detected, a.width, a.height
	m.digest = &digest{parts: ordered}
	m.finalizedAt = s.now()
	m.async = allowAsync && (m.kind == kindVideo || m.kind == kindGIF && categories[m.category] != kindImage)
	m.failure = a.problem
	m.duration = a.duration
	if m.async {
		m.procTime, m.noCheck, m.stuck = procTime, noCheck, stuck
		if m.failure == nil {
			m.failure = durationProblem(m.category, a.duration)
		}
		if m.failure == nil && failProc {
			m.failure = invalidMedia("Unsupported video format")
		}
		return nil, nil
	}
	return m.failure, nil
}

func (s *Server) analyzeBlobs(parts []*blob, size int64, declared kind) (analysis, error) {
	c, err := openConcat(parts)
	if err != nil {
		return analysis{}, err
	}
	defer c.Close()
	return analyze(c, size, declared)
}
