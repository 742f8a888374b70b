package manifest

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// State is the life-cycle state of one file in the manifest (SPEC.md §4).
type State string

// The states of SPEC.md §4. Only [Uploaded] with an ExpiresAt in the future is usable by a posting step.
const (
	Pending    State = "pending"    // seen, waiting to settle or for a worker
	Uploading  State = "uploading"  // chunked upload in progress; Entry.Resume says how to continue
	Processing State = "processing" // finalized, waiting for STATUS to succeed
	Uploaded   State = "uploaded"   // done: MediaIDString, MediaKey and ExpiresAt are set
	Failed     State = "failed"     // Entry.Error says why; Error.Permanent=false means it is retried
	Skipped    State = "skipped"    // not uploadable; Entry.Reason says why
)

// Valid reports whether s is one of the states of SPEC.md §4.
func (s State) Valid() bool {
	switch s {
	case Pending, Uploading, Processing, Uploaded, Failed, Skipped:
		return true
	}
	return false
}

// Entry is the record of one file, keyed in [Manifest.Files] by its path relative to the folder.
// Its JSON form is the contract with the posting step (SPEC.md §4); zero values are omitted.
type Entry struct {
	State         State     `json:"state"`
	MediaIDString string    `json:"media_id_string,omitempty"`
	MediaKey      string    `json:"media_key,omitempty"`
	ExpiresAt     time.Time `json:"expires_at,omitzero"`
	UploadedAt    time.Time `json:"uploaded_at,omitzero"`
	API           string    `json:"api,omitempty"`
	Size          int64     `json:"size,omitempty"`
	MTime         time.Time `json:"mtime,omitzero"`
	SHA256        string    `json:"sha256,omitempty"`
	MediaType     string    `json:"media_type,omitempty"`
	MediaCategory string    `json:"media_category,omitempty"`
	AltText       string    `json:"alt_text,omitempty"`
	Attempts      int       `json:"attempts,omitempty"`
	Error         *Error    `json:"error,omitempty"`
	// Reason says why the file was skipped.
	Reason string `json:"reason,omitempty"`
	// Resume holds what continuing an interrupted chunked upload needs (states uploading, processing).
	Resume *Resume `json:"resume,omitempty"`
	// NextAttemptAt is, for a failed entry with Error.Permanent=false, the earliest time of the next attempt.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// Deleted is set when the file was removed from the folder; the entry is kept because the
	// media id stays valid until it expires.
	Deleted bool `json:"deleted,omitempty"`
	// MovedTo is where after_upload: move put the file (absolute); the entry stays under the path
	// the file had in the folder, and is not flagged deleted when the file leaves.
	MovedTo string `json:"moved_to,omitempty"`
	// Hook is the state of the folder's on_upload command for this upload; nil when the folder has
	// none (or the entry is not uploaded). See [HookState].
	Hook *HookState `json:"hook,omitempty"`
	// Fitted describes the derivative uploaded instead of the file (a photo over X's limit, or in a
	// type X does not show), when there is one. Size, MTime and SHA256 stay the original's: the
	// original is never changed.
	Fitted *Fitted `json:"fitted,omitempty"`
	// UpdatedAt is when the entry was last stored; [Store.Put] sets it.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Error is the recorded failure of a failed entry.
type Error struct {
	Permanent  bool   `json:"permanent"`
	HTTPStatus int    `json:"http_status,omitempty"`
	Code       int    `json:"code,omitempty"`
	Name       string `json:"name,omitempty"`
	Message    string `json:"message"`
}

// HookStatus is the state of an entry's on_upload command.
type HookStatus string

// The hook states. An entry recorded as uploaded in a folder with an on_upload command carries
// Hook{State: HookPending} from the same durable Put, so that a crash before the command finished
// runs it again on restart (at least once).
const (
	HookPending HookStatus = "pending" // not run yet, or to be run again at NextAttemptAt
	HookDone    HookStatus = "done"    // ran and exited 0
	HookFailed  HookStatus = "failed"  // gave up after Attempts; LastError says why
)

// Valid reports whether s is one of the hook states.
func (s HookStatus) Valid() bool {
	switch s {
	case HookPending, HookDone, HookFailed:
		return true
	}
	return false
}

// HookState is the record of an entry's on_upload command.
type HookState struct {
	State HookStatus `json:"state"`
	// Attempts counts the runs that ended (exit status, timeout, failure to start); a run cut short
	// by the agent stopping is not counted.
	Attempts int `json:"attempts,omitempty"`
	// LastError is why the last run failed ("exit status 2: curl: (7) Failed to connect").
	LastError string `json:"last_error,omitempty"`
	// NextAttemptAt is, for a pending hook that failed before, the earliest time of the next run.
	NextAttemptAt time.Time `json:"next_attempt_at,omitzero"`
	// DoneAt is when the command exited 0.
	DoneAt time.Time `json:"done_at,omitzero"`
}

// Fitted is the derivative of a photo that was uploaded in its place: a JPEG whose long edge and
// size fit X's limits.
type Fitted struct {
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // of the derivative's bytes, as X holds them
}

// Resume is the persisted state of a chunked upload, enough to continue it after a restart while
// the media id has not expired.
type Resume struct {
	MediaID   string    `json:"media_id"`
	MediaKey  string    `json:"media_key,omitempty"`
	ChunkSize int64     `json:"chunk_size"`
	Acked     []int     `json:"acked_segments"`
	ExpiresAt time.Time `json:"expires_at"`
	Finalized bool      `json:"finalized,omitempty"`
	Category  string    `json:"media_category,omitempty"` // the category the upload was initialized with
}

// Usable reports whether a posting step may attach the entry's media at time now: the state is
// uploaded, it has a media id, and the id has not expired.
func (e Entry) Usable(now time.Time) bool {
	return e.State == Uploaded && e.MediaIDString != "" && e.ExpiresAt.After(now)
}

// clone returns a deep copy of e, so that callers never share pointers or slices with the store.
func (e Entry) clone() Entry {
	if e.Error != nil {
		v := *e.Error
		e.Error = &v
	}
	if e.Hook != nil {
		v := *e.Hook
		e.Hook = &v
	}
	if e.Resume != nil {
		v := *e.Resume
		if v.Acked != nil {
			v.Acked = append([]int{}, v.Acked...)
		}
		e.Resume = &v
	}
	if e.Fitted != nil {
		v := *e.Fitted
		e.Fitted = &v
	}
	return e
}

// utc returns e with every time in UTC and without a monotonic reading, as it reads back from JSON.
// Resume.Acked is never nil, so it is written as [] rather than null.
func (e Entry) utc() Entry {
	e = e.clone()
	e.ExpiresAt = e.ExpiresAt.UTC()
	e.UploadedAt = e.UploadedAt.UTC()
	e.MTime = e.MTime.UTC()
	e.NextAttemptAt = e.NextAttemptAt.UTC()
	e.UpdatedAt = e.UpdatedAt.UTC()
	if e.Hook != nil {
		e.Hook.NextAttemptAt = e.Hook.NextAttemptAt.UTC()
		e.Hook.DoneAt = e.Hook.DoneAt.UTC()
	}
	if e.Resume != nil {
		e.Resume.ExpiresAt = e.Resume.ExpiresAt.UTC()
		if e.Resume.Acked == nil {
			e.Resume.Acked = []int{}
		}
	}
	return e
}

// ValidRel reports whether rel is a well-formed manifest key: a clean, relative, slash-separated
// path inside the folder, in valid UTF-8 (JSON cannot carry other bytes unchanged), without NUL.
func ValidRel(rel string) error {
	switch {
	case rel == "" || rel == ".":
		return fmt.Errorf("%w: empty path", ErrInvalid)
	case !utf8.ValidString(rel):
		return fmt.Errorf("%w: path %q is not valid UTF-8", ErrInvalid, rel)
	case strings.ContainsRune(rel, 0):
		return fmt.Errorf("%w: path %q contains a NUL byte", ErrInvalid, rel)
	case strings.HasPrefix(rel, "/"):
		return fmt.Errorf("%w: path %q is absolute, want relative to the folder", ErrInvalid, rel)
	case path.Clean(rel) != rel:
		return fmt.Errorf("%w: path %q is not clean (want %q)", ErrInvalid, rel, path.Clean(rel))
	case rel == ".." || strings.HasPrefix(rel, "../"):
		return fmt.Errorf("%w: path %q leaves the folder", ErrInvalid, rel)
	}
	return nil
}

// Rel returns the manifest key of the file at path inside folder: its path relative to folder,
// with '/' separators. It is lexical (symlinks are not resolved) and fails with [ErrInvalid] for a
// path outside folder or one [ValidRel] refuses.
func Rel(folder, path string) (string, error) {
	r, err := filepath.Rel(folder, path)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	rel := filepath.ToSlash(r)
	if err := ValidRel(rel); err != nil {
		return "", err
	}
	return rel, nil
}

// validEntry checks what a manifest entry must satisfy to be stored.
func validEntry(rel string, e Entry) error {
	if err := ValidRel(rel); err != nil {
		return err
	}
	if !e.State.Valid() {
		return fmt.Errorf("%w: entry %q: unknown state %q", ErrInvalid, rel, e.State)
	}
	if e.Hook != nil && !e.Hook.State.Valid() {
		return fmt.Errorf("%w: entry %q: unknown hook state %q", ErrInvalid, rel, e.Hook.State)
	}
	return nil
}
