package plugin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/statetest"
)

// TestPluginCrashMidCreateIsAdopted: the plugin process dies (SIGKILL)
// right after its cloud made the cluster, before the reply reaches
// regionctl. Apply reports the failure, and state keeps the cluster
// pending under its idempotency key (nothing lost); the next run, with a
// healthy plugin, finds the cluster and adopts it instead of making a
// second one (nothing duplicated), and then converges.
func TestPluginCrashMidCreateIsAdopted(t *testing.T) {
	p, cloud, _ := memPlugin(t)
	be := statetest.NewMemory()
	region := &spec.Region{
		APIVersion: spec.APIVersion, Kind: spec.KindRegion, Metadata: spec.Metadata{Name: "eu1"},
		Spec: spec.RegionSpec{Provider: "mem", Location: "mem-east-1", Zones: 2, Network: spec.Network{CIDR: "10.1.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.33", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 8}, Min: 1, Max: 3}}}},
	}
	engine := func(d providers.Driver) *plan.Engine {
		return &plan.Engine{State: be, Drivers: func(context.Context, string) (providers.Driver, error) { return d, nil }}
	}
	ctx := context.Background()

	t.Setenv(envCrashAfterCreate, memcloud.TypeCluster)
	first := launch(t, p, providers.Options{})
	pl, ds := engine(first).Plan(ctx, []*spec.Region{region}, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	res, err := engine(first).Apply(ctx, pl, plan.ApplyOptions{})
	if err == nil {
		t.Fatal("apply through a plugin that died mid-create succeeded")
	}
	var failed []string
	for _, e := range res.Regions[0].Errors {
		failed = append(failed, e.Error())
	}
	if !strings.Contains(strings.Join(failed, "\n"), "stopped answering") {
		t.Errorf("apply errors do not say the plugin stopped: %v", failed)
	}
	st, err := be.Read(ctx, "eu1")
	if err != nil {
		t.Fatal(err)
	}
	cluster, ok := st.Find("eu1/mem_cluster.main")
	if !ok || cluster.Status != state.StatusPending || cluster.IdempotencyKey == "" {
		t.Fatalf("after the crash the cluster must be pending with its key, got %+v (found %v)", cluster, ok)
	}

	t.Setenv(envCrashAfterCreate, "")
	second := launch(t, p, providers.Options{})
	pl, ds = engine(second).Plan(ctx, []*spec.Region{region}, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	adopted := false
	for _, c := range pl.Regions[0].Changes {
		if c.Address == "eu1/mem_cluster.main" {
			adopted = c.AdoptID != "" && c.AdoptID == clusterIDs(cloud)[0]
		}
	}
	if !adopted {
		t.Fatalf("the next plan does not adopt the cluster the dead plugin made: %+v", pl.Regions[0].Changes)
	}
	if _, err := engine(second).Apply(ctx, pl, plan.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	if ids := clusterIDs(cloud); len(ids) != 1 {
		t.Fatalf("the cloud holds %d clusters, want 1", len(ids))
	}
	pl, ds = engine(second).Plan(ctx, []*spec.Region{region}, plan.PlanOptions{})
	if ds.HasErrors() || pl.HasChanges() {
		t.Fatalf("the region did not converge: %v %+v", ds, pl.Regions[0].Changes)
	}
}

func clusterIDs(c *memcloud.Cloud) []string {
	var ids []string
	for _, o := range c.Objects() {
		if o.Type == memcloud.TypeCluster {
			ids = append(ids, o.ID)
		}
	}
	return ids
}
