package aws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// overrides is the AWS driver's entry in spec.overrides:
//
//	overrides:
//	  aws:
//	    nodePools:
//	      <pool>:
//	        instanceType: m7i.2xlarge
type overrides struct {
	NodePools map[string]poolOverride
}

type poolOverride struct {
	InstanceType string
}

var (
	overrideKeys     = []string{"nodePools"}
	poolOverrideKeys = []string{"instanceType"}
)

func didYouMean(got string, candidates []string) string {
	if s, ok := spec.DidYouMean(got, candidates); ok {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}

// decodeObject decodes raw as a JSON object, keeping member order.
func decodeObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, false
	}
	return m, true
}

// parseOverrides decodes spec.overrides.aws strictly: unknown keys, unknown
// node pools and instance types outside the catalog are errors.
func parseOverrides(r *spec.Region) (overrides, diag.Diagnostics) {
	ov := overrides{NodePools: map[string]poolOverride{}}
	var ds diag.Diagnostics
	raw, ok := r.Spec.Overrides["aws"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return ov, nil
	}
	errAt := func(path, fix, format string, args ...any) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path), Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
	}
	const base = "spec.overrides.aws"
	top, ok := decodeObject(raw)
	if !ok {
		errAt(base, "write an object, e.g. {nodePools: {system: {instanceType: m7i.xlarge}}}", "spec.overrides.aws must be an object")
		return ov, ds
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(overrideKeys, k) {
			errAt(base+"."+k, didYouMean(k, overrideKeys), "unknown AWS override %q (known: %s)", k, strings.Join(overrideKeys, ", "))
		}
	}
	rawPools, ok := top["nodePools"]
	if !ok {
		return ov, ds
	}
	pools, ok := decodeObject(rawPools)
	if !ok {
		errAt(base+".nodePools", "write an object keyed by node pool name", "spec.overrides.aws.nodePools must be an object")
		return ov, ds
	}
	var poolNames []string
	for _, p := range r.Spec.Cluster.NodePools {
		poolNames = append(poolNames, p.Name)
	}
	var catalog []string
	for _, m := range machines {
		catalog = append(catalog, m.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		path := base + ".nodePools." + name
		idx := slices.Index(poolNames, name)
		if idx < 0 {
			errAt(path, didYouMean(name, poolNames), "node pool %q does not exist (pools: %s)", name, strings.Join(poolNames, ", "))
			continue
		}
		fields, ok := decodeObject(pools[name])
		if !ok {
			errAt(path, "write an object, e.g. {instanceType: m7i.xlarge}", "%s must be an object", path)
			continue
		}
		var po poolOverride
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if !slices.Contains(poolOverrideKeys, k) {
				errAt(path+"."+k, didYouMean(k, poolOverrideKeys), "unknown node pool override %q (known: %s)", k, strings.Join(poolOverrideKeys, ", "))
			}
		}
		if v, ok := fields["instanceType"]; ok {
			ipath := path + ".instanceType"
			if err := json.Unmarshal(v, &po.InstanceType); err != nil {
				errAt(ipath, `write a string like "m7i.xlarge"`, "instanceType must be a string")
				continue
			}
			mt, known := machineByName(po.InstanceType)
			if !known {
				fix := didYouMean(po.InstanceType, catalog)
				if fix == "" {
					fix = "use one of the catalog's types (regionctl drivers --json lists them)"
				}
				errAt(ipath, fix, "instance type %q is not in the AWS driver's catalog", po.InstanceType)
				continue
			}
			pool := r.Spec.Cluster.NodePools[idx]
			arch := pool.Machine.Arch
			if arch == "" {
				arch = spec.ArchAMD64
			}
			switch {
			case mt.Arch != arch:
				errAt(ipath, fmt.Sprintf("pick an %s type, or set spec.cluster.nodePools[%d].machine.arch: %s", arch, idx, mt.Arch),
					"instance type %s is %s but node pool %q asks for %s", mt.Name, mt.Arch, name, arch)
			case mt.GPU < pool.Machine.GPU:
				errAt(ipath, "pick a g5 or g6 type with enough GPUs", "instance type %s has %d GPU(s) but node pool %q asks for %d", mt.Name, mt.GPU, name, pool.Machine.GPU)
			case mt.CPU < pool.Machine.CPU || mt.MemoryGiB < float64(pool.Machine.MemoryGiB):
				ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Pos: r.Pos(ipath), Path: ipath,
					Summary: fmt.Sprintf("instance type %s (%d vCPU, %g GiB) is smaller than node pool %q's machine (%d CPU, %d GiB)", mt.Name, mt.CPU, mt.MemoryGiB, name, pool.Machine.CPU, pool.Machine.MemoryGiB)})
			}
		}
		ov.NodePools[name] = po
	}
	return ov, ds
}

// Validate checks what Capabilities cannot express: the AWS overrides, the
// network CIDR (carvable into a private and a public subnet per zone), that
// EKS gets at least two zones, and the taints. It makes no cloud call.
//
// Kubernetes upgrades of more than one minor are refused by Update, not
// here: Validate sees the spec but not the cluster's current version.
func (d *Driver) Validate(ctx context.Context, r *spec.Region) diag.Diagnostics {
	_, ds := parseOverrides(r)
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: r})
	if err != nil {
		ds = ds.Errorf(r.Pos("spec"), "spec", "%v", err)
	}
	for _, x := range resp.Diagnostics {
		if !strings.HasPrefix(x.Path, "spec.overrides.aws") { // parseOverrides reported those
			ds = append(ds, x)
		}
	}
	ds.Sort()
	return ds
}
