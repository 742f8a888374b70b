package uploader

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const userAgent = "mediasync-uploader"

// newRequest builds one attempt's request against the base URL.
func (c *Client) newRequest(a *attempt, method, path string, body io.Reader, contentType string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(a.ctx, method, c.opts.BaseURL+path, body)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	return req, nil
}

// jsonReq: a JSON body (v2 initialize, metadata). JSON bodies are not part
// of an OAuth 1.0a signature.
func (c *Client) jsonReq(path, contentType string, v any) (reqFunc, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return func(a *attempt) (*http.Request, error) {
		return c.newRequest(a, http.MethodPost, path, bytes.NewReader(data), contentType)
	}, nil
}

// formReq: an application/x-www-form-urlencoded body (v1.1 INIT, FINALIZE).
// The Content-Type is the bare string without parameters: dghubble/oauth1
// signs body parameters only on that exact value (API.md §3.2).
func (c *Client) formReq(path string, vals url.Values) reqFunc {
	data := vals.Encode()
	return func(a *attempt) (*http.Request, error) {
		return c.newRequest(a, http.MethodPost, path, strings.NewReader(data), "application/x-www-form-urlencoded")
	}
}

// emptyReq: a request without body (v2 finalize, GETs).
func (c *Client) emptyReq(method, path string) reqFunc {
	return func(a *attempt) (*http.Request, error) {
		return c.newRequest(a, method, path, http.NoBody, "")
	}
}

// multipartReq: fields plus r[off:off+n] as the file part "media", streamed
// and, when want is not nil, verified against that SHA-256 as it is sent.
// Multipart fields are never part of an OAuth 1.0a signature.
func (c *Client) multipartReq(path string, fields []field, m Media, r io.ReaderAt, off, n int64, want *digest) (reqFunc, error) {
	form, err := newMultipartForm(fields, "media", m.Name, m.Type)
	if err != nil {
		return nil, err
	}
	return func(a *attempt) (*http.Request, error) {
		body, size := form.body(a, c.bw, r, off, n, want)
		req, err := c.newRequest(a, http.MethodPost, path, body, form.contentType)
		if err != nil {
			return nil, err
		}
		req.ContentLength = size
		// Lets the transport replay the body on a fresh connection when a
		// kept-alive one turns out to be closed, instead of failing the attempt.
		req.GetBody = func() (io.ReadCloser, error) {
			b, _ := form.body(a, c.bw, r, off, n, want)
			return io.NopCloser(b), nil
		}
		return req, nil
	}, nil
}

// decodeInfo stamps the expiry of an answer just received and checks that it
// names a media id; a 2xx answer without one (but perhaps with an errors
// array) is a retryable APIError.
func decodeInfo(op string, info mediaInfo, errs []json.RawMessage) (mediaInfo, error) {
	if info.id() == "" {
		ae := &APIError{Op: op, StatusCode: http.StatusOK, Message: "answer without a media id"}
		for _, e := range errs {
			if ae.applyErrorValue(e) {
				break
			}
		}
		return info, ae
	}
	info.stamp(time.Now())
	return info, nil
}

func joinOwners(owners []string) string { return strings.Join(owners, ",") }
