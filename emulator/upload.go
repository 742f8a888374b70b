package emulator

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
)

// uploadForm is the parsed body of a request that may carry media bytes.
type uploadForm struct {
	fields map[string]string
	media  *blob  // the media or media_data part, decoded; nil if none
	field  string // "media" or "media_data"
	extra  int    // media parts beyond the first (refused by handlers)
}

const (
	maxFieldBytes = 64 << 10
	maxParts      = 64
)

// errV2ContentType is what X's v2 edge says about a body that is neither JSON
// nor a properly formed multipart/form-data (API.md §3.3).
var errV2ContentType = &flowError{"Requests with bodies must have content-type of application/json."}

// readUpload parses the body: a form (already in c.form), multipart/form-data,
// or (v2) JSON with base64 media. Media beyond limit bytes gives errTooLarge.
// v1.1 also takes parameters from the query string.
func (c *call) readUpload(limit int64) (*uploadForm, error) {
	s, r := c.s, c.r
	f := &uploadForm{fields: make(map[string]string)}
	if c.ver == v11 {
		for k, v := range r.URL.Query() {
			if !strings.HasPrefix(k, "oauth_") && len(v) > 0 {
				f.fields[k] = v[0]
			}
		}
	}
	ct := r.Header.Get("Content-Type")
	t0 := s.now()
	defer func() { c.bodyTime += s.now().Sub(t0) }()
	switch {
	case c.form != nil:
		for k, v := range c.form {
			if strings.HasPrefix(k, "oauth_") || len(v) == 0 {
				continue
			}
			switch k {
			case "media_data":
				b, err := newBlob(base64.NewDecoder(base64.StdEncoding, strings.NewReader(v[0])), limit, s.storeDir, s.inMemory)
				if err != nil {
					return nil, bodyErr(err, "media_data")
				}
				f.media, f.field = b, k
			case "media":
				b, err := newBlob(strings.NewReader(v[0]), limit, s.storeDir, s.inMemory)
				if err != nil {
					return nil, bodyErr(err, "media")
				}
				f.media, f.field = b, k
			default:
				f.fields[k] = v[0]
			}
		}
		return f, nil
	case ct == "" && (r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody):
		return f, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil && c.ver == v11 && strings.Contains(ct, ",") {
		// v1.1 took "multipart/form-data, boundary=..." (twurl); v2 does not.
		mt, params, err = mime.ParseMediaType(strings.Replace(ct, ",", ";", 1))
	}
	if err != nil {
		if c.ver == v2 {
			return nil, errV2ContentType
		}
		return nil, &flowError{"malformed Content-Type"}
	}
	body := http.MaxBytesReader(c.w, r.Body, limit*4/3+1<<20)
	switch {
	case mt == "multipart/form-data":
		if params["boundary"] == "" {
			if c.ver == v2 {
				return nil, errV2ContentType
			}
			return nil, &flowError{"multipart body without a boundary"}
		}
		err := c.readMultipart(f, body, params["boundary"], limit)
		if err != nil {
			f.media.remove()
			return nil, err
		}
		return f, nil
	case mt == "application/json" && c.ver == v2:
		var j map[string]json.RawMessage
		if err := json.NewDecoder(body).Decode(&j); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, errTooLarge
			}
			return nil, &flowError{"Request body is not valid JSON."}
		}
		for k, raw := range j {
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				str = string(raw) // numbers (segment_index), arrays (additional_owners)
			}
			if k == "media" {
				b, err := newBlob(base64.NewDecoder(base64.StdEncoding, strings.NewReader(str)), limit, s.storeDir, s.inMemory)
				if err != nil {
					return nil, bodyErr(err, "media")
				}
				f.media, f.field = b, "media"
				continue
			}
			f.fields[k] = str
		}
		return f, nil
	}
	if c.ver == v2 {
		return nil, errV2ContentType
	}
	return nil, &flowError{"unsupported Content-Type " + mt}
}

func (c *call) readMultipart(f *uploadForm, body io.Reader, boundary string, limit int64) error {
	s := c.s
	mr := multipart.NewReader(body, boundary)
	for n := 0; ; n++ {
		if n >= maxParts {
			return &flowError{"too many multipart parts"}
		}
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errTooLarge
			}
			return &flowError{"malformed multipart body"}
		}
		name := p.FormName()
		switch name {
		case "media", "media_data":
			var src io.Reader = p
			if name == "media_data" {
				src = base64.NewDecoder(base64.StdEncoding, p)
			}
			b, err := newBlob(src, limit, s.storeDir, s.inMemory)
			if err != nil {
				return bodyErr(err, name)
			}
			if f.media != nil {
				f.extra++
				b.remove()
			} else {
				f.media, f.field = b, name
			}
		default:
			v, err := io.ReadAll(io.LimitReader(p, maxFieldBytes+1))
			if err != nil {
				return &flowError{"malformed multipart body"}
			}
			if len(v) > maxFieldBytes {
				return &flowError{fmt.Sprintf("multipart field %q too large", name)}
			}
			f.fields[name] = string(v)
		}
	}
}

// bodyErr classifies an error reading media bytes.
func bodyErr(err error, field string) error {
	var mbe *http.MaxBytesError
	var cie base64.CorruptInputError
	switch {
	case errors.Is(err, errTooLarge), errors.As(err, &mbe):
		return errTooLarge
	case errors.As(err, &cie):
		return &flowError{field + " is not valid base64"}
	}
	return &flowError{"reading " + field + ": " + err.Error()}
}

// parseOwners parses additional_owners: comma-separated user ids (v1.1 and
// v2 one-shot) or a JSON array (v2 initialize, arriving here as raw JSON).
func parseOwners(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var list []string
	if strings.HasPrefix(s, "[") {
		if err := json.Unmarshal([]byte(s), &list); err != nil {
			return nil, errOwnerNotNumber
		}
	} else {
		list = strings.Split(s, ",")
	}
	if len(list) > maxOwners {
		return nil, errTooManyOwners
	}
	for i, o := range list {
		o = strings.TrimSpace(o)
		if _, err := strconv.ParseUint(o, 10, 64); err != nil {
			return nil, errOwnerNotNumber
		}
		list[i] = o
	}
	return list, nil
}

// parseSegmentIndex parses segment_index; 0..999.
func parseSegmentIndex(s string) (int, error) {
	i, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || i < 0 || i >= maxSegments {
		return 0, errSegmentIndex
	}
	return i, nil
}
