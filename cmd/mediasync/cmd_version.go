package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3"; otherwise the module version.
var version = ""

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and build information",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			fmt.Fprintln(a.stdout, versionLine())
			return nil
		},
	}
}

// versionLine is what `mediasync version` and `mediasync --version` print.
func versionLine() string {
	v, extra := buildVersion()
	return fmt.Sprintf("mediasync %s (%s, %s/%s)%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH, extra)
}

func buildVersion() (string, string) {
	v := version
	extra := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" {
			v = bi.Main.Version
		}
		var rev, when, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			extra = fmt.Sprintf(" commit %.12s%s %s", rev, dirty, when)
		}
	}
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	return v, extra
}
