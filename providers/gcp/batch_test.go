package gcp_test

import (
	"context"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/drivertest/enginetest"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
)

// TestReadManyMatchesRead applies a region, then changes the cloud under
// it — a node pool's autoscaling changed by hand, the load balancer's
// address and a node pool deleted — and checks that the batched refresh
// (project-wide lists) reports exactly what one Read per resource
// reports, for every resource and for names that name nothing, with fewer
// API calls.
func TestReadManyMatchesRead(t *testing.T) {
	ctx := context.Background()
	sb, d := startSandbox(t, sandbox.Options{})
	a := enginetest.ApplyRegions(t, ctx, drivertest.WithoutInCluster(d), loadExample(t))

	pools := a.Of(gcpdriver.TypeNodePool)
	drivertest.Drift(t, ctx, d, pools[0], func(v providers.Values) { v["max_node_count"] = v["max_node_count"].(float64) + 2 })
	for _, in := range []providers.Instance{a.Of(gcpdriver.TypeAddress)[0], pools[len(pools)-1]} {
		if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: in}); err != nil {
			t.Fatalf("delete %s: %v", in.Address, err)
		}
	}
	insts := a.All()
	for _, typ := range []string{gcpdriver.TypeNetwork, gcpdriver.TypeSubnetwork, gcpdriver.TypeCluster} {
		bogus := a.Of(typ)[0]
		bogus.Address, bogus.ID = bogus.Address+"-bogus", "no-such-object"
		insts = append(insts, bogus)
	}
	many := drivertest.ReadManyMatchesRead(t, ctx, d, insts, sb.CloudCalls)
	if n := drivertest.Gone(many); n != 5 {
		t.Errorf("%d resources read as gone; want 5 (the address, a node pool, three bogus names)", n)
	}
}
