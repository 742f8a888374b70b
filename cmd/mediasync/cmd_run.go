package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/internal/human"
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
and exits 0. SIGHUP reloads the configuration file: a valid one replaces the running agent (uploads in
flight resume under the new one); an invalid one is logged, problem by problem, and the agent keeps
running as it was. With --once it scans every folder, uploads everything pending, waits for
processing, and exits: 0 when every file was uploaded (or skipped with a reason), 1 when any failed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGHUP from now on reloads (or, with --once, is logged): never the default, which kills.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)

			cfgPath, err := config.Find(a.configPath)
			if err != nil {
				return err
			}
			cfg, err := config.Load(cfgPath)
			if err != nil {
				return err
			}
			p, err := a.planRun(cfg, nil, once)
			if err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			if once {
				return runOnce(ctx, p, hup)
			}
			return a.runWatch(ctx, cfgPath, p, hup)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "upload everything pending, wait for processing, and exit (for cron and NAS schedulers)")
	return cmd
}

// runPlan is what `run` builds from one configuration before it opens a manifest. A reload gets a
// new configuration this far while the running agent goes on, so a bad one never stops it.
type runPlan struct {
	cfg   *config.Config
	log   zerolog.Logger
	up    *uploader.Client
	aopts agent.Options
	col   *metrics.Collector // nil unless http.listen is set (and not --once)
}

// planRun checks cfg as far as it can without opening a manifest and builds the logger and the
// uploader. col is the metrics collector to keep across a reload (nil: made when needed).
func (a *app) planRun(cfg *config.Config, col *metrics.Collector, once bool) (*runPlan, error) {
	if len(cfg.Folders) == 0 {
		return nil, fmt.Errorf("%w: %s: no folders configured", config.ErrInvalid, cfg.Source)
	}
	if err := someFolderExists(cfg); err != nil {
		return nil, err
	}
	log := newLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
	uo := uploaderOptions(cfg, log)
	aopts := agentOptions(cfg)
	// http.listen: a Prometheus collector observes the agent and the uploader (run only). One
	// collector lives as long as the process, so counters survive a reload.
	if cfg.HTTP.Listen != "" && !once {
		if err := checkListen(cfg); err != nil {
			return nil, err
		}
		if col == nil {
			col = metrics.New()
		}
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
	up, err := newUploaderWith(cfg, uo)
	if err != nil {
		return nil, err
	}
	for _, w := range cfg.Warnings() {
		log.Warn().Msg(w)
	}
	return &runPlan{cfg: cfg, log: log, up: up, aopts: aopts, col: col}, nil
}

// someFolderExists returns a configuration error (exit 2) when not one configured folder exists or
// is a directory: a typo or an unmounted disk, with nothing left to watch. A missing folder among
// others is the agent's business: it refuses that one, logs why, and watches the rest.
func someFolderExists(cfg *config.Config) error {
	var probs []error
	for i, f := range cfg.Folders {
		st, err := os.Stat(f.Path)
		switch {
		case err == nil && st.IsDir():
			return nil
		case err == nil:
			probs = append(probs, cfg.ProblemAt(fmt.Sprintf("folders[%d].path", i), "%s is not a directory", human.Printable(f.Path)))
		case errors.Is(err, fs.ErrNotExist):
			probs = append(probs, cfg.ProblemAt(fmt.Sprintf("folders[%d].path", i), "%s does not exist", human.Printable(f.Path)))
		default:
			return nil // unreadable, say: the agent tells why when it opens it
		}
	}
	return fmt.Errorf("no configured folder exists; create it, mount it or fix the path:\n%w", errors.Join(probs...))
}

// runOnce is `run --once`.
func runOnce(ctx context.Context, p *runPlan, hup <-chan os.Signal) (err error) {
	nt := newNotifier(p.cfg, p.log) // notify: targets get the agent's events (notify.go)
	aopts := p.aopts
	aopts.Observer = withNotify(aopts.Observer, nt)
	ag, err := agent.New(p.up, aopts, p.log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := ag.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("save state: %w", cerr)
		}
	}()
	defer startNotify(ctx, nt)() // delivers what is queued before the exit
	w, err := newWatcher(ag, p.cfg, p.log)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case <-hup:
				p.log.Warn().Msg("SIGHUP ignored: run --once does not reload its configuration")
			case <-done:
				return
			}
		}
	}()
	sum, err := ag.Once(ctx, w)
	if err != nil {
		return err
	}
	p.log.Info().Int("uploaded", sum.Uploaded).Int("skipped", sum.Skipped).Int("failed", sum.Failed).
		Int("failed_total", sum.FailedTotal).Int("unsettled", sum.Unsettled).Msg("once: done")
	if ctx.Err() != nil {
		return &exitError{code: exitInterrupted}
	}
	if sum.FailedTotal > 0 {
		return &exitError{code: exitFailure, err: fmt.Errorf("%d file(s) failed (see mediasync status)", sum.FailedTotal)}
	}
	return nil
}

// runWatch runs agents until ctx is cancelled: one for p, then, on each SIGHUP, one for the
// reloaded configuration (or the same one again when the new one cannot start).
func (a *app) runWatch(ctx context.Context, cfgPath string, p *runPlan, hup <-chan os.Signal) error {
	g, err := startGeneration(ctx, p)
	if err != nil {
		return err
	}
	for {
		select {
		case err := <-g.done:
			g.cancel()
			if err != nil {
				return err
			}
			g.plan.log.Info().Msg("stopped")
			return nil
		case <-hup:
			g, err = a.reload(ctx, cfgPath, g)
			if err != nil {
				return err
			}
		}
	}
}

// reload loads the configuration file again. When it is invalid (or its credentials, folders or
// upload settings are), every problem is logged and g goes on untouched. Otherwise g is stopped
// gracefully (in-flight uploads stay resumable), and an agent with the new configuration starts;
// should that fail (its manifests locked by another agent, say), the previous configuration starts
// again. An error means neither could: run then exits with it.
func (a *app) reload(ctx context.Context, cfgPath string, g *generation) (*generation, error) {
	log := g.plan.log
	log.Info().Str("config", cfgPath).Msg("SIGHUP: reloading the configuration")
	cfg, err := config.Load(cfgPath)
	var next *runPlan
	if err == nil {
		next, err = a.planRun(cfg, g.plan.col, false)
	}
	if err != nil {
		if probs := config.Problems(err); len(probs) > 0 {
			for _, p := range probs {
				log.Error().Str("problem", p.Error()).Msg("new configuration refused")
			}
		} else {
			log.Error().Err(err).Msg("new configuration refused")
		}
		log.Warn().Msg("configuration not reloaded; still running the previous one")
		return g, nil
	}
	if err := g.stop(); err != nil {
		log.Error().Err(err).Msg("the previous agent stopped with an error")
	}
	ng, err := startGeneration(ctx, next)
	if err == nil {
		next.log.Info().Strs("folders", ng.ag.Folders()).Msg("configuration reloaded")
		return ng, nil
	}
	next.log.Error().Err(err).Msg("the new configuration cannot start; going back to the previous one")
	ng, perr := startGeneration(ctx, g.plan)
	if perr != nil {
		return nil, fmt.Errorf("reload: the new configuration cannot start (%w), nor the previous one again: %w", err, perr)
	}
	return ng, nil
}

// generation is one agent running one plan until it is stopped or fails.
type generation struct {
	plan   *runPlan
	ag     *agent.Agent
	cancel context.CancelFunc
	done   chan error // receives the outcome once: nil after a stop or cancellation
}

// startGeneration opens p's manifests and runs an agent over them (and its status backend: the
// http.listen listener, if configured, and the control sockets; serve.go) until ctx is cancelled or
// [generation.stop].
func startGeneration(ctx context.Context, p *runPlan) (*generation, error) {
	if p.col != nil {
		p.col.NewSession() // kept across a reload, but the pause and the parked folders were the old agent's
	}
	b := newBackend(folderPaths(p.cfg.Folders), p.log)
	nt := newNotifier(p.cfg, p.log) // one per generation: a Notifier runs once
	aopts := p.aopts
	aopts.Observer = withNotify(agent.Observers(aopts.Observer, b), nt)
	ag, err := agent.New(p.up, aopts, p.log)
	if err != nil {
		return nil, err
	}
	w, err := newWatcher(ag, p.cfg, p.log)
	if err != nil {
		if cerr := ag.Close(); cerr != nil {
			p.log.Error().Err(cerr).Msg("cannot save state")
		}
		return nil, err
	}
	gctx, cancel := context.WithCancel(ctx)
	g := &generation{plan: p, ag: ag, cancel: cancel, done: make(chan error, 1)}
	p.log.Info().Strs("folders", ag.Folders()).Str("api", p.cfg.API.Version).Msg("watching")
	go func() {
		eg, ectx := errgroup.WithContext(gctx)
		// The listener (one that cannot start stops the run, exit 1, rather than run unobserved)
		// and the control sockets.
		err := serveAgent(ectx, eg, p.cfg, ag, b, p.col, p.log)
		if err == nil {
			if nt != nil {
				eg.Go(func() error { return nt.Run(ectx) })
			}
			eg.Go(func() error { return ag.Run(ectx, w) })
		}
		if werr := eg.Wait(); err == nil {
			err = werr
		}
		b.wait()
		if errors.Is(err, context.Canceled) {
			err = nil
		}
		if cerr := ag.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("save state: %w", cerr)
		}
		g.done <- err
	}()
	return g, nil
}

// stop ends g gracefully and waits: in-flight requests are abandoned resumably, the manifests
// saved and unlocked.
func (g *generation) stop() error {
	g.cancel()
	return <-g.done
}
