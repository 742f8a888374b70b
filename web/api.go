package web

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// maxBody bounds a request body: the API's requests are a path and a few options.
const maxBody = 64 << 10

// versionHeader carries the schema version on every API answer.
const versionHeader = "Mediasync-API-Version"

// ndjson is the media type of the streamed upload answer (one JSON object per line).
const ndjson = "application/x-ndjson"

// NewAPIHandler returns the JSON API of docs/api.md (schema [Version]) over b:
//
//	GET  /api/status?folder=&offset=&limit=   Status
//	GET  /api/explain?path=ABS                Explanation
//	POST /api/retry         {"folder","rel"}  {"version","retried"}
//	POST /api/retry-failed  {"folder"}        {"version","retried"}
//	POST /api/retry-hooks   {"folder"}        {"version","retried"}
//	POST /api/upload        {"path","media_category","alt_text"}  {"version","result"}
//
// Errors are {"version", "error": {"code", "message"}} with a 4xx or 5xx status. Access as
// [Options] says; POST bodies must be application/json, and a browser's POST (cookie, or no token
// on loopback) also needs the X-CSRF-Token header and the same origin. Requests through
// [ServeUnix]'s socket are the owner's and need neither.
func NewAPIHandler(b Backend, opts Options) http.Handler {
	a := &api{b: b, opts: opts, g: newGuard(opts)}
	mux := http.NewServeMux()
	routes := []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodGet, "/api/status", a.status},
		{http.MethodGet, "/api/explain", a.explain},
		{http.MethodPost, "/api/retry", a.retry},
		{http.MethodPost, "/api/retry-failed", a.retryFailed},
		{http.MethodPost, "/api/retry-hooks", a.retryHooks},
		{http.MethodPost, "/api/upload", a.upload},
	}
	allowed := map[string]string{}
	for _, rt := range routes {
		mux.HandleFunc(rt.method+" "+rt.path, rt.h)
		allowed[rt.path] = rt.method
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if m, ok := allowed[r.URL.Path]; ok {
			w.Header().Set("Allow", m)
			writeError(w, http.StatusMethodNotAllowed, codeInvalid, r.URL.Path+" takes "+m+" only")
			return
		}
		writeError(w, http.StatusNotFound, codeNoEndpoint, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		w.Header().Set(versionHeader, strconv.Itoa(Version))
		acc, why := a.g.who(r)
		if acc == accessDenied {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mediasync"`)
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "not authorised: "+why)
			return
		}
		if r.Method == http.MethodPost {
			if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
				writeError(w, http.StatusUnsupportedMediaType, codeUnsupported, "the request body must be application/json")
				return
			}
			if why := a.g.checkChange(r, acc, ""); why != "" {
				writeError(w, http.StatusForbidden, codeForbidden, why)
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		mux.ServeHTTP(w, r)
	})
}

type api struct {
	b    Backend
	opts Options
	g    *guard
}

// retried is the answer of the retry endpoints.
type retried struct {
	Version int `json:"version"`
	Retried int `json:"retried"`
}

// errorBody is the answer of a failed request.
type errorBody struct {
	Version int `json:"version"`
	Error   struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// retryRequest is the body of the retry endpoints.
type retryRequest struct {
	Folder string `json:"folder"`
	Rel    string `json:"rel,omitempty"`
}

// uploadRequest is the body of POST /api/upload.
type uploadRequest struct {
	Path          string `json:"path"`
	MediaCategory string `json:"media_category,omitempty"`
	AltText       string `json:"alt_text,omitempty"`
}

// uploadLine is one line of the streamed upload answer: progress lines, then one with the result
// or the error.
type uploadLine struct {
	Version  int           `json:"version"`
	Progress *progress     `json:"progress,omitempty"`
	Result   *UploadResult `json:"result,omitempty"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

type progress struct {
	Bytes int64 `json:"bytes"`
	Total int64 `json:"total"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e errorBody
	e.Version, e.Error.Code, e.Error.Message = Version, code, msg
	writeJSON(w, status, e)
}

// fail answers with err, scrubbed, unless the caller went away (then there is no one to answer).
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	status, code := errorAnswer(err)
	writeError(w, status, code, a.scrubber(r).text(err.Error()))
}

// scrubber returns the scrubber of an answer to r that names the given folders: the owner-only
// socket's answers keep every path.
func (a *api) scrubber(r *http.Request, folders ...Folder) scrubber {
	s := newScrubber(a.opts, folders)
	s.keepPaths = trusted(r.Context())
	return s
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields() // an option this agent does not know must not be ignored silently
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalid, "malformed request body: "+err.Error())
		return false
	}
	return true
}

// parseQuery reads the paging parameters of GET /api/status.
func parseQuery(r *http.Request) (Query, error) {
	v := r.URL.Query()
	q := Query{Folder: v.Get("folder")}
	for _, p := range []struct {
		name string
		dst  *int
	}{{"offset", &q.Offset}, {"limit", &q.Limit}} {
		if s := v.Get(p.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, fmt.Errorf("%w: %s=%q is not a whole number ≥ 0", ErrInvalid, p.name, s)
			}
			*p.dst = n
		}
	}
	q.Limit = q.limit()
	return q, nil
}

func (a *api) status(w http.ResponseWriter, r *http.Request) {
	q, err := parseQuery(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st, err := a.b.Status(r.Context(), q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	st.Version = Version
	a.scrubber(r, st.Folders...).status(&st)
	writeJSON(w, http.StatusOK, st)
}

func (a *api) explain(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("path")
	if !filepath.IsAbs(p) {
		a.fail(w, r, fmt.Errorf("%w: path=%q must be an absolute path", ErrInvalid, p))
		return
	}
	e, err := a.b.Explain(r.Context(), p)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	e.Version = Version
	a.scrubber(r, Folder{Path: e.Folder}).explanation(&e)
	writeJSON(w, http.StatusOK, e)
}

func (a *api) retry(w http.ResponseWriter, r *http.Request) {
	var req retryRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Folder == "" || req.Rel == "" {
		a.fail(w, r, fmt.Errorf("%w: retry needs a folder and a rel", ErrInvalid))
		return
	}
	if err := a.b.Retry(r.Context(), req.Folder, req.Rel); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, retried{Version, 1})
}

func (a *api) retryFailed(w http.ResponseWriter, r *http.Request) {
	a.retryAll(w, r, a.b.RetryFailed)
}

func (a *api) retryHooks(w http.ResponseWriter, r *http.Request) {
	a.retryAll(w, r, a.b.RetryHooks)
}

func (a *api) retryAll(w http.ResponseWriter, r *http.Request, do func(ctx context.Context, folder string) (int, error)) {
	var req retryRequest
	if !decode(w, r, &req) {
		return
	}
	n, err := do(r.Context(), req.Folder)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, retried{Version, n})
}

func (a *api) upload(w http.ResponseWriter, r *http.Request) {
	var req uploadRequest
	if !decode(w, r, &req) {
		return
	}
	if !filepath.IsAbs(req.Path) {
		a.fail(w, r, fmt.Errorf("%w: path %q must be absolute", ErrInvalid, req.Path))
		return
	}
	opts := UploadOptions{Category: req.MediaCategory, AltText: req.AltText}
	if !strings.Contains(r.Header.Get("Accept"), ndjson) {
		res, err := a.b.Upload(r.Context(), req.Path, opts)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		a.scrubber(r, Folder{Path: res.Folder}).entry(&res.Entry)
		writeJSON(w, http.StatusOK, uploadLine{Version: Version, Result: &res})
		return
	}
	// Streamed: progress lines (at most 5 a second), then the result or the error.
	s := &stream{w: w, rc: http.NewResponseController(w)}
	w.Header().Set("Content-Type", ndjson)
	w.WriteHeader(http.StatusOK)
	opts.OnProgress = s.progress
	res, err := a.b.Upload(r.Context(), req.Path, opts)
	line := uploadLine{Version: Version, Result: &res}
	if err != nil {
		_, code := errorAnswer(err)
		line.Result = nil
		line.Error = &struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		}{code, a.scrubber(r).text(err.Error())}
	} else {
		a.scrubber(r, Folder{Path: res.Folder}).entry(&res.Entry)
	}
	s.finish(line)
}

// stream writes the lines of a streamed upload answer. The backend may report progress from any
// goroutine, even after Upload returned; lines after the last are dropped.
type stream struct {
	mu   sync.Mutex
	w    http.ResponseWriter
	rc   *http.ResponseController
	last time.Time
	done bool
}

const progressEvery = 200 * time.Millisecond

func (s *stream) progress(done, total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done || (time.Since(s.last) < progressEvery && done < total) {
		return
	}
	s.last = time.Now()
	s.write(uploadLine{Version: Version, Progress: &progress{Bytes: done, Total: total}})
}

func (s *stream) finish(line uploadLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	s.write(line)
}

func (s *stream) write(line uploadLine) {
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	s.w.Write(append(b, '\n'))
	s.rc.Flush()
}
