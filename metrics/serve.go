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

// shutdownGrace is how long Serve lets in-flight scrapes finish after its context is cancelled.
const shutdownGrace = 5 * time.Second

// Serve listens on addr (host:port; port 0 picks a free one) and serves c's [Collector.Handler]
// until ctx is cancelled. Then it stops accepting, lets in-flight scrapes finish for a few seconds,
// and returns nil. It returns an error when it cannot listen or when serving fails.
func Serve(ctx context.Context, addr string, c *Collector, log zerolog.Logger) error {
	if err := ctx.Err(); err != nil {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	return serve(ctx, ln, c, log)
}

// serve serves c on ln until ctx is cancelled; it closes ln.
func serve(ctx context.Context, ln net.Listener, c *Collector, log zerolog.Logger) error {
	log = log.With().Str("component", "metrics").Logger()
	srv := &http.Server{
		Handler:           c.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          stdlog.New(errorLogWriter{log}, "", 0),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info().Str("addr", ln.Addr().String()).Msg("serving metrics and health")

	select {
	case err := <-errc:
		// Serve returned on its own: the listener failed.
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Scrapes still running after the grace period: cut them.
		log.Debug().Err(err).Msg("metrics shutdown timed out; closing connections")
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve on %s: %w", ln.Addr(), err)
	}
	log.Debug().Msg("metrics server stopped")
	return nil
}

// errorLogWriter sends net/http's own error lines (bad requests, accept errors) to the zerolog
// logger instead of the standard library's global logger.
type errorLogWriter struct{ log zerolog.Logger }

func (w errorLogWriter) Write(p []byte) (int, error) {
	w.log.Warn().Str("error", strings.TrimSpace(string(p))).Msg("metrics http error")
	return len(p), nil
}
