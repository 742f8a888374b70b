package emulatortest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/dghubble/oauth1"

	"github.com/mediasync/mediasync/emulator"
)

// Server is an emulator listening on 127.0.0.1 for the duration of a test.
type Server struct {
	URL string // base URL, e.g. http://127.0.0.1:41234
	*emulator.Server
	Creds emulator.Credentials
}

// NewServer starts an emulator on 127.0.0.1:0. It keeps bytes in memory
// unless opts.StoreDir is set, uses [emulator.DemoCredentials] when
// opts.Credentials is empty, and registers tb.Cleanup to stop it.
func NewServer(tb testing.TB, opts emulator.Options) *Server {
	tb.Helper()
	if opts.StoreDir == "" {
		opts.InMemory = true
	}
	if opts.Credentials == (emulator.Credentials{}) {
		opts.Credentials = emulator.DemoCredentials()
	}
	es, err := emulator.New(opts)
	if err != nil {
		tb.Fatalf("emulatortest: %v", err)
	}
	hs := httptest.NewServer(es)
	tb.Cleanup(func() {
		hs.Close()
		if err := es.Close(); err != nil {
			tb.Errorf("emulatortest: close: %v", err)
		}
	})
	return &Server{URL: hs.URL, Server: es, Creds: opts.Credentials}
}

// OAuth1Client returns an http.Client that signs every request with
// s.Creds using github.com/dghubble/oauth1, as the uploader does.
func (s *Server) OAuth1Client() *http.Client {
	cfg := oauth1.NewConfig(s.Creds.ConsumerKey, s.Creds.ConsumerSecret)
	return cfg.Client(context.Background(), oauth1.NewToken(s.Creds.AccessToken, s.Creds.AccessTokenSecret))
}

// BearerClient returns an http.Client that sends s.Creds.BearerToken.
func (s *Server) BearerClient() *http.Client {
	return &http.Client{Transport: bearer{token: s.Creds.BearerToken, base: http.DefaultTransport}}
}

type bearer struct {
	token string
	base  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r2)
}

// NewInMemory returns an emulator that is reached only through
// [Server.Transport] (no listener, no goroutines), for tests inside a
// testing/synctest bubble. URL is a placeholder base URL for clients;
// requests to any host go to the emulator.
func NewInMemory(tb testing.TB, opts emulator.Options) *Server {
	tb.Helper()
	opts.InMemory = opts.StoreDir == ""
	if opts.Credentials == (emulator.Credentials{}) {
		opts.Credentials = emulator.DemoCredentials()
	}
	es, err := emulator.New(opts)
	if err != nil {
		tb.Fatalf("emulatortest: %v", err)
	}
	tb.Cleanup(func() {
		if err := es.Close(); err != nil {
			tb.Errorf("emulatortest: close: %v", err)
		}
	})
	return &Server{URL: "http://emulator.test", Server: es, Creds: opts.Credentials}
}

// Transport returns an http.RoundTripper that serves each request by calling
// the emulator's ServeHTTP in the caller's goroutine: no network, so it works
// inside testing/synctest bubbles. A dropped connection (Faults.DropRate)
// surfaces as an error, as a cut connection does.
func (s *Server) Transport() http.RoundTripper { return inMemory{s.Server} }

// InMemoryOAuth1Client is [Server.OAuth1Client] over [Server.Transport].
func (s *Server) InMemoryOAuth1Client() *http.Client {
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: s.Transport()})
	cfg := oauth1.NewConfig(s.Creds.ConsumerKey, s.Creds.ConsumerSecret)
	return cfg.Client(ctx, oauth1.NewToken(s.Creds.AccessToken, s.Creds.AccessTokenSecret))
}

// InMemoryBearerClient is [Server.BearerClient] over [Server.Transport].
func (s *Server) InMemoryBearerClient() *http.Client {
	return &http.Client{Transport: bearer{token: s.Creds.BearerToken, base: s.Transport()}}
}

type inMemory struct{ h http.Handler }

// errCut is what a client sees when the emulator cuts the connection.
var errCut = errors.New("emulatortest: connection cut by the emulator")

func (t inMemory) RoundTrip(req *http.Request) (resp *http.Response, err error) {
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	r.Host = req.URL.Host
	if req.Host != "" {
		r.Host = req.Host
	}
	r.RemoteAddr = "127.0.0.1:1"
	if r.Body == nil {
		r.Body = http.NoBody
	}
	defer r.Body.Close()
	rec := httptest.NewRecorder()
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				panic(p)
			}
			resp, err = nil, errCut
		}
	}()
	t.h.ServeHTTP(rec, r)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	res := rec.Result()
	res.Request = req
	return res, nil
}
