package plan

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/spec"
)

func addrsOfChanges(rp RegionPlan) []string {
	var out []string
	for _, c := range rp.Changes {
		if c.Action != NoOp {
			out = append(out, c.Address)
		}
	}
	slices.Sort(out)
	return out
}

// TestTargetPlansOnlyTheTargetAndItsDependencies: --target cluster plans
// the cluster and what it needs (network, subnets, NATs, router), nothing
// else; the plan records the targets and a plan without them does the
// rest.
func TestTargetPlansOnlyTheTargetAndItsDependencies(t *testing.T) {
	f := newFixture(t)
	p := f.plan(t, PlanOptions{Targets: []string{"cluster"}}, region(r1))
	want := []string{cluster, network, addr(r1, memcloud.TypeNAT, "zone-a"), addr(r1, memcloud.TypeNAT, "zone-b"), addr(r1, memcloud.TypeNAT, "zone-c"),
		router, subnetA, addr(r1, memcloud.TypeSubnet, "zone-b"), addr(r1, memcloud.TypeSubnet, "zone-c")}
	slices.Sort(want)
	if got := addrsOfChanges(p.Regions[0]); !slices.Equal(got, want) {
		t.Fatalf("targeted changes %v, want %v", got, want)
	}
	if !slices.Equal(p.Targets, []string{"cluster"}) {
		t.Errorf("plan records targets %v", p.Targets)
	}
	if w := TargetingWarning(p.Targets); !strings.Contains(w, "--target cluster") {
		t.Errorf("warning %q", w)
	}
	f.apply(t, p)
	rest := f.plan(t, PlanOptions{}, region(r1))
	if n := rest.Counts(); n.Add != 6 || n.Change != 0 {
		t.Errorf("after the targeted apply, %+v; want the 6 other resources to add", n)
	}
}

// TestTargetADeletion: targeting a resource removed from the spec deletes
// it alone, not the other removals; a target matching nothing is an error
// naming a close address.
func TestTargetADeletion(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	noLB := region(r1, func(r *spec.Region) { r.Spec.LoadBalancers = nil })
	p := f.plan(t, PlanOptions{Targets: []string{lbWeb}}, noLB)
	if got := addrsOfChanges(p.Regions[0]); !slices.Equal(got, []string{lbWeb}) {
		t.Fatalf("targeted changes %v, want only %s", got, lbWeb)
	}
	p = f.plan(t, PlanOptions{Targets: []string{ipWeb}, AllowDestroy: true}, noLB)
	if got := addrsOfChanges(p.Regions[0]); !slices.Equal(got, []string{ipWeb, lbWeb}) {
		t.Fatalf("targeting the address %v, want it and the load balancer that uses it", got)
	}
	_, ds := f.eng.Plan(context.Background(), []*spec.Region{region(r1)}, PlanOptions{Targets: []string{"eu1/mem_cluster.mian"}})
	if len(ds) != 1 || !strings.Contains(ds[0].Summary, "--target eu1/mem_cluster.mian matches no resource") || !strings.Contains(ds[0].Fix, `"eu1/mem_cluster.main"`) {
		t.Errorf("unknown target: %s", ds)
	}
}

// TestReplace: --replace replaces a resource nothing changed about; as the
// new object would take the old one's name, even a create-before-destroy
// pool is deleted first; protect still refuses a stateful one;
// --replace of a resource to be created only warns.
func TestReplace(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	old, _ := f.state(t, r1).Find(poolWork)
	p := f.plan(t, PlanOptions{Replace: []string{"cluster.nodePools.work"}}, region(r1))
	c := changesByAddr(p.Regions[0])[poolWork]
	if c.Action != DeleteThenCreate || !strings.HasPrefix(c.Reason, reasonReplaceAsked+"; the old one is deleted first") {
		t.Fatalf("pool change %+v, want a replacement deleting the old pool first (the new one has its name)", c)
	}
	if got := addrsOfChanges(p.Regions[0]); !slices.Equal(got, []string{poolWork}) {
		t.Errorf("changes %v, want only the pool", got)
	}
	if !slices.Equal(p.Replace, []string{"cluster.nodePools.work"}) {
		t.Errorf("plan records replace %v", p.Replace)
	}
	f.apply(t, p)
	if got, _ := f.state(t, r1).Find(poolWork); got.ID == old.ID {
		t.Error("the pool was not replaced")
	}
	f.checkNoLeaks(t, r1)

	protected := region(r1, func(r *spec.Region) { r.Spec.Protect = true })
	if _, ds := f.eng.Plan(context.Background(), []*spec.Region{protected}, PlanOptions{Replace: []string{cluster}}); !ds.HasErrors() || !strings.Contains(ds.String(), "refusing to replace stateful resource "+cluster) {
		t.Errorf("replace of a protected cluster: %s", ds)
	}

	g := newFixture(t)
	_, ds := g.eng.Plan(context.Background(), []*spec.Region{region(r1)}, PlanOptions{Replace: []string{cluster}})
	if ds.HasErrors() || len(ds) != 1 || !strings.Contains(ds[0].Summary, "it does not exist yet") {
		t.Errorf("replace of a resource to create: %s", ds)
	}
}

// TestRefreshOnly: a refresh-only plan changes nothing; its apply records
// the drift (new inputs, objects deleted outside regionctl forgotten) and
// touches no cloud object; the next normal plan then shows what it takes
// to match the spec again. The plan file keeps the mode.
func TestRefreshOnly(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	st := f.state(t, r1)
	pool, _ := st.Find(poolWork)
	lb, _ := st.Find(lbWeb)
	if err := f.cloud.Mutate(pool.ID, func(in map[string]any) { in["max"] = 42 }); err != nil {
		t.Fatal(err)
	}
	if err := f.cloud.Remove(lb.ID); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, PlanOptions{RefreshOnly: true}, region(r1))
	rp := p.Regions[0]
	if !p.RefreshOnly || !rp.RefreshOnly || len(rp.Changes) != 0 || len(rp.Drift) != 2 || !p.HasChanges() || p.Counts().Record != 2 {
		t.Fatalf("refresh-only plan: changes %v, drift %v, counts %+v", rp.Changes, rp.Drift, p.Counts())
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	if p, _ = ReadPlanFile(path); !p.RefreshOnly || !p.Regions[0].RefreshOnly {
		t.Fatal("the plan file lost refresh-only")
	}
	calls := f.cloud.Calls(memcloud.OpCreate) + f.cloud.Calls(memcloud.OpUpdate) + f.cloud.Calls(memcloud.OpDelete)
	res := f.apply(t, p)
	if n := f.cloud.Calls(memcloud.OpCreate) + f.cloud.Calls(memcloud.OpUpdate) + f.cloud.Calls(memcloud.OpDelete); n != calls {
		t.Errorf("a refresh-only apply made %d cloud changes", n-calls)
	}
	if len(res.Regions[0].Notes) != 1 || !strings.Contains(res.Regions[0].Notes[0], "new values of 1 object(s)") {
		t.Errorf("notes %v", res.Regions[0].Notes)
	}
	after := f.state(t, r1)
	if got, _ := after.Find(poolWork); got.Inputs["max"] != float64(42) {
		t.Errorf("pool in state %v, want the drifted max 42 recorded", got.Inputs)
	}
	if _, ok := after.Find(lbWeb); ok {
		t.Error("the load balancer deleted outside regionctl is still in state")
	}
	if again := f.plan(t, PlanOptions{RefreshOnly: true}, region(r1)); again.HasChanges() {
		t.Error("a second refresh-only plan still has something to record")
	}
	next := changesByAddr(f.plan(t, PlanOptions{}, region(r1)).Regions[0])
	if next[poolWork].Action != Update || next[lbWeb].Action != Create || next[lbWeb].Reason != "" {
		t.Errorf("normal plan after refresh-only: pool %v, lb %v %q", next[poolWork].Action, next[lbWeb].Action, next[lbWeb].Reason)
	}
	if _, ds := f.eng.Plan(context.Background(), []*spec.Region{region(r1)}, PlanOptions{RefreshOnly: true, Targets: []string{cluster}}); !ds.HasErrors() {
		t.Error("refresh-only with --target was accepted")
	}
}
