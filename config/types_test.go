package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/yaml.v3"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"0", 0, ""},
		{"4194304", 4 << 20, ""},
		{"4MiB", 4 << 20, ""},
		{"4mib", 4 << 20, ""},
		{"512MB", 512_000_000, ""},
		{"5 MB", 5_000_000, ""},
		{" 1.5MiB ", 1536 << 10, ""},
		{"1KiB", 1024, ""},
		{"1KB", 1000, ""},
		{"2GiB", 2 << 30, ""},
		{"1TB", 1e12, ""},
		{"100B", 100, ""},
		{"+7", 7, ""},
		{"8EiB", 0, "not a size"},
		{"9000000TiB", 0, "too large"},
		{"9223372036854775808", 0, "too large"},
		{"1.5", 0, "whole number of bytes"},
		{"1.0000001KiB", 0, "whole number of bytes"},
		{"-1", 0, "negative"},
		{"-1MiB", 0, "negative"},
		{"4M", 0, "ambiguous"},
		{"4k", 0, "ambiguous"},
		{"", 0, "empty"},
		{"MiB", 0, "not a size"},
		{"four MiB", 0, "not a size"},
		{"1..2MiB", 0, "not a size"},
		{"4 MiB/s", 0, "not a size"},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("ParseSize(%q) = %d, %v; want error containing %q wrapping ErrInvalid", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSizeStringRoundTrip(t *testing.T) {
	tests := []struct {
		in   Size
		want string
	}{
		{0, "0"}, {1, "1"}, {1023, "1023"}, {1024, "1KiB"}, {4 << 20, "4MiB"}, {5_000_000, "5MB"},
		{1536 << 10, "1536KiB"}, {3 << 30, "3GiB"}, {1e12, "1TB"}, {1_000_001, "1000001"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("Size(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		back, err := ParseSize(tt.in.String())
		if err != nil || back != int64(tt.in) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in.String(), back, err, int64(tt.in))
		}
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		str     string
		wantErr string
	}{
		{"3s", 3 * time.Second, "3s", ""},
		{"2m", 2 * time.Minute, "2m", ""},
		{"1h", time.Hour, "1h", ""},
		{"1h30m", 90 * time.Minute, "1h30m", ""},
		{"1h0m5s", time.Hour + 5*time.Second, "1h0m5s", ""},
		{"1500ms", 1500 * time.Millisecond, "1.5s", ""},
		{"0", 0, "0s", ""},
		{"-1s", -time.Second, "-1s", ""},
		{"3", 0, "", "has no unit"},
		{"1.5", 0, "", "has no unit"},
		{"3 s", 0, "", "not a duration"},
		{"1d", 0, "", "not a duration"},
		{"", 0, "", "empty"},
	}
	for _, tt := range tests {
		var d Duration
		err := d.UnmarshalText([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Errorf("UnmarshalText(%q) = %v; want error containing %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || d.D() != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", tt.in, d.D(), err, tt.want)
		}
		if got := d.String(); got != tt.str {
			t.Errorf("Duration(%v).String() = %q, want %q", tt.want, got, tt.str)
		}
		var back Duration
		if err := back.UnmarshalText([]byte(d.String())); err != nil || back != d {
			t.Errorf("round trip of %q = %v, %v", d.String(), back, err)
		}
	}
}

// Duration and Size marshal to YAML and JSON as strings that load again.
func TestMarshalRoundTrip(t *testing.T) {
	in := struct {
		D Duration `yaml:"d" json:"d"`
		S Size     `yaml:"s" json:"s"`
	}{Duration(90 * time.Second), Size(4 << 20)}
	y, err := yaml.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := "d: 1m30s\ns: 4MiB\n"; string(y) != want {
		t.Errorf("yaml = %q, want %q", y, want)
	}
	j, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"d":"1m30s","s":"4MiB"}`; string(j) != want {
		t.Errorf("json = %s, want %s", j, want)
	}
	out := in
	out.D, out.S = 0, 0
	if err := json.Unmarshal(j, &out); err != nil || out != in {
		t.Errorf("json round trip = %+v, %v; want %+v", out, err, in)
	}
}

func TestSecretRedaction(t *testing.T) {
	const value = "s3cr3t-VALUE"
	s := Secret(value)
	c := Default()
	c.Credentials = Credentials{ConsumerKey: s, ConsumerSecret: s, AccessToken: s, AccessTokenSecret: s, BearerToken: s}
	c.Folders = []Folder{DefaultFolder("/srv/x")}

	var zbuf bytes.Buffer
	zl := zerolog.New(&zbuf)
	zl.Info().Interface("secret", s).Any("any", s).Stringer("stringer", s).Interface("config", c).
		Interface("credentials", c.Credentials).Msg("test")

	outputs := map[string]string{
		"%v":        fmt.Sprintf("%v", s),
		"%s":        fmt.Sprintf("%s", s),
		"%q":        fmt.Sprintf("%q", s),
		"%x":        fmt.Sprintf("%x", s),
		"%X":        fmt.Sprintf("%X", s),
		"%d":        fmt.Sprintf("%d", s),
		"%+v":       fmt.Sprintf("%+v", s),
		"%#v":       fmt.Sprintf("%#v", s),
		"%10s":      fmt.Sprintf("%10s", s),
		"config %v": fmt.Sprintf("%v", c),
		"config +v": fmt.Sprintf("%+v", c),
		"config #v": fmt.Sprintf("%#v", c),
		"ptr +v":    fmt.Sprintf("%+v", &c),
		"creds #v":  fmt.Sprintf("%#v", c.Credentials),
		"slice":     fmt.Sprint([]Secret{s}),
		"error":     fmt.Errorf("auth with %v failed", s).Error(),
		"zerolog":   zbuf.String(),
	}
	j, _ := json.Marshal(c)
	outputs["json"] = string(j)
	y, _ := yaml.Marshal(c)
	outputs["yaml"] = string(y)
	txt, _ := s.MarshalText()
	outputs["text"] = string(txt)

	for name, out := range outputs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, "[redacted]") {
			t.Errorf("%s does not say [redacted]: %s", name, out)
		}
	}
	if s.Reveal() != value {
		t.Errorf("Reveal() = %q, want %q", s.Reveal(), value)
	}
	if got := fmt.Sprintf("%v|%s|%#v", Secret(""), Secret(""), Secret("")); got != `||""` {
		t.Errorf("empty secret prints %q, want it visibly empty", got)
	}
}

func TestExpand(t *testing.T) {
	env := map[string]string{"A": "alpha", "EMPTY": "", "B_2": "beta"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in      string
		want    string
		literal bool
		unset   []string
		wantErr string
	}{
		{"plain", "plain", true, nil, ""},
		{"${A}", "alpha", false, nil, ""},
		{"${A}-${B_2}", "alpha-beta", true, nil, ""},
		{"${A}${B_2}", "alphabeta", false, nil, ""},
		{"${NOPE}", "", false, []string{"NOPE"}, ""},
		{"${EMPTY}", "", false, nil, ""},
		{"${NOPE:-dflt}", "dflt", true, nil, ""},
		{"${EMPTY:-dflt}", "dflt", true, nil, ""},
		{"${A:-dflt}", "alpha", true, nil, ""},
		{"${NOPE:-}", "", false, nil, ""},
		{"$${A}", "${A}", true, nil, ""},
		{"pa$$word$A", "pa$$word$A", true, nil, ""},
		{"cost: $5", "cost: $5", true, nil, ""},
		{"${A", "", false, nil, "unterminated"},
		{"${}", "", false, nil, "invalid reference"},
		{"${1A}", "", false, nil, "invalid reference"},
		{"${A-B}", "", false, nil, "invalid reference"},
	}
	for _, tt := range tests {
		got, err := expand(tt.in, lookup, false)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got.value != tt.want || got.literal != tt.literal || fmt.Sprint(got.unset) != fmt.Sprint(tt.unset) {
			t.Errorf("expand(%q) = %+v, %v; want %q literal=%v unset=%v", tt.in, got, err, tt.want, tt.literal, tt.unset)
		}
	}
	if _, err := expand("${sk-live-1}", lookup, true); err == nil || strings.Contains(err.Error(), "sk-live") {
		t.Errorf("expand of a secret quotes it in its error: %v", err)
	}
}
