package aws_test

import (
	"context"
	"testing"

	"github.com/regionctl/regionctl/providers"
	awsdriver "github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/drivertest/enginetest"
	"github.com/regionctl/regionctl/sandbox"
)

// TestReadManyMatchesRead applies a region, then changes the cloud under
// it — a VPC's DNS hostnames and a node group's size changed by hand, a
// route table and the add-on deleted — and checks that the batched refresh
// reports exactly what one Read per resource reports, for every resource
// and for IDs that name nothing, with fewer API calls.
func TestReadManyMatchesRead(t *testing.T) {
	ctx := context.Background()
	sb, d := startSandbox(t, sandbox.Options{})
	a := enginetest.ApplyRegions(t, ctx, drivertest.WithoutInCluster(d), loadExample(t))

	drivertest.Drift(t, ctx, d, a.Of(awsdriver.TypeVPC)[0], func(v providers.Values) { v["enable_dns_hostnames"] = false })
	drivertest.Drift(t, ctx, d, a.Of(awsdriver.TypeEKSNodeGroup)[0], func(v providers.Values) { v["max_size"] = v["max_size"].(float64) + 3 })
	for _, typ := range []string{awsdriver.TypeRouteTable, awsdriver.TypeEKSAddon} {
		if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: a.Of(typ)[0]}); err != nil {
			t.Fatalf("delete %s: %v", typ, err)
		}
	}
	insts := a.All()
	for typ, id := range map[string]string{awsdriver.TypeSubnet: "subnet-0123456789abcdef0", awsdriver.TypeIAMRole: "no-such-role", awsdriver.TypeNATGateway: "nat-0123456789abcdef0"} {
		bogus := a.Of(typ)[0]
		bogus.Address, bogus.ID = bogus.Address+"-bogus", id
		insts = append(insts, bogus)
	}
	many := drivertest.ReadManyMatchesRead(t, ctx, d, insts, sb.CloudCalls)
	if n := drivertest.Gone(many); n != 5 {
		t.Errorf("%d resources read as gone; want 5 (a route table, the add-on, three bogus IDs)", n)
	}
}
