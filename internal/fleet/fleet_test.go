package fleet_test

import (
	"context"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/fleet"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state/statetest"
)

// TestFleetApplyWithinBudgets applies a 50-region fleet over AWS, GCP and
// Azure to a sandbox that throttles like the clouds (the published rate
// budgets, refilled 4 times faster so the test is quick — the drivers
// pace themselves by the same numbers) and checks that no request was
// throttled, that GKE and AKS got exactly one create per node pool (the
// per-cluster queues, not retries against "operation in progress"), and
// that a no-op plan of the fleet reads it in few calls. It logs the apply
// wall time against the rate-budget bound; it asserts nothing on time.
func TestFleetApplyWithinBudgets(t *testing.T) {
	const n = 50
	ctx := context.Background()
	tables := budget.Scaled(budget.Published, 4)
	sb, err := sandbox.Start(ctx, sandbox.Options{
		Dir: t.TempDir(), NoKubernetes: true, Latency: map[string]time.Duration{"*": 0},
		Throttle: true, RateBudgets: tables,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sb.Close() })
	opts := providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints(), SandboxDir: sb.Dir(), RateBudgets: fleet.Overrides(tables)}
	drivers := map[string]providers.Driver{}
	for name, f := range map[string]providers.Factory{"aws": aws.New, "gcp": gcp.New, "azure": azure.New} {
		d, err := f(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		drivers[name] = drivertest.WithoutInCluster(d)
	}
	eng := &plan.Engine{
		Drivers: func(_ context.Context, p string) (providers.Driver, error) { return drivers[p], nil },
		State:   statetest.NewMemory(),
	}
	// The staging template with its load balancer: the drivers apply its
	// cloud half (addresses), leaving out what needs a Kubernetes API
	// server (WithoutInCluster).
	regions, err := fleet.Load(n, true)
	if err != nil {
		t.Fatal(err)
	}

	p, ds := eng.Plan(ctx, regions, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatalf("plan: %v", ds)
	}
	resources := 0
	for _, rp := range p.Regions {
		resources += len(rp.Changes)
	}
	before := sb.CloudCalls()
	start := time.Now()
	if _, err := eng.Apply(ctx, p, plan.ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	wall := time.Since(start)
	st := sb.Stats()
	applyCalls := sb.CloudCalls() - before
	throttled := 0
	var use []fleet.BucketUse
	for _, b := range st.Budgets {
		throttled += b.Throttled
		use = append(use, fleet.BucketUse{Key: b.Key, Limit: budget.Limit{Burst: b.Burst, Rate: b.Rate}, Requests: b.Requests})
	}
	if throttled > 0 {
		t.Errorf("the clouds' rate budgets throttled %d requests: %v", throttled, st.Throttled)
	}
	bound, slowest := fleet.BudgetBound(use)
	t.Logf("apply of %d regions, %d resources: %v wall, rate-budget bound %v (%s): %.2fx; %.1f API calls per resource",
		n, resources, wall.Round(time.Millisecond), bound.Round(time.Millisecond), slowest, wall.Seconds()/max(bound.Seconds(), 1e-9), float64(applyCalls)/float64(resources))

	pools := map[string]int{}
	for _, rp := range p.Regions {
		for _, c := range rp.Changes {
			pools[c.Type]++
		}
	}
	for op, typ := range map[string]string{"container:CreateNodePool": "gcp_container_node_pool", "azure:agentPools.createOrUpdate": "azure_kubernetes_node_pool"} {
		if got := st.Requests[op]; got != pools[typ] {
			t.Errorf("%s was called %d times for %d node pools; want one call each", op, got, pools[typ])
		}
	}

	before = sb.CloudCalls()
	reqBefore := sb.Requests()
	p, ds = eng.Plan(ctx, regions, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatalf("no-op plan: %v", ds)
	}
	planCalls := sb.CloudCalls() - before
	for _, rp := range p.Regions {
		for _, c := range rp.Changes {
			if c.Action != plan.NoOp {
				t.Errorf("plan after apply: %s %s", c.Action, c.Address)
			}
		}
	}
	for op, c := range sb.Requests() {
		if d := c - reqBefore[op]; d > 0 && sandbox.IsCloudOperation(op) {
			t.Logf("  %-45s %d", op, d)
		}
	}
	perResource := float64(planCalls) / float64(resources)
	t.Logf("no-op plan: %d API calls for %d resources, %.2f per resource", planCalls, resources, perResource)
	if perResource > 0.3 {
		t.Errorf("a no-op plan of the fleet made %.2f API calls per resource; the target is 0.3 at most", perResource)
	}
}
