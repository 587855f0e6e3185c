package spec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/diag"
)

// maxNodes bounds how many YAML nodes one file may expand to, counting every
// alias expansion, so a "billion laughs" document cannot exhaust memory.
const maxNodes = 100_000

// decoder walks a yaml.v3 node tree against the Go types of a Region, using
// their json tags, and reports every problem it meets rather than the first.
type decoder struct {
	file string
	// budget is shared by all regions of a file.
	budget *int
	// exhausted is set once the budget ran out, so it is reported once.
	exhausted *bool

	diags     diag.Diagnostics
	positions map[string]diag.Pos
	invalid   map[string]bool
	// expanding holds the alias nodes being expanded, to catch cycles.
	expanding map[*yaml.Node]bool
}

func newDecoder(file string, budget *int, exhausted *bool) *decoder {
	return &decoder{
		file:      file,
		budget:    budget,
		exhausted: exhausted,
		positions: map[string]diag.Pos{},
		invalid:   map[string]bool{},
		expanding: map[*yaml.Node]bool{},
	}
}

func (d *decoder) pos(n *yaml.Node) diag.Pos {
	return diag.Pos{File: d.file, Line: n.Line, Column: n.Column}
}

// fail records an error about the value at path; validation of that path is
// then skipped so one mistake is reported once.
func (d *decoder) fail(n *yaml.Node, path, fix, format string, args ...any) {
	d.invalid[path] = true
	d.diags = append(d.diags, diag.Diagnostic{
		Severity: diag.Error,
		Pos:      d.pos(n),
		Path:     path,
		Summary:  fmt.Sprintf(format, args...),
		Fix:      fix,
	})
}

// spend takes one node from the budget and reports whether decoding may go on.
func (d *decoder) spend(n *yaml.Node, path string) bool {
	if *d.budget <= 0 {
		if !*d.exhausted {
			*d.exhausted = true
			d.fail(n, path, "split the file or use fewer aliases",
				"document expands to more than %d nodes (aliases included); stopped decoding", maxNodes)
		}
		return false
	}
	*d.budget--
	return true
}

// resolve follows aliases, refusing cycles. done must be called when the
// caller has finished with the node.
func (d *decoder) resolve(n *yaml.Node, path string) (node *yaml.Node, done func(), ok bool) {
	var stack []*yaml.Node
	for n.Kind == yaml.AliasNode {
		if n.Alias == nil || d.expanding[n] {
			for _, a := range stack {
				delete(d.expanding, a)
			}
			d.fail(n, path, "remove the alias to the enclosing anchor", "alias *%s refers to a value that contains it", n.Value)
			return nil, nil, false
		}
		d.expanding[n] = true
		stack = append(stack, n)
		n = n.Alias
	}
	return n, func() {
		for _, a := range stack {
			delete(d.expanding, a)
		}
	}, true
}

// describe names the kind of a node for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!null":
			return "null"
		case "!!str":
			return fmt.Sprintf("the string %q", truncate(n.Value, 40))
		default:
			return fmt.Sprintf("a %s value", n.ShortTag())
		}
	}
	return "an unexpected value"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// field is one json-tagged field of a struct.
type field struct {
	name      string
	index     int
	omitempty bool
}

var fieldCache sync.Map // reflect.Type → []field

// fieldsOf lists the json-tagged fields of struct type t in declaration order.
func fieldsOf(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = sf.Name
		}
		fs = append(fs, field{name: name, index: i, omitempty: strings.Contains(","+opts+",", ",omitempty,")})
	}
	fieldCache.Store(t, fs)
	return fs
}

var simpleKey = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinKey appends a map key or field name to path: "a.b", or a["x.y"] when
// the key is not a plain word.
func joinKey(path, key string) string {
	if !simpleKey.MatchString(key) {
		return fmt.Sprintf("%s[%q]", path, key)
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func joinIndex(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

var wholeNumber = regexp.MustCompile(`^[-+]?[0-9_]+$`)

var rawMessageType = reflect.TypeFor[json.RawMessage]()

// decode fills v from n, reporting problems at path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	if !d.spend(n, path) {
		return
	}
	n, done, ok := d.resolve(n, path)
	if !ok {
		return
	}
	defer done()
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an explicit null leaves the field unset
	}
	if v.Type() == rawMessageType {
		d.decodeRaw(n, v, path)
		return
	}
	if v.Kind() == reflect.Pointer { // an optional value: present, so set
		p := reflect.New(v.Type().Elem())
		d.decodeValue(n, p.Elem(), path)
		v.Set(p)
		return
	}
	d.decodeValue(n, v, path)
}

// decodeValue fills v (not a pointer) from the resolved node n.
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String:
		d.decodeString(n, v, path)
	case reflect.Int:
		d.decodeInt(n, v, path)
	case reflect.Bool:
		d.decodeBool(n, v, path)
	default:
		// A programmer error in types.go, not something a user can cause.
		panic(fmt.Sprintf("spec: cannot decode into %s", v.Type()))
	}
}

// pair is one key and value of a mapping.
type pair struct{ key, value *yaml.Node }

// pairs lists the entries of mapping n with merge keys ("<<: *base")
// expanded; explicit keys win over merged ones. Duplicate explicit keys are
// reported. The keys returned are scalars.
func (d *decoder) pairs(n *yaml.Node, path string) []pair {
	var explicit, merged []pair
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "<<" && k.ShortTag() == "!!merge" {
			merged = append(merged, d.mergeSources(val, path)...)
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.fail(k, path, "use a plain string as the key", "keys must be strings, got %s", describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.fail(k, joinKey(path, k.Value), "remove one of them",
				"duplicate key %q (first written at line %d)", k.Value, first.Line)
			continue
		}
		seen[k.Value] = k
		explicit = append(explicit, pair{k, val})
	}
	out := explicit
	for _, p := range merged {
		if _, ok := seen[p.key.Value]; ok {
			continue
		}
		seen[p.key.Value] = p.key
		out = append(out, p)
	}
	return out
}

// mergeSources returns the pairs a "<<" value brings: a mapping, an alias to
// one, or a list of those (earlier ones win).
func (d *decoder) mergeSources(val *yaml.Node, path string) []pair {
	if !d.spend(val, path) {
		return nil
	}
	n, done, ok := d.resolve(val, path)
	if !ok {
		return nil
	}
	defer done()
	switch n.Kind {
	case yaml.MappingNode:
		return d.pairs(n, path)
	case yaml.SequenceNode:
		var out []pair
		for _, item := range n.Content {
			out = append(out, d.mergeSources(item, path)...)
		}
		return out
	}
	d.fail(val, path, "merge a mapping: <<: *anchor", "<< must merge a mapping, got %s", describe(n))
	return nil
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "", "expected a mapping of fields, got %s", describe(n))
		return
	}
	fs := fieldsOf(v.Type())
	byName := make(map[string]field, len(fs))
	names := make([]string, len(fs))
	for i, f := range fs {
		byName[f.name] = f
		names[i] = f.name
	}
	present := map[string]bool{}
	// suggested holds fields an unknown key was probably meant to be; they
	// are not reported missing as well.
	suggested := map[string]bool{}
	for _, p := range d.pairs(n, path) {
		fpath := joinKey(path, p.key.Value)
		f, ok := byName[p.key.Value]
		if !ok {
			suggested[d.unknownField(p.key, fpath, names)] = true
			continue
		}
		present[f.name] = true
		d.positions[fpath] = d.pos(p.key)
		d.decode(p.value, v.Field(f.index), fpath)
	}
	for _, f := range fs {
		if !f.omitempty && !present[f.name] {
			if suggested[f.name] {
				d.invalid[joinKey(path, f.name)] = true
				continue
			}
			d.fail(n, joinKey(path, f.name), fmt.Sprintf("add %q", f.name+":"), "missing required field %q", f.name)
		}
	}
}

// unknownField reports a key that is no field of the struct, and returns
// the field it was probably meant to be, or "".
func (d *decoder) unknownField(key *yaml.Node, path string, valid []string) string {
	d.invalid[path] = true
	dg := diag.Diagnostic{
		Severity: diag.Error,
		Pos:      d.pos(key),
		Path:     path,
		Summary:  fmt.Sprintf("unknown field %q", truncate(key.Value, 60)),
	}
	s, ok := DidYouMean(key.Value, valid)
	if ok {
		dg.Fix = fmt.Sprintf("did you mean %q?", s)
	} else {
		sorted := append([]string(nil), valid...)
		sort.Strings(sorted)
		dg.Detail = "valid fields here: " + strings.Join(sorted, ", ")
	}
	d.diags = append(d.diags, dg)
	return s
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "", "expected a mapping, got %s", describe(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		panic(fmt.Sprintf("spec: map key type %s", v.Type().Key()))
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.pairs(n, path) {
		kpath := joinKey(path, p.key.Value)
		// Keys are taken as written: a label key "1" or "true" is a string.
		d.positions[kpath] = d.pos(p.key)
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(p.value, ev, kpath)
		m.SetMapIndex(reflect.ValueOf(p.key.Value).Convert(v.Type().Key()), ev)
	}
	v.Set(m)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "", "expected a list, got %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := joinIndex(path, i)
		d.positions[ipath] = d.pos(item)
		d.decode(item, s.Index(i), ipath)
	}
	v.Set(s)
}

func (d *decoder) decodeString(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "", "expected a string, got %s", describe(n))
		return
	}
	switch n.ShortTag() {
	case "!!str":
		v.SetString(n.Value)
	case "!!int", "!!float", "!!bool":
		d.fail(n, path, fmt.Sprintf("quote it: %q", n.Value),
			"expected a string, got %s", describe(n))
	default:
		d.fail(n, path, "", "expected a string, got %s", describe(n))
	}
}

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "", "expected a whole number, got %s", describe(n))
		return
	}
	switch n.ShortTag() {
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil || int64(int(i)) != i {
			d.fail(n, path, "", "the number %s is out of range", truncate(n.Value, 40))
			return
		}
		v.SetInt(i)
	case "!!float":
		if wholeNumber.MatchString(n.Value) {
			d.fail(n, path, "", "the number %s is out of range", truncate(n.Value, 40))
			return
		}
		d.fail(n, path, "", "expected a whole number, got %s", describe(n))
	case "!!str":
		fix := ""
		if _, err := strconv.Atoi(strings.TrimSpace(n.Value)); err == nil {
			fix = "remove the quotes: " + strings.TrimSpace(n.Value)
		}
		d.fail(n, path, fix, "expected a whole number, got %s", describe(n))
	default:
		d.fail(n, path, "", "expected a whole number, got %s", describe(n))
	}
}

func (d *decoder) decodeBool(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			v.SetBool(b)
			return
		}
	}
	fix := ""
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "yes", "on", "y", "true":
			fix = "write true"
		case "no", "off", "n", "false":
			fix = "write false"
		}
	}
	d.fail(n, path, fix, "expected true or false, got %s", describe(n))
}

// decodeRaw converts an arbitrary subtree (a provider override) to JSON,
// recording positions inside it.
func (d *decoder) decodeRaw(n *yaml.Node, v reflect.Value, path string) {
	val, ok := d.toAny(n, path)
	if !ok {
		return
	}
	b, err := json.Marshal(val)
	if err != nil {
		d.fail(n, path, "", "cannot be represented as JSON: %v", err)
		return
	}
	v.SetBytes(b)
}

// toAny turns a node into plain Go values (map[string]any, []any, scalars).
func (d *decoder) toAny(n *yaml.Node, path string) (any, bool) {
	if !d.spend(n, path) {
		return nil, false
	}
	n, done, ok := d.resolve(n, path)
	if !ok {
		return nil, false
	}
	defer done()
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for _, p := range d.pairs(n, path) {
			kpath := joinKey(path, p.key.Value)
			d.positions[kpath] = d.pos(p.key)
			val, ok := d.toAny(p.value, kpath)
			if !ok {
				return nil, false
			}
			m[p.key.Value] = val
		}
		return m, true
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, item := range n.Content {
			ipath := joinIndex(path, i)
			d.positions[ipath] = d.pos(item)
			val, ok := d.toAny(item, ipath)
			if !ok {
				return nil, false
			}
			s = append(s, val)
		}
		return s, true
	case yaml.ScalarNode:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, path, "", "cannot read value: %v", err)
			return nil, false
		}
		return x, true
	}
	d.fail(n, path, "", "unexpected %s", describe(n))
	return nil, false
}
