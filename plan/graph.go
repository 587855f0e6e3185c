package plan

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// normalizeValues deep-copies v into JSON's own types (float64, []any,
// map[string]any), so values compare equal whether they came from a driver,
// from state, or from a plan file. Common types are copied directly; any
// other value takes a trip through encoding/json.
func normalizeValues(v map[string]any) (map[string]any, error) {
	if v == nil {
		return nil, nil
	}
	if out, ok := copyJSON(v); ok {
		return out.(map[string]any), nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("values are not JSON-compatible: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("values are not JSON-compatible: %w", err)
	}
	return out, nil
}

// copyJSON deep-copies v as encoding/json would decode its encoding, when v
// is made only of types with an obvious JSON form; ok is false otherwise.
func copyJSON(v any) (out any, ok bool) {
	switch t := v.(type) {
	case nil:
		return nil, true
	case string, bool:
		return t, true
	case float64:
		return t, !math.IsNaN(t) && !math.IsInf(t, 0)
	case int:
		return float64(t), true
	case int64:
		return float64(t), true
	case int32:
		return float64(t), true
	case map[string]any:
		if t == nil {
			return nil, true
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			if m[k], ok = copyJSON(e); !ok {
				return nil, false
			}
		}
		return m, true
	case providers.Values:
		return copyJSON(map[string]any(t))
	case map[string]string:
		if t == nil {
			return nil, true
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = e
		}
		return m, true
	case []any:
		if t == nil {
			return nil, true
		}
		s := make([]any, len(t))
		for i, e := range t {
			if s[i], ok = copyJSON(e); !ok {
				return nil, false
			}
		}
		return s, true
	case []string:
		if t == nil {
			return nil, true
		}
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = e
		}
		return s, true
	}
	return nil, false
}

// equalValues compares two normalized values.
func equalValues(a, b any) bool { return reflect.DeepEqual(a, b) }

// fingerprint hashes what refresh saw of one state resource.
func fingerprint(rr *refreshed) string {
	data, _ := json.Marshal(struct {
		ID      string         `json:"id"`
		Status  string         `json:"status"`
		Exists  bool           `json:"exists"`
		Adopt   string         `json:"adopt,omitempty"`
		Inputs  map[string]any `json:"inputs"`
		Outputs map[string]any `json:"outputs"`
	}{rr.res.ID, string(rr.res.Status), rr.exists, rr.adoptID, rr.inputs, rr.outputs})
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:16])
}

// resourceDeps returns the addresses r needs: its references and DependsOn,
// each once, in order of appearance.
func resourceDeps(r *providers.Resource) []string {
	deps := providers.Refs(map[string]any(r.Inputs))
	for _, d := range r.DependsOn {
		if !slices.Contains(deps, d) {
			deps = append(deps, d)
		}
	}
	return deps
}

// topoOrder orders nodes so every node comes after its dependencies,
// keeping the given order where the graph allows. Dependencies not in nodes
// are ignored. It returns an error naming a cycle.
func topoOrder(nodes []string, deps func(string) []string) ([]string, error) {
	known := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		known[n] = true
	}
	const (
		unvisited = iota
		visiting
		visited
	)
	mark := make(map[string]int, len(nodes))
	out := make([]string, 0, len(nodes))
	var stack []string
	var visit func(string) error
	visit = func(n string) error {
		switch mark[n] {
		case visited:
			return nil
		case visiting:
			i := slices.Index(stack, n)
			return fmt.Errorf("dependency cycle: %s", strings.Join(append(slices.Clone(stack[i:]), n), " → "))
		}
		mark[n] = visiting
		stack = append(stack, n)
		for _, d := range deps(n) {
			if known[d] && d != n {
				if err := visit(d); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		mark[n] = visited
		out = append(out, n)
		return nil
	}
	for _, n := range nodes {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resolveRefs returns v with every reference replaced by the output it
// stands for, as lookup finds it. ok is false when some output is not known;
// missing names the first reference that was not.
func resolveRefs(v any, lookup func(addr, output string) (any, bool)) (out any, ok bool, missing string) {
	if addr, output, isRef := providers.AsRef(v); isRef {
		val, found := lookup(addr, output)
		if !found {
			return nil, false, addr + "#" + output
		}
		return val, true, ""
	}
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			e := t[k]
			r, ok, miss := resolveRefs(e, lookup)
			if !ok {
				return nil, false, miss
			}
			m[k] = r
		}
		return m, true, ""
	case providers.Values:
		return resolveRefs(map[string]any(t), lookup)
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			r, ok, miss := resolveRefs(e, lookup)
			if !ok {
				return nil, false, miss
			}
			s[i] = r
		}
		return s, true, ""
	}
	return v, true, ""
}

// resolveKnownRefs returns a deep copy of v in which every reference that
// lookup finds is replaced by the output's value; references it does not
// find stay references. The plan uses it so that Change.After shows every
// value known at plan time and keeps a reference only where the value is
// truly known after apply.
func resolveKnownRefs(v any, lookup func(addr, output string) (any, bool)) any {
	if addr, output, isRef := providers.AsRef(v); isRef {
		if val, found := lookup(addr, output); found {
			if c, ok := copyJSON(val); ok {
				return c
			}
			return val
		}
		if c, ok := copyJSON(v); ok {
			return c
		}
		return v
	}
	switch t := v.(type) {
	case map[string]any:
		if t == nil {
			return t
		}
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = resolveKnownRefs(e, lookup)
		}
		return m
	case providers.Values:
		if t == nil {
			return map[string]any(nil)
		}
		return resolveKnownRefs(map[string]any(t), lookup)
	case []any:
		if t == nil {
			return t
		}
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = resolveKnownRefs(e, lookup)
		}
		return s
	}
	return v
}
