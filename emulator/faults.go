package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"
)

// Faults are the failures and limits the emulator injects on demand. The zero
// value injects nothing: no latency, unlimited bandwidth, no edge limit, X's real rate limits,
// and video/GIF processing that completes at once. The JSON form (snake_case
// keys, durations as "50ms" strings, bandwidth as bytes or "20MB") is what
// POST /_emulator/faults accepts; it replaces every knob.
type Faults struct {
	Latency        time.Duration `json:"latency"`          // added before every API request is answered
	Bandwidth      int64         `json:"bandwidth"`        // bytes/s per connection on request bodies; 0 = unlimited
	FailRate       float64       `json:"fail_rate"`        // share of requests answered 500 code 131 or 503 code 130
	DropRate       float64       `json:"drop_rate"`        // share of requests whose connection is cut mid-body
	LoseAnswerRate float64       `json:"lose_answer_rate"` // share of requests processed whose answer is lost: the connection is cut after the handler ran
	RateLimit      int           `json:"rate_limit"`       // budget per endpoint per window; 0 = the real per-endpoint defaults
	RateWindow     time.Duration `json:"rate_window"`      // window of every budget; 0 = the real windows
	ProcessingTime time.Duration `json:"processing_time"`  // how long video/GIF processing takes; 0 = instant
	FailProcessing bool          `json:"fail_processing"`  // video/GIF processing ends failed (InvalidMedia)
	OmitCheckAfter bool          `json:"omit_check_after"` // processing_info comes without check_after_secs
	StuckWithError bool          `json:"stuck_with_error"` // processing stays in_progress (99 %) with an error object instead of failing
	DailyAppLimit  int           `json:"daily_app_limit"`  // per-app budget per endpoint per daily window; 0 = X's (v2 media endpoints)
	DailyUserLimit int           `json:"daily_user_limit"` // per-user budget per endpoint per daily window; 0 = the app's default
	DailyWindow    time.Duration `json:"daily_window"`     // window of the daily budgets; 0 = 24h
	Seed           int64         `json:"seed"`             // non-zero: fail/drop decisions repeat for the same request sequence
	// EdgeBodyLimit, when positive, is the largest request body X's edge
	// lets through: a larger one (by Content-Length, or counted as read)
	// gets 413 with an empty body before authentication or any handler.
	// Bytes; JSON also takes a size string ("5MiB"). 0 = no edge limit.
	EdgeBodyLimit int64 `json:"edge_body_limit"`

	// Account-level refusals: while one is on, every authenticated API
	// request (not /_emulator/) gets X's answer for it (see account.go).
	CreditsDepleted           bool `json:"credits_depleted"`           // 402 CreditsDepleted: a pay-per-use account out of credits
	UnsupportedAuthentication bool `json:"unsupported_authentication"` // 403 Unsupported Authentication: as if the token were app-only
	ClientForbidden           bool `json:"client_forbidden"`           // 403 Client Forbidden: the app is not attached to a Project
	MissingScope              bool `json:"missing_scope"`              // 403 Forbidden: the token lacks media.write
}

// DefaultFaults are the faults `mediasync emulate` and `mediasync demo` start
// with: none, except one second of processing for video and GIF, so that the
// pending → in_progress → succeeded progression is visible.
func DefaultFaults() Faults {
	return Faults{ProcessingTime: time.Second}
}

// Validate reports every knob that is out of range.
func (f Faults) Validate() error {
	var errs []error
	if f.Latency < 0 {
		errs = append(errs, fmt.Errorf("latency %v: must not be negative", f.Latency))
	}
	if f.Bandwidth < 0 {
		errs = append(errs, fmt.Errorf("bandwidth %d: must not be negative", f.Bandwidth))
	}
	if !(f.FailRate >= 0 && f.FailRate <= 1) {
		errs = append(errs, fmt.Errorf("fail_rate %v: must be between 0 and 1", f.FailRate))
	}
	if !(f.DropRate >= 0 && f.DropRate <= 1) {
		errs = append(errs, fmt.Errorf("drop_rate %v: must be between 0 and 1", f.DropRate))
	}
	if !(f.LoseAnswerRate >= 0 && f.LoseAnswerRate <= 1) {
		errs = append(errs, fmt.Errorf("lose_answer_rate %v: must be between 0 and 1", f.LoseAnswerRate))
	}
	if f.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("rate_limit %d: must not be negative", f.RateLimit))
	}
	if f.RateWindow < 0 {
		errs = append(errs, fmt.Errorf("rate_window %v: must not be negative", f.RateWindow))
	}
	if f.DailyAppLimit < 0 {
		errs = append(errs, fmt.Errorf("daily_app_limit %d: must not be negative", f.DailyAppLimit))
	}
	if f.DailyUserLimit < 0 {
		errs = append(errs, fmt.Errorf("daily_user_limit %d: must not be negative", f.DailyUserLimit))
	}
	if f.DailyWindow < 0 {
		errs = append(errs, fmt.Errorf("daily_window %v: must not be negative", f.DailyWindow))
	}
	if f.EdgeBodyLimit < 0 {
		errs = append(errs, fmt.Errorf("edge_body_limit %d: must not be negative", f.EdgeBodyLimit))
	}
	if f.ProcessingTime < 0 {
		errs = append(errs, fmt.Errorf("processing_time %v: must not be negative", f.ProcessingTime))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid faults: %w", errors.Join(errs...))
	}
	return nil
}

type faultsJSON struct {
	Latency        string  `json:"latency"`
	Bandwidth      int64   `json:"bandwidth"`
	FailRate       float64 `json:"fail_rate"`
	DropRate       float64 `json:"drop_rate"`
	LoseAnswerRate float64 `json:"lose_answer_rate"`
	RateLimit      int     `json:"rate_limit"`
	RateWindow     string  `json:"rate_window"`
	ProcessingTime string  `json:"processing_time"`
	FailProcessing bool    `json:"fail_processing"`
	OmitCheckAfter bool    `json:"omit_check_after"`
	StuckWithError bool    `json:"stuck_with_error"`
	DailyAppLimit  int     `json:"daily_app_limit"`
	DailyUserLimit int     `json:"daily_user_limit"`
	DailyWindow    string  `json:"daily_window"`
	Seed           int64   `json:"seed"`
	EdgeBodyLimit  int64   `json:"edge_body_limit"`

	CreditsDepleted           bool `json:"credits_depleted"`
	UnsupportedAuthentication bool `json:"unsupported_authentication"`
	ClientForbidden           bool `json:"client_forbidden"`
	MissingScope              bool `json:"missing_scope"`
}

// MarshalJSON writes durations as strings ("50ms").
func (f Faults) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultsJSON{
		Latency: f.Latency.String(), Bandwidth: f.Bandwidth, FailRate: f.FailRate, DropRate: f.DropRate,
		LoseAnswerRate: f.LoseAnswerRate,
		RateLimit:      f.RateLimit, RateWindow: f.RateWindow.String(), ProcessingTime: f.ProcessingTime.String(),
		FailProcessing: f.FailProcessing, OmitCheckAfter: f.OmitCheckAfter, StuckWithError: f.StuckWithError,
		DailyAppLimit: f.DailyAppLimit, DailyUserLimit: f.DailyUserLimit, DailyWindow: f.DailyWindow.String(),
		Seed: f.Seed, EdgeBodyLimit: f.EdgeBodyLimit,
		CreditsDepleted: f.CreditsDepleted, UnsupportedAuthentication: f.UnsupportedAuthentication,
		ClientForbidden: f.ClientForbidden, MissingScope: f.MissingScope,
	})
}

// UnmarshalJSON accepts durations as strings ("50ms", "1m") or integer
// nanoseconds, and bandwidth as bytes or a size string ("20MB", "4MiB").
// Unknown keys are refused.
func (f *Faults) UnmarshalJSON(b []byte) error {
	var raw struct {
		Latency        json.RawMessage `json:"latency"`
		Bandwidth      json.RawMessage `json:"bandwidth"`
		FailRate       float64         `json:"fail_rate"`
		DropRate       float64         `json:"drop_rate"`
		LoseAnswerRate float64         `json:"lose_answer_rate"`
		RateLimit      int             `json:"rate_limit"`
		RateWindow     json.RawMessage `json:"rate_window"`
		ProcessingTime json.RawMessage `json:"processing_time"`
		FailProcessing bool            `json:"fail_processing"`
		OmitCheckAfter bool            `json:"omit_check_after"`
		StuckWithError bool            `json:"stuck_with_error"`
		DailyAppLimit  int             `json:"daily_app_limit"`
		DailyUserLimit int             `json:"daily_user_limit"`
		DailyWindow    json.RawMessage `json:"daily_window"`
		Seed           int64           `json:"seed"`
		EdgeBodyLimit  json.RawMessage `json:"edge_body_limit"`

		CreditsDepleted           bool `json:"credits_depleted"`
		UnsupportedAuthentication bool `json:"unsupported_authentication"`
		ClientForbidden           bool `json:"client_forbidden"`
		MissingScope              bool `json:"missing_scope"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return fmt.Errorf("decode faults: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("decode faults: trailing data after the object")
	}
	var out Faults
	var err error
	if out.Latency, err = jsonDuration("latency", raw.Latency); err != nil {
		return err
	}
	if out.RateWindow, err = jsonDuration("rate_window", raw.RateWindow); err != nil {
		return err
	}
	if out.ProcessingTime, err = jsonDuration("processing_time", raw.ProcessingTime); err != nil {
		return err
	}
	if out.DailyWindow, err = jsonDuration("daily_window", raw.DailyWindow); err != nil {
		return err
	}
	if out.Bandwidth, err = jsonSize("bandwidth", raw.Bandwidth); err != nil {
		return err
	}
	if out.EdgeBodyLimit, err = jsonSize("edge_body_limit", raw.EdgeBodyLimit); err != nil {
		return err
	}
	out.FailRate, out.DropRate, out.RateLimit = raw.FailRate, raw.DropRate, raw.RateLimit
	out.LoseAnswerRate = raw.LoseAnswerRate
	out.FailProcessing, out.Seed = raw.FailProcessing, raw.Seed
	out.OmitCheckAfter, out.StuckWithError = raw.OmitCheckAfter, raw.StuckWithError
	out.DailyAppLimit, out.DailyUserLimit = raw.DailyAppLimit, raw.DailyUserLimit
	out.CreditsDepleted, out.UnsupportedAuthentication = raw.CreditsDepleted, raw.UnsupportedAuthentication
	out.ClientForbidden, out.MissingScope = raw.ClientForbidden, raw.MissingScope
	*f = out
	return nil
}

func jsonDuration(key string, raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("decode faults: %s: %w", key, err)
		}
		return d, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("decode faults: %s: want a duration string such as \"50ms\"", key)
	}
	return time.Duration(n), nil
}

// jsonSize decodes a byte count given as a number or a size string.
func jsonSize(key string, raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		n, err := ParseSize(s)
		if err != nil {
			return 0, fmt.Errorf("decode faults: %s: %w", key, err)
		}
		return n, nil
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("decode faults: %s: want bytes or a size string: %w", key, err)
	}
	return n, nil
}

// ParseSize parses a byte size: plain bytes ("1048576") or a number with a
// decimal (kB, MB, GB) or binary (KiB, MiB, GiB) unit; "B" is allowed. It is
// what the --bandwidth flag and the bandwidth JSON key accept.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.TrimSpace(t[i:])
	if num == "" {
		return 0, fmt.Errorf("parse size %q: no number", s)
	}
	mult := map[string]float64{
		"": 1, "b": 1,
		"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9,
		"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
	}[strings.ToLower(unit)]
	if mult == 0 {
		return 0, fmt.Errorf("parse size %q: unknown unit %q", s, unit)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("parse size %q: %w", s, err)
	}
	if v*mult > 1<<62 {
		return 0, fmt.Errorf("parse size %q: too large", s)
	}
	return int64(v * mult), nil
}

// faultDice draws the random fault decisions; a fixed seed makes them repeat.
type faultDice struct {
	rng *rand.Rand
}

func newFaultDice(seed int64) *faultDice {
	if seed == 0 {
		return &faultDice{rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	}
	return &faultDice{rng: rand.New(rand.NewPCG(uint64(seed), 0x6d656469617379))}
}

// applyFaults draws this request's random faults and applies those that act
// before authentication: a closed server's 503, latency, the bandwidth cap, a
// cut connection, an injected 5xx. It returns false when the request has been
// answered (or abandoned). For a lost answer it swaps the writer for a
// discardWriter and returns the function to run after the handler: it counts
// the request and hangs up.
func (s *Server) applyFaults(c *call, count func()) (after func(), proceed bool) {
	r := c.r
	s.mu.Lock()
	closed, f := s.closed, s.faults
	c.faults = f
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
		return nil, false
	}
	if f.EdgeBodyLimit > 0 && r.Body != nil && r.Body != http.NoBody {
		switch {
		case r.ContentLength > f.EdgeBodyLimit:
			c.edgeRefuse()
			return nil, false
		case r.ContentLength < 0:
			eb := &edgeBody{rc: r.Body, left: f.EdgeBodyLimit}
			r.Body, c.w.edge = eb, eb
		}
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			c.w.status = 499 // client went away
			return nil, false
		}
	}
	if f.Bandwidth > 0 && r.Body != nil {
		r.Body = &throttled{rc: r.Body, ctx: r.Context(), lim: rate.NewLimiter(rate.Limit(f.Bandwidth), int(min(f.Bandwidth, 32<<10)))}
	}
	if drop {
		c.cut()
		return nil, false
	}
	if fail {
		if fail503 {
			c.errorCode(http.StatusServiceUnavailable, 130, "Over capacity")
		} else {
			c.errorCode(http.StatusInternalServerError, 131, "Internal error")
		}
		return nil, false
	}
	if lose {
		// The request is processed in full; only its answer is lost.
		real := c.w.ResponseWriter
		c.w.ResponseWriter = &discardWriter{header: make(http.Header)}
		return func() {
			count()
			c.hangUp(real)
		}, true
	}
	return nil, true
}

// edgeRefuse answers as X's edge does for a request body over its limit:
// 413 with an empty body, no JSON and none of the API's headers, before
// authentication or any handler (trypostit/trypost PR #31, 2026-05-12: APPEND
// of a 5 MiB segment; API.md §4.2).
func (c *call) edgeRefuse() {
	setEdgeHeaders(c.w.Header())
	c.w.WriteHeader(http.StatusRequestEntityTooLarge)
}

func setEdgeHeaders(h http.Header) {
	h.Set("Content-Length", "0")
	h.Set("Connection", "close") // the rest of the body is not read
}

// edgeBody counts a request body of unknown length (chunked) against
// Faults.EdgeBodyLimit: reading past the limit fails, and the recorder turns
// the handler's answer into the edge's empty 413.
type edgeBody struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed
	over bool
}

// errEdgeLimit is what a read past the edge limit returns.
var errEdgeLimit = errors.New("request body over the edge limit")

func (b *edgeBody) Read(p []byte) (int, error) {
	if b.over {
		return 0, errEdgeLimit
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		b.over = true
		return 0, errEdgeLimit
	}
	b.left -= int64(n)
	return n, err
}

func (b *edgeBody) Close() error { return b.rc.Close() }

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
