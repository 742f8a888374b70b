// Package hook runs a folder's on_upload command after an upload is durable in the manifest, and
// computes the hook state ([manifest.HookState]) the agent records around it.
//
// # What the command gets
//
//   - argv: [Spec.Command] exactly as configured, no shell. Command[0] is an absolute path or a name
//     looked up in PATH. Write ["sh", "-c", "…"] to get a shell.
//   - environment: a minimal base, never the agent's whole environment (which may hold
//     MEDIASYNC_CONSUMER_SECRET and other credentials): the agent's values of [BaseEnv] (PATH, HOME,
//     USER, LOGNAME, SHELL, LANG, LANGUAGE, LC_*, TZ, TMPDIR; on Windows also SYSTEMROOT, COMSPEC,
//     PATHEXT, TEMP, ...) that are set, PATH defaulting to /usr/local/sbin:/usr/local/bin:/usr/sbin:
//     /usr/bin:/sbin:/bin; then the variables named in [Spec.Env] (on_upload.env in the config) that
//     are set in the agent's environment; then the job's: MEDIASYNC_FOLDER, MEDIASYNC_PATH,
//     MEDIASYNC_REL, MEDIASYNC_MEDIA_ID, MEDIASYNC_MEDIA_KEY, MEDIASYNC_EXPIRES_AT (RFC 3339 UTC),
//     MEDIASYNC_ALT_TEXT and MEDIASYNC_HOOK_ATTEMPT (1 on the first run), always set, possibly empty.
//   - standard input: the manifest entry as one line of JSON (the bytes of `mediasync get --field
//     json`), then end of file.
//   - working directory: the folder.
//
// # How a run ends
//
// Exit status 0 is [Done]. Anything else is [Failed] with a [Result.Reason]: "exit status 3",
// "killed by signal SIGSEGV", "timed out after 1m0s; process group killed", "program not found in
// PATH", "permission denied (not executable?)", "exec format error (a script needs a #! line)".
// A run cut short because the caller's context ended is [Canceled]: not the command's fault, so it
// counts no attempt.
//
// On Unix the command runs in its own process group. At the timeout ([Spec.Timeout], default 60 s)
// the group gets SIGTERM and, [Spec.KillGrace] (default 5 s) later, SIGKILL. When the command exits
// but processes it started still hold its output open (a forgotten "&"), Run stops reading after
// the grace, kills that process group and returns: nothing a command does can hang the agent. What
// a failed run leaves in its group is killed too (it would meet the retry). Only after a successful
// run may a background process that redirected its output live on; to be safe from all of this,
// start it in a new session (setsid cmd >/dev/null 2>&1 &). On other systems only the command's
// own process is killed.
//
// Output (stdout and stderr, interleaved) is captured for the log: the first [Spec.MaxOutputLines]
// lines (default 20) within [Spec.MaxOutputBytes] (default 8 KiB); the rest is read, counted and
// discarded, so a chatty command never blocks on a full pipe.
//
// # Retries
//
// [Policy] turns a run's [Result] into the next [manifest.HookState]: done, or pending again at a
// backoff with full jitter, or failed after the last attempt. The functions are pure (the caller
// passes the time and the jitter), so the agent stores their result in the manifest and a restart
// continues where it was.
//
// Nothing here logs, starts goroutines that outlive a call, or changes global state.
package hook
