package plan

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// errWaitFailed is a client-side failure after the cloud accepted a create:
// polling the new object failed, which says nothing about the object.
var errWaitFailed = errors.New("wait for the cluster to become ready: ServerException: 500 (after 10 attempts)")

// failClusterCreate applies region r1 with the cluster's create returning
// its ID and err, and returns the ID state recorded.
func failClusterCreate(t *testing.T, f *fixture, err error) state.Resource {
	t.Helper()
	f.cloud.FailAfterCreateWithID(cluster, err)
	if _, aerr := f.eng.Apply(context.Background(), f.plan(t, PlanOptions{}, region(r1)), ApplyOptions{}); !errors.Is(aerr, err) {
		t.Fatalf("Apply err = %v, want %v", aerr, err)
	}
	r, ok := f.state(t, r1).Find(cluster)
	if !ok || r.ID == "" {
		t.Fatalf("cluster in state %+v, want its ID recorded", r)
	}
	return r
}

// TestClientSideCreateFailureIsNotTainted: a create that returned the
// object's ID with an error that is not providers.ErrCreateFailed (a burst
// of API errors while waiting, a lost connection) leaves the object pending
// with its ID, and the next plan adopts it — the healthy cluster is not
// replaced. Before, any error with an ID tainted the object.
func TestClientSideCreateFailureIsNotTainted(t *testing.T) {
	f := newFixture(t)
	r := failClusterCreate(t, f, errWaitFailed)
	if r.Status != state.StatusPending || r.IdempotencyKey == "" {
		t.Fatalf("cluster %+v, want pending with its ID and key", r)
	}
	p := f.plan(t, PlanOptions{}, region(r1))
	c := changesByAddr(p.Regions[0])[cluster]
	if c.Action != Update || c.AdoptID != r.ID || !strings.Contains(c.Reason, reasonAdopt) {
		t.Fatalf("cluster change %+v, want adoption of %s (no replacement)", c, r.ID)
	}
	for _, ch := range p.Regions[0].Changes {
		if ch.Action.IsReplace() || ch.Action == Delete {
			t.Errorf("the plan after a client-side failure %s %s", ch.Action, ch.Address)
		}
	}
	creates := f.cloud.Calls(memcloud.OpCreate)
	res := f.apply(t, p)
	if got := f.cloud.Calls(memcloud.OpCreate) - creates; got != 5 {
		t.Errorf("%d creates on the rerun, want 5 (the skipped dependents, not the cluster)", got)
	}
	if res.Regions[0].Destroyed != 0 {
		t.Errorf("the rerun destroyed %d objects, want 0", res.Regions[0].Destroyed)
	}
	if got, _ := f.state(t, r1).Find(cluster); got.ID != r.ID || got.Status != state.StatusCreated {
		t.Errorf("cluster after the rerun %+v, want %s created", got, r.ID)
	}
	f.checkNoLeaks(t, r1)
	if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
		t.Error("plan after adoption has changes")
	}
}

// TestCloudReportedCreateFailureIsTainted: only an error wrapping
// providers.ErrCreateFailed taints the object; the next plan replaces it.
func TestCloudReportedCreateFailureIsTainted(t *testing.T) {
	f := newFixture(t)
	r := failClusterCreate(t, f, fmt.Errorf("cluster ended FAILED: %w", providers.ErrCreateFailed))
	if r.Status != state.StatusTainted {
		t.Fatalf("cluster %+v, want tainted", r)
	}
	p := f.plan(t, PlanOptions{}, region(r1))
	if c := changesByAddr(p.Regions[0])[cluster]; c.Action != DeleteThenCreate || c.Reason != reasonTainted {
		t.Errorf("change %+v, want a replacement because tainted", c)
	}
	f.apply(t, p)
	f.checkNoLeaks(t, r1)
	if _, ok, _ := findObject(f, r.ID); ok {
		t.Errorf("the failed cluster %s is still in the cloud", r.ID)
	}
}

// TestPendingWithIDSettledByRefresh: the next refresh reads a pending
// object by its recorded ID — a failed create is replaced, a vanished one is
// created again under the same key, and one no longer desired is deleted.
func TestPendingWithIDSettledByRefresh(t *testing.T) {
	t.Run("cloud reports the create failed", func(t *testing.T) {
		f := newFixture(t)
		r := failClusterCreate(t, f, errWaitFailed)
		if err := f.cloud.SetFailed(r.ID, true); err != nil {
			t.Fatal(err)
		}
		p := f.plan(t, PlanOptions{}, region(r1))
		c := changesByAddr(p.Regions[0])[cluster]
		if !c.Action.IsReplace() || c.Reason != reasonFailed {
			t.Fatalf("cluster change %+v, want a replacement because the create failed", c)
		}
		f.apply(t, p)
		f.checkNoLeaks(t, r1)
		if got, _ := f.state(t, r1).Find(cluster); got.ID == r.ID || got.Status != state.StatusCreated {
			t.Errorf("cluster %+v, want a new one created", got)
		}
		if _, ok, _ := findObject(f, r.ID); ok {
			t.Errorf("the failed cluster %s is still in the cloud", r.ID)
		}
	})
	t.Run("gone from the cloud", func(t *testing.T) {
		f := newFixture(t)
		r := failClusterCreate(t, f, errWaitFailed)
		if err := f.cloud.Remove(r.ID); err != nil {
			t.Fatal(err)
		}
		p := f.plan(t, PlanOptions{}, region(r1))
		c := changesByAddr(p.Regions[0])[cluster]
		if c.Action != Create || c.IdempotencyKey != r.IdempotencyKey || c.AdoptID != "" {
			t.Fatalf("cluster change %+v, want a create again under key %s", c, r.IdempotencyKey)
		}
		f.apply(t, p)
		f.checkNoLeaks(t, r1)
		if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
			t.Error("plan after the retried create has changes")
		}
	})
	t.Run("destroyed", func(t *testing.T) {
		f := newFixture(t)
		r := failClusterCreate(t, f, errWaitFailed)
		p := f.plan(t, PlanOptions{Destroy: true}, region(r1))
		if c := changesByAddr(p.Regions[0])[cluster]; c.Action != Delete || c.AdoptID != r.ID {
			t.Fatalf("cluster change %+v, want a delete of %s", c, r.ID)
		}
		f.apply(t, p)
		if objs := f.cloud.Objects(); len(objs) != 0 {
			t.Errorf("destroy left %d objects: %+v", len(objs), objs)
		}
	})
	t.Run("apply without refresh reads it first", func(t *testing.T) {
		f := newFixture(t)
		r := failClusterCreate(t, f, errWaitFailed)
		p := f.plan(t, PlanOptions{SkipRefresh: true}, region(r1))
		if c := changesByAddr(p.Regions[0])[cluster]; c.Action != Create || c.IdempotencyKey != r.IdempotencyKey {
			t.Fatalf("cluster change %+v, want a create under the pending key", c)
		}
		// A driver without Finder or client tokens: only reading the
		// recorded ID keeps apply from making a second cluster.
		f.drv = noFinder{noIdempotency{memcloud.NewDriver(f.cloud)}}
		f.apply(t, p)
		f.checkNoLeaks(t, r1)
		if got, _ := f.state(t, r1).Find(cluster); got.ID != r.ID || got.Status != state.StatusCreated {
			t.Errorf("cluster %+v, want %s adopted", got, r.ID)
		}
	})
}

// TestCreatedObjectReportedFailedIsReplaced: an object recorded as created
// (adopted while the cloud was still making it) whose Read later says the
// creation failed is replaced by the next plan.
func TestCreatedObjectReportedFailedIsReplaced(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	old, _ := f.state(t, r1).Find(poolWork)
	if err := f.cloud.SetFailed(old.ID, true); err != nil {
		t.Fatal(err)
	}
	p := f.plan(t, PlanOptions{}, region(r1))
	if c := changesByAddr(p.Regions[0])[poolWork]; c.Action != CreateThenDelete || c.Reason != reasonFailed {
		t.Fatalf("pool change %+v, want a create-before-destroy replacement because its create failed", c)
	}
	f.apply(t, p)
	f.checkNoLeaks(t, r1)
	if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
		t.Error("plan after the replacement has changes")
	}
}

func findObject(f *fixture, id string) (memcloud.Object, bool, error) {
	for _, o := range f.cloud.Objects() {
		if o.ID == id {
			return o, true, nil
		}
	}
	return memcloud.Object{}, false, nil
}

// noFinder hides the driver's Finder.
type noFinder struct{ providers.Driver }
