package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"
)

// v2MediaBody is data{} of FINALIZE, STATUS and one-shot answers.
func (s *Server) v2MediaBody(m *media) map[string]any {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	d := map[string]any{
		"id":                 m.id,
		"media_key":          m.key,
		"size":               m.size,
		"expires_after_secs": secondsLeft(m.expires, now),
	}
	if _, pi := m.state(now); pi != nil {
		d["processing_info"] = pi
	}
	if !m.async && (m.kind == kindImage || m.kind == kindGIF) && m.width > 0 {
		d["image"] = map[string]any{"image_type": m.detected, "w": m.width, "h": m.height}
	}
	return d
}

// v2MediaError answers an error of the chunked flow.
func (c *call) v2MediaError(err error, param string) {
	switch {
	case !isFlowError(err) && c.r.Context().Err() != nil:
		c.w.status = 499 // the client went away while the request waited
	case errors.Is(err, errTooLarge):
		c.empty(http.StatusRequestEntityTooLarge)
	case errors.Is(err, errUnknownMedia), errors.Is(err, errExpiredMedia):
		c.invalid(param, fmt.Sprintf("The media_id %q is invalid or expired.", c.mediaID))
	case errors.Is(err, errNotUploading), errors.Is(err, errFinalizing):
		c.invalid(param, fmt.Sprintf("The media_id %q is already finalized.", c.mediaID))
	case isFlowError(err):
		c.invalid(param, flowMessage(err))
	default:
		c.internal(err)
	}
}

// decodeStrict decodes a JSON body into v, refusing unknown keys.
func (c *call) decodeStrict(v any) error {
	if mt, _, err := mime.ParseMediaType(c.r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return errV2ContentType
	}
	dec := json.NewDecoder(io.LimitReader(c.r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &flowError{"Request body is not valid JSON: " + err.Error()}
	}
	if dec.More() {
		return &flowError{"Request body is not valid JSON: trailing data"}
	}
	return nil
}

// v2Initialize serves POST /2/media/upload/initialize.
func (s *Server) v2Initialize(c *call) {
	if !c.take("v2 initialize") {
		return
	}
	var req struct {
		MediaType        *string         `json:"media_type"`
		TotalBytes       *int64          `json:"total_bytes"`
		MediaCategory    *string         `json:"media_category"`
		AdditionalOwners json.RawMessage `json:"additional_owners"`
		Shared           *bool           `json:"shared"`
	}
	if err := c.decodeStrict(&req); err != nil {
		c.v2MediaError(err, "")
		return
	}
	switch {
	case req.MediaType == nil:
		c.invalid("media_type", "The `media_type` query parameter can not be empty")
		return
	case req.TotalBytes == nil:
		c.invalid("total_bytes", "The `total_bytes` query parameter can not be empty")
		return
	}
	mt := *req.MediaType
	k, ok := v2MediaTypes[mt]
	if !ok {
		c.invalid("media_type", fmt.Sprintf("The `media_type` query parameter value [%s] is not one of [video/mp4,video/webm,video/mp2t,video/quicktime,text/srt,text/vtt,image/jpeg,image/gif,image/bmp,image/png,image/webp,image/pjpeg,image/tiff,model/gltf-binary,model/vnd.usdz+zip]", mt))
		return
	}
	if k == "" {
		c.invalid("media_type", fmt.Sprintf("media_type %s is not supported by the emulator", mt))
		return
	}
	total := *req.TotalBytes
	if total < 0 || total > 17179869184 {
		c.invalid("total_bytes", fmt.Sprintf("The `total_bytes` query parameter value [%d] is not between 0 and 17179869184", total))
		return
	}
	category := ""
	if req.MediaCategory != nil {
		category = *req.MediaCategory
		if _, ok := categories[category]; !ok {
			c.invalid("media_category", fmt.Sprintf("The `media_category` query parameter value [%s] is not one of [amplify_video,tweet_gif,tweet_image,tweet_video,dm_gif,dm_image,dm_video,subtitles]", category))
			return
		}
		if !categoryFits(category, k) {
			c.invalid("media_category", fmt.Sprintf("media_category %s does not take media_type %s", category, mt))
			return
		}
	}
	if lim := maxBytes(k, category); total > lim {
		c.invalid("total_bytes", fmt.Sprintf("This file is too large. Max size is %dB. Got: %dB.", lim, total))
		return
	}
	var owners []string
	if len(req.AdditionalOwners) > 0 {
		var err error
		if owners, err = parseOwners(string(req.AdditionalOwners)); err != nil {
			c.invalid("additional_owners", flowMessage(err))
			return
		}
	}
	if category == "" {
		category = defaultCategory(k)
	}
	m := &media{api: v2, mediaType: mt, kind: k, category: category, totalBytes: total, owners: owners}
	s.create(m)
	c.v2Data(http.StatusOK, map[string]any{"id": m.id, "media_key": m.key, "expires_after_secs": int(expiresAfter.Seconds())})
}

// v2Append serves POST /2/media/upload/{id}/append.
func (s *Server) v2Append(c *call) {
	c.endpoint = "POST /2/media/upload/{id}/append"
	c.mediaID = c.r.PathValue("id")
	if !c.take("v2 append") {
		return
	}
	m, err := s.lookup(c.mediaID)
	if err != nil {
		c.v2MediaError(err, "id")
		return
	}
	f, si, ok := c.v2ReadMedia(maxV2SegmentBytes, maxV2SegmentBytes, "segment_index")
	if !ok {
		return
	}
	idx, err := parseSegmentIndex(si)
	if err != nil {
		f.media.remove()
		c.invalid("segment_index", flowMessage(err))
		return
	}
	if err := s.putSegment(m, idx, f.media); err != nil {
		c.v2MediaError(err, "id")
		return
	}
	c.v2Data(http.StatusOK, map[string]any{"expires_at": m.expires.Unix()})
}

// v2Finalize serves POST /2/media/upload/{id}/finalize.
func (s *Server) v2Finalize(c *call) {
	c.endpoint = "POST /2/media/upload/{id}/finalize"
	c.mediaID = c.r.PathValue("id")
	if !c.take("v2 finalize") {
		return
	}
	m, err := s.lookup(c.mediaID)
	if err != nil {
		c.v2MediaError(err, "id")
		return
	}
	problem, err := s.finalize(c.r.Context(), m, true)
	if err != nil {
		c.v2MediaError(err, "id")
		return
	}
	if problem != nil {
		c.invalid("", "media type unrecognized.")
		return
	}
	c.v2Data(http.StatusOK, s.v2MediaBody(m))
}

// v2Status serves GET /2/media/upload?command=STATUS&media_id=: the media's
// state while and after it is processed; 400 for media without processing.
func (s *Server) v2Status(c *call) {
	if !c.take("v2 status") {
		return
	}
	q := c.r.URL.Query()
	if cmd := q.Get("command"); cmd != "" && cmd != "STATUS" {
		c.invalid("command", fmt.Sprintf("The `command` query parameter value [%s] is not one of [STATUS]", cmd))
		return
	}
	c.mediaID = q.Get("media_id")
	if c.mediaID == "" {
		c.invalid("media_id", "The `media_id` query parameter can not be empty")
		return
	}
	m, err := s.lookup(c.mediaID)
	if err != nil {
		c.v2MediaError(err, "media_id")
		return
	}
	if err := s.awaitFinalize(c.r.Context(), m); err != nil {
		c.v2MediaError(err, "media_id")
		return
	}
	s.mu.Lock()
	final, processed := m.phase == phaseFinal, m.async
	s.mu.Unlock()
	if !final {
		c.invalid("media_id", fmt.Sprintf("The media_id %q has not been finalized.", c.mediaID))
		return
	}
	if !processed {
		// Media that needed no processing (images, subtitles: FINALIZE gave
		// no processing_info) has no status at X. Its answer, recorded in
		// xdevplatform/xurl#18 (2025-03-14) for a tweet_image:
		// {"errors":[{"message":"BadRequest: Not found"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}
		// (v1.1 answers 404 code 34 instead: API.md §1.5 c.)
		c.invalid("", "BadRequest: Not found")
		return
	}
	c.v2Data(http.StatusOK, s.v2MediaBody(m))
}

// v2OneShot serves POST /2/media/upload: the whole file in one request.
func (s *Server) v2OneShot(c *call) {
	if !c.take("v2 upload") {
		return
	}
	if q := c.r.URL.Query(); q.Has("command") {
		c.invalid("command", "the command-style upload (command=INIT|APPEND|FINALIZE) is retired; use /2/media/upload/initialize, /{id}/append and /{id}/finalize")
		return
	}
	f, category, ok := c.v2ReadMedia(maxVideoBytes, maxImageBytes, "media_category")
	if !ok {
		return
	}
	if _, known := categories[category]; !known {
		f.media.remove()
		c.invalid("media_category", fmt.Sprintf("The `media_category` parameter value [%s] is not one of [amplify_video,tweet_gif,tweet_image,tweet_video,dm_gif,dm_image,dm_video,subtitles]", category))
		return
	}
	owners, err := parseOwners(f.fields["additional_owners"])
	if err != nil {
		f.media.remove()
		c.invalid("additional_owners", flowMessage(err))
		return
	}
	m, problem, err := s.oneShot(v2, f.media, category, owners, true)
	switch {
	case errors.Is(err, errTooLarge):
		c.empty(http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		c.v2MediaError(err, "")
		return
	case problem != nil:
		c.invalid("media", "media type unrecognized.")
		return
	}
	c.mediaID = m.id
	c.v2Data(http.StatusOK, s.v2MediaBody(m))
}

// oneShot analyses a whole upload and registers it as a finalized media id.
// category "" means none was given (v1.1); the bytes then decide.
func (s *Server) oneShot(ver apiVersion, b *blob, category string, owners []string, allowAsync bool) (*media, *procError, error) {
	a, err := s.analyzeBlobs([]*blob{b}, b.size, "")
	if err != nil {
		b.remove()
		return nil, nil, err
	}
	if a.problem != nil {
		b.remove()
		return nil, a.problem, nil
	}
	if category != "" && !categoryFits(category, a.kind) {
		b.remove()
		return nil, invalidMedia("file is invalid"), nil
	}
	if b.size > maxBytes(a.kind, category) {
		b.remove()
		return nil, nil, errTooLarge
	}
	m := &media{api: ver, mediaType: a.detected, kind: a.kind, category: category, totalBytes: b.size, owners: owners}
	s.create(m)
	now := s.now()
	s.mu.Lock()
	m.phase, m.ordered = phaseFinal, []*blob{b}
	m.size, m.detected, m.width, m.height, m.duration = b.size, a.detected, a.width, a.height, a.duration
	m.digest = &digest{parts: m.ordered}
	m.finalizedAt = now
	m.async = allowAsync && (a.kind == kindVideo || a.kind == kindGIF && categories[category] != kindImage)
	if m.async {
		m.procTime = s.faults.ProcessingTime
		m.noCheck, m.stuck = s.faults.OmitCheckAfter, s.faults.StuckWithError
		m.failure = durationProblem(category, a.duration)
		if m.failure == nil && s.faults.FailProcessing {
			m.failure = invalidMedia("Unsupported video format")
		}
	}
	s.mu.Unlock()
	return m, nil, nil
}

// v2Metadata serves POST /2/media/metadata (alt text).
func (s *Server) v2Metadata(c *call) {
	if !c.take("v2 metadata") {
		return
	}
	var req struct {
		ID       string `json:"id"`
		Metadata struct {
			AltText *struct {
				Text string `json:"text"`
			} `json:"alt_text"`
		} `json:"metadata"`
	}
	if err := c.decodeStrict(&req); err != nil {
		c.v2MediaError(err, "")
		return
	}
	if req.ID == "" {
		c.invalid("id", "The `id` parameter can not be empty")
		return
	}
	c.mediaID = req.ID
	if req.Metadata.AltText == nil {
		c.invalid("metadata", "The `metadata.alt_text` parameter can not be empty")
		return
	}
	text := req.Metadata.AltText.Text
	if n := utf8.RuneCountInString(text); n > maxAltText {
		c.invalid("metadata.alt_text.text", fmt.Sprintf("alt text is %d characters; the maximum is %d", n, maxAltText))
		return
	}
	m, err := s.lookup(req.ID)
	if err != nil {
		c.v2MediaError(err, "id")
		return
	}
	s.mu.Lock()
	final := m.phase == phaseFinal
	if final {
		m.altText = text
	}
	s.mu.Unlock()
	if !final {
		c.invalid("id", fmt.Sprintf("The media_id %q has not been finalized.", req.ID))
		return
	}
	c.v2Data(http.StatusOK, map[string]any{"id": req.ID, "associated_metadata": map[string]any{"alt_text": map[string]string{"text": text}}})
}

// v2UsersMe serves GET /2/users/me.
func (s *Server) v2UsersMe(c *call) {
	if !c.take("v2 users me") {
		return
	}
	c.v2Data(http.StatusOK, map[string]string{"id": s.userID(), "name": "mediasync emulator", "username": "mediasync_emulator"})
}

// v2ReadMedia reads a v2 upload body (multipart, or JSON with base64 media) holding exactly one
// media part and the required field, answering X's problem and returning ok=false otherwise.
func (c *call) v2ReadMedia(limit, jsonLimit int64, required string) (*uploadForm, string, bool) {
	f, err := c.readUpload(limit, jsonLimit)
	if err != nil {
		c.v2MediaError(err, "")
		return nil, "", false
	}
	if f.media == nil || f.extra > 0 {
		f.media.remove()
		c.invalid("media", "exactly one `media` part is required")
		return nil, "", false
	}
	v, ok := f.fields[required]
	if !ok {
		f.media.remove()
		c.invalid(required, "The `"+required+"` parameter can not be empty")
		return nil, "", false
	}
	return f, v, true
}
