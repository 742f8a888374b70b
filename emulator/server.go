package emulator

import (
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Credentials are the keys the emulator accepts: an OAuth 1.0a consumer key
// and secret with a user access token and secret (both API versions), and an
// OAuth 2.0 user bearer token (v2 only; "" refuses every bearer token).
//
// AppBearerToken is an app-only bearer token, the developer portal's
// "Bearer Token" that users paste where a user token belongs: the emulator
// knows it in order to refuse it as X does, with v2's 403 "Unsupported
// Authentication" (v1.1: 403 code 220). "" = none.
type Credentials struct {
	ConsumerKey       string
	ConsumerSecret    string
	AccessToken       string
	AccessTokenSecret string
	BearerToken       string
	AppBearerToken    string
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
		// Shaped like the portal's app-only tokens, which start with "AAAA…".
		AppBearerToken: "AAAAAAAAAAAAAAAAAAAAAMediasyncDemoAppOnlyBearerToken",
	}
}

// Options configure a Server.
type Options struct {
	Credentials Credentials
	Faults      Faults
	StoreDir    string // segment bytes are stored here; "" = a temp dir removed by Close
	InMemory    bool   // keep bytes in memory (tests); StoreDir is then unused
	Log         zerolog.Logger
	OAuth2      OAuth2Options // the OAuth 2.0 authorization server; zero = off

	// Limits on slow clients, applied by Serve and ListenAndServe so that
	// connections that trickle cannot pin the emulator (0 = the default).
	ReadHeaderTimeout time.Duration // a request's headers must arrive within it; default 30s
	IdleTimeout       time.Duration // an idle keep-alive connection is closed after it; default 2m
	// A request body must deliver MinBodyRate bytes/s over each
	// BodyRateWindow of time spent waiting for it (the emulator's own pauses,
	// such as a bandwidth fault, do not count); a slower one is cut with 408
	// and its connection closed. Defaults 1 KiB/s and 30s; MinBodyRate < 0
	// turns the check off.
	MinBodyRate    int64
	BodyRateWindow time.Duration
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
	slow     slowLimits
	now      func() time.Time
	verifier *oauthVerifier
	oauth2   *oauth2Server
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
	if err := opts.OAuth2.Validate(); err != nil {
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
		slow:     newSlowLimits(opts),
		now:      time.Now,
		faults:   opts.Faults,
		dice:     newFaultDice(opts.Faults.Seed),
		media:    make(map[string]*media),
		stats:    make(map[string]map[int]int),
		buckets:  make(map[string]*bucket),
	}
	s.verifier = newOAuthVerifier(func() time.Time { return s.now() })
	s.oauth2 = newOAuth2Server(opts.OAuth2, func() time.Time { return s.now() })
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
