// Package contrib holds no code: it is the home of the files that run mediasync as a service —
// the systemd system and user units (systemd/), the launchd agent (launchd/), the container image
// and Compose file (docker/) — and of their install guide (README.md).
//
// Its tests keep those files honest. They run `systemd-analyze verify` on both units when the tool
// is installed (set MEDIASYNC_REQUIRE_SYSTEMD_ANALYZE=1 in CI to make its absence a failure; Debian
// and Ubuntu ship it in the "systemd" package), and always parse every file themselves: the unit
// sections, keys and sandboxing options; the plist as XML with its launchd keys; the Dockerfile's
// stages, build flags, non-root USER, volume and entry point (no Docker engine is needed: the
// image is not built); the Compose file as YAML; and the build context filter against the files
// `go build ./cmd/mediasync` reads.
package contrib
