package providers

import (
	"fmt"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// NotMapped names the neutral spec fields a driver does not map (yet). A
// region that sets one is refused at plan time, naming the field, rather
// than applied without it: a plan never promises what the driver will
// not do. A driver calls Check from Expand.
type NotMapped struct {
	// Driver names the driver in messages ("gcp").
	Driver string
	// Access is spec.access; WorkloadIdentity spec.cluster.workloadIdentity;
	// NodeOptions the node pools' disk, maxPods and os when they differ
	// from the defaults.
	Access, WorkloadIdentity, NodeOptions bool
}

// Check returns an error per field of r the driver does not map.
func (n NotMapped) Check(r *spec.Region) diag.Diagnostics {
	var ds diag.Diagnostics
	refuse := func(path, what string) {
		ds = append(ds, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path), Path: path,
			Summary: fmt.Sprintf("the %s driver does not map %s yet", n.Driver, what),
			Fix:     "remove it for this region; regionctl will not apply a region without something its spec asks for"})
	}
	if n.Access && (len(r.Spec.Access.Admins) > 0 || len(r.Spec.Access.Viewers) > 0) {
		refuse("spec.access", "access (admins, viewers)")
	}
	if n.WorkloadIdentity && r.Spec.Cluster.WorkloadIdentity {
		refuse("spec.cluster.workloadIdentity", "workloadIdentity")
	}
	if !n.NodeOptions {
		return ds
	}
	for i, p := range r.Spec.Cluster.NodePools {
		path := fmt.Sprintf("spec.cluster.nodePools[%d]", i)
		if p.Disk != (spec.Disk{}) {
			refuse(path+".disk", "a node pool's disk")
		}
		if p.MaxPods != 0 {
			refuse(path+".maxPods", "a node pool's maxPods")
		}
		if (p.OS.Family != "" && p.OS.Family != spec.DefaultOSFamily) || (p.OS.Image != "" && p.OS.Image != spec.DefaultOSImage) {
			refuse(path+".os", "a node pool's os other than {family: linux, image: default}")
		}
	}
	return ds
}
