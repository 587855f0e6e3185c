package aws

import "github.com/regionctl/regionctl/sandbox/internal/emu"

// Tags reports the tags of every object Objects lists that takes tags
// (emu.Tagger), for the sandbox's census.
func (e *Emulator) Tags() map[string]map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	out := map[string]map[string]string{}
	add := func(typ, id string, tags map[string]string) {
		if len(tags) > 0 {
			out[emu.TagKey(typ, id)] = tags
		}
	}
	s := e.st
	for id, v := range s.Vpcs {
		add("ec2:vpc", id, ec2TagMap(v.V.Tags))
	}
	for id, v := range s.Subnets {
		add("ec2:subnet", id, ec2TagMap(v.V.Tags))
	}
	for id, v := range s.IGWs {
		add("ec2:internet-gateway", id, ec2TagMap(v.V.Tags))
	}
	for id, v := range s.Addresses {
		add("ec2:elastic-ip", id, ec2TagMap(v.V.Tags))
	}
	for id, v := range s.NATs {
		add("ec2:natgateway", id, ec2TagMap(v.V.Tags))
	}
	for id, v := range s.RouteTables {
		add("ec2:route-table", id, ec2TagMap(v.V.Tags))
	}
	for id, v := range s.SGs {
		add("ec2:security-group", id, ec2TagMap(v.V.Tags))
	}
	for _, v := range s.Roles {
		add("iam:role", deref(v.V.RoleId), iamTagMap(v.V.Tags))
	}
	for _, c := range s.Clusters {
		add("eks:cluster", deref(c.V.Arn), c.V.Tags)
		for _, n := range c.Nodegroups {
			add("eks:nodegroup", deref(n.V.NodegroupArn), n.V.Tags)
		}
		for _, a := range c.Addons {
			add("eks:addon", deref(a.V.AddonArn), a.V.Tags)
		}
	}
	return out
}
