package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/alttext"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/uploader"
)

// uploadLine is one file's outcome in `upload --json`.
type uploadLine struct {
	Path          string          `json:"path"`
	State         string          `json:"state"`
	MediaIDString string          `json:"media_id_string,omitempty"`
	MediaKey      string          `json:"media_key,omitempty"`
	ExpiresAt     *time.Time      `json:"expires_at,omitempty"`
	MediaType     string          `json:"media_type,omitempty"`
	Category      string          `json:"media_category,omitempty"`
	Manifest      string          `json:"manifest,omitempty"` // where it was recorded, if in a folder
	Reason        string          `json:"reason,omitempty"`
	Error         *manifest.Error `json:"error,omitempty"`
}

func (a *app) uploadCmd() *cobra.Command {
	var (
		category, altText string
		asJSON            bool
	)
	cmd := &cobra.Command{
		Use:   "upload FILE...",
		Short: "Upload the named files now, without watching",
		Long: `Upload the named files now. A file inside a configured folder is recorded in that folder's
manifest (and is not uploaded again if the manifest already has it, unchanged); any other file is
uploaded and printed only. While 'mediasync run' runs, the files of its folders are handed to it
(through the control socket in the manifest's directory): it uploads them at once, ahead of its
queue, and this command prints the outcome as it would have. One line per file on stdout (one JSON
object per line with --json); a progress bar per file on a terminal. Exits 0 when every file is
uploaded, 1 otherwise.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("upload needs at least one FILE")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if category != "" && !slices.Contains(config.MediaCategories, category) {
				return usageError{fmt.Errorf("--category %q is not one of %s", category, strings.Join(config.MediaCategories, ", "))}
			}
			if n := utf8.RuneCountInString(altText); n > alttext.MaxLen {
				return usageError{fmt.Errorf("--alt-text is %d characters; X allows %d", n, alttext.MaxLen)}
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return err
			}
			log := newLogger(a.stderr, cfg.Log.Level, cfg.Log.Format)
			up, err := newUploader(cfg, log)
			if err != nil {
				return err
			}
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			u := &fileUploader{app: a, cfg: cfg, up: up, category: category, altText: altText, json: asJSON}
			// Files of folders a running agent holds go to it (cmd_handoff.go); the others are done here.
			live := newAgents()
			defer live.close()
			if err := u.openAgent(u.handOff(ctx, live, args), log); err != nil {
				return err
			}
			defer func() {
				if cerr := u.close(); cerr != nil && err == nil {
					err = fmt.Errorf("save state: %w", cerr)
				}
			}()
			failed := 0
			for _, p := range args {
				line, err := u.upload(ctx, p)
				if ctx.Err() != nil {
					return &exitError{code: exitInterrupted, err: ctx.Err()}
				}
				if err != nil {
					line = uploadLine{Path: p, State: "failed", Error: &manifest.Error{Message: err.Error(), Permanent: uploader.IsPermanent(err)}}
				}
				if line.State != string(manifest.Uploaded) {
					failed++
				}
				a.printUploadLine(line, asJSON)
			}
			if failed > 0 {
				return &exitError{code: exitFailure, silent: true, err: fmt.Errorf("%d of %d file(s) not uploaded", failed, len(args))}
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&category, "category", "", "media_category for these files (default: the folder's, else from the bytes)")
	fl.StringVar(&altText, "alt-text", "", "alt text for these files (default: the folder's alt_text policy)")
	fl.BoolVar(&asJSON, "json", false, "one JSON object per file on stdout")
	return cmd
}

type fileUploader struct {
	app               *app
	cfg               *config.Config
	up                *uploader.Client
	ag                *agent.Agent
	refused           map[string]error // configured folders that could not be opened (locked by run, corrupt)
	category, altText string
	json              bool
	// remote holds, for the files of folders a running agent holds, its client (or why it cannot
	// be used).
	remote map[string]remoteAgent
}

// openAgent opens, when some files lie in configured folders, an agent for those folders only, so
// their uploads are recorded. A folder owned by a running agent is refused with its lock message.
func (u *fileUploader) openAgent(paths []string, log zerolog.Logger) error {
	opts := agentOptions(u.cfg)
	var folders []agent.Folder
	for _, f := range opts.Folders {
		for _, p := range paths {
			abs, _ := filepath.Abs(p)
			if _, ok := relTo(f.Path, abs); ok {
				folders = append(folders, f)
				break
			}
		}
	}
	if len(folders) == 0 {
		return nil
	}
	opts.Folders = folders
	ag, err := agent.New(u.up, opts, log)
	if err != nil {
		return err
	}
	u.ag = ag
	u.refused = ag.Refused()
	return nil
}

func (u *fileUploader) close() error {
	if u.ag != nil {
		return u.ag.Close()
	}
	return nil
}

// refusedFolder returns why the configured folder holding path cannot take it, if so.
func (u *fileUploader) refusedFolder(path string) error {
	if f, ok := folderHolding(u.cfg.Folders, path); ok {
		return u.refused[f.Path]
	}
	return nil
}

func (u *fileUploader) upload(ctx context.Context, path string) (uploadLine, error) {
	if r, ok := u.remote[path]; ok {
		return u.uploadVia(ctx, r, path)
	}
	bar := u.app.newBar(path)
	defer bar.finish()
	if err := u.refusedFolder(path); err != nil {
		// Never upload it as a loose file: its folder's manifest (or the agent that owns it)
		// records it, and a second upload would be a duplicate.
		return uploadLine{}, err
	}
	if u.ag != nil {
		e, err := u.ag.UploadFile(ctx, path, agent.Override{Category: u.category, AltText: u.altText, OnProgress: bar.set})
		if err == nil {
			line := lineOf(path, e)
			if loc, lerr := u.app.locate(path); lerr == nil {
				line.Manifest = loc.manifest
			}
			return line, nil
		}
		if !errors.Is(err, agent.ErrNotInFolder) {
			return uploadLine{}, err
		}
	}
	return u.uploadLoose(ctx, path, bar)
}

// uploadLoose uploads a file that lies in no configured folder: nothing is recorded.
func (u *fileUploader) uploadLoose(ctx context.Context, path string, bar *bar) (uploadLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return uploadLine{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return uploadLine{}, err
	}
	if !fi.Mode().IsRegular() {
		return uploadLine{}, fmt.Errorf("%s: not a regular file", path)
	}
	mtype, err := uploader.Detect(f, fi.Size())
	if err != nil {
		return skippedLine(path, err), nil
	}
	m, err := u.up.PrepareFile(f, uploader.Media{Name: filepath.Base(path), Size: fi.Size(), Type: mtype, Category: u.category})
	if err != nil {
		return skippedLine(path, err), nil
	}
	m.AltText = u.altText
	if m.AltText == "" {
		m.AltText, _, _, _ = alttext.Find(path, "auto")
	}
	res, err := u.up.Upload(ctx, f, m, func(p uploader.Progress) {
		bar.set(min(int64(len(p.Acked))*p.ChunkSize, fi.Size()), fi.Size())
	})
	if err != nil && res.MediaIDString == "" {
		return uploadLine{}, err
	}
	if err != nil { // uploaded; only the alt text could not be set: the media id stands
		fmt.Fprintf(u.app.stderr, "mediasync: %s: uploaded, but the alt text could not be set: %v\n", path, err)
	}
	exp := res.ExpiresAt
	return uploadLine{Path: path, State: string(manifest.Uploaded), MediaIDString: res.MediaIDString,
		MediaKey: res.MediaKey, ExpiresAt: &exp, MediaType: res.Type, Category: res.Category}, nil
}

func skippedLine(path string, err error) uploadLine {
	return uploadLine{Path: path, State: string(manifest.Skipped), Reason: err.Error()}
}

func lineOf(path string, e manifest.Entry) uploadLine {
	l := uploadLine{Path: path, State: string(e.State), MediaIDString: e.MediaIDString, MediaKey: e.MediaKey,
		MediaType: e.MediaType, Category: e.MediaCategory, Reason: e.Reason, Error: e.Error}
	if !e.ExpiresAt.IsZero() {
		exp := e.ExpiresAt
		l.ExpiresAt = &exp
	}
	if l.State == "" {
		l.State = "not uploaded"
	}
	return l
}

func (a *app) printUploadLine(l uploadLine, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(l)
		fmt.Fprintln(a.stdout, string(b))
		return
	}
	switch {
	case l.State == string(manifest.Uploaded):
		fmt.Fprintf(a.stdout, "%s\tuploaded\t%s\t%s\texpires %s\n", l.Path, l.MediaIDString, l.MediaKey, l.ExpiresAt.UTC().Format(time.RFC3339))
	case l.Reason != "":
		fmt.Fprintf(a.stdout, "%s\t%s\t%s\n", l.Path, l.State, l.Reason)
	case l.Error != nil:
		fmt.Fprintf(a.stdout, "%s\t%s\t%s\n", l.Path, l.State, l.Error.Message)
	default:
		fmt.Fprintf(a.stdout, "%s\t%s\n", l.Path, l.State)
	}
}

// bar is a per-file progress bar on a terminal, and nothing otherwise.
type bar struct{ pb *progressbar.ProgressBar }

func (a *app) newBar(path string) *bar {
	if !isTerminal(a.stderr) {
		return &bar{}
	}
	return &bar{pb: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(filepath.Base(path)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionThrottle(100*time.Millisecond),
	)}
}

func (b *bar) set(done, total int64) {
	if b.pb == nil {
		return
	}
	if b.pb.GetMax64() != total {
		b.pb.ChangeMax64(total)
	}
	b.pb.Set64(done)
}

func (b *bar) finish() {
	if b.pb != nil {
		b.pb.Finish()
	}
}
