package drivertest_test

import (
	"context"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/spec"
)

// TestMemcloud runs the suite against the engine's fake cloud driver, the
// way a third-party driver would run it against its emulator, with no
// tolerated failures.
func TestMemcloud(t *testing.T) {
	cloud := memcloud.New()
	drivertest.Run(t, drivertest.Config{
		Driver: memcloud.NewDriver(cloud),
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
			for _, op := range []string{memcloud.OpCreate, memcloud.OpRead, memcloud.OpUpdate, memcloud.OpDelete, memcloud.OpFind, memcloud.OpList} {
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
	})
	if len(cloud.Objects()) != 0 {
		t.Errorf("the suite left %d objects in memcloud", len(cloud.Objects()))
	}
}
