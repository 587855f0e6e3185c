package render

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// knownAfterApply is how a value not known until apply is shown.
const knownAfterApply = "(known after apply)"

// plain converts any JSON-compatible value to the plain forms the renderers
// walk: map[string]any, []any, string, bool, float64/int kinds, nil.
// Other types (a []string, a map[string]string) go through a JSON round
// trip so that nothing a driver put in a plan can break rendering.
func plain(v any) any {
	switch t := v.(type) {
	case nil, string, bool, float64, float32, int, int8, int16, int32, int64,
		uint, uint8, uint16, uint32, uint64, json.Number, map[string]any, []any:
		return v
	case providers.Values:
		return map[string]any(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return out
}

// scalar renders a non-composite value.
func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(t)
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return formatFloat(t)
	case float32:
		return formatFloat(float64(t))
	case json.Number:
		return t.String()
	}
	return fmt.Sprint(v)
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

var bareKey = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// key renders a map key: bare when it is identifier-like, quoted otherwise.
func key(k string) string {
	if bareKey.MatchString(k) {
		return k
	}
	return strconv.Quote(k)
}

// pathElem appends a map key to a dotted path: a.b, a["x.y"].
func pathElem(path, k string) string {
	if !bareKey.MatchString(k) {
		return path + "[" + strconv.Quote(k) + "]"
	}
	if path == "" {
		return k
	}
	return path + "." + k
}

// inline renders a value on one line: {a: 1, b: "x"}, ["a", "b"].
func inline(v any) string {
	v = plain(v)
	if _, _, ok := providers.AsRef(v); ok {
		return knownAfterApply
	}
	switch t := v.(type) {
	case map[string]any:
		parts := make([]string, 0, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			parts = append(parts, key(k)+": "+inline(t[k]))
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case []any:
		parts := make([]string, len(t))
		for i, e := range t {
			parts[i] = inline(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return scalar(v)
}

// block renders a value over several lines when it is a non-empty map or
// list. col is the indentation of the column the value's key (or list
// element) starts in: entries go two spaces further in, the closing
// bracket goes back to col.
func block(v any, col string) string {
	v = plain(v)
	if _, _, ok := providers.AsRef(v); ok {
		return knownAfterApply
	}
	inner := col + "  "
	switch t := v.(type) {
	case map[string]any:
		if len(t) == 0 {
			return "{}"
		}
		keys := slices.Sorted(maps.Keys(t))
		width := 0
		for _, k := range keys {
			width = max(width, len(key(k)))
		}
		var b strings.Builder
		b.WriteString("{\n")
		for _, k := range keys {
			fmt.Fprintf(&b, "%s%-*s %s\n", inner, width+1, key(k)+":", block(t[k], inner))
		}
		b.WriteString(col + "}")
		return b.String()
	case []any:
		if len(t) == 0 {
			return "[]"
		}
		var b strings.Builder
		b.WriteString("[\n")
		for _, e := range t {
			fmt.Fprintf(&b, "%s%s,\n", inner, block(e, inner))
		}
		b.WriteString(col + "]")
		return b.String()
	}
	return scalar(v)
}

// attrDiff is one changed leaf between two values.
type attrDiff struct {
	path   string // a.b[0]["x.y"]
	top    string // the top-level key the path starts with
	before any
	after  any
	hasB   bool
	hasA   bool
}

// diffValues lists the leaves that differ between before and after,
// recursing into maps present on both sides and lists of equal length, in
// sorted key order. A reference in after always counts as a change: its
// value is not known until apply.
func diffValues(before, after map[string]any) []attrDiff {
	var out []attrDiff
	for _, k := range slices.Sorted(maps.Keys(union(before, after))) {
		b, hasB := before[k]
		a, hasA := after[k]
		diffInto(&out, k, pathElem("", k), b, a, hasB, hasA)
	}
	return out
}

func diffInto(out *[]attrDiff, top, path string, b, a any, hasB, hasA bool) {
	b, a = plain(b), plain(a)
	_, _, aRef := providers.AsRef(a)
	if hasB && hasA && !aRef {
		bm, bIsMap := b.(map[string]any)
		am, aIsMap := a.(map[string]any)
		if bIsMap && aIsMap {
			if _, _, bRef := providers.AsRef(b); !bRef {
				for _, k := range slices.Sorted(maps.Keys(union(bm, am))) {
					bv, hb := bm[k]
					av, ha := am[k]
					diffInto(out, top, pathElem(path, k), bv, av, hb, ha)
				}
				return
			}
		}
		bl, bIsList := b.([]any)
		al, aIsList := a.([]any)
		if bIsList && aIsList && len(bl) == len(al) {
			for i := range al {
				diffInto(out, top, fmt.Sprintf("%s[%d]", path, i), bl[i], al[i], true, true)
			}
			return
		}
	}
	if hasB == hasA && !aRef && equal(b, a) {
		return
	}
	*out = append(*out, attrDiff{path: path, top: top, before: b, after: a, hasB: hasB, hasA: hasA})
}

// equal compares two values by their canonical one-line rendering, which
// sorts keys and prints 3 and 3.0 alike.
func equal(a, b any) bool {
	return inline(a) == inline(b)
}

func union(ms ...map[string]any) map[string]bool {
	s := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			s[k] = true
		}
	}
	return s
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}
