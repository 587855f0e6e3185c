package drivertest

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// deps returns the addresses r needs: those its inputs reference, then its
// DependsOn, each once.
func deps(r providers.Resource) []string {
	out := providers.Refs(map[string]any(r.Inputs))
	for _, d := range r.DependsOn {
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// topoSort orders resources so that each comes after everything it depends
// on, keeping the driver's order where it is free. Dependencies on
// addresses outside the graph are ignored here (checkGraph reports them).
func topoSort(rs []providers.Resource) ([]providers.Resource, error) {
	idx := make(map[string]int, len(rs))
	for i, r := range rs {
		idx[r.Address] = i
	}
	const (
		unseen = iota
		visiting
		done
	)
	mark := make([]int, len(rs))
	out := make([]providers.Resource, 0, len(rs))
	var stack []string
	var visit func(i int) error
	visit = func(i int) error {
		switch mark[i] {
		case done:
			return nil
		case visiting:
			start := slices.Index(stack, rs[i].Address)
			cycle := append(slices.Clone(stack[start:]), rs[i].Address)
			return fmt.Errorf("dependency cycle: %s", strings.Join(cycle, " → "))
		}
		mark[i] = visiting
		stack = append(stack, rs[i].Address)
		for _, d := range deps(rs[i]) {
			if j, ok := idx[d]; ok {
				if err := visit(j); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		mark[i] = done
		out = append(out, rs[i])
		return nil
	}
	for i := range rs {
		if err := visit(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// unknown stands for a reference to a resource that is about to be created
// or replaced: its outputs are not known yet.
type unknown struct{ ref string }

// outputsFunc returns the current outputs of the resource at an address.
type outputsFunc func(addr string) (providers.Values, bool)

// resolve returns a deep copy of v with every reference replaced by the
// output it names; references to addresses in pending become unknown.
func resolve(v any, outputs outputsFunc, pending map[string]bool) (any, error) {
	if addr, out, ok := providers.AsRef(v); ok {
		if pending[addr] {
			return unknown{ref: addr + "#" + out}, nil
		}
		vals, ok := outputs(addr)
		if !ok {
			return nil, fmt.Errorf("reference to %s#%s: no such resource has been created", addr, out)
		}
		val, ok := vals[out]
		if !ok {
			return nil, fmt.Errorf("reference to %s#%s: the resource has no output %q (outputs: %v)", addr, out, out, slices.Sorted(maps.Keys(vals)))
		}
		return val, nil
	}
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			r, err := resolve(e, outputs, pending)
			if err != nil {
				return nil, err
			}
			m[k] = r
		}
		return m, nil
	case providers.Values:
		return resolve(map[string]any(t), outputs, pending)
	case []any:
		l := make([]any, len(t))
		for i, e := range t {
			r, err := resolve(e, outputs, pending)
			if err != nil {
				return nil, err
			}
			l[i] = r
		}
		return l, nil
	}
	return v, nil
}

// resolveValues resolves a resource's inputs.
func resolveValues(in providers.Values, outputs outputsFunc, pending map[string]bool) (providers.Values, error) {
	r, err := resolve(map[string]any(in), outputs, pending)
	if err != nil {
		return nil, err
	}
	return providers.Values(r.(map[string]any)), nil
}

func hasUnknown(v any) bool {
	switch t := v.(type) {
	case unknown:
		return true
	case map[string]any:
		for _, e := range t {
			if hasUnknown(e) {
				return true
			}
		}
	case []any:
		for _, e := range t {
			if hasUnknown(e) {
				return true
			}
		}
	}
	return false
}

// normalize puts a JSON-compatible value through a JSON round trip, as a
// plan file or state document does, so that 3 and 3.0 compare equal.
func normalize(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// sameValue reports whether two input values are equal as the engine sees
// them (after a JSON round trip). An unknown value is never equal.
func sameValue(a, b any) bool {
	if hasUnknown(a) || hasUnknown(b) {
		return false
	}
	na, errA := normalize(a)
	nb, errB := normalize(b)
	if errA != nil || errB != nil {
		return false
	}
	return reflect.DeepEqual(na, nb)
}

// changedKeys returns the sorted top-level keys whose values differ between
// before and after; an absent key and a null value are the same.
func changedKeys(before, after providers.Values) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keySet(before, after))) {
		if !sameValue(before[k], after[k]) {
			out = append(out, k)
		}
	}
	return out
}

func keySet(ms ...providers.Values) map[string]bool {
	s := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			s[k] = true
		}
	}
	return s
}

// show renders a value compactly for failure messages.
func show(v any) string {
	if hasUnknown(v) {
		return "(known after apply)"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// jsonProblems reports the values inside v that are not of the types the
// engine expects in inputs: string, bool, float64 or int, []any,
// map[string]any (and nil). Anything else (a []string, a struct, a
// map[string]string) changes type on a trip through a plan file, which makes
// the engine see a difference where there is none.
func jsonProblems(path string, v any) []string {
	if _, _, ok := providers.AsRef(v); ok {
		return nil
	}
	switch t := v.(type) {
	case nil, string, bool, float64, int, int64:
		return nil
	case map[string]any:
		var out []string
		for _, k := range slices.Sorted(maps.Keys(t)) {
			out = append(out, jsonProblems(path+"."+k, t[k])...)
		}
		return out
	case []any:
		var out []string
		for i, e := range t {
			out = append(out, jsonProblems(fmt.Sprintf("%s[%d]", path, i), e)...)
		}
		return out
	}
	return []string{fmt.Sprintf("%s has Go type %T; inputs hold only string, bool, int, float64, []any and map[string]any", path, v)}
}
