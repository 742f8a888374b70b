package hook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/mediasync/mediasync/manifest"
)

// Defaults of [Spec]'s zero values.
const (
	DefaultTimeout        = 60 * time.Second
	DefaultKillGrace      = 5 * time.Second
	DefaultMaxOutputLines = 20
	DefaultMaxOutputBytes = 8 << 10
)

// Spec is one configured command.
type Spec struct {
	// Command is the argv: Command[0] is an absolute path or a name looked up in PATH.
	Command []string
	// Timeout bounds a run; 0 means DefaultTimeout.
	Timeout time.Duration
	// Env names variables of the agent's environment passed on to the command when set, on top of
	// BaseEnv (e.g. X_BEARER_TOKEN for a command that posts).
	Env []string
	// KillGrace is the time between SIGTERM and SIGKILL at the timeout, and how long output held
	// open by a background process is waited for after the command exits; 0 means DefaultKillGrace.
	KillGrace time.Duration
	// MaxOutputLines and MaxOutputBytes bound the output kept in Result.Output; 0 means the defaults.
	MaxOutputLines int
	MaxOutputBytes int
}

func (s Spec) timeout() time.Duration   { return orDefault(s.Timeout, DefaultTimeout) }
func (s Spec) killGrace() time.Duration { return orDefault(s.KillGrace, DefaultKillGrace) }

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Job is one upload whose on_upload command is to run.
type Job struct {
	Folder string // the folder's absolute path; the working directory
	Rel    string // the manifest key: the path relative to Folder, '/'-separated
	// Path is the file's absolute path now; "" means Entry.MovedTo when set, else Folder/Rel.
	Path    string
	Entry   manifest.Entry
	Attempt int // 1 for the first run (MEDIASYNC_HOOK_ATTEMPT)
}

// path returns where the file is now.
func (j Job) path() string {
	switch {
	case j.Path != "":
		return j.Path
	case j.Entry.MovedTo != "":
		return j.Entry.MovedTo
	}
	return filepath.Join(j.Folder, filepath.FromSlash(j.Rel))
}

// maxVarLen bounds a job variable's value: Linux refuses a single environment string over 128 KiB
// (MAX_ARG_STRLEN) and the command would not start. Real values are far shorter (X caps alt text at
// 1,000 characters); the whole entry is on stdin anyway.
const maxVarLen = 32 << 10

// Vars returns the job's variables as KEY=VALUE, in the order of the package doc. A value longer
// than 32 KiB is cut.
func (j Job) Vars() []string {
	expires := ""
	if !j.Entry.ExpiresAt.IsZero() {
		expires = j.Entry.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return []string{
		"MEDIASYNC_FOLDER=" + j.Folder,
		"MEDIASYNC_PATH=" + j.path(), // paths are at most PATH_MAX (4 KiB)
		"MEDIASYNC_REL=" + j.Rel,
		"MEDIASYNC_MEDIA_ID=" + j.Entry.MediaIDString,
		"MEDIASYNC_MEDIA_KEY=" + j.Entry.MediaKey,
		"MEDIASYNC_EXPIRES_AT=" + expires,
		"MEDIASYNC_ALT_TEXT=" + truncate(j.Entry.AltText, maxVarLen),
		"MEDIASYNC_HOOK_ATTEMPT=" + strconv.Itoa(max(j.Attempt, 1)),
	}
}

// Input is what [Exec] gives a command besides its Spec.
type Input struct {
	Stdin []byte   // written to standard input, then closed
	Vars  []string // KEY=VALUE after the base and Spec.Env (later ones win)
	Dir   string   // working directory; "" = the agent's
}

// Status is how a run ended.
type Status string

// The statuses of a [Result].
const (
	Done     Status = "done"     // exit status 0
	Failed   Status = "failed"   // anything else the command is responsible for; Reason says what
	Canceled Status = "canceled" // the caller's context ended first; the process group was killed
)

// Result is the outcome of one run.
type Result struct {
	Status Status
	// Reason says why the run failed or was canceled; "" when done.
	Reason string
	// ExitCode is the exit status, or -1 when the command did not exit by itself (signal, never
	// started).
	ExitCode int
	TimedOut bool
	// Output is the start of what the command wrote to stdout and stderr, interleaved, as valid
	// UTF-8 without control characters other than newline and tab; a last line says how much was
	// left out.
	Output      string
	OutputLines int   // lines written in all (a last line without newline counts)
	OutputBytes int64 // bytes written in all
	// Note reports something odd about a run that still counts as done ("output held open by a
	// background process; stopped reading after 5s and killed its process group").
	Note     string
	Duration time.Duration
}

// Summary is Reason followed by the first non-empty line of output, cut to 200 bytes: what the
// manifest's last_error shows ("exit status 7: curl: (7) Failed to connect to localhost").
func (r Result) Summary() string {
	s := r.Reason
	if line := firstLine(r.Output); line != "" {
		if s != "" {
			s += ": "
		}
		s += line
	}
	return truncate(s, 200)
}

// Run runs spec for one uploaded file: the job's variables in the environment, its manifest
// entry as JSON on standard input, the folder as working directory. See the package doc.
func Run(ctx context.Context, spec Spec, job Job) Result {
	stdin, err := json.Marshal(job.Entry)
	if err != nil {
		return Result{Status: Failed, ExitCode: -1, Reason: fmt.Sprintf("encode the manifest entry: %v", err)}
	}
	return Exec(ctx, spec, Input{Stdin: append(stdin, '\n'), Vars: job.Vars(), Dir: job.Folder})
}

// Exec runs spec with the given input. It returns when the command has exited and its output is
// read, or at the latest Timeout + 2×KillGrace after the start.
func Exec(ctx context.Context, spec Spec, in Input) Result {
	start := time.Now()
	res := exec1(ctx, spec, in)
	res.Duration = time.Since(start)
	return res
}

func exec1(ctx context.Context, spec Spec, in Input) Result {
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		return Result{Status: Failed, ExitCode: -1, Reason: "no command configured"}
	}
	if err := ctx.Err(); err != nil {
		return Result{Status: Canceled, ExitCode: -1, Reason: "not started: " + err.Error()}
	}
	timeout, grace := spec.timeout(), spec.killGrace()
	tctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	out := newCapture(orDefault(spec.MaxOutputLines, DefaultMaxOutputLines), orDefault(spec.MaxOutputBytes, DefaultMaxOutputBytes))
	cmd := exec.CommandContext(tctx, spec.Command[0], spec.Command[1:]...)
	cmd.Env = environ(spec.Env, in.Vars)
	cmd.Dir = in.Dir
	cmd.Stdin = bytes.NewReader(in.Stdin)
	cmd.Stdout, cmd.Stderr = out, out // the same writer: one pipe, so the two stay in order
	newProcessGroup(cmd)

	var (
		mu       sync.Mutex
		stopped  bool        // Cancel ran: the context ended before the command exited
		escalate *time.Timer // SIGKILL for the group, KillGrace after the SIGTERM
	)
	cmd.Cancel = func() error {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		terminateGroup(cmd.Process)
		escalate = time.AfterFunc(grace, func() { killGroup(cmd.Process) })
		return nil
	}
	// After the context ends (or after the command exits while something still holds its output
	// open), Wait gives up on the pipes after this long, kills the command's own process if need
	// be, and returns.
	cmd.WaitDelay = grace

	err := cmd.Run()

	mu.Lock()
	wasStopped := stopped
	if escalate != nil {
		escalate.Stop()
	}
	mu.Unlock()

	res := Result{ExitCode: -1}
	if cmd.Process == nil { // never started
		res.Status, res.Reason = Failed, startError(spec.Command[0], err)
		return res
	}
	ps := cmd.ProcessState
	heldOpen := errors.Is(err, exec.ErrWaitDelay)
	if wasStopped || heldOpen || ps == nil || !ps.Success() {
		// The group may outlive its leader: members that ignored SIGTERM, kept the pipes open, or
		// were left behind by a failed run (they would meet the retry).
		killGroup(cmd.Process)
	}
	res.Output, res.OutputLines, res.OutputBytes = out.result()

	switch {
	case wasStopped && ctx.Err() != nil:
		res.Status, res.Reason = Canceled, "stopped: "+context.Cause(ctx).Error()
	case wasStopped:
		res.Status, res.TimedOut = Failed, true
		res.Reason = fmt.Sprintf("timed out after %s; process group killed", timeout)
	case ps == nil:
		res.Status, res.Reason = Failed, err.Error()
	case ps.Success():
		res.Status, res.ExitCode = Done, 0
		if heldOpen {
			res.Note = fmt.Sprintf("output held open by a background process; stopped reading after %s and killed its process group", grace)
		}
	default:
		res.Status, res.Reason = Failed, exitReason(ps)
		res.ExitCode = ps.ExitCode()
	}
	return res
}

// startError explains why a command did not start, naming the program but nothing else.
func startError(prog string, err error) string {
	var ee *exec.Error
	if errors.As(err, &ee) {
		err = ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	what := strconv.Quote(prog)
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return what + ": program not found in PATH"
	case errors.Is(err, exec.ErrDot):
		return what + ": found only in the current directory; give an absolute path"
	case errors.Is(err, fs.ErrNotExist):
		return what + ": no such file (or the working directory is missing)"
	case errors.Is(err, fs.ErrPermission):
		return what + ": permission denied (not executable?)"
	case errors.Is(err, syscall.ENOEXEC):
		return what + ": exec format error (a script needs a #! line)"
	case errors.Is(err, syscall.E2BIG):
		return what + ": argument list or environment too long"
	}
	return fmt.Sprintf("%s: cannot start: %v", what, err)
}
