package azure

import "github.com/regionctl/regionctl/sandbox/internal/emu"

// Tags reports the tags of every object Objects lists that takes tags
// (emu.Tagger), for the sandbox's census. Subnets take none.
func (e *Emulator) Tags() map[string]map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.settle()
	out := map[string]map[string]string{}
	add := func(typ string, id *string, tags map[string]*string) {
		if len(tags) == 0 {
			return
		}
		m := make(map[string]string, len(tags))
		for k, v := range tags {
			m[k] = deref(v)
		}
		out[emu.TagKey(typ, deref(id))] = m
	}
	s := e.st
	for _, g := range s.Groups {
		add("resourceGroup", g.V.ID, g.V.Tags)
	}
	for _, c := range s.Clusters {
		add("managedCluster", c.V.ID, c.V.Tags)
	}
	for _, p := range s.Pools {
		if p.V.Properties != nil {
			add("agentPool", p.V.ID, p.V.Properties.Tags)
		}
	}
	for _, v := range s.VNets {
		add("virtualNetwork", v.V.ID, v.V.Tags)
	}
	for _, p := range s.PIPs {
		add("publicIPAddress", p.V.ID, p.V.Tags)
	}
	for _, n := range s.NATs {
		add("natGateway", n.V.ID, n.V.Tags)
	}
	return out
}
