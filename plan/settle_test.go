package plan

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
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
