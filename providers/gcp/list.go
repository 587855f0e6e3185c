package gcp

import (
	"context"
	"errors"
	"fmt"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/api/iterator"

	"github.com/regionctl/regionctl/providers/kit"
)

// Batched refresh (kit.Lister): per project, one paginated networks.list,
// one aggregatedList each of subnetworks, routers and addresses (every
// region at once), and one GKE ListClusters over every location ("-"),
// whose clusters carry their node pools. The concurrent ReadMany calls of
// a fleet share them (d.lists). What each reports is built by the function
// Read uses; an object the list does not hold is gone.

// listed returns the objects a project-wide list call finds, by key,
// fetched once for all concurrent callers of the same list and project.
func listed[T any](ctx context.Context, e *env, what string, fetch func(ctx context.Context) (map[string]T, error)) (map[string]T, error) {
	v, err := e.d.lists.Do(ctx, what+":"+e.project, nil, func(ctx context.Context, _ []string) (any, error) {
		var out map[string]T
		err := e.d.retry(ctx, func() (err error) { out, err = fetch(ctx); return err })
		if err != nil {
			return nil, fmt.Errorf("list %s of project %s: %w", what, e.project, err)
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]T), nil
}

// readListed is the ReadMany of a type read from a project-wide list:
// key names a call's object in the list, live is what Read ends with.
func readListed[In, Out, T any](ctx context.Context, calls []*call[In, Out], what string,
	fetch func(ctx context.Context, e *env) (map[string]T, error), key func(*call[In, Out]) string,
	live func(*call[In, Out], T) *kit.Live[In, Out],
) ([]*kit.Live[In, Out], error) {
	out := make([]*kit.Live[In, Out], len(calls))
	byProject := map[string]map[string]T{}
	for i, c := range calls {
		objs, ok := byProject[c.Env.project]
		if !ok {
			var err error
			objs, err = listed(ctx, c.Env, what, func(ctx context.Context) (map[string]T, error) { return fetch(ctx, c.Env) })
			if err != nil {
				return nil, err
			}
			byProject[c.Env.project] = objs
		}
		if obj, ok := objs[key(c)]; ok {
			out[i] = live(c, obj)
		}
	}
	return out, nil
}

// all collects an iterator's items.
func all[T any](next func() (T, error), add func(T)) error {
	for {
		it, err := next()
		if errors.Is(err, iterator.Done) {
			return nil
		}
		if err != nil {
			return err
		}
		add(it)
	}
}

// regional keys an object of a region.
func regional(region, name string) string { return region + "/" + name }

func (h networkHandler) ReadMany(ctx context.Context, calls []*networkCall) ([]*kit.Live[networkIn, linkOut], error) {
	return readListed(ctx, calls, "networks", func(ctx context.Context, e *env) (map[string]*computepb.Network, error) {
		out := map[string]*computepb.Network{}
		it := e.cl.networks.List(ctx, &computepb.ListNetworksRequest{Project: e.project})
		return out, all(it.Next, func(n *computepb.Network) { out[n.GetName()] = n })
	}, func(c *networkCall) string { return c.ID }, h.live)
}

func (h subnetHandler) ReadMany(ctx context.Context, calls []*subnetCall) ([]*kit.Live[subnetIn, linkOut], error) {
	return readListed(ctx, calls, "subnetworks", func(ctx context.Context, e *env) (map[string]*computepb.Subnetwork, error) {
		out := map[string]*computepb.Subnetwork{}
		it := e.cl.subnets.AggregatedList(ctx, &computepb.AggregatedListSubnetworksRequest{Project: e.project})
		return out, all(it.Next, func(p compute.SubnetworksScopedListPair) {
			for _, s := range p.Value.GetSubnetworks() {
				out[regional(lastSegment(s.GetRegion()), s.GetName())] = s
			}
		})
	}, func(c *subnetCall) string { return regional(c.Env.loc, c.ID) }, h.live)
}

func (h routerHandler) ReadMany(ctx context.Context, calls []*routerCall) ([]*kit.Live[routerIn, linkOut], error) {
	return readListed(ctx, calls, "routers", func(ctx context.Context, e *env) (map[string]*computepb.Router, error) {
		out := map[string]*computepb.Router{}
		it := e.cl.routers.AggregatedList(ctx, &computepb.AggregatedListRoutersRequest{Project: e.project})
		return out, all(it.Next, func(p compute.RoutersScopedListPair) {
			for _, r := range p.Value.GetRouters() {
				out[regional(lastSegment(r.GetRegion()), r.GetName())] = r
			}
		})
	}, func(c *routerCall) string { return regional(c.Env.loc, c.ID) }, h.live)
}

func (h addressHandler) ReadMany(ctx context.Context, calls []*addressCall) ([]*kit.Live[addressIn, addressOut], error) {
	return readListed(ctx, calls, "addresses", func(ctx context.Context, e *env) (map[string]*computepb.Address, error) {
		out := map[string]*computepb.Address{}
		it := e.cl.addresses.AggregatedList(ctx, &computepb.AggregatedListAddressesRequest{Project: e.project})
		return out, all(it.Next, func(p compute.AddressesScopedListPair) {
			for _, a := range p.Value.GetAddresses() {
				out[regional(lastSegment(a.GetRegion()), a.GetName())] = a
			}
		})
	}, func(c *addressCall) string { return regional(c.Env.loc, c.ID) }, h.live)
}

// clusters lists every GKE cluster of e's project, in every location, by
// location/name. A list that could not reach some locations
// (missingZones) is an error: a cluster there would look deleted.
func clusters(ctx context.Context, e *env) (map[string]*containerpb.Cluster, error) {
	resp, err := e.cl.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: fmt.Sprintf("projects/%s/locations/-", e.project)})
	if err != nil {
		return nil, err
	}
	if len(resp.GetMissingZones()) > 0 {
		return nil, fmt.Errorf("GKE could not list the clusters of %v", resp.GetMissingZones())
	}
	out := map[string]*containerpb.Cluster{}
	for _, cl := range resp.GetClusters() {
		out[regional(cl.GetLocation(), cl.GetName())] = cl
	}
	return out, nil
}

func (h clusterHandler) ReadMany(ctx context.Context, calls []*clusterCall) ([]*kit.Live[clusterIn, clusterOut], error) {
	return readListed(ctx, calls, "clusters", clusters, func(c *clusterCall) string { return regional(c.Env.loc, c.ID) }, h.live)
}

// ReadMany reads node pools from the clusters ListClusters returns (each
// carries its pools), with Read's rule that a pool of a cluster replaced
// by another of the same name (another uid) is gone.
func (h nodePoolHandler) ReadMany(ctx context.Context, calls []*nodePoolCall) ([]*kit.Live[nodePoolIn, nodePoolOut], error) {
	out := make([]*kit.Live[nodePoolIn, nodePoolOut], len(calls))
	byProject := map[string]map[string]*containerpb.Cluster{}
	for i, c := range calls {
		if poolCluster(c) == "" {
			continue
		}
		byName, ok := byProject[c.Env.project]
		if !ok {
			var err error
			byName, err = listed(ctx, c.Env, "clusters", func(ctx context.Context) (map[string]*containerpb.Cluster, error) { return clusters(ctx, c.Env) })
			if err != nil {
				return nil, err
			}
			byProject[c.Env.project] = byName
		}
		name, uid := splitPoolID(c.ID)
		cl := byName[regional(c.Env.loc, poolCluster(c))]
		if cl == nil || uid != "" && cl.GetId() != "" && cl.GetId() != uid {
			continue
		}
		for _, np := range cl.GetNodePools() {
			if np.GetName() == name {
				out[i] = h.live(c, cl, np)
			}
		}
	}
	return out, nil
}
