package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/auth"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/uploader"
)

func (a *app) authCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Log in to X with OAuth 2.0, show the login, or log out",
		Long: `Manage the OAuth 2.0 login used with api.auth: oauth2 (and no credentials.bearer_token).

'auth login' runs X's Authorization Code flow with PKCE: it listens on api.redirect_url (default
http://127.0.0.1:8765/callback, which must be registered for the app in X's developer portal), opens
a browser at X's authorization page, and stores the grant in credentials.token_file (mode 0600).
Every mediasync process then refreshes the access token (2 hours) by itself, sharing the file under
a lock; a running agent picks up a new login without a restart.`,
	}
	cmd.AddCommand(a.authLoginCmd(), a.authStatusCmd(), a.authLogoutCmd())
	return cmd
}

// authSetup loads the config and returns it with the OAuth 2.0 client and the token file.
func (a *app) authSetup(log zerolog.Logger) (*config.Config, auth.Config, *auth.Store, error) {
	cfg, err := a.loadConfig()
	if err != nil {
		return nil, auth.Config{}, nil, err
	}
	st, err := tokenStore(cfg, log)
	if err != nil {
		return nil, auth.Config{}, nil, err
	}
	return cfg, authConfig(cfg), st, nil
}

func (a *app) authLoginCmd() *cobra.Command {
	var (
		noBrowser bool
		timeout   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Authorize mediasync with your X account (OAuth 2.0 with PKCE)",
		Long: `Authorize mediasync with your X account and store the grant in credentials.token_file.

The browser opens X's authorization page; after you approve, X sends it back to api.redirect_url on
this machine, where mediasync is listening, and the login completes.

On a machine without a browser (a NAS over SSH) use --no-browser: open the printed URL in a browser
anywhere and approve. That browser then ends on a page that cannot load (http://127.0.0.1:8765/...);
copy its address from the address bar and paste it here (or just the code= value).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(a.stderr, "info", "auto")
			cfg, ac, st, err := a.authSetup(log)
			if err != nil {
				return err
			}
			if ac.ClientID == "" {
				return fmt.Errorf("%w: credentials.client_id is not set (or MEDIASYNC_CLIENT_ID): the app's OAuth 2.0 Client ID from X's developer portal", config.ErrInvalid)
			}
			if cfg.API.Auth != config.AuthOAuth2 {
				fmt.Fprintf(a.stdout, "Note: api.auth is %s; set api.auth: oauth2 to upload with this login.\n", cfg.API.Auth)
			} else if cfg.Credentials.BearerToken != "" {
				fmt.Fprintln(a.stdout, "Note: credentials.bearer_token is set and wins over this login; remove it to use the login.")
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			tok, err := auth.Login(ctx, ac, st, auth.LoginOptions{
				NoBrowser: noBrowser, In: a.stdin, Out: a.stdout, Timeout: timeout,
				HTTPClient: &http.Client{Transport: uploader.NewTransport()},
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nLogged in. Scopes: %s. Token file: %s (mode 0600).\n", tok.Scope, st.Path())
			if who, err := whoAmI(ctx, cfg, st); err == nil {
				fmt.Fprintf(a.stdout, "Authorized as %s.\n", who)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "print the URL instead of opening a browser, and accept the pasted redirect URL or code")
	cmd.Flags().DurationVar(&timeout, "timeout", auth.DefaultLoginTimeout, "how long to wait for the authorization")
	return cmd
}

func (a *app) authStatusCmd() *cobra.Command {
	var offline bool
	return &cobra.Command{
		Use:   "status",
		Short: "Show the OAuth 2.0 login: who, scopes, expiry, token file (never a token)",
		Long: `Show the OAuth 2.0 login: the account (GET /2/users/me, which may refresh the access token),
the scopes, when the access token expires, whether there is a refresh token, and the token file with
its mode. Tokens are never shown. Exits 1 when a login is needed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(a.stderr, "info", "auto")
			cfg, ac, st, err := a.authSetup(log)
			if err != nil {
				return err
			}
			w := a.stdout
			fmt.Fprintf(w, "token file    %s", st.Path())
			if fi, err := os.Stat(st.Path()); err == nil {
				fmt.Fprintf(w, " (mode %04o)", fi.Mode().Perm())
			}
			fmt.Fprintln(w)
			if cfg.API.Auth != config.AuthOAuth2 {
				fmt.Fprintf(w, "note          api.auth is %s: uploads do not use this login\n", cfg.API.Auth)
			} else if cfg.Credentials.BearerToken != "" {
				fmt.Fprintln(w, "note          credentials.bearer_token is set and wins over this login")
			}
			tok, err := st.Load()
			if err != nil {
				fmt.Fprintf(w, "login         needed: %v\n", err)
				return &exitError{code: exitFailure, silent: true, err: err}
			}
			if tok.Invalid != "" {
				fmt.Fprintf(w, "login         needed: %s; run: mediasync auth login\n", tok.Invalid)
				return &exitError{code: exitFailure, silent: true, err: auth.ErrLoginRequired}
			}
			fmt.Fprintf(w, "client id     %s", tok.ClientID)
			if ac.ClientID != "" && tok.ClientID != ac.ClientID {
				fmt.Fprint(w, " (not credentials.client_id: log in again)")
			}
			fmt.Fprintln(w)
			fmt.Fprintf(w, "scopes        %s\n", tok.Scope)
			if !tok.HasScope("media.write") {
				fmt.Fprintln(w, "warning       no media.write scope: uploads will be refused (403)")
			}
			now := time.Now()
			if now.Before(tok.Expiry) {
				fmt.Fprintf(w, "access token  expires %s (in %s)\n", tok.Expiry.Local().Format(time.RFC3339), tok.Expiry.Sub(now).Round(time.Second))
			} else {
				fmt.Fprintf(w, "access token  expired %s (%s ago; refreshed at the next request)\n", tok.Expiry.Local().Format(time.RFC3339), now.Sub(tok.Expiry).Round(time.Second))
			}
			if tok.RefreshToken != "" {
				fmt.Fprintf(w, "refresh token yes (%d refreshes since the login at %s)\n", tok.Refreshes, tok.LoggedIn.Local().Format(time.RFC3339))
			} else {
				fmt.Fprintln(w, "refresh token no (the login lacked offline.access: log in again when the access token expires)")
			}
			if offline {
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			who, err := whoAmI(ctx, cfg, st)
			if err != nil {
				fmt.Fprintf(w, "user          unknown: %v\n", err)
				if auth.IsLoginRequired(err) {
					return &exitError{code: exitFailure, silent: true, err: err}
				}
				return nil
			}
			fmt.Fprintf(w, "user          %s\n", who)
			return nil
		},
	}
}

func (a *app) authLogoutCmd() *cobra.Command {
	var noRevoke bool
	cmd := &cobra.Command{
		Use:   "logout",
		Short: "Revoke the OAuth 2.0 grant and remove the token file",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(a.stderr, "info", "auto")
			_, ac, st, err := a.authSetup(log)
			if err != nil {
				return err
			}
			tok, err := st.Load()
			if errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(a.stdout, "Not logged in (no %s).\n", st.Path())
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err == nil && !noRevoke && tok.Invalid == "" {
				if rerr := auth.Revoke(ctx, ac, &http.Client{Transport: uploader.NewTransport()}, tok); rerr != nil {
					fmt.Fprintf(a.stdout, "Could not revoke the grant at X (%v); removing the token file anyway (revoke the app under Settings > Security > Connected apps).\n", rerr)
				} else {
					fmt.Fprintln(a.stdout, "Revoked the grant at X.")
				}
			}
			if err := st.Remove(ctx); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Logged out: removed %s.\n", st.Path())
			return nil
		},
	}
	cmd.Flags().BoolVar(&noRevoke, "no-revoke", false, "only remove the token file; do not ask X to revoke the grant")
	return cmd
}

// whoAmI returns "@username (id)" from GET /2/users/me through the OAuth 2.0 transport.
func whoAmI(ctx context.Context, cfg *config.Config, st *auth.Store) (string, error) {
	hc := &http.Client{Transport: &auth.Transport{Store: st, Config: authConfig(cfg), Base: uploader.NewTransport()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cfg.API.BaseURL, "/")+"/2/users/me", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		var le *auth.LoginRequiredError
		if errors.As(err, &le) {
			return "", le
		}
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return "", errors.New("GET /2/users/me answered 403 (the grant lacks users.read or tweet.read)")
	case resp.StatusCode != http.StatusOK:
		return "", fmt.Errorf("GET /2/users/me answered %s", resp.Status)
	}
	var v struct {
		Data struct{ ID, Username, Name string } `json:"data"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Data.ID == "" {
		return "", errors.New("GET /2/users/me: unexpected answer")
	}
	return fmt.Sprintf("@%s (id %s)", v.Data.Username, v.Data.ID), nil
}
