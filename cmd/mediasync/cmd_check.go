package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
)

func (a *app) checkCmd() *cobra.Command {
	var online bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the configuration, the folders and the credentials",
		Long: `Check the configuration (every problem, with file and line), every folder (exists, readable, its
manifest readable and its location writable) and the credentials (present for the chosen API and auth).
--online also makes one authenticated call (v2 GET /2/users/me, v1.1 GET
/1.1/account/verify_credentials.json) and says whether the credentials work.
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
					up, err := newUploader(cfg, zerolog.Nop())
					if err != nil {
						return err
					}
					ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
					defer cancel()
					who, err := up.VerifyCredentials(ctx)
					if err != nil {
						fmt.Fprintf(a.stdout, "online  %s: credentials do not work: %v\n", cfg.API.BaseURL, err)
						problems++
					} else {
						fmt.Fprintf(a.stdout, "online  %s: ok, authenticated as %s\n", cfg.API.BaseURL, who)
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
	return cmd
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
