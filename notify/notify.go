package notify

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/hook"
)

// Defaults of [Options]' and [Target]'s zero values.
const (
	DefaultQueueSize   = 10_000
	DefaultBatchSize   = 100
	DefaultFlushEvery  = 2 * time.Second
	DefaultMaxAttempts = 10
	DefaultBaseDelay   = time.Second
	DefaultMaxDelay    = 5 * time.Minute
	DefaultStopGrace   = 5 * time.Second
	DefaultTimeout     = 30 * time.Second
)

// Target is one receiver: a webhook (URL set) or a command.
type Target struct {
	// URL receives each payload as an HTTP POST (http or https). Only its scheme and host are ever
	// logged: the path or query of a webhook URL often is the secret (Slack, Discord).
	URL string
	// Headers are set on every POST, e.g. Authorization. Their values are never logged.
	Headers map[string]string
	// Timeout bounds one POST; 0 = DefaultTimeout.
	Timeout time.Duration
	// Command is run, when URL is "", with each payload on its standard input, like an on_upload
	// command (see package hook: minimal environment, timeout, process group); exit 0 = delivered.
	Command hook.Spec
	// Events lists the event types the target receives; nil = all of them.
	Events []EventType
}

// Options tune delivery; the zero value gives the defaults.
type Options struct {
	QueueSize   int           // events waiting per target; when full, the oldest is dropped; 0 = 10,000
	BatchSize   int           // events per payload at most; 0 = 100
	FlushEvery  time.Duration // how long the first event of a batch waits for more; 0 = 2s
	MaxAttempts int           // sends of one payload before it is dropped; 0 = 10
	BaseDelay   time.Duration // backoff of the first retry (full jitter, doubling); 0 = 1s
	MaxDelay    time.Duration // cap on the backoff and on Retry-After; 0 = 5m
	StopGrace   time.Duration // how long Run keeps delivering after its context ends; 0 = 5s
	// Host is sent as the payload's "host" (os.Hostname in the agent); "" leaves it out.
	Host string
	// Client sends the POSTs; nil = a client over http.DefaultTransport. Redirects are never
	// followed (a 3xx answer fails the delivery), so that headers go only to the configured URL.
	Client *http.Client
	// Jitter returns a number in [0, 1) for the backoff; nil = math/rand/v2.Float64.
	Jitter func() float64
}

func (o Options) withDefaults() Options {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defInt(&o.QueueSize, DefaultQueueSize)
	defInt(&o.BatchSize, DefaultBatchSize)
	defInt(&o.MaxAttempts, DefaultMaxAttempts)
	def(&o.FlushEvery, DefaultFlushEvery)
	def(&o.BaseDelay, DefaultBaseDelay)
	def(&o.MaxDelay, DefaultMaxDelay)
	def(&o.StopGrace, DefaultStopGrace)
	if o.Jitter == nil {
		o.Jitter = rand.Float64
	}
	c := http.Client{}
	if o.Client != nil {
		c = *o.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.Client = &c
	return o
}

// Stats are a notifier's counters, summed over its targets.
type Stats struct {
	Queued    int   // events waiting now (in queues and in payloads being sent)
	Delivered int64 // events in payloads a receiver accepted
	Dropped   int64 // events lost: queue overflow, given up after the last attempt, or left at stop
	Sends     int64 // POSTs made and commands run
	Failures  int64 // sends that failed
}

// Notifier delivers events to targets. Create it with [New], feed it with [Notifier.Publish],
// and run its delivery with [Notifier.Run].
type Notifier struct {
	targets  []*target
	opts     Options
	log      zerolog.Logger
	idPrefix string
	seq      atomic.Uint64
	started  atomic.Bool
}

// target is a Target with its queue and counters.
type target struct {
	Target
	name  string // for logs: scheme://host, or "command NAME"
	wants map[EventType]bool

	wake chan struct{} // a token when events were queued; capacity 1

	mu         sync.Mutex
	q          queue
	inFlight   int  // events taken from q and not yet delivered or dropped
	unreported int  // events dropped since the last delivered payload (the payload's "dropped")
	overflow   int  // events dropped from the full queue since the last delivery (for the log)
	failing    bool // the last send failed (to log the recovery)

	delivered, dropped, sends, failures atomic.Int64
}

// New returns a notifier for targets. It does nothing until [Notifier.Run] runs; events published
// before are queued.
func New(targets []Target, opts Options, log zerolog.Logger) *Notifier {
	var b [6]byte
	_, _ = crand.Read(b[:])
	n := &Notifier{opts: opts.withDefaults(), log: log.With().Str("component", "notify").Logger(), idPrefix: hex.EncodeToString(b[:])}
	for _, t := range targets {
		tg := &target{Target: t, name: targetName(t), wake: make(chan struct{}, 1)}
		if t.Events != nil {
			tg.wants = map[EventType]bool{}
			for _, e := range t.Events {
				tg.wants[e] = true
			}
		}
		if tg.Timeout <= 0 {
			tg.Timeout = DefaultTimeout
		}
		n.targets = append(n.targets, tg)
	}
	return n
}

// targetName is how logs name a target: never a webhook URL's path, query or user.
func targetName(t Target) string {
	if t.URL == "" {
		if len(t.Command.Command) == 0 {
			return "command (none)"
		}
		return "command " + filepath.Base(t.Command.Command[0])
	}
	u, err := url.Parse(t.URL)
	if err != nil || u.Host == "" {
		return "webhook (invalid URL)"
	}
	return u.Scheme + "://" + u.Host
}

// Publish queues ev for every target that wants its type, and returns at once: it never blocks
// on delivery. It sets ev.ID when empty and ev.Time when zero (to now, in UTC). When a target's
// queue is full its oldest event is dropped; the first drop of a run of them is logged, and the
// count when delivery resumes. Safe for concurrent use.
func (n *Notifier) Publish(ev Event) {
	if ev.ID == "" {
		ev.ID = n.idPrefix + "-" + strconv.FormatUint(n.seq.Add(1), 10)
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	ev.Time = ev.Time.UTC()
	for _, t := range n.targets {
		if t.wants != nil && !t.wants[ev.Type] {
			continue
		}
		t.mu.Lock()
		first := false
		if t.q.len() >= n.opts.QueueSize {
			t.q.dropOldest()
			t.unreported++
			t.overflow++
			first = t.overflow == 1
			t.dropped.Add(1)
		}
		t.q.push(ev)
		t.mu.Unlock()
		if first {
			n.log.Warn().Str("target", t.name).Int("queue_size", n.opts.QueueSize).
				Msg("notify queue full (receiver down or slow?); dropping the oldest events")
		}
		select {
		case t.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns the counters.
func (n *Notifier) Stats() Stats {
	var s Stats
	for _, t := range n.targets {
		t.mu.Lock()
		s.Queued += t.q.len() + t.inFlight
		t.mu.Unlock()
		s.Delivered += t.delivered.Load()
		s.Dropped += t.dropped.Load()
		s.Sends += t.sends.Load()
		s.Failures += t.failures.Load()
	}
	return s
}

// Run delivers events until ctx ends, one goroutine per target, so that a slow receiver delays
// only its own events. Then it keeps delivering what is queued for up to Options.StopGrace, logs
// how many events were left undelivered, and returns nil. Call it once.
func (n *Notifier) Run(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("notify: Run called twice")
	}
	var wg sync.WaitGroup
	for _, t := range n.targets {
		wg.Go(func() { n.loop(ctx, t) })
	}
	wg.Wait()
	return nil
}

// loop is a target's delivery: it waits for events, lets a batch fill for up to FlushEvery (a full
// batch goes at once), and sends batches until the queue is empty.
func (n *Notifier) loop(ctx context.Context, t *target) {
	for {
		for t.len() == 0 {
			select {
			case <-ctx.Done():
				n.drain(ctx, t)
				return
			case <-t.wake:
			}
		}
		deadline := time.Now().Add(n.opts.FlushEvery)
		for t.len() > 0 {
			if t.len() < n.opts.BatchSize {
				if wait := time.Until(deadline); wait > 0 {
					timer := time.NewTimer(wait)
					select {
					case <-ctx.Done():
						timer.Stop()
						n.drain(ctx, t)
						return
					case <-t.wake:
						timer.Stop()
						continue
					case <-timer.C:
					}
				}
			}
			batch := t.take(n.opts.BatchSize)
			if !n.deliver(ctx, t, batch) {
				t.putBack(batch)
				n.drain(ctx, t)
				return
			}
		}
	}
}

// drain delivers what is queued for up to StopGrace after ctx ended.
func (n *Notifier) drain(parent context.Context, t *target) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), n.opts.StopGrace)
	defer cancel()
	for t.len() > 0 {
		batch := t.take(n.opts.BatchSize)
		if !n.deliver(ctx, t, batch) {
			t.putBack(batch)
			break
		}
	}
	t.mu.Lock()
	left := t.q.len()
	t.q = queue{}
	t.mu.Unlock()
	if left > 0 {
		t.dropped.Add(int64(left))
		n.log.Warn().Str("target", t.name).Int("events", left).Dur("grace", n.opts.StopGrace).
			Msg("notify events not delivered before stop")
	}
}

func (t *target) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.q.len()
}

func (t *target) take(max int) []Event {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.q.take(max)
	t.inFlight += len(b)
	return b
}

func (t *target) putBack(b []Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.q.pushFront(b)
	t.inFlight -= len(b)
}

// deliver sends one batch, retrying with backoff, until it is accepted (true), given up (true,
// the events counted as dropped and logged), or ctx ends (false: the caller keeps the batch).
func (n *Notifier) deliver(ctx context.Context, t *target, batch []Event) bool {
	t.mu.Lock()
	dropped := t.unreported
	t.mu.Unlock()
	body, err := json.Marshal(Payload{Version: Version, Host: n.opts.Host, Dropped: dropped, Events: batch})
	if err != nil { // only for times outside year 0..9999, which Publish never makes
		n.settle(t, batch, 0, false)
		n.log.Error().Str("target", t.name).Int("events", len(batch)).Err(err).Msg("notify events dropped: cannot encode them")
		return true
	}
	for attempt := 1; ; attempt++ {
		t.sends.Add(1)
		retryAfter, permanent, err := n.send(ctx, t, body)
		if err == nil {
			n.settle(t, batch, dropped, true)
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		t.failures.Add(1)
		t.mu.Lock()
		t.failing = true
		t.mu.Unlock()
		if permanent || attempt >= n.opts.MaxAttempts {
			n.settle(t, batch, 0, false)
			n.log.Error().Str("target", t.name).Int("events", len(batch)).Int("attempt", attempt).Str("error", err.Error()).
				Msg("notify events dropped: delivery failed")
			return true
		}
		wait := hook.Policy{BaseDelay: n.opts.BaseDelay, MaxDelay: n.opts.MaxDelay}.Delay(attempt, n.opts.Jitter())
		if retryAfter > 0 {
			wait = min(retryAfter, n.opts.MaxDelay)
		}
		n.log.Warn().Str("target", t.name).Int("events", len(batch)).Int("attempt", attempt).Dur("retry_in", wait).
			Str("error", err.Error()).Msg("notify delivery failed; will retry")
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
}

// settle records the end of a batch: delivered (reported = the dropped count the payload carried)
// or dropped.
func (n *Notifier) settle(t *target, batch []Event, reported int, ok bool) {
	t.mu.Lock()
	t.inFlight -= len(batch)
	recovered, overflow := false, 0
	if ok {
		t.unreported -= reported
		recovered, t.failing = t.failing, false
		overflow, t.overflow = t.overflow, 0
	} else {
		t.unreported += len(batch)
	}
	t.mu.Unlock()
	if !ok {
		t.dropped.Add(int64(len(batch)))
		return
	}
	t.delivered.Add(int64(len(batch)))
	if recovered {
		n.log.Info().Str("target", t.name).Msg("notify delivery works again")
	}
	if overflow > 0 {
		n.log.Warn().Str("target", t.name).Int("dropped", overflow).Msg("notify queue overflowed; the oldest events were dropped")
	}
}
