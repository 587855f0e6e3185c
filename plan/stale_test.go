package plan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// Two pull requests change different resources of one region; the second
// plan was made before the first applied. It still applies, says why, and
// both changes end up in state.
func TestPlanAppliesWhenOnlyUntouchedResourcesMoved(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	expandable := func(r *spec.Region) { r.Spec.StorageClasses[0].Expandable = true }
	bigger := func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 8 }
	mine := f.plan(t, PlanOptions{}, region(r1, expandable))
	theirs := f.plan(t, PlanOptions{}, region(r1, bigger))
	f.apply(t, theirs)
	res := f.apply(t, mine)
	if len(res.Regions[0].Notes) != 1 || !strings.Contains(res.Regions[0].Notes[0], "moved from serial") {
		t.Errorf("notes %q: want one saying state moved on but nothing the plan touches did", res.Regions[0].Notes)
	}
	if p := f.plan(t, PlanOptions{}, region(r1, expandable, bigger)); p.HasChanges() {
		t.Errorf("after both applies the spec with both changes still plans changes: %+v", p.Regions[0].Changes)
	}
}

// A plan is stale when a resource it only reads (a dependency whose outputs
// its changes use) changed since, and the refusal names that resource.
func TestPlanIsStaleWhenAResourceItReadsChanged(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	// The work pool is replaced (its machine forces replacement) and reads
	// the cluster's outputs; another run changes the cluster meanwhile.
	mine := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Machine.CPU = 16 }))
	theirs := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.KubernetesVersion = "1.34" }))
	f.apply(t, theirs)
	_, err := f.eng.Apply(context.Background(), mine, ApplyOptions{})
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("Apply err = %v, want *StaleError", err)
	}
	if !slices.Contains(stale.Changed, cluster) {
		t.Errorf("stale resources %v do not name %s, which the plan reads", stale.Changed, cluster)
	}
	if slices.Contains(stale.Changed, poolSys) || slices.Contains(stale.Changed, scFast) {
		t.Errorf("stale resources %v name resources the plan neither reads nor changes", stale.Changed)
	}
}

// Two regions planned together; only one has changes. Another run applies
// the other region: the plan still applies (a region without changes is not
// applied, so it cannot be stale).
func TestRegionWithoutChangesIsNeverStale(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1), region("r2"))
	mine := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 }), region("r2"))
	f.converge(t, region("r2", func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 7 }))
	writes := f.store.Writes()
	res := f.apply(t, mine)
	if res.Regions[1].Added+res.Regions[1].Changed+res.Regions[1].Destroyed != 0 {
		t.Errorf("region r2 without changes in the plan was applied: %+v", res.Regions[1])
	}
	if f.store.Writes() == writes {
		t.Error("the plan's changes to r1 were not applied")
	}
}

// identified is a memcloud driver that names an account.
type identified struct {
	providers.Driver
	account string
}

func (d *identified) Identity(context.Context, providers.IdentityRequest) (providers.IdentityResponse, error) {
	return providers.IdentityResponse{Identity: providers.Identity{Kind: "mem account", ID: d.account, Principal: "tester"}}, nil
}

// Plans and state record the target; a plan or a state made for another
// sandbox, the real cloud, or another account is refused before anything
// changes.
func TestTargetIsRecordedAndChecked(t *testing.T) {
	f := newFixture(t)
	f.drv = &identified{Driver: f.drv, account: "111"}
	f.eng.Sandbox, f.eng.SandboxDir = "sbx-1", "/tmp/sbx"
	f.converge(t, region(r1))
	st := f.state(t, r1)
	want := state.Target{Sandbox: "sbx-1", SandboxDir: "/tmp/sbx", Account: "mem account 111", Principal: "tester"}
	if st.Target == nil || *st.Target != want {
		t.Fatalf("state target %+v, want %+v", st.Target, want)
	}
	p := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 }))
	if p.Regions[0].Target == nil || *p.Regions[0].Target != want {
		t.Fatalf("plan target %+v, want %+v", p.Regions[0].Target, want)
	}

	for _, tt := range []struct {
		name             string
		sandbox, account string
		wantInErr        string
	}{
		{"the real cloud", "", "111", "run it with --sandbox"},
		{"another sandbox", "sbx-2", "111", "--sandbox-dir /tmp/sbx"},
		{"another account", "sbx-1", "222", "use credentials for mem account 111"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.eng.Sandbox = tt.sandbox
			f.drv = &identified{Driver: f.drv.(*identified).Driver, account: tt.account}
			writes := f.store.Writes()
			_, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
			var te *TargetError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("Apply err = %v, want a *TargetError saying %q", err, tt.wantInErr)
			}
			if f.store.Writes() != writes {
				t.Error("a refused apply wrote state")
			}
			// Planning against this target refuses the region's state too.
			_, ds := f.eng.Plan(context.Background(), []*spec.Region{region(r1)}, PlanOptions{})
			if !ds.HasErrors() || !strings.Contains(ds.String(), "state of region "+r1+" was made against") {
				t.Errorf("Plan against another target: %s", ds)
			}
		})
	}
	f.eng.Sandbox = "sbx-1"
	f.drv = &identified{Driver: f.drv.(*identified).Driver, account: "111"}
	f.apply(t, p)

	// A plan that records no target (an older regionctl) is refused.
	p2 := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 10 }))
	p2.Regions[0].Target = nil
	if _, err := f.eng.Apply(context.Background(), p2, ApplyOptions{}); err == nil || !strings.Contains(err.Error(), "does not say which target") {
		t.Errorf("Apply of a plan without target: err = %v", err)
	}
}
