package emulator

import (
	"bufio"
	"bytes"
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
	"sync"
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
	jsonOverhead  = 64 << 10 // JSON syntax and fields around base64 media

	// bodyBufferSize is the read buffer beneath a multipart body and the
	// write buffer of a stored part: large enough that a 4 MiB segment costs
	// a few dozen system calls each way rather than thousands.
	bodyBufferSize = 256 << 10
)

// bodyReaders holds the read buffers beneath multipart bodies.
var bodyReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, bodyBufferSize) }}

// maxJSONBody is the largest v2 JSON body that may carry mediaBytes of
// base64-encoded media.
func maxJSONBody(mediaBytes int64) int64 {
	return (mediaBytes+2)/3*4 + jsonOverhead
}

// errV2ContentType is what X's v2 edge says about a body that is neither JSON
// nor a properly formed multipart/form-data (API.md §3.3).
var errV2ContentType = &flowError{"Requests with bodies must have content-type of application/json."}

// readUpload parses the body. v1.1 takes a form (already in c.form, with
// media or base64 media_data) or multipart/form-data (media or media_data
// part), and parameters from the query string. v2 takes only a proper
// multipart/form-data with a media part, or JSON with base64 media of at
// most jsonLimit bytes (the body is capped at maxJSONBody(jsonLimit));
// anything else gets X's content-type problem. Media beyond limit bytes, or
// a JSON body beyond its cap, gives errTooLarge.
func (c *call) readUpload(limit, jsonLimit int64) (*uploadForm, error) {
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
	case c.form != nil && c.ver == v2:
		// X's v2 upload endpoints take no form-urlencoded bodies.
		return nil, errV2ContentType
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
		if err := c.readJSONUpload(f, min(limit, jsonLimit)); err != nil {
			f.media.remove()
			return nil, err
		}
		return f, nil
	}
	if c.ver == v2 {
		return nil, errV2ContentType
	}
	return nil, &flowError{"unsupported Content-Type " + mt}
}

// jsonValue is one raw JSON value of a body. It aliases the body buffer
// (encoding/json hands an Unmarshaler a slice of its input), which
// readJSONUpload owns and never modifies, so base64 media is decoded
// straight from the body without being copied first.
type jsonValue []byte

func (v *jsonValue) UnmarshalJSON(b []byte) error {
	*v = b
	return nil
}

// readJSONUpload reads a v2 JSON body whose "media" is base64 of at most
// limit bytes. The body is read once into one buffer of its size; media is
// decoded from that buffer into its blob.
func (c *call) readJSONUpload(f *uploadForm, limit int64) error {
	s, r := c.s, c.r
	maxBody := maxJSONBody(limit)
	if r.ContentLength > maxBody {
		return errTooLarge
	}
	body := http.MaxBytesReader(c.w, r.Body, maxBody)
	var buf []byte
	var err error
	if r.ContentLength > 0 {
		buf = make([]byte, r.ContentLength)
		_, err = io.ReadFull(body, buf)
	} else {
		buf, err = io.ReadAll(body)
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return &flowError{"Request body could not be read."}
	}
	var j map[string]jsonValue
	if err := json.Unmarshal(buf, &j); err != nil {
		return &flowError{"Request body is not valid JSON."}
	}
	for k, raw := range j {
		if k != "media" {
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				str = string(raw) // numbers (segment_index), arrays (additional_owners)
			}
			f.fields[k] = str
			continue
		}
		if len(raw) < 2 || raw[0] != '"' {
			return &flowError{"media must be a base64 string"}
		}
		src := []byte(raw[1 : len(raw)-1])
		if bytes.IndexByte(src, '\\') >= 0 {
			// Escapes ("\/") are legal JSON in base64 text; unescape (rare: a copy).
			var str string
			if err := json.Unmarshal(raw, &str); err != nil {
				return &flowError{"Request body is not valid JSON."}
			}
			src = []byte(str)
		}
		b, err := decodeBase64Blob(src, limit, s.storeDir, s.inMemory)
		if err != nil {
			return bodyErr(err, "media")
		}
		f.media, f.field = b, "media"
	}
	return nil
}

// decodeBase64Blob stores the media that src holds in base64; in memory it
// decodes into one buffer of at most the decoded size (src, a JSON body
// under its cap, bounds it).
func decodeBase64Blob(src []byte, limit int64, dir string, inMemory bool) (*blob, error) {
	if !inMemory {
		return newBlob(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(src)), limit, dir, false)
	}
	data := make([]byte, base64.StdEncoding.DecodedLen(len(src)))
	n, err := base64.StdEncoding.Decode(data, src)
	if err != nil {
		return nil, err
	}
	if int64(n) > limit {
		return nil, errTooLarge
	}
	return &blob{data: data[:n], size: int64(n)}, nil
}

func (c *call) readMultipart(f *uploadForm, body io.Reader, boundary string, limit int64) error {
	s := c.s
	// multipart reads through a 4 KiB buffer; a larger one beneath it turns
	// a 4 MiB segment into a few dozen reads of the socket, not a thousand.
	br := bodyReaders.Get().(*bufio.Reader)
	br.Reset(body)
	defer func() { br.Reset(nil); bodyReaders.Put(br) }()
	mr := multipart.NewReader(br, boundary)
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
		if name == "media_data" && c.ver == v2 {
			// v2 takes raw bytes in a media part only; a media_data part
			// is ignored, so the request lacks its media.
			if _, err := io.Copy(io.Discard, p); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return errTooLarge
				}
				return &flowError{"malformed multipart body"}
			}
			continue
		}
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
