// Package config loads, checks and explains mediasync's YAML configuration (SPEC.md §3; every key
// is documented, with its default, in config.example.yaml).
//
// # Contract
//
// [Load] returns either a complete, valid [Config] (defaults filled, derived values resolved) or an
// error listing every problem, each "FILE:LINE: key.path: message", all wrapping [ErrInvalid]
// (cmd's exit 2; [Problems] gives them one by one). Decoding is strict: unknown keys (with a "did
// you mean"), duplicate keys, wrong types, bare numbers for durations, out-of-range values are
// refused; nothing is clamped or guessed. A tab used for indentation is named as such. [Find]
// picks the file: --config, $MEDIASYNC_CONFIG, ./mediasync.yaml, the user config dir. An empty file
// is all defaults, with no folders (run refuses it; upload and check do not need folders).
//
// # Values
//
// Durations are strings with a unit ("3s"); sizes are bytes or "4MiB" (1024-based) / "5MB"
// (1000-based) ([ParseSize]). Watch timings have floors ([MinSettle], [MinPollInterval],
// [MinRescanInterval]). X's limits (chunk size, one-shot size, owners, categories) are the
// uploader's, validated through it: they have one home. YAML anchors and merge keys work; top-level
// "x-" keys are ignored, to give anchors a home.
//
// Any scalar may use ${VAR} and ${VAR:-default}; "$${" is a literal "${". An unset ${VAR} without a
// default is a problem, except in a credential, which is left empty, then filled from its
// MEDIASYNC_* variable (CONSUMER_KEY, CONSUMER_SECRET, ACCESS_TOKEN, ACCESS_TOKEN_SECRET,
// BEARER_TOKEN, CLIENT_ID, CLIENT_SECRET; HTTP_TOKEN for http.token); [Credentials.Missing] names
// what is still missing for the commands that need it, so status and get work without credentials.
//
// # Folders, hooks, renamed keys
//
// Folder paths are absolute ("~/" expanded). Folders may not overlap, and a move:<dir> target may
// not be watched, unless a directory between them is hidden or in watch.ignore: a file would be
// claimed by two manifests, or uploaded again after its move (the checks are lexical; check looks
// at the disk). on_upload and notify commands are argv lists, never shell lines; their programs
// are absolute or found in PATH ([Config.Warnings] says when one is not found, as the agent's PATH
// may differ). Webhook URLs carry no user info and are logged as scheme and host only.
// metrics.listen is read as http.listen, with a deprecation warning.
//
// # Secrets
//
// [Secret] redacts itself in fmt, JSON, YAML and zerolog output. No error or warning quotes a
// credential, a notify URL or header, or any value that came from a secret-looking variable
// (*SECRET*, *TOKEN*, *PASSWORD*, *KEY*, *AUTH*, …): "[redacted]" stands in its place. A file that
// holds a secret and is readable by group or others gets a warning.
//
// The package reads only the config file, the environment and, for warnings, a few stats. A Config
// is safe for concurrent reads once built; Validate modifies its receiver.
package config
