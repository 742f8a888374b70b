package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/emulator"
)

func (a *app) emulateCmd() *cobra.Command {
	var (
		listen, store, bandwidth, edgeLimit string
		logLevel                            string
		creds                               emulator.Credentials
		f                                   = emulator.DefaultFaults()
	)
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "Run the local X media upload API emulator",
		Long: `Run a local, faithful stand-in for the X media upload API (v2 and v1.1 under one base URL), for
dry runs, demos and CI of your own posting pipeline. It verifies OAuth 1.0a signatures and bearer
tokens, enforces X's size, type, segment and rate limits, processes video and GIF asynchronously, and
expires media ids. Faults can be injected with the flags below or at run time with
POST /_emulator/faults; GET /_emulator/media lists what was uploaded, with the sha256 of its bytes.

Credentials come from the flags, else MEDIASYNC_EMULATOR_* variables, else fixed demo values that it
prints at start.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(a.stderr, logLevel, "auto")
			fillEmulatorCreds(&creds)
			if bandwidth != "" {
				n, err := emulator.ParseSize(bandwidth)
				if err != nil {
					return usageError{fmt.Errorf("--bandwidth: %w", err)}
				}
				f.Bandwidth = n
			}
			if edgeLimit != "" {
				n, err := emulator.ParseSize(edgeLimit)
				if err != nil {
					return usageError{fmt.Errorf("--edge-body-limit: %w", err)}
				}
				f.EdgeBodyLimit = n
			}
			if err := f.Validate(); err != nil {
				return usageError{err}
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			opts := emulator.Options{Credentials: creds, Faults: f, StoreDir: store, Log: log}
			return emulator.ListenAndServe(ctx, listen, opts, func(url string) {
				fmt.Fprintf(a.stdout, "X media API emulator listening on %s\n", url)
				if creds == emulator.DemoCredentials() {
					d := emulator.DemoCredentials()
					fmt.Fprintf(a.stdout, "demo credentials (set --consumer-key etc. or MEDIASYNC_EMULATOR_* to change):\n"+
						"  consumer_key: %s\n  consumer_secret: %s\n  access_token: %s\n  access_token_secret: %s\n  bearer_token: %s\n"+
						"  app_bearer_token: %s (app-only: refused as X refuses it)\n",
						d.ConsumerKey, d.ConsumerSecret, d.AccessToken, d.AccessTokenSecret, d.BearerToken, d.AppBearerToken)
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	fl.StringVar(&store, "store", "", "directory for uploaded bytes (default: a temporary directory removed at exit)")
	fl.StringVar(&creds.ConsumerKey, "consumer-key", "", "OAuth 1.0a consumer key to accept")
	fl.StringVar(&creds.ConsumerSecret, "consumer-secret", "", "OAuth 1.0a consumer secret")
	fl.StringVar(&creds.AccessToken, "access-token", "", "OAuth 1.0a access token")
	fl.StringVar(&creds.AccessTokenSecret, "access-token-secret", "", "OAuth 1.0a access token secret")
	fl.StringVar(&creds.BearerToken, "bearer-token", "", "OAuth 2.0 user bearer token to accept (v2)")
	fl.StringVar(&creds.AppBearerToken, "app-bearer-token", "", "app-only bearer token to refuse as X does (403 Unsupported Authentication)")
	fl.DurationVar(&f.Latency, "latency", f.Latency, "latency added to every request, e.g. 50ms")
	fl.StringVar(&bandwidth, "bandwidth", "", "per-connection cap on request bodies, bytes per second, e.g. 20MB")
	fl.StringVar(&edgeLimit, "edge-body-limit", "", "largest request body X's edge lets through, e.g. 5MiB; larger ones get 413 with an empty body (default: none)")
	fl.Float64Var(&f.FailRate, "fail-rate", f.FailRate, "share of requests answered with a retryable 5xx (0..1)")
	fl.Float64Var(&f.DropRate, "drop-rate", f.DropRate, "share of requests whose connection is cut mid-body (0..1)")
	fl.Float64Var(&f.LoseAnswerRate, "lose-answer-rate", f.LoseAnswerRate, "share of requests processed whose answer is lost (0..1)")
	fl.IntVar(&f.RateLimit, "rate-limit", f.RateLimit, "requests per endpoint per window (default: X's real limits)")
	fl.DurationVar(&f.RateWindow, "rate-window", f.RateWindow, "rate-limit window (default: X's real windows)")
	fl.DurationVar(&f.ProcessingTime, "processing-time", f.ProcessingTime, "how long video and GIF processing takes")
	fl.BoolVar(&f.FailProcessing, "fail-processing", f.FailProcessing, "make video and GIF processing fail")
	fl.BoolVar(&f.OmitCheckAfter, "omit-check-after", f.OmitCheckAfter, "send processing_info without check_after_secs, as X sometimes does")
	fl.BoolVar(&f.StuckWithError, "stuck-with-error", f.StuckWithError, "leave processing in_progress at 99% with an error object instead of failed, as X sometimes does")
	fl.IntVar(&f.DailyAppLimit, "daily-app-limit", f.DailyAppLimit, "per-app requests per v2 media endpoint per daily window (default: X's 24-hour caps)")
	fl.IntVar(&f.DailyUserLimit, "daily-user-limit", f.DailyUserLimit, "per-user requests per v2 media endpoint per daily window (default: the app's)")
	fl.DurationVar(&f.DailyWindow, "daily-window", f.DailyWindow, "window of the daily budgets (default 24h)")
	fl.Int64Var(&f.Seed, "seed", f.Seed, "seed for the random faults, to make them repeatable")
	fl.BoolVar(&f.CreditsDepleted, "credits-depleted", f.CreditsDepleted, "answer every API request 402 CreditsDepleted (pay-per-use account out of credits)")
	fl.BoolVar(&f.UnsupportedAuthentication, "unsupported-authentication", f.UnsupportedAuthentication, "answer every API request 403 Unsupported Authentication (app-only token)")
	fl.BoolVar(&f.ClientForbidden, "client-forbidden", f.ClientForbidden, "answer every API request 403 Client Forbidden (app not attached to a Project)")
	fl.BoolVar(&f.MissingScope, "missing-scope", f.MissingScope, "answer every API request 403 Forbidden (token without media.write)")
	fl.StringVar(&logLevel, "log-level", "info", "debug | info | warn | error")
	return cmd
}

// fillEmulatorCreds takes unset credentials from MEDIASYNC_EMULATOR_* and, when none is set at all,
// uses the demo credentials.
func fillEmulatorCreds(c *emulator.Credentials) {
	for _, v := range []struct {
		dst *string
		env string
	}{
		{&c.ConsumerKey, "MEDIASYNC_EMULATOR_CONSUMER_KEY"},
		{&c.ConsumerSecret, "MEDIASYNC_EMULATOR_CONSUMER_SECRET"},
		{&c.AccessToken, "MEDIASYNC_EMULATOR_ACCESS_TOKEN"},
		{&c.AccessTokenSecret, "MEDIASYNC_EMULATOR_ACCESS_TOKEN_SECRET"},
		{&c.BearerToken, "MEDIASYNC_EMULATOR_BEARER_TOKEN"},
		{&c.AppBearerToken, "MEDIASYNC_EMULATOR_APP_BEARER_TOKEN"},
	} {
		if *v.dst == "" {
			*v.dst = os.Getenv(v.env)
		}
	}
	if *c == (emulator.Credentials{}) {
		*c = emulator.DemoCredentials()
		return
	}
	d := emulator.DemoCredentials()
	for _, v := range []struct{ dst, def *string }{
		{&c.ConsumerKey, &d.ConsumerKey}, {&c.ConsumerSecret, &d.ConsumerSecret}, {&c.AccessToken, &d.AccessToken},
		{&c.AccessTokenSecret, &d.AccessTokenSecret}, {&c.BearerToken, &d.BearerToken},
		{&c.AppBearerToken, &d.AppBearerToken},
	} {
		if *v.dst == "" {
			*v.dst = *v.def
		}
	}
}
