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
// MEDIASYNC_ACCESS_TOKEN, MEDIASYNC_ACCESS_TOKEN_SECRET or
// MEDIASYNC_BEARER_TOKEN, and [Credentials.Missing] names what is still
// missing, with the unset variable the file referenced, for the commands
// that need it (so status and get work on a machine without credentials).
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
// # Secrets
//
// [Secret] redacts itself in fmt, JSON, text, YAML and zerolog output. No
// error or warning of this package quotes a credential's value, nor a value
// that came from a secret variable (a MEDIASYNC_* credential variable, or
// one whose name holds SECRET, TOKEN, PASSWORD, KEY, AUTH, ...), wherever
// it was put: "[redacted]" stands in its place.
// [Config.Warnings] flags a file that holds a credential and is
// accessible by group or others.
//
// The package does no I/O beyond reading the config file, stat calls in
// [Find], and reading the environment and home directory. It is safe for
// concurrent use once a Config is built; Validate modifies its receiver.
package config
