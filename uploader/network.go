package uploader

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"syscall"
)

// Kinds of network problem [NetworkProblem] reports.
const (
	NetDNS         = "dns"                // the host name does not resolve
	NetRefused     = "connection refused" // nothing listens at the host's port
	NetUnreachable = "unreachable"        // no route to the host or network
	NetTimeout     = "timeout"            // no answer within the time allowed
	NetTLS         = "tls"                // the TLS handshake or the certificate failed
)

// hostError carries the host a transport error happened with: the
// *url.Error is dropped (its URL may have a query string), the host is not
// secret. Its message is the wrapped error's.
type hostError struct {
	host string
	err  error
}

func (e *hostError) Error() string { return e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }

// host is the base URL's host[:port].
func (c *Client) host() string {
	u, err := url.Parse(c.opts.BaseURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// NetworkProblem reports whether err is a failure to reach the server rather
// than an answer from it: kind is one of NetDNS, NetRefused, NetUnreachable,
// NetTimeout (including the stall watchdog, [ErrStalled]) or NetTLS, and
// host the host[:port] the client tried. `mediasync check --online` uses it
// to tell a network failure from refused credentials.
func NetworkProblem(err error) (kind, host string, ok bool) {
	if err == nil {
		return "", "", false
	}
	var (
		he    *hostError
		dns   *net.DNSError
		cve   *tls.CertificateVerificationError
		alert tls.AlertError
		rhe   tls.RecordHeaderError
		ne    net.Error
		oe    *net.OpError
	)
	switch {
	case errors.As(err, &dns):
		kind = NetDNS
		host = dns.Name
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = NetRefused
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		kind = NetUnreachable
	case errors.As(err, &cve), errors.As(err, &alert), errors.As(err, &rhe):
		kind = NetTLS
	case errors.Is(err, ErrStalled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		kind = NetTimeout
	default:
		return "", "", false
	}
	if errors.As(err, &he) && he.host != "" {
		host = he.host
	} else if host == "" && errors.As(err, &oe) && oe.Addr != nil {
		host = oe.Addr.String()
	}
	return kind, host, true
}
