package emulator

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// headers sets the headers X puts on every answer of the call's version.
// x-rate-limit-* report the budget the endpoint spent; an answer that never
// reached an endpoint's budget (an authentication failure, an injected 5xx)
// carries none, as X's 401s do (issue_quoted_bodies.json),
// rather than a made-up budget that a client would take for a new window.
func (c *call) headers(contentType string) {
	h := c.w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	c.limit.setHeaders(h)
	txn := strconv.FormatInt(c.start.UnixNano()&0xffffffffffff, 16)
	h.Set("x-transaction-id", txn)
	h.Set("x-response-time", strconv.FormatInt(c.s.now().Sub(c.start).Milliseconds(), 10))
	h.Set("x-access-level", "read-write-directmessages")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate, pre-check=0, post-check=0")
	if c.ver == v11 {
		h.Set("x-transaction", txn)
		h.Set("x-frame-options", "SAMEORIGIN")
		h.Set("x-xss-protection", "0")
		h.Set("x-twitter-response-tags", "BouncerCompliant")
		h.Set("x-tsa-request-body-time", strconv.FormatInt(c.bodyTime.Milliseconds(), 10))
		if c.mediaID != "" {
			h.Set("x-mediaid", c.mediaID)
		}
	} else {
		h.Set("api-version", "2.167")
	}
}

func (c *call) writeJSON(status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.s.log.Error().Err(err).Msg("encode answer")
		status, body = http.StatusInternalServerError, []byte(`{"errors":[{"code":131,"message":"Internal error"}]}`)
	}
	c.headers(contentType)
	c.w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	c.w.WriteHeader(status)
	c.w.Write(body)
}

// ok answers a v1.1 JSON body.
func (c *call) v11JSON(status int, v any) {
	c.writeJSON(status, "application/json;charset=utf-8", v)
}

// empty answers with no body (v1.1 APPEND 204, metadata 200; 413 for oversize).
func (c *call) empty(status int) {
	c.headers("text/html;charset=utf-8")
	c.w.Header().Set("Content-Length", "0")
	c.w.WriteHeader(status)
}

type v11ErrorBody struct {
	Errors []v11ErrorItem `json:"errors"`
}

type v11ErrorItem struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (c *call) v11Error(status, code int, msg string) {
	c.v11JSON(status, v11ErrorBody{Errors: []v11ErrorItem{{Code: code, Message: msg}}})
}

// v11Legacy answers the upload endpoint's own error shape.
func (c *call) v11Legacy(status int, msg string) {
	c.v11JSON(status, map[string]string{"request": c.r.URL.Path, "error": msg})
}

// errorCode answers an X error code in the shape of the call's version.
// v2 answers 401, 403 and 429 as X does, with a plain problem that has no
// code (see plainProblem); its 5xx carry the code in errors[].
func (c *call) errorCode(status, code int, msg string) {
	if c.ver == v11 {
		c.v11Error(status, code, msg)
		return
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		c.plainProblem(status)
		return
	}
	title := http.StatusText(status)
	c.writeJSON(status, "application/problem+json", map[string]any{
		"title":  title,
		"detail": msg,
		"type":   "about:blank",
		"status": status,
		"errors": []v11ErrorItem{{Code: code, Message: msg}},
	})
}

// internal answers 500 code 131 for a failure of the emulator itself (its
// store, say); the details go to the log, not to the client.
func (c *call) internal(err error) {
	c.s.log.Error().Err(err).Str("path", c.r.URL.Path).Msg("request failed")
	c.errorCode(http.StatusInternalServerError, 131, "Internal error")
}

// plainProblem answers v2's bare RFC 7807 problem for a status, with no
// errors[] and no code, application/problem+json:
//
//	401 {"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}
//	403 {"title":"Forbidden","type":"about:blank","status":403,"detail":"Forbidden"}
//	429 {"title":"Too Many Requests","type":"about:blank","status":429,"detail":"Too Many Requests"}
//
// Sources: 401 as logged from POST /2/tweets with OAuth 1.0a and in client
// fixtures (e.g. the Go twitter client's httpmock tests, and a PHP client's
// "v2" case, both with this exact body); 403 PLhery/node-twitter-api-v2#588
// (API.md §4.2); 429 geduldig/TwitterAPI#180 (2021-03-19).
func (c *call) plainProblem(status int) {
	text := http.StatusText(status)
	c.writeJSON(status, "application/problem+json", struct {
		Title  string `json:"title"`
		Type   string `json:"type"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{Title: text, Type: "about:blank", Status: status, Detail: text})
}

// problem answers a v2 RFC 7807 problem.
func (c *call) problem(status int, title, detail, typ string) {
	c.writeJSON(status, "application/problem+json", map[string]any{
		"title": title, "detail": detail, "type": typ, "status": status,
	})
}

// invalid answers v2's 400 "Invalid Request" with one error message, its
// members in X's order (sferik/x-ruby#71, xdevplatform/xurl#18):
// {"errors":[{"parameters":{…},"message":"…"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid.","type":"https://api.twitter.com/2/problems/invalid-request"}
// (no "parameters" when param is "").
func (c *call) invalid(param, msg string) {
	type item struct {
		Parameters map[string][]string `json:"parameters,omitempty"`
		Message    string              `json:"message"`
	}
	it := item{Message: msg}
	if param != "" {
		it.Parameters = map[string][]string{param: {}}
	}
	c.writeJSON(http.StatusBadRequest, "application/json; charset=utf-8", struct {
		Errors []item `json:"errors"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Type   string `json:"type"`
	}{
		Errors: []item{it},
		Title:  "Invalid Request",
		Detail: "One or more parameters to your request was invalid.",
		Type:   "https://api.twitter.com/2/problems/invalid-request",
	})
}

// v2Data answers {"data": v}.
func (c *call) v2Data(status int, v any) {
	c.writeJSON(status, "application/json; charset=utf-8", map[string]any{"data": v})
}
