package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/metrics"
	"github.com/mediasync/mediasync/web"
)

// What `mediasync run` serves besides uploading:
//
//   - http.listen (optional): one listener with /metrics and /healthz (the metrics collector),
//     /api/ (the JSON API) and / (the status page), all over the same backend. web.CheckBind
//     refuses, before anything starts (exit 2), an address reachable from other machines without
//     http.token. A listener that cannot start stops the run (exit 1) rather than run unobserved.
//   - a control socket per folder, agent.sock in the manifest's directory, serving the JSON API to
//     the owner's `mediasync status`, `upload`, `retry` and `explain`. A socket that cannot be
//     made (another agent answers on it, the path is too long, the directory is not ours) is a
//     warning: uploading goes on, and those commands then do the work themselves.
//
// The listener's 60 s write timeout (metrics.Serve) would cut POST /api/upload, which answers when
// the upload ends, and its 30 s read timeout would cancel the request's context: that one route
// lifts both deadlines (liftDeadlines). It is bounded by the upload itself, needs the token like
// every request, and is cancelled when its client goes away. The control socket has no such
// timeouts.

// socketPath is the control socket of the folder whose manifest is at manifestPath.
func socketPath(manifestPath string) string {
	return filepath.Join(filepath.Dir(manifestPath), web.SocketName)
}

// folderPaths returns the paths of folders, in order.
func folderPaths(folders []config.Folder) []string {
	out := make([]string, len(folders))
	for i, f := range folders {
		out[i] = f.Path
	}
	return out
}

// checkListen refuses an http.listen that may not be served with the configured token.
func checkListen(cfg *config.Config) error {
	if cfg.HTTP.Listen == "" {
		return nil
	}
	if err := web.CheckBind(cfg.HTTP.Listen, cfg.HTTP.Token.Reveal()); err != nil {
		return fmt.Errorf("%w: %w", config.ErrInvalid, err)
	}
	return nil
}

// webOptions are the page's and the API's options for cfg's listener (loopback, token) and
// secrets to keep out of every answer.
func webOptions(cfg *config.Config) web.Options {
	c := cfg.Credentials
	return web.Options{
		Token:    cfg.HTTP.Token.Reveal(),
		Loopback: cfg.HTTP.Listen != "" && web.IsLoopback(cfg.HTTP.Listen),
		Redact: []string{c.ConsumerKey.Reveal(), c.ConsumerSecret.Reveal(), c.AccessToken.Reveal(),
			c.AccessTokenSecret.Reveal(), c.BearerToken.Reveal(), c.ClientSecret.Reveal()},
	}
}

// httpHandler is the handler of http.listen.
func httpHandler(col *metrics.Collector, b web.Backend, opts web.Options) http.Handler {
	mux := http.NewServeMux()
	mh := col.Handler()
	mux.Handle("/metrics", mh)
	mux.Handle("/healthz", mh)
	api := web.NewAPIHandler(b, opts)
	mux.Handle("/api/", api)
	mux.Handle("POST /api/upload", liftDeadlines(api))
	mux.Handle("/", web.NewPageHandler(b, opts))
	return mux
}

// liftDeadlines clears the connection's read and write deadlines for a request that answers when
// a long piece of work ends (see above).
func liftDeadlines(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		rc.SetReadDeadline(time.Time{})
		rc.SetWriteDeadline(time.Time{})
		h.ServeHTTP(w, r)
	})
}

// serveAgent attaches b to ag and starts, in g, the http.listen listener (when col is set) and the
// control sockets of ag's folders. It must be called before ag.Run starts.
func serveAgent(ctx context.Context, g *errgroup.Group, cfg *config.Config, ag *agent.Agent, b *backend, col *metrics.Collector, log zerolog.Logger) error {
	if err := b.attach(ctx, ag); err != nil {
		return err
	}
	opts := webOptions(cfg)
	if col != nil {
		h := httpHandler(col, b, opts)
		g.Go(func() error { return metrics.Serve(ctx, cfg.HTTP.Listen, h, log) })
	}
	sockOpts := web.Options{Redact: opts.Redact, Token: opts.Token}
	api := web.NewAPIHandler(b, sockOpts)
	seen := map[string]bool{}
	for _, f := range cfg.Folders {
		if !slices.Contains(ag.Folders(), filepath.Clean(f.Path)) {
			continue // refused: another agent owns its socket, or it has none
		}
		path := socketPath(f.Manifest)
		if seen[path] {
			continue
		}
		seen[path] = true
		g.Go(func() error {
			if err := web.ServeUnix(ctx, path, api); err != nil {
				log.Warn().Err(err).Str("folder", f.Path).
					Msg("no control socket: status, upload, retry and explain will not reach this agent for this folder")
			}
			return nil
		})
	}
	return nil
}
