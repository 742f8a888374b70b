#!/usr/bin/env bash
# bench/emulator.sh — the emulator's own ceiling, so it is never what limits
# the agent's benchmarks: MB/s of 4 MiB v2 APPENDs (1 and 4 in flight, bytes
# in memory or on disk) and one-shot image uploads per second, over loopback
# with OAuth 1.0a signing (client and server share the machine's cores).
#
# Usage: bench/emulator.sh [benchtime]   (default 3s; e.g. 10x or 5s)
set -euo pipefail
cd "$(dirname "$0")/.."
benchtime="${1:-3s}"
out="$(go test -run '^$' -bench 'BenchmarkV2Append|BenchmarkV2OneShotImage|BenchmarkSignatureVerify' \
	-benchtime "$benchtime" -count 1 ./emulator/)"
echo "$out" | grep -E '^(goos|goarch|cpu):' || true
echo
printf '%-40s %12s %12s %12s\n' benchmark ms/op MB/s req/s
echo "$out" | awk '/^Benchmark/ {
	name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
	ms = "-"; mbs = "-"; rps = "-"
	for (i = 2; i <= NF; i++) {
		if ($(i) == "ns/op") ms = sprintf("%.3f", $(i-1) / 1e6)
		if ($(i) == "MB/s") mbs = $(i-1)
		if ($(i) == "req/s") rps = $(i-1)
	}
	if (rps == "-" && ms != "-" && ms > 0) rps = sprintf("%.0f", 1000 / ms)
	printf "%-40s %12s %12s %12s\n", name, ms, mbs, rps
}'
