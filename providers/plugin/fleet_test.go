package plugin_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// countingLister counts the batched reads the engine sends through the
// host adapter: each is one call across the plugin boundary.
type countingLister struct {
	providers.Driver
	calls, resources atomic.Int64
}

func (c *countingLister) ReadMany(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	c.calls.Add(1)
	c.resources.Add(int64(len(reqs)))
	return c.Driver.(providers.Lister).ReadMany(ctx, reqs)
}

// TestFleetRefreshAndBudgetsCrossTheBoundary: the user's rate budgets
// reach the plugin's driver in its Options, the driver's RateBudgeted
// capability reaches the host, and a plan of a fleet of regions on a
// plugin refreshes them all in one ReadMany across the boundary (the
// engine batches the whole fleet per provider).
func TestFleetRefreshAndBudgetsCrossTheBoundary(t *testing.T) {
	p, _, _ := memPlugin(t)
	d := launch(t, p, providers.Options{RateBudgets: budget.Overrides{"mem:api": {Burst: 7, Rate: 2.5}}})
	if c := d.Capabilities(); !c.RateBudgeted || c.MaxParallel != 7 {
		t.Fatalf("capabilities through the plugin: RateBudgeted %v, MaxParallel %d; want true and 7 (the burst sent)", c.RateBudgeted, c.MaxParallel)
	}
	if _, ok := d.(providers.Lister); !ok {
		t.Fatal("memcloud implements Lister; the adapter must offer it too")
	}

	ctx := context.Background()
	regions := make([]*spec.Region, 5)
	base := memcloud.Conformance(nil, nil).Region
	for i := range regions {
		regions[i] = drivertest.CloneRegion(base)
		regions[i].Metadata.Name = fmt.Sprintf("r%d", i)
	}
	counted := &countingLister{Driver: d}
	eng := &plan.Engine{State: statetest.NewMemory(), Drivers: func(context.Context, string) (providers.Driver, error) { return counted, nil }}
	pl, ds := eng.Plan(ctx, regions, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if _, err := eng.Apply(ctx, pl, plan.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	counted.calls.Store(0)
	counted.resources.Store(0)
	pl, ds = eng.Plan(ctx, regions, plan.PlanOptions{})
	if ds.HasErrors() || pl.HasChanges() {
		t.Fatalf("plan of the applied fleet: changes %v, %v", pl.HasChanges(), ds)
	}
	want := 0
	for _, rp := range pl.Regions {
		want += len(rp.Changes)
	}
	if n, r := counted.calls.Load(), counted.resources.Load(); n != 1 || int(r) != want {
		t.Errorf("refresh of %d regions: %d ReadMany calls for %d resources; want 1 for %d", len(regions), n, r, want)
	}
}
