#!/usr/bin/env bash
# Benchmark of the uploader against the loopback emulator (issue 4).
#
# Uploads a generated MP4 of SIZE (default 256 MiB) with three clients, each in
# its own process so that its peak RSS (VmHWM) is its own:
#   mediasync  uploader package defaults: 4 MiB segments, 3 in flight, streamed from disk
#   seq        plain client: 1 MiB segments read into memory, one at a time
#   par3       the same, 3 at a time (the common SDK defaults)
# on two profiles: loopback, and loopback with 40ms latency per request (WAN).
# Each run gets a fresh emulator storing segments where `mediasync emulate`
# does by default, in a temp dir (STORE=/dev/shm/... to store them on tmpfs
# instead; at 256 MiB the page cache absorbs the writes either way, but the
# per-file costs differ). The clients take turns,
# RUNS rounds on loopback (2 on the WAN profile), and each client's fastest
# run counts: on a shared 2-core machine one run can be halved by a neighbour.
# Then one mediasync run of a 512 MiB file for peak RSS.
#
# Usage: [STORE=DIR] bench/uploader.sh [SIZE_MIB] [RUNS=5]   (from the repository root)
set -euo pipefail

size_mib=${1:-256}
runs=${2:-5}
# The WAN profile is paced by latency, not by the machine: it varies little.
wan_runs=$((runs < 2 ? runs : 2))
cd "$(dirname "$0")/.."

work=$(mktemp -d)
store_root=$work
if [[ -n ${STORE:-} ]]; then mkdir -p "$STORE"; store_root=$(mktemp -d "$STORE/uploader-bench.XXXXXX"); fi
server_pid=""
# shellcheck disable=SC2317 # invoked by the trap
cleanup() {
	if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work" "$store_root"
}
trap cleanup EXIT

go build -o "$work/" ./bench/uploader/client ./bench/uploader/server

start_server() { # latency
	rm -rf "$store_root/store"
	"$work/server" -latency "$1" -store "$store_root/store" >"$work/url" 2>"$work/server.log" &
	server_pid=$!
	for _ in $(seq 100); do [[ -s $work/url ]] && break; sleep 0.1; done
	url=$(head -1 "$work/url")
	[[ -n $url ]] || { echo "emulator did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
}
stop_server() {
	kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""; : >"$work/url"
}

# once MODE LATENCY FILE -> "mbps rss" of one run against a fresh emulator
once() {
	local out
	start_server "$2"
	out=$("$work/client" -mode "$1" -url "$url" -file "$3")
	stop_server
	echo "$(sed -E 's/.*"mbps":([0-9.]+).*/\1/' <<<"$out") $(sed -E 's/.*"peak_rss_mib":([0-9.]+).*/\1/' <<<"$out")"
}

# profile LATENCY ROUNDS FILE: the three clients take turns, ROUNDS times, so
# that whatever else the machine does falls on all of them alike; sets
# best_mbps[mode] and best_rss[mode] to each client's fastest run.
declare -A best_mbps best_rss
profile() {
	local mode mbps rss
	for mode in mediasync seq par3; do best_mbps[$mode]=0; best_rss[$mode]=0; done
	for _ in $(seq "$2"); do
		for mode in mediasync seq par3; do
			read -r mbps rss < <(once "$mode" "$1" "$3")
			if awk -v a="$mbps" -v b="${best_mbps[$mode]}" 'BEGIN{exit !(a>b)}'; then
				best_mbps[$mode]=$mbps; best_rss[$mode]=$rss
			fi
		done
	done
}

file="$work/video.mp4"
"$work/client" -gen -size $((size_mib << 20)) -file "$file"

printf '\n%s MiB MP4, best of %s runs on loopback and %s on the WAN profile, %s cores, emulator store on %s\n\n' \
	"$size_mib" "$runs" "$wan_runs" "$(nproc)" "$(df --output=fstype "$store_root" 2>/dev/null | tail -1 || echo '?')"
printf '%-10s %-10s %10s %14s %12s\n' profile client "MB/s" "peak RSS MiB" "mediasync x"
printf '%-10s %-10s %10s %14s %12s\n' ---------- ---------- ---------- -------------- ------------
status=0
for profile in loopback wan40ms; do
	lat=0s rounds=$runs
	[[ $profile == wan40ms ]] && lat=40ms rounds=$wan_runs
	profile "$lat" "$rounds" "$file"
	m_mbps=${best_mbps[mediasync]} m_rss=${best_rss[mediasync]}
	s_mbps=${best_mbps[seq]} s_rss=${best_rss[seq]}
	p_mbps=${best_mbps[par3]} p_rss=${best_rss[par3]}
	xs=$(awk -v a="$m_mbps" -v b="$s_mbps" 'BEGIN{printf "%.2f", a/b}')
	xp=$(awk -v a="$m_mbps" -v b="$p_mbps" 'BEGIN{printf "%.2f", a/b}')
	printf '%-10s %-10s %10.1f %14.1f %12s\n' "$profile" mediasync "$m_mbps" "$m_rss" ""
	printf '%-10s %-10s %10.1f %14.1f %12s\n' "$profile" seq "$s_mbps" "$s_rss" "${xs}x"
	printf '%-10s %-10s %10.1f %14.1f %12s\n' "$profile" par3 "$p_mbps" "$p_rss" "${xp}x"
	awk -v x="$xs" 'BEGIN{exit !(x>=3)}' || { echo "  target missed: mediasync < 3x seq on $profile"; status=1; }
	awk -v x="$xp" 'BEGIN{exit !(x>=1.5)}' || { echo "  target missed: mediasync < 1.5x par3 on $profile"; status=1; }
done

big="$work/big.mp4"
rm -f "$file"
"$work/client" -gen -size $((512 << 20)) -file "$big"
start_server 0s
out=$("$work/client" -mode mediasync -url "$url" -file "$big")
stop_server
rss=$(sed -E 's/.*"peak_rss_mib":([0-9.]+).*/\1/' <<<"$out")
mbps=$(sed -E 's/.*"mbps":([0-9.]+).*/\1/' <<<"$out")
printf '\n512 MiB MP4, mediasync: %.1f MB/s, peak RSS %.1f MiB (target <= 64)\n' "$mbps" "$rss"
awk -v r="$rss" 'BEGIN{exit !(r<=64)}' || { echo "  target missed: peak RSS > 64 MiB"; status=1; }
exit $status
