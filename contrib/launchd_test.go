package contrib

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// plistValue is one decoded property-list value: string, int64, bool, []plistValue or plistDict.
type plistValue any

// plistDict keeps the keys in order, to report duplicates.
type plistDict struct {
	keys []string
	vals map[string]plistValue
}

// decodePlist decodes an XML property list (the subset launchd agents use: dict, array, string,
// integer, true, false) strictly: unknown elements, a dict key without a value, a duplicate key
// and malformed XML (including "--" inside a comment, which Apple's parser refuses) are errors.
func decodePlist(data []byte) (plistValue, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, fmt.Errorf("no <plist> element: %w", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local != "plist" {
				return nil, fmt.Errorf("root element <%s>, want <plist>", se.Name.Local)
			}
			if v := attr(se, "version"); v != "1.0" {
				return nil, fmt.Errorf("plist version %q, want 1.0", v)
			}
			break
		}
	}
	v, end, err := decodeValue(d)
	if err != nil {
		return nil, err
	}
	if end {
		return nil, errors.New("empty <plist>")
	}
	if _, end, err := decodeValue(d); err != nil || !end {
		return nil, fmt.Errorf("<plist> must hold exactly one value (err %v)", err)
	}
	for { // nothing but comments and whitespace may follow
		tok, err := d.Token()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return nil, err
		}
		switch tok := tok.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) > 0 {
				return nil, fmt.Errorf("text after </plist>: %q", tok)
			}
		case xml.Comment:
		default:
			return nil, fmt.Errorf("unexpected %T after </plist>", tok)
		}
	}
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// decodeValue reads the next value; end reports the parent's end element instead.
func decodeValue(d *xml.Decoder) (v plistValue, end bool, err error) {
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, false, err
		}
		switch tok := tok.(type) {
		case xml.EndElement:
			return nil, true, nil
		case xml.CharData:
			if len(bytes.TrimSpace(tok)) > 0 {
				return nil, false, fmt.Errorf("stray text %q", tok)
			}
		case xml.StartElement:
			return decodeElement(d, tok)
		}
	}
}

func decodeElement(d *xml.Decoder, se xml.StartElement) (plistValue, bool, error) {
	switch se.Name.Local {
	case "string":
		var s string
		err := d.DecodeElement(&s, &se)
		return s, false, err
	case "integer":
		var s string
		if err := d.DecodeElement(&s, &se); err != nil {
			return nil, false, err
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, false, err
	case "true", "false":
		var s string
		if err := d.DecodeElement(&s, &se); err != nil {
			return nil, false, err
		}
		if strings.TrimSpace(s) != "" {
			return nil, false, fmt.Errorf("<%s> must be empty", se.Name.Local)
		}
		return se.Name.Local == "true", false, nil
	case "array":
		var a []plistValue
		for {
			v, end, err := decodeValue(d)
			if err != nil {
				return nil, false, err
			}
			if end {
				return a, false, nil
			}
			a = append(a, v)
		}
	case "dict":
		m := plistDict{vals: map[string]plistValue{}}
		for {
			k, end, err := decodeValue(d)
			if err != nil {
				return nil, false, err
			}
			if end {
				return m, false, nil
			}
			key, ok := k.(plistKey)
			if !ok {
				return nil, false, fmt.Errorf("dict: %v where a <key> belongs", k)
			}
			v, end, err := decodeValue(d)
			if err != nil {
				return nil, false, err
			}
			if end {
				return nil, false, fmt.Errorf("dict: key %q has no value", key)
			}
			if _, ok := v.(plistKey); ok {
				return nil, false, fmt.Errorf("dict: key %q followed by another key", key)
			}
			if _, dup := m.vals[string(key)]; dup {
				return nil, false, fmt.Errorf("dict: duplicate key %q", key)
			}
			m.keys = append(m.keys, string(key))
			m.vals[string(key)] = v
		}
	case "key":
		var s string
		err := d.DecodeElement(&s, &se)
		return plistKey(s), false, err
	default:
		return nil, false, fmt.Errorf("unsupported element <%s>", se.Name.Local)
	}
}

type plistKey string

// launchdKeys are the launchd.plist(5) keys this agent may use.
var launchdKeys = []string{"Label", "ProgramArguments", "RunAtLoad", "KeepAlive", "ThrottleInterval", "ExitTimeOut",
	"WorkingDirectory", "StandardOutPath", "StandardErrorPath", "EnvironmentVariables", "ProcessType", "Nice",
	"LowPriorityIO"}

func TestLaunchdPlist(t *testing.T) {
	const file = "launchd/com.github.mediasync.plist"
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := decodePlist(raw); err != nil {
		t.Fatalf("%s as shipped: %v", file, err)
	}
	if !bytes.Contains(raw, []byte("install")) {
		t.Errorf("%s: want a comment header explaining how to install it", file)
	}
	// Installed the way the header says: sed "s|__HOME__|$HOME|g".
	const home = "/Users/jane doe"
	v, err := decodePlist(bytes.ReplaceAll(raw, []byte("__HOME__"), []byte(home)))
	if err != nil {
		t.Fatalf("%s installed: %v", file, err)
	}
	top, ok := v.(plistDict)
	if !ok {
		t.Fatalf("%s: top-level value is %T, want a dict", file, v)
	}
	for _, k := range top.keys {
		if !slices.Contains(launchdKeys, k) {
			t.Errorf("%s: key %q is not a launchd key this test knows; misspelt?", file, k)
		}
	}
	str := func(k string) string {
		s, ok := top.vals[k].(string)
		if !ok {
			t.Errorf("%s: %s is %T, want a string", file, k, top.vals[k])
		}
		return s
	}
	if got := str("Label"); got != "com.github.mediasync" || got+".plist" != path.Base(file) {
		t.Errorf("%s: Label %q must be com.github.mediasync and match the file name", file, got)
	}
	args, ok := top.vals["ProgramArguments"].([]plistValue)
	want := []plistValue{"/usr/local/bin/mediasync", "run", "--config", home + "/Library/Application Support/mediasync/config.yaml"}
	if !ok || !slices.Equal(args, want) {
		t.Errorf("%s: ProgramArguments = %v, want %v", file, args, want)
	}
	if top.vals["RunAtLoad"] != true {
		t.Errorf("%s: RunAtLoad = %v, want true", file, top.vals["RunAtLoad"])
	}
	switch ka := top.vals["KeepAlive"].(type) {
	case bool:
		if !ka {
			t.Errorf("%s: KeepAlive false", file)
		}
	case plistDict:
		// Restart on failure, not after a clean stop: SuccessfulExit=false.
		if ka.vals["SuccessfulExit"] != false || len(ka.keys) != 1 {
			t.Errorf("%s: KeepAlive = %v, want {SuccessfulExit: false}", file, ka.vals)
		}
	default:
		t.Errorf("%s: KeepAlive is %T, want a bool or a dict", file, ka)
	}
	for _, k := range []string{"StandardOutPath", "StandardErrorPath", "WorkingDirectory"} {
		if p := str(k); !strings.HasPrefix(p, home+"/") && p != home {
			t.Errorf("%s: %s = %q, want an absolute path under the home directory", file, k, p)
		}
	}
	for _, k := range []string{"ThrottleInterval", "ExitTimeOut"} {
		if n, ok := top.vals[k].(int64); !ok || n < 10 {
			t.Errorf("%s: %s = %v, want an integer of at least 10 seconds", file, k, top.vals[k])
		}
	}
	if env, ok := top.vals["EnvironmentVariables"].(plistDict); ok {
		for _, k := range env.keys {
			if strings.HasPrefix(k, "MEDIASYNC_") {
				t.Errorf("%s: EnvironmentVariables holds %s: a plist is world-readable, keep secrets in the config", file, k)
			}
		}
	}
	walkStrings(top, func(s string) {
		if strings.HasPrefix(s, "~") || strings.Contains(s, "$HOME") || strings.Contains(s, "__HOME__") {
			t.Errorf("%s: value %q: launchd expands neither ~ nor $HOME", file, s)
		}
	})
}

func walkStrings(v plistValue, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []plistValue:
		for _, e := range v {
			walkStrings(e, f)
		}
	case plistDict:
		for _, k := range v.keys {
			walkStrings(v.vals[k], f)
		}
	}
}

func TestDecodePlistRefuses(t *testing.T) {
	tests := []struct{ name, in string }{
		{"double dash in comment", `<plist version="1.0"><!-- a --config b --><dict/></plist>`},
		{"duplicate key", `<plist version="1.0"><dict><key>A</key><true/><key>A</key><false/></dict></plist>`},
		{"key without value", `<plist version="1.0"><dict><key>A</key></dict></plist>`},
		{"unknown element", `<plist version="1.0"><dict><key>A</key><bool/></dict></plist>`},
		{"unclosed", `<plist version="1.0"><dict><key>A</key><true/>`},
		{"bad integer", `<plist version="1.0"><dict><key>A</key><integer>ten</integer></dict></plist>`},
		{"two values", `<plist version="1.0"><dict/><dict/></plist>`},
		{"wrong root", `<list version="1.0"><dict/></list>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodePlist([]byte(tt.in)); err == nil {
				t.Errorf("decodePlist(%s) = nil error, want one", tt.in)
			}
		})
	}
}
