package uploader

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// v2 speaks the X API v2 media endpoints (API.md §4): JSON initialize,
// multipart append to /2/media/upload/{id}/append, bodiless finalize, STATUS
// by GET, one-shot multipart upload, JSON metadata.
type v2 struct{ c *Client }

var _ protocol = v2{}

type v2Envelope struct {
	Data   mediaInfo         `json:"data"`
	Errors []json.RawMessage `json:"errors"`
}

func (p v2) simple(ctx context.Context, r io.ReaderAt, m Media) (mediaInfo, error) {
	fields := []field{{"media_category", m.Category}}
	if len(m.AdditionalOwners) > 0 {
		fields = append(fields, field{"additional_owners", joinOwners(m.AdditionalOwners)})
	}
	req, err := p.c.multipartReq("/2/media/upload", fields, m, r, 0, m.Size, m.Sums.whole())
	if err != nil {
		return mediaInfo{}, err
	}
	var env v2Envelope
	if err := p.c.do(ctx, "UPLOAD", req, &env); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("UPLOAD", env.Data, env.Errors)
}

type v2InitBody struct {
	MediaType        string   `json:"media_type"`
	TotalBytes       int64    `json:"total_bytes"`
	MediaCategory    string   `json:"media_category,omitempty"`
	AdditionalOwners []string `json:"additional_owners,omitempty"`
	Shared           bool     `json:"shared,omitempty"`
}

func (p v2) initialize(ctx context.Context, m Media) (mediaInfo, error) {
	req, err := p.c.jsonReq("/2/media/upload/initialize", "application/json", v2InitBody{
		MediaType: m.Type, TotalBytes: m.Size, MediaCategory: m.Category,
		AdditionalOwners: m.AdditionalOwners, Shared: m.Shared,
	})
	if err != nil {
		return mediaInfo{}, err
	}
	var env v2Envelope
	if err := p.c.do(ctx, "INIT", req, &env); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("INIT", env.Data, env.Errors)
}

func (p v2) appendSegment(ctx context.Context, id string, r io.ReaderAt, m Media, s segment) error {
	req, err := p.c.multipartReq("/2/media/upload/"+url.PathEscape(id)+"/append",
		[]field{{"segment_index", strconv.Itoa(s.index)}}, m, r, s.off, s.n, s.sum)
	if err != nil {
		return err
	}
	return p.c.do(ctx, "APPEND", req, nil)
}

func (p v2) finalize(ctx context.Context, id string) (mediaInfo, error) {
	var env v2Envelope
	if err := p.c.do(ctx, "FINALIZE", p.c.emptyReq(http.MethodPost, "/2/media/upload/"+url.PathEscape(id)+"/finalize"), &env); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("FINALIZE", env.Data, env.Errors)
}

func (p v2) status(ctx context.Context, id string) (mediaInfo, error) {
	q := url.Values{"command": {"STATUS"}, "media_id": {id}}
	var env v2Envelope
	if err := p.c.do(ctx, "STATUS", p.c.emptyReq(http.MethodGet, "/2/media/upload?"+q.Encode()), &env); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("STATUS", env.Data, env.Errors)
}

type altText struct {
	Text string `json:"text"`
}

func (p v2) setAltText(ctx context.Context, id, text string) error {
	body := struct {
		ID       string `json:"id"`
		Metadata struct {
			AltText altText `json:"alt_text"`
		} `json:"metadata"`
	}{ID: id}
	body.Metadata.AltText.Text = text
	req, err := p.c.jsonReq("/2/media/metadata", "application/json", body)
	if err != nil {
		return err
	}
	return p.c.do(ctx, "METADATA", req, nil)
}

func (p v2) verify(ctx context.Context) (string, error) {
	var env struct {
		Data struct {
			Username string `json:"username"`
			Name     string `json:"name"`
		} `json:"data"`
	}
	if err := p.c.do(ctx, "VERIFY", p.c.emptyReq(http.MethodGet, "/2/users/me"), &env); err != nil {
		return "", err
	}
	if env.Data.Username != "" {
		return env.Data.Username, nil
	}
	return env.Data.Name, nil
}
