package config

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
)

// Duration is a [time.Duration] written in YAML as a string with a unit
// ("3s", "2m", "1h30m"). A bare number is refused, except 0, because "30"
// could mean seconds or minutes and guessing wrong is silent.
type Duration time.Duration

// D returns d as a [time.Duration].
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats d compactly: "2m" rather than "2m0s", "1h" rather than
// "1h0m0s". The result parses back to the same value.
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText writes d as [Duration.String] does.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses a duration as a config file does.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := parseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%w: %s", ErrInvalid, err.Error())
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as a string, so that a written config loads again.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	if s == "0" {
		return 0, nil
	}
	if isNumber(s) {
		return 0, fmt.Errorf("%q has no unit; write it with one, e.g. %ss or %sm", s, s, s)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use a number with a unit: ms, s, m, h; e.g. 3s, 1h30m)", s)
	}
	return d, nil
}

func isNumber(s string) bool {
	s = strings.TrimLeft(s, "+-")
	if s == "" {
		return false
	}
	dot := false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
		case r == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return true
}

// Size is a number of bytes, written in YAML as plain bytes (4194304) or
// with a unit: binary KiB, MiB, GiB, TiB (powers of 1024) or decimal KB, MB,
// GB, TB (powers of 1000), optionally with a space ("5 MB") and a fraction
// ("1.5MiB") as long as the result is a whole number of bytes. See [ParseSize].
type Size int64

// String formats s with the unit that divides it exactly and gives the
// smallest number ("4MiB", "5MB", "1TB"), preferring binary units on a
// tie, else in bytes ("1000001"). The result parses back to the same value.
func (s Size) String() string {
	if s <= 0 {
		return fmt.Sprintf("%d", int64(s))
	}
	best, unit := int64(s), ""
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"TB", 1e12}, {"GiB", 1 << 30}, {"GB", 1e9}, {"MiB", 1 << 20}, {"MB", 1e6}, {"KiB", 1 << 10}, {"KB", 1e3}} {
		if q := int64(s) / u.n; int64(s)%u.n == 0 && q < best {
			best, unit = q, u.name
		}
	}
	return fmt.Sprintf("%d%s", best, unit)
}

// MarshalText writes s as [Size.String] does.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses a size with [ParseSize].
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = Size(v)
	return nil
}

// MarshalYAML writes s as a string with its unit, so that a written config
// loads again.
func (s Size) MarshalYAML() (any, error) { return s.String(), nil }

var sizeUnits = map[string]int64{
	"":    1,
	"b":   1,
	"kb":  1e3,
	"mb":  1e6,
	"gb":  1e9,
	"tb":  1e12,
	"kib": 1 << 10,
	"mib": 1 << 20,
	"gib": 1 << 30,
	"tib": 1 << 40,
}

// ParseSize parses a byte count: plain bytes ("4194304"), or a number with a
// unit, case-insensitive: B; KiB, MiB, GiB, TiB (1024-based); KB, MB, GB, TB
// (1000-based). A space may separate number and unit ("5 MB"); a fraction is
// allowed when the result is a whole number of bytes ("1.5MiB"). Negative
// values, single-letter units ("4M": mebibytes or megabytes?) and values
// beyond int64 are refused. Every error wraps [ErrInvalid].
func ParseSize(s string) (int64, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("%w: %s", ErrInvalid, err.Error())
	}
	return n, nil
}

func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, errors.New("empty size")
	}
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.' || t[i] == '-' || t[i] == '+') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	if strings.HasPrefix(num, "-") {
		return 0, fmt.Errorf("%q is negative", s)
	}
	mult, ok := sizeUnits[unit]
	if !ok {
		switch unit {
		case "k", "m", "g", "t":
			return 0, fmt.Errorf("%q has an ambiguous unit; write %sKiB/%sMiB/... (1024-based) or %sKB/%sMB/... (1000-based)", s, num, num, num, num)
		}
		return 0, fmt.Errorf("%q is not a size (use bytes, or a number with KiB, MiB, GiB, KB, MB, GB)", s)
	}
	if num == "" || !isNumber(num) {
		return 0, fmt.Errorf("%q is not a size (use bytes, or a number with KiB, MiB, GiB, KB, MB, GB)", s)
	}
	r, ok := new(big.Rat).SetString(strings.TrimPrefix(num, "+"))
	if !ok {
		return 0, fmt.Errorf("%q is not a size", s)
	}
	r.Mul(r, new(big.Rat).SetInt64(mult))
	if !r.IsInt() {
		return 0, fmt.Errorf("%q is not a whole number of bytes", s)
	}
	v := r.Num()
	if !v.IsInt64() || v.Int64() > math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", s)
	}
	return v.Int64(), nil
}

// Secret is a credential. Every way of printing or serialising it — fmt
// verbs (%v %s %q %x %d %+v %#v ...), JSON, text, YAML, and zerolog's
// Interface, Any and Stringer fields — shows "[redacted]" instead of the
// value (an empty Secret shows as empty, so "not set" stays visible).
// Call [Secret.Reveal] where the real value is needed: the signer.
type Secret string

const redacted = "[redacted]"

func (s Secret) shown() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Reveal returns the secret value. Never log or print what it returns.
func (s Secret) Reveal() string { return string(s) }

// String returns "[redacted]" (or "" for an empty secret).
func (s Secret) String() string { return s.shown() }

// GoString returns the redacted form as a Go string literal, for %#v.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.shown()) }

// Format implements [fmt.Formatter] so that no verb, not even a wrong one
// such as %d, prints the value.
func (s Secret) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.shown())
	default:
		if verb == 'v' && f.Flag('#') {
			fmt.Fprint(f, s.GoString())
			return
		}
		fmt.Fprint(f, s.shown())
	}
}

// MarshalText returns the redacted form.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.shown()), nil }

// MarshalJSON returns the redacted form as a JSON string.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.shown() + `"`), nil }

// MarshalYAML returns the redacted form. A config that must carry working
// credentials is written with ${ENV} references, not marshalled secrets.
func (s Secret) MarshalYAML() (any, error) { return s.shown(), nil }
