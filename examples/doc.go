// Package examples holds no code: it is the home of worked examples for the posting step, the
// script that turns the media ids mediasync recorded into a post (post-with-media.sh, which asks
// `mediasync get`; post-on-upload.sh, which mediasync runs as a folder's on_upload command; the
// contract both rely on is docs/posting.md).
//
// post-on-upload.sh is tested as the agent runs it: through package hook (its minimal environment,
// the job's MEDIASYNC_* variables, the manifest entry on stdin) against an httptest /2/tweets, run
// after run as mediasync would: a 503 that leaves the hook pending (hook.Policy), the post with the
// sidecar text, a second run for the same upload and a re-upload of the same content that must not
// post again, and the refusals and exit statuses.
//
// Its tests run the script for real with bash and curl: against a stand-in `mediasync` put first on
// PATH (a small shell stub that answers `get` with an id or exit status 3 or 4 per file, and records
// every call) and an httptest server on 127.0.0.1 standing in for POST /2/tweets. They check the
// request the script sends (body, headers), the waiting, upload and re-upload paths, the exit
// statuses, and that the bearer token never appears in a process's arguments. One more test builds
// the real mediasync binary and runs the script with it against `mediasync emulate` on a loopback
// port, so that a change of the CLI contract (get's exit statuses, upload recording the file) breaks
// this test rather than a user's posting pipeline (skipped with -short). When shellcheck is
// installed the scripts must be shellcheck-clean (set MEDIASYNC_REQUIRE_SHELLCHECK=1 in CI to make
// its absence a failure; Debian/Ubuntu: apt-get install shellcheck).
package examples
