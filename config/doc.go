// Package config loads, checks and explains mediasync's YAML configuration
// (SPEC.md §3; every key is documented in config.example.yaml).
//
// # Contract
//
// [Load] returns either a complete, valid [Config] (every default filled
// in, derived defaults resolved) or nil and an error listing every problem
// it found, each as "FILE:LINE: key.path: message" — never just the first.
// Decoding is strict: unknown keys (with a "did you mean" hint), duplicate
// keys, wrong types, bare numbers for durations, ambiguous size units and
// out-of-range values are refused; nothing is clamped or guessed. Every
// error of the package wraps [ErrInvalid] (cmd's exit code 2); [Problems]
// returns the individual [Problem] values.
//
// [Find] picks the file: --config, $MEDIASYNC_CONFIG, ./mediasync.yaml,
// os.UserConfigDir()/mediasync/config.yaml.
//
// An empty file means "all defaults" and loads with zero folders: upload
// and check work without folders, and the commands that need them (run)
// refuse to start with their own message.
//
// # Values
//
// Durations are strings with a unit ("3s", "1h"); a bare number is refused
// except 0. Sizes are bytes or a number with a unit: KiB/MiB/GiB/TiB are
// 1024-based, KB/MB/GB/TB 1000-based ([ParseSize]). Booleans are true/false
// (yes/no/on/off are accepted). Integers and booleans may be quoted.
// Watch timings have floors: watch.settle at least 100ms, network_settle at
// least settle, poll_interval at least 1s, rescan_interval 0 (off) or at
// least 1m ([MinSettle], [MinPollInterval], [MinRescanInterval]). YAML
// anchors, aliases and merge keys (<<) work; top-level keys starting with
// "x-" are ignored, as in docker compose, to give anchors a home
// ("x-defaults: &d {alt_text: sidecar}", then "- <<: *d" in folders). One
// document per file.
//
// # Environment
//
// Any scalar value may use ${VAR} and ${VAR:-default} (default when VAR is
// unset or empty; ${VAR:-} is empty then); "$${" is a literal "${", and a
// "$" not followed by "{" is kept as is. Expansion happens before the value
// is parsed, so "workers: ${WORKERS:-2}" works. A ${VAR} without a default
// whose VAR is not set is a problem ("FILE:LINE: key: ${VAR} is not set"),
// except in a credential, which is then left empty (never half-filled):
// after expansion every empty credential is filled
// from MEDIASYNC_CONSUMER_KEY, MEDIASYNC_CONSUMER_SECRET,
// MEDIASYNC_ACCESS_TOKEN, MEDIASYNC_ACCESS_TOKEN_SECRET,
// MEDIASYNC_BEARER_TOKEN, MEDIASYNC_CLIENT_ID or MEDIASYNC_CLIENT_SECRET (and
// an empty http.token from MEDIASYNC_HTTP_TOKEN), and [Credentials.Missing]
// names what is still missing, with the unset variable the file referenced,
// for the commands that need it (so status and get work on a machine without
// credentials). With api.auth oauth2 a bearer_token, when set, wins;
// otherwise client_id names the OAuth 2.0 client whose grant `mediasync auth
// login` stores in credentials.token_file (resolved by Validate: "" = <user
// config dir>/mediasync/token.json, relative = beside the config file).
//
// # Folders
//
// Folder paths must be absolute ("~/" is expanded). Two folders may not
// overlap: a folder inside a recursive folder that would see its files is
// refused (two manifests would claim one file), unless a directory on the
// way is hidden (".name") or matched by watch.ignore (case-insensitively,
// as the watcher matches it), which the watcher never enters. For the same
// reason an after_upload move:<dir> target that any folder watches is
// refused: moved files would be uploaded again. Name it with a leading "."
// (move:.uploaded), or put it outside. The checks are lexical; `mediasync
// check` looks at the file system. They approximate the watcher's rules
// without importing it: the watcher's built-in ignore names (@eaDir,
// #recycle, "*.tmp", ...) are not replicated, so a folder reached only
// through such a directory is refused although the watcher would skip it
// (add the name to watch.ignore); an overlapping config is never accepted.
//
// # Hooks and notifications
//
// folders[].on_upload is a mapping {command: [argv], timeout: 60s, env:
// [NAME, ...]}; command [] (the default) means none. notify is a list of
// targets, each a webhook {url, headers, events, timeout} or a command
// {command, env, events, timeout}. A program is an absolute path ("~/"
// expanded) or a bare name for PATH, never a relative path (the command
// runs in the folder); a one-element argv holding spaces is refused as a
// shell line. Names in env must be variable names and not those the agent
// sets itself ([ReservedHookEnv]). Webhook URLs are http or https without
// user info; header names are HTTP tokens other than those the client sets,
// values have no line breaks; events are [NotifyEvents] (all by default).
// Error messages quote a webhook URL's scheme and host at most, and never a
// header value: the URL's path or query is often the credential.
// [Config.Warnings] names a program not found in PATH, missing or not
// executable (the agent's PATH may differ, so it is not an error), headers
// sent over plain http, and header ${VAR}s that are not set.
//
// # Renamed keys
//
// metrics.listen is now http.listen (the listener serves the status page and
// its API as well as /metrics and /healthz). The old key is still read: Load
// moves it to [HTTP].Listen, [Config.Warnings] says it is deprecated, and a
// config that sets both to different addresses is refused. Deprecated keys
// are not offered in "did you mean" hints.
//
// # Secrets
//
// [Secret] redacts itself in fmt, JSON, text, YAML and zerolog output. No
// error or warning of this package quotes a credential's value, nor a value
// that came from a secret variable (a MEDIASYNC_* credential variable, or
// one whose name holds SECRET, TOKEN, PASSWORD, KEY, AUTH, ...), wherever
// it was put: "[redacted]" stands in its place. Notify URLs and header
// values are Secrets too.
// [Config.Warnings] flags a file that holds a credential (or a header value
// other than "Bearer ${VAR}" and the like) and is accessible by group or
// others.
//
// The package does no I/O beyond reading the config file, stat calls in
// [Find] and (for commands' programs) in Warnings, and reading the
// environment and home directory. It is safe for
// concurrent use once a Config is built; Validate modifies its receiver.
package config
