package aws

import (
	"context"
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

// instanceType is the node pool override naming an EC2 instance type.
var instanceType = providers.MachineField{
	Key: "instanceType", Noun: "instance type", Unit: "type", Example: "m7i.xlarge", Driver: "AWS",
	GPUFix: "pick a g5 or g6 type with enough GPUs", Catalog: machines,
}

// parseOverrides decodes spec.overrides.aws strictly: unknown keys, unknown
// node pools and instance types outside the catalog are errors.
func parseOverrides(r *spec.Region) (overrides, diag.Diagnostics) {
	ov := overrides{NodePools: map[string]poolOverride{}}
	d := providers.NewOverrideDecoder(r)
	top, ok := d.Entry("aws", "AWS", overrideKeys, "write an object, e.g. {nodePools: {system: {instanceType: m7i.xlarge}}}")
	if !ok {
		return ov, d.Diagnostics()
	}
	if raw, ok := top["nodePools"]; ok {
		for p := range d.NodePools("spec.overrides.aws.nodePools", raw, poolOverrideKeys, "write an object, e.g. {instanceType: m7i.xlarge}") {
			name, ok := d.Machine(p, instanceType)
			if !ok {
				continue
			}
			ov.NodePools[p.Name] = poolOverride{InstanceType: name}
		}
	}
	return ov, d.Diagnostics()
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
