package plan

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// makingCluster leaves region r1's cluster as an interrupted create does
// while the cloud is still making it: state records it pending (with its
// ID when withID), the cloud holds it without its endpoint yet.
func makingCluster(t *testing.T, f *fixture, withID bool) string {
	t.Helper()
	if withID {
		r := failClusterCreate(t, f, errWaitFailed)
		if err := f.cloud.SetMaking(r.ID, true); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	f.cloud.FailAfterCreate(cluster, nil)
	if _, err := f.eng.Apply(context.Background(), f.plan(t, PlanOptions{}, region(r1)), ApplyOptions{}); !errors.Is(err, memcloud.ErrInjected) {
		t.Fatalf("Apply err = %v, want the injected failure", err)
	}
	for _, o := range f.cloud.Objects() {
		if o.Address() == cluster {
			if err := f.cloud.SetMaking(o.ID, true); err != nil {
				t.Fatal(err)
			}
			return o.ID
		}
	}
	t.Fatal("the interrupted create made no cluster")
	return ""
}

// TestAdoptionWaitsUntilUsable: an adopted object still in the making is
// waited on at apply (a settled read) before it is recorded as created and
// before its dependents start, so its outputs are never recorded empty; a
// plan never waits. Before issue 16 the engine recorded what a plain read
// saw — an EKS cluster still CREATING without its endpoint, a GKE cluster
// PROVISIONING without its CA — and started the dependents at once.
func TestAdoptionWaitsUntilUsable(t *testing.T) {
	for _, tc := range []struct {
		name            string
		withID, refresh bool
	}{
		{"pending with its ID", true, true},
		{"pending without ID, found by key", false, true},
		{"pending with its ID, plan without refresh", true, false},
		{"pending without ID, plan without refresh", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			id := makingCluster(t, f, tc.withID)
			p := f.plan(t, PlanOptions{SkipRefresh: !tc.refresh}, region(r1))
			if o, _, _ := findObject(f, id); !o.Making {
				t.Fatal("the plan waited for the cluster to be made; a plan must never wait")
			}
			if tc.refresh {
				if c := changesByAddr(p.Regions[0])[cluster]; c.AdoptID != id || !strings.Contains(c.Reason, reasonAdopt) {
					t.Fatalf("cluster change %+v, want the adoption of %s", c, id)
				}
			}
			f.apply(t, p)
			got, _ := f.state(t, r1).Find(cluster)
			if got.ID != id || got.Status != state.StatusCreated {
				t.Fatalf("cluster %+v, want %s created", got, id)
			}
			if ep, _ := got.Outputs["endpoint"].(string); ep == "" {
				t.Errorf("the adopted cluster was recorded with an empty endpoint: %v", got.Outputs)
			}
			if o, _, _ := findObject(f, id); o.Making {
				t.Error("apply did not wait for the adopted cluster to be made")
			}
			f.checkNoLeaks(t, r1)
			if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
				t.Error("plan after adoption has changes")
			}
		})
	}
}

// TestAdoptedCreateFailsWhileSettling: the cloud reports the adopted
// object's creation failed only once apply waits for it: it is recorded
// tainted, the apply says so and starts no dependent, and the next plan
// replaces it.
func TestAdoptedCreateFailsWhileSettling(t *testing.T) {
	f := newFixture(t)
	id := makingCluster(t, f, true)
	p := f.plan(t, PlanOptions{}, region(r1))
	if err := f.cloud.SetFailed(id, true); err != nil {
		t.Fatal(err)
	}
	_, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "tainted") {
		t.Fatalf("Apply err = %v, want the adoption to fail saying the cluster is now tainted", err)
	}
	if got, _ := f.state(t, r1).Find(cluster); got.Status != state.StatusTainted {
		t.Errorf("cluster %+v, want tainted", got)
	}
	p = f.plan(t, PlanOptions{}, region(r1))
	if c := changesByAddr(p.Regions[0])[cluster]; !c.Action.IsReplace() {
		t.Fatalf("cluster change %+v, want a replacement", c)
	}
	f.apply(t, p)
	f.checkNoLeaks(t, r1)
}

// TestDeposedWaitsForAdoptedReplacement: a create-before-destroy
// replacement killed after the new pool was created (state: the old one
// deposed, the new one pending) is finished by the next apply in order:
// the new pool is adopted — and waited for — before the deposed one is
// deleted. Before, the plan's two changes ran at once, so the old pool was
// deleted while its replacement was not usable yet (on AKS the delete was
// refused: another operation in progress on the cluster's pools).
func TestDeposedWaitsForAdoptedReplacement(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	old, _ := f.state(t, r1).Find(poolWork)
	bigger := func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Machine = spec.Machine{CPU: 16, MemoryGiB: 64} }
	f.cloud.FailAfterCreateWithID(poolWork, errWaitFailed)
	if _, err := f.eng.Apply(context.Background(), f.plan(t, PlanOptions{}, region(r1, bigger)), ApplyOptions{}); !errors.Is(err, errWaitFailed) {
		t.Fatalf("Apply err = %v, want the interrupted create", err)
	}
	st := f.state(t, r1)
	cur, _ := st.Find(poolWork)
	if cur.Status != state.StatusPending || cur.ID == "" || cur.ID == old.ID {
		t.Fatalf("new pool %+v, want it pending with its ID", cur)
	}
	p := f.plan(t, PlanOptions{}, region(r1, bigger))
	if c := changesByAddr(p.Regions[0])[poolWork]; c.AdoptID != cur.ID {
		t.Fatalf("change %+v, want the adoption of %s", c, cur.ID)
	}
	nodes, err := buildGraph(&p.Regions[0], f.state(t, r1))
	if err != nil {
		t.Fatal(err)
	}
	var adopt, del *node
	for _, n := range nodes {
		switch {
		case n.ch.Address == poolWork && n.ch.AdoptID != "":
			adopt = n
		case n.ch.Address == poolWork && n.ch.DeposedID == old.ID:
			del = n
		}
	}
	if adopt == nil || del == nil || !slices.Contains(del.deps, adopt) {
		t.Fatalf("the delete of the deposed pool does not wait for the adoption of its replacement")
	}
	f.apply(t, p)
	adopted, deleting := -1, -1
	f.events.mu.Lock()
	events := slices.Clone(f.events.events)
	f.events.mu.Unlock()
	for i, e := range events {
		switch {
		case e.Kind == EventFinish && e.Address == poolWork:
			adopted = i
		case e.Kind == EventStart && strings.HasPrefix(e.Address, poolWork+" (deposed"):
			deleting = i
		}
	}
	if adopted < 0 || deleting < adopted {
		t.Errorf("the deposed pool's delete started (event %d) before its replacement was adopted (event %d)", deleting, adopted)
	}
	if _, ok, _ := findObject(f, old.ID); ok {
		t.Errorf("the deposed pool %s is still in the cloud", old.ID)
	}
	f.checkNoLeaks(t, r1)
}
