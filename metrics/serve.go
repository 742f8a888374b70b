package metrics

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"
)

// shutdownGrace is how long Serve lets in-flight requests finish after its context is cancelled.
const shutdownGrace = 5 * time.Second

// Serve listens on addr (host:port; port 0 picks a free one) and serves h until ctx is cancelled:
// a [Collector.Handler], or a mux that mounts it beside other handlers (mediasync run serves the
// status page and its API on the same listener). Then it stops accepting, lets in-flight requests
// finish for a few seconds, and returns nil. It returns an error when it cannot listen or when
// serving fails.
//
// Each request must be read within 30 s and answered within 60 s of being read (ReadTimeout,
// WriteTimeout), so that a stuck client cannot hold a connection. A handler that legitimately
// answers for longer (a streamed upload) lifts its own deadlines with
// [net/http.ResponseController]: clearing only the write deadline is not enough, because when the
// read deadline passes net/http cancels the request's context.
func Serve(ctx context.Context, addr string, h http.Handler, log zerolog.Logger) error {
	if err := ctx.Err(); err != nil {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("http: listen on %s: %w", addr, err)
	}
	return serve(ctx, ln, h, log)
}

// serve serves h on ln until ctx is cancelled; it closes ln.
func serve(ctx context.Context, ln net.Listener, h http.Handler, log zerolog.Logger) error {
	log = log.With().Str("component", "http").Logger()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          stdlog.New(errorLogWriter{log}, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("serving http")

	select {
	case err := <-errc:
		// Serve returned on its own: the listener failed.
		return fmt.Errorf("http: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running after the grace period: cut them.
		log.Debug().Err(err).Msg("http shutdown timed out; closing connections")
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: serve on %s: %w", ln.Addr(), err)
	}
	log.Debug().Msg("http server stopped")
	return nil
}

// errorLogWriter sends net/http's own error lines (bad requests, accept errors) to the zerolog
// logger instead of the standard library's global logger.
type errorLogWriter struct{ log zerolog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	w.log.Warn().Str("error", strings.TrimSpace(string(p))).Msg("http server error")
	return len(p), nil
}
