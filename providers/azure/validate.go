package azure

import (
	"context"
	"encoding/json"
	"fmt"
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

// vmSize is the node pool override naming an Azure VM size.
var vmSize = providers.MachineField{
	Key: "vmSize", Noun: "VM size", Unit: "size", Example: "Standard_D4s_v5", Driver: "Azure",
	GPUFix: "pick an NC size with enough GPUs", Catalog: machines,
}

// parseOverrides decodes spec.overrides.azure strictly: unknown keys,
// unknown node pools, VM sizes outside the catalog and malformed values are
// errors, each with a fix.
func parseOverrides(r *spec.Region) (overrides, diag.Diagnostics) {
	ov := overrides{NodePools: map[string]poolOverride{}}
	d := providers.NewOverrideDecoder(r)
	top, ok := d.Entry("azure", "Azure", overrideKeys, "write an object, e.g. {nodePools: {system: {vmSize: Standard_D4s_v5}}}")
	if !ok {
		return ov, d.Diagnostics()
	}
	const base = "spec.overrides.azure"
	stringAt := func(key, example string) (string, bool) {
		v, ok := top[key]
		if !ok {
			return "", false
		}
		return d.String(base+"."+key, v, fmt.Sprintf("write a string like %q", example))
	}
	if s, ok := stringAt("subscriptionId", SandboxSubscription); ok {
		if subscriptionRE.MatchString(s) {
			ov.SubscriptionID = strings.ToLower(s)
		} else {
			d.Errorf(base+".subscriptionId", "write the subscription's GUID, as `az account show --query id` prints it", "subscriptionId %q is not a subscription ID (a GUID)", s)
		}
	}
	if s, ok := stringAt("resourceGroup", "rg-platform"); ok {
		if groupRE.MatchString(s) && !strings.HasSuffix(s, ".") {
			ov.ResourceGroup = s
		} else {
			d.Errorf(base+".resourceGroup", "use 1–84 letters, digits, '-', '_', '.', '(' or ')', not ending in '.'", "resourceGroup %q is not a valid resource group name", s)
		}
	}
	if s, ok := stringAt("skuTier", "Standard"); ok {
		if slices.Contains(skuTiers, s) {
			ov.SKUTier = s
		} else {
			fix := providers.Suggest(s, skuTiers)
			if fix == "" {
				fix = "use Free, Standard or Premium"
			}
			d.Errorf(base+".skuTier", fix, "skuTier %q is not an AKS tier (Free, Standard, Premium)", s)
		}
	}
	if v, ok := top["authorizedIpRanges"]; ok {
		path := base + ".authorizedIpRanges"
		var list []string
		if err := json.Unmarshal(v, &list); err != nil {
			d.Errorf(path, `write a list of CIDRs, e.g. ["203.0.113.0/24"]`, "authorizedIpRanges must be a list of strings")
		} else {
			for i, s := range list {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					if a, aerr := netip.ParseAddr(s); aerr == nil && a.Is4() {
						p = netip.PrefixFrom(a, 32)
					} else {
						d.Errorf(fmt.Sprintf("%s[%d]", path, i), "write an IPv4 address or CIDR like 203.0.113.0/24", "%q is not an IPv4 CIDR", s)
						continue
					}
				}
				ov.AuthorizedIPRanges = append(ov.AuthorizedIPRanges, p.String())
			}
			if len(list) > 0 && r.Spec.Cluster.EndpointAccess == spec.EndpointPrivate {
				d.Errorf(path, "remove authorizedIpRanges, or set spec.cluster.endpointAccess to public", "authorizedIpRanges restrict a public API server, but spec.cluster.endpointAccess is private")
			}
		}
	}
	if raw, ok := top["nodePools"]; ok {
		for p := range d.NodePools(base+".nodePools", raw, poolOverrideKeys, "write an object, e.g. {vmSize: Standard_D4s_v5}") {
			name, ok := d.Machine(p, vmSize)
			if !ok {
				continue
			}
			ov.NodePools[p.Name] = poolOverride{VMSize: name}
		}
	}
	return ov, d.Diagnostics()
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
