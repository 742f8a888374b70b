package main

import (
	"encoding/json"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/internal/human"
)

// durationFields are the log fields that hold a [time.Duration] (zerolog's Dur). In JSON logs each
// is a number of milliseconds (a float: 2200.5); on the console it reads "2.2s". A new duration
// field takes one of these names, or is added here (TestDurationFieldsListed checks the sources).
var durationFields = []string{"duration", "retry_in", "eta", "parked_for", "settle", "poll_interval", "grace"}

// zerologGlobals sets zerolog's process-wide encoding once: RFC 3339 timestamps with nanoseconds and
// durations in milliseconds. Setting them again for each logger (a reload makes a new one) would
// race with goroutines of the previous logger still writing.
var zerologGlobals sync.Once

// newLogger builds the root logger: human-readable on a terminal, JSON otherwise (format auto), or
// as forced. Field names are the same everywhere; secrets are never passed to it.
func newLogger(w io.Writer, level, format string) zerolog.Logger {
	zerologGlobals.Do(func() {
		zerolog.TimeFieldFormat = time.RFC3339Nano
		zerolog.DurationFieldUnit = time.Millisecond
	})
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		lvl = zerolog.InfoLevel
	}
	if format == "console" || (format == "auto" || format == "") && isTerminal(w) {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05", NoColor: !isTerminal(w), FormatPrepare: prepareConsole}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// prepareConsole rewrites an event for the console: duration fields as "2.2s" rather than a number
// of milliseconds, and a message holding control characters quoted, so that no text can fake a log
// line (the console writer already quotes such field values).
func prepareConsole(evt map[string]any) error {
	for _, name := range durationFields {
		n, ok := evt[name].(json.Number)
		if !ok {
			continue
		}
		ms, err := n.Float64()
		if err != nil {
			continue
		}
		evt[name] = consoleDuration(time.Duration(ms * float64(time.Millisecond)))
	}
	if msg, ok := evt[zerolog.MessageFieldName].(string); ok {
		evt[zerolog.MessageFieldName] = human.Printable(msg)
	}
	return nil
}

// consoleDuration formats d to a precision a reader needs: "250µs", "13ms", "2.2s", "1m5s", "1h".
func consoleDuration(d time.Duration) string {
	switch a := d.Abs(); {
	case a < time.Millisecond:
		d = d.Round(time.Microsecond)
	case a < time.Second:
		d = d.Round(time.Millisecond)
	case a < time.Minute:
		d = d.Round(100 * time.Millisecond)
	default:
		d = d.Round(time.Second)
	}
	return config.Duration(d).String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}
