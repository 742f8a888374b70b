package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/mediasync/mediasync/emulator"
)

func (a *app) emulateCmd() *cobra.Command {
	var (
		listen, store, bandwidth, edgeLimit string
		credsFile                           string
		logLevel                            string
		creds                               emulator.Credentials
		f                                   = emulator.DefaultFaults()
		o2                                  = emulator.DemoOAuth2()
	)
	cmd := &cobra.Command{
		Use:   "emulate",
		Short: "Run the local X media upload API emulator",
		Long: `Run a local, faithful stand-in for the X media upload API (v2 and v1.1 under one base URL), for
dry runs, demos and CI of your own posting pipeline. It verifies OAuth 1.0a signatures and bearer
tokens, enforces X's size, type, segment and rate limits, processes video and GIF asynchronously, and
expires media ids. Faults can be injected with the flags below or at run time with
POST /_emulator/faults; GET /_emulator/media lists what was uploaded, with the sha256 of its bytes.

Credentials, each on its own: a flag, else the --credentials-file, else a MEDIASYNC_EMULATOR_*
variable (CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_TOKEN_SECRET, BEARER_TOKEN,
APP_BEARER_TOKEN), else a fixed demo value; the demo values are printed at start. Prefer the
variables or the file for secrets: command-line flags show up in 'ps' for every user of the machine
(a warning is logged when a secret is given as a flag). The credentials file is YAML, the block the
demo prints:

  consumer_key: ...
  consumer_secret: ...
  access_token: ...
  access_token_secret: ...
  bearer_token: ...        # OAuth 2.0 user token (v2)
  app_bearer_token: ...    # an app-only token, refused as X refuses it

Keep it private (chmod 600): a warning is logged when others can read it.

It is also an OAuth 2.0 authorization server (Authorization Code with PKCE, as X's): GET
/i/oauth2/authorize approves at once and redirects to the registered callback, POST /2/oauth2/token
issues access tokens that expire after --oauth2-token-lifetime and single-use refresh tokens (reusing
a spent one revokes the grant, as on X), POST /2/oauth2/revoke. Point mediasync at it with
api.base_url, api.auth: oauth2, credentials.client_id and run 'mediasync auth login'. Admin:
GET /_emulator/oauth2 (grants), POST /_emulator/oauth2/revoke-all, POST /_emulator/oauth2/token-fault
{"next":3,"status":503} (status 0 cuts the connection).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(a.stderr, logLevel, "auto")
			for _, name := range secretEmulatorFlags {
				if cmd.Flags().Changed(name) {
					log.Warn().Str("flag", "--"+name).Msg("secret given on the command line: other users can read it with ps; " +
						"use a MEDIASYNC_EMULATOR_* variable or --credentials-file")
				}
			}
			var fromFile emulator.Credentials
			if credsFile != "" {
				var err error
				var shared bool
				if fromFile, shared, err = readEmulatorCredsFile(credsFile); err != nil {
					return usageError{err}
				}
				if shared {
					log.Warn().Str("file", credsFile).Msg("credentials file is readable by other users; chmod 600 it")
				}
			}
			fillEmulatorCreds(&creds, fromFile)
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
			if err := o2.Validate(); err != nil {
				return usageError{err}
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			opts := emulator.Options{Credentials: creds, Faults: f, StoreDir: store, Log: log, OAuth2: o2}
			return emulator.ListenAndServe(ctx, listen, opts, func(url string) {
				fmt.Fprintf(a.stdout, "X media API emulator listening on %s\n", url)
				if creds == emulator.DemoCredentials() {
					d := emulator.DemoCredentials()
					fmt.Fprintf(a.stdout, "demo credentials (set MEDIASYNC_EMULATOR_* or --credentials-file to change):\n"+
						"  consumer_key: %s\n  consumer_secret: %s\n  access_token: %s\n  access_token_secret: %s\n  bearer_token: %s\n"+
						"  app_bearer_token: %s (app-only: refused as X refuses it)\n",
						d.ConsumerKey, d.ConsumerSecret, d.AccessToken, d.AccessTokenSecret, d.BearerToken, d.AppBearerToken)
				}
				if o2.ClientID != "" {
					kind := "public client"
					if o2.ClientSecret != "" {
						kind = "confidential client"
					}
					fmt.Fprintf(a.stdout, "OAuth 2.0: client_id %s (%s), redirect %s, access tokens live %s\n", o2.ClientID, kind, o2.RedirectURL, o2.TokenLifetime)
				}
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "127.0.0.1:8089", "address to listen on")
	fl.StringVar(&store, "store", "", "directory for uploaded bytes (default: a temporary directory removed at exit)")
	fl.StringVar(&credsFile, "credentials-file", "", "YAML file with the credentials to accept (see above); keeps secrets out of ps")
	fl.StringVar(&creds.ConsumerKey, "consumer-key", "", "OAuth 1.0a consumer key to accept")
	fl.StringVar(&creds.ConsumerSecret, "consumer-secret", "", "OAuth 1.0a consumer secret (visible in ps: prefer the file or variable)")
	fl.StringVar(&creds.AccessToken, "access-token", "", "OAuth 1.0a access token")
	fl.StringVar(&creds.AccessTokenSecret, "access-token-secret", "", "OAuth 1.0a access token secret (visible in ps: prefer the file or variable)")
	fl.StringVar(&creds.BearerToken, "bearer-token", "", "OAuth 2.0 user bearer token to accept, v2 (visible in ps: prefer the file or variable)")
	fl.StringVar(&creds.AppBearerToken, "app-bearer-token", "", "app-only bearer token to refuse as X does with 403 Unsupported Authentication (visible in ps)")
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
	fl.StringVar(&o2.ClientID, "oauth2-client-id", o2.ClientID, "OAuth 2.0 client id to accept (\"\" turns the OAuth 2.0 server off)")
	fl.StringVar(&o2.ClientSecret, "oauth2-client-secret", "", "OAuth 2.0 client secret: makes the client confidential (HTTP Basic); empty = public client")
	fl.DurationVar(&o2.TokenLifetime, "oauth2-token-lifetime", o2.TokenLifetime, "lifetime of OAuth 2.0 access tokens (X: 2h)")
	fl.StringVar(&o2.RedirectURL, "oauth2-redirect-url", o2.RedirectURL, "the registered OAuth 2.0 callback URI")
	fl.StringVar(&logLevel, "log-level", "info", "debug | info | warn | error")
	return cmd
}

// secretEmulatorFlags are the flags that carry a secret.
var secretEmulatorFlags = []string{"consumer-secret", "access-token-secret", "bearer-token", "app-bearer-token", "oauth2-client-secret"}

// emulatorCredsFile is the YAML form of --credentials-file: the block the demo prints.
type emulatorCredsFile struct {
	ConsumerKey       string `yaml:"consumer_key"`
	ConsumerSecret    string `yaml:"consumer_secret"`
	AccessToken       string `yaml:"access_token"`
	AccessTokenSecret string `yaml:"access_token_secret"`
	BearerToken       string `yaml:"bearer_token"`
	AppBearerToken    string `yaml:"app_bearer_token"`
}

// readEmulatorCredsFile reads --credentials-file; shared reports that users other than its owner
// can read it. Errors name the file and the problem, never a value from it.
func readEmulatorCredsFile(path string) (c emulator.Credentials, shared bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return c, false, fmt.Errorf("--credentials-file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return c, false, fmt.Errorf("--credentials-file: %w", err)
	}
	dec := yaml.NewDecoder(io.LimitReader(f, 1<<20))
	dec.KnownFields(true)
	var y emulatorCredsFile
	if err := dec.Decode(&y); err != nil && !errors.Is(err, io.EOF) {
		return c, false, fmt.Errorf("--credentials-file %s: %s", path, yamlProblem(err))
	}
	c = emulator.Credentials{ConsumerKey: y.ConsumerKey, ConsumerSecret: y.ConsumerSecret, AccessToken: y.AccessToken,
		AccessTokenSecret: y.AccessTokenSecret, BearerToken: y.BearerToken, AppBearerToken: y.AppBearerToken}
	return c, st.Mode().Perm()&0o077 != 0, nil
}

// yamlProblem describes a YAML error by its line numbers only: yaml.v3's messages quote the
// offending value, which may be a secret.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		lines := make([]string, 0, len(te.Errors))
		for _, e := range te.Errors {
			if i := strings.Index(e, ":"); i > 0 && strings.HasPrefix(e, "line ") {
				e = e[:i]
			} else {
				e = "a value"
			}
			lines = append(lines, e)
		}
		return "not a mapping of the known keys (consumer_key, consumer_secret, access_token, access_token_secret, " +
			"bearer_token, app_bearer_token) with string values: see " + strings.Join(lines, ", ")
	}
	msg := "not valid YAML"
	if rest, ok := strings.CutPrefix(err.Error(), "yaml: line "); ok {
		if n, _, ok := strings.Cut(rest, ":"); ok {
			msg += " (line " + n + ")"
		}
	}
	return msg
}

// fillEmulatorCreds fills each credential not given as a flag from the credentials file, else from
// its MEDIASYNC_EMULATOR_* variable, else from the demo credentials.
func fillEmulatorCreds(c *emulator.Credentials, file emulator.Credentials) {
	d := emulator.DemoCredentials()
	for _, v := range []struct {
		dst  *string
		file string
		env  string
		demo string
	}{
		{&c.ConsumerKey, file.ConsumerKey, "MEDIASYNC_EMULATOR_CONSUMER_KEY", d.ConsumerKey},
		{&c.ConsumerSecret, file.ConsumerSecret, "MEDIASYNC_EMULATOR_CONSUMER_SECRET", d.ConsumerSecret},
		{&c.AccessToken, file.AccessToken, "MEDIASYNC_EMULATOR_ACCESS_TOKEN", d.AccessToken},
		{&c.AccessTokenSecret, file.AccessTokenSecret, "MEDIASYNC_EMULATOR_ACCESS_TOKEN_SECRET", d.AccessTokenSecret},
		{&c.BearerToken, file.BearerToken, "MEDIASYNC_EMULATOR_BEARER_TOKEN", d.BearerToken},
		{&c.AppBearerToken, file.AppBearerToken, "MEDIASYNC_EMULATOR_APP_BEARER_TOKEN", d.AppBearerToken},
	} {
		for _, src := range []string{v.file, os.Getenv(v.env), v.demo} {
			if *v.dst == "" {
				*v.dst = src
			}
		}
	}
}
