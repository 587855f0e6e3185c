package gcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// overrides is the GCP driver's entry in spec.overrides:
//
//	overrides:
//	  gcp:
//	    project: my-project              # else the ADC project
//	    releaseChannel: stable           # rapid, regular (default), stable, extended
//	    masterAuthorizedNetworks:        # who may reach the API server
//	      - 203.0.113.0/24
//	    nodePools:
//	      <pool>:
//	        machineType: n2-standard-8
type overrides struct {
	Project                  string
	ReleaseChannel           string
	MasterAuthorizedNetworks []string
	NodePools                map[string]poolOverride
}

type poolOverride struct {
	MachineType string
}

var (
	overrideKeys     = []string{"masterAuthorizedNetworks", "nodePools", "project", "releaseChannel"}
	poolOverrideKeys = []string{"machineType"}
	// projectID is a GCP project ID: 6 to 30 lowercase letters, digits and
	// hyphens, starting with a letter, not ending with a hyphen.
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
)

func didYouMean(got string, candidates []string) string {
	if s, ok := spec.DidYouMean(got, candidates); ok {
		return fmt.Sprintf("did you mean %q?", s)
	}
	return ""
}

// decodeObject decodes raw as a JSON object.
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

// parseOverrides decodes spec.overrides.gcp strictly: unknown keys,
// unknown node pools, machine types outside the catalog, malformed
// project IDs and CIDRs are errors, with a did-you-mean where one helps.
func parseOverrides(r *spec.Region) (overrides, diag.Diagnostics) {
	ov := overrides{NodePools: map[string]poolOverride{}}
	var ds diag.Diagnostics
	raw, ok := r.Spec.Overrides["gcp"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return ov, nil
	}
	errAt := func(path, fix, format string, args ...any) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path), Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
	}
	const base = "spec.overrides.gcp"
	top, ok := decodeObject(raw)
	if !ok {
		errAt(base, "write an object, e.g. {project: my-project, nodePools: {system: {machineType: e2-standard-4}}}", "spec.overrides.gcp must be an object")
		return ov, ds
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(overrideKeys, k) {
			errAt(base+"."+k, didYouMean(k, overrideKeys), "unknown GCP override %q (known: %s)", k, strings.Join(overrideKeys, ", "))
		}
	}
	if v, ok := top["project"]; ok {
		path := base + ".project"
		switch err := json.Unmarshal(v, &ov.Project); {
		case err != nil:
			errAt(path, `write the project ID as a string, e.g. "my-project-123"`, "project must be a string")
		case !projectID.MatchString(ov.Project):
			errAt(path, "a project ID is 6-30 lowercase letters, digits and '-', starting with a letter (the ID, not the display name or number)",
				"%q is not a GCP project ID", ov.Project)
			ov.Project = ""
		}
	}
	if v, ok := top["releaseChannel"]; ok {
		path := base + ".releaseChannel"
		if err := json.Unmarshal(v, &ov.ReleaseChannel); err != nil {
			errAt(path, "write one of "+strings.Join(releaseChannels, ", "), "releaseChannel must be a string")
		} else if !slices.Contains(releaseChannels, ov.ReleaseChannel) {
			fix := didYouMean(strings.ToLower(ov.ReleaseChannel), releaseChannels)
			if fix == "" {
				fix = "use one of " + strings.Join(releaseChannels, ", ")
			}
			errAt(path, fix, "unknown GKE release channel %q", ov.ReleaseChannel)
			ov.ReleaseChannel = ""
		}
	}
	if v, ok := top["masterAuthorizedNetworks"]; ok {
		path := base + ".masterAuthorizedNetworks"
		var cidrs []string
		if err := json.Unmarshal(v, &cidrs); err != nil {
			errAt(path, `write a list of CIDRs, e.g. ["203.0.113.0/24"]`, "masterAuthorizedNetworks must be a list of strings")
		} else {
			for i, c := range cidrs {
				p, err := netip.ParsePrefix(c)
				switch {
				case err != nil || !p.Addr().Is4():
					errAt(fmt.Sprintf("%s[%d]", path, i), "write an IPv4 CIDR like 203.0.113.0/24", "%q is not an IPv4 CIDR", c)
				case p.Masked() != p:
					errAt(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("did you mean %s?", p.Masked()), "%s has host bits set", c)
				default:
					ov.MasterAuthorizedNetworks = append(ov.MasterAuthorizedNetworks, c)
				}
			}
			if len(cidrs) > 50 {
				errAt(path, "list at most 50 ranges (GKE's limit with a public endpoint)", "%d authorized networks", len(cidrs))
			}
		}
	}
	rawPools, ok := top["nodePools"]
	if !ok {
		return ov, ds
	}
	pools, ok := decodeObject(rawPools)
	if !ok {
		errAt(base+".nodePools", "write an object keyed by node pool name", "spec.overrides.gcp.nodePools must be an object")
		return ov, ds
	}
	var poolNames []string
	for _, p := range r.Spec.Cluster.NodePools {
		poolNames = append(poolNames, p.Name)
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
			errAt(path, "write an object, e.g. {machineType: e2-standard-4}", "%s must be an object", path)
			continue
		}
		var po poolOverride
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if !slices.Contains(poolOverrideKeys, k) {
				errAt(path+"."+k, didYouMean(k, poolOverrideKeys), "unknown node pool override %q (known: %s)", k, strings.Join(poolOverrideKeys, ", "))
			}
		}
		if v, ok := fields["machineType"]; ok {
			mpath := path + ".machineType"
			if err := json.Unmarshal(v, &po.MachineType); err != nil {
				errAt(mpath, `write a string like "e2-standard-4"`, "machineType must be a string")
				continue
			}
			mt, known := machineByName(po.MachineType)
			if !known {
				fix := didYouMean(po.MachineType, catalogNames())
				if fix == "" {
					fix = "use one of the catalog's types (regionctl drivers --json lists them)"
				}
				errAt(mpath, fix, "machine type %q is not in the GCP driver's catalog", po.MachineType)
				continue
			}
			pool := r.Spec.Cluster.NodePools[idx]
			arch := pool.Machine.Arch
			if arch == "" {
				arch = spec.ArchAMD64
			}
			switch {
			case mt.Arch != arch:
				errAt(mpath, fmt.Sprintf("pick an %s type, or set spec.cluster.nodePools[%d].machine.arch: %s", arch, idx, mt.Arch),
					"machine type %s is %s but node pool %q asks for %s", mt.Name, mt.Arch, name, arch)
			case mt.GPU < pool.Machine.GPU:
				errAt(mpath, "pick a g2 or a2 type with enough GPUs", "machine type %s has %d GPU(s) but node pool %q asks for %d", mt.Name, mt.GPU, name, pool.Machine.GPU)
			case mt.CPU < pool.Machine.CPU || mt.MemoryGiB < float64(pool.Machine.MemoryGiB):
				ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Pos: r.Pos(mpath), Path: mpath,
					Summary: fmt.Sprintf("machine type %s (%d vCPU, %g GiB) is smaller than node pool %q's machine (%d CPU, %d GiB)", mt.Name, mt.CPU, mt.MemoryGiB, name, pool.Machine.CPU, pool.Machine.MemoryGiB)})
			}
		}
		ov.NodePools[name] = po
	}
	return ov, ds
}

// Validate checks what Capabilities cannot express: the GCP overrides, the
// network CIDR (carvable for GKE), the taints, and warns when a pool's
// total min or max is rounded up to a multiple of the zone count. It
// makes no cloud call. A missing project is a warning here (ADC may name
// one where the plan runs) and an error at plan time.
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
		switch {
		case strings.HasPrefix(x.Path, "spec.overrides.gcp") && x.Path != "spec.overrides.gcp.project":
			// parseOverrides reported those
		case x.Path == "spec.overrides.gcp.project":
			x.Severity = diag.Warning
			ds = append(ds, x)
		default:
			ds = append(ds, x)
		}
	}
	zones := r.Spec.Zones
	if zones <= 0 {
		zones = spec.DefaultZones
	}
	for i, p := range r.Spec.Cluster.NodePools {
		if _, _, note := PerZone(p.Name, p.Min, p.Max, zones); note != "" {
			path := fmt.Sprintf("spec.cluster.nodePools[%d].min", i)
			if p.Min%zones == 0 {
				path = fmt.Sprintf("spec.cluster.nodePools[%d].max", i)
			}
			ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Pos: r.Pos(path), Path: path, Summary: note,
				Fix: fmt.Sprintf("use multiples of %d (the zone count)", zones)})
		}
	}
	ds.Sort()
	return ds
}
