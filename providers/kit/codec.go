package kit

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/regionctl/regionctl/providers"
)

// A struct whose fields are values of a resource carries a `kit` tag on
// every exported field:
//
//	kit:"name[,option]..."
//
// with these options:
//
//	replace    a change of this input replaces the resource (RequiresReplace);
//	           a `why:"..."` tag on the same field says why, for the plan
//	set        a list whose order means nothing: Read keeps the recorded
//	           order when the elements are the same, else sorts them
//	omitempty  the key is left out when the value is empty (and is optional)
//	sensitive  an output that is a credential: it never leaves the driver
//
// A pointer field is optional and reads null when nil. An embedded struct
// without a tag contributes its fields. Field types are string, bool, the
// integer and float kinds, any, pointers, slices, map[string]T and structs
// of the same kinds. A `doc:"..."` tag becomes the attribute's description.

// field is one tagged struct field.
type field struct {
	name      string
	index     []int
	typ       reflect.Type
	replace   bool
	why       string
	set       bool
	omitEmpty bool
	sensitive bool
	doc       string
}

// shape is the parsed layout of a struct type.
type shape struct {
	fields []field
	byName map[string]int
}

var shapes sync.Map // reflect.Type → shapeResult

type shapeResult struct {
	s   *shape
	err error
}

// shapeOf parses the kit tags of struct type t (cached).
func shapeOf(t reflect.Type) (*shape, error) {
	if r, ok := shapes.Load(t); ok {
		res := r.(shapeResult)
		return res.s, res.err
	}
	s, err := parseShape(t)
	shapes.Store(t, shapeResult{s, err})
	return s, err
}

func parseShape(t reflect.Type) (*shape, error) {
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	s := &shape{byName: map[string]int{}}
	if err := collectFields(t, nil, s); err != nil {
		return nil, err
	}
	return s, nil
}

func collectFields(t reflect.Type, prefix []int, s *shape) error {
	for i := range t.NumField() {
		sf := t.Field(i)
		tag, tagged := sf.Tag.Lookup("kit")
		index := append(slices.Clone(prefix), i)
		switch {
		case tag == "-":
			continue
		case sf.Anonymous && !tagged && sf.Type.Kind() == reflect.Struct:
			if err := collectFields(sf.Type, index, s); err != nil {
				return err
			}
			continue
		case !sf.IsExported():
			continue
		case !tagged:
			return fmt.Errorf("%s.%s has no kit tag", t, sf.Name)
		}
		parts := strings.Split(tag, ",")
		f := field{name: parts[0], index: index, typ: sf.Type, why: sf.Tag.Get("why"), doc: sf.Tag.Get("doc")}
		if f.name == "" {
			return fmt.Errorf("%s.%s: kit tag has no name", t, sf.Name)
		}
		for _, opt := range parts[1:] {
			switch opt {
			case "replace":
				f.replace = true
			case "set":
				f.set = true
			case "omitempty":
				f.omitEmpty = true
			case "sensitive":
				f.sensitive = true
			default:
				return fmt.Errorf("%s.%s: unknown kit tag option %q", t, sf.Name, opt)
			}
		}
		if f.set && deref(f.typ).Kind() != reflect.Slice {
			return fmt.Errorf("%s.%s: only a list can be a set", t, sf.Name)
		}
		if _, err := typeName(f.typ); err != nil {
			return fmt.Errorf("%s.%s: %w", t, sf.Name, err)
		}
		if _, dup := s.byName[f.name]; dup {
			return fmt.Errorf("%s: two fields are called %q", t, f.name)
		}
		s.byName[f.name] = len(s.fields)
		s.fields = append(s.fields, f)
	}
	return nil
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

var valuesType = reflect.TypeFor[providers.Values]()

// typeName is the schema type of Go type t ("string", "list(object)", ...).
func typeName(t reflect.Type) (string, error) {
	t = deref(t)
	switch t.Kind() {
	case reflect.String:
		return "string", nil
	case reflect.Bool:
		return "bool", nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer", nil
	case reflect.Float32, reflect.Float64:
		return "number", nil
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any", nil
		}
	case reflect.Slice:
		e, err := typeName(t.Elem())
		return "list(" + e + ")", err
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return "", fmt.Errorf("map keys must be strings, not %s", t.Key())
		}
		e, err := typeName(t.Elem())
		return "map(" + e + ")", err
	case reflect.Struct:
		if _, err := shapeOf(t); err != nil {
			return "", err
		}
		return "object", nil
	}
	return "", fmt.Errorf("values cannot be of type %s", t)
}

// attributes returns the schema of struct type t's fields.
func attributes(t reflect.Type) []providers.Attribute {
	s, err := shapeOf(t)
	if err != nil {
		return nil
	}
	out := make([]providers.Attribute, 0, len(s.fields))
	for _, f := range s.fields {
		name, _ := typeName(f.typ)
		a := providers.Attribute{
			Name: f.name, Type: name, Optional: f.omitEmpty || f.typ.Kind() == reflect.Pointer,
			RequiresReplace: f.replace, ReplaceReason: f.why, Sensitive: f.sensitive, Description: f.doc,
		}
		if inner := innerStruct(f.typ); inner != nil {
			a.Attributes = attributes(inner)
		}
		out = append(out, a)
	}
	return out
}

// innerStruct is the struct type t holds, through pointers, lists and maps.
func innerStruct(t reflect.Type) reflect.Type {
	for {
		t = deref(t)
		switch t.Kind() {
		case reflect.Slice, reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			return t
		default:
			return nil
		}
	}
}

// decodeOpts say how strict a decode is.
type decodeOpts struct {
	// unknown refuses keys the struct does not declare.
	unknown bool
	// refs accepts a reference (providers.Ref) wherever a value may stand,
	// leaving the field zero: for checking expanded, unresolved inputs.
	refs bool
	// required refuses a missing key unless the field is optional.
	required bool
}

// Decode stores values into the struct *dst by its kit tags, with an error
// naming the first field of the wrong type. Keys dst does not declare are
// ignored. Handlers get their values decoded already; Decode is for a
// driver's other paths to recorded values (ClusterAccess).
func Decode(values providers.Values, dst any) error {
	return decode(values, dst, decodeOpts{})
}

// decode stores values into the struct *dst.
func decode(values providers.Values, dst any, o decodeOpts) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("kit: decode into %T, not a pointer to a struct", dst)
	}
	return decodeStruct(map[string]any(values), rv.Elem(), "", o)
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func decodeStruct(m map[string]any, rv reflect.Value, path string, o decodeOpts) error {
	s, err := shapeOf(rv.Type())
	if err != nil {
		return err
	}
	if o.unknown {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if _, ok := s.byName[k]; !ok {
				return fmt.Errorf("%s: not an attribute of this type", join(path, k))
			}
		}
	}
	for _, f := range s.fields {
		v, present := m[f.name]
		p := join(path, f.name)
		if !present {
			if o.required && !f.omitEmpty && f.typ.Kind() != reflect.Pointer {
				return fmt.Errorf("%s: missing", p)
			}
			continue
		}
		if err := decodeValue(v, rv.FieldByIndex(f.index), p, o); err != nil {
			return err
		}
	}
	return nil
}

func decodeValue(v any, rv reflect.Value, path string, o decodeOpts) error {
	if o.refs {
		if _, _, ok := providers.AsRef(v); ok {
			return nil
		}
	}
	if v == nil {
		rv.SetZero()
		return nil
	}
	switch rv.Kind() {
	case reflect.Interface:
		rv.Set(reflect.ValueOf(v))
		return nil
	case reflect.Pointer:
		p := reflect.New(rv.Type().Elem())
		if err := decodeValue(v, p.Elem(), path, o); err != nil {
			return err
		}
		rv.Set(p)
		return nil
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return typeError(path, "a string", v)
		}
		rv.SetString(s)
		return nil
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			return typeError(path, "true or false", v)
		}
		rv.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := number(v)
		if !ok || n != math.Trunc(n) || rv.OverflowInt(int64(n)) {
			return typeError(path, "an integer", v)
		}
		rv.SetInt(int64(n))
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := number(v)
		if !ok || n != math.Trunc(n) || n < 0 || rv.OverflowUint(uint64(n)) {
			return typeError(path, "an integer of at least 0", v)
		}
		rv.SetUint(uint64(n))
		return nil
	case reflect.Float32, reflect.Float64:
		n, ok := number(v)
		if !ok {
			return typeError(path, "a number", v)
		}
		rv.SetFloat(n)
		return nil
	case reflect.Slice:
		src := reflect.ValueOf(v)
		if src.Kind() != reflect.Slice {
			return typeError(path, "a list", v)
		}
		out := reflect.MakeSlice(rv.Type(), src.Len(), src.Len())
		for i := range src.Len() {
			if err := decodeValue(src.Index(i).Interface(), out.Index(i), fmt.Sprintf("%s[%d]", path, i), o); err != nil {
				return err
			}
		}
		rv.Set(out)
		return nil
	case reflect.Map:
		src := reflect.ValueOf(v)
		if src.Kind() != reflect.Map || src.Type().Key().Kind() != reflect.String {
			return typeError(path, "an object", v)
		}
		out := reflect.MakeMapWithSize(rv.Type(), src.Len())
		for _, k := range src.MapKeys() {
			e := reflect.New(rv.Type().Elem()).Elem()
			if err := decodeValue(src.MapIndex(k).Interface(), e, join(path, k.String()), o); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k.String()).Convert(rv.Type().Key()), e)
		}
		rv.Set(out)
		return nil
	case reflect.Struct:
		m, ok := asObject(v)
		if !ok {
			return typeError(path, "an object", v)
		}
		return decodeStruct(m, rv, path, o)
	}
	return fmt.Errorf("%s: cannot hold a value of Go type %s", path, rv.Type())
}

// asObject returns v as a map when it is an object of any map type.
func asObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case providers.Values:
		return m, true
	}
	src := reflect.ValueOf(v)
	if src.Kind() != reflect.Map || src.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, src.Len())
	for _, k := range src.MapKeys() {
		out[k.String()] = src.MapIndex(k).Interface()
	}
	return out, true
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float32:
		return float64(n), true
	case float64:
		return n, true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func typeError(path, want string, got any) error {
	return fmt.Errorf("%s: want %s, got %s", path, want, describe(got))
}

// describe names a value's JSON kind and, for scalars, the value.
func describe(v any) string {
	if _, _, ok := providers.AsRef(v); ok {
		return "an unresolved reference"
	}
	if n, ok := number(v); ok {
		return fmt.Sprintf("number %v", n)
	}
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("string %q", t)
	case bool:
		return fmt.Sprintf("%v", t)
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.Map:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// encode turns the struct src (or a pointer to one) into Values. Lists and
// maps are never null; fields tagged omitempty are left out when empty;
// sensitive fields are left out always.
func encode(src any) (providers.Values, error) {
	rv := reflect.ValueOf(src)
	for rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("kit: encode %T, not a struct", src)
	}
	m, err := encodeStruct(rv)
	return providers.Values(m), err
}

func encodeStruct(rv reflect.Value) (map[string]any, error) {
	s, err := shapeOf(rv.Type())
	if err != nil {
		return nil, err
	}
	out := make(map[string]any, len(s.fields))
	for _, f := range s.fields {
		fv := rv.FieldByIndex(f.index)
		if f.sensitive || f.omitEmpty && empty(fv) {
			continue
		}
		v, err := encodeValue(fv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.name, err)
		}
		out[f.name] = v
	}
	return out, nil
}

func empty(rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.Slice, reflect.Map:
		return rv.Len() == 0
	}
	return rv.IsZero()
}

func encodeValue(rv reflect.Value) (any, error) {
	switch rv.Kind() {
	case reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return rv.Interface(), nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return encodeValue(rv.Elem())
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return int(rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return int(rv.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice:
		out := make([]any, rv.Len())
		for i := range rv.Len() {
			v, err := encodeValue(rv.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			v, err := encodeValue(rv.MapIndex(k))
			if err != nil {
				return nil, err
			}
			out[k.String()] = v
		}
		return out, nil
	case reflect.Struct:
		return encodeStruct(rv)
	}
	return nil, fmt.Errorf("cannot encode Go type %s", rv.Type())
}

// normalizeSets reorders, in the encoded values live of struct type t, every
// list tagged "set" like the same list in prev when both hold the same
// elements, else sorts it; nested objects are normalised too.
func normalizeSets(live, prev map[string]any, t reflect.Type) {
	s, err := shapeOf(t)
	if err != nil {
		return
	}
	for _, f := range s.fields {
		lv, ok := live[f.name]
		if !ok {
			continue
		}
		pv := prev[f.name]
		if f.set {
			if l, ok := lv.([]any); ok {
				live[f.name] = orderLike(l, toList(pv))
			}
			continue
		}
		if inner := deref(f.typ); inner.Kind() == reflect.Struct {
			lm, ok1 := lv.(map[string]any)
			pm, _ := asObject(pv)
			if ok1 {
				normalizeSets(lm, pm, inner)
			}
		}
	}
}

func toList(v any) []any {
	src := reflect.ValueOf(v)
	if v == nil || src.Kind() != reflect.Slice {
		return nil
	}
	out := make([]any, src.Len())
	for i := range out {
		out[i] = src.Index(i).Interface()
	}
	return out
}

// setKey is an element's identity in a set: a string itself, anything
// else its JSON (maps marshal with sorted keys).
func setKey(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if n, ok := number(v); ok {
		return fmt.Sprint(n)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// orderLike returns live in the order of want when both hold the same
// elements, else sorted: clouds do not promise an order for sets.
func orderLike(live, want []any) []any {
	lk := make([]string, len(live))
	byKey := map[string][]any{}
	for i, v := range live {
		lk[i] = setKey(v)
		byKey[lk[i]] = append(byKey[lk[i]], v)
	}
	wk := make([]string, len(want))
	for i, v := range want {
		wk[i] = setKey(v)
	}
	if SameSet(lk, wk) {
		out := make([]any, 0, len(live))
		for _, k := range wk {
			out = append(out, byKey[k][0])
			byKey[k] = byKey[k][1:]
		}
		return out
	}
	idx := make([]int, len(live))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return lk[idx[a]] < lk[idx[b]] })
	out := make([]any, len(live))
	for i, j := range idx {
		out[i] = live[j]
	}
	return out
}

// SameSet reports whether a and b hold the same elements, in any order
// (counting repeats).
func SameSet[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	count := make(map[T]int, len(a))
	for _, x := range a {
		count[x]++
	}
	for _, y := range b {
		if count[y] == 0 {
			return false
		}
		count[y]--
	}
	return true
}

// List turns a typed slice into the []any a Values list holds, for
// building inputs in Expand; it is never nil.
func List[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}
