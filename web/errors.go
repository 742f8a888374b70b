package web

import (
	"errors"
	"fmt"
	"net/http"
)

// Errors a [Backend] wraps, and that a [Client] returns (wrapped in an [*APIError]) when the agent
// answered with them.
var (
	// ErrNotFound: no such folder, or no such file in it.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request cannot be done as asked (retry of a file that did not fail, upload of
	// a file outside every folder, a malformed request).
	ErrInvalid = errors.New("invalid request")
	// ErrNoAgent: no agent listens on the control socket (no socket, or connection refused); the
	// caller does the work itself.
	ErrNoAgent = errors.New("no agent is running")
	// ErrSocketInUse: [ServeUnix] found another agent listening on the socket.
	ErrSocketInUse = errors.New("another agent is listening on the control socket")
	// ErrTokenRequired: [CheckBind] refuses a listen address reachable from other machines without a
	// token.
	ErrTokenRequired = errors.New("http.token is required")
)

// APIError is an error answer of the API ({"error": {"code", "message"}}, docs/api.md), as a
// [Client] returns it. It wraps [ErrNotFound] or [ErrInvalid] when the code says so.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the error's stable word: not_found, invalid, unauthorized, forbidden, internal, ...
	Code string
	// Message says what went wrong.
	Message string
}

func (e *APIError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("agent answered %d %s", e.Status, e.Code)
	}
	return e.Message
}

// Unwrap returns the sentinel the code stands for, if any.
func (e *APIError) Unwrap() error {
	switch e.Code {
	case codeNotFound:
		return ErrNotFound
	case codeInvalid:
		return ErrInvalid
	}
	return nil
}

// The error codes of the API.
const (
	codeNotFound     = "not_found"
	codeNoEndpoint   = "no_endpoint" // an older agent that lacks the endpoint
	codeInvalid      = "invalid"
	codeUnauthorized = "unauthorized"
	codeForbidden    = "forbidden"
	codeUnsupported  = "unsupported_media_type"
	codeInternal     = "internal"
)

// errorAnswer maps a backend error to its HTTP status and code.
func errorAnswer(err error) (int, string) {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, codeNotFound
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, codeInvalid
	}
	return http.StatusInternalServerError, codeInternal
}
