package web

import (
	"context"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Version is the version of the JSON schema of this package (docs/api.md). Every answer of the API
// carries it as "version"; a change that removes or renames a field, or changes a field's meaning,
// increments it. Adding a field does not.
const Version = 1

// Backend is what the page and the API need from a running agent. cmd implements it over the
// agent; [Client] implements it over the control socket. Every method is called from many
// goroutines at once and must not block longer than the work asked for.
//
// Errors: wrap [ErrNotFound] for an unknown folder or file, and [ErrInvalid] for a request that
// cannot be done as asked (retry of a file that is not failed, upload of a file outside every
// folder). Error messages are shown to whoever asked, on the page or the command line: they must
// hold no credential.
type Backend interface {
	// Status returns what the agent is doing: only the folder q.Folder when set ([ErrNotFound] if
	// none has that path), counts, and at most q.Limit entries of each list from q.Offset. The page
	// polls it every few seconds, so it must be cheap with 100,000 manifest entries: an [Index]
	// per folder gives the manifest part in O(limit + log n).
	Status(ctx context.Context, q Query) (Status, error)
	// Retry schedules the failed file rel of folder for an upload now and returns at once.
	Retry(ctx context.Context, folder, rel string) error
	// RetryFailed schedules every failed file of folder ("" = every folder) and returns how many.
	RetryFailed(ctx context.Context, folder string) (int, error)
	// RetryHooks runs again the failed on_upload hooks of folder ("" = every folder) and returns
	// how many it scheduled.
	RetryHooks(ctx context.Context, folder string) (int, error)
	// Upload uploads the file at path (absolute) now, as `mediasync upload FILE` does, records it in
	// its folder's manifest, and returns when it is uploaded, skipped or failed. A file inside no
	// folder is refused with [ErrInvalid] (the caller uploads it itself).
	Upload(ctx context.Context, path string, opts UploadOptions) (UploadResult, error)
	// Explain says what mediasync knows and decides about path (absolute), as `mediasync explain`.
	Explain(ctx context.Context, path string) (Explanation, error)
}

// Query selects how much of a [Status] to return, so that a page or a script never receives
// 100,000 rows at once.
type Query struct {
	// Folder, when set, selects the folder with this path; the others are left out.
	Folder string
	// Offset skips this many entries of each folder's Failed, Skipped and Hooks lists (paging).
	Offset int
	// Limit is the most entries of each folder's Recent, Failed, Skipped and Hooks lists
	// (0 = [DefaultLimit]; at most [MaxLimit]).
	Limit int
}

// DefaultLimit and MaxLimit bound [Query.Limit].
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

// limit returns q.Limit with its default and cap applied.
func (q Query) limit() int {
	switch {
	case q.Limit <= 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// Status is what the agent is doing (GET /api/status, schema [Version]).
type Status struct {
	// Version is the schema version, [Version].
	Version int `json:"version"`
	// Now is when the status was taken; the page shows expiries and waits relative to it.
	Now time.Time `json:"now"`
	// Paused is set while every upload waits for something a person must fix (the credentials, the
	// account's credits) or for the API to let uploads through again; nil while uploading.
	Paused *Pause `json:"paused,omitempty"`
	// Queue is the number of files waiting for a worker, over all folders.
	Queue int `json:"queue"`
	// Folders are the configured folders, in configuration order.
	Folders []Folder `json:"folders"`
}

// Pause says why uploads are paused.
type Pause struct {
	// Cause is a stable, machine-readable word ("unauthorized", "credits_depleted", "rate_limit",
	// ...; the backend's vocabulary, e.g. uploader.Refusal).
	Cause string `json:"cause"`
	// Message says what happened, in words.
	Message string `json:"message"`
	// Fix says what to do about it ("" when nothing is needed but waiting).
	Fix string `json:"fix,omitempty"`
	// Since is when the pause began.
	Since time.Time `json:"since"`
	// NextProbe is when the agent next tries whether uploads work again (zero = unknown).
	NextProbe time.Time `json:"next_probe,omitzero"`
}

// Folder is one watched folder's state.
type Folder struct {
	// Path is the folder's absolute path, as configured.
	Path string `json:"path"`
	// Refused is set when the agent does not watch this folder (its manifest is locked by another
	// process or damaged, the folder is missing, ...); the lists below are then what its manifest
	// said when last read, or empty.
	Refused *Refusal `json:"refused,omitempty"`
	// Parked is set while the folder is watched but its manifest cannot be written (a full disk, a
	// permission): its uploads wait in memory and resume by themselves once a write succeeds.
	// Cause is "parked"; nil otherwise.
	Parked *Refusal `json:"parked,omitempty"`
	// Counts counts the manifest entries per state.
	Counts Counts `json:"counts"`
	// Queue is the number of this folder's files waiting for a worker.
	Queue int `json:"queue"`
	// Active are the uploads in flight, oldest first. It is never capped: the workers bound it.
	Active []Transfer `json:"active"`
	// Recent are the last uploads, newest first, at most [Query.Limit].
	Recent []Upload `json:"recent"`
	// Failed are the files whose upload failed, by path.
	Failed Problems `json:"failed"`
	// Skipped are the files that will not be uploaded as they are (too large, not a type X takes),
	// by path.
	Skipped Problems `json:"skipped"`
	// Hooks are the uploaded files whose on_upload hook failed, by path.
	Hooks Problems `json:"hooks"`
}

// Counts counts a folder's manifest entries per state. Uploaded and Expired are apart: only an
// uploaded entry whose media id has not expired can be attached to a post.
type Counts struct {
	Pending    int `json:"pending"`    // seen, waiting to settle or for a worker
	Uploading  int `json:"uploading"`  // chunked upload in progress (or interrupted, to be resumed)
	Processing int `json:"processing"` // finalized, waiting for X to process the media
	Uploaded   int `json:"uploaded"`   // uploaded, media id still valid
	Expired    int `json:"expired"`    // uploaded, media id expired (upload again to post it)
	Failed     int `json:"failed"`     // failed; retried automatically unless permanent
	Skipped    int `json:"skipped"`    // not uploadable as it is
}

// Total returns the number of entries counted.
func (c Counts) Total() int {
	return c.Pending + c.Uploading + c.Processing + c.Uploaded + c.Expired + c.Failed + c.Skipped
}

// Phase is what an upload in flight is doing.
type Phase string

// The phases of one upload, in order.
const (
	PhaseHashing    Phase = "hashing"    // reading the file once for its SHA-256
	PhaseFitting    Phase = "fitting"    // making a smaller derivative that fits X's limit
	PhaseUploading  Phase = "uploading"  // sending the bytes
	PhaseProcessing Phase = "processing" // sent; X is processing the media
	PhaseHook       Phase = "hook"       // uploaded; the on_upload hook runs
)

// Transfer is one upload in flight, with its live progress.
type Transfer struct {
	// Rel is the file's path relative to its folder ('/'-separated).
	Rel string `json:"rel"`
	// Phase is what the upload is doing now.
	Phase Phase `json:"phase"`
	// Bytes is how many bytes of Total the phase has done (sent, or hashed).
	Bytes int64 `json:"bytes"`
	// Total is the bytes the phase works through (the file, or its fitted derivative).
	Total int64 `json:"total"`
	// Segments and SegmentsTotal count the chunked upload's acknowledged segments (0 and 0 for a
	// one-shot upload).
	Segments      int `json:"segments"`
	SegmentsTotal int `json:"segments_total"`
	// Rate is the recent speed in bytes per second (0 = unknown).
	Rate float64 `json:"rate"`
	// ETA is the estimated seconds until the phase ends (0 = unknown).
	ETA float64 `json:"eta_seconds"`
	// Started is when the upload started.
	Started time.Time `json:"started_at"`
}

// Upload is one recent upload.
type Upload struct {
	// Rel is the file's path relative to its folder.
	Rel string `json:"rel"`
	// MediaID is the media_id_string a post attaches.
	MediaID string `json:"media_id_string"`
	// UploadedAt is when it was uploaded.
	UploadedAt time.Time `json:"uploaded_at"`
	// ExpiresAt is when X forgets the media id.
	ExpiresAt time.Time `json:"expires_at"`
}

// Problems is one page of a folder's failed, skipped or hook-failed files.
type Problems struct {
	// Total is how many there are in all, however many Items holds.
	Total int `json:"total"`
	// Offset is the position of Items[0] among all of them ([Query.Offset]).
	Offset int `json:"offset"`
	// Items are at most [Query.Limit] of them, by path.
	Items []Problem `json:"items"`
}

// Problem is a file that failed, was skipped, or whose hook failed.
type Problem struct {
	// Rel is the file's path relative to its folder.
	Rel string `json:"rel"`
	// Reason says why, in words a photographer acts on.
	Reason string `json:"reason"`
	// Fix says what to do about it ("" when the backend has no advice).
	Fix string `json:"fix,omitempty"`
	// Permanent is true for a failure the agent does not retry by itself.
	Permanent bool `json:"permanent,omitempty"`
	// Attempts is how many uploads were tried.
	Attempts int `json:"attempts,omitempty"`
	// NextAttempt is, for a failure retried automatically, when (zero = not scheduled).
	NextAttempt time.Time `json:"next_attempt_at,omitzero"`
	// Since is when the entry last changed.
	Since time.Time `json:"since,omitzero"`
	// Deleted is true when the file is no longer in the folder (nothing to retry).
	Deleted bool `json:"deleted,omitempty"`
}

// Refusal says why the agent does not watch a folder.
type Refusal struct {
	// Cause is a stable, machine-readable word ("locked", "corrupt_manifest", "missing", ...).
	Cause string `json:"cause"`
	// Message says what happened, in words.
	Message string `json:"message"`
	// Fix says what to do about it.
	Fix string `json:"fix,omitempty"`
	// Since is when the folder was refused (zero = at start).
	Since time.Time `json:"since,omitzero"`
}

// UploadOptions are the per-call choices of `mediasync upload` (POST /api/upload).
type UploadOptions struct {
	// Category is the media_category ("" = the folder's, else from the bytes).
	Category string `json:"media_category,omitempty"`
	// AltText is the alt text ("" = the folder's alt_text policy).
	AltText string `json:"alt_text,omitempty"`
	// OnProgress, when set, is called as bytes are sent (done of total). The API streams it to a
	// [Client] caller; it is never serialised.
	OnProgress func(done, total int64) `json:"-"`
}

// UploadResult is the outcome of [Backend.Upload].
type UploadResult struct {
	// Folder is the folder that holds the file, and Rel its path there.
	Folder string `json:"folder"`
	Rel    string `json:"rel"`
	// Entry is the file's manifest entry after the upload: state uploaded, skipped or failed, with
	// the media id, the reason or the error (manifest.Entry's JSON, SPEC.md §4).
	Entry manifest.Entry `json:"entry"`
}

// Verdict is what mediasync decides about a path, in one word.
type Verdict string

// The verdicts of [Explanation].
const (
	VerdictOutside   Verdict = "outside"   // in no watched folder
	VerdictMissing   Verdict = "missing"   // no such file
	VerdictRefused   Verdict = "refused"   // its folder is not watched now (see Folder.Refused)
	VerdictIgnored   Verdict = "ignored"   // an ignore rule matches (Rule says which)
	VerdictNotMedia  Verdict = "not_media" // not a media type mediasync uploads
	VerdictSettling  Verdict = "settling"  // still changing, or not unchanged long enough yet
	VerdictQueued    Verdict = "queued"    // waiting for a worker (or for its retry time)
	VerdictUploading Verdict = "uploading" // in flight (Progress says how far)
	VerdictUploaded  Verdict = "uploaded"  // uploaded, media id valid
	VerdictExpired   Verdict = "expired"   // uploaded, media id expired
	VerdictSkipped   Verdict = "skipped"   // will not be uploaded as it is
	VerdictFailed    Verdict = "failed"    // failed (Entry.Error.Permanent: not retried by itself)
)

// Explanation is what mediasync knows and decides about one path (GET /api/explain,
// `mediasync explain FILE`).
type Explanation struct {
	// Version is the schema version, [Version].
	Version int `json:"version"`
	// Path is the path asked about, as given.
	Path string `json:"path"`
	// Folder is the watched folder that holds it ("" = none), and Rel its path there.
	Folder string `json:"folder,omitempty"`
	Rel    string `json:"rel,omitempty"`
	// Verdict is the decision, in one word.
	Verdict Verdict `json:"verdict"`
	// Detail is the backend's own, finer word for the verdict when it has one (mediasync's agent
	// says "waiting", "retrying", "changed", "removed", "not-regular", ... where Verdict says
	// queued, failed, settling, missing, not_media); `mediasync explain` prints it.
	Detail string `json:"detail,omitempty"`
	// Rule names the rule that decided, for ignored and not_media ("watch.ignore: *.part",
	// "built-in: hidden file", "folders[0].exclude: *.txt").
	Rule string `json:"rule,omitempty"`
	// Reason says why, in words.
	Reason string `json:"reason"`
	// Fix says what to do, if anything.
	Fix string `json:"fix,omitempty"`
	// Progress is the upload in flight (verdict uploading).
	Progress *Transfer `json:"progress,omitempty"`
	// Entry is the file's manifest entry, if it has one.
	Entry *manifest.Entry `json:"entry,omitempty"`
}
