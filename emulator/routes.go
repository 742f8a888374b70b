package emulator

import (
	"net/http"
	"net/url"
	"sync"
	"time"
)

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
	s.oauth2.routes(mux, s)
	s.mux = mux
}

// ServeHTTP serves the v2 and v1.1 media APIs and the /_emulator/ admin API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// recorder remembers the status code for the stats. When an edge-limited
// body of unknown length has gone over the limit (see edgeBody), whatever
// the handler answers becomes the edge's empty 413.
type recorder struct {
	http.ResponseWriter
	status int
	edge   *edgeBody // nil unless a chunked body is counted against Faults.EdgeBodyLimit
	muted  bool      // the edge's 413 was sent: the handler's body goes nowhere
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		if w.edge != nil && w.edge.over {
			code = http.StatusRequestEntityTooLarge
			clear(w.Header())
			setEdgeHeaders(w.Header())
			w.muted = true
		}
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.muted {
		return len(p), nil
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
	faults   Faults      // in force when the request arrived
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
	after, proceed := s.applyFaults(c, count)
	if !proceed {
		return
	}
	if after != nil {
		defer after()
	}
	if ae := s.authenticate(c, am); ae != nil {
		s.log.Debug().Str("path", r.URL.Path).Str("reason", ae.reason).Msg("request refused")
		c.refuseAuth(ae)
		return
	}
	if c.refuseAccount(c.faults.accountRefusal()) {
		return
	}
	h(c)
}
