package gcp

import "github.com/regionctl/regionctl/sandbox/internal/emu"

// Tags reports the labels of every object Objects lists (emu.Tagger), for
// the sandbox's census; types without labels (networks, subnetworks,
// routers) report their description as the tag "description".
func (e *Emulator) Tags() map[string]map[string]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.settle(now)
	out := map[string]map[string]string{}
	add := func(typ, id string, tags map[string]string) {
		if len(tags) > 0 {
			out[emu.TagKey(typ, id)] = tags
		}
	}
	described := func(d string) map[string]string {
		if d == "" {
			return nil
		}
		return map[string]string{"description": d}
	}
	for _, r := range e.st.Networks {
		add("compute.network", "projects/"+r.Project+"/global/networks/"+r.V.V.GetName(), described(r.V.V.GetDescription()))
	}
	for _, r := range e.st.Subnets {
		add("compute.subnetwork", "projects/"+r.Project+"/regions/"+r.Region+"/subnetworks/"+r.V.V.GetName(), described(r.V.V.GetDescription()))
	}
	for _, r := range e.st.Routers {
		add("compute.router", "projects/"+r.Project+"/regions/"+r.Region+"/routers/"+r.V.V.GetName(), described(r.V.V.GetDescription()))
	}
	for _, r := range e.st.Addresses {
		add("compute.address", "projects/"+r.Project+"/regions/"+r.Region+"/addresses/"+r.V.V.GetName(), r.V.V.GetLabels())
	}
	for key, c := range e.st.Clusters {
		add("container.cluster", key, c.C.V.GetResourceLabels())
		for _, p := range c.Pools {
			add("container.nodePool", key+"/nodePools/"+p.P.V.GetName(), p.P.V.GetConfig().GetResourceLabels())
		}
	}
	return out
}
