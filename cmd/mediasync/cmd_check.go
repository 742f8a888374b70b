package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

func (a *app) checkCmd() *cobra.Command {
	var online bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration, the folders and the credentials",
		Long: `Check the configuration (every problem, with file and line), every folder (exists, readable, its
manifest readable and its location writable) and the credentials (present for the chosen API and auth).
--online also makes one authenticated call (v2 GET /2/users/me, v1.1 GET
/1.1/account/verify_credentials.json), one attempt within --timeout, and says
whether the credentials work, whether X refuses the account (and what to do),
or whether the API could not be reached at all (DNS, connection refused,
timeout, TLS), naming the host it tried. A v2 token without users.read is
fine if it may upload: a harmless STATUS request tells.
Exits 0 when all is well, 2 for configuration problems, 1 for any other problem.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := config.Find(a.configPath)
			if err != nil {
				return err
			}
			cfg, err := config.Load(path)
			if err != nil {
				fmt.Fprintf(a.stdout, "config  %s: problems:\n", path)
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintf(a.stdout, "  %s\n", line)
				}
				return &exitError{code: exitUsage, silent: true, err: err}
			}
			fmt.Fprintf(a.stdout, "config  %s: ok (api %s, auth %s, %s)\n", path, cfg.API.Version, cfg.API.Auth, cfg.API.BaseURL)
			for _, w := range cfg.Warnings() {
				fmt.Fprintf(a.stdout, "warning %s\n", w)
			}
			problems, usage := 0, false
			if len(cfg.Folders) == 0 {
				fmt.Fprintln(a.stdout, "folders none configured: 'run' has nothing to watch")
				usage = true
			}
			for _, f := range cfg.Folders {
				if msg := checkFolder(f); msg != "" {
					fmt.Fprintf(a.stdout, "folder  %s: %s\n", f.Path, msg)
					problems++
				} else {
					fmt.Fprintf(a.stdout, "folder  %s: ok (manifest %s)\n", f.Path, f.Manifest)
				}
			}
			if missing := cfg.Credentials.Missing(cfg.API.Version, cfg.API.Auth); len(missing) > 0 {
				fmt.Fprintf(a.stdout, "credentials missing: %s\n", strings.Join(missing, ", "))
				usage = true
			} else {
				fmt.Fprintf(a.stdout, "credentials present for %s\n", cfg.API.Auth)
				if online {
					ok, err := a.checkOnline(cmd.Context(), cfg, timeout)
					if err != nil {
						return err
					}
					if !ok {
						problems++
					}
				}
			}
			switch {
			case usage:
				return &exitError{code: exitUsage, silent: true, err: errors.New("configuration incomplete")}
			case problems > 0:
				return &exitError{code: exitFailure, silent: true, err: fmt.Errorf("%d problem(s)", problems)}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&online, "online", false, "also make one authenticated call to the API")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long --online waits for the API before calling it unreachable")
	return cmd
}

// checkOnline makes one authenticated call, one attempt within timeout, and
// prints what it proves: the account, a network problem naming the host
// tried, or the account refusal with its advice. A token refused by
// GET /2/users/me (users.read missing) that may still upload (a harmless
// STATUS passes) is not a problem. It reports whether all is well; the
// error is for a client that cannot be built.
func (a *app) checkOnline(ctx context.Context, cfg *config.Config, timeout time.Duration) (bool, error) {
	uo := uploaderOptions(cfg, zerolog.Nop())
	uo.MaxAttempts, uo.RequestTimeout, uo.MaxInlineWait, uo.OnRetry = 1, timeout, time.Second, nil
	up, err := newUploaderWith(cfg, uo)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*timeout)
	defer cancel()
	base := cfg.API.BaseURL
	who, err := up.VerifyCredentials(ctx)
	var ae *uploader.APIError
	if errors.As(err, &ae) && ae.StatusCode == http.StatusForbidden && cfg.API.Version == config.VersionV2 {
		// users/me needs users.read, which uploading does not: ask what uploading needs.
		if perr := up.ProbeUpload(ctx); perr == nil {
			fmt.Fprintf(a.stdout, "online  %s: ok, authenticated; users.read missing (only needed for check)\n", base)
			return true, nil
		}
	}
	var we *uploader.WaitError
	switch {
	case err == nil:
		fmt.Fprintf(a.stdout, "online  %s: ok, authenticated as %s\n", base, who)
		return true, nil
	case errors.As(err, &we):
		fmt.Fprintf(a.stdout, "online  %s: credentials accepted, but rate limited until %s (%s)\n", base, we.Until.Local().Format(time.DateTime), we.Reason)
		return true, nil
	}
	if kind, host, ok := uploader.NetworkProblem(err); ok {
		if host == "" {
			host = hostOf(base)
		}
		fmt.Fprintf(a.stdout, "online  %s: cannot reach %s (%s): %v\n", base, host, kind, err)
		fmt.Fprintln(a.stdout, "        a network problem, not the credentials: check api.base_url, DNS, the connection and any proxy")
		return false, nil
	}
	if r, ok := uploader.AccountRefusal(err); ok {
		fmt.Fprintf(a.stdout, "online  %s: credentials refused (%s): %v\n", base, r, err)
		fmt.Fprintf(a.stdout, "        %s\n", r.Advice())
		return false, nil
	}
	fmt.Fprintf(a.stdout, "online  %s: credentials do not work: %v\n", base, err)
	return false, nil
}

// hostOf is the host[:port] of a base URL.
func hostOf(base string) string {
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		return u.Host
	}
	return base
}

// checkFolder returns what is wrong with a folder, or "".
func checkFolder(f config.Folder) string {
	st, err := os.Stat(f.Path)
	if err != nil {
		return err.Error()
	}
	if !st.IsDir() {
		return "not a directory"
	}
	if _, err := os.ReadDir(f.Path); err != nil {
		return "not readable: " + err.Error()
	}
	if _, err := manifest.Read(f.Manifest); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err.Error()
	}
	// The agent creates the manifest's directory (and its parents): check the nearest one that exists.
	dir := filepath.Dir(f.Manifest)
	for {
		if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) || filepath.Dir(dir) == dir {
			break
		}
		dir = filepath.Dir(dir)
	}
	tmp, err := os.CreateTemp(dir, ".mediasync-check-*")
	if err != nil {
		return "manifest location not writable: " + err.Error()
	}
	tmp.Close()
	os.Remove(tmp.Name())
	return ""
}
