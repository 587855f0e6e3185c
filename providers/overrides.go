package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// OverrideDecoder decodes a driver's entry in spec.overrides strictly and
// collects diagnostics rather than stopping at the first: values of the
// wrong shape, unknown keys (with a did-you-mean), node pools the spec does
// not declare and machine types outside the driver's catalog. Every
// diagnostic carries the field path and the source position r.Pos(path).
//
// A driver's parser is typically:
//
//	d := providers.NewOverrideDecoder(r)
//	top, ok := d.Entry("aws", "AWS", []string{"nodePools"}, "write an object, e.g. ...")
//	if !ok {
//		return ov, d.Diagnostics()
//	}
//	// ... driver-specific top-level keys, using d.String and d.Errorf ...
//	if raw, ok := top["nodePools"]; ok {
//		for p := range d.NodePools("spec.overrides.aws.nodePools", raw, poolKeys, "write an object, e.g. ...") {
//			// ... p.Fields, d.Machine(p, field) ...
//		}
//	}
//	return ov, d.Diagnostics()
type OverrideDecoder struct {
	r  *spec.Region
	ds diag.Diagnostics
}

// NewOverrideDecoder returns a decoder reporting against r's source map.
func NewOverrideDecoder(r *spec.Region) *OverrideDecoder { return &OverrideDecoder{r: r} }

// Diagnostics returns what the decoder has reported so far, in report order.
func (d *OverrideDecoder) Diagnostics() diag.Diagnostics { return d.ds }

// Errorf reports an error at path with a fix ("" when none is known).
func (d *OverrideDecoder) Errorf(path, fix, format string, args ...any) {
	d.ds = append(d.ds, diag.Diagnostic{Severity: diag.Error, Pos: d.r.Pos(path), Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
}

// Warnf reports a warning at path.
func (d *OverrideDecoder) Warnf(path, format string, args ...any) {
	d.ds = append(d.ds, diag.Diagnostic{Severity: diag.Warning, Pos: d.r.Pos(path), Path: path, Summary: fmt.Sprintf(format, args...)})
}

// Suggest returns `did you mean "x"?` for the candidate closest to got
// (see spec.DidYouMean), or "" when none is close.
func Suggest(got string, candidates []string) string {
	if s, ok := spec.DidYouMean(got, candidates); ok {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}

// Entry decodes spec.overrides.<cloud> as an object and reports each key
// not in keys as "unknown <driver> override". ok is false when the entry
// is absent or null (nothing reported) or not an object (reported at
// spec.overrides.<cloud> with fix); the caller then has nothing to decode.
func (d *OverrideDecoder) Entry(cloud, driver string, keys []string, fix string) (map[string]json.RawMessage, bool) {
	raw, ok := d.r.Spec.Overrides[cloud]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, false
	}
	base := "spec.overrides." + cloud
	top, ok := d.Object(base, raw, fix)
	if !ok {
		return nil, false
	}
	d.Keys(base, top, keys, driver+" override")
	return top, true
}

// Object decodes raw as a JSON object. When raw is anything else it reports
// "<path> must be an object" with fix and returns false.
func (d *OverrideDecoder) Object(path string, raw json.RawMessage, fix string) (map[string]json.RawMessage, bool) {
	var m map[string]json.RawMessage
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' || json.Unmarshal(raw, &m) != nil {
		d.Errorf(path, fix, "%s must be an object", path)
		return nil, false
	}
	return m, true
}

// Keys reports, in sorted order, each key of obj not in allowed as
// `unknown <what> "key" (known: ...)` at path.key, with a did-you-mean.
func (d *OverrideDecoder) Keys(path string, obj map[string]json.RawMessage, allowed []string, what string) {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(allowed, k) {
			d.Errorf(path+"."+k, Suggest(k, allowed), "unknown %s %q (known: %s)", what, k, strings.Join(allowed, ", "))
		}
	}
}

// String decodes raw as a string. When raw is anything else it reports
// "<key> must be a string" at path, key being path's last element, with fix.
func (d *OverrideDecoder) String(path string, raw json.RawMessage, fix string) (string, bool) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		d.Errorf(path, fix, "%s must be a string", path[strings.LastIndexByte(path, '.')+1:])
		return "", false
	}
	return s, true
}

// PoolOverride is one entry of an overrides' nodePools object that names a
// node pool of spec.cluster.nodePools.
type PoolOverride struct {
	Name   string                     // the pool's name, the entry's key
	Index  int                        // the pool's index in spec.cluster.nodePools
	Path   string                     // the entry's path, "<nodePools path>.<name>"
	Fields map[string]json.RawMessage // the entry's members, all among the allowed keys or reported
}

// NodePools decodes raw, found at path, as an object keyed by node pool
// name and yields, in name order, the entries that name an existing pool
// and are objects. It reports, as it goes, a raw that is not an object, a
// name the spec does not declare (with a did-you-mean), an entry that is
// not an object (with fix) and keys not in keys ("unknown node pool
// override"). Entries with unknown keys are still yielded.
func (d *OverrideDecoder) NodePools(path string, raw json.RawMessage, keys []string, fix string) iter.Seq[PoolOverride] {
	return func(yield func(PoolOverride) bool) {
		pools, ok := d.Object(path, raw, "write an object keyed by node pool name")
		if !ok {
			return
		}
		var names []string
		for _, p := range d.r.Spec.Cluster.NodePools {
			names = append(names, p.Name)
		}
		for _, name := range slices.Sorted(maps.Keys(pools)) {
			ppath := path + "." + name
			idx := slices.Index(names, name)
			if idx < 0 {
				d.Errorf(ppath, Suggest(name, names), "node pool %q does not exist (pools: %s)", name, strings.Join(names, ", "))
				continue
			}
			fields, ok := d.Object(ppath, pools[name], fix)
			if !ok {
				continue
			}
			d.Keys(ppath, fields, keys, "node pool override")
			if !yield(PoolOverride{Name: name, Index: idx, Path: ppath, Fields: fields}) {
				return
			}
		}
	}
}

// MachineField describes a node pool override key naming a machine type of
// the driver's catalog, and the words its diagnostics use.
type MachineField struct {
	Key     string        // e.g. "instanceType"
	Noun    string        // e.g. "instance type", as in `instance type "x" is not in ...`
	Unit    string        // "type" or "size", as in "pick an arm64 type"
	Example string        // a valid name, for the fix of a non-string
	Driver  string        // e.g. "AWS", as in "the AWS driver's catalog"
	GPUFix  string        // the fix when the type has fewer GPUs than the pool asks for
	Catalog []MachineType // the driver's catalog
}

// Machine checks p.Fields[f.Key] against f.Catalog and the pool's machine:
// not a string or not in the catalog (with a did-you-mean) is an error and
// ok is false; the wrong architecture or too few GPUs is an error, a type
// smaller than the pool's CPU or memory a warning, and ok stays true.
// When the key is absent it returns "", true.
func (d *OverrideDecoder) Machine(p PoolOverride, f MachineField) (name string, ok bool) {
	v, present := p.Fields[f.Key]
	if !present {
		return "", true
	}
	path := p.Path + "." + f.Key
	name, ok = d.String(path, v, fmt.Sprintf("write a string like %q", f.Example))
	if !ok {
		return "", false
	}
	i := slices.IndexFunc(f.Catalog, func(m MachineType) bool { return m.Name == name })
	if i < 0 {
		var names []string
		for _, m := range f.Catalog {
			names = append(names, m.Name)
		}
		fix := Suggest(name, names)
		if fix == "" {
			fix = fmt.Sprintf("use one of the catalog's %ss (regionctl drivers --json lists them)", f.Unit)
		}
		d.Errorf(path, fix, "%s %q is not in the %s driver's catalog", f.Noun, name, f.Driver)
		return name, false
	}
	mt := f.Catalog[i]
	want := d.r.Spec.Cluster.NodePools[p.Index].Machine
	arch := want.Arch
	if arch == "" {
		arch = spec.ArchAMD64
	}
	switch {
	case mt.Arch != arch:
		d.Errorf(path, fmt.Sprintf("pick an %s %s, or set spec.cluster.nodePools[%d].machine.arch: %s", arch, f.Unit, p.Index, mt.Arch),
			"%s %s is %s but node pool %q asks for %s", f.Noun, mt.Name, mt.Arch, p.Name, arch)
	case mt.GPU < want.GPU:
		d.Errorf(path, f.GPUFix, "%s %s has %d GPU(s) but node pool %q asks for %d", f.Noun, mt.Name, mt.GPU, p.Name, want.GPU)
	case mt.CPU < want.CPU || mt.MemoryGiB < float64(want.MemoryGiB):
		d.Warnf(path, "%s %s (%d vCPU, %g GiB) is smaller than node pool %q's machine (%d CPU, %d GiB)",
			f.Noun, mt.Name, mt.CPU, mt.MemoryGiB, p.Name, want.CPU, want.MemoryGiB)
	}
	return name, true
}
