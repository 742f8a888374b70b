package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/manifest"
)

func (a *app) getCmd() *cobra.Command {
	var field string
	cmd := &cobra.Command{
		Use:   "get FILE",
		Short: "Print a file's media id for a posting script",
		Long: `Print the media_id_string of FILE's manifest entry (or the field chosen with --field) and exit 0.
Exits 3 when the file has no uploaded entry, 4 when its media id has expired. The manifest is found
through the configuration, or else in a .mediasync directory in the file's directory or above it.

Fields: media_id_string, media_key, expires_at (RFC 3339), json (the whole entry).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("get takes exactly one FILE, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			switch field {
			case "media_id_string", "media_key", "expires_at", "json":
			default:
				return usageError{fmt.Errorf("--field must be media_id_string, media_key, expires_at or json, not %q", field)}
			}
			loc, err := a.locate(args[0])
			if errors.Is(err, errNoManifest) {
				return &exitError{code: exitNotFound, err: err}
			}
			if err != nil {
				return err
			}
			m, err := manifest.Read(loc.manifest)
			if errors.Is(err, fs.ErrNotExist) {
				return &exitError{code: exitNotFound, err: fmt.Errorf("%s: not uploaded (no manifest yet)", args[0])}
			}
			if err != nil {
				return err
			}
			e, ok := m.Files[loc.rel]
			if !ok || e.State != manifest.Uploaded {
				state := "no entry"
				if ok {
					state = "state " + string(e.State)
				}
				return &exitError{code: exitNotFound, err: fmt.Errorf("%s: not uploaded (%s)", args[0], state)}
			}
			if !e.ExpiresAt.After(time.Now()) {
				return &exitError{code: exitExpired, err: fmt.Errorf("%s: media id %s expired at %s", args[0],
					e.MediaIDString, e.ExpiresAt.Format(time.RFC3339))}
			}
			switch field {
			case "media_id_string":
				fmt.Fprintln(a.stdout, e.MediaIDString)
			case "media_key":
				fmt.Fprintln(a.stdout, e.MediaKey)
			case "expires_at":
				fmt.Fprintln(a.stdout, e.ExpiresAt.UTC().Format(time.RFC3339))
			case "json":
				b, err := json.Marshal(e)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, string(b))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&field, "field", "media_id_string", "what to print: media_id_string | media_key | expires_at | json")
	return cmd
}
