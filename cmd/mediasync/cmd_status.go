package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/watcher"
)

// folderStatus is one folder in `status --json`.
type folderStatus struct {
	Path        string                    `json:"path"`
	Manifest    string                    `json:"manifest"`
	Error       string                    `json:"error,omitempty"`
	Counts      map[manifest.State]int    `json:"counts"`
	Files       map[string]manifest.Entry `json:"files"`
	NotUploaded []string                  `json:"not_uploaded"` // on disk, not (or not in this version) in the manifest
}

func (a *app) statusCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [FOLDER]",
		Short: "Show what has been uploaded, per folder",
		Long: `For every configured folder (or just FOLDER), list the manifest entries (file, state,
media_id_string, time until the media id expires), the counts per state, and the files on disk that
are not uploaded yet. It only reads: it never blocks a running agent. --json for scripts.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("status takes at most one FOLDER")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			folders, ignore, err := a.statusFolders(args)
			if err != nil {
				return err
			}
			var out []folderStatus
			failed := false
			for _, f := range folders {
				st := readStatus(f, ignore)
				failed = failed || st.Error != ""
				out = append(out, st)
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(map[string]any{"folders": out}); err != nil {
					return err
				}
			} else {
				a.printStatus(out)
			}
			if failed {
				return &exitError{code: exitFailure, silent: true, err: errors.New("a manifest could not be read")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

// statusFolders returns the folders to report: the configured ones (or the one named), or, with no
// configuration, the named folder alone.
func (a *app) statusFolders(args []string) ([]config.Folder, []string, error) {
	var want string
	if len(args) == 1 {
		abs, err := filepath.Abs(args[0])
		if err != nil {
			return nil, nil, err
		}
		want = abs
	}
	cfgPath, ferr := config.Find(a.configPath)
	if ferr != nil {
		if want == "" || a.configPath != "" {
			return nil, nil, ferr
		}
		f, err := unconfiguredFolder(want)
		return []config.Folder{f}, nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, err
	}
	if want == "" {
		return cfg.Folders, cfg.Watch.Ignore, nil
	}
	for _, f := range cfg.Folders {
		if f.Path == want {
			return []config.Folder{f}, cfg.Watch.Ignore, nil
		}
	}
	f, err := unconfiguredFolder(want)
	return []config.Folder{f}, cfg.Watch.Ignore, err
}

// unconfiguredFolder returns a folder that is not configured but holds a manifest in the default
// place (an agent ran there with another configuration); with no manifest it is a usage error
// (exit 2): a typo must not read as "nothing uploaded".
func unconfiguredFolder(dir string) (config.Folder, error) {
	f := config.Folder{Path: dir, Recursive: true, Manifest: manifest.DefaultPath(dir)}
	if _, err := os.Stat(f.Manifest); errors.Is(err, fs.ErrNotExist) {
		return f, usageError{fmt.Errorf("%s: not a configured folder, and no manifest there (%s)", printable(dir), printable(f.Manifest))}
	}
	return f, nil
}

func readStatus(f config.Folder, ignore []string) folderStatus {
	st := folderStatus{Path: f.Path, Manifest: f.Manifest, Counts: map[manifest.State]int{}, Files: map[string]manifest.Entry{}}
	m, err := manifest.Read(f.Manifest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		st.Error = err.Error()
		return st
	default:
		st.Files = m.Files
	}
	for _, e := range st.Files {
		st.Counts[e.State]++
	}
	match, err := agent.Matcher(f.Include, f.Exclude)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	st.NotUploaded = notUploaded(f, st.Files, match, ignore)
	return st
}

// notUploaded walks the folder the way the watcher does (same ignore rules, no symlinks) and returns
// the candidate files whose size and mtime no manifest entry records.
func notUploaded(f config.Folder, files map[string]manifest.Entry, match func(string) bool, ignore []string) []string {
	var out []string
	filepath.WalkDir(f.Path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if d != nil && d.IsDir() && p != f.Path {
				return fs.SkipDir
			}
			return nil
		}
		if p == f.Path {
			return nil
		}
		if d.IsDir() {
			if !f.Recursive || watcher.Ignored(d.Name(), ignore) || d.Name() == ".mediasync" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || watcher.Ignored(d.Name(), ignore) {
			return nil
		}
		rel, ok := relTo(f.Path, p)
		if !ok || !match(rel) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if e, ok := files[rel]; ok && e.Size == info.Size() && e.MTime.Equal(info.ModTime()) && e.State != manifest.Pending {
			return nil
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out
}

func (a *app) printStatus(folders []folderStatus) {
	now := time.Now()
	for i, f := range folders {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintf(a.stdout, "%s  (manifest %s)\n", f.Path, f.Manifest)
		if f.Error != "" {
			fmt.Fprintf(a.stdout, "  error: %s\n", f.Error)
			continue
		}
		rels := make([]string, 0, len(f.Files))
		for rel := range f.Files {
			rels = append(rels, rel)
		}
		sort.Strings(rels)
		if len(rels) > 0 {
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "  FILE\tSTATE\tMEDIA_ID\tEXPIRES IN")
			for _, rel := range rels {
				e := f.Files[rel]
				state := string(e.State)
				if e.Deleted {
					state += " (deleted)"
				}
				fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", rel, state, orDash(e.MediaIDString), expiresIn(e, now))
			}
			tw.Flush()
		}
		var counts []string
		for _, s := range []manifest.State{manifest.Uploaded, manifest.Processing, manifest.Uploading,
			manifest.Pending, manifest.Failed, manifest.Skipped} {
			if n := f.Counts[s]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, s))
			}
		}
		if len(counts) == 0 {
			counts = []string{"no entries"}
		}
		fmt.Fprintf(a.stdout, "  %s\n", strings.Join(counts, ", "))
		if n := len(f.NotUploaded); n > 0 {
			fmt.Fprintf(a.stdout, "  %d file(s) not uploaded yet:\n", n)
			for _, rel := range f.NotUploaded[:min(n, 20)] {
				fmt.Fprintf(a.stdout, "    %s\n", rel)
			}
			if n > 20 {
				fmt.Fprintf(a.stdout, "    … and %d more (--json lists all)\n", n-20)
			}
		}
	}
}

func expiresIn(e manifest.Entry, now time.Time) string {
	if e.State != manifest.Uploaded || e.ExpiresAt.IsZero() {
		if e.State == manifest.Failed && e.Error != nil {
			return "error: " + shorten(e.Error.Message, 60)
		}
		if e.State == manifest.Skipped {
			return shorten(e.Reason, 60)
		}
		return "-"
	}
	d := e.ExpiresAt.Sub(now)
	if d <= 0 {
		return "expired"
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(slices.Clip(r[:n-1])) + "…"
}
