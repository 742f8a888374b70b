package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode/utf8"
)

// v11MediaBody is the v1.1 answer of simple upload, INIT, FINALIZE and STATUS.
// media_key is present only when a media_category was given (API.md §1.1).
func (s *Server) v11MediaBody(m *media, initOnly bool) map[string]any {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := strconv.ParseInt(m.id, 10, 64)
	d := map[string]any{
		"media_id":           id,
		"media_id_string":    m.id,
		"expires_after_secs": secondsLeft(m.expires, now),
	}
	if m.category != "" {
		d["media_key"] = m.key
	}
	if initOnly {
		return d
	}
	d["size"] = m.size
	st, pi := m.state(now)
	if pi != nil {
		d["processing_info"] = pi
	}
	switch m.kind {
	case kindImage, kindGIF:
		if !m.async && m.width > 0 {
			d["image"] = map[string]any{"image_type": m.detected, "w": m.width, "h": m.height}
		}
	case kindVideo:
		if !m.async || st == "succeeded" {
			d["video"] = map[string]any{"video_type": m.detected}
		}
	}
	return d
}

// v11MediaError answers an error of the upload endpoint.
func (c *call) v11MediaError(err error) {
	switch {
	case !isFlowError(err) && c.r.Context().Err() != nil:
		c.w.status = 499 // the client went away while the request waited
	case errors.Is(err, errTooLarge):
		c.empty(http.StatusRequestEntityTooLarge)
	case errors.Is(err, errUnknownMedia), errors.Is(err, errExpiredMedia):
		c.v11Error(http.StatusBadRequest, 324, "Invalid media id "+c.mediaID)
	case errors.Is(err, errNotUploading), errors.Is(err, errFinalizing):
		c.v11Legacy(http.StatusBadRequest, "Media id "+c.mediaID+" is already finalized.")
	case isFlowError(err):
		c.v11Legacy(http.StatusBadRequest, flowMessage(err))
	default:
		c.internal(err)
	}
}

// commandLabel is the stats suffix for a v1.1 command; anything a client
// invents is counted under one label.
func commandLabel(cmd string) string {
	switch cmd {
	case "":
		return ""
	case "INIT", "APPEND", "FINALIZE", "STATUS":
		return " " + cmd
	}
	return " (invalid command)"
}

func (c *call) missing(param string) {
	c.v11Error(http.StatusBadRequest, 38, param+" parameter is missing.")
}

// v11Upload serves POST /1.1/media/upload.json: simple upload and the
// INIT, APPEND and FINALIZE commands.
func (s *Server) v11Upload(c *call) {
	// The largest part any command takes is a 15 MB GIF of a simple upload.
	f, err := c.readUpload(maxGIFBytes, 0)
	if err != nil {
		c.endpoint += commandLabel(c.r.URL.Query().Get("command"))
		if !c.take("v1.1 upload image") {
			return
		}
		c.v11MediaError(err)
		return
	}
	cmd := f.fields["command"]
	c.endpoint += commandLabel(cmd)
	switch cmd {
	case "":
		s.v11Simple(c, f)
	case "INIT":
		f.media.remove()
		s.v11Init(c, f)
	case "APPEND":
		s.v11Append(c, f)
	case "FINALIZE":
		f.media.remove()
		s.v11Finalize(c, f)
	default:
		f.media.remove()
		if !c.take("v1.1 upload image") {
			return
		}
		c.v11Legacy(http.StatusBadRequest, fmt.Sprintf("Invalid command %q: want INIT, APPEND or FINALIZE (STATUS is a GET).", cmd))
	}
}

func (s *Server) v11Simple(c *call, f *uploadForm) {
	if !c.take("v1.1 upload image") {
		f.media.remove()
		return
	}
	if f.media == nil || f.extra > 0 {
		f.media.remove()
		c.missing("media")
		return
	}
	category := ""
	if raw, ok := f.fields["media_category"]; ok {
		var known bool
		if category, known = normalizeCategoryV11(raw); !known {
			f.media.remove()
			c.v11Legacy(http.StatusBadRequest, "Invalid media_category "+raw)
			return
		}
		// "For certain types of data (tweet_gif, tweet_video and
		// amplify_video), you need to use the chunked upload end-point."
		if k := categories[category]; k == kindVideo || k == kindGIF {
			f.media.remove()
			c.v11Legacy(http.StatusBadRequest, "media_category "+category+" needs the chunked upload (INIT/APPEND/FINALIZE).")
			return
		}
	}
	owners, err := parseOwners(f.fields["additional_owners"])
	if err != nil {
		f.media.remove()
		c.v11Legacy(http.StatusBadRequest, flowMessage(err))
		return
	}
	m, problem, err := s.oneShot(v11, f.media, category, owners, false)
	switch {
	case err != nil:
		c.v11MediaError(err)
		return
	case problem != nil:
		c.v11Legacy(http.StatusBadRequest, "media type unrecognized.")
		return
	}
	if m.kind == kindVideo || m.kind == kindSubtitles {
		s.drop(m)
		c.v11Legacy(http.StatusBadRequest, "media type unrecognized.")
		return
	}
	c.v11JSON(http.StatusOK, s.v11MediaBody(m, false))
}

// drop forgets a media id at once.
func (s *Server) drop(m *media) {
	s.mu.Lock()
	delete(s.media, m.id)
	s.mu.Unlock()
	m.release()
}

func (s *Server) v11Init(c *call, f *uploadForm) {
	mt := f.fields["media_type"]
	k := kindOfType(mt)
	bucket := "v1.1 upload image"
	if k == kindVideo {
		bucket = "v1.1 upload video"
	}
	if !c.take(bucket) {
		return
	}
	tb, ok := f.fields["total_bytes"]
	switch {
	case !ok:
		c.missing("total_bytes")
		return
	case mt == "":
		c.missing("media_type")
		return
	case k == "":
		c.v11Legacy(http.StatusBadRequest, "media type unrecognized.")
		return
	}
	total, err := strconv.ParseInt(tb, 10, 64)
	if err != nil || total < 0 {
		c.v11Legacy(http.StatusBadRequest, "total_bytes must be a non-negative integer.")
		return
	}
	category := ""
	if raw, ok := f.fields["media_category"]; ok && raw != "" {
		var known bool
		if category, known = normalizeCategoryV11(raw); !known {
			c.v11Legacy(http.StatusBadRequest, "Invalid media_category "+raw)
			return
		}
		if !categoryFits(category, k) {
			c.v11Legacy(http.StatusBadRequest, fmt.Sprintf("media_category %s does not take media_type %s.", category, mt))
			return
		}
	}
	if lim := maxBytes(k, category); total > lim {
		c.v11Legacy(http.StatusBadRequest, fmt.Sprintf("This file is too large. Max size is %dB. Got: %dB.", lim, total))
		return
	}
	owners, err := parseOwners(f.fields["additional_owners"])
	if err != nil {
		c.v11Legacy(http.StatusBadRequest, flowMessage(err))
		return
	}
	m := &media{api: v11, mediaType: mt, kind: k, category: category, totalBytes: total, owners: owners}
	s.create(m)
	c.mediaID = m.id
	c.v11JSON(http.StatusAccepted, s.v11MediaBody(m, true))
}

func (s *Server) v11Append(c *call, f *uploadForm) {
	c.mediaID = f.fields["media_id"]
	if !c.take("v1.1 append") {
		f.media.remove()
		return
	}
	si, hasIdx := f.fields["segment_index"]
	switch {
	case c.mediaID == "":
		f.media.remove()
		c.missing("media_id")
		return
	case !hasIdx:
		f.media.remove()
		c.missing("segment_index")
		return
	case f.media == nil || f.extra > 0:
		f.media.remove()
		c.missing("media")
		return
	}
	idx, err := parseSegmentIndex(si)
	if err != nil {
		f.media.remove()
		c.v11Legacy(http.StatusBadRequest, flowMessage(err))
		return
	}
	if f.media.size > maxV11SegmentBytes {
		f.media.remove()
		c.empty(http.StatusRequestEntityTooLarge)
		return
	}
	m, err := s.lookup(c.mediaID)
	if err != nil {
		f.media.remove()
		c.v11MediaError(err)
		return
	}
	if err := s.putSegment(m, idx, f.media); err != nil {
		c.v11MediaError(err)
		return
	}
	h := c.w.Header()
	h.Set("x-segmentcount", "0")
	h.Set("x-totalbytes", "0")
	c.empty(http.StatusNoContent)
}

func (s *Server) v11Finalize(c *call, f *uploadForm) {
	c.mediaID = f.fields["media_id"]
	if !c.take("v1.1 finalize") {
		return
	}
	if c.mediaID == "" {
		c.missing("media_id")
		return
	}
	m, err := s.lookup(c.mediaID)
	if err != nil {
		c.v11MediaError(err)
		return
	}
	// v1.1 processes asynchronously only when INIT named a category.
	problem, err := s.finalize(c.r.Context(), m, m.category != "")
	if err != nil {
		c.v11MediaError(err)
		return
	}
	if problem != nil {
		c.v11Legacy(http.StatusBadRequest, "media type unrecognized.")
		return
	}
	status := http.StatusCreated
	if m.async {
		status = http.StatusOK
		c.mediaID = ""
	}
	c.v11JSON(status, s.v11MediaBody(m, false))
}

// v11Status serves GET /1.1/media/upload.json?command=STATUS&media_id=.
func (s *Server) v11Status(c *call) {
	q := c.r.URL.Query()
	c.endpoint += commandLabel(q.Get("command"))
	if !c.take("v1.1 status") {
		return
	}
	if q.Get("command") != "STATUS" {
		c.v11Legacy(http.StatusBadRequest, "Invalid command: GET takes command=STATUS.")
		return
	}
	c.mediaID = q.Get("media_id")
	if c.mediaID == "" {
		c.missing("media_id")
		return
	}
	m, err := s.lookup(c.mediaID)
	if err != nil {
		c.v11MediaError(err)
		return
	}
	if err := s.awaitFinalize(c.r.Context(), m); err != nil {
		c.v11MediaError(err)
		return
	}
	s.mu.Lock()
	final, async := m.phase == phaseFinal, m.async
	s.mu.Unlock()
	if !final || !async {
		// Only media whose FINALIZE returned processing_info has a status
		// (API.md §1.5 pitfall c).
		c.mediaID = ""
		c.v11Error(http.StatusNotFound, 34, "Sorry, that page does not exist.")
		return
	}
	c.mediaID = ""
	c.v11JSON(http.StatusOK, s.v11MediaBody(m, false))
}

// v11Metadata serves POST /1.1/media/metadata/create.json (alt text).
func (s *Server) v11Metadata(c *call) {
	if !c.take("v1.1 metadata") {
		return
	}
	mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" && mt != "text/plain" {
		c.v11Legacy(http.StatusBadRequest, "Content-Type must be application/json or text/plain.")
		return
	}
	var req struct {
		MediaID string `json:"media_id"`
		AltText *struct {
			Text string `json:"text"`
		} `json:"alt_text"`
	}
	if err := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20)).Decode(&req); err != nil {
		c.v11Legacy(http.StatusBadRequest, "Request body is not valid JSON.")
		return
	}
	c.mediaID = req.MediaID
	switch {
	case req.MediaID == "":
		c.missing("media_id")
		return
	case req.AltText == nil:
		c.missing("alt_text")
		return
	}
	if n := utf8.RuneCountInString(req.AltText.Text); n > maxAltText {
		c.v11Legacy(http.StatusBadRequest, fmt.Sprintf("alt_text.text must be <= %d chars; got %d.", maxAltText, n))
		return
	}
	m, err := s.lookup(req.MediaID)
	if err != nil {
		c.v11MediaError(err)
		return
	}
	s.mu.Lock()
	ok := m.phase == phaseFinal && (m.kind == kindImage || m.kind == kindGIF)
	if ok {
		m.altText = req.AltText.Text
	}
	s.mu.Unlock()
	c.mediaID = ""
	if !ok {
		c.v11Legacy(http.StatusBadRequest, "Alt text is supported only for finalized images and GIFs.")
		return
	}
	c.empty(http.StatusOK)
}

// v11VerifyCredentials serves GET /1.1/account/verify_credentials.json.
func (s *Server) v11VerifyCredentials(c *call) {
	if !c.take("v1.1 verify") {
		return
	}
	id := s.userID()
	n, _ := strconv.ParseInt(id, 10, 64)
	c.v11JSON(http.StatusOK, map[string]any{"id": n, "id_str": id, "name": "mediasync emulator", "screen_name": "mediasync_emulator"})
}
