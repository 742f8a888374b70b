package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// retried is one folder's line of `retry --failed` or `retry --hooks` when the running agent took
// the request (--json).
type retried struct {
	Folder  string `json:"folder"`
	What    string `json:"what"`    // "failed" or "hooks"
	Retried int    `json:"retried"` // how many the agent queued
	Error   string `json:"error,omitempty"`
}

func (a *app) retryCmd() *cobra.Command {
	var failed, hooks, asJSON bool
	cmd := &cobra.Command{
		Use:   "retry FILE... | retry --failed [FOLDER] | retry --hooks [FOLDER]",
		Short: "Try failed files, or failed on_upload hooks, again now",
		Long: `Try again now what failed, without waiting for the next automatic attempt or a change of the file.

  retry FILE...            upload these files of watched folders again now (failed, skipped, or
                           not uploaded yet; an uploaded file whose id is still valid is kept)
  retry --failed [FOLDER]  every failed file of FOLDER (default: every folder)
  retry --hooks [FOLDER]   run every on_upload command that failed for good again

While 'mediasync run' runs, the request goes to it (through the control socket in the manifest's
directory), so nothing fights its lock: FILE uploads wait for their outcome and show a progress bar,
--failed and --hooks return once the agent has queued them (see 'mediasync status'). With no agent
running, retry does the work itself and prints one line per file, as 'upload' does.
Exits 0 when every file is uploaded (or queued by the agent), 1 otherwise.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case failed && hooks:
				return usageError{errors.New("--failed and --hooks do not go together; run one after the other")}
			case (failed || hooks) && len(args) > 1:
				return usageError{errors.New("retry --failed and --hooks take at most one FOLDER")}
			case !failed && !hooks && len(args) == 0:
				return usageError{errors.New("retry needs FILE..., --failed [FOLDER] or --hooks [FOLDER]")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			log := newLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			r := &retrier{app: a, cfg: cfg, log: log, json: asJSON, live: newAgents()}
			defer r.live.close()
			var bad int
			switch {
			case failed || hooks:
				folders, ferr := r.folders(args)
				if ferr != nil {
					return ferr
				}
				bad, err = r.all(ctx, folders, hooks)
			default:
				bad, err = r.files(ctx, args)
			}
			if ctx.Err() != nil {
				return &exitError{code: exitInterrupted, err: ctx.Err()}
			}
			if err != nil {
				return err
			}
			if bad > 0 {
				return &exitError{code: exitFailure, silent: true, err: fmt.Errorf("%d not retried successfully", bad)}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&failed, "failed", false, "retry every failed file of FOLDER (default: every folder)")
	fl.BoolVar(&hooks, "hooks", false, "run the failed on_upload commands of FOLDER again (default: every folder)")
	fl.BoolVar(&asJSON, "json", false, "one JSON object per line on stdout")
	return cmd
}

// retrier does `mediasync retry`.
type retrier struct {
	app  *app
	cfg  *config.Config
	log  zerolog.Logger
	json bool
	live *agents
}

// folders returns the configured folder named in args, or every configured folder.
func (r *retrier) folders(args []string) ([]config.Folder, error) {
	if len(args) == 0 {
		if len(r.cfg.Folders) == 0 {
			return nil, fmt.Errorf("%w: %s: no folders configured", config.ErrInvalid, r.cfg.Source)
		}
		return r.cfg.Folders, nil
	}
	abs, err := filepath.Abs(args[0])
	if err != nil {
		return nil, err
	}
	for _, f := range r.cfg.Folders {
		if filepath.Clean(f.Path) == abs {
			return []config.Folder{f}, nil
		}
	}
	return nil, usageError{fmt.Errorf("%s is not a configured folder", args[0])}
}

// files retries the named files: through the running agent of their folder, else here, as
// `upload` does; a file outside every folder is refused (nothing records it, so nothing failed).
func (r *retrier) files(ctx context.Context, paths []string) (bad int, err error) {
	up, err := newUploader(r.cfg, r.log)
	if err != nil {
		return 0, err
	}
	u := &fileUploader{app: r.app, cfg: r.cfg, up: up, json: r.json}
	var inFolders []string
	for _, p := range paths {
		if _, ok := folderHolding(r.cfg.Folders, p); ok {
			inFolders = append(inFolders, p)
		}
	}
	if err := u.openAgent(u.handOff(ctx, r.live, inFolders), r.log); err != nil {
		return 0, err
	}
	defer func() {
		if cerr := u.close(); cerr != nil && err == nil {
			err = fmt.Errorf("save state: %w", cerr)
		}
	}()
	for _, p := range paths {
		var line uploadLine
		if _, ok := folderHolding(r.cfg.Folders, p); !ok {
			line = uploadLine{Path: p, State: "failed", Error: &manifest.Error{Message: "it is in no configured folder, so nothing recorded it: `mediasync upload FILE` uploads it", Permanent: true}}
		} else {
			var uerr error
			line, uerr = u.upload(ctx, p)
			if ctx.Err() != nil {
				return bad, nil
			}
			if uerr != nil {
				line = uploadLine{Path: p, State: "failed", Error: &manifest.Error{Message: uerr.Error(), Permanent: uploader.IsPermanent(uerr)}}
			}
		}
		if line.State != string(manifest.Uploaded) {
			bad++
		}
		r.app.printUploadLine(line, r.json)
	}
	return bad, nil
}

// all retries every failed file (or, with hooks, every failed on_upload command) of folders:
// each folder that a running agent holds is handed to it; the others are done here together.
func (r *retrier) all(ctx context.Context, folders []config.Folder, hooks bool) (bad int, err error) {
	what := "failed"
	if hooks {
		what = "hooks"
	}
	var local []config.Folder
	for _, f := range folders {
		c, err := r.live.of(ctx, f.Manifest)
		if c == nil && err == nil {
			local = append(local, f)
			continue
		}
		n := 0
		if err == nil {
			if hooks {
				n, err = c.RetryHooks(ctx, f.Path)
			} else {
				n, err = c.RetryFailed(ctx, f.Path)
			}
		}
		if ctx.Err() != nil {
			return bad, nil
		}
		line := retried{Folder: f.Path, What: what, Retried: n}
		if err != nil {
			line.Error = noAgentAnyMore(err).Error()
			bad++
		}
		r.printRetried(line)
	}
	if len(local) == 0 {
		return bad, nil
	}
	up, err := newUploader(r.cfg, r.log)
	if err != nil {
		return bad, err
	}
	opts := agentOptions(r.cfg)
	opts.Folders = slices.DeleteFunc(opts.Folders, func(f agent.Folder) bool {
		return !slices.ContainsFunc(local, func(l config.Folder) bool { return filepath.Clean(l.Path) == f.Path })
	})
	ag, err := agent.New(up, opts, r.log)
	if err != nil {
		return bad, err
	}
	defer func() {
		if cerr := ag.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("save state: %w", cerr)
		}
	}()
	if hooks {
		return bad + r.hooksHere(ctx, ag), nil
	}
	files, err := ag.FailedFiles("")
	if err != nil {
		return bad, err
	}
	if len(files) == 0 && !r.json {
		fmt.Fprintln(r.app.stdout, "no failed files")
	}
	for _, p := range files {
		line, err := r.retryHere(ctx, ag, p)
		if ctx.Err() != nil {
			return bad, nil
		}
		if err != nil {
			line = uploadLine{Path: p, State: "failed", Error: &manifest.Error{Message: err.Error(), Permanent: uploader.IsPermanent(err)}}
		}
		if line.State != string(manifest.Uploaded) {
			bad++
		}
		r.app.printUploadLine(line, r.json)
	}
	return bad, nil
}

// retryHere uploads the failed file p again with the agent opened here.
func (r *retrier) retryHere(ctx context.Context, ag *agent.Agent, p string) (uploadLine, error) {
	bar := r.app.newBar(p)
	defer bar.finish()
	e, err := ag.UploadFile(ctx, p, agent.Override{OnProgress: bar.set})
	if err != nil {
		return uploadLine{}, err
	}
	line := lineOf(p, e)
	if loc, lerr := r.app.locate(p); lerr == nil {
		line.Manifest = loc.manifest
	}
	return line, nil
}

// hooksHere runs the failed on_upload commands of ag's folders again, here, one after the other,
// and prints per folder how many ran through; it returns how many failed again.
func (r *retrier) hooksHere(ctx context.Context, ag *agent.Agent) (bad int) {
	for _, f := range ag.Folders() {
		before, err := ag.Entries(f)
		if err != nil {
			r.printRetried(retried{Folder: f, What: "hooks", Error: err.Error()})
			bad++
			continue
		}
		n, err := ag.RetryHooks(ctx, f)
		if err != nil {
			r.printRetried(retried{Folder: f, What: "hooks", Retried: n, Error: err.Error()})
			bad++
			continue
		}
		after, _ := ag.Entries(f)
		ok := 0
		for rel, e := range before {
			if e.Hook != nil && e.Hook.State == manifest.HookFailed && after[rel].Hook != nil && after[rel].Hook.State == manifest.HookDone {
				ok++
			}
		}
		bad += n - ok
		if r.json {
			b, _ := json.Marshal(struct {
				retried
				Succeeded int `json:"succeeded"`
			}{retried{Folder: f, What: "hooks", Retried: n}, ok})
			fmt.Fprintln(r.app.stdout, string(b))
			continue
		}
		fmt.Fprintf(r.app.stdout, "%s\tran %d failed on_upload hook(s) again: %d succeeded\n", f, n, ok)
	}
	return bad
}

func (r *retrier) printRetried(l retried) {
	if r.json {
		b, _ := json.Marshal(l)
		fmt.Fprintln(r.app.stdout, string(b))
		return
	}
	noun := "failed file(s)"
	if l.What == "hooks" {
		noun = "failed on_upload hook(s)"
	}
	if l.Error != "" {
		fmt.Fprintf(r.app.stdout, "%s\tnot retried\t%s\n", l.Folder, l.Error)
		return
	}
	fmt.Fprintf(r.app.stdout, "%s\tretrying %d %s\n", l.Folder, l.Retried, noun)
}
