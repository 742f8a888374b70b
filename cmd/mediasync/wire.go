package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/dghubble/oauth1"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/hook"
	"github.com/mediasync/mediasync/uploader"
	"github.com/mediasync/mediasync/watcher"
)

// newHTTPClient returns the authenticated client of cfg: OAuth 1.0a user context (signed per request
// by dghubble/oauth1, so every retry gets a fresh nonce) or OAuth 2.0 user context. For OAuth 2.0 a
// fixed credentials.bearer_token, when set, wins (sent as is, never refreshed); otherwise the grant of
// `mediasync auth login` in credentials.token_file is used through an auth.Transport, which
// refreshes it and fails requests with an *auth.LoginRequiredError when a new login is needed.
func newHTTPClient(cfg *config.Config, log zerolog.Logger) (*http.Client, error) {
	if missing := cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth); len(missing) > 0 {
		return nil, fmt.Errorf("%w: credentials not set: %v", config.ErrInvalid, missing)
	}
	base := uploader.NewTransport()
	if conns := cfg.Upload.Workers*cfg.Upload.ChunkParallelism + 4; conns > base.MaxIdleConnsPerHost {
		base.MaxIdleConnsPerHost, base.MaxIdleConns = conns, 2*conns
	}
	c := cfg.Credentials
	if cfg.API.Auth == config.AuthOAuth2 {
		if c.BearerToken != "" {
			return &http.Client{Transport: &bearerTransport{token: c.BearerToken.Reveal(), base: base}}, nil
		}
		tr, err := newAuthTransport(cfg, base, log)
		if err != nil {
			return nil, err
		}
		return &http.Client{Transport: tr}, nil
	}
	ctx := context.WithValue(context.Background(), oauth1.HTTPClient, &http.Client{Transport: base})
	oc := oauth1.NewConfig(c.ConsumerKey.Reveal(), c.ConsumerSecret.Reveal())
	return oc.Client(ctx, oauth1.NewToken(c.AccessToken.Reveal(), c.AccessTokenSecret.Reveal())), nil
}

// authConfig is the OAuth 2.0 client of cfg, with the endpoints that go with api.base_url (X's own
// for https://api.x.com, else the same paths on the base URL, as the emulator serves them).
func authConfig(cfg *config.Config) auth.Config {
	a, t, r := auth.Endpoints(cfg.API.BaseURL)
	return auth.Config{
		ClientID:     cfg.Credentials.ClientID.Reveal(),
		ClientSecret: cfg.Credentials.ClientSecret.Reveal(),
		AuthURL:      a, TokenURL: t, RevokeURL: r,
		RedirectURL: cfg.API.RedirectURL,
	}
}

// tokenStore is the OAuth 2.0 token file of cfg.
func tokenStore(cfg *config.Config, log zerolog.Logger) (*auth.Store, error) {
	if cfg.Credentials.TokenFile == "" {
		return nil, fmt.Errorf("%w: credentials.token_file: there is no user config directory to put the OAuth 2.0 token file in; set it", config.ErrInvalid)
	}
	return auth.NewStore(cfg.Credentials.TokenFile, log), nil
}

// newAuthTransport returns the refreshing OAuth 2.0 transport over base.
func newAuthTransport(cfg *config.Config, base http.RoundTripper, log zerolog.Logger) (*auth.Transport, error) {
	st, err := tokenStore(cfg, log)
	if err != nil {
		return nil, err
	}
	return &auth.Transport{Store: st, Config: authConfig(cfg), Base: base}, nil
}

// bearerTransport adds an OAuth 2.0 bearer token to a clone of each request.
type bearerTransport struct {
	token string
	base  http.RoundTripper
}

func (t *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r2 := r.Clone(r.Context())
	r2.Header.Set("Authorization", "Bearer "+t.token)
	return t.base.RoundTrip(r2)
}

func uploaderOptions(cfg *config.Config, log zerolog.Logger) uploader.Options {
	u := cfg.Upload
	return uploader.Options{
		BaseURL:           cfg.API.BaseURL,
		Version:           cfg.API.Version,
		ChunkSize:         int64(u.ChunkSize),
		ChunkParallelism:  u.ChunkParallelism,
		SimpleUploadMax:   simpleUploadMax(int64(u.SimpleUploadMax)),
		MaxAttempts:       u.MaxAttempts,
		MaxBackoff:        time.Duration(u.MaxBackoff),
		RequestTimeout:    time.Duration(u.RequestTimeout),
		ProcessingTimeout: time.Duration(u.ProcessingTimeout),
		BandwidthLimit:    int64(u.BandwidthLimit),
		Log:               log,
		OnRetry: func(op string, attempt int, err error, wait time.Duration) {
			log.Warn().Str("op", op).Int("attempt", attempt).Err(err).Dur("retry_in", wait).Msg("request failed; retrying")
		},
	}
}

// simpleUploadMax maps the config's simple_upload_max to the uploader's option: in the config 0 means
// "no one-shot uploads" (every upload chunked, hence resumable after a crash), while the uploader reads
// 0 as "the default" and a negative value as none.
func simpleUploadMax(n int64) int64 {
	if n == 0 {
		return -1
	}
	return n
}

func newUploader(cfg *config.Config, log zerolog.Logger) (*uploader.Client, error) {
	return newUploaderWith(cfg, uploaderOptions(cfg, log))
}

// newUploaderWith builds the client with options derived from cfg (and possibly extended), checked
// once here so that a bad setting is a configuration error, not a failure of every file.
func newUploaderWith(cfg *config.Config, uo uploader.Options) (*uploader.Client, error) {
	if err := uo.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", config.ErrInvalid, err)
	}
	hc, err := newHTTPClient(cfg, uo.Log)
	if err != nil {
		return nil, err
	}
	return uploader.New(hc, uo), nil
}

func agentOptions(cfg *config.Config) agent.Options {
	o := agent.Options{
		Workers: cfg.Upload.Workers,
		API:     cfg.API.Version,
	}
	for _, f := range cfg.Folders {
		o.Folders = append(o.Folders, agentFolder(f))
	}
	return o
}

// agentFolder maps a configured folder onto the agent's.
func agentFolder(f config.Folder) agent.Folder {
	return agent.Folder{
		Path:                f.Path,
		Recursive:           f.Recursive,
		Include:             f.Include,
		Exclude:             f.Exclude,
		Category:            f.MediaCategory,
		AdditionalOwners:    f.AdditionalOwners,
		AltText:             f.AltText,
		MoveTo:              f.MoveDir(),
		Manifest:            f.Manifest,
		RefreshBeforeExpiry: time.Duration(f.RefreshBeforeExpiry),
		OnUpload:            hook.Spec{Command: f.OnUpload.Command, Timeout: f.OnUpload.Timeout.D(), Env: f.OnUpload.Env},
		Fit:                 agent.FitPolicy{Auto: f.Fit == "auto", MaxEdge: f.FitMaxEdge, KeepMetadata: !f.FitStripMetadata},
	}
}

// watchOptions maps the watch section of cfg onto the watcher's options; the agent adds the roots
// ([agent.Agent.WatchOptions]). A rescan_interval of 0 disables the safety-net rescan, as it does
// in the watcher.
func watchOptions(cfg *config.Config) watcher.Options {
	w := cfg.Watch
	return watcher.Options{
		Mode:             w.Mode,
		SettleFor:        time.Duration(w.Settle),
		NetworkSettleFor: time.Duration(w.NetworkSettle),
		PollInterval:     time.Duration(w.PollInterval),
		RescanEvery:      time.Duration(w.RescanInterval),
		Ignore:           w.Ignore,
	}
}

// newWatcher returns the file source (and one-shot scanner) of ag's folders.
func newWatcher(ag *agent.Agent, cfg *config.Config, log zerolog.Logger) (*watcher.Watcher, error) {
	w, err := watcher.New(ag.WatchOptions(watchOptions(cfg)), log)
	if err != nil {
		return nil, fmt.Errorf("watch: %w", err)
	}
	return w, nil
}
