package config

import (
	"strings"
	"time"
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
}

// Credentials are the OAuth secrets. Empty ones are filled by Load from the
// MEDIASYNC_* variables; see [Credentials.Missing].
type Credentials struct {
	ConsumerKey       Secret `yaml:"consumer_key" json:"consumer_key"`
	ConsumerSecret    Secret `yaml:"consumer_secret" json:"consumer_secret"`
	AccessToken       Secret `yaml:"access_token" json:"access_token"`
	AccessTokenSecret Secret `yaml:"access_token_secret" json:"access_token_secret"`
	BearerToken       Secret `yaml:"bearer_token" json:"bearer_token"`

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

	// ManifestDir is the directory, inside each folder, that holds the
	// default manifest; the watcher never descends into it.
	ManifestDir = ".mediasync"
	// ManifestName is the default manifest's file name.
	ManifestName = "manifest.json"

	// MaxChunkSizeV2 is the largest APPEND segment on v2: X's edge refuses
	// 5 MiB segments with a 413 (API.md); official tooling uses 4 MiB.
	MaxChunkSizeV2 = 4 << 20
	// MaxChunkSizeV11 is the largest APPEND segment on v1.1 ("must be <= 5 MB").
	MaxChunkSizeV11 = 5_000_000
	// MaxSimpleUpload is the largest one-shot upload (the image limit, 5 MB).
	MaxSimpleUpload = 5_000_000
	// MaxSegments is the number of APPEND segments one upload may have (0..999).
	MaxSegments = 1000
	// MaxChunkParallelism caps chunk_parallelism: beyond it, more requests
	// in flight only spend the per-endpoint rate limit faster.
	MaxChunkParallelism = 16
	// MaxWorkers caps upload.workers for the same reason.
	MaxWorkers = 64
	// MaxFolders caps the folders list; more is a mistake (watch a parent).
	MaxFolders = 1000
	// MaxAdditionalOwners is X's limit on additional_owners.
	MaxAdditionalOwners = 100
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

// MediaCategories lists the accepted folders[].media_category values.
var MediaCategories = []string{"auto", "tweet_image", "tweet_gif", "tweet_video", "amplify_video", "dm_image", "dm_gif", "dm_video", "subtitles"}

// AltTextModes lists the accepted folders[].alt_text values.
var AltTextModes = []string{"none", "sidecar", "embedded", "auto"}

// Default returns a config holding every default of SPEC.md §3: no folders,
// no credentials, base_url still "" (it resolves from api.version).
func Default() Config {
	return Config{
		API: API{Version: VersionV2, Auth: AuthOAuth1},
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
// keep, manifest resolved on Validate).
func DefaultFolder(path string) Folder {
	return Folder{
		Path:          path,
		Recursive:     true,
		MediaCategory: "auto",
		AltText:       "auto",
		AfterUpload:   "keep",
	}
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
