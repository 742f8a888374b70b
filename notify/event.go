package notify

import "time"

// Version is the payload format's version; a change that could break a receiver gets a new one.
const Version = 1

// EventType names what happened.
type EventType string

// The event types. Each says which [Event] fields it sets besides id, type and time.
const (
	Uploaded      EventType = "uploaded"       // a file's media id is recorded: folder, path, media_id, media_key, expires_at
	Skipped       EventType = "skipped"        // a file cannot be uploaded as it is: folder, path, reason
	Failed        EventType = "failed"         // an upload failed for good: folder, path, reason, attempts
	AuthPaused    EventType = "auth_paused"    // X refuses the credentials; uploads are paused: reason
	AuthResumed   EventType = "auth_resumed"   // the credentials work again; uploads resume
	FolderRefused EventType = "folder_refused" // a folder cannot be served (damaged or locked manifest, ...): folder, reason
	HookFailed    EventType = "hook_failed"    // a file's on_upload command failed for good: folder, path, media_id, reason, attempts
)

// EventTypes returns every event type, in the order of the documentation.
func EventTypes() []EventType {
	return []EventType{Uploaded, Skipped, Failed, AuthPaused, AuthResumed, FolderRefused, HookFailed}
}

// Valid reports whether t is one of [EventTypes].
func (t EventType) Valid() bool {
	for _, k := range EventTypes() {
		if t == k {
			return true
		}
	}
	return false
}

// Event is one thing that happened. Zero fields are left out of the JSON.
type Event struct {
	// ID identifies the event (unique across restarts): a receiver that must act once per event
	// drops the ids it has seen, since delivery is at least once. Publish sets it.
	ID   string    `json:"id"`
	Type EventType `json:"type"`
	// Time is when it happened, RFC 3339 in UTC; Publish sets it to now when zero.
	Time time.Time `json:"time"`
	// Folder is the folder's absolute path.
	Folder string `json:"folder,omitempty"`
	// Path is the file's path relative to Folder with '/' separators: its manifest key.
	Path      string    `json:"path,omitempty"`
	MediaID   string    `json:"media_id,omitempty"`
	MediaKey  string    `json:"media_key,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// Reason says why (skipped, failed, auth_paused, folder_refused, hook_failed).
	Reason string `json:"reason,omitempty"`
	// Attempts is how many attempts were made (failed, hook_failed).
	Attempts int `json:"attempts,omitempty"`
}

// Payload is the JSON body of every POST, and the standard input of every command.
type Payload struct {
	Version int `json:"version"`
	// Host names the machine that sent it (Options.Host), when set.
	Host string `json:"host,omitempty"`
	// Dropped counts the events for this receiver that were lost since the last payload it got:
	// dropped from a full queue, or given up after the last attempt. Omitted when 0.
	Dropped int     `json:"dropped,omitempty"`
	Events  []Event `json:"events"`
}
