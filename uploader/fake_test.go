package uploader

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeX is a small, strict stand-in for the X media API, for protocol
// details the emulator does not expose (request order, content types,
// fields, concurrency) and for tests that run inside synctest bubbles
// (through handlerTransport, without sockets). End-to-end behaviour is
// tested against the real emulator in e2e_test.go.
type fakeX struct {
	t *testing.T

	mu        sync.Mutex
	media     map[string]*fakeMedia
	nextID    int
	calls     []string // "INIT", "APPEND 3", "FINALIZE", "STATUS", "UPLOAD", "METADATA", "VERIFY"
	inflight  int
	maxFlight int
	// proc is the processing script: FINALIZE answers proc[0], each STATUS
	// the next entry (the last one repeats). nil: no processing_info.
	proc []processingInfo
	// hook, if set, runs first for every request; returning true means it
	// answered the request itself.
	hook func(op string, w http.ResponseWriter, r *http.Request) bool
	// expires is expires_after_secs in answers.
	expires int64
	// edgeLimit, if > 0, is the largest request body X's edge lets
	// through: a larger one gets 413 with an empty body before any handler
	// (trypostit/trypost PR #31, 2026-05-12: 5 MiB APPENDs; API.md §4.2).
	edgeLimit int64
	// refinalize, if set, is how a FINALIZE of an already finalized media
	// id is refused (X does not document it; the emulator accepts it again,
	// as the fake does when refinalize is nil).
	refinalize func(w http.ResponseWriter, id string, v11 bool)
	// refuse, if set, answers every request with this account refusal in
	// X's shape (see refusalAnswer).
	refuse Refusal
}

type fakeMedia struct {
	id, mediaType, category string
	owners                  []string
	shared                  bool
	total                   int64
	segs                    map[int][]byte
	data                    []byte
	finalized               bool
	polls                   int
	altText                 string
}

func newFakeX(t *testing.T) *fakeX {
	return &fakeX{t: t, media: map[string]*fakeMedia{}, nextID: 1000, expires: 86400}
}

// handlerTransport serves requests by calling a handler in-process: no
// sockets, so it works inside synctest bubbles.
type handlerTransport struct{ h http.Handler }

func (ht handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := httptest.NewRecorder()
	ht.h.ServeHTTP(rec, r)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

func (f *fakeX) client() *http.Client { return &http.Client{Transport: handlerTransport{f}} }

func (f *fakeX) newClient(opts Options) *Client {
	if opts.BaseURL == "" {
		opts.BaseURL = "https://fake.invalid"
	}
	return New(f.client(), opts)
}

func (f *fakeX) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}

func (f *fakeX) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *fakeX) count(prefix string) int {
	n := 0
	for _, c := range f.Calls() {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func (f *fakeX) get(id string) *fakeMedia {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.media[id]
}

func (f *fakeX) only() *fakeMedia {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.media) != 1 {
		f.t.Fatalf("fake holds %d media, want 1", len(f.media))
	}
	for _, m := range f.media {
		return m
	}
	return nil
}

func (f *fakeX) forget(id string) {
	f.mu.Lock()
	delete(f.media, id)
	f.mu.Unlock()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"code": 0, "message": msg}}})
}

func opOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/2/media/upload/initialize":
		return "INIT"
	case strings.HasSuffix(p, "/append"):
		return "APPEND"
	case strings.HasSuffix(p, "/finalize"):
		return "FINALIZE"
	case p == "/2/media/upload" && r.Method == http.MethodGet:
		return "STATUS"
	case p == "/2/media/upload":
		return "UPLOAD"
	case p == "/2/media/metadata", p == "/1.1/media/metadata/create.json":
		return "METADATA"
	case p == "/2/users/me", p == "/1.1/account/verify_credentials.json":
		return "VERIFY"
	case p == v11Upload && r.Method == http.MethodGet:
		return "STATUS"
	case p == v11Upload && r.Header.Get("Content-Type") == "application/x-www-form-urlencoded":
		_ = r.ParseForm()
		return r.PostForm.Get("command")
	case p == v11Upload:
		return "MULTIPART"
	}
	return "UNKNOWN"
}

func (f *fakeX) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v11 := strings.HasPrefix(r.URL.Path, "/1.1/")
	if f.edgeLimit > 0 && r.ContentLength > f.edgeLimit {
		f.record("413")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		return
	}
	if f.refuse != "" {
		f.record("REFUSED")
		refusalAnswer(w, f.refuse, v11)
		return
	}
	op := opOf(r)
	if f.hook != nil && f.hook(op, w, r) {
		return
	}
	f.serve(op, v11, w, r)
}

// ServeHTTPNoHook serves r as the fake does, without the hook (for a hook
// that lets a request through and then acts).
func (f *fakeX) ServeHTTPNoHook(w http.ResponseWriter, r *http.Request) {
	f.serve(opOf(r), strings.HasPrefix(r.URL.Path, "/1.1/"), w, r)
}

func (f *fakeX) serve(op string, v11 bool, w http.ResponseWriter, r *http.Request) {
	switch op {
	case "INIT":
		f.init(w, r, v11)
	case "APPEND", "MULTIPART", "UPLOAD":
		f.multipart(w, r, v11)
	case "FINALIZE":
		id := r.PostForm.Get("media_id")
		if !v11 {
			id = strings.Split(r.URL.Path, "/")[4]
		}
		f.record("FINALIZE")
		f.finalize(w, id, v11)
	case "STATUS":
		if r.URL.Query().Get("command") != "STATUS" {
			fail(w, 400, "command=STATUS missing")
			return
		}
		f.record("STATUS")
		f.status(w, r.URL.Query().Get("media_id"), v11)
	case "METADATA":
		f.metadata(w, r, v11)
	case "VERIFY":
		f.record("VERIFY")
		if v11 {
			writeJSON(w, 200, map[string]any{"screen_name": "fakeuser"})
		} else {
			writeJSON(w, 200, map[string]any{"data": map[string]any{"id": "1", "username": "fakeuser", "name": "Fake"}})
		}
	default:
		fail(w, 404, "Sorry, that page does not exist")
	}
}

func (f *fakeX) newMedia(typ, cat string, total int64) *fakeMedia {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nextID++
	m := &fakeMedia{id: strconv.Itoa(f.nextID), mediaType: typ, category: cat, total: total, segs: map[int][]byte{}}
	f.media[m.id] = m
	return m
}

func (f *fakeX) init(w http.ResponseWriter, r *http.Request, v11 bool) {
	f.record("INIT")
	var body v2InitBody
	if v11 {
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			fail(w, 400, "INIT must be form-urlencoded")
			return
		}
		body.MediaType = r.PostForm.Get("media_type")
		body.TotalBytes, _ = strconv.ParseInt(r.PostForm.Get("total_bytes"), 10, 64)
		body.MediaCategory = r.PostForm.Get("media_category")
		if o := r.PostForm.Get("additional_owners"); o != "" {
			body.AdditionalOwners = strings.Split(o, ",")
		}
		body.Shared = r.PostForm.Get("shared") == "true"
	} else {
		if r.Header.Get("Content-Type") != "application/json" {
			fail(w, 400, "Requests with bodies must have content-type of application/json.")
			return
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil {
			fail(w, 400, "bad initialize body: "+err.Error())
			return
		}
	}
	if body.MediaType == "" || body.TotalBytes <= 0 {
		fail(w, 400, "media_type and total_bytes are required")
		return
	}
	m := f.newMedia(body.MediaType, body.MediaCategory, body.TotalBytes)
	m.owners, m.shared = body.AdditionalOwners, body.Shared
	f.answer(w, 202, m, v11, nil)
}

func (f *fakeX) answer(w http.ResponseWriter, status int, m *fakeMedia, v11 bool, extra map[string]any) {
	obj := map[string]any{"media_key": "7_" + m.id, "expires_after_secs": f.expires}
	if v11 {
		obj["media_id_string"] = m.id
	} else {
		obj["id"] = m.id
	}
	for k, v := range extra {
		obj[k] = v
	}
	if v11 {
		writeJSON(w, status, obj)
	} else {
		writeJSON(w, status, map[string]any{"data": obj})
	}
}

func (f *fakeX) multipart(w http.ResponseWriter, r *http.Request, v11 bool) {
	ct := r.Header.Get("Content-Type")
	if !strings.HasPrefix(ct, "multipart/form-data; boundary=") {
		fail(w, 400, "Request body is not valid JSON.")
		return
	}
	if _, params, err := mime.ParseMediaType(ct); err != nil || params["boundary"] == "" {
		fail(w, 400, "bad multipart content type")
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		fail(w, 400, err.Error())
		return
	}
	fields := map[string]string{}
	var data []byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			fail(w, 400, "multipart: "+err.Error())
			return
		}
		b, err := io.ReadAll(p)
		if err != nil {
			fail(w, 400, "multipart: "+err.Error())
			return
		}
		if p.FormName() == "media" {
			if p.FileName() == "" {
				fail(w, 400, "media part without filename")
				return
			}
			data = b
		} else {
			fields[p.FormName()] = string(b)
		}
	}
	cmd := fields["command"]
	if !v11 {
		cmd = "APPEND"
		if r.URL.Path == "/2/media/upload" {
			cmd = ""
		}
	}
	switch cmd {
	case "":
		f.record("UPLOAD")
		cat := fields["media_category"]
		if cat == "" {
			fail(w, 400, "media_category is required")
			return
		}
		m := f.newMedia(http.DetectContentType(data), cat, int64(len(data)))
		m.data, m.finalized = data, true
		if o := fields["additional_owners"]; o != "" {
			m.owners = strings.Split(o, ",")
		}
		f.answer(w, 200, m, v11, map[string]any{"size": len(data), "image": map[string]any{"image_type": m.mediaType, "w": 64, "h": 48}})
	case "APPEND":
		id := fields["media_id"]
		if !v11 {
			id = strings.Split(r.URL.Path, "/")[4]
		}
		idx, err := strconv.Atoi(fields["segment_index"])
		f.record("APPEND " + fields["segment_index"])
		if err != nil || idx < 0 || idx > 999 {
			fail(w, 400, "SegmentIndex must be between 0 and 999.")
			return
		}
		f.mu.Lock()
		m := f.media[id]
		if m == nil {
			f.mu.Unlock()
			fail(w, 404, "media id not found")
			return
		}
		if m.finalized {
			f.mu.Unlock()
			alreadyFinalized(w, id, v11)
			return
		}
		m.segs[idx] = data
		f.mu.Unlock()
		w.Header().Set("Content-Type", "text/html;charset=utf-8")
		w.WriteHeader(http.StatusNoContent)
	default:
		fail(w, 400, "unknown command "+cmd)
	}
}

func (f *fakeX) finalize(w http.ResponseWriter, id string, v11 bool) {
	f.mu.Lock()
	m := f.media[id]
	if m == nil {
		f.mu.Unlock()
		fail(w, 404, "media id not found")
		return
	}
	if m.finalized && f.refinalize != nil {
		f.mu.Unlock()
		f.refinalize(w, id, v11)
		return
	}
	if !m.finalized {
		var buf bytes.Buffer
		for i := range len(m.segs) {
			s, ok := m.segs[i]
			if !ok {
				f.mu.Unlock()
				fail(w, 400, fmt.Sprintf("segment %d missing", i))
				return
			}
			buf.Write(s)
		}
		if int64(buf.Len()) != m.total {
			f.mu.Unlock()
			fail(w, 400, "Segments do not add up to provided total file size.")
			return
		}
		m.data, m.finalized = buf.Bytes(), true
	}
	extra := map[string]any{"size": m.total}
	if len(f.proc) > 0 {
		extra["processing_info"] = f.proc[0]
	}
	f.mu.Unlock()
	f.answer(w, 201, m, v11, extra)
}

func (f *fakeX) status(w http.ResponseWriter, id string, v11 bool) {
	f.mu.Lock()
	m := f.media[id]
	if m == nil || !m.finalized || len(f.proc) == 0 {
		f.mu.Unlock()
		noStatusAnswer(w, v11)
		return
	}
	m.polls++
	pi := f.proc[min(m.polls, len(f.proc)-1)]
	f.mu.Unlock()
	f.answer(w, 200, m, v11, map[string]any{"size": m.total, "processing_info": pi})
}

func (f *fakeX) metadata(w http.ResponseWriter, r *http.Request, v11 bool) {
	f.record("METADATA")
	var body struct {
		ID       string  `json:"id"`
		MediaID  string  `json:"media_id"`
		AltText  altText `json:"alt_text"`
		Metadata struct {
			AltText altText `json:"alt_text"`
		} `json:"metadata"`
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		fail(w, 400, "metadata must be JSON")
		return
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		fail(w, 400, err.Error())
		return
	}
	id, text := body.ID, body.Metadata.AltText.Text
	if v11 {
		id, text = body.MediaID, body.AltText.Text
	}
	f.mu.Lock()
	m := f.media[id]
	if m != nil {
		m.altText = text
	}
	f.mu.Unlock()
	if m == nil {
		fail(w, 400, "media id not found")
		return
	}
	if v11 {
		w.WriteHeader(200)
		return
	}
	writeJSON(w, 200, map[string]any{"data": map[string]any{"id": id, "associated_metadata": map[string]any{"alt_text": map[string]any{"text": text}}}})
}

// noStatusAnswer is X's STATUS answer for media without a processing status
// (an image, needing no processing; also, as far as is known, one not
// finalized): v1.1 404 code 34 (API.md §1.5 c), v2 400 "BadRequest: Not
// found" (xdevplatform/xurl#18, 2025-03-14).
func noStatusAnswer(w http.ResponseWriter, v11 bool) {
	if v11 {
		writeJSON(w, 404, map[string]any{"errors": []map[string]any{{"code": 34, "message": "Sorry, that page does not exist"}}})
		return
	}
	invalidRequest(w, "BadRequest: Not found")
}

// invalidRequest is v2's 400 problem with one message (API.md §4.2).
func invalidRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, 400, map[string]any{
		"errors": []map[string]any{{"message": msg}},
		"title":  "Invalid Request",
		"detail": "One or more parameters to your request was invalid.",
		"type":   "https://api.twitter.com/2/problems/invalid-request",
	})
}

// alreadyFinalized refuses APPEND (or FINALIZE) for a finalized media id
// with the emulator's texts (emulator/v2.go v2MediaError, v11.go; X's own
// answer is undocumented).
func alreadyFinalized(w http.ResponseWriter, id string, v11 bool) {
	if v11 {
		writeJSON(w, 400, map[string]any{"request": v11Upload, "error": "Media id " + id + " is already finalized."})
		return
	}
	invalidRequest(w, fmt.Sprintf("The media_id %q is already finalized.", id))
}

// problem writes an RFC 7807 problem as v2 sends it (application/problem+json).
func problem(w http.ResponseWriter, status int, body map[string]any) {
	body["status"] = status
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// refusalAnswer answers as X does when it refuses the account (sources in
// the Refusal constants' docs): v2 problems without errors[].code; on v1.1
// the codes v1.1 sends (32, 89; 261 for a read-only app; 453 for an app
// without the access level, as emulator/account.go answers) where it has them.
func refusalAnswer(w http.ResponseWriter, r Refusal, v11 bool) {
	switch {
	case r == RefusalUnauthorized && v11:
		writeJSON(w, 401, map[string]any{"errors": []map[string]any{{"code": 32, "message": "Could not authenticate you."}}})
	case r == RefusalMissingScope && v11:
		writeJSON(w, 403, map[string]any{"errors": []map[string]any{{"code": 261, "message": "Application cannot perform write actions."}}})
	case r == RefusalClientForbidden && v11:
		writeJSON(w, 403, map[string]any{"errors": []map[string]any{{"code": 453, "message": "You currently have access to a subset of Twitter API v2 endpoints and limited v1.1 endpoints (e.g. media post, oauth) only. If you need access to this endpoint, you may need a different access level. You can learn more here: https://developer.twitter.com/en/portal/product"}}})
	case r == RefusalUnauthorized:
		problem(w, 401, map[string]any{"title": "Unauthorized", "type": "about:blank", "detail": "Unauthorized"})
	case r == RefusalUnsupportedAuth:
		problem(w, 403, map[string]any{"title": "Unsupported Authentication", "type": "https://api.twitter.com/2/problems/unsupported-authentication",
			"detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.  Supported authentication types are [OAuth 1.0a User Context, OAuth 2.0 User Context]."})
	case r == RefusalClientForbidden:
		problem(w, 403, map[string]any{"title": "Client Forbidden", "type": "https://api.twitter.com/2/problems/client-forbidden",
			"detail": "When authenticating requests to the Twitter API v2 endpoints, you must use keys and tokens from a Twitter developer App that is attached to a Project. You can create a project via the developer portal.",
			"reason": "client-not-enrolled", "registration_url": "https://developer.twitter.com/en/docs/projects/overview", "required_enrollment": "Appropriate Level of API Access", "client_id": "27988566"})
	case r == RefusalMissingScope:
		problem(w, 403, map[string]any{"title": "Forbidden", "type": "about:blank", "detail": "Forbidden"})
	case r == RefusalCreditsDepleted:
		problem(w, 402, map[string]any{"title": "CreditsDepleted", "type": "https://api.twitter.com/2/problems/credits",
			"detail": "Your enrolled account [1553086854915936256] does not have any credits to fulfill this request.", "account_id": 1553086854915936256})
	default:
		panic("refusalAnswer: no shape for " + string(r))
	}
}

// ptr returns a pointer to v.
func ptr[T any](v T) *T { return &v }

// deterministic test bytes.
func testBytes(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}
