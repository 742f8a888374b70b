package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/manifest"
)

// getPoll is how often `get --wait` reads the manifest again.
const getPoll = 250 * time.Millisecond

func (a *app) getCmd() *cobra.Command {
	var (
		field string
		wait  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "get FILE",
		Short: "Print a file's media id for a posting script",
		Long: `Print the media_id_string of FILE's manifest entry (or the field chosen with --field) and exit 0.
Exits 3 when the file has no uploaded entry yet, 4 when its media id has expired, 5 when it will not be
uploaded as it is (skipped, or failed permanently: 'mediasync explain FILE' says why and what to do).
The manifest is found through the configuration, or else in a .mediasync directory in the file's
directory or above it.

Fields: media_id_string, media_key, expires_at (RFC 3339), json (the whole entry, printed whatever its
state; the exit code still says the state).

--wait DURATION waits up to DURATION for a final state (uploaded, skipped, failed permanently) before
answering, looking at the manifest a few times a second (and parsing it again when it changed): for
a posting script that drops a file and wants its id.`,
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
			if wait < 0 {
				return usageError{fmt.Errorf("--wait %v: must not be negative", wait)}
			}
			loc, err := a.locate(args[0])
			if errors.Is(err, errNoManifest) {
				return &exitError{code: exitNotFound, err: err}
			}
			if err != nil {
				return err
			}
			deadline := time.Now().Add(wait)
			var (
				seen manifestVersion // the version e was read from
				e    manifest.Entry
				ok   bool
			)
			for {
				// Parse the manifest again only when it changed (a manifest of 100,000 entries takes
				// a tenth of a second to parse).
				if v := versionOf(loc.manifest); !v.known() || !v.same(seen) {
					if e, ok, err = readEntry(loc); err != nil {
						return err
					}
					seen = v
				}
				if (ok && final(e)) || !time.Now().Before(deadline) {
					return a.printEntry(args[0], field, e, ok)
				}
				t := time.NewTimer(min(getPoll, time.Until(deadline)))
				select {
				case <-cmd.Context().Done():
					t.Stop()
					return &exitError{code: exitInterrupted, err: cmd.Context().Err()}
				case <-t.C:
				}
			}
		},
	}
	cmd.Flags().StringVar(&field, "field", "media_id_string", "what to print: media_id_string | media_key | expires_at | json")
	cmd.Flags().DurationVar(&wait, "wait", 0, "wait up to this long for the file to reach a final state (e.g. 2m)")
	return cmd
}

// readEntry reads the entry of loc; a manifest that does not exist yet holds no entry.
func readEntry(loc located) (manifest.Entry, bool, error) {
	m, err := manifest.Read(loc.manifest)
	if errors.Is(err, fs.ErrNotExist) {
		return manifest.Entry{}, false, nil
	}
	if err != nil {
		return manifest.Entry{}, false, err
	}
	e, ok := m.Files[loc.rel]
	return e, ok, nil
}

// manifestVersion tells one version of a manifest from another without parsing it: the agent
// replaces the manifest by a rename (another file, or at least another size or mtime) and appends
// to its journal between checkpoints (another size).
type manifestVersion struct{ file, journal fs.FileInfo }

func versionOf(path string) manifestVersion {
	var v manifestVersion
	v.file, _ = os.Stat(path)
	v.journal, _ = os.Stat(manifest.JournalPath(path))
	return v
}

// known reports whether the manifest exists (a missing one is read again each time).
func (v manifestVersion) known() bool { return v.file != nil }

func (v manifestVersion) same(o manifestVersion) bool {
	sameFile := func(a, b fs.FileInfo) bool {
		if a == nil || b == nil {
			return a == nil && b == nil
		}
		return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
	}
	return sameFile(v.file, o.file) && sameFile(v.journal, o.journal)
}

// final reports whether an entry will not change without the file changing: uploaded, skipped, or
// failed for good.
func final(e manifest.Entry) bool {
	return e.State == manifest.Uploaded || willNot(e)
}

// willNot reports whether an entry says the file will not be uploaded as it is.
func willNot(e manifest.Entry) bool {
	return e.State == manifest.Skipped || (e.State == manifest.Failed && e.Error != nil && e.Error.Permanent)
}

// printEntry prints the field of e and returns the exit status its state calls for.
func (a *app) printEntry(name, field string, e manifest.Entry, ok bool) error {
	if !ok {
		return &exitError{code: exitNotFound, err: fmt.Errorf("%s: not uploaded (no entry yet)", name)}
	}
	if field == "json" {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		fmt.Fprintln(a.stdout, string(b))
	}
	switch {
	case willNot(e):
		why := e.Reason
		if e.Error != nil {
			why = e.Error.Message
		}
		return &exitError{code: exitWillNot, err: fmt.Errorf("%s: will not be uploaded as it is (%s: %s); see mediasync explain", name, e.State, why)}
	case e.State != manifest.Uploaded:
		return &exitError{code: exitNotFound, err: fmt.Errorf("%s: not uploaded (state %s)", name, e.State)}
	case !e.ExpiresAt.After(time.Now()):
		return &exitError{code: exitExpired, err: fmt.Errorf("%s: media id %s expired at %s", name,
			e.MediaIDString, e.ExpiresAt.Format(time.RFC3339))}
	}
	switch field {
	case "media_id_string":
		fmt.Fprintln(a.stdout, e.MediaIDString)
	case "media_key":
		fmt.Fprintln(a.stdout, e.MediaKey)
	case "expires_at":
		fmt.Fprintln(a.stdout, e.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}
