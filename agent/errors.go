package agent

import (
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/mediasync/mediasync/uploader"
)

// PauseError is why every upload is paused: X refuses the account, whatever the file. Its message
// starts with what to do.
type PauseError struct {
	Refusal uploader.Refusal // which refusal (unauthorized, missing-scope, credits-depleted, …)
	Advice  string           // one sentence: what to do
	Err     error            // X's answer
}

func (e *PauseError) Error() string { return e.Advice + " (" + e.Err.Error() + ")" }
func (e *PauseError) Unwrap() error { return e.Err }

func pauseError(err error) *PauseError {
	var pe *PauseError
	if errors.As(err, &pe) {
		return pe
	}
	r, ok := uploader.AccountRefusal(err)
	if !ok {
		r = uploader.RefusalUnauthorized
	}
	return &PauseError{Refusal: r, Advice: r.Advice(), Err: err}
}

// outage reports whether err says X or the network failed (a 5xx, a 429, a cut connection, a
// stall) rather than anything about the file: such retries are brought forward as soon as X answers
// again.
func outage(err error) bool {
	if errors.Is(err, uploader.ErrSource) {
		return false
	}
	var ae *uploader.APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == 0 || ae.StatusCode >= 500 || ae.StatusCode == 429 || ae.StatusCode == 408
	}
	if _, _, ok := uploader.NetworkProblem(err); ok {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, uploader.ErrStalled) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE)
}
