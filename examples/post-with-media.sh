#!/usr/bin/env bash
# post-with-media.sh — post to X with media that mediasync uploaded.
#
#   post-with-media.sh [-c CONFIG] [-w SECONDS] [-i SECONDS] [-n] FILE... TEXT
#
# For each FILE (1 to 4: up to four photos, or one video or GIF) it asks `mediasync get FILE` for the
# media id recorded in the folder's manifest, then creates the post with POST /2/tweets:
#   {"text": TEXT, "media": {"media_ids": [...]}}
#
#   mediasync get exits 0  → the media id is valid: use it.
#                       3  → not uploaded (yet): the agent may still be uploading it, so poll `get` every
#                            -i seconds for up to -w seconds; then upload it now with `mediasync upload`.
#                       4  → the media id has expired: upload it again with `mediasync upload`, then get.
#                       5  → it will not be uploaded as it is (skipped, or refused for good): give up on
#                            this post; `mediasync explain FILE` says why and what to do.
#
# Options:
#   -c CONFIG   mediasync configuration file (passed as --config; default: mediasync's own search)
#   -w SECONDS  how long to wait for the agent to upload a file that is not uploaded yet (default 60;
#               0 = upload it at once)
#   -i SECONDS  how often to ask while waiting (default 5)
#   -n          dry run: print the request body instead of posting
#
# Environment:
#   X_BEARER_TOKEN  OAuth 2.0 user access token (scopes tweet.read tweet.write users.read; required;
#                   never put on a command line: it is sent to curl through standard input)
#   X_API_BASE      default https://api.x.com
#   MEDIASYNC       the mediasync binary (default: mediasync from PATH)
#
# Prints the new post's id on stdout. Exit status: 0 posted; 1 the post failed; 2 usage error;
# 3 a file's media could not be obtained. Needs bash (3.2 or later) and curl (7.55 or later).

set -euo pipefail

prog=${0##*/}
mediasync=${MEDIASYNC:-mediasync}
api_base=${X_API_BASE:-https://api.x.com}
api_base=${api_base%/}
wait_secs=60
interval=5
dry_run=0
config_args=()

usage() {
	echo "usage: $prog [-c CONFIG] [-w SECONDS] [-i SECONDS] [-n] FILE... TEXT   ($prog -h for help)" >&2
	exit 2
}

# help prints the comment block at the top of this file.
help() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0
}

die() { # die STATUS MESSAGE...
	local status=$1
	shift
	echo "$prog: $*" >&2
	exit "$status"
}

log() { echo "$prog: $*" >&2; }

is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }

while getopts ':c:w:i:nh' opt; do
	case $opt in
	c) config_args=(--config "$OPTARG") ;;
	w) is_number "$OPTARG" || die 2 "-w wants seconds, not '$OPTARG'"; wait_secs=${OPTARG%.*} ;;
	i) is_number "$OPTARG" || die 2 "-i wants seconds, not '$OPTARG'"; interval=$OPTARG ;;
	n) dry_run=1 ;;
	h) help ;;
	:) die 2 "-$OPTARG needs a value" ;;
	*) die 2 "unknown option -$OPTARG" ;;
	esac
done
shift $((OPTIND - 1))

(($# >= 2)) || usage
text=${!#}
files=("${@:1:$#-1}")
((${#files[@]} <= 4)) || die 2 "at most 4 media per post, got ${#files[@]} files"
[[ -n $text ]] || die 2 "TEXT is empty"
for f in "${files[@]}"; do
	[[ -f $f ]] || die 2 "$f: no such file"
done
if ((!dry_run)) && [[ -z ${X_BEARER_TOKEN:-} ]]; then
	die 2 "X_BEARER_TOKEN is not set (an OAuth 2.0 user access token with tweet.write)"
fi
command -v "$mediasync" >/dev/null 2>&1 || die 2 "$mediasync: command not found (set MEDIASYNC or PATH)"
((dry_run)) || command -v curl >/dev/null 2>&1 || die 2 "curl: command not found"

# json_string prints $1 as a JSON string literal. Bytes of 0x80 and up (UTF-8) pass through as they
# are; quotes, backslashes and control characters are escaped.
json_string() {
	local LC_ALL=C s=$1 out='' c i
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\n'/\\n}
	s=${s//$'\r'/\\r}
	s=${s//$'\t'/\\t}
	if [[ $s == *[$'\x01'-$'\x1f']* ]]; then
		for ((i = 0; i < ${#s}; i++)); do
			c=${s:i:1}
			case $c in
			[$'\x01'-$'\x1f']) printf -v c '\\u%04x' "'$c" ;;
			*) ;;
			esac
			out+=$c
		done
		s=$out
	fi
	printf '"%s"' "$s"
}

# media_id FILE prints FILE's valid media id, uploading it when needed. Status 3 when it cannot.
media_id() {
	local file=$1 id status uploaded=0 start=$SECONDS
	while :; do
		status=0
		id=$("$mediasync" get ${config_args[@]+"${config_args[@]}"} -- "$file") || status=$?
		case $status in
		0)
			[[ $id =~ ^[0-9]+$ ]] || { log "$file: mediasync get printed '$id', not a media id"; return 3; }
			printf '%s\n' "$id"
			return 0
			;;
		3)
			if ((uploaded)); then
				log "$file: uploaded but not recorded; is it inside a folder of the mediasync configuration?"
				return 3
			fi
			if ((SECONDS - start < wait_secs)); then
				log "$file: not uploaded yet; asking again in ${interval}s"
				sleep "$interval"
				continue
			fi
			log "$file: not uploaded; uploading it now"
			;;
		4)
			if ((uploaded)); then
				log "$file: still expired after uploading it again"
				return 3
			fi
			log "$file: media id expired; uploading it again"
			;;
		5)
			log "$file: will not be uploaded as it is; 'mediasync explain $file' says why"
			return 3
			;;
		*)
			log "$file: mediasync get failed (exit $status)"
			return 3
			;;
		esac
		# The upload's own line (path, state, id) goes to stderr, for the log.
		"$mediasync" upload ${config_args[@]+"${config_args[@]}"} -- "$file" >&2 || {
			log "$file: mediasync upload failed"
			return 3
		}
		uploaded=1
	done
}

ids=()
for f in "${files[@]}"; do
	id=$(media_id "$f") || exit 3
	ids+=("$id")
done

media_json=''
for id in "${ids[@]}"; do
	media_json+=${media_json:+,}\"$id\"
done
body="{\"text\":$(json_string "$text"),\"media\":{\"media_ids\":[$media_json]}}"

if ((dry_run)); then
	printf '%s\n' "$body"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/post-with-media.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '%s' "$body" >"$tmp/body"

# post sends the request; the token travels on curl's stdin (-H @-), never in its arguments.
post() {
	printf 'Authorization: Bearer %s\n' "$X_BEARER_TOKEN" |
		curl --silent --show-error --connect-timeout 10 --max-time 60 \
			-H @- -H 'Content-Type: application/json' -H 'Accept: application/json' \
			-X POST --data-binary @"$tmp/body" \
			-D "$tmp/headers" -o "$tmp/response" -w '%{http_code}' \
			"$api_base/2/tweets"
}

for attempt in 1 2 3; do
	code=$(post) || die 1 "POST $api_base/2/tweets failed (curl exit $?); the post may or may not exist, check before trying again"
	response=$(cat "$tmp/response")
	if [[ $code == 201 || $code == 200 ]]; then
		[[ $response =~ \"id\"[[:space:]]*:[[:space:]]*\"([0-9]+)\" ]] || die 1 "posted, but the answer has no id: $response"
		printf '%s\n' "${BASH_REMATCH[1]}"
		exit 0
	fi
	if [[ $code == 429 && $attempt -lt 3 ]]; then
		# Rate limited: nothing was created. Wait for the window to reset (x-rate-limit-reset is a Unix time).
		reset=$(tr -d '\r' <"$tmp/headers" | sed -n 's/^[Xx]-[Rr]ate-[Ll]imit-[Rr]eset:[[:space:]]*\([0-9][0-9]*\).*/\1/p' | tail -n 1)
		now=$(date +%s)
		pause=$((${reset:-now} - now))
		((pause >= 1)) || pause=1
		((pause <= 900)) || die 1 "rate limited for $((pause / 60)) more minutes; try again later"
		log "rate limited; retrying in ${pause}s"
		sleep "$pause"
		continue
	fi
	break
done
die 1 "POST /2/tweets: HTTP $code: $response"
