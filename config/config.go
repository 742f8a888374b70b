package config

import (
	"slices"
	"strings"
	"time"

	"github.com/mediasync/mediasync/uploader"
)

// Config is the whole configuration of SPEC.md §3. The yaml tags are the
// keys of the file. Build one with [Default] and change it, or with [Load].
type Config struct {
	API         API         `yaml:"api" json:"api"`
	Credentials Credentials `yaml:"credentials" json:"credentials"`
	Upload      Upload      `yaml:"upload" json:"upload"`
	Watch       Watch       `yaml:"watch" json:"watch"`
	Folders     []Folder    `yaml:"folders" json:"folders"`
	Log         Log         `yaml:"log" json:"log"`
	HTTP        HTTP        `yaml:"http" json:"http"`
	// Metrics is the old name of the http section. Deprecated: its listen is still read, with a
	// warning, and Load and Validate move it to HTTP.Listen; read HTTP.
	Metrics Metrics `yaml:"metrics" json:"-" deprecated:"http"`
	// Notify lists where events (uploaded, failed, ...) are sent; none by default.
	Notify []Notify `yaml:"notify" json:"notify"`
	// Source is the file the config was loaded from ("" = defaults only).
	Source string `yaml:"-" json:"source"`

	// meta holds what Load learnt about the file (lines, mode, literal
	// secrets). It is nil for a config built in code. Read-only once set.
	meta *meta
}

// API selects the protocol version, endpoint and authentication.
type API struct {
	Version string `yaml:"version" json:"version"`   // "v2" | "v1.1"
	BaseURL string `yaml:"base_url" json:"base_url"` // "" = the default of Version (resolved by Load and Validate)
	Auth    string `yaml:"auth" json:"auth"`         // "oauth1" | "oauth2" (v2 only)
	// RedirectURL is the loopback callback of `mediasync auth login` (OAuth 2.0); it must equal a
	// callback URI registered for the app in X's developer portal.
	RedirectURL string `yaml:"redirect_url" json:"redirect_url"`
}

// Credentials are the OAuth secrets. Empty ones are filled by Load from the
// MEDIASYNC_* variables; see [Credentials.Missing].
type Credentials struct {
	ConsumerKey       Secret `yaml:"consumer_key" json:"consumer_key"`
	ConsumerSecret    Secret `yaml:"consumer_secret" json:"consumer_secret"`
	AccessToken       Secret `yaml:"access_token" json:"access_token"`
	AccessTokenSecret Secret `yaml:"access_token_secret" json:"access_token_secret"`
	BearerToken       Secret `yaml:"bearer_token" json:"bearer_token"`
	// ClientID and ClientSecret are the OAuth 2.0 client (the app's "OAuth 2.0 Client ID and
	// Client Secret"; the secret only for a confidential client). With api.auth oauth2 and no
	// bearer_token, requests use the grant `mediasync auth login` stored in TokenFile.
	ClientID     Secret `yaml:"client_id" json:"client_id"`
	ClientSecret Secret `yaml:"client_secret" json:"client_secret"`
	// TokenFile holds the OAuth 2.0 grant; "" resolves to <user config dir>/mediasync/token.json,
	// a relative path to the config file's directory.
	TokenFile string `yaml:"token_file" json:"token_file"`

	// unset names, per credential, the ${VAR} references of the file that
	// were not set, so Missing can name them. nil for a config built in code.
	unset *[numCreds][]string
}

// Upload tunes the uploader.
type Upload struct {
	Workers           int      `yaml:"workers" json:"workers"`
	ChunkSize         Size     `yaml:"chunk_size" json:"chunk_size"`
	ChunkParallelism  int      `yaml:"chunk_parallelism" json:"chunk_parallelism"`
	SimpleUploadMax   Size     `yaml:"simple_upload_max" json:"simple_upload_max"`
	MaxAttempts       int      `yaml:"max_attempts" json:"max_attempts"`
	MaxBackoff        Duration `yaml:"max_backoff" json:"max_backoff"`
	RequestTimeout    Duration `yaml:"request_timeout" json:"request_timeout"`
	ProcessingTimeout Duration `yaml:"processing_timeout" json:"processing_timeout"`
	BandwidthLimit    Size     `yaml:"bandwidth_limit" json:"bandwidth_limit"` // bytes per second over all uploads; 0 = unlimited
}

// Watch tunes the watcher.
type Watch struct {
	Mode           string   `yaml:"mode" json:"mode"` // "auto" | "notify" | "poll"
	Settle         Duration `yaml:"settle" json:"settle"`
	NetworkSettle  Duration `yaml:"network_settle" json:"network_settle"` // settle on NFS/SMB/CIFS/FUSE mounts, in any mode; never shorter than Settle
	PollInterval   Duration `yaml:"poll_interval" json:"poll_interval"`
	RescanInterval Duration `yaml:"rescan_interval" json:"rescan_interval"` // 0 disables the periodic rescan
	Ignore         []string `yaml:"ignore" json:"ignore"`                   // extra globs (path.Match syntax) on top of the built-in list
}

// Folder is one watched folder. Build one in code with [DefaultFolder] so
// that the defaults (recursive, auto, keep) are set.
type Folder struct {
	Path             string   `yaml:"path" json:"path"` // absolute and cleaned after Load/Validate ("~/" is expanded)
	Recursive        bool     `yaml:"recursive" json:"recursive"`
	Include          []string `yaml:"include" json:"include"` // globs (path.Match syntax), validated here, matched by the agent
	Exclude          []string `yaml:"exclude" json:"exclude"`
	MediaCategory    string   `yaml:"media_category" json:"media_category"`
	AdditionalOwners []string `yaml:"additional_owners" json:"additional_owners"`
	AltText          string   `yaml:"alt_text" json:"alt_text"`
	// AfterUpload is "keep" or "move:<dir>". Load and Validate resolve
	// <dir> to an absolute, cleaned path; see [Folder.MoveDir].
	AfterUpload string `yaml:"after_upload" json:"after_upload"`
	// Manifest is the manifest file; "" in the file resolves to
	// <path>/.mediasync/manifest.json, a relative path resolves against Path.
	Manifest            string   `yaml:"manifest" json:"manifest"`
	RefreshBeforeExpiry Duration `yaml:"refresh_before_expiry" json:"refresh_before_expiry"`
	// OnUpload is the command run after each upload of this folder is recorded; none when its
	// Command is empty.
	OnUpload Hook `yaml:"on_upload" json:"on_upload"`
	// Fit is "auto" (the default) or "none": with auto, a photo over X's limit for photos, or in a
	// type X does not show but mediasync can read (TIFF, BMP), is uploaded as a JPEG derivative
	// that fits (the original is never changed); with none it is skipped, with the reason.
	Fit string `yaml:"fit" json:"fit"`
	// FitMaxEdge is the long edge of a derivative, in pixels.
	FitMaxEdge int `yaml:"fit_max_edge" json:"fit_max_edge"`
	// FitStripMetadata drops GPS and every other EXIF tag from a derivative (the colour profile is
	// kept); false keeps the EXIF block.
	FitStripMetadata bool `yaml:"fit_strip_metadata" json:"fit_strip_metadata"`
}

// Hook is a command run by the agent: a folder's on_upload (see package hook for what it gets).
type Hook struct {
	// Command is the argv, run without a shell: Command[0] is an absolute path ("~/" is expanded
	// by Load and Validate) or a name looked up in PATH. Empty = no command.
	Command []string `yaml:"command" json:"command"`
	Timeout Duration `yaml:"timeout" json:"timeout"` // the process group is killed after it
	// Env names variables of the agent's environment passed on to the command, beyond the base
	// set (PATH, HOME, LANG, TZ, ...) that every command gets.
	Env []string `yaml:"env" json:"env"`
}

// Notify is one notification target: a webhook (URL) or a command, never both.
type Notify struct {
	// URL receives each payload as a JSON POST (http or https). It is a Secret because webhook
	// URLs often carry their credential in the path or query (Slack, Discord): write such a
	// one as ${VAR}.
	URL Secret `yaml:"url" json:"url"`
	// Headers are sent with every POST; values may use ${VAR} and are never shown.
	Headers map[string]Secret `yaml:"headers" json:"headers"`
	// Command gets each payload on stdin instead, as on_upload commands are run.
	Command []string `yaml:"command" json:"command"`
	// Env names variables passed on to Command (as for on_upload).
	Env []string `yaml:"env" json:"env"`
	// Events lists the event types sent (NotifyEvents); every type by default.
	Events []string `yaml:"events" json:"events"`
	// Timeout bounds one POST or one run of Command.
	Timeout Duration `yaml:"timeout" json:"timeout"`
}

// Log configures the logger that cmd builds.
type Log struct {
	Level  string `yaml:"level" json:"level"`   // "debug" | "info" | "warn" | "error"
	Format string `yaml:"format" json:"format"` // "auto" | "console" | "json"
}

// HTTP configures the agent's optional HTTP listener (run only): the status page (/), its JSON
// API (/api/), Prometheus /metrics and /healthz.
type HTTP struct {
	Listen string `yaml:"listen" json:"listen"` // host:port, "" = off
	// Token, when set, is required by the page and the API: a browser logs in once with
	// /?token=TOKEN, a script sends "Authorization: Bearer TOKEN". run refuses to listen on an
	// address reachable from other machines without one. Empty = MEDIASYNC_HTTP_TOKEN.
	Token Secret `yaml:"token" json:"token"`
}

// Metrics is the section that held the listen address before it served more than metrics.
// Deprecated: use [HTTP].
type Metrics struct {
	Listen string `yaml:"listen" json:"listen"` // the old http.listen
}

// MinHTTPToken is the shortest http.token accepted: the token is all that stands between the
// network and the retry buttons.
const MinHTTPToken = 16

// HTTPTokenEnv is the environment variable an empty http.token is taken from.
const HTTPTokenEnv = "MEDIASYNC_HTTP_TOKEN"

// Allowed values of the enumerated keys.
const (
	VersionV2  = "v2"
	VersionV11 = "v1.1"
	AuthOAuth1 = "oauth1"
	AuthOAuth2 = "oauth2"

	// DefaultBaseURLV2 and DefaultBaseURLV11 are the base URLs an empty
	// api.base_url resolves to.
	DefaultBaseURLV2  = "https://api.x.com"
	DefaultBaseURLV11 = "https://upload.twitter.com"

	// DefaultRedirectURL is the default api.redirect_url.
	DefaultRedirectURL = "http://127.0.0.1:8765/callback"
	// TokenFileName is the default token file's name, in the user config dir's mediasync/.
	TokenFileName = "token.json"

	// ManifestDir is the directory, inside each folder, that holds the
	// default manifest; the watcher never descends into it.
	ManifestDir = ".mediasync"
	// ManifestName is the default manifest's file name.
	ManifestName = "manifest.json"

	// (X's limits — chunk sizes, the one-shot limit, additional owners,
	// categories — live in the uploader package, which Validate uses.)

	// MaxChunkParallelism caps chunk_parallelism: beyond it, more requests
	// in flight only spend the per-endpoint rate limit faster.
	MaxChunkParallelism = 16
	// MaxWorkers caps upload.workers for the same reason.
	MaxWorkers = 64
	// MaxFolders caps the folders list; more is a mistake (watch a parent).
	MaxFolders = 1000
	// DefaultFitMaxEdge is fit_max_edge's default, in pixels; MinFitMaxEdge and MaxFitMaxEdge
	// bound it (a smaller derivative is useless on X, a larger one cannot fit 5 MB).
	DefaultFitMaxEdge = 4096
	MinFitMaxEdge     = 256
	MaxFitMaxEdge     = 8192
	// DefaultHookTimeout is on_upload.timeout's default.
	DefaultHookTimeout = 60 * time.Second
	// DefaultNotifyTimeout is notify[].timeout's default.
	DefaultNotifyTimeout = 30 * time.Second

	// MaxRefreshBeforeExpiry bounds refresh_before_expiry: media ids live
	// 24 hours, so a longer window would re-upload every file forever.
	MaxRefreshBeforeExpiry = 24 * time.Hour

	// MinSettle is the shortest watch.settle: below it "unchanged for this
	// long" no longer tells a finished file from one still being written
	// (mtime granularity and writers' pauses are of that order).
	// watch.network_settle must be at least watch.settle.
	MinSettle = 100 * time.Millisecond
	// MinPollInterval is the shortest watch.poll_interval: each poll lists
	// every folder, and polling faster busy-loops on a large tree.
	MinPollInterval = time.Second
	// MinRescanInterval is the shortest watch.rescan_interval other than 0
	// (off): a rescan walks every folder.
	MinRescanInterval = time.Minute
)

// MediaCategories lists the accepted folders[].media_category values: "auto"
// and X's categories (uploader.Categories).
var MediaCategories = append([]string{"auto"}, uploader.Categories()...)

// FitModes lists the accepted folders[].fit values.
var FitModes = []string{"auto", "none"}

// AltTextModes lists the accepted folders[].alt_text values.
var AltTextModes = []string{"none", "sidecar", "embedded", "auto"}

// NotifyEvents lists the accepted notify[].events values (the event types of package notify).
var NotifyEvents = []string{"uploaded", "skipped", "failed", "auth_paused", "auth_resumed", "folder_refused", "hook_failed"}

// ReservedHookEnv returns the variables the agent sets for an on_upload command itself (package
// hook's job variables); on_upload.env may not name them.
func ReservedHookEnv() []string {
	return []string{"MEDIASYNC_FOLDER", "MEDIASYNC_PATH", "MEDIASYNC_REL", "MEDIASYNC_MEDIA_ID",
		"MEDIASYNC_MEDIA_KEY", "MEDIASYNC_EXPIRES_AT", "MEDIASYNC_ALT_TEXT", "MEDIASYNC_HOOK_ATTEMPT"}
}

// Default returns a config holding every default of SPEC.md §3: no folders,
// no credentials, base_url still "" (it resolves from api.version).
func Default() Config {
	return Config{
		API: API{Version: VersionV2, Auth: AuthOAuth1, RedirectURL: DefaultRedirectURL},
		Upload: Upload{
			Workers:           2,
			ChunkSize:         4 << 20,
			ChunkParallelism:  3,
			SimpleUploadMax:   1 << 20,
			MaxAttempts:       8,
			MaxBackoff:        Duration(2 * time.Minute),
			RequestTimeout:    Duration(2 * time.Minute),
			ProcessingTimeout: Duration(15 * time.Minute),
			BandwidthLimit:    0,
		},
		Watch: Watch{
			Mode:           "auto",
			Settle:         Duration(3 * time.Second),
			NetworkSettle:  Duration(20 * time.Second),
			PollInterval:   Duration(30 * time.Second),
			RescanInterval: Duration(time.Hour),
		},
		Log: Log{Level: "info", Format: "auto"},
	}
}

// DefaultFolder returns a folder with the defaults of SPEC.md §3 and the
// given path (recursive, media_category auto, alt_text auto, after_upload
// keep, no on_upload command with a 60s timeout, manifest resolved on Validate).
func DefaultFolder(path string) Folder {
	return Folder{
		Path:          path,
		Recursive:     true,
		MediaCategory: "auto",
		AltText:       "auto",
		AfterUpload:   "keep",
		OnUpload:      Hook{Timeout: Duration(DefaultHookTimeout)},
		Fit:           "auto",
		FitMaxEdge:    DefaultFitMaxEdge,

		FitStripMetadata: true,
	}
}

// DefaultNotify returns a notification target with the defaults: every
// event type, a 30s timeout, neither URL nor command (one must be set).
func DefaultNotify() Notify {
	return Notify{Events: slices.Clone(NotifyEvents), Timeout: Duration(DefaultNotifyTimeout)}
}

// MoveDir returns the absolute directory a file is moved to after upload,
// or "" when after_upload is keep. It is absolute once the config has been
// through Load or Validate.
func (f Folder) MoveDir() string {
	d, ok := strings.CutPrefix(f.AfterUpload, "move:")
	if !ok {
		return ""
	}
	return d
}
