package plan

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// The schema tests use a kit driver with one type, toy_disk, whose zone
// comes from spec.zones (and forces a replacement: the schema says so, the
// resource's ForceNew does not) and whose size comes from the first pool's
// min (changes in place). Version 0 of its schema called the size "size";
// version 1 calls it "size_gb".

type disks struct {
	mu      sync.Mutex
	next    int
	byID    map[string]map[string]any
	updates []string
}

type diskV0 struct {
	Zone string `kit:"zone,replace" why:"a disk cannot move between zones"`
	Size int    `kit:"size"`
}

type diskV1 struct {
	Zone   string `kit:"zone,replace" why:"a disk cannot move between zones"`
	SizeGB int    `kit:"size_gb"`
}

type diskOut struct {
	ID string `kit:"id"`
}

// diskHandler stores a disk's inputs as the kit encodes them.
type diskHandler[In any] struct{ c *disks }

func (h diskHandler[In]) Create(_ context.Context, c *kit.Call[kit.None, In, diskOut]) (string, error) {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	h.c.next++
	id := fmt.Sprintf("disk-%d", h.c.next)
	h.c.byID[id] = map[string]any{"in": c.In}
	return id, nil
}

func (h diskHandler[In]) Read(_ context.Context, c *kit.Call[kit.None, In, diskOut]) (*kit.Live[In, diskOut], error) {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	d, ok := h.c.byID[c.ID]
	if !ok {
		return nil, nil
	}
	return c.Found(d["in"].(In), diskOut{ID: c.ID}), nil
}

func (h diskHandler[In]) Update(_ context.Context, c *kit.Call[kit.None, In, diskOut], changed []string) error {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	h.c.updates = append(h.c.updates, strings.Join(changed, ","))
	h.c.byID[c.ID] = map[string]any{"in": c.In}
	return nil
}

func (h diskHandler[In]) Delete(_ context.Context, c *kit.Call[kit.None, In, diskOut]) error {
	h.c.mu.Lock()
	defer h.c.mu.Unlock()
	delete(h.c.byID, c.ID)
	return nil
}

// toyDriver is the mem driver's capabilities with toy_disk as its only type.
type toyDriver struct {
	*kit.Router
	mem     providers.Driver
	version int
}

func newToy(t *testing.T, c *disks, version int) *toyDriver {
	t.Helper()
	var decl kit.Declaration = kit.Type[kit.None, diskV0, diskOut]{Name: "toy_disk", Handler: diskHandler[diskV0]{c}}
	if version == 1 {
		decl = kit.Type[kit.None, diskV1, diskOut]{Name: "toy_disk", Handler: diskHandler[diskV1]{c}, Upgrades: []kit.Upgrade{renameSize}}
	}
	r, err := kit.New(kit.Options{Name: "toy"}, decl)
	if err != nil {
		t.Fatal(err)
	}
	return &toyDriver{Router: r, mem: memcloud.NewDriver(memcloud.New()), version: version}
}

func renameSize(in, out providers.Values) (providers.Values, providers.Values, error) {
	in["size_gb"] = in["size"]
	delete(in, "size")
	return in, out, nil
}

func (d *toyDriver) Capabilities() providers.Capabilities {
	c := d.mem.Capabilities()
	c.Resources = d.Schemas()
	return c
}

func (d *toyDriver) Expand(_ context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	in := providers.Values{"zone": fmt.Sprintf("z%d", r.Spec.Zones), "size": r.Spec.Cluster.NodePools[0].Min}
	if d.version == 1 {
		in = providers.Values{"zone": fmt.Sprintf("z%d", r.Spec.Zones), "size_gb": r.Spec.Cluster.NodePools[0].Min}
	}
	// No ForceNew: the replacement rule must come from the schema.
	return providers.ExpandResponse{Resources: []providers.Resource{{
		Address: providers.Address(r.Metadata.Name, "toy_disk", "data"), Type: "toy_disk", Inputs: in,
	}}}, nil
}

func toyEngine(store *statetest.Memory, drv providers.Driver) *Engine {
	return &Engine{
		Drivers: func(context.Context, string) (providers.Driver, error) { return drv, nil },
		State:   store,
	}
}

func planApply(t *testing.T, e *Engine, r *spec.Region) *Plan {
	t.Helper()
	p, ds := e.Plan(context.Background(), []*spec.Region{r}, PlanOptions{})
	if ds.HasErrors() {
		t.Fatalf("Plan: %s", ds)
	}
	if _, err := e.Apply(context.Background(), p, ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return p
}

func TestReplacementComesFromTheSchema(t *testing.T) {
	c := &disks{byID: map[string]map[string]any{}}
	e := toyEngine(statetest.NewMemory(), newToy(t, c, 1))
	planApply(t, e, region("r1"))

	p, ds := e.Plan(context.Background(), []*spec.Region{region("r1", func(r *spec.Region) { r.Spec.Zones = 2 })}, PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	ch := p.Regions[0].Changes[0]
	if ch.Action != DeleteThenCreate || ch.Reason != "zone forces replacement (a disk cannot move between zones)" {
		t.Errorf("zone change: %s, reason %q", ch.Action, ch.Reason)
	}
	p, _ = e.Plan(context.Background(), []*spec.Region{region("r1", func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Min = 4 })}, PlanOptions{})
	if ch := p.Regions[0].Changes[0]; ch.Action != Update {
		t.Errorf("size change: %s (%s); want an in-place update", ch.Action, ch.Reason)
	}
}

func TestOlderStateIsUpgraded(t *testing.T) {
	ctx := context.Background()
	c := &disks{byID: map[string]map[string]any{}}
	store := statetest.NewMemory()
	planApply(t, toyEngine(store, newToy(t, c, 0)), region("r1"))
	st, err := store.Read(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Resources[0]; r.SchemaVersion != 0 || r.Inputs["size"] != float64(3) {
		t.Fatalf("written by version 0: %+v", r)
	}
	// The cloud keeps the object; the driver is now at version 1.
	old := c.byID["disk-1"]["in"].(diskV0)
	c.byID["disk-1"] = map[string]any{"in": diskV1{Zone: old.Zone, SizeGB: old.Size}}
	v1 := toyEngine(store, newToy(t, c, 1))

	p, ds := v1.Plan(ctx, []*spec.Region{region("r1")}, PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	rp := p.Regions[0]
	if ch := rp.Changes[0]; ch.Action != NoOp || len(rp.Drift) != 0 {
		t.Errorf("after the upgrade: %s (%s), drift %+v; want no change", ch.Action, ch.Reason, rp.Drift)
	}

	planApply(t, v1, region("r1", func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Min = 5 }))
	if len(c.updates) != 1 || c.updates[0] != "size_gb" {
		t.Errorf("updates %v; want one of size_gb alone (the old key is not a change)", c.updates)
	}
	st, _ = store.Read(ctx, "r1")
	if r := st.Resources[0]; r.SchemaVersion != 1 || r.Inputs["size_gb"] != float64(5) || r.Inputs["size"] != nil {
		t.Errorf("after the update: %+v", r)
	}

	// State from a newer driver is refused, not misread.
	st.Resources[0].SchemaVersion = 2
	st.Serial++
	if err := store.Write(ctx, st, st.Serial-1); err != nil {
		t.Fatal(err)
	}
	_, ds = v1.Plan(ctx, []*spec.Region{region("r1")}, PlanOptions{})
	if !ds.HasErrors() || !strings.Contains(ds.String(), "schema version 2 of toy_disk, but this driver knows versions up to 1") {
		t.Errorf("newer state: %v", ds)
	}
}

func TestDestroyUpgradesBeforeDelete(t *testing.T) {
	ctx := context.Background()
	c := &disks{byID: map[string]map[string]any{}}
	store := statetest.NewMemory()
	planApply(t, toyEngine(store, newToy(t, c, 0)), region("r1"))
	c.byID["disk-1"] = map[string]any{"in": diskV1{Zone: "z3", SizeGB: 3}}
	v1 := toyEngine(store, newToy(t, c, 1))
	p, ds := v1.Plan(ctx, []*spec.Region{region("r1")}, PlanOptions{Destroy: true})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if _, err := v1.Apply(ctx, p, ApplyOptions{}); err != nil {
		t.Fatalf("destroy: %v", err)
	}
	if len(c.byID) != 0 {
		t.Errorf("left %v", c.byID)
	}
	st, _ := store.Read(ctx, "r1")
	if st != nil && len(st.Resources) != 0 {
		t.Errorf("state after destroy: %+v", st.Resources)
	}
}
