#!/bin/sh
# bench/watcher.sh: the watcher's benchmark table (issue 5). Each scenario
# runs in its own process so that peak RSS belongs to it alone. Real
# filesystem under $TMPDIR; notify-mode scenarios need inotify (Linux).
#
#   bench/watcher.sh            # the full table (about a minute)
#   SETTLE=1s bench/watcher.sh  # another watch.settle
set -eu
cd "$(dirname "$0")/.."
settle=${SETTLE:-3s}
bin=$(mktemp -d)/watcherbench
trap 'rm -rf "$(dirname "$bin")"' EXIT
go build -o "$bin" ./bench/watcherbench

echo "watcher benchmarks: $(go version | cut -d' ' -f3), $(nproc) cores, $(uname -sr), settle $settle"
echo
"$bin" -header
"$bin" -scenario latency -n 30 -settle "$settle"
"$bin" -scenario burst -n 2000 -settle "$settle"
"$bin" -scenario burst -n 20000 -settle "$settle"
"$bin" -scenario startup -n 100000 -settle "$settle"
"$bin" -scenario idle -n 100000 -settle "$settle"
"$bin" -scenario poll -n 100000 -settle "$settle"
echo
echo "CPU: process user+system time over the measured part (burst: includes the renames)."
echo "go test -bench: go test -run '^\$' -bench . -benchmem ./watcher"
