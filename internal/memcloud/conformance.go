package memcloud

import (
	"context"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/spec"
)

// Conformance is the drivertest configuration the memcloud driver passes:
// drv (a memcloud Driver over cloud, in process or behind a plugin
// boundary) against a three-zone region with two pools, a storage class and
// a load balancer. CloudCalls counts cloud's calls, which only sees the
// calls made in this process: a test of a driver in another process
// replaces it.
func Conformance(drv providers.Driver, cloud *Cloud) drivertest.Config {
	return drivertest.Config{
		Driver: drv,
		Region: &spec.Region{
			APIVersion: spec.APIVersion, Kind: spec.KindRegion,
			Metadata: spec.Metadata{Name: "eu1"},
			Spec: spec.RegionSpec{
				Provider: "mem", Location: "mem-east-1", Zones: 3,
				Network: spec.Network{CIDR: "10.20.0.0/16"},
				Cluster: spec.Cluster{KubernetesVersion: "1.33", NodePools: []spec.NodePool{
					{Name: "system", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 3, Max: 6},
					{Name: "work", Machine: spec.Machine{CPU: 8, MemoryGiB: 32}, Min: 0, Max: 20},
				}},
				StorageClasses: []spec.StorageClass{{Name: "fast", Tier: spec.TierSSD, Default: true}},
				LoadBalancers: []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal,
					Ports: []spec.Port{{Port: 443}}, Selector: map[string]string{"app": "web"}}},
			},
		},
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Max = 9
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Machine.CPU = 16
			c.Spec.Cluster.NodePools[1].Machine.MemoryGiB = 64
			return c
		},
		CloudCalls: func() int {
			n := 0
			for _, op := range []string{OpCreate, OpRead, OpUpdate, OpDelete, OpFind, OpList} {
				n += cloud.Calls(op)
			}
			return n
		},
		Inventory: func(context.Context) ([]string, error) {
			var ids []string
			for _, o := range cloud.Objects() {
				ids = append(ids, o.ID)
			}
			return ids, nil
		},
	}
}
