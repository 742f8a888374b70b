package uploader

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// NetworkProblem tells a failure to reach the server, with the host tried,
// from an answer: real connection failures on loopback, one attempt each.
func TestNetworkProblem(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()

	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()

	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()

	// Only the silent server is meant to run into the stall watchdog; the others get time to spare
	// (a TLS handshake under -race on a loaded machine is slow).
	tests := []struct {
		base, kind, host string
		timeout          time.Duration
	}{
		{"http://" + closedAddr, NetRefused, closedAddr, time.Minute},
		{"https://mediasync-test.invalid", NetDNS, "mediasync-test.invalid", time.Minute},
		{tlsSrv.URL, NetTLS, strings.TrimPrefix(tlsSrv.URL, "https://"), time.Minute},
		{"http://" + silent.Addr().String(), NetTimeout, silent.Addr().String(), 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			c := New(&http.Client{Transport: NewTransport()}, Options{BaseURL: tt.base, MaxAttempts: 1, RequestTimeout: tt.timeout})
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			err := c.ProbeUpload(ctx)
			kind, host, ok := NetworkProblem(err)
			if !ok || kind != tt.kind || host != tt.host {
				t.Errorf("ProbeUpload = %v: NetworkProblem = %q, %q, %v; want %q, %q", err, kind, host, ok, tt.kind, tt.host)
			}
			if IsAuth(err) {
				t.Errorf("network problem %v is taken for a refusal", err)
			}
		})
	}
	for _, err := range []error{nil, &APIError{Op: "STATUS", StatusCode: 401}, fmt.Errorf("x: %w", ErrSource), errors.New("EOF")} {
		if kind, _, ok := NetworkProblem(err); ok {
			t.Errorf("NetworkProblem(%v) = %q, want none", err, kind)
		}
	}
}

// ProbeUpload passes when STATUS of a media id that does not exist is
// answered 400 (v2 "BadRequest: Not found") or 404 (v1.1 code 34).
func TestProbeUpload(t *testing.T) {
	for _, version := range []string{V2, V11} {
		synctest.Test(t, func(t *testing.T) {
			f := newFakeX(t)
			if err := f.newClient(Options{Version: version}).ProbeUpload(t.Context()); err != nil || f.count("STATUS") != 1 {
				t.Errorf("%s: ProbeUpload = %v after %d STATUS; want nil after 1", version, err, f.count("STATUS"))
			}
		})
	}
}
