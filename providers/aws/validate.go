package aws

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// overrides is the AWS driver's entry in spec.overrides:
//
//	overrides:
//	  aws:
//	    assumeRole:                # per-region credentials (account.go)
//	      roleArn: arn:aws:iam::210987654321:role/regionctl
//	      externalId: fleet-prod   # when the role's trust policy asks for one
//	      sessionName: ci          # default: regionctl
//	    accountId: "210987654321"  # refuse to act in any other account
//	    nodePools:
//	      <pool>:
//	        instanceType: m7i.2xlarge
type overrides struct {
	NodePools map[string]poolOverride
	// Connection is the region's role and account (account.go).
	Connection connection
}

type poolOverride struct {
	InstanceType string
}

var (
	overrideKeys     = []string{"accountId", "assumeRole", "nodePools"}
	assumeRoleKeys   = []string{"externalId", "roleArn", "sessionName"}
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
	parseConnection(d, top, &ov.Connection)
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

// parseConnection decodes assumeRole and accountId.
func parseConnection(d *providers.OverrideDecoder, top map[string]json.RawMessage, c *connection) {
	const base = "spec.overrides.aws."
	if raw, ok := top["accountId"]; ok {
		if id, ok := d.String(base+"accountId", raw, `write the 12-digit account id, quoted: accountId: "210987654321"`); ok {
			if accountIDPattern.MatchString(id) {
				c.AccountID = &id
			} else {
				d.Errorf(base+"accountId", `write the 12-digit account id, quoted: accountId: "210987654321"`, "%q is not an AWS account id", id)
			}
		}
	}
	raw, ok := top["assumeRole"]
	if !ok {
		return
	}
	fix := "write an object, e.g. {roleArn: arn:aws:iam::210987654321:role/regionctl}"
	obj, ok := d.Object(base+"assumeRole", raw, fix)
	if !ok {
		return
	}
	d.Keys(base+"assumeRole", obj, assumeRoleKeys, "assumeRole key")
	r := &assumeRole{}
	field := func(key string, re *regexp.Regexp, what string) string {
		v, present := obj[key]
		if !present {
			return ""
		}
		s, ok := d.String(base+"assumeRole."+key, v, "write a string")
		if ok && !re.MatchString(s) {
			d.Errorf(base+"assumeRole."+key, what, "%q is not valid here", s)
			return ""
		}
		return s
	}
	r.RoleARN = field("roleArn", roleARNPattern, "write an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME")
	r.ExternalID = field("externalId", externalIDPattern, "use letters, digits and + = , . @ : / - (2 to 1224 characters)")
	r.SessionName = field("sessionName", sessionNamePattern, "use 2 to 64 letters, digits and + = , . @ -")
	if _, present := obj["roleArn"]; !present {
		d.Errorf(base+"assumeRole.roleArn", "add roleArn: arn:aws:iam::ACCOUNT:role/NAME", "assumeRole needs roleArn")
	}
	if n := len(r.ExternalID); n == 1 || n > 1224 {
		d.Errorf(base+"assumeRole.externalId", "use 2 to 1224 characters", "externalId is %d characters long", n)
		r.ExternalID = ""
	}
	if r.RoleARN != "" {
		c.AssumeRole = r
	}
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
