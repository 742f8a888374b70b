package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mediasync/mediasync/config"
	"github.com/mediasync/mediasync/internal/human"
	"github.com/mediasync/mediasync/manifest"
	"github.com/mediasync/mediasync/web"
)

// `mediasync status` (issue 13.4): besides the manifest, the live state of the running agent of
// each folder (paused and why, the uploads in flight with their percent, a folder not watched or
// waiting to save), expired entries counted apart from valid ones, --state and --summary, and
// reasons never cut: each failed or skipped row has its reason on a line of its own.

// stateExpired is the --state (and count) of an uploaded entry whose media id expired.
const stateExpired = "expired"

// statusStates are the states --state accepts, in the order counts are printed.
var statusStates = []string{string(manifest.Uploaded), stateExpired, string(manifest.Processing), string(manifest.Uploading),
	string(manifest.Pending), string(manifest.Failed), string(manifest.Skipped)}

// liveStatus is what the running agent of a folder says about it (status --json "live").
type liveStatus struct {
	// Paused is set while every upload of the agent waits (the account is refused).
	Paused *web.Pause `json:"paused,omitempty"`
	// Queue is the number of the folder's files waiting for a worker.
	Queue int `json:"queue"`
	// Active are the folder's uploads in flight.
	Active []web.Transfer `json:"active"`
	// Refused is set when the agent does not watch the folder; Parked when it cannot save its
	// manifest (its uploads wait).
	Refused *web.Refusal `json:"refused,omitempty"`
	Parked  *web.Refusal `json:"parked,omitempty"`
	// Error is set when an agent answers but not with this folder's state.
	Error string `json:"error,omitempty"`
}

// liveOf asks the running agent of f, if any, for f's live state. A folder with no agent of its
// own may be one that a running agent of another folder refused (its manifest locked, the folder
// missing): that agent says why. Probe every folder (agents.of) before, so that every running
// agent is known.
func liveOf(ctx context.Context, live *agents, f config.Folder) *liveStatus {
	c, err := live.of(ctx, f.Manifest)
	if err != nil {
		return &liveStatus{Active: []web.Transfer{}, Error: err.Error()}
	}
	if c == nil {
		for _, other := range live.running() {
			if l, err := folderLive(ctx, other, f.Path); err == nil && l.Refused != nil {
				return l
			}
		}
		return nil
	}
	l, err := folderLive(ctx, c, f.Path)
	if err != nil {
		return &liveStatus{Active: []web.Transfer{}, Error: err.Error()}
	}
	return l
}

// folderLive asks c for folder's live state.
func folderLive(ctx context.Context, c *web.Client, folder string) (*liveStatus, error) {
	qctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	st, err := c.Status(qctx, web.Query{Folder: folder, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(st.Folders) != 1 {
		return nil, fmt.Errorf("the agent sent %d folders", len(st.Folders))
	}
	fs := st.Folders[0]
	return &liveStatus{Paused: st.Paused, Queue: fs.Queue, Active: fs.Active, Refused: fs.Refused, Parked: fs.Parked}, nil
}

// probeAgents asks the control socket of every configured folder (all of them, even when status
// shows one) whether an agent runs there, so that liveOf knows every running agent.
func probeAgents(ctx context.Context, live *agents, all []config.Folder) {
	for _, f := range all {
		live.of(ctx, f.Manifest)
	}
}

// countStates counts entries per state, uploaded entries whose media id expired by now apart
// (stateExpired).
func countStates(files map[string]manifest.Entry, now time.Time) map[manifest.State]int {
	c := map[manifest.State]int{}
	for _, e := range files {
		c[manifest.State(rowState(e, now))]++
	}
	return c
}

// rowState is the state an entry is counted and filtered under.
func rowState(e manifest.Entry, now time.Time) string {
	if e.State == manifest.Uploaded && !e.Usable(now) {
		return stateExpired
	}
	return string(e.State)
}

// checkStateFlag refuses an unknown --state.
func checkStateFlag(s string) error {
	if s == "" || slices.Contains(statusStates, s) {
		return nil
	}
	return usageError{fmt.Errorf("--state %q is not one of %s", s, strings.Join(statusStates, ", "))}
}

// printLive prints the live part of a folder's status.
func printLive(w io.Writer, l *liveStatus, now time.Time) {
	if l == nil {
		return
	}
	if l.Error != "" {
		fmt.Fprintf(w, "  agent: %s\n", human.Printable(l.Error))
		return
	}
	if l.Refused == nil {
		fmt.Fprintf(w, "  agent: running, %d queued, %d uploading\n", l.Queue, len(l.Active))
	}
	if p := l.Paused; p != nil {
		fmt.Fprintf(w, "  PAUSED for %s (%s): %s\n", human.Duration(now.Sub(p.Since)), human.Printable(p.Cause), human.Printable(p.Message))
		fix := p.Fix
		if !p.NextProbe.IsZero() {
			fix = strings.TrimSpace(fix + " (next try in " + human.Duration(p.NextProbe.Sub(now)) + ")")
		}
		if fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", human.Printable(fix))
		}
	}
	for _, r := range []struct {
		what string
		r    *web.Refusal
	}{{"NOT WATCHED", l.Refused}, {"NOT SAVED", l.Parked}} {
		if r.r == nil {
			continue
		}
		fmt.Fprintf(w, "  %s (%s): %s\n", r.what, human.Printable(r.r.Cause), human.Printable(r.r.Message))
		if r.r.Fix != "" {
			fmt.Fprintf(w, "    fix: %s\n", human.Printable(r.r.Fix))
		}
	}
	if len(l.Active) > 0 {
		rows := [][]string{}
		for _, t := range l.Active {
			pct := "-"
			if t.Total > 0 {
				pct = fmt.Sprintf("%d%%", t.Bytes*100/t.Total)
			}
			detail := []string{human.Bytes(t.Bytes) + " of " + human.Bytes(t.Total)}
			if t.SegmentsTotal > 0 {
				detail = append(detail, fmt.Sprintf("%d of %d segments", t.Segments, t.SegmentsTotal))
			}
			if t.Rate > 0 {
				detail = append(detail, human.Bytes(int64(t.Rate))+"/s")
			}
			if t.ETA > 0 {
				detail = append(detail, human.Duration(time.Duration(t.ETA*float64(time.Second)))+" left")
			}
			rows = append(rows, []string{human.Printable(t.Rel), human.Printable(string(t.Phase)), pct, strings.Join(detail, ", ")})
		}
		fmt.Fprintln(w, "  uploading now:")
		printTable(w, "    ", rows, nil)
	}
}

// printRows prints the manifest entries of a folder as a table, those in state (all when "") by
// path, each failed or skipped one followed by its whole reason on a line of its own.
func printRows(w io.Writer, files map[string]manifest.Entry, state string, now time.Time) {
	rels := make([]string, 0, len(files))
	for rel, e := range files {
		if state == "" || rowState(e, now) == state {
			rels = append(rels, rel)
		}
	}
	if len(rels) == 0 {
		return
	}
	sort.Strings(rels)
	rows := [][]string{{"FILE", "STATE", "MEDIA_ID", "EXPIRES IN"}}
	notes := []string{""}
	for _, rel := range rels {
		e := files[rel]
		st := string(e.State)
		if e.Deleted {
			st += " (deleted)"
		}
		rows = append(rows, []string{human.Printable(rel), human.Printable(st), human.Printable(orDash(e.MediaIDString)), expiresIn(e, now)})
		notes = append(notes, reasonOf(e))
	}
	printTable(w, "  ", rows, notes)
}

// reasonOf is the whole reason of a failed or skipped entry ("" for the others), the message made
// printable.
func reasonOf(e manifest.Entry) string {
	switch {
	case e.State == manifest.Failed && e.Error != nil:
		msg := human.Printable(e.Error.Message)
		if e.Error.HTTPStatus != 0 {
			msg = fmt.Sprintf("%s (HTTP %d)", msg, e.Error.HTTPStatus)
		}
		if e.Error.Permanent {
			return "error: " + msg + "; not retried by itself (mediasync retry FILE)"
		}
		if !e.NextAttemptAt.IsZero() {
			return "error: " + msg + "; retried at " + e.NextAttemptAt.Local().Format(time.DateTime)
		}
		return "error: " + msg
	case e.State == manifest.Skipped:
		return "why: " + human.Printable(e.Reason)
	case e.Hook != nil && e.Hook.State == manifest.HookFailed:
		return fmt.Sprintf("on_upload failed %d time(s), for good: %s; mediasync retry --hooks runs it again",
			e.Hook.Attempts, human.Printable(e.Hook.LastError))
	case e.Hook != nil && e.Hook.State == manifest.HookPending && e.Hook.Attempts > 0:
		return fmt.Sprintf("on_upload failed %d time(s): %s; tried again at %s",
			e.Hook.Attempts, human.Printable(e.Hook.LastError), e.Hook.NextAttemptAt.Local().Format(time.DateTime))
	}
	return ""
}

// printTable prints rows (made printable by the caller: a name holding a newline or a tab must not
// fake a row) with aligned columns (two spaces apart; the last column is not padded),
// each line after indent. A non-empty notes[i] is printed whole on a line of its own under row i,
// indented by two more spaces: no cell is ever cut.
func printTable(w io.Writer, indent string, rows [][]string, notes []string) {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	for i, r := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for j, c := range r {
			b.WriteString(c)
			if j < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[j]-utf8.RuneCountInString(c)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		if i < len(notes) && notes[i] != "" {
			fmt.Fprintf(w, "%s    %s\n", indent, notes[i])
		}
	}
}
