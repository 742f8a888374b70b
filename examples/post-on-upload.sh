#!/usr/bin/env bash
# post-on-upload.sh — an on_upload command: post each file to X as soon as mediasync uploaded it.
#
#   post-on-upload.sh [-t TEXT] [-s STATE_DIR] [-n]
#
# Configure it on a folder (X_BEARER_TOKEN must be listed in env: commands get no other secret):
#
#   folders:
#     - path: /srv/outbox
#       on_upload:
#         command: [/usr/local/bin/post-on-upload.sh, -t, "New from the studio"]
#         env: [X_BEARER_TOKEN]
#
# mediasync runs it after the upload is recorded, with MEDIASYNC_MEDIA_ID, MEDIASYNC_PATH,
# MEDIASYNC_REL, MEDIASYNC_FOLDER, MEDIASYNC_EXPIRES_AT, ... in the environment. It creates one post
# with that media, POST /2/tweets {"text": TEXT, "media": {"media_ids": [MEDIASYNC_MEDIA_ID]}}, where
# TEXT is, first found: the file FILE.post.txt beside the file (shoot/IMG_1.jpg.post.txt), -t TEXT,
# or nothing (a post with the media only).
#
# mediasync runs a hook at least once: again after a crash, or when it failed; and a file is
# uploaded again, with a new media id, when its id is renewed (refresh_before_expiry) or expired.
# This script notes each file content it posted (STATE_DIR/SHA256 holds the post id; the SHA-256 is
# the manifest entry's, read from stdin; without one, the media id) and never posts it twice; only
# a post whose answer was lost (network failure after X created it) can be repeated.
#
# Options:
#   -t TEXT       text of the post when there is no FILE.post.txt
#   -s STATE_DIR  where posted media ids are noted (default $POST_STATE_DIR, else
#                 $HOME/.local/state/mediasync-posts)
#   -n            dry run: print the request body, post nothing, note nothing
#
# Environment (besides mediasync's MEDIASYNC_*):
#   X_BEARER_TOKEN  OAuth 2.0 user access token (scopes tweet.read tweet.write users.read; required;
#                   sent to curl on standard input, never on a command line)
#   X_API_BASE      default https://api.x.com (list it in env: to change it)
#
# Prints the new post's id. Exit status — mediasync retries any non-zero one with backoff:
#   0   posted; or posted before; or -n
#   1   X refused the post (a 4xx other than 429): see the message
#   2   usage: not run by mediasync (no MEDIASYNC_MEDIA_ID), or X_BEARER_TOKEN not set
#   4   the media id has expired: nothing posted (`mediasync upload FILE` gets a fresh one)
#   75  temporary (network error, 429, 5xx): mediasync runs it again later
# Needs bash (3.2 or later) and curl (7.55 or later).

set -euo pipefail

prog=${0##*/}
api_base=${X_API_BASE:-https://api.x.com}
api_base=${api_base%/}
default_text=
state_dir=${POST_STATE_DIR:-${HOME:-/nonexistent}/.local/state/mediasync-posts}
dry_run=0

die() { # die STATUS MESSAGE...
	local status=$1
	shift
	echo "$prog: $*" >&2
	exit "$status"
}

# help prints the comment block at the top of this file.
help() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
	exit 0
}

while getopts ':t:s:nh' opt; do
	case $opt in
	t) default_text=$OPTARG ;;
	s) state_dir=$OPTARG ;;
	n) dry_run=1 ;;
	h) help ;;
	:) die 2 "-$OPTARG needs a value" ;;
	*) die 2 "unknown option -$OPTARG" ;;
	esac
done
shift $((OPTIND - 1))
(($# == 0)) || die 2 "unexpected argument '$1' (the file comes from mediasync's environment)"

media_id=${MEDIASYNC_MEDIA_ID:-}
[[ -n $media_id ]] || die 2 "MEDIASYNC_MEDIA_ID is not set: run me as a folder's on_upload command"
[[ $media_id =~ ^[0-9]+$ ]] || die 2 "MEDIASYNC_MEDIA_ID '$media_id' is not a media id"
file=${MEDIASYNC_PATH:-$media_id}

# The upload is recorded before the hook runs, but a retry can come hours later.
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
if [[ -n ${MEDIASYNC_EXPIRES_AT:-} && ! $MEDIASYNC_EXPIRES_AT > $now ]]; then
	die 4 "$file: media id $media_id expired at $MEDIASYNC_EXPIRES_AT; nothing posted"
fi

# The manifest entry, one line of JSON on stdin: its sha256 names the content.
entry=$(cat)
sha256=$(printf '%s' "$entry" | sed -n 's/.*"sha256":"\([0-9a-f]\{64\}\)".*/\1/p')
mark=$state_dir/${sha256:-media-$media_id}
if ((!dry_run)) && [[ -f $mark ]]; then
	echo "$prog: $file: posted before (post $(<"$mark")); nothing to do" >&2
	exit 0
fi
if ((!dry_run)); then
	[[ -n ${X_BEARER_TOKEN:-} ]] || die 2 "X_BEARER_TOKEN is not set: list it in the folder's on_upload env"
	command -v curl >/dev/null 2>&1 || die 2 "curl: command not found"
	mkdir -p "$state_dir" || die 75 "cannot create $state_dir"
fi

# The text: a FILE.post.txt beside the file (where it is now, or where it was in the folder when
# after_upload moved it), else -t.
text=$default_text
for sidecar in "$file.post.txt" "${MEDIASYNC_FOLDER:-}/${MEDIASYNC_REL:-}.post.txt"; do
	if [[ -f $sidecar ]]; then
		text=$(<"$sidecar")
		break
	fi
done

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

body="{\"media\":{\"media_ids\":[\"$media_id\"]}}"
if [[ -n $text ]]; then
	body="{\"text\":$(json_string "$text"),\"media\":{\"media_ids\":[\"$media_id\"]}}"
fi
if ((dry_run)); then
	printf '%s\n' "$body"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/post-on-upload.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
printf '%s' "$body" >"$tmp/body"

# The token travels on curl's stdin (-H @-), never in its arguments.
code=$(printf 'Authorization: Bearer %s\n' "$X_BEARER_TOKEN" |
	curl -sS -o "$tmp/response" -w '%{http_code}' --connect-timeout 10 --max-time 30 \
		-H @- -H 'Content-Type: application/json' --data-binary "@$tmp/body" \
		"$api_base/2/tweets") || die 75 "$file: POST /2/tweets failed (network); mediasync will run me again"
response=$(<"$tmp/response")

case $code in
200 | 201)
	post_id=$(printf '%s' "$response" | sed -n 's/.*"id"[[:space:]]*:[[:space:]]*"\([0-9][0-9]*\)".*/\1/p')
	[[ -n $post_id ]] || die 1 "$file: HTTP $code without a post id: $response"
	# Noted atomically (a file renamed into place), so a crash leaves no half-written note.
	{ printf '%s\n' "$post_id" >"$mark.tmp" && mv -f "$mark.tmp" "$mark"; } ||
		echo "$prog: cannot note $mark; a re-run would post again" >&2
	echo "$prog: $file: posted media $media_id as post $post_id" >&2
	printf '%s\n' "$post_id"
	;;
429 | 5??) die 75 "$file: HTTP $code from POST /2/tweets; mediasync will run me again" ;;
*) die 1 "$file: POST /2/tweets: HTTP $code: $response" ;;
esac
