package azure_test

import (
	"context"
	"testing"

	"github.com/regionctl/regionctl/providers"
	azdriver "github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/drivertest/enginetest"
	"github.com/regionctl/regionctl/sandbox"
)

// TestReadManyMatchesRead applies a region, then changes the cloud under
// it — an agent pool's autoscaling changed by hand, the load balancer's
// public IP deleted — and checks that the batched refresh (lists per
// subscription and per cluster) reports exactly what one Read per resource
// reports, for every resource and for IDs that name nothing, with fewer
// API calls.
func TestReadManyMatchesRead(t *testing.T) {
	ctx := context.Background()
	sb, d := startSandbox(t, sandbox.Options{})
	a := enginetest.ApplyRegions(t, ctx, drivertest.WithoutInCluster(d), loadExample(t))

	drivertest.Drift(t, ctx, d, a.Of(azdriver.TypeNodePool)[0], func(v providers.Values) { v["max"] = v["max"].(float64) + 2 })
	pip := a.Of(azdriver.TypePublicIP)[0]
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: pip}); err != nil {
		t.Fatalf("delete %s: %v", pip.Address, err)
	}
	insts := a.All()
	for _, typ := range []string{azdriver.TypeResourceGroup, azdriver.TypeSubnet, azdriver.TypeCluster, azdriver.TypeNodePool} {
		bogus := a.Of(typ)[0]
		bogus.Address, bogus.ID = bogus.Address+"-bogus", bogus.ID+"x"
		insts = append(insts, bogus)
	}
	many := drivertest.ReadManyMatchesRead(t, ctx, d, insts, sb.CloudCalls)
	if n := drivertest.Gone(many); n != 5 {
		t.Errorf("%d resources read as gone; want 5 (the public IP, four bogus IDs)", n)
	}
}
