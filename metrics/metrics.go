package metrics

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mediasync/mediasync/agent"
)

// maxOps bounds the distinct values of the op label; further ones count as otherOp.
const (
	maxOps  = 32
	otherOp = "other"
)

// outcomes are the values of the outcome label, created at zero by [New].
var outcomes = []agent.Outcome{agent.OutcomeUploaded, agent.OutcomeSkipped, agent.OutcomeFailed, agent.OutcomeRetry}

// durationBuckets span a small photo on a fast line (0.1 s) to a large video on a slow one (30 min).
var durationBuckets = []float64{0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800}

// pausedReason is the body of /healthz while uploads are paused.
const pausedReason = "paused: X refuses the account; uploads resume by themselves once it accepts it again\n"

// Collector holds the agent's metrics in its own registry. Create it with [New].
type Collector struct {
	reg *prometheus.Registry

	files          *prometheus.CounterVec
	uploadBytes    prometheus.Counter
	uploadDuration prometheus.Histogram
	queueDepth     prometheus.Gauge
	retries        *prometheus.CounterVec
	rateLimitWait  *prometheus.CounterVec
	authPaused     prometheus.Gauge
	foldersParked  prometheus.Gauge

	paused      atomic.Bool
	pauseReason atomic.Pointer[string] // the refusal, for /healthz

	parkedMu sync.Mutex
	parked   map[string]bool

	opsMu sync.Mutex
	ops   map[string]struct{} // op label values in use, at most maxOps
}

var _ agent.Observer = (*Collector)(nil)

// New returns a Collector with every metric registered in a fresh registry, together with the Go
// runtime and process collectors.
func New() *Collector {
	c := &Collector{
		reg: prometheus.NewRegistry(),
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasync_files_total",
			Help: "Files whose processing finished, by outcome (uploaded, skipped, failed, retry).",
		}, []string{"outcome"}),
		uploadBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mediasync_upload_bytes_total",
			Help: "Bytes of the files uploaded.",
		}),
		uploadDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "mediasync_upload_duration_seconds",
			Help:    "Time to upload one file, from the start of its upload to its recorded media id.",
			Buckets: durationBuckets,
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mediasync_queue_depth",
			Help: "Files waiting for an upload worker.",
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasync_retries_total",
			Help: "Retried requests to the media upload API, by operation.",
		}, []string{"op"}),
		rateLimitWait: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mediasync_rate_limit_wait_seconds_total",
			Help: "Time spent waiting for a rate-limit window to reset, by operation.",
		}, []string{"op"}),
		authPaused: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mediasync_auth_paused",
			Help: "1 while uploads are paused because X refuses the account (credentials, scope, credits), else 0.",
		}),
		foldersParked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "mediasync_folders_parked",
			Help: "Folders whose manifest cannot be written (full disk, read-only mount): their uploads wait.",
		}),
		ops:    map[string]struct{}{},
		parked: map[string]bool{},
	}
	c.reg.MustRegister(
		c.files, c.uploadBytes, c.uploadDuration, c.queueDepth, c.retries, c.rateLimitWait, c.authPaused, c.foldersParked,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, o := range outcomes {
		c.files.WithLabelValues(string(o))
	}
	return c
}

// Observe implements agent.Observer: file outcomes, the queue, the account pause (with its reason
// for /healthz) and parked folders.
func (c *Collector) Observe(e agent.Event) {
	switch e.Kind {
	case agent.EventFile:
		c.FileDone(e.Folder, e.Rel, e.Outcome, e.Bytes, e.Duration)
	case agent.EventQueue:
		c.QueueDepth(e.Queue)
	case agent.EventPaused:
		if e.Err != nil {
			r := firstLine(e.Err.Error())
			c.pauseReason.Store(&r)
		}
		c.AuthPaused(true)
	case agent.EventResumed:
		c.AuthPaused(false)
	case agent.EventParked, agent.EventUnparked:
		c.parkedMu.Lock()
		if e.Kind == agent.EventParked {
			c.parked[e.Folder] = true
		} else {
			delete(c.parked, e.Folder)
		}
		c.foldersParked.Set(float64(len(c.parked)))
		c.parkedMu.Unlock()
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// FileDone counts one file's outcome; an uploaded file also adds its bytes and upload time.
// An outcome the agent does not define is counted as failed rather than creating a new series.
func (c *Collector) FileDone(folder, rel string, outcome agent.Outcome, bytes int64, d time.Duration) {
	switch outcome {
	case agent.OutcomeUploaded:
		if bytes > 0 {
			c.uploadBytes.Add(float64(bytes))
		}
		c.uploadDuration.Observe(max(d, 0).Seconds())
	case agent.OutcomeSkipped, agent.OutcomeFailed, agent.OutcomeRetry:
	default:
		outcome = agent.OutcomeFailed
	}
	c.files.WithLabelValues(string(outcome)).Inc()
}

// NewSession forgets what described the previous agent's session, the account pause (and its
// reason), the parked folders and the queue, and keeps the counters. A configuration reload calls
// it before the new agent starts: that agent reports a pause or a parked folder again if the cause
// is still there, and a fixed one must not keep /healthz at 503.
func (c *Collector) NewSession() {
	c.AuthPaused(false)
	c.pauseReason.Store(nil)
	c.parkedMu.Lock()
	clear(c.parked)
	c.foldersParked.Set(0)
	c.parkedMu.Unlock()
	c.QueueDepth(0)
}

// QueueDepth sets the number of files waiting for a worker.
func (c *Collector) QueueDepth(n int) { c.queueDepth.Set(float64(n)) }

// AuthPaused records whether uploads are paused for credentials; /healthz answers 503 while they are.
func (c *Collector) AuthPaused(paused bool) {
	c.paused.Store(paused)
	if paused {
		c.authPaused.Set(1)
	} else {
		c.authPaused.Set(0)
	}
}

// Retry counts one retried request of the operation op (INIT, APPEND, …). Wire it from the
// uploader's hook: Options.OnRetry = func(op string, _ int, _ error, _ time.Duration) { c.Retry(op) }.
func (c *Collector) Retry(op string) { c.retries.WithLabelValues(c.opLabel(op)).Inc() }

// RateLimitWait adds d to the time spent waiting for op's rate-limit window. Negative d is ignored.
func (c *Collector) RateLimitWait(op string, d time.Duration) {
	if d <= 0 {
		c.rateLimitWait.WithLabelValues(c.opLabel(op))
		return
	}
	c.rateLimitWait.WithLabelValues(c.opLabel(op)).Add(d.Seconds())
}

// opLabel returns op as a label value, bounded to maxOps distinct values.
func (c *Collector) opLabel(op string) string {
	if op == "" {
		op = "unknown"
	}
	c.opsMu.Lock()
	defer c.opsMu.Unlock()
	if _, ok := c.ops[op]; ok {
		return op
	}
	if len(c.ops) >= maxOps {
		return otherOp
	}
	c.ops[op] = struct{}{}
	return op
}

// Handler serves GET /metrics (Prometheus text format, OpenMetrics when asked for) and GET /healthz
// (200 "ok", or 503 with the reason while uploads are paused for credentials). Other paths are 404.
func (c *Collector) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError, // a failing process collector must not hide the rest
		EnableOpenMetrics:   true,
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	}))
	mux.HandleFunc("GET /healthz", c.healthz)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "mediasync: /metrics (Prometheus), /healthz\n")
	})
	return mux
}

func (c *Collector) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if c.paused.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, pausedReason)
		if r := c.pauseReason.Load(); r != nil {
			fmt.Fprintf(w, "%s\n", *r)
		}
		return
	}
	fmt.Fprint(w, "ok\n")
}
