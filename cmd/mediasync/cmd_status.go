package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
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
	Counts      map[manifest.State]int    `json:"counts"` // "uploaded": valid ids only; "expired": the others
	Files       map[string]manifest.Entry `json:"files"`
	NotUploaded []string                  `json:"not_uploaded"` // on disk, not (or not in this version) in the manifest

	// Live is the running agent's view of the folder; absent when none runs (cmd_status_live.go).
	Live *liveStatus `json:"live,omitempty"`
}

func (a *app) statusCmd() *cobra.Command {
	var (
		asJSON, summary bool
		state           string
	)
	cmd := &cobra.Command{
		Use:   "status [FOLDER]",
		Short: "Show what has been uploaded, per folder",
		Long: `For every configured folder (or just FOLDER), list the manifest entries (file, state,
media_id_string, time until the media id expires; the whole reason of each failed or skipped file on
the line below it), the counts per state (uploaded ids that expired counted apart), and the files on
disk that are not uploaded yet. While 'mediasync run' runs, it also shows what the agent is doing:
paused and why, each upload in flight with its percent, a folder it does not watch or cannot save.
--state STATE lists only the files in STATE (uploaded, expired, processing, uploading, pending, failed,
skipped); --summary prints the counts only. It only reads: it never blocks a running agent. --json
for scripts (with "live" when an agent runs).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError{fmt.Errorf("status takes at most one FOLDER")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkStateFlag(state); err != nil {
				return err
			}
			folders, ignore, err := a.statusFolders(args)
			if err != nil {
				return err
			}
			live := newAgents() // the running agent of each folder, if any (cmd_status_live.go)
			defer live.close()
			a.probeAgents(cmd.Context(), live, folders)
			var out []folderStatus
			failed := false
			for _, f := range folders {
				st := readStatus(f, ignore)
				st.Live = liveOf(cmd.Context(), live, f)
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
				a.printStatus(out, state, summary)
			}
			if failed {
				return &exitError{code: exitFailure, silent: true, err: errors.New("a manifest could not be read")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&state, "state", "", "list only the files in this state: "+strings.Join(statusStates, ", "))
	cmd.Flags().BoolVar(&summary, "summary", false, "print the counts only, no file list")
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
		return []config.Folder{{Path: want, Recursive: true, Manifest: manifest.DefaultPath(want)}}, nil, nil
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
	return []config.Folder{{Path: want, Recursive: true, Manifest: manifest.DefaultPath(want)}}, cfg.Watch.Ignore, nil
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
	st.Counts = countStates(st.Files, time.Now())
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

func (a *app) printStatus(folders []folderStatus, state string, summary bool) {
	now := time.Now()
	for i, f := range folders {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintf(a.stdout, "%s  (manifest %s)\n", f.Path, f.Manifest)
		printLive(a.stdout, f.Live, now)
		if f.Error != "" {
			fmt.Fprintf(a.stdout, "  error: %s\n", f.Error)
			continue
		}
		if !summary {
			printRows(a.stdout, f.Files, state, now)
		}
		var counts []string
		for _, s := range statusStates {
			if n := f.Counts[manifest.State(s)]; n > 0 {
				counts = append(counts, fmt.Sprintf("%d %s", n, s))
			}
		}
		if len(counts) == 0 {
			counts = []string{"no entries"}
		}
		fmt.Fprintf(a.stdout, "  %s\n", strings.Join(counts, ", "))
		if n := len(f.NotUploaded); n > 0 && state == "" {
			fmt.Fprintf(a.stdout, "  %d file(s) not uploaded yet", n)
			if summary {
				fmt.Fprintln(a.stdout)
				continue
			}
			fmt.Fprintln(a.stdout, ":")
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
		return "-" // a failed or skipped file's reason is on its own line (printRows)
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
