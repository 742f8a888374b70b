package auth

import (
	"errors"
	"fmt"
	"time"
)

// ErrLoginRequired is wrapped by every [*LoginRequiredError]: uploads cannot go on until someone
// runs `mediasync auth login`.
var ErrLoginRequired = errors.New("oauth2 login required")

// Reasons a [*LoginRequiredError] gives.
const (
	// ReasonNoToken: there is no token file (never logged in, or logged out).
	ReasonNoToken = "no_token"
	// ReasonDamaged: the token file cannot be read as a token.
	ReasonDamaged = "damaged"
	// ReasonRefused: the token endpoint refused the refresh token (invalid_grant, or X's
	// invalid_request "Value passed for the token was invalid."): the grant is spent or revoked.
	ReasonRefused = "refused"
	// ReasonNoRefreshToken: the access token expired and the grant has no refresh token (the
	// login did not ask for offline.access).
	ReasonNoRefreshToken = "no_refresh_token"
	// ReasonOtherClient: the token file was issued to another client id than the configured one.
	ReasonOtherClient = "other_client"
	// ReasonClient: the token endpoint refused the client itself (invalid_client,
	// unauthorized_client): client_id or client_secret is wrong. The grant is kept; fix the
	// configuration (and log in again if the client id changed).
	ReasonClient = "client"
)

// LoginRequiredError says that no request can be authorised until a new login: the grant is
// missing, refused or unusable. LoginRequired reports true, which is how the uploader (without
// importing this package) classifies it as an account refusal. Its message never holds a token.
type LoginRequiredError struct {
	Reason string // one of the Reason constants
	Path   string // the token file
	Detail string // what the token endpoint or the file said, e.g. "invalid_grant: ..."; never a token
	Err    error  // the cause, if any
}

// LoginRequired reports true: the error means "log in again".
func (e *LoginRequiredError) LoginRequired() bool { return true }

func (e *LoginRequiredError) Error() string {
	var what string
	switch e.Reason {
	case ReasonNoToken:
		what = "no OAuth 2.0 token file at " + e.Path
	case ReasonDamaged:
		what = "the OAuth 2.0 token file " + e.Path + " is damaged"
	case ReasonRefused:
		what = "X refused the stored refresh token (the grant was revoked or its refresh token was already used)"
	case ReasonNoRefreshToken:
		what = "the access token expired and the grant has no refresh token (log in with the offline.access scope)"
	case ReasonOtherClient:
		what = "the token file " + e.Path + " was issued to another client id than credentials.client_id"
	case ReasonClient:
		what = "X refused the OAuth 2.0 client; check credentials.client_id and credentials.client_secret"
	default:
		what = "OAuth 2.0 login required"
	}
	if e.Detail != "" {
		what += " (" + e.Detail + ")"
	}
	return what + "; run: mediasync auth login"
}

// Unwrap returns ErrLoginRequired and the cause.
func (e *LoginRequiredError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrLoginRequired, e.Err}
	}
	return []error{ErrLoginRequired}
}

// IsLoginRequired reports whether err is, or wraps, a [*LoginRequiredError].
func IsLoginRequired(err error) bool { return errors.Is(err, ErrLoginRequired) }

// ErrRefresh is wrapped by [*RefreshError].
var ErrRefresh = errors.New("oauth2 token refresh failed")

// RefreshError is a refresh that failed for a reason that may pass: the token endpoint was
// unreachable, timed out or answered 5xx or 429. The grant is kept. The transport does not retry;
// the Store's backoff (shared by every request of the process) allows the next token request from
// Next on, and a request sent before then fails again without calling the token endpoint.
type RefreshError struct {
	Failures int       // consecutive failed refresh attempts of the Store
	Next     time.Time // the next refresh attempt is made from then on
	Err      error     // the last failure
}

func (e *RefreshError) Error() string {
	return fmt.Sprintf("refresh oauth2 token (%d failed attempts; the grant is kept, next attempt from %s): %v",
		e.Failures, e.Next.Format(time.RFC3339), e.Err)
}

// Unwrap returns ErrRefresh and the last failure.
func (e *RefreshError) Unwrap() []error { return []error{ErrRefresh, e.Err} }

// Temporary reports true: the grant is intact and a later attempt may succeed.
func (e *RefreshError) Temporary() bool { return true }

// RetryAt returns Next: a retry loop (the uploader's) waits for it instead of spending an attempt
// on a request that cannot get a token sooner.
func (e *RefreshError) RetryAt() time.Time { return e.Next }
