package azure

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

// overrides is the Azure driver's entry in spec.overrides:
//
//	overrides:
//	  azure:
//	    subscriptionId: 00000000-0000-0000-0000-000000000000
//	    resourceGroup: rg-platform-weu
//	    skuTier: Standard
//	    authorizedIpRanges: [203.0.113.0/24]
//	    nodePools:
//	      <pool>:
//	        vmSize: Standard_D8s_v5
type overrides struct {
	SubscriptionID     string
	ResourceGroup      string
	SKUTier            string
	AuthorizedIPRanges []string
	NodePools          map[string]poolOverride
}

type poolOverride struct {
	VMSize string
}

var (
	overrideKeys     = []string{"authorizedIpRanges", "nodePools", "resourceGroup", "skuTier", "subscriptionId"}
	poolOverrideKeys = []string{"vmSize"}
	skuTiers         = []string{"Free", "Standard", "Premium"}
	subscriptionRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// groupRE is what Azure accepts as a resource group name, leaving room
	// for the "-nodes" suffix of the node resource group.
	groupRE = regexp.MustCompile(`^[-\w._()]{1,84}$`)
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

// parseOverrides decodes spec.overrides.azure strictly: unknown keys,
// unknown node pools, VM sizes outside the catalog and malformed values are
// errors, each with a fix.
func parseOverrides(r *spec.Region) (overrides, diag.Diagnostics) {
	ov := overrides{NodePools: map[string]poolOverride{}}
	var ds diag.Diagnostics
	raw, ok := r.Spec.Overrides["azure"]
	if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return ov, nil
	}
	errAt := func(path, fix, format string, args ...any) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path), Path: path, Summary: fmt.Sprintf(format, args...), Fix: fix})
	}
	const base = "spec.overrides.azure"
	top, ok := decodeObject(raw)
	if !ok {
		errAt(base, "write an object, e.g. {nodePools: {system: {vmSize: Standard_D4s_v5}}}", "spec.overrides.azure must be an object")
		return ov, ds
	}
	for _, k := range slices.Sorted(maps.Keys(top)) {
		if !slices.Contains(overrideKeys, k) {
			errAt(base+"."+k, didYouMean(k, overrideKeys), "unknown Azure override %q (known: %s)", k, strings.Join(overrideKeys, ", "))
		}
	}
	stringAt := func(key, example string) (string, bool) {
		v, ok := top[key]
		if !ok {
			return "", false
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errAt(base+"."+key, fmt.Sprintf("write a string like %q", example), "%s must be a string", key)
			return "", false
		}
		return s, true
	}
	if s, ok := stringAt("subscriptionId", SandboxSubscription); ok {
		if subscriptionRE.MatchString(s) {
			ov.SubscriptionID = strings.ToLower(s)
		} else {
			errAt(base+".subscriptionId", "write the subscription's GUID, as `az account show --query id` prints it", "subscriptionId %q is not a subscription ID (a GUID)", s)
		}
	}
	if s, ok := stringAt("resourceGroup", "rg-platform"); ok {
		if groupRE.MatchString(s) && !strings.HasSuffix(s, ".") {
			ov.ResourceGroup = s
		} else {
			errAt(base+".resourceGroup", "use 1–84 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'", "resourceGroup %q is not a valid resource group name", s)
		}
	}
	if s, ok := stringAt("skuTier", "Standard"); ok {
		if slices.Contains(skuTiers, s) {
			ov.SKUTier = s
		} else {
			fix := didYouMean(s, skuTiers)
			if fix == "" {
				fix = "use Free, Standard or Premium"
			}
			errAt(base+".skuTier", fix, "skuTier %q is not an AKS tier (Free, Standard, Premium)", s)
		}
	}
	if v, ok := top["authorizedIpRanges"]; ok {
		path := base + ".authorizedIpRanges"
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			errAt(path, `write a list of CIDRs, e.g. ["203.0.113.0/24"]`, "authorizedIpRanges must be a list of strings")
		} else {
			for i, s := range list {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					if a, aerr := netip.ParseAddr(s); aerr == nil && a.Is4() {
						p = netip.PrefixFrom(a, 32)
					} else {
						errAt(fmt.Sprintf("%s[%d]", path, i), "write an IPv4 address or CIDR like 203.0.113.0/24", "%q is not an IPv4 CIDR", s)
						continue
					}
				}
				ov.AuthorizedIPRanges = append(ov.AuthorizedIPRanges, p.String())
			}
			if len(list) > 0 && r.Spec.Cluster.EndpointAccess == spec.EndpointPrivate {
				errAt(path, "remove authorizedIpRanges, or set spec.cluster.endpointAccess to public", "authorizedIpRanges restrict a public API server, but spec.cluster.endpointAccess is private")
			}
		}
	}
	rawPools, ok := top["nodePools"]
	if !ok {
		return ov, ds
	}
	pools, ok := decodeObject(rawPools)
	if !ok {
		errAt(base+".nodePools", "write an object keyed by node pool name", "spec.overrides.azure.nodePools must be an object")
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
			errAt(path, "write an object, e.g. {vmSize: Standard_D4s_v5}", "%s must be an object", path)
			continue
		}
		var po poolOverride
		for _, k := range slices.Sorted(maps.Keys(fields)) {
			if !slices.Contains(poolOverrideKeys, k) {
				errAt(path+"."+k, didYouMean(k, poolOverrideKeys), "unknown node pool override %q (known: %s)", k, strings.Join(poolOverrideKeys, ", "))
			}
		}
		if v, ok := fields["vmSize"]; ok {
			vpath := path + ".vmSize"
			if err := json.Unmarshal(v, &po.VMSize); err != nil {
				errAt(vpath, `write a string like "Standard_D4s_v5"`, "vmSize must be a string")
				continue
			}
			mt, known := machineByName(po.VMSize)
			if !known {
				fix := didYouMean(po.VMSize, catalog)
				if fix == "" {
					fix = "use one of the catalog's sizes (regionctl drivers --json lists them)"
				}
				errAt(vpath, fix, "VM size %q is not in the Azure driver's catalog", po.VMSize)
				continue
			}
			pool := r.Spec.Cluster.NodePools[idx]
			arch := pool.Machine.Arch
			if arch == "" {
				arch = spec.ArchAMD64
			}
			switch {
			case mt.Arch != arch:
				errAt(vpath, fmt.Sprintf("pick an %s size, or set spec.cluster.nodePools[%d].machine.arch: %s", arch, idx, mt.Arch),
					"VM size %s is %s but node pool %q asks for %s", mt.Name, mt.Arch, name, arch)
			case mt.GPU < pool.Machine.GPU:
				errAt(vpath, "pick an NC size with enough GPUs", "VM size %s has %d GPU(s) but node pool %q asks for %d", mt.Name, mt.GPU, name, pool.Machine.GPU)
			case mt.CPU < pool.Machine.CPU || mt.MemoryGiB < float64(pool.Machine.MemoryGiB):
				ds = append(ds, diag.Diagnostic{Severity: diag.Warning, Pos: r.Pos(vpath), Path: vpath,
					Summary: fmt.Sprintf("VM size %s (%d vCPU, %g GiB) is smaller than node pool %q's machine (%d CPU, %d GiB)", mt.Name, mt.CPU, mt.MemoryGiB, name, pool.Machine.CPU, pool.Machine.MemoryGiB)})
			}
		}
		ov.NodePools[name] = po
	}
	return ov, ds
}

// Validate checks what Capabilities cannot express: the Azure overrides,
// the network CIDR, the first pool's fitness as the AKS System pool, and
// the taints. It makes no cloud call.
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
		if !strings.HasPrefix(x.Path, "spec.overrides.azure") { // parseOverrides reported those
			ds = append(ds, x)
		}
	}
	ds.Sort()
	return ds
}
