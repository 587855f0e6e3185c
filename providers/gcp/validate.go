package gcp

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

// overrides is the GCP driver's entry in spec.overrides:
//
//	overrides:
//	  gcp:
//	    project: my-project              # else the ADC project
//	    releaseChannel: stable           # rapid, regular (default), stable, extended
//	    masterAuthorizedNetworks:        # who may reach the API server
//	      - 203.0.113.0/24
//	    securityGroup: gke-security-groups@example.com  # Google Groups for RBAC
//	    nodePools:
//	      <pool>:
//	        machineType: n2-standard-8
type overrides struct {
	Project                  string
	ReleaseChannel           string
	MasterAuthorizedNetworks []string
	// SecurityGroup turns on Google Groups for RBAC (spec.access group:
	// principals need it).
	SecurityGroup string
	NodePools     map[string]poolOverride
}

type poolOverride struct {
	MachineType string
}

var (
	overrideKeys     = []string{"masterAuthorizedNetworks", "nodePools", "project", "releaseChannel", "securityGroup"}
	poolOverrideKeys = []string{"machineType"}
	// projectID is a GCP project ID: 6 to 30 lowercase letters, digits and
	// hyphens, starting with a letter, not ending with a hyphen.
	projectID = regexp.MustCompile(`^[a-z][a-z0-9-]{4,28}[a-z0-9]$`)
)

// machineType is the node pool override naming a Compute Engine machine type.
var machineType = providers.MachineField{
	Key: "machineType", Noun: "machine type", Unit: "type", Example: "e2-standard-4", Driver: "GCP",
	GPUFix: "pick a g2 or a2 type with enough GPUs", Catalog: Machines(),
}

// parseOverrides decodes spec.overrides.gcp strictly: unknown keys,
// unknown node pools, machine types outside the catalog, malformed
// project IDs and CIDRs are errors, with a did-you-mean where one helps.
func parseOverrides(r *spec.Region) (overrides, diag.Diagnostics) {
	ov := overrides{NodePools: map[string]poolOverride{}}
	d := providers.NewOverrideDecoder(r)
	top, ok := d.Entry("gcp", "GCP", overrideKeys, "write an object, e.g. {project: my-project, nodePools: {system: {machineType: e2-standard-4}}}")
	if !ok {
		return ov, d.Diagnostics()
	}
	const base = "spec.overrides.gcp"
	if v, ok := top["project"]; ok {
		path := base + ".project"
		switch err := json.Unmarshal(v, &ov.Project); {
		case err != nil:
			d.Errorf(path, `write the project ID as a string, e.g. "my-project-123"`, "project must be a string")
		case !projectID.MatchString(ov.Project):
			d.Errorf(path, "a project ID is 6-30 lowercase letters, digits and '-', starting with a letter (the ID, not the display name or number)",
				"%q is not a GCP project ID", ov.Project)
			ov.Project = ""
		}
	}
	if v, ok := top["releaseChannel"]; ok {
		path := base + ".releaseChannel"
		if err := json.Unmarshal(v, &ov.ReleaseChannel); err != nil {
			d.Errorf(path, "write one of "+strings.Join(releaseChannels, ", "), "releaseChannel must be a string")
		} else if !slices.Contains(releaseChannels, ov.ReleaseChannel) {
			fix := providers.Suggest(strings.ToLower(ov.ReleaseChannel), releaseChannels)
			if fix == "" {
				fix = "use one of " + strings.Join(releaseChannels, ", ")
			}
			d.Errorf(path, fix, "unknown GKE release channel %q", ov.ReleaseChannel)
			ov.ReleaseChannel = ""
		}
	}
	if v, ok := top["masterAuthorizedNetworks"]; ok {
		path := base + ".masterAuthorizedNetworks"
		var cidrs []string
		if err := json.Unmarshal(v, &cidrs); err != nil {
			d.Errorf(path, `write a list of CIDRs, e.g. ["203.0.113.0/24"]`, "masterAuthorizedNetworks must be a list of strings")
		} else {
			for i, c := range cidrs {
				p, err := netip.ParsePrefix(c)
				switch {
				case err != nil || !p.Addr().Is4():
					d.Errorf(fmt.Sprintf("%s[%d]", path, i), "write an IPv4 CIDR like 203.0.113.0/24", "%q is not an IPv4 CIDR", c)
				case p.Masked() != p:
					d.Errorf(fmt.Sprintf("%s[%d]", path, i), fmt.Sprintf("did you mean %s?", p.Masked()), "%s has host bits set", c)
				default:
					ov.MasterAuthorizedNetworks = append(ov.MasterAuthorizedNetworks, c)
				}
			}
			if len(cidrs) > 50 {
				d.Errorf(path, "list at most 50 ranges (GKE's limit with a public endpoint)", "%d authorized networks", len(cidrs))
			}
		}
	}
	if v, ok := top["securityGroup"]; ok {
		path := base + ".securityGroup"
		if err := json.Unmarshal(v, &ov.SecurityGroup); err != nil {
			d.Errorf(path, "write the group's email, e.g. gke-security-groups@example.com", "securityGroup must be a string")
		} else if problem, fix := checkSecurityGroup(ov.SecurityGroup); problem != "" {
			d.Errorf(path, fix, "%s", problem)
			ov.SecurityGroup = ""
		}
	}
	if raw, ok := top["nodePools"]; ok {
		for p := range d.NodePools(base+".nodePools", raw, poolOverrideKeys, "write an object, e.g. {machineType: e2-standard-4}") {
			name, ok := d.Machine(p, machineType)
			if !ok {
				continue
			}
			ov.NodePools[p.Name] = poolOverride{MachineType: name}
		}
	}
	return ov, d.Diagnostics()
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
