package main

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// Console logs show durations as "2.2s"; JSON logs keep a number of milliseconds.
func TestLogDurations(t *testing.T) {
	var console, js bytes.Buffer
	clog := newLogger(&console, "info", "console")
	clog.Info().Dur("retry_in", 2200*time.Millisecond).
		Dur("duration", 13*time.Millisecond).Dur("eta", 65*time.Second).Dur("poll_interval", time.Hour).Msg("request failed; retrying")
	for _, want := range []string{"retry_in=2.2s", "duration=13ms", "eta=1m5s", "poll_interval=1h"} {
		if !strings.Contains(console.String(), want) {
			t.Errorf("console line %q lacks %q", console.String(), want)
		}
	}
	jlog := newLogger(&js, "info", "json")
	jlog.Info().Dur("retry_in", 2200*time.Millisecond).Msg("x")
	var line struct {
		RetryIn float64 `json:"retry_in"`
	}
	if err := json.Unmarshal(js.Bytes(), &line); err != nil || line.RetryIn != 2200 {
		t.Errorf("JSON line %q: retry_in = %v (%v), want 2200 (milliseconds)", js.String(), line.RetryIn, err)
	}
}

// Every field the project logs with zerolog's Dur is one the console shows as a duration, and
// every listed name is logged somewhere.
func TestDurationFieldsListed(t *testing.T) {
	used := map[string]bool{}
	re := regexp.MustCompile(`[.\s]Dur\("([a-z_]+)"`)
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && path != "../..") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(b, -1) {
			used[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range used {
		if !slices.Contains(durationFields, name) {
			t.Errorf("the sources log Dur(%q), which durationFields lacks: the console would show raw milliseconds", name)
		}
	}
	for _, name := range durationFields {
		if !used[name] {
			t.Errorf("durationFields lists %q, which nothing logs", name)
		}
	}
}

// No text in a console log line can fake another line: control characters in the message and in
// fields are escaped.
func TestConsoleLogEscapes(t *testing.T) {
	var buf bytes.Buffer
	log := newLogger(&buf, "info", "console")
	log.Info().Str("path", "/in/evil\n12:00:00 INF uploaded x.jpg").Msg("file ready\n12:00:00 ERR fake")
	out := strings.TrimSuffix(buf.String(), "\n")
	if strings.Contains(out, "\n") {
		t.Errorf("one event made several lines:\n%s", out)
	}
	if !strings.Contains(out, `"file ready\n12:00:00 ERR fake"`) || !strings.Contains(out, `path="/in/evil\n12:00:00 INF uploaded x.jpg"`) {
		t.Errorf("control characters not escaped as Go quotes: %s", out)
	}
}
