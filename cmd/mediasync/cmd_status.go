package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/watcher"
)

// folderStatus is one folder in `status --json`.
type folderStatus struct {
	Path          string                    `json:"path"`
	Manifest      string                    `json:"manifest"`
	Error         string                    `json:"error,omitempty"`
	Unavailable   string                    `json:"unavailable,omitempty"` // the folder cannot be listed (missing, unmounted)
	Counts        map[manifest.State]int    `json:"counts"`
	Files         map[string]manifest.Entry `json:"files"`
	NotUploaded   []string                  `json:"not_uploaded"`             // on disk, not (or not in this version) in the manifest
	NotUploadable []notUploadable           `json:"not_uploadable,omitempty"` // on disk, but cannot be read as they are

	// Counts' "uploaded" counts valid ids only, "expired" the others. Live is the running agent's
	// view of the folder; absent when none runs (cmd_status_live.go).
	Live *liveStatus `json:"live,omitempty"`
}

// notUploadable is a file (or a directory, with a trailing "/") the agent cannot read, and why.
type notUploadable struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
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
the line below it), the counts per state (uploaded ids that expired counted apart), the files on disk
that are not uploaded yet, and those that cannot be uploaded as they are (with why). While
'mediasync run' runs, it also shows what the agent is doing: paused and why, each upload in flight
with its percent, a folder it does not watch or cannot save. --state STATE lists only the files in
STATE (uploaded, expired, processing, uploading, pending, failed, skipped); --summary prints the
counts only. It only reads: it never blocks a running agent. --json for scripts (with "live" when
an agent runs). A FOLDER that is not configured must hold a manifest (exit 2 otherwise).`,
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
			show, all, ignore, err := a.statusFolders(args)
			if err != nil {
				return err
			}
			live := newAgents() // the running agent of each folder, if any (cmd_status_live.go)
			defer live.close()
			probeAgents(cmd.Context(), live, all)
			afs := make([]agent.Folder, len(all))
			for i, f := range all {
				afs[i] = agentFolder(f)
			}
			// The roots the agent watches, built without opening (and locking) a manifest.
			roots, err := agent.Roots(afs)
			if err != nil {
				return fmt.Errorf("%w: %w", config.ErrInvalid, err)
			}
			var out []folderStatus
			failed := false
			for _, f := range show {
				i := slices.IndexFunc(roots, func(r watcher.Root) bool { return r.Path == f.Path })
				st, err := readStatus(cmd.Context(), f, roots[i], ignore)
				if err != nil {
					return err
				}
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

// statusFolders returns the folders to report (the configured ones, or the one named), every
// configured folder (a folder nested in another is not part of it), and watch.ignore. With no
// configuration, the named folder alone.
func (a *app) statusFolders(args []string) (show, all []config.Folder, ignore []string, err error) {
	var want string
	if len(args) == 1 {
		abs, err := filepath.Abs(args[0])
		if err != nil {
			return nil, nil, nil, err
		}
		want = abs
	}
	cfgPath, ferr := config.Find(a.configPath)
	if ferr != nil {
		if want == "" || a.configPath != "" {
			return nil, nil, nil, ferr
		}
		f, err := unconfiguredFolder(want)
		return []config.Folder{f}, []config.Folder{f}, nil, err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, nil, nil, err
	}
	if want == "" {
		return cfg.Folders, cfg.Folders, cfg.Watch.Ignore, nil
	}
	for _, f := range cfg.Folders {
		if f.Path == want {
			return []config.Folder{f}, cfg.Folders, cfg.Watch.Ignore, nil
		}
	}
	f, err := unconfiguredFolder(want)
	return []config.Folder{f}, append(slices.Clone(cfg.Folders), f), cfg.Watch.Ignore, err
}

// unconfiguredFolder returns a folder that is not configured but holds a manifest in the default
// place (an agent ran there with another configuration); with no manifest it is a usage error
// (exit 2): a typo must not read as "nothing uploaded".
func unconfiguredFolder(dir string) (config.Folder, error) {
	f := config.Folder{Path: dir, Recursive: true, Manifest: manifest.DefaultPath(dir)}
	if _, err := os.Stat(f.Manifest); errors.Is(err, fs.ErrNotExist) {
		return f, usageError{fmt.Errorf("%s: not a configured folder, and no manifest there (%s)", human.Printable(dir), human.Printable(f.Manifest))}
	}
	return f, nil
}

// readStatus reads f's manifest and lists its files through the watcher's own walk of root, so
// that "not uploaded yet" means what the agent would pick up. The error is the context's only.
func readStatus(ctx context.Context, f config.Folder, root watcher.Root, ignore []string) (folderStatus, error) {
	st := folderStatus{Path: f.Path, Manifest: f.Manifest, Counts: map[manifest.State]int{}, Files: map[string]manifest.Entry{}}
	m, err := manifest.Read(f.Manifest)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		st.Error = err.Error()
		return st, nil
	default:
		st.Files = m.Files
	}
	st.Counts = countStates(st.Files, time.Now())
	files, err := watcher.List(ctx, watcher.Options{Roots: []watcher.Root{root}, Ignore: ignore})
	if ctx.Err() != nil {
		return st, ctx.Err()
	}
	for _, wf := range files {
		rel, ok := relTo(f.Path, wf.Path)
		if !ok {
			continue
		}
		if e, ok := st.Files[rel]; ok && e.Size == wf.Size && e.MTime.Equal(wf.ModTime) && e.State != manifest.Pending {
			continue
		}
		st.NotUploaded = append(st.NotUploaded, rel)
	}
	for _, e := range unwrapAll(err) {
		var we *watcher.Error
		switch {
		case !errors.As(e, &we) || we.Op == "options":
			st.Error = e.Error()
		case we.Path == f.Path:
			st.Unavailable = reason(we.Path, we.Err)
		default:
			rel, _ := relTo(f.Path, we.Path)
			if we.Op == "scan" {
				rel += "/"
			}
			st.NotUploadable = append(st.NotUploadable, notUploadable{Path: rel, Reason: reason(we.Path, we.Err)})
		}
	}
	slices.SortFunc(st.NotUploadable, func(a, b notUploadable) int { return strings.Compare(a.Path, b.Path) })
	return st, nil
}

// unwrapAll returns the errors an errors.Join holds (err itself if it is not one; none for nil).
func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}

// reason says in words why the file or directory at path cannot be read.
func reason(path string, err error) string {
	if errors.Is(err, syscall.ENAMETOOLONG) {
		for part := range strings.SplitSeq(path, string(filepath.Separator)) {
			if len(part) > nameMax {
				return fmt.Sprintf("a name in its path is %d bytes, longer than the system allows (%d); rename it", len(part), nameMax)
			}
		}
		return fmt.Sprintf("its path is %d bytes, longer than the system allows; shorten the folder or file names", len(path))
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return err.Error()
}

// nameMax is the longest file name (NAME_MAX) of the file systems mediasync meets.
const nameMax = 255

// printStatus prints the folders as tables. Every name and message goes through printable: a file
// name holding a newline or a tab must not fake a row.
func (a *app) printStatus(folders []folderStatus, state string, summary bool) {
	now := time.Now()
	for i, f := range folders {
		if i > 0 {
			fmt.Fprintln(a.stdout)
		}
		fmt.Fprintf(a.stdout, "%s  (manifest %s)\n", human.Printable(f.Path), human.Printable(f.Manifest))
		printLive(a.stdout, f.Live, now)
		if f.Error != "" {
			fmt.Fprintf(a.stdout, "  error: %s\n", human.Printable(f.Error))
			continue
		}
		if f.Unavailable != "" {
			fmt.Fprintf(a.stdout, "  folder unavailable: %s\n", human.Printable(f.Unavailable))
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
				fmt.Fprintf(a.stdout, "    %s\n", human.Printable(rel))
			}
			if n > 20 {
				fmt.Fprintf(a.stdout, "    … and %d more (--json lists all)\n", n-20)
			}
		}
		if n := len(f.NotUploadable); n > 0 && state == "" && !summary {
			fmt.Fprintf(a.stdout, "  %d path(s) cannot be uploaded as they are:\n", n)
			for _, u := range f.NotUploadable {
				fmt.Fprintf(a.stdout, "    %s: %s\n", human.Printable(u.Path), human.Printable(u.Reason))
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
