package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree into a Config, strictly, collecting every
// problem with its line instead of stopping at the first.
type decoder struct {
	meta   *meta
	lookup func(string) (string, bool)
	probs  []*Problem
	memo   map[*yaml.Node][]pair
	budget int // values decoded so far, against maxValues
}

// maxValues bounds the work a file can ask for: a real config has a few
// hundred values, and aliases must not turn a small file into a huge one.
const maxValues = 100_000

// MaxValueLen is the longest value accepted (PATH_MAX on Linux); longer
// ones are mistakes, and keeping them short bounds the work of the
// folder-overlap checks.
const MaxValueLen = 4096

func (d *decoder) add(line int, path, format string, args ...any) {
	d.probs = append(d.probs, &Problem{Line: line, Path: path, Message: fmt.Sprintf(format, args...)})
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func (d *decoder) document(data []byte, v reflect.Value) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	err := safeDecode(dec, &doc)
	if errors.Is(err, io.EOF) {
		return // empty file: every default
	}
	if err != nil {
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ := strconv.Atoi(m[1])
			if tab := tabIndented(data, line); tab > 0 {
				d.add(tab, "", "YAML syntax error: a tab character indents this line; YAML indents with spaces only")
			} else {
				d.add(line, "", "YAML syntax error: %s", m[2])
			}
		} else {
			d.add(0, "", "YAML syntax error: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	}
	var extra yaml.Node
	if err := safeDecode(dec, &extra); !errors.Is(err, io.EOF) {
		line := extra.Line
		if err != nil {
			line = 0
		}
		d.add(line, "", "the file holds more than one YAML document (a second \"---\"); put everything in one")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return
		}
		root = root.Content[0]
	}
	root = deref(root)
	if isNull(root) {
		return
	}
	if root.Kind != yaml.MappingNode {
		d.add(root.Line, "", "the top level must be a mapping of keys (api:, upload:, folders:, ...), not %s", kindName(root))
		return
	}
	d.value(root, v, "")
}

// tabIndented returns the line, of line and the one after it, whose
// indentation holds a tab, or 0. YAML forbids tabs in indentation, and the
// parser's messages ("found character that cannot start any token", "found a
// tab character that violates indentation") do not say so plainly; for the
// second one it reports the line before the tab.
func tabIndented(data []byte, line int) int {
	lines := bytes.Split(data, []byte("\n"))
	for _, l := range []int{line, line + 1} {
		if l < 1 || l > len(lines) {
			continue
		}
		text := lines[l-1]
		indent := text[:len(text)-len(bytes.TrimLeft(text, " \t"))]
		if bytes.IndexByte(indent, '\t') >= 0 {
			return l
		}
	}
	return 0
}

// safeDecode turns a panic inside the YAML parser into an error: bad input
// must never bring the program down.
func safeDecode(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: parser failure: %v", r)
		}
	}()
	return dec.Decode(n)
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "an unexpected YAML node"
}

var (
	durationType = reflect.TypeFor[Duration]()
	sizeType     = reflect.TypeFor[Size]()
	secretType   = reflect.TypeFor[Secret]()
	folderType   = reflect.TypeFor[Folder]()
	notifyType   = reflect.TypeFor[Notify]()
)

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	n = deref(n)
	if d.budget++; d.budget > maxValues {
		if d.budget == maxValues+1 {
			d.add(n.Line, path, "the file expands to more than %d values (through YAML aliases?); stopped reading here", maxValues)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.mapping(n, v, path)
	case reflect.Slice:
		d.sequence(n, v, path)
	case reflect.Map:
		d.dict(n, v, path)
	default:
		d.scalar(n, v, path)
	}
}

type pair struct{ key, val *yaml.Node }

// pairs returns the key/value pairs of a mapping, with YAML merge keys
// ("<<: *anchor") applied (explicit keys win) and duplicate keys reported.
func (d *decoder) pairs(n *yaml.Node, path string, depth int) []pair {
	// Memoised: merge keys can refer to mappings that merge others, and
	// without it a small file expands exponentially ("billion laughs").
	if d.memo == nil {
		d.memo = map[*yaml.Node][]pair{}
	}
	if p, ok := d.memo[n]; ok {
		return p
	}
	d.memo[n] = nil // in progress: a mapping that merges itself gets nothing from itself
	p := d.pairsOf(n, path, depth)
	d.memo[n] = p
	return p
}

func (d *decoder) pairsOf(n *yaml.Node, path string, depth int) []pair {
	var (
		out        []pair
		merged     []pair
		mergedKeys = map[string]bool{}
		seen       = map[string]int{}
	)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k.Line, path, "a key must be a plain name, not %s", kindName(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			if depth > 64 {
				d.add(k.Line, path, "merge keys (<<) nested too deeply")
				continue
			}
			src := deref(val)
			var maps []*yaml.Node
			switch src.Kind {
			case yaml.MappingNode:
				maps = []*yaml.Node{src}
			case yaml.SequenceNode:
				for _, s := range src.Content {
					maps = append(maps, deref(s))
				}
			}
			for _, m := range maps {
				if m.Kind != yaml.MappingNode {
					d.add(k.Line, path, "a merge key (<<) must refer to a mapping")
					continue
				}
				for _, p := range d.pairs(m, path, depth+1) {
					if !mergedKeys[p.key.Value] {
						mergedKeys[p.key.Value] = true
						merged = append(merged, p)
					}
				}
			}
			if len(maps) == 0 {
				d.add(k.Line, path, "a merge key (<<) must refer to a mapping")
			}
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.add(k.Line, joinPath(path, k.Value), "duplicate key (first set at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		out = append(out, pair{k, val})
	}
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; !ok {
			out = append(out, p)
		}
	}
	return out
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return // "watch:" with nothing under it: keep the defaults
	}
	if n.Kind != yaml.MappingNode {
		if v.Type() == reflect.TypeFor[Hook]() && n.Kind == yaml.SequenceNode {
			d.add(n.Line, path, "expected a mapping such as {command: [/usr/local/bin/post.sh, --flag], timeout: 60s}, got a list (the argv goes under command:)")
			return
		}
		d.add(n.Line, path, "expected a mapping of keys, got %s", kindName(n))
		return
	}
	t := v.Type()
	for _, p := range d.pairs(n, path, 0) {
		name := p.key.Value
		if path == "" && strings.HasPrefix(name, "x-") {
			continue // an extension key, a place for YAML anchors (as in docker compose)
		}
		f, ok := fieldByKey(t, name)
		if !ok {
			d.add(p.key.Line, joinPath(path, name), "unknown key%s", suggest(t, name))
			continue
		}
		kp := joinPath(path, name)
		d.meta.lines[kp] = p.key.Line
		d.value(p.val, v.FieldByIndex(f.Index), kp)
	}
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if f.IsExported() && tag != "" && tag != "-" && tag == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// keysOf returns the keys of a section, for hints and the schema; deprecated keys (a
// `deprecated:"..."` tag) are still read but not offered.
func keysOf(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if _, old := f.Tag.Lookup("deprecated"); f.IsExported() && tag != "" && tag != "-" && !old {
			out = append(out, tag)
		}
	}
	return out
}

// sections maps where each key lives, to say so when one is misplaced.
var sections = func() map[string][]string {
	out := map[string][]string{}
	add := func(section string, t reflect.Type) {
		for _, k := range keysOf(t) {
			out[k] = append(out[k], section)
		}
	}
	add("api", reflect.TypeFor[API]())
	add("credentials", reflect.TypeFor[Credentials]())
	add("upload", reflect.TypeFor[Upload]())
	add("watch", reflect.TypeFor[Watch]())
	add("folders[]", folderType)
	add("log", reflect.TypeFor[Log]())
	add("metrics", reflect.TypeFor[Metrics]())
	add("http", reflect.TypeFor[HTTP]())
	add("folders[].on_upload", reflect.TypeFor[Hook]())
	add("notify[]", notifyType)
	add("the top level", reflect.TypeFor[Config]())
	return out
}()

// suggest returns a hint for an unknown key: the closest known key of the
// same mapping, or the section where that key belongs.
func suggest(t reflect.Type, key string) string {
	// At most two edits, and fewer for a short key: "foo" is not a typo of "fit".
	best, bestDist := "", min(3, max(1, len(key)/3)+1)
	for _, k := range keysOf(t) {
		if dist := editDistance(strings.ToLower(key), k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if where := sections[key]; len(where) > 0 {
		return fmt.Sprintf(" (%q belongs under %s)", key, strings.Join(where, " or "))
	}
	return fmt.Sprintf(" (known keys here: %s)", strings.Join(keysOf(t), ", "))
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) sequence(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.add(n.Line, path, "expected a list, got %s (write [] for an empty list)", kindName(n))
		return
	}
	et := v.Type().Elem()
	s := reflect.MakeSlice(v.Type(), 0, len(n.Content))
	for i, el := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.meta.lines[p] = el.Line
		e := reflect.New(et).Elem()
		switch et {
		case folderType:
			e.Set(reflect.ValueOf(DefaultFolder("")))
		case notifyType:
			e.Set(reflect.ValueOf(DefaultNotify()))
		}
		d.value(el, e, p)
		s = reflect.Append(s, e)
	}
	v.Set(s)
}

// dict decodes a mapping of names to values (notify[].headers) into a map
// with string keys; keys are taken as written (no ${...} expansion).
func (d *decoder) dict(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		v.Set(reflect.Zero(v.Type()))
		return
	}
	if n.Kind != yaml.MappingNode {
		d.add(n.Line, path, "expected a mapping of names to values, got %s", kindName(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, path, 0) {
		kp := joinPath(path, p.key.Value)
		d.meta.lines[kp] = p.key.Line
		e := reflect.New(v.Type().Elem()).Elem()
		d.value(p.val, e, kp)
		m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	secret := v.Type() == secretType
	want := map[reflect.Kind]string{reflect.String: "a string", reflect.Bool: "true or false", reflect.Int: "a whole number"}[v.Kind()]
	switch v.Type() {
	case durationType:
		want = "a duration such as 3s"
	case sizeType:
		want = "a size such as 4MiB"
	}
	if n.Kind != yaml.ScalarNode {
		d.add(n.Line, path, "expected %s, got %s", want, kindName(n))
		return
	}
	if isNull(n) {
		if v.Kind() == reflect.String {
			v.SetString("")
			return
		}
		d.add(n.Line, path, "missing value (expected %s)", want)
		return
	}
	if len(n.Value) > MaxValueLen {
		d.add(n.Line, path, "value is longer than %d bytes", MaxValueLen)
		return
	}
	x, err := expand(n.Value, d.lookup, secret)
	if err != nil {
		d.add(n.Line, path, "%s", err.Error())
		return
	}
	if len(x.unset) > 0 {
		d.meta.unset[path] = x.unset
		if !fallsBack(path) {
			d.add(n.Line, path, "%s not set (set it, or write ${%s:-default})", unsetList(x.unset), x.unset[0])
			return
		}
		// A credential with an unset part is left empty, never half-filled: its MEDIASYNC_*
		// variable may fill it, else Missing names the unset reference.
		v.SetString("")
		return
	}
	if secret && x.value != "" {
		d.meta.secrets = append(d.meta.secrets, x.value)
	}
	for _, name := range x.refs {
		if secretVar(name) {
			if v, _ := d.lookup(name); v != "" {
				d.meta.secrets = append(d.meta.secrets, v, x.value)
			}
		}
	}
	s := x.value
	if len(s) > MaxValueLen {
		d.add(n.Line, path, "value is longer than %d bytes once ${...} is expanded", MaxValueLen)
		return
	}
	switch {
	case secret:
		// A literal webhook URL is common and mostly harmless (one that carries a
		// token belongs in ${VAR}, as the docs say); an auth scheme before a
		// reference ("Bearer ${TOKEN}") is not a secret either.
		if x.literal && !strings.HasSuffix(path, ".url") && !authScheme(x.text) {
			d.meta.literal = append(d.meta.literal, path)
		}
		v.SetString(s)
	case v.Type() == durationType:
		dur, err := parseDuration(s)
		if err != nil {
			d.add(n.Line, path, "%s", err.Error())
			return
		}
		v.SetInt(int64(dur))
	case v.Type() == sizeType:
		size, err := parseSize(s)
		if err != nil {
			d.add(n.Line, path, "%s", err.Error())
			return
		}
		v.SetInt(size)
	case v.Kind() == reflect.String:
		v.SetString(s)
	case v.Kind() == reflect.Bool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.add(n.Line, path, "%q is not true or false", s)
		}
	case v.Kind() == reflect.Int:
		i, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.add(n.Line, path, "%q is not a whole number", s)
			return
		}
		v.SetInt(i)
	default:
		d.add(n.Line, path, "cannot be set from the file")
	}
}
