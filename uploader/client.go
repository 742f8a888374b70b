package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// API versions.
const (
	V2  = "v2"
	V11 = "v1.1"
)

// Options configure a [Client]. Zero values take the documented defaults.
type Options struct {
	BaseURL           string        // required, e.g. https://api.x.com or the emulator URL
	Version           string        // "v2" (default) | "v1.1"
	ChunkSize         int64         // default 4 MiB; at most 4 MiB on v2, 5 MiB on v1.1
	ChunkParallelism  int           // default 3: APPENDs in flight for one file
	SimpleUploadMax   int64         // default (0) 1 MiB: images up to this go one-shot; negative: none does (every upload resumable)
	MaxAttempts       int           // default 8, per request, retryable failures
	MaxBackoff        time.Duration // default 2m
	RequestTimeout    time.Duration // default 2m: a request making no progress this long is abandoned and retried
	ProcessingTimeout time.Duration // default 15m
	BandwidthLimit    int64         // bytes/s over all uploads of this Client; 0 = unlimited
	// MaxInlineWait (default 1m) is the longest wait the server may ask for
	// (rate-limit reset, Retry-After) that a call sleeps through; a longer
	// one ends the call with a *WaitError, so that the caller reschedules
	// the file instead of holding a worker for up to MaxServerWait.
	MaxInlineWait time.Duration
	// OnRetry, if not nil, is called before each retry wait (also from
	// parallel segment goroutines; it must be safe for concurrent use).
	// When set, the client logs retries at debug level only; when nil, at
	// warn level.
	OnRetry func(op string, attempt int, err error, wait time.Duration)
	// OnWait, if not nil, is called each time a request waits before it is
	// sent because the endpoint's rate-limit budget, as the client tracks
	// it from the x-rate-limit-* (and 24-hour) headers, is used up: op is
	// the request ("INIT", "APPEND", "UPLOAD", … as in APIError.Op), wait
	// the time until the window resets (the client then checks again). It
	// is called from parallel segment goroutines and concurrent uploads and
	// must be safe for concurrent use. Waiting after a 429 is a retry and
	// goes to OnRetry instead. When set, the client logs these waits at
	// debug level only; when nil, at info level.
	OnWait func(op string, wait time.Duration)
	Log    zerolog.Logger
}

const (
	defaultChunkSize         = 4 << 20
	defaultChunkParallelism  = 3
	defaultSimpleUploadMax   = 1 << 20
	defaultMaxAttempts       = 8
	defaultMaxBackoff        = 2 * time.Minute
	defaultRequestTimeout    = 2 * time.Minute
	defaultProcessingTimeout = 15 * time.Minute
	defaultMaxInlineWait     = time.Minute
	// defaultCheckAfter is the STATUS interval when the server gives no
	// check_after_secs (it sometimes omits it, API.md §1.5).
	defaultCheckAfter = 2 * time.Second
	// maxDefaultCheckAfter caps the backoff of STATUS polls without
	// check_after_secs.
	maxDefaultCheckAfter = 30 * time.Second
	// expiryMargin: a media id this close to expiry is not worth resuming.
	expiryMargin = 5 * time.Minute
)

// withDefaults fills zero values.
func (o Options) withDefaults() Options {
	if o.Version == "" {
		o.Version = V2
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = defaultChunkSize
	}
	if o.ChunkParallelism == 0 {
		o.ChunkParallelism = defaultChunkParallelism
	}
	if o.SimpleUploadMax == 0 {
		o.SimpleUploadMax = defaultSimpleUploadMax
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = defaultMaxAttempts
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = defaultMaxBackoff
	}
	if o.RequestTimeout == 0 {
		o.RequestTimeout = defaultRequestTimeout
	}
	if o.ProcessingTimeout == 0 {
		o.ProcessingTimeout = defaultProcessingTimeout
	}
	if o.MaxInlineWait == 0 {
		o.MaxInlineWait = defaultMaxInlineWait
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
	return o
}

// Validate reports every problem with o (after defaults), each wrapping
// ErrInvalid. New accepts any Options; a Client built from invalid ones
// returns this error from every call, so callers should check at start.
func (o Options) Validate() error {
	o = o.withDefaults()
	var probs []string
	if o.BaseURL == "" {
		probs = append(probs, "base URL is required")
	} else if !strings.HasPrefix(o.BaseURL, "http://") && !strings.HasPrefix(o.BaseURL, "https://") {
		probs = append(probs, fmt.Sprintf("base URL %q must start with http:// or https://", o.BaseURL))
	}
	limit := MaxChunkSize(o.Version)
	if o.Version != V2 && o.Version != V11 {
		probs = append(probs, fmt.Sprintf("api version %q is not v2 or v1.1", o.Version))
	}
	if o.ChunkSize < 0 || o.ChunkSize > limit {
		probs = append(probs, fmt.Sprintf("chunk size %d is outside 1..%d for %s", o.ChunkSize, limit, o.Version))
	}
	if o.SimpleUploadMax > MaxSimpleUpload {
		probs = append(probs, fmt.Sprintf("simple upload max %d is over the one-shot limit %d", o.SimpleUploadMax, MaxSimpleUpload))
	}
	if o.ChunkParallelism < 0 || o.ChunkParallelism > 64 {
		probs = append(probs, fmt.Sprintf("chunk parallelism %d is outside 1..64", o.ChunkParallelism))
	}
	if o.MaxAttempts < 0 {
		probs = append(probs, "max attempts is negative")
	}
	if o.BandwidthLimit < 0 || o.MaxBackoff < 0 || o.RequestTimeout < 0 || o.ProcessingTimeout < 0 || o.MaxInlineWait < 0 {
		probs = append(probs, "sizes, limits and durations must not be negative")
	}
	if len(probs) == 0 {
		return nil
	}
	return fmt.Errorf("uploader options: %w: %s", ErrInvalid, strings.Join(probs, "; "))
}

// Media describes one file to upload.
type Media struct {
	Name             string // base name, for the multipart filename and messages
	Size             int64
	Type             string // MIME type from the bytes (see Detect)
	Category         string // "" or "auto" = derived from Type; else tweet_image|tweet_gif|tweet_video|amplify_video|dm_image|dm_gif|dm_video|subtitles
	AltText          string
	AdditionalOwners []string
	Shared           bool
	// Duration is a video's playing time (see ProbeDuration); 0 means
	// unknown and is not checked. Prepare refuses a tweet_video or dm_video
	// longer than MaxVideoDuration.
	Duration time.Duration
	// Sums, when not nil, are the digests the caller recorded for these
	// bytes (see HashFile). Every segment, and a one-shot body, is hashed as
	// it is sent; one that differs fails before its last byte leaves and the
	// upload returns an error wrapping ErrSource ("changed while
	// uploading"). When the upload's segments are not those of
	// Sums.ChunkSize, the file is hashed once more at the upload's size and
	// must still have Sums.SHA256.
	Sums *Sums
}

// Result is a finished upload.
type Result struct {
	MediaIDString string
	MediaKey      string
	ExpiresAt     time.Time // time of the server's answer + expires_after_secs (latest FINALIZE/STATUS)
	Size          int64
	Type          string
	Category      string
	Width, Height int    // images, when the server reports them
	API           string // "v2" | "v1.1"
}

// Progress is what resuming a chunked upload needs. It is passed to the
// progress callback after INIT, after every acknowledged segment, when X's
// edge made the segments smaller (a new ChunkSize, perhaps a new MediaID),
// and after FINALIZE (Finalized true). Acked is sorted and owned by the
// receiver.
type Progress struct {
	MediaID   string
	MediaKey  string
	ChunkSize int64
	Acked     []int
	ExpiresAt time.Time
	Finalized bool
	Category  string
}

// Client uploads media to the X media API. It is safe for concurrent use;
// the bandwidth limit and rate-limit budgets are shared by all its uploads.
type Client struct {
	hc     *http.Client
	opts   Options
	optErr error
	log    zerolog.Logger
	proto  protocol
	limits *limiter
	bw     *rate.Limiter
}

// New returns a Client that sends its requests through hc, which must
// already authenticate them (an oauth1 or bearer-token transport). Invalid
// options are reported by [Options.Validate] and by every call.
func New(hc *http.Client, opts Options) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	opts = opts.withDefaults()
	c := &Client{
		hc:     hc,
		opts:   opts,
		optErr: opts.Validate(),
		log:    opts.Log.With().Str("component", "uploader").Logger(),
		limits: newLimiter(),
		bw:     newBandwidthLimiter(opts.BandwidthLimit),
	}
	if opts.Version == V11 {
		c.proto = v11{c}
	} else {
		c.proto = v2{c}
	}
	return c
}

// NewTransport returns an http.Transport suited to the uploader: enough idle
// connections per host for parallel segments of parallel files (the default
// keeps 2, so a third segment in flight would reconnect every time), and a
// larger write buffer (fewer syscalls per segment). Use it as the base of
// the authenticating transport, e.g. through the oauth1.HTTPClient context
// value.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 32
	t.MaxIdleConns = 64
	t.WriteBufferSize = 256 << 10
	t.ReadBufferSize = 64 << 10
	return t
}

func (c *Client) maxChunk() int64 { return MaxChunkSize(c.opts.Version) }

// Upload uploads the media in r (m.Size bytes) and returns its media id,
// key and expiry once the server has processed it. Small images go one-shot
// (on v2 chunked while the one-shot endpoint's rate-limit budget is spent);
// everything else is chunked with ChunkParallelism segments in flight,
// streamed from r. onProgress (may be nil) receives what [Client.Resume]
// needs; it is never called concurrently. When alt text cannot be set after
// a successful upload, Upload returns the Result and the error.
// Cancelling ctx abandons the upload and returns ctx's error untouched.
func (c *Client) Upload(ctx context.Context, r io.ReaderAt, m Media, onProgress func(Progress)) (Result, error) {
	res, err := c.upload(ctx, r, m, onProgress)
	return res, ctxErr(ctx, err)
}

// ctxErr returns ctx's error untouched when ctx has ended, else err.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Client) upload(ctx context.Context, r io.ReaderAt, m Media, onProgress func(Progress)) (Result, error) {
	m, err := c.Prepare(m)
	if err != nil {
		return Result{}, err
	}
	if err := m.Sums.checkSize(m); err != nil {
		return Result{}, err
	}
	if c.simple(m) && !c.oneShotSpent(m) {
		info, err := c.proto.simple(ctx, r, m)
		if err != nil {
			return Result{}, err
		}
		return c.finish(ctx, m, info)
	}
	return c.chunked(ctx, r, m, nil, onProgress)
}

// oneShotSpent reports whether a small image should go chunked because the
// one-shot endpoint's budget is used up. On v2 the one-shot POST
// /2/media/upload has 500 requests per 15 minutes per user, initialize,
// append and finalize 1875 each (API.md §4.3): when the one-shot budget is
// spent and the chunked ones would let the upload through sooner, chunked
// it is, instead of waiting for the window. On v1.1 the simple upload and
// an image INIT spend one and the same budget (API.md §1.9), so going
// chunked would gain nothing; it never does.
func (c *Client) oneShotSpent(m Media) bool {
	if c.opts.Version != V2 {
		return false
	}
	now := time.Now()
	oneShot := c.limits.spent("UPLOAD", now)
	if oneShot <= 0 {
		return false
	}
	chunked := max(c.limits.spent("INIT", now), c.limits.spent("APPEND", now), c.limits.spent("FINALIZE", now))
	if chunked >= oneShot {
		return false
	}
	c.log.Debug().Str("path", m.Name).Dur("retry_in", oneShot).Msg("one-shot upload budget used up, uploading chunked")
	return true
}

// Resume continues the chunked upload that p describes: segments not in
// p.Acked are sent, then FINALIZE (or only STATUS when p.Finalized). When p
// is unusable (no media id, expiring within minutes, another chunk size or
// category) or the server no longer knows the media id, it starts over as
// Upload does. onProgress is as for Upload.
func (c *Client) Resume(ctx context.Context, r io.ReaderAt, m Media, p Progress, onProgress func(Progress)) (Result, error) {
	m, err := c.Prepare(m)
	if err != nil {
		return Result{}, err
	}
	// (A small image has a Progress when it went chunked because the
	// one-shot budget was spent: resume it like any chunked upload.)
	if !c.resumable(m, p) {
		c.log.Debug().Str("path", m.Name).Str("media_id", p.MediaID).Msg("progress not resumable, starting over")
		return c.Upload(ctx, r, m, onProgress)
	}
	res, err := c.chunked(ctx, r, m, &p, onProgress)
	return res, ctxErr(ctx, err)
}

func (c *Client) resumable(m Media, p Progress) bool {
	if p.MediaID == "" || p.ExpiresAt.IsZero() || time.Until(p.ExpiresAt) < expiryMargin {
		return false
	}
	if p.Category != "" && p.Category != m.Category {
		return false
	}
	segs, err := planChunks(m.Size, p.ChunkSize, c.maxChunk())
	if err != nil {
		return false
	}
	for _, i := range p.Acked {
		if i < 0 || i >= len(segs) {
			return false
		}
	}
	return true
}

// VerifyCredentials makes one authenticated call (v2 GET /2/users/me, v1.1
// GET /1.1/account/verify_credentials.json) and returns the account's
// handle. A credentials problem satisfies [IsAuth].
func (c *Client) VerifyCredentials(ctx context.Context) (string, error) {
	if c.optErr != nil {
		return "", c.optErr
	}
	return c.proto.verify(ctx)
}

// probeMediaID is a media id no media has (X's are snowflake ids of 19
// digits): a STATUS of it answers 400 or 404 once the credentials pass.
const probeMediaID = "1"

// ProbeUpload makes one harmless request that needs the right to upload (a
// STATUS of a media id that does not exist: v2 requires the media.write
// scope for it, API.md §4.1) and returns nil when X accepts the credentials
// for uploads: it answers that media id with 400 or 404. Otherwise it
// returns the error: an account refusal ([AccountRefusal]), a network
// problem ([NetworkProblem]), a [*WaitError]. Unlike [Client.VerifyCredentials]
// it needs no users.read scope; the agent can use it to learn when an
// account refusal is lifted.
func (c *Client) ProbeUpload(ctx context.Context) error {
	if c.optErr != nil {
		return c.optErr
	}
	_, err := c.proto.status(ctx, probeMediaID)
	var ae *APIError
	if err == nil || errors.As(err, &ae) && !IsAuth(err) && (ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusNotFound) {
		return nil
	}
	return err
}

// finish waits for processing when the server asked for it, sets the alt
// text, and builds the Result.
func (c *Client) finish(ctx context.Context, m Media, info mediaInfo) (Result, error) {
	info, err := c.awaitProcessing(ctx, m, info)
	if err != nil {
		return Result{}, err
	}
	res := c.result(m, info)
	if m.AltText != "" {
		if err := c.proto.setAltText(ctx, info.id(), m.AltText); err != nil {
			return res, fmt.Errorf("set alt text for %s: %w", info.id(), err)
		}
	}
	return res, nil
}

func (c *Client) result(m Media, info mediaInfo) Result {
	res := Result{
		MediaIDString: info.id(),
		MediaKey:      info.MediaKey,
		ExpiresAt:     info.expiresAt,
		Size:          m.Size,
		Type:          m.Type,
		Category:      m.Category,
		API:           c.opts.Version,
	}
	if info.Size > 0 {
		res.Size = info.Size
	}
	if info.Image != nil {
		res.Width, res.Height = info.Image.W, info.Image.H
	}
	return res
}
