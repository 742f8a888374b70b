#!/usr/bin/env bash
# The agent at scale: one directory of N files (default 50,000) uploaded end to end against the
# emulator, each file once. Prints one table row per run. Usage: bench/scale.sh [FILES...]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(50000)

echo "# agent scale: $(nproc) cores, $(go version | cut -d' ' -f3), $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| files | seconds | files/s |"
echo "|------:|--------:|--------:|"
for n in "${sizes[@]}"; do
	out=$(MEDIASYNC_SCALE_FILES="$n" go test -run '^TestLargeDirectory$' -count=1 -v -timeout 60m ./agent/ 2>&1) || {
		echo "$out" | tail -20 >&2
		exit 1
	}
	line=$(echo "$out" | grep -m1 'files uploaded in')
	rate=$(echo "$line" | sed -E 's/.*\(([0-9.]+) files\/s\).*/\1/')
	awk -v n="$n" -v r="$rate" 'BEGIN { printf "| %5d | %7.1f | %7.0f |\n", n, n / r, r }'
done
