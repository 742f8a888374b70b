package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
)

func (a *app) explainCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "explain FILE...",
		Short: "Say what mediasync knows and decides about a file, and what to do",
		Long: `For each FILE, say what mediasync makes of it and why: outside every folder, ignored (by which
rule), not a media file the folder considers, not a regular file, settling, waiting, uploading (n of m
segments), uploaded (and until when), expired, changed since its upload, removed, skipped, failed for
good, or failed and retried later — with the reason and what to do. While 'mediasync run' runs, it
asks the agent (which also knows what is queued and in flight); otherwise it reads the configuration
and the manifests. It never changes anything. --json prints one object per file.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("explain needs at least one FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := a.explainOptions(args)
			if err != nil {
				return err
			}
			// A running agent of the file's folder answers, live (cmd_handoff.go).
			live := newAgents()
			defer live.close()
			for _, p := range args {
				ex := explainOne(cmd.Context(), live, opts, p)
				if asJSON {
					b, err := json.Marshal(explainJSON(ex))
					if err != nil {
						return err
					}
					fmt.Fprintln(a.stdout, string(b))
					continue
				}
				fmt.Fprintf(a.stdout, "%s: %s\n  why: %s\n", human.Printable(filepath.Clean(ex.Path)), ex.Verdict, ex.Why)
				if ex.Fix != "" {
					fmt.Fprintf(a.stdout, "  fix: %s\n", ex.Fix)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "one JSON object per file")
	return cmd
}

// explainOptions returns the folders and watch settings to explain paths against: the configuration's,
// or, without one, the folders that hold a .mediasync manifest above each path, with the defaults.
func (a *app) explainOptions(paths []string) (agent.ExplainOptions, error) {
	if cfgPath, err := config.Find(a.configPath); err == nil {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return agent.ExplainOptions{}, err
		}
		return agent.ExplainOptions{Folders: agentOptions(cfg).Folders, Ignore: cfg.Watch.Ignore,
			Settle: time.Duration(cfg.Watch.Settle)}, nil
	} else if a.configPath != "" {
		return agent.ExplainOptions{}, err
	}
	def := config.Default()
	opts := agent.ExplainOptions{Settle: time.Duration(def.Watch.Settle)}
	seen := map[string]bool{}
	for _, p := range paths {
		loc, err := a.locate(p)
		if err != nil || seen[loc.folder] {
			continue
		}
		seen[loc.folder] = true
		opts.Folders = append(opts.Folders, agent.Folder{Path: loc.folder, Recursive: true, Manifest: manifest.DefaultPath(loc.folder)})
	}
	return opts, nil
}

// explanation is `explain --json`'s object.
type explanation struct {
	Path     string          `json:"path"`
	Folder   string          `json:"folder,omitempty"`
	Rel      string          `json:"rel,omitempty"`
	Verdict  agent.Verdict   `json:"verdict"`
	Why      string          `json:"why"`
	Fix      string          `json:"fix,omitempty"`
	Entry    *manifest.Entry `json:"entry,omitempty"`
	Progress *struct {
		Bytes         int64 `json:"bytes"`
		Total         int64 `json:"total"`
		Segments      int   `json:"segments"`
		SegmentsTotal int   `json:"segments_total"`
	} `json:"progress,omitempty"`
}

func explainJSON(ex agent.Explanation) explanation {
	out := explanation{Path: ex.Path, Folder: ex.Folder, Rel: ex.Rel, Verdict: ex.Verdict, Why: ex.Why, Fix: ex.Fix, Entry: ex.Entry}
	if t := ex.Transfer; t != nil {
		out.Progress = &struct {
			Bytes         int64 `json:"bytes"`
			Total         int64 `json:"total"`
			Segments      int   `json:"segments"`
			SegmentsTotal int   `json:"segments_total"`
		}{t.Bytes, t.Total, t.Segments, t.SegmentsTotal}
	}
	return out
}
