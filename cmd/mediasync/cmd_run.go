package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/metrics"
	"github.com/mediasync/mediasync/uploader"
)

func (a *app) runCmd() *cobra.Command {
	var once bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Watch the configured folders and upload every file once it has settled",
		Long: `Watch every configured folder and upload each media file once its size and modification time
have stopped changing (watch.settle), recording it in the folder's manifest. On start it catches up on
files that arrived while it was not running and resumes interrupted chunked uploads.

Runs until SIGINT or SIGTERM: then it stops taking new work, abandons in-flight requests resumably,
and exits 0. With --once it scans every folder, uploads everything pending, waits for processing, and
exits: 0 when every file was uploaded (or skipped with a reason), 1 when any failed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			if len(cfg.Folders) == 0 {
				return fmt.Errorf("%w: %s: no folders configured", config.ErrInvalid, cfg.Source)
			}
			log := newLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
			for _, w := range cfg.Warnings() {
				log.Warn().Msg(w)
			}
			// http.listen (formerly metrics.listen): a Prometheus collector observes the agent and the uploader (run only).
			var col *metrics.Collector
			if cfg.HTTP.Listen != "" && !once {
				col = metrics.New()
			}
			uo := uploaderOptions(cfg, log)
			aopts := agentOptions(cfg)
			if col != nil {
				logRetry := uo.OnRetry
				uo.OnRetry = func(op string, attempt int, err error, wait time.Duration) {
					col.Retry(op)
					if ae := (*uploader.APIError)(nil); errors.As(err, &ae) && ae.StatusCode == http.StatusTooManyRequests {
						col.RateLimitWait(op, wait) // a 429's Retry-After / x-rate-limit-reset wait
					}
					logRetry(op, attempt, err, wait)
				}
				uo.OnWait = col.RateLimitWait // waits before sending, from the tracked budgets
				aopts.Observer = col
			}
			nt := newNotifier(cfg, log) // notify: targets get the agent's events (notify.go)
			aopts.Observer = withNotify(aopts.Observer, nt)
			up, err := newUploaderWith(cfg, uo)
			if err != nil {
				return err
			}
			ag, err := agent.New(up, aopts, log)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := ag.Close(); cerr != nil && err == nil {
					err = fmt.Errorf("save state: %w", cerr)
				}
			}()
			w, err := newWatcher(ag, cfg, log)
			if err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			if once {
				defer startNotify(ctx, nt)() // delivers what is queued before the exit
				sum, err := ag.Once(ctx, w)
				if err != nil {
					return err
				}
				log.Info().Int("uploaded", sum.Uploaded).Int("skipped", sum.Skipped).Int("failed", sum.Failed).
					Int("failed_total", sum.FailedTotal).Int("unsettled", sum.Unsettled).Msg("once: done")
				if ctx.Err() != nil {
					return &exitError{code: exitInterrupted}
				}
				if sum.FailedTotal > 0 {
					return &exitError{code: exitFailure, err: fmt.Errorf("%d file(s) failed (see mediasync status)", sum.FailedTotal)}
				}
				return nil
			}
			log.Info().Strs("folders", ag.Folders()).Str("api", cfg.API.Version).Msg("watching")
			g, gctx := errgroup.WithContext(ctx)
			if col != nil {
				// A metrics listener that cannot start stops the run (exit 1) rather than run unobserved.
				g.Go(func() error { return metrics.Serve(gctx, cfg.HTTP.Listen, col, log) })
			}
			if nt != nil {
				g.Go(func() error { return nt.Run(gctx) })
			}
			g.Go(func() error { return ag.Run(gctx, w) })
			err = g.Wait()
			if err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			log.Info().Msg("stopped")
			return nil
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "upload everything pending, wait for processing, and exit (for cron and NAS schedulers)")
	return cmd
}
