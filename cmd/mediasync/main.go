// Command mediasync watches folders, uploads every new media file to the X media upload API once it
// is completely written, and records media_id_string, media_key and the expiry in a manifest beside
// the folder, for a posting step to use. Run `mediasync --help` for the commands; SPEC.md and
// README.md document them.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/mediasync/mediasync/config"
)

// Exit codes (SPEC.md §2).
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitExpired     = 4
	exitWillNot     = 5 // get: skipped, or failed permanently: will not be uploaded as it is
	exitInterrupted = 130
)

func main() {
	os.Exit(Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries a specific exit code; its message, if any, has been printed already when silent.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// usageError marks bad flags or arguments.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(&app{stdin: stdin, stdout: stdout, stderr: stderr})
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	code := exitCode(err)
	var ee *exitError
	if err != nil && !(errors.As(err, &ee) && (ee.silent || ee.err == nil)) {
		fmt.Fprintf(stderr, "mediasync: %v\n", err)
	}
	return code
}

// exitCode maps an error to the exit code, in one place.
func exitCode(err error) int {
	var ee *exitError
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue), errors.Is(err, config.ErrInvalid):
		return exitUsage
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	default:
		return exitFailure
	}
}

type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configPath     string
}

func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "mediasync",
		Short: "Upload every media file dropped in a folder to X, once, and record its media id",
		Long: `mediasync watches folders, uploads every new media file to the X (Twitter) media upload API
once the file is completely written, and records media_id_string, media_key and the expiry in a
manifest beside the folder (<folder>/.mediasync/manifest.json), so that a posting step can attach
the media before it expires.

Try it with nothing to set up:  mediasync demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(), // --version, as `mediasync version`
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{fmt.Errorf("%w\nRun '%s --help' for usage.", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVarP(&a.configPath, "config", "c", "",
		"configuration file (default: $MEDIASYNC_CONFIG, ./mediasync.yaml, then the user config dir)")
	root.AddCommand(
		a.runCmd(),
		a.uploadCmd(),
		a.retryCmd(),
		a.statusCmd(),
		a.getCmd(),
		a.explainCmd(),
		a.checkCmd(),
		a.authCmd(),
		a.emulateCmd(),
		a.demoCmd(),
		a.versionCmd(),
	)
	return root
}

// loadConfig finds and loads the configuration.
func (a *app) loadConfig() (*config.Config, error) {
	path, err := config.Find(a.configPath)
	if err != nil {
		return nil, err
	}
	return config.Load(path)
}

// interruptContext is cancelled by the first SIGINT or SIGTERM; the handler is then removed, so a
// second Ctrl-C ends a shutdown that hangs (a manifest on a dead network mount, say) the usual way.
func interruptContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// noArgs is cobra.NoArgs with our usage error type.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
