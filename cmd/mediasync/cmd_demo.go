package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/agent"
	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/emulator"
	"github.com/mediasync/mediasync/internal/mediagen"
	"github.com/mediasync/mediasync/manifest"
)

func (a *app) demoCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole job against the built-in emulator, with nothing to set up",
		Long: `Start the X media API emulator in this process on a loopback port, write a configuration for it,
watch DIR/inbox, drop a generated sample photo into it, and show the upload and its manifest entry.
It keeps running until Ctrl-C, so you can drop more files into the inbox. Nothing leaves this machine:
uploads go to the local emulator, never to X.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := interruptContext(cmd.Context())
			defer stop()
			return a.demo(ctx, dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "mediasync-demo", "directory for the demo's inbox, configuration and emulator storage")
	return cmd
}

func (a *app) demo(ctx context.Context, dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	inbox := filepath.Join(dir, "inbox")
	if err := os.MkdirAll(inbox, 0o755); err != nil {
		return err
	}
	log := newLogger(a.stderr, "info", "auto")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	urlc := make(chan string, 1)
	emuDone := make(chan error, 1)
	go func() {
		opts := emulator.Options{
			Credentials: emulator.DemoCredentials(),
			Faults:      emulator.Faults{ProcessingTime: 2 * time.Second},
			StoreDir:    filepath.Join(dir, "emulator-store"),
			Log:         log.Level(max(log.GetLevel(), zerolog.WarnLevel)),
		}
		emuDone <- emulator.ListenAndServe(ctx, "127.0.0.1:0", opts, func(u string) { urlc <- u })
	}()
	var url string
	select {
	case url = <-urlc:
	case err := <-emuDone:
		return fmt.Errorf("start emulator: %w", err)
	case <-ctx.Done():
		return nil
	}

	cfgPath := filepath.Join(dir, "mediasync.yaml")
	if err := writeDemoConfig(cfgPath, url, inbox); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	up, err := newUploader(cfg, log)
	if err != nil {
		return err
	}
	opts := agentOptions(cfg)
	opts.Observer = &demoObserver{w: a.stdout, manifest: cfg.Folders[0].Manifest}
	ag, err := agent.New(up, opts, log)
	if err != nil {
		return err
	}
	defer ag.Close()

	fmt.Fprintf(a.stdout, `mediasync demo
  uploads go to the built-in X API emulator at %s (nothing leaves this machine)
  watching   %s
  manifest   %s
  config     %s
Drop JPEG, PNG, GIF or MP4 files into the inbox to upload them. Ctrl-C stops.

`, url, inbox, cfg.Folders[0].Manifest, cfgPath)

	sample, err := dropSample(inbox)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "dropped a sample photo: %s\n", sample)

	w, err := newWatcher(ag, cfg, log)
	if err != nil {
		return err
	}
	err = ag.Run(ctx, w)
	cancel()
	if eerr := <-emuDone; eerr != nil && !errors.Is(eerr, context.Canceled) && err == nil {
		err = eerr
	}
	if err == nil {
		fmt.Fprintf(a.stdout, "\ndemo stopped; the manifest stays in %s\n", cfg.Folders[0].Manifest)
	}
	return err
}

func writeDemoConfig(path, url, inbox string) error {
	d := emulator.DemoCredentials()
	text := fmt.Sprintf(`# Written by 'mediasync demo': a configuration for the built-in emulator.
# Try: mediasync status --config %q
api:
  version: v2
  base_url: %q
credentials:                # the emulator's demo credentials, not real ones
  consumer_key: %q
  consumer_secret: %q
  access_token: %q
  access_token_secret: %q
watch:
  settle: 1s
folders:
  - path: %q
`, path, url, d.ConsumerKey, d.ConsumerSecret, d.AccessToken, d.AccessTokenSecret, inbox)
	return os.WriteFile(path, []byte(text), 0o600)
}

// dropSample writes a generated photo into dir the way careful tools do: to a hidden temporary
// name first, then renamed into place.
func dropSample(dir string) (string, error) {
	name := fmt.Sprintf("sample-%s.jpg", time.Now().Format("20060102-150405"))
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, mediagen.JPEG(1200, 800, time.Now().UnixNano()), 0o644); err != nil {
		return "", err
	}
	dst := filepath.Join(dir, name)
	return dst, os.Rename(tmp, dst)
}

// demoObserver prints each outcome with the file's manifest entry.
type demoObserver struct {
	mu       sync.Mutex
	w        io.Writer
	manifest string
}

// Observe prints each file's outcome.
func (o *demoObserver) Observe(e agent.Event) {
	if e.Kind == agent.EventFile {
		o.fileDone(e.Rel, e.Outcome, e.Bytes, e.Duration)
	}
}

func (o *demoObserver) fileDone(rel string, outcome agent.Outcome, bytes int64, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	m, err := manifest.Read(o.manifest)
	if err != nil {
		fmt.Fprintf(o.w, "%s %s (manifest unreadable: %v)\n", outcome, rel, err)
		return
	}
	e := m.Files[rel]
	fmt.Fprintf(o.w, "\n%s %s", outcome, rel)
	if outcome == agent.OutcomeUploaded {
		fmt.Fprintf(o.w, " (%d bytes in %s) → media_id_string %s, expires %s",
			bytes, d.Round(time.Millisecond), e.MediaIDString, e.ExpiresAt.Local().Format(time.RFC1123))
	}
	b, _ := json.MarshalIndent(map[string]manifest.Entry{rel: e}, "", "  ")
	fmt.Fprintf(o.w, "\nmanifest entry:\n%s\n", b)
}
