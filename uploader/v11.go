package uploader

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// v11 speaks the v1.1 protocol on one URL (API.md §1): INIT and FINALIZE as
// bare urlencoded forms (so OAuth 1.0a signs their parameters), APPEND and
// the simple upload as multipart (fields unsigned), STATUS by GET with the
// query signed, alt text through metadata/create.json.
type v11 struct{ c *Client }

var _ protocol = v11{}

const v11Upload = "/1.1/media/upload.json"

// v11InitBucket names the rate-limit budget of a v1.1 INIT (API.md §1.9):
// an INIT of anything but a video spends the simple upload's budget (one
// bucket, remaining decremented across both), a video INIT has its own.
func v11InitBucket(mediaType string) string {
	if strings.HasPrefix(mediaType, "video/") {
		return "INIT video"
	}
	return "UPLOAD"
}

func (p v11) simple(ctx context.Context, r io.ReaderAt, m Media) (mediaInfo, error) {
	fields := []field{{"media_category", m.Category}}
	if len(m.AdditionalOwners) > 0 {
		fields = append(fields, field{"additional_owners", joinOwners(m.AdditionalOwners)})
	}
	req, err := p.c.multipartReq(v11Upload, fields, m, r, 0, m.Size, m.Sums.whole())
	if err != nil {
		return mediaInfo{}, err
	}
	var info mediaInfo
	if err := p.c.do(ctx, "UPLOAD", req, &info); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("UPLOAD", info, nil)
}

func (p v11) initialize(ctx context.Context, m Media) (mediaInfo, error) {
	vals := url.Values{
		"command":     {"INIT"},
		"total_bytes": {strconv.FormatInt(m.Size, 10)},
		"media_type":  {m.Type},
	}
	if m.Category != "" {
		vals.Set("media_category", m.Category)
	}
	if len(m.AdditionalOwners) > 0 {
		vals.Set("additional_owners", joinOwners(m.AdditionalOwners))
	}
	if m.Shared {
		vals.Set("shared", "true")
	}
	var info mediaInfo
	if err := p.c.doIn(ctx, "INIT", v11InitBucket(m.Type), p.c.formReq(v11Upload, vals), &info); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("INIT", info, nil)
}

func (p v11) appendSegment(ctx context.Context, id string, r io.ReaderAt, m Media, s segment) error {
	req, err := p.c.multipartReq(v11Upload, []field{
		{"command", "APPEND"},
		{"media_id", id},
		{"segment_index", strconv.Itoa(s.index)},
	}, m, r, s.off, s.n, s.sum)
	if err != nil {
		return err
	}
	return p.c.do(ctx, "APPEND", req, nil)
}

func (p v11) finalize(ctx context.Context, id string) (mediaInfo, error) {
	var info mediaInfo
	vals := url.Values{"command": {"FINALIZE"}, "media_id": {id}}
	if err := p.c.do(ctx, "FINALIZE", p.c.formReq(v11Upload, vals), &info); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("FINALIZE", info, nil)
}

func (p v11) status(ctx context.Context, id string) (mediaInfo, error) {
	q := url.Values{"command": {"STATUS"}, "media_id": {id}}
	var info mediaInfo
	if err := p.c.do(ctx, "STATUS", p.c.emptyReq(http.MethodGet, v11Upload+"?"+q.Encode()), &info); err != nil {
		return mediaInfo{}, err
	}
	return decodeInfo("STATUS", info, nil)
}

func (p v11) setAltText(ctx context.Context, id, text string) error {
	req, err := p.c.jsonReq("/1.1/media/metadata/create.json", "application/json; charset=UTF-8", struct {
		MediaID string  `json:"media_id"`
		AltText altText `json:"alt_text"`
	}{id, altText{text}})
	if err != nil {
		return err
	}
	return p.c.do(ctx, "METADATA", req, nil)
}

func (p v11) verify(ctx context.Context) (string, error) {
	var u struct {
		ScreenName string `json:"screen_name"`
	}
	if err := p.c.do(ctx, "VERIFY", p.c.emptyReq(http.MethodGet, "/1.1/account/verify_credentials.json"), &u); err != nil {
		return "", err
	}
	return u.ScreenName, nil
}
