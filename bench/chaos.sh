#!/usr/bin/env bash
# Chaos run: the agent as a subprocess against the emulator, SIGKILLed at random moments while
# images and large videos are dropped in, restarted, killed again; then checked (one manifest entry
# per file, byte-identical at the emulator, duplicates counted). Prints one table. Then the OAuth 2.0
# run (TestRunOAuth2ShortTokens: 3 s tokens, files dropped over a minute) with as many kills.
# Usage: bench/chaos.sh [KILLS] [SEED]     (default 100 kills, seed from the clock)
#   -race is on: the agent subprocess is the race-instrumented test binary. The four variants run
#   in parallel, each with its own emulator (latency 10ms, 4 MiB/s per connection) and folder.
#   MEDIASYNC_CHAOS_LOGDIR=DIR keeps every run's log and the final manifest.
set -euo pipefail
cd "$(dirname "$0")/.."

kills=${1:-100}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
# env: an assignment that comes out of an expansion is not an assignment to the shell.
env MEDIASYNC_CHAOS_KILLS="$kills" MEDIASYNC_OAUTH_KILLS="$kills" ${2:+MEDIASYNC_CHAOS_SEED="$2"} \
	go test -race -count=1 -timeout 2h -run '^(TestChaos|TestRunOAuth2ShortTokens)$' -v ./cmd/mediasync/ >"$out" 2>&1 || status=$?

echo "# chaos: $kills kills per variant, $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
awk '
/chaos result:/ {
	delete kv
	for (i = 1; i <= NF; i++) if (split($i, p, "=") == 2) kv[p[1]] = p[2]
	rows[++n] = sprintf("| %-11s | %5s | %5s | %7.1f | %11s | %12s | %15s | %7s | %11s | %9s | %9s | %7s | %20s |", kv["variant"],
		kv["kills"], kv["files"], kv["bytes"] / 1048576, kv["dup_chunked"], kv["dup_oneshot"],
		kv["manifest_parse_failures"], kv["resumed"], kv["unfinalized"], kv["hook_runs"], kv["hook_dups"], kv["seconds"], kv["seed"])
}
/oauth2 result:/ { sub(/.*oauth2 result: /, ""); oauth = $0 }
END {
	printf "| %-11s | %5s | %5s | %7s | %11s | %12s | %15s | %7s | %11s | %9s | %9s | %7s | %20s |\n", "variant", "kills", "files",
		"MiB", "dup chunked", "dup one-shot", "manifest errors", "resumed", "unfinalized", "hook runs", "hook dups", "seconds", "seed"
	print "|-------------|-------|-------|---------|-------------|--------------|-----------------|---------|-------------|-----------|-----------|---------|----------------------|"
	for (i = 1; i <= n; i++) print rows[i]
	if (oauth != "") { print ""; print "oauth2: " oauth }
}' "$out"
cat <<'NOTE'

mixed: v2, simple_upload_max 1MiB (small JPEGs go one-shot). all_chunked: v2, simple_upload_max 0.
v1.1_mixed: v1.1, simple_upload_max 1MiB. on_upload: as mixed, with an on_upload command appending the path
to a log; hook runs: its lines; hook dups: lines beyond one per file (at least once: a kill after the command
ran but before its outcome was recorded runs it again; every file's must have run). dup: finalized media ids
at the emulator holding a file's bytes beyond the one in the manifest; chunked uploads resume on their media
id, so that must be 0; a kill during a one-shot request after X stored the image can leave one. manifest errors: manifest.Read failures after a
kill or by the concurrent reader (must be 0). resumed: "resuming upload" log lines. unfinalized: media ids
initialized but never finalized (a kill between INIT and the durable write of its id; they expire unused).
oauth2: lost_in_window counts grants lost between the token endpoint's answer and the rename (auth/doc.go);
any other loss fails the test.
NOTE
if [ "$status" -ne 0 ]; then
	echo
	echo "FAILED (go test exit $status):"
	grep -E '^\s+(chaos_test|testutil_agent_test|e2e_oauth2_test|e2e_util_test)\.go:[0-9]+:' "$out" | grep -v -E 'kill [0-9]+ after|chaos result' | head -40
	grep -E '^(--- FAIL|FAIL|panic)' "$out" | head
fi
exit "$status"
