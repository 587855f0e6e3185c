package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// forget removes addrs from region's state, as `regionctl state rm` does:
// the cloud objects stay.
func (f *fixture) forget(t *testing.T, region string, addrs ...string) map[string]string {
	t.Helper()
	st := f.state(t, region)
	next := st.Clone()
	ids := map[string]string{}
	for _, a := range addrs {
		r, ok := st.Find(a)
		if !ok || !next.Remove(a) {
			t.Fatalf("%s is not in state", a)
		}
		ids[a] = r.ID
	}
	next.Serial = st.Serial + 1
	if err := f.store.Write(context.Background(), next, st.Serial); err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestStateRmThenPlanAdoptsTaggedObjects: after `state rm` of objects that
// still exist, the next plan adopts them — found by the region's tags for
// their addresses — instead of creating second copies; apply records them
// and the cloud holds each address once.
func TestStateRmThenPlanAdoptsTaggedObjects(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	ids := f.forget(t, r1, network, cluster, poolWork)

	p := f.plan(t, PlanOptions{}, region(r1))
	changes := changesByAddr(p.Regions[0])
	for a, id := range ids {
		c := changes[a]
		if c.Action != Update || c.AdoptID != id || c.Adoption != AdoptTagged || !c.AdoptOnly() ||
			!strings.Contains(c.Reason, "state does not know it, but it carries this region's tags") {
			t.Errorf("%s: change %+v, want the adoption of %s found by its tags", a, c, id)
		}
	}
	if c := p.Counts(); c.Import != 3 || c.Add != 0 || c.Change != 0 || c.Destroy != 0 {
		t.Errorf("counts %+v, want 3 to import and nothing else", c)
	}
	creates := f.cloud.Calls(memcloud.OpCreate)
	f.apply(t, p)
	if n := f.cloud.Calls(memcloud.OpCreate) - creates; n != 0 {
		t.Errorf("apply created %d objects, want 0", n)
	}
	for a, id := range ids {
		if got, _ := f.state(t, r1).Find(a); got.ID != id || got.Status != state.StatusCreated || (a == cluster && !got.Stateful) || len(got.Dependencies) == 0 && a != network {
			t.Errorf("%s in state %+v, want %s created with its dependencies", a, got, id)
		}
	}
	f.checkNoLeaks(t, r1)
	if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
		t.Errorf("plan after the adoption has changes: %+v", again.Regions[0].Changes)
	}
}

// TestTaggedAdoptionWaitsForDependencies: a resource whose dependency is
// created by the plan is not looked for (it cannot exist yet); one whose
// dependency is adopted is, and its adoption diffs against the spec.
func TestTaggedAdoptionWaitsForDependencies(t *testing.T) {
	f := newFixture(t)
	p := f.plan(t, PlanOptions{}, region(r1))
	if finds := f.cloud.Calls(memcloud.OpFind); finds != 2 {
		t.Errorf("the first plan of a new region looked for %d objects, want 2 (the network and the address: nothing else can exist before them)", finds)
	}
	if p.Counts().Import != 0 {
		t.Errorf("a new region imports %d objects", p.Counts().Import)
	}

	f.converge(t, region(r1))
	ids := f.forget(t, r1, cluster, poolSys)
	bigger := region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 })
	changes := changesByAddr(f.plan(t, PlanOptions{}, bigger).Regions[0])
	if c := changes[poolSys]; c.AdoptID != ids[poolSys] || c.Action != Update || c.AdoptOnly() {
		t.Errorf("pool change %+v, want the adoption of %s and an update of max", c, ids[poolSys])
	}
}

// TestTaggedObjectManagedElsewhereIsNotAdopted: an object that carries an
// address's tags but that state manages elsewhere (moved to another
// region's state) is not adopted twice; the plan says so and creates.
func TestTaggedObjectManagedElsewhereIsNotAdopted(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	work, _ := f.state(t, r1).Find(poolWork)
	f.forget(t, r1, poolWork)
	other := state.New("eu2", "mem", "lineage-eu2")
	work.Address = addr("eu2", memcloud.TypeNodePool, "moved")
	other.Put(work)
	other.Serial = 1
	if err := f.store.Write(context.Background(), other, 0); err != nil {
		t.Fatal(err)
	}
	p, ds := f.eng.Plan(context.Background(), []*spec.Region{region(r1)}, PlanOptions{})
	if ds.HasErrors() || len(ds) != 1 || !strings.Contains(ds[0].Summary, "state manages it as eu2/mem_node_pool.moved") {
		t.Fatalf("want one warning naming where the object is managed, got:\n%s", ds)
	}
	if c := changesByAddr(p.Regions[0])[poolWork]; c.Action != Create || c.AdoptID != "" {
		t.Errorf("pool change %+v, want a create", c)
	}
}

// TestTaggedAdoptionNeedsAFinder: a driver without Finder cannot look; the
// plan creates (as before).
func TestTaggedAdoptionNeedsAFinder(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	f.forget(t, r1, poolWork)
	f.drv = noFinder{f.drv}
	if c := changesByAddr(f.plan(t, PlanOptions{}, region(r1)).Regions[0])[poolWork]; c.Action != Create {
		t.Errorf("pool change %+v, want a create", c)
	}
}

// outOfBand makes an object the way another tool would, at an address of
// another region, and returns its ID.
func (f *fixture) outOfBand(t *testing.T, typ string, in providers.Values) string {
	t.Helper()
	resp, err := f.drv.Create(context.Background(), providers.CreateRequest{Address: addr("legacy", typ, "x"), Type: typ, Inputs: in, IdempotencyKey: "legacy-" + typ})
	if err != nil {
		t.Fatal(err)
	}
	return resp.ID
}

func withImport(to, id string) func(*spec.Region) {
	return func(r *spec.Region) { r.Spec.Import = append(r.Spec.Import, spec.Import{To: to, ID: id}) }
}

// TestImportBlock: an import block adopts an existing object into state:
// the plan shows the import (and any difference to the spec), apply
// records it and creates the rest around it, and the block then plans
// nothing.
func TestImportBlock(t *testing.T) {
	f := newFixture(t)
	netID := f.outOfBand(t, memcloud.TypeNetwork, providers.Values{"name": r1, "cidr": "10.20.0.0/16", "location": "mem-east-1"})
	r := region(r1, withImport("network", netID))
	p := f.plan(t, PlanOptions{}, r)
	c := changesByAddr(p.Regions[0])[network]
	if c.Action != Update || c.AdoptID != netID || c.Adoption != AdoptImport || !c.AdoptOnly() || c.Reason != "importing "+netID {
		t.Fatalf("network change %+v, want the import of %s", c, netID)
	}
	if n := p.Counts(); n.Import != 1 || n.Add != 14 || n.Change != 0 {
		t.Errorf("counts %+v, want 1 import and 14 to add", n)
	}
	f.apply(t, p)
	if got, _ := f.state(t, r1).Find(network); got.ID != netID || got.Status != state.StatusCreated {
		t.Errorf("network in state %+v, want %s", got, netID)
	}
	for _, o := range f.cloud.Objects() {
		if o.Type == memcloud.TypeSubnet && o.Inputs["network_id"] != netID {
			t.Errorf("subnet %s is in network %v, want the imported %s", o.ID, o.Inputs["network_id"], netID)
		}
	}
	f.checkNoLeaks(t, r1)
	if again := f.plan(t, PlanOptions{}, r); again.HasChanges() {
		t.Errorf("the import block plans again: %+v", again.Regions[0].Changes)
	}
}

// TestImportBlockShowsDifferences: an imported object that differs from
// the spec is imported and then changed (or replaced) by the same apply.
func TestImportBlockShowsDifferences(t *testing.T) {
	f := newFixture(t)
	netID := f.outOfBand(t, memcloud.TypeNetwork, providers.Values{"name": r1, "cidr": "10.99.0.0/16", "location": "mem-east-1"})
	p := f.plan(t, PlanOptions{AllowDestroy: true}, region(r1, withImport(network, netID)))
	c := changesByAddr(p.Regions[0])[network]
	if c.Action != DeleteThenCreate || c.AdoptID != netID || !strings.HasPrefix(c.Reason, "importing "+netID+"; cidr forces replacement") {
		t.Fatalf("network change %+v, want the import then a replacement for the cidr", c)
	}
	if n := p.Counts(); n.Import != 1 || n.Replace != 1 {
		t.Errorf("counts %+v", n)
	}
}

// TestImportBlockRefusals: an ID that does not exist, one state already
// manages, a place already managed and a resource the driver has no
// element for are refused at the import block's id or to, before anything
// is changed.
func TestImportBlockRefusals(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region("eu2"))
	eu2Net, _ := f.state(t, "eu2").Find(addr("eu2", memcloud.TypeNetwork, "main"))
	tests := []struct {
		name, to, id string
		wantPath     string
		want         string
	}{
		{"missing", "network", "net-404", "spec.import[0].id", `no mem_network with ID "net-404" exists`},
		{"managed elsewhere", "network", eu2Net.ID, "spec.import[0].id", "is already managed as eu2/mem_network.main"},
		{"no such element", "storageClasses.nope", "x", "spec.import[0].to", "no resource of region eu1 realises storageClasses.nope"},
		{"no such address", "mem_network.other", "x", "spec.import[0].to", "region eu1 has no resource eu1/mem_network.other"},
		{"dependency not in state", "cluster.nodePools.work", "pool-1", "spec.import[0].id", "(the driver may need eu1/mem_cluster.main#id, "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ds := f.eng.Plan(context.Background(), []*spec.Region{region(r1, withImport(tt.to, tt.id))}, PlanOptions{})
			if len(ds) != 1 || ds[0].Path != tt.wantPath || !strings.Contains(ds[0].Summary, tt.want) {
				t.Fatalf("want one error at %s saying %q, got:\n%s", tt.wantPath, tt.want, ds)
			}
		})
	}
	t.Run("place already managed", func(t *testing.T) {
		other := f.outOfBand(t, memcloud.TypeNetwork, providers.Values{"name": "eu2", "cidr": "10.20.0.0/16", "location": "mem-east-1"})
		_, ds := f.eng.Plan(context.Background(), []*spec.Region{region("eu2", withImport("network", other))}, PlanOptions{})
		if len(ds) != 1 || !strings.Contains(ds[0].Summary, "eu2/mem_network.main is already managed (ID "+eu2Net.ID+")") || !strings.Contains(ds[0].Fix, "state rm") {
			t.Fatalf("got:\n%s", ds)
		}
	})
}

// TestEngineImport: Import records an existing object at once, with the
// inputs the cloud reports; the next plan diffs against it; importing it
// again is a no-op, and importing a node pool uses its cluster's outputs
// from state.
func TestEngineImport(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	clusterID := f.outOfBand(t, memcloud.TypeCluster, providers.Values{"name": r1, "version": "1.32", "endpoint_access": "public", "subnet_ids": []any{}})
	if _, ds := f.eng.Import(ctx, region(r1), ImportRequest{To: "cluster.nodePools.work", ID: "x"}); !ds.HasErrors() || !strings.Contains(ds.String(), "import eu1/mem_cluster.main first") {
		t.Fatalf("import of a pool before its cluster: %v", ds)
	}
	res, ds := f.eng.Import(ctx, region(r1), ImportRequest{To: "cluster", ID: clusterID})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if res.Address != cluster || res.ID != clusterID || res.Already || res.Inputs["version"] != "1.32" || res.Serial != 1 {
		t.Fatalf("result %+v", res)
	}
	got, _ := f.state(t, r1).Find(cluster)
	if got.ID != clusterID || got.Status != state.StatusCreated || !got.Stateful || got.Inputs["version"] != "1.32" {
		t.Errorf("cluster in state %+v", got)
	}
	if again, _ := f.eng.Import(ctx, region(r1), ImportRequest{To: cluster, ID: clusterID}); again == nil || !again.Already || again.Serial != 1 {
		t.Errorf("importing again: %+v, want already managed and no write", again)
	}
	p := f.plan(t, PlanOptions{}, region(r1))
	c := changesByAddr(p.Regions[0])[cluster]
	if !c.Action.IsReplace() || !strings.Contains(c.Reason, "subnet_ids") {
		t.Errorf("cluster change %+v, want a replacement: its subnets are not the spec's", c)
	}
}
