package azure

import (
	"context"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	aks "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/providers/kit"
)

// Batched refresh (kit.Lister): per subscription, one paginated list each
// of resource groups, virtual networks (which carry their subnets), public
// IPs and managed clusters (which carry their agent pools). The
// concurrent ReadMany calls of a fleet share them (d.lists). A cluster
// still costs one call of its own, for its user kubeconfig (its endpoint
// and CA). What each reports is built by the function Read uses; an object
// the list does not hold is gone. ARM IDs and names compare without case.

// listed returns what one list call finds, by lower-cased key, fetched once
// for all concurrent callers of the same list and once per ReadMany (memo).
func listed[T any](ctx context.Context, d *Driver, memo map[string]any, what string, fetch func(ctx context.Context) (map[string]T, error)) (map[string]T, error) {
	if v, ok := memo[what]; ok {
		return v.(map[string]T), nil
	}
	v, err := d.lists.Do(ctx, what, nil, func(ctx context.Context, _ []string) (any, error) {
		out, err := fetch(ctx)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	memo[what] = v
	return v.(map[string]T), nil
}

// pager is what the SDK's pagers have in common.
type pager[P any] interface {
	More() bool
	NextPage(context.Context) (P, error)
}

// collect adds every item of every page to out, by lower-cased key.
func collect[P, T any](ctx context.Context, p pager[P], items func(P) []*T, key func(*T) string) (map[string]*T, error) {
	out := map[string]*T{}
	for p.More() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range items(page) {
			if it != nil {
				out[strings.ToLower(key(it))] = it
			}
		}
	}
	return out, nil
}

// readListed is the ReadMany of a type read from a list: list returns the
// list holding the call's object (nil for an ID that names nothing), key
// names the object in it, live is what Read ends with.
func readListed[In, Out, T any](ctx context.Context, calls []*call[In, Out],
	list func(ctx context.Context, memo map[string]any, c *call[In, Out], rid *arm.ResourceID) (map[string]*T, error),
	key func(c *call[In, Out], rid *arm.ResourceID) string,
	live func(ctx context.Context, c *call[In, Out], rid *arm.ResourceID, obj *T) (*kit.Live[In, Out], error),
) ([]*kit.Live[In, Out], error) {
	out := make([]*kit.Live[In, Out], len(calls))
	memo := map[string]any{}
	found := map[string]*T{} // by the call's ID: what its list holds of it
	var idx []int
	for i, c := range calls {
		rid := parseID(c.ID)
		if rid == nil || c.Env.cl == nil {
			continue
		}
		objs, err := list(ctx, memo, c, rid)
		if err != nil {
			return nil, err
		}
		if obj, ok := objs[strings.ToLower(key(c, rid))]; ok {
			found[c.ID] = obj
			idx = append(idx, i)
		}
	}
	err := kit.Fill(ctx, out, calls, idx, found, func(c *call[In, Out]) string { return c.ID },
		func(ctx context.Context, c *call[In, Out], obj *T) (*kit.Live[In, Out], error) {
			return live(ctx, c, parseID(c.ID), obj)
		})
	return out, err
}

func byID[T any](id func(*T) *string) func(*T) string {
	return func(t *T) string { return deref(id(t)) }
}

func (h groupHandler) ReadMany(ctx context.Context, calls []*groupCall) ([]*kit.Live[groupIn, nameOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *groupCall, rid *arm.ResourceID) (map[string]*armresources.ResourceGroup, error) {
		return listed(ctx, c.Env.d, memo, "resource groups of "+rid.SubscriptionID, func(ctx context.Context) (map[string]*armresources.ResourceGroup, error) {
			return collect(ctx, c.Env.cl.groups.NewListPager(nil), func(p armresources.ResourceGroupsClientListResponse) []*armresources.ResourceGroup { return p.Value },
				byID(func(g *armresources.ResourceGroup) *string { return g.Name }))
		})
	}, func(_ *groupCall, rid *arm.ResourceID) string { return rid.ResourceGroupName },
		func(_ context.Context, c *groupCall, rid *arm.ResourceID, g *armresources.ResourceGroup) (*kit.Live[groupIn, nameOut], error) {
			return h.live(c, rid, g), nil
		})
}

// vnets lists the virtual networks of the call's subscription by ID.
func vnets[In, Out any](ctx context.Context, memo map[string]any, c *call[In, Out], sub string) (map[string]*armnetwork.VirtualNetwork, error) {
	return listed(ctx, c.Env.d, memo, "virtual networks of "+sub, func(ctx context.Context) (map[string]*armnetwork.VirtualNetwork, error) {
		return collect(ctx, c.Env.cl.vnets.NewListAllPager(nil), func(p armnetwork.VirtualNetworksClientListAllResponse) []*armnetwork.VirtualNetwork { return p.Value },
			byID(func(v *armnetwork.VirtualNetwork) *string { return v.ID }))
	})
}

func (h vnetHandler) ReadMany(ctx context.Context, calls []*vnetCall) ([]*kit.Live[vnetIn, nameOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *vnetCall, rid *arm.ResourceID) (map[string]*armnetwork.VirtualNetwork, error) {
		return vnets(ctx, memo, c, rid.SubscriptionID)
	}, func(c *vnetCall, _ *arm.ResourceID) string { return c.ID },
		func(_ context.Context, c *vnetCall, rid *arm.ResourceID, v *armnetwork.VirtualNetwork) (*kit.Live[vnetIn, nameOut], error) {
			return h.live(c, rid, v), nil
		})
}

// ReadMany reads subnets from the virtual networks' list, which carries
// every network's subnets.
func (h subnetHandler) ReadMany(ctx context.Context, calls []*subnetCall) ([]*kit.Live[subnetIn, nameOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *subnetCall, rid *arm.ResourceID) (map[string]*armnetwork.Subnet, error) {
		if rid.Parent == nil {
			return nil, nil
		}
		nets, err := vnets(ctx, memo, c, rid.SubscriptionID)
		if err != nil {
			return nil, err
		}
		out := map[string]*armnetwork.Subnet{}
		if v := nets[strings.ToLower(rid.Parent.String())]; v != nil && v.Properties != nil {
			for _, s := range v.Properties.Subnets {
				if s != nil {
					out[strings.ToLower(deref(s.ID))] = s
				}
			}
		}
		return out, nil
	}, func(c *subnetCall, _ *arm.ResourceID) string { return c.ID },
		func(_ context.Context, c *subnetCall, rid *arm.ResourceID, s *armnetwork.Subnet) (*kit.Live[subnetIn, nameOut], error) {
			return h.live(c, rid, s), nil
		})
}

func (h pipHandler) ReadMany(ctx context.Context, calls []*pipCall) ([]*kit.Live[pipIn, pipOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *pipCall, rid *arm.ResourceID) (map[string]*armnetwork.PublicIPAddress, error) {
		return listed(ctx, c.Env.d, memo, "public IPs of "+rid.SubscriptionID, func(ctx context.Context) (map[string]*armnetwork.PublicIPAddress, error) {
			return collect(ctx, c.Env.cl.pips.NewListAllPager(nil), func(p armnetwork.PublicIPAddressesClientListAllResponse) []*armnetwork.PublicIPAddress {
				return p.Value
			},
				byID(func(p *armnetwork.PublicIPAddress) *string { return p.ID }))
		})
	}, func(c *pipCall, _ *arm.ResourceID) string { return c.ID },
		func(_ context.Context, c *pipCall, rid *arm.ResourceID, p *armnetwork.PublicIPAddress) (*kit.Live[pipIn, pipOut], error) {
			return h.live(c, rid, p), nil
		})
}

// managedClusters lists the managed clusters of the call's subscription by
// ID (each carries its agent pools as agentPoolProfiles).
func managedClusters[In, Out any](ctx context.Context, memo map[string]any, c *call[In, Out], sub string) (map[string]*aks.ManagedCluster, error) {
	return listed(ctx, c.Env.d, memo, "managed clusters of "+sub, func(ctx context.Context) (map[string]*aks.ManagedCluster, error) {
		return collect(ctx, c.Env.cl.clusters.NewListPager(nil), func(p aks.ManagedClustersClientListResponse) []*aks.ManagedCluster { return p.Value },
			byID(func(m *aks.ManagedCluster) *string { return m.ID }))
	})
}

func (h clusterHandler) ReadMany(ctx context.Context, calls []*clusterCall) ([]*kit.Live[clusterIn, clusterOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *clusterCall, rid *arm.ResourceID) (map[string]*aks.ManagedCluster, error) {
		return managedClusters(ctx, memo, c, rid.SubscriptionID)
	}, func(c *clusterCall, _ *arm.ResourceID) string { return c.ID }, h.live)
}

// ReadMany reads agent pools from the managed clusters' list: AKS returns
// every pool of a cluster in its agentPoolProfiles, with the properties
// the agent pools API returns (an agent pool's ID is its cluster's ID,
// /agentPools/, its name).
func (h poolHandler) ReadMany(ctx context.Context, calls []*nodePoolCall) ([]*kit.Live[nodePoolIn, nodePoolOut], error) {
	return readListed(ctx, calls, func(ctx context.Context, memo map[string]any, c *nodePoolCall, rid *arm.ResourceID) (map[string]*aks.AgentPool, error) {
		if rid.Parent == nil {
			return nil, nil
		}
		mcs, err := managedClusters(ctx, memo, c, rid.SubscriptionID)
		if err != nil {
			return nil, err
		}
		out := map[string]*aks.AgentPool{}
		if mc := mcs[strings.ToLower(rid.Parent.String())]; mc != nil && mc.Properties != nil {
			for _, p := range mc.Properties.AgentPoolProfiles {
				if p == nil {
					continue
				}
				id := deref(mc.ID) + "/agentPools/" + deref(p.Name)
				out[strings.ToLower(id)] = &aks.AgentPool{ID: to(id), Name: p.Name, Properties: profileProps(p)}
			}
		}
		return out, nil
	}, func(c *nodePoolCall, _ *arm.ResourceID) string { return c.ID },
		func(_ context.Context, c *nodePoolCall, rid *arm.ResourceID, ap *aks.AgentPool) (*kit.Live[nodePoolIn, nodePoolOut], error) {
			return h.live(c, rid, ap), nil
		})
}
