package emulator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Credentials are the keys the emulator accepts: an OAuth 1.0a consumer key
// and secret with a user access token and secret (both API versions), and an
// OAuth 2.0 user bearer token (v2 only; "" refuses every bearer token).
type Credentials struct {
	ConsumerKey       string
	ConsumerSecret    string
	AccessToken       string
	AccessTokenSecret string
	BearerToken       string
}

// String names the credentials without their secrets, so that printing or
// logging a Credentials never leaks one.
func (c Credentials) String() string {
	return fmt.Sprintf("consumer_key=%s access_token=%s secrets=[redacted]", c.ConsumerKey, c.AccessToken)
}

// DemoCredentials are the fixed credentials `mediasync emulate` and
// `mediasync demo` accept when none are given. They are not secret.
func DemoCredentials() Credentials {
	return Credentials{
		ConsumerKey:       "mediasync-demo-consumer-key",
		ConsumerSecret:    "mediasync-demo-consumer-secret",
		AccessToken:       "1000000000000000001-mediasyncdemoaccesstoken",
		AccessTokenSecret: "mediasync-demo-access-token-secret",
		BearerToken:       "mediasync-demo-bearer-token",
	}
}

// Options configure a Server.
type Options struct {
	Credentials Credentials
	Faults      Faults
	StoreDir    string // segment bytes are stored here; "" = a temp dir removed by Close
	InMemory    bool   // keep bytes in memory (tests); StoreDir is then unused
	Log         zerolog.Logger
}

// MediaInfo describes one media id as the emulator holds it.
type MediaInfo struct {
	ID               string    `json:"id"`
	MediaKey         string    `json:"media_key"`
	API              string    `json:"api"` // "v2" or "v1.1": the protocol that created it
	MediaType        string    `json:"media_type"`
	MediaCategory    string    `json:"media_category"`
	Size             int64     `json:"size"`     // reassembled bytes (after FINALIZE), else total_bytes declared
	SHA256           string    `json:"sha256"`   // of the reassembled bytes; "" before FINALIZE or if they could not be read
	State            string    `json:"state"`    // uploading, pending, in_progress, succeeded, failed
	AltText          string    `json:"alt_text"` // from the metadata endpoints
	Width            int       `json:"width"`    // images and GIFs
	Height           int       `json:"height"`   // images and GIFs
	Segments         int       `json:"segments"` // segments received
	AdditionalOwners []string  `json:"additional_owners,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	ExpiresAt        time.Time `json:"expires_at"`
	// DurationMS is an MP4/QuickTime video's duration as its movie header
	// states it, in milliseconds; 0 when unknown or not a video.
	DurationMS int64 `json:"duration_ms,omitempty"`
}

// Stats counts requests by endpoint ("POST /2/media/upload/{id}/append",
// "POST /1.1/media/upload.json APPEND", ...) and status code.
type Stats struct {
	Requests map[string]map[int]int `json:"requests"`
	Total    int                    `json:"total"`
}

// Count returns how many requests to endpoint got status code; code 0 counts
// every status.
func (st Stats) Count(endpoint string, code int) int {
	n := 0
	for c, k := range st.Requests[endpoint] {
		if code == 0 || c == code {
			n += k
		}
	}
	return n
}

// Server is the emulator: an http.Handler serving the v2 and v1.1 media
// upload APIs and the /_emulator/ admin API. It is safe for concurrent use.
type Server struct {
	creds    Credentials
	initial  Faults
	inMemory bool
	storeDir string
	ownStore bool
	log      zerolog.Logger
	now      func() time.Time
	verifier *oauthVerifier
	mux      *http.ServeMux

	// finalizingHook, if set (tests), runs when a FINALIZE has marked its
	// media as being finalized, before it reads the bytes.
	finalizingHook func(id string)

	mu        sync.Mutex
	faults    Faults
	dice      *faultDice
	media     map[string]*media
	lastID    int64
	lastSweep time.Time
	stats     map[string]map[int]int
	total     int
	buckets   map[string]*bucket
	closed    bool
}

// New returns a Server. Without Options.StoreDir (and not InMemory) it
// creates a temp dir for segment bytes that Close removes.
func New(opts Options) (*Server, error) {
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("new emulator: %w", err)
	}
	c := opts.Credentials
	if c.ConsumerKey == "" || c.ConsumerSecret == "" || c.AccessToken == "" || c.AccessTokenSecret == "" {
		return nil, errors.New("new emulator: credentials need a consumer key and secret and an access token and secret")
	}
	s := &Server{
		creds:    c,
		initial:  opts.Faults,
		inMemory: opts.InMemory,
		storeDir: opts.StoreDir,
		log:      opts.Log.With().Str("component", "emulator").Logger(),
		now:      time.Now,
		faults:   opts.Faults,
		dice:     newFaultDice(opts.Faults.Seed),
		media:    make(map[string]*media),
		stats:    make(map[string]map[int]int),
		buckets:  make(map[string]*bucket),
	}
	s.verifier = newOAuthVerifier(func() time.Time { return s.now() })
	if !s.inMemory {
		if s.storeDir == "" {
			dir, err := os.MkdirTemp("", "mediasync-emulator-*")
			if err != nil {
				return nil, fmt.Errorf("new emulator: create store: %w", err)
			}
			s.storeDir, s.ownStore = dir, true
		} else if err := os.MkdirAll(s.storeDir, 0o700); err != nil {
			return nil, fmt.Errorf("new emulator: create store: %w", err)
		}
	}
	s.routes()
	return s, nil
}

// Close drops every media id and removes stored bytes (and the store
// directory when New created it). Requests after Close get 503.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	all := s.media
	s.media = make(map[string]*media)
	s.mu.Unlock()
	for _, m := range all {
		m.release()
	}
	if s.ownStore {
		if err := os.RemoveAll(s.storeDir); err != nil {
			return fmt.Errorf("close emulator: %w", err)
		}
	}
	return nil
}

// SetFaults replaces the injected faults; it resets the fault dice to
// f.Seed and starts every rate-limit budget afresh. Invalid faults (see [Faults.Validate]) are refused with a log
// entry and leave the current faults in place.
func (s *Server) SetFaults(f Faults) {
	if err := f.Validate(); err != nil {
		s.log.Error().Err(err).Msg("faults refused")
		return
	}
	s.mu.Lock()
	s.faults = f
	s.dice = newFaultDice(f.Seed)
	s.buckets = make(map[string]*bucket)
	s.mu.Unlock()
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// Reset forgets every media id, the stats, the rate-limit budgets and the
// seen nonces, and restores the faults given to New.
func (s *Server) Reset() {
	s.mu.Lock()
	all := s.media
	s.media = make(map[string]*media)
	s.stats = make(map[string]map[int]int)
	s.total = 0
	s.buckets = make(map[string]*bucket)
	s.faults = s.initial
	s.dice = newFaultDice(s.initial.Seed)
	s.mu.Unlock()
	s.verifier.reset()
	for _, m := range all {
		m.release()
	}
}

// Media lists every live (unexpired) media id, oldest first.
func (s *Server) Media() []MediaInfo {
	now := s.now()
	s.mu.Lock()
	out := make([]MediaInfo, 0, len(s.media))
	var digests []*digest
	for _, m := range s.media {
		if now.Before(m.expires) {
			mi, d := m.info(now)
			out = append(out, mi)
			digests = append(digests, d)
		}
	}
	s.mu.Unlock()
	for i, d := range digests {
		out[i].SHA256 = d.hex()
	}
	sort.Slice(out, func(i, j int) bool { return idLess(out[i].ID, out[j].ID) })
	return out
}

func idLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// MediaByID returns one live media id.
func (s *Server) MediaByID(id string) (MediaInfo, bool) {
	now := s.now()
	s.mu.Lock()
	m, ok := s.media[id]
	if !ok || !now.Before(m.expires) {
		s.mu.Unlock()
		return MediaInfo{}, false
	}
	mi, d := m.info(now)
	s.mu.Unlock()
	mi.SHA256 = d.hex()
	return mi, true
}

// OpenMedia returns the reassembled bytes of a finalized media id; the
// caller closes the reader.
func (s *Server) OpenMedia(id string) (io.ReadCloser, error) {
	s.mu.Lock()
	m, ok := s.media[id]
	var parts []*blob
	if ok && m.phase == phaseFinal {
		parts = m.ordered
	}
	s.mu.Unlock()
	if !ok || parts == nil {
		return nil, fmt.Errorf("open media %s: not found or not finalized", id)
	}
	c, err := openConcat(parts)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(c, 0, c.size), c}, nil
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{Requests: make(map[string]map[int]int, len(s.stats)), Total: s.total}
	for ep, codes := range s.stats {
		c := make(map[int]int, len(codes))
		for k, v := range codes {
			c[k] = v
		}
		st.Requests[ep] = c
	}
	return st
}

// ListenAndServe serves a new emulator on addr (e.g. "127.0.0.1:8089") until
// ctx is cancelled, then shuts down gracefully, closes the emulator and
// returns nil. ready, if not nil, is called with the base URL
// ("http://127.0.0.1:8089") once the listener is bound.
func ListenAndServe(ctx context.Context, addr string, opts Options, ready func(baseURL string)) error {
	s, err := New(opts)
	if err != nil {
		return err
	}
	defer s.Close()
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("emulator listen: %w", err)
	}
	return s.Serve(ctx, ln, ready)
}

// Serve serves s on ln until ctx is cancelled, then stops taking
// connections, gives requests in flight up to 5 seconds to finish, and
// returns nil. It closes ln but not s. ready is as for [ListenAndServe].
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(baseURL string)) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	base := "http://" + ln.Addr().String()
	s.log.Info().Str("url", base).Msg("emulator listening")
	if ready != nil {
		ready(base)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("emulator serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
	}
	<-errc
	return nil
}

// apiVersion selects the shapes of answers.
type apiVersion int

const (
	v11 apiVersion = iota
	v2
)

func (v apiVersion) String() string {
	if v == v2 {
		return "v2"
	}
	return "v1.1"
}

// authMode says which credentials an endpoint takes.
type authMode int

const (
	authOAuth1 authMode = iota
	authOAuth1OrBearer
)

func (s *Server) routes() {
	mux := http.NewServeMux()
	api := func(pattern string, ver apiVersion, am authMode, h func(*call)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { s.serveAPI(w, r, pattern, ver, am, h) })
	}
	api("POST /2/media/upload", v2, authOAuth1OrBearer, s.v2OneShot)
	api("GET /2/media/upload", v2, authOAuth1OrBearer, s.v2Status)
	api("POST /2/media/upload/initialize", v2, authOAuth1OrBearer, s.v2Initialize)
	api("POST /2/media/upload/{id}/append", v2, authOAuth1OrBearer, s.v2Append)
	api("POST /2/media/upload/{id}/finalize", v2, authOAuth1OrBearer, s.v2Finalize)
	api("POST /2/media/metadata", v2, authOAuth1OrBearer, s.v2Metadata)
	api("GET /2/users/me", v2, authOAuth1OrBearer, s.v2UsersMe)
	api("POST /1.1/media/upload.json", v11, authOAuth1, s.v11Upload)
	api("GET /1.1/media/upload.json", v11, authOAuth1, s.v11Status)
	api("POST /1.1/media/metadata/create.json", v11, authOAuth1, s.v11Metadata)
	api("GET /1.1/account/verify_credentials.json", v11, authOAuth1, s.v11VerifyCredentials)
	api("/2/", v2, authOAuth1OrBearer, func(c *call) {
		if !c.take("v2 unknown") {
			return
		}
		c.problem(http.StatusNotFound, "Not Found Error", "Sorry, that page does not exist.", "https://api.twitter.com/2/problems/resource-not-found")
	})
	api("/1.1/", v11, authOAuth1, func(c *call) {
		if !c.take("v1.1 unknown") {
			return
		}
		c.v11Error(http.StatusNotFound, 34, "Sorry, that page does not exist.")
	})
	mux.HandleFunc("GET /_emulator/media", s.adminMedia)
	mux.HandleFunc("GET /_emulator/media/{id}", s.adminMediaByID)
	mux.HandleFunc("GET /_emulator/stats", s.adminStats)
	mux.HandleFunc("GET /_emulator/faults", s.adminGetFaults)
	mux.HandleFunc("POST /_emulator/faults", s.adminSetFaults)
	mux.HandleFunc("POST /_emulator/reset", s.adminReset)
	s.mux = mux
}

// ServeHTTP serves the v2 and v1.1 media APIs and the /_emulator/ admin API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// recorder remembers the status code for the stats.
type recorder struct {
	http.ResponseWriter
	status int
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *recorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// call is one API request in flight.
type call struct {
	s        *Server
	w        *recorder
	r        *http.Request
	ver      apiVersion
	endpoint string     // stats label; handlers refine it (v1.1 command)
	form     url.Values // form-urlencoded body parameters, nil otherwise
	start    time.Time
	bodyTime time.Duration
	limit    *limitState // rate-limit headers of this answer
	mediaID  string      // x-mediaid header (v1.1)
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, pattern string, ver apiVersion, am authMode, h func(*call)) {
	c := &call{s: s, w: &recorder{ResponseWriter: w}, r: r, ver: ver, endpoint: pattern, start: s.now()}
	// count records the request in the stats, once: before a lost answer's hang-up, so that a
	// client that sees the cut connection also sees the request counted.
	var counted sync.Once
	count := func() {
		counted.Do(func() {
			status := c.w.status
			s.mu.Lock()
			if s.stats[c.endpoint] == nil {
				s.stats[c.endpoint] = make(map[int]int)
			}
			s.stats[c.endpoint][status]++
			s.total++
			s.mu.Unlock()
			s.log.Debug().Str("method", r.Method).Str("path", r.URL.Path).Str("endpoint", c.endpoint).
				Int("status", status).Dur("duration", s.now().Sub(c.start)).Msg("request")
		})
	}
	defer count()
	s.mu.Lock()
	closed, f := s.closed, s.faults
	var drop, fail, fail503, lose bool
	if f.DropRate > 0 {
		drop = s.dice.rng.Float64() < f.DropRate
	}
	if f.FailRate > 0 && !drop {
		fail = s.dice.rng.Float64() < f.FailRate
		fail503 = s.dice.rng.IntN(2) == 1
	}
	if f.LoseAnswerRate > 0 && !drop && !fail {
		lose = s.dice.rng.Float64() < f.LoseAnswerRate
	}
	s.mu.Unlock()
	if closed {
		c.errorCode(http.StatusServiceUnavailable, 130, "Over capacity")
		return
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			c.w.status = 499 // client went away
			return
		}
	}
	if f.Bandwidth > 0 && r.Body != nil {
		r.Body = &throttled{rc: r.Body, ctx: r.Context(), lim: rate.NewLimiter(rate.Limit(f.Bandwidth), int(min(f.Bandwidth, 32<<10)))}
	}
	if drop {
		c.cut()
		return
	}
	if fail {
		if fail503 {
			c.errorCode(http.StatusServiceUnavailable, 130, "Over capacity")
		} else {
			c.errorCode(http.StatusInternalServerError, 131, "Internal error")
		}
		return
	}
	if lose {
		// The request is processed in full; only its answer is lost.
		real := c.w.ResponseWriter
		c.w.ResponseWriter = &discardWriter{header: make(http.Header)}
		defer func() {
			count()
			c.hangUp(real)
		}()
	}
	if ae := s.authenticate(c, am); ae != nil {
		s.log.Debug().Str("path", r.URL.Path).Str("reason", ae.reason).Msg("request refused")
		c.errorCode(ae.status, ae.code, ae.msg)
		return
	}
	h(c)
}

// discardWriter takes an answer that is never sent (Faults.LoseAnswerRate).
type discardWriter struct{ header http.Header }

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// hangUp closes the connection of a request whose answer went to a
// discardWriter, so that the client sees a connection error instead.
func (c *call) hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a test recorder: abort the stream
	}
	conn.Close()
}

// cut answers nothing: it reads part of the body, then closes the connection.
func (c *call) cut() {
	c.w.status = 0 // counted as 0: no answer
	if c.r.ContentLength != 0 && c.r.Body != nil {
		half := c.r.ContentLength / 2
		if half <= 0 {
			half = 1
		}
		io.CopyN(io.Discard, c.r.Body, half)
	}
	conn, _, err := http.NewResponseController(c.w.ResponseWriter).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // HTTP/2 or a test recorder: abort the stream
	}
	conn.Close()
}

// throttled caps the read rate of a request body.
type throttled struct {
	rc  io.ReadCloser
	ctx context.Context
	lim *rate.Limiter
}

func (t *throttled) Read(p []byte) (int, error) {
	if b := t.lim.Burst(); len(p) > b {
		p = p[:b]
	}
	n, err := t.rc.Read(p)
	if n > 0 {
		if werr := t.lim.WaitN(t.ctx, n); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

func (t *throttled) Close() error { return t.rc.Close() }

// authenticate checks OAuth 1.0a (and, where allowed, a bearer token). It
// reads a form-urlencoded body, whose parameters are signed, into c.form.
func (s *Server) authenticate(c *call, am authMode) *authFailure {
	r := c.r
	if isFormContentType(r.Header.Get("Content-Type")) && r.Body != nil {
		t0 := s.now()
		body, err := io.ReadAll(http.MaxBytesReader(c.w, r.Body, maxFormBody))
		c.bodyTime = s.now().Sub(t0)
		if err != nil {
			return &authFailure{status: http.StatusRequestEntityTooLarge, code: 0, msg: "Request body too large", reason: "form body too large"}
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return &authFailure{status: http.StatusBadRequest, code: 215, msg: "Bad Authentication data.", reason: "malformed form body"}
		}
		c.form = form
	}
	h := r.Header.Get("Authorization")
	if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
		if am != authOAuth1OrBearer {
			return &authFailure{status: http.StatusForbidden, code: 220, msg: "Your credentials do not allow access to this resource.", reason: "bearer token on a user-context endpoint"}
		}
		if s.creds.BearerToken == "" || !constantEqual(strings.TrimSpace(tok), s.creds.BearerToken) {
			return &authFailure{status: http.StatusUnauthorized, code: 89, msg: "Invalid or expired token.", reason: "unknown bearer token"}
		}
		return nil
	}
	or := &oauthRequest{method: r.Method, baseURI: requestBaseURI(r), query: r.URL.Query(), form: c.form}
	if h != "" {
		p, err := parseOAuthHeader(h)
		if err != nil {
			return &authFailure{status: http.StatusBadRequest, code: 215, msg: "Bad Authentication data.", reason: err.Error()}
		}
		or.oauthParams, or.fromHeader = p, true
		return s.verifier.verify(or, s.creds)
	}
	// RFC 5849 §3.5.2-3: protocol parameters in the form body or the query,
	// where they are signed as ordinary parameters.
	or.oauthParams = make(map[string]string)
	for _, vals := range []url.Values{or.query, or.form} {
		for k, v := range vals {
			if strings.HasPrefix(k, "oauth_") && len(v) > 0 {
				or.oauthParams[k] = v[0]
			}
		}
	}
	if len(or.oauthParams) == 0 {
		return errNoAuth
	}
	return s.verifier.verify(or, s.creds)
}

// bucket is one rate-limit budget.
type bucket struct {
	limit     int
	remaining int
	reset     time.Time
}

// limitState is what the x-rate-limit-* headers of an answer say.
type limitState struct {
	limit, remaining int
	reset            time.Time
}

// budget is a real per-endpoint default (API.md §1.9, §4.3).
type budget struct {
	limit  int
	window time.Duration
}

var budgets = map[string]budget{
	// v1.1, observed in recorded responses; 1-hour windows.
	"v1.1 upload image": {415, time.Hour}, // simple upload and INIT of an image
	"v1.1 upload video": {200, time.Hour}, // INIT of a video
	"v1.1 append":       {20000, time.Hour},
	"v1.1 finalize":     {615, time.Hour},
	"v1.1 status":       {1000, 15 * time.Minute}, // never recorded; v2's number
	"v1.1 metadata":     {2000, time.Hour},
	"v1.1 verify":       {75, 15 * time.Minute},
	"v2 upload":         {500, 15 * time.Minute},
	"v2 status":         {1000, 15 * time.Minute},
	"v2 initialize":     {1875, 15 * time.Minute},
	"v2 append":         {1875, 15 * time.Minute},
	"v2 finalize":       {1875, 15 * time.Minute},
	"v2 metadata":       {500, 15 * time.Minute},
	"v2 users me":       {75, 15 * time.Minute},
	"v1.1 unknown":      {1000, 15 * time.Minute},
	"v2 unknown":        {1000, 15 * time.Minute},
}

func (s *Server) budgetFor(name string) budget {
	b, ok := budgets[name]
	if !ok {
		b = budget{1000, 15 * time.Minute}
	}
	if s.faults.RateLimit > 0 {
		b.limit = s.faults.RateLimit
	}
	if s.faults.RateWindow > 0 {
		b.window = s.faults.RateWindow
	}
	return b
}

// take spends one request of the named budget and sets the rate-limit
// headers; when the budget is spent it answers 429 code 88 and returns false.
func (c *call) take(name string) bool {
	s := c.s
	now := s.now()
	s.mu.Lock()
	b := s.buckets[name]
	if b == nil || !now.Before(b.reset) {
		bd := s.budgetFor(name)
		b = &bucket{limit: bd.limit, remaining: bd.limit, reset: now.Add(bd.window)}
		s.buckets[name] = b
	}
	ok := b.remaining > 0
	if ok {
		b.remaining--
	}
	c.limit = &limitState{limit: b.limit, remaining: b.remaining, reset: b.reset}
	s.mu.Unlock()
	if !ok {
		c.errorCode(http.StatusTooManyRequests, 88, "Rate limit exceeded")
	}
	return ok
}

// headers sets the headers X puts on every answer of the call's version.
// x-rate-limit-* report the budget the endpoint spent; an answer that never
// reached an endpoint's budget (an authentication failure, an injected 5xx)
// carries none, as X's 401s do (issue_quoted_bodies.json),
// rather than a made-up budget that a client would take for a new window.
func (c *call) headers(contentType string) {
	h := c.w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	if c.limit != nil {
		h.Set("x-rate-limit-limit", strconv.Itoa(c.limit.limit))
		h.Set("x-rate-limit-remaining", strconv.Itoa(c.limit.remaining))
		h.Set("x-rate-limit-reset", strconv.FormatInt(c.limit.reset.Unix(), 10))
	}
	txn := strconv.FormatInt(c.start.UnixNano()&0xffffffffffff, 16)
	h.Set("x-transaction-id", txn)
	h.Set("x-response-time", strconv.FormatInt(c.s.now().Sub(c.start).Milliseconds(), 10))
	h.Set("x-access-level", "read-write-directmessages")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate, pre-check=0, post-check=0")
	if c.ver == v11 {
		h.Set("x-transaction", txn)
		h.Set("x-frame-options", "SAMEORIGIN")
		h.Set("x-xss-protection", "0")
		h.Set("x-twitter-response-tags", "BouncerCompliant")
		h.Set("x-tsa-request-body-time", strconv.FormatInt(c.bodyTime.Milliseconds(), 10))
		if c.mediaID != "" {
			h.Set("x-mediaid", c.mediaID)
		}
	} else {
		h.Set("api-version", "2.167")
	}
}

func (c *call) writeJSON(status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error().Err(err).Msg("encode answer")
		status, body = http.StatusInternalServerError, []byte(`{"errors":[{"code":131,"message":"Internal error"}]}`)
	}
	c.headers(contentType)
	c.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	c.w.Write(body)
}

// ok answers a v1.1 JSON body.
func (c *call) v11JSON(status int, v any) {
	c.writeJSON(status, "application/json;charset=utf-8", v)
}

// empty answers with no body (v1.1 APPEND 204, metadata 200; 413 for oversize).
func (c *call) empty(status int) {
	c.headers("text/html;charset=utf-8")
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(status)
}

type v11ErrorBody struct {
	Errors []v11ErrorItem `json:"errors"`
}

type v11ErrorItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (c *call) v11Error(status, code int, msg string) {
	c.v11JSON(status, v11ErrorBody{Errors: []v11ErrorItem{{Code: code, Message: msg}}})
}

// v11Legacy answers the upload endpoint's own error shape.
func (c *call) v11Legacy(status int, msg string) {
	c.v11JSON(status, map[string]string{"request": c.r.URL.Path, "error": msg})
}

// errorCode answers an X error code in the shape of the call's version.
func (c *call) errorCode(status, code int, msg string) {
	if c.ver == v11 {
		c.v11Error(status, code, msg)
		return
	}
	title := http.StatusText(status)
	c.writeJSON(status, "application/problem+json", map[string]any{
		"title":  title,
		"detail": msg,
		"type":   "about:blank",
		"status": status,
		"errors": []v11ErrorItem{{Code: code, Message: msg}},
	})
}

// internal answers 500 code 131 for a failure of the emulator itself (its
// store, say); the details go to the log, not to the client.
func (c *call) internal(err error) {
	c.s.log.Error().Err(err).Str("path", c.r.URL.Path).Msg("request failed")
	c.errorCode(http.StatusInternalServerError, 131, "Internal error")
}

// problem answers a v2 RFC 7807 problem.
func (c *call) problem(status int, title, detail, typ string) {
	c.writeJSON(status, "application/problem+json", map[string]any{
		"title": title, "detail": detail, "type": typ, "status": status,
	})
}

// invalid answers v2's 400 "Invalid Request" with one error message.
func (c *call) invalid(param, msg string) {
	item := map[string]any{"message": msg}
	if param != "" {
		item["parameters"] = map[string][]string{param: {}}
	}
	c.writeJSON(http.StatusBadRequest, "application/json; charset=utf-8", map[string]any{
		"errors": []any{item},
		"title":  "Invalid Request",
		"detail": "One or more parameters to your request was invalid.",
		"type":   "https://api.twitter.com/2/problems/invalid-request",
	})
}

// v2Data answers {"data": v}.
func (c *call) v2Data(status int, v any) {
	c.writeJSON(status, "application/json; charset=utf-8", map[string]any{"data": v})
}

// userID is the numeric user id X embeds in access tokens ("<id>-<rest>").
func (s *Server) userID() string {
	id, _, ok := strings.Cut(s.creds.AccessToken, "-")
	if ok {
		if _, err := strconv.ParseUint(id, 10, 64); err == nil {
			return id
		}
	}
	return "1000000000000000001"
}

// newID returns a snowflake-like media id, increasing and unique per server.
func (s *Server) newID(now time.Time) string {
	const twEpochMs = 1288834974657
	id := (now.UnixMilli() - twEpochMs) << 22
	s.mu.Lock()
	if id <= s.lastID {
		id = s.lastID + 1
	}
	s.lastID = id
	s.mu.Unlock()
	return strconv.FormatInt(id, 10)
}

// secondsLeft is expires_after_secs at now.
func secondsLeft(exp, now time.Time) int {
	return max(0, int(math.Floor(exp.Sub(now).Seconds())))
}
