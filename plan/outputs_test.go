package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// endpointUser makes storage classes need the cluster's endpoint, as the
// real drivers' in-cluster objects need its endpoint and CA, and refuses to
// create one with an empty endpoint (GKE: "cluster CA is neither PEM nor
// base64 of PEM").
type endpointUser struct{ *memcloud.Driver }

func (d endpointUser) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	resp, err := d.Driver.Expand(ctx, req)
	for i, r := range resp.Resources {
		if r.Type == memcloud.TypeStorageClass {
			resp.Resources[i].Inputs["endpoint"] = providers.Ref(cluster, "endpoint")
		}
	}
	return resp, err
}

func (d endpointUser) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if req.Type == memcloud.TypeStorageClass && req.Inputs["endpoint"] == "" {
		return providers.CreateResponse{}, fmt.Errorf("%s: the cluster's endpoint is empty", req.Address)
	}
	return d.Driver.Create(ctx, req)
}

// TestRefreshRepairsIncompleteOutputs: state recorded the cluster with an
// output its dependents need left empty (older versions recorded a GKE
// cluster adopted while PROVISIONING with an empty CA), so creating the
// dependents failed. The next plan's refresh reads the output, the plan
// says it records it, and apply writes it to state and hands it to the
// dependents — no hand edit of state. Before, refresh saw the endpoint but
// apply resolved references from state's empty one, and failed again.
func TestRefreshRepairsIncompleteOutputs(t *testing.T) {
	f := newFixture(t)
	f.drv = endpointUser{memcloud.NewDriver(f.cloud)}
	ctx := context.Background()
	f.converge(t, region(r1))

	// Make state look as an older regionctl left it: the cluster recorded
	// without its endpoint, the storage classes never created.
	st := f.state(t, r1)
	next := st.Clone()
	cl, _ := next.Find(cluster)
	cl.Outputs["endpoint"] = ""
	next.Put(cl)
	for _, sc := range []string{scFast, scSlow} {
		r, _ := next.Find(sc)
		if err := f.cloud.Remove(r.ID); err != nil {
			t.Fatal(err)
		}
		next.Remove(sc)
	}
	next.Serial++
	if err := f.store.Write(ctx, next, st.Serial); err != nil {
		t.Fatal(err)
	}

	p := f.plan(t, PlanOptions{}, region(r1))
	c := changesByAddr(p.Regions[0])[cluster]
	if c.Action != Update || !strings.Contains(c.Reason, "endpoint") {
		t.Errorf("cluster change %s (%s), want an update recording the endpoint state lacks", c.Action, c.Reason)
	}
	if got := p.Regions[0].Outputs[cluster]["endpoint"]; !strings.HasPrefix(fmt.Sprint(got), "https://") {
		t.Errorf("the plan carries the cluster's endpoint as %v, want the live one", got)
	}
	res, err := f.eng.Apply(ctx, p, ApplyOptions{})
	if err != nil {
		t.Fatalf("apply after refresh: %v", err)
	}
	if res.Regions[0].Added != 2 || res.Regions[0].Changed != 0 {
		t.Errorf("apply added %d, changed %d; want the 2 storage classes added and nothing changed in the cloud", res.Regions[0].Added, res.Regions[0].Changed)
	}
	got, _ := f.state(t, r1).Find(cluster)
	if ep, _ := got.Outputs["endpoint"].(string); !strings.HasPrefix(ep, "https://") {
		t.Errorf("state records the cluster's endpoint as %q after the apply, want the live one", ep)
	}
	f.checkNoLeaks(t, r1)
	if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
		t.Errorf("plan after the repair has changes: %+v", again.Regions[0].Changes)
	}
}

// TestChangedOutputsRecordedQuietly: an output that changed in the cloud
// (not one state lacked) is no change of its own in the plan, but an apply
// that runs for another reason records it.
func TestChangedOutputsRecordedQuietly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.converge(t, region(r1))
	st := f.state(t, r1)
	next := st.Clone()
	cl, _ := next.Find(cluster)
	live := cl.Outputs["endpoint"]
	cl.Outputs["endpoint"] = "https://old.example"
	next.Put(cl)
	next.Serial++
	if err := f.store.Write(ctx, next, st.Serial); err != nil {
		t.Fatal(err)
	}
	if p := f.plan(t, PlanOptions{}, region(r1)); p.HasChanges() {
		t.Fatalf("a changed (not missing) output makes a change: %+v", p.Regions[0].Changes)
	}
	bigger := func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 }
	f.apply(t, f.plan(t, PlanOptions{}, region(r1, bigger)))
	if got, _ := f.state(t, r1).Find(cluster); got.Outputs["endpoint"] != live {
		t.Errorf("state records the endpoint as %v after an apply, want the live %v", got.Outputs["endpoint"], live)
	}
}
