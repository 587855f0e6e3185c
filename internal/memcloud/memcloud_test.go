package memcloud

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

func testRegion() *spec.Region {
	return &spec.Region{
		Metadata: spec.Metadata{Name: "eu1"},
		Spec: spec.RegionSpec{
			Provider: "mem", Location: "mem-east-1", Zones: 3,
			Network: spec.Network{CIDR: "10.20.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.33", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 3, Max: 6},
				{Name: "work", Machine: spec.Machine{CPU: 8, MemoryGiB: 32}, Min: 0, Max: 20},
			}},
			StorageClasses: []spec.StorageClass{{Name: "fast", Tier: "ssd", Default: true}, {Name: "slow", Tier: "standard"}},
			LoadBalancers:  []spec.LoadBalancer{{Name: "web", Scheme: "external", Ports: []spec.Port{{Port: 443}}, Selector: map[string]string{"app": "web"}}},
		},
	}
}

func TestExpandTypicalRegion(t *testing.T) {
	d := NewDriver(New())
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: testRegion()})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	if len(resp.Resources) != 15 {
		t.Errorf("got %d resources, want 15", len(resp.Resources))
	}
	seen := map[string]bool{}
	for _, r := range resp.Resources {
		if seen[r.Address] {
			t.Errorf("duplicate address %s", r.Address)
		}
		seen[r.Address] = true
	}
	for _, r := range resp.Resources {
		for _, dep := range append(providers.Refs(map[string]any(r.Inputs)), r.DependsOn...) {
			if !seen[dep] {
				t.Errorf("%s refers to unknown %s", r.Address, dep)
			}
		}
	}
	if len(resp.Notes) != 2 || resp.Notes[0] != "node pool system: machine {cpu 4, memory 16 GiB} → mem.large" {
		t.Errorf("notes = %q", resp.Notes)
	}
}

func TestCreateIsIdempotent(t *testing.T) {
	tests := []struct {
		name       string
		failAfter  bool
		wantErr    bool
		wantObject int
	}{
		{name: "plain retry", wantObject: 1},
		{name: "response lost then retry", failAfter: true, wantErr: true, wantObject: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			d := NewDriver(c)
			ctx := context.Background()
			req := providers.CreateRequest{Address: "r/mem_network.main", Type: TypeNetwork, Inputs: providers.Values{"cidr": "10.0.0.0/16"}, IdempotencyKey: "k1"}
			if tt.failAfter {
				c.FailAfterCreate(req.Address, nil)
			}
			_, err := d.Create(ctx, req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("first create err = %v", err)
			}
			f, err := d.Find(ctx, providers.FindRequest{Address: req.Address, Type: req.Type, IdempotencyKey: "k1"})
			if err != nil || !f.Found {
				t.Fatalf("Find = %+v, %v", f, err)
			}
			again, err := d.Create(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			if again.ID != f.ID {
				t.Errorf("retry made %s, want existing %s", again.ID, f.ID)
			}
			if n := len(c.Objects()); n != tt.wantObject {
				t.Errorf("cloud holds %d objects, want %d", n, tt.wantObject)
			}
		})
	}
}

func TestFileCloudSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cloud.json")
	c1, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d := NewDriver(c1)
	res, err := d.Create(ctx, providers.CreateRequest{Address: "r/mem_network.main", Type: TypeNetwork, Inputs: providers.Values{"cidr": "10.0.0.0/16"}, IdempotencyKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := c2.Mutate(res.ID, func(in map[string]any) { in["cidr"] = "10.9.0.0/16" }); err != nil {
		t.Fatal(err)
	}
	got, err := NewDriver(c1).Read(ctx, providers.ReadRequest{Instance: providers.Instance{ID: res.ID, Type: TypeNetwork}})
	if err != nil || !got.Exists || got.Inputs["cidr"] != "10.9.0.0/16" {
		t.Fatalf("Read after another process's edit = %+v, %v", got, err)
	}
	if _, err := NewDriver(c2).Delete(ctx, providers.DeleteRequest{Instance: providers.Instance{ID: res.ID, Type: TypeNetwork}}); err != nil {
		t.Fatal(err)
	}
	if n := len(c1.Objects()); n != 0 {
		t.Errorf("objects after delete: %d", n)
	}
	// Deleting what is gone succeeds.
	if _, err := NewDriver(c1).Delete(ctx, providers.DeleteRequest{Instance: providers.Instance{ID: res.ID, Type: TypeNetwork}}); err != nil {
		t.Errorf("delete of missing object: %v", err)
	}
}

func TestFailOnNth(t *testing.T) {
	c := New()
	d := NewDriver(c)
	boom := errors.New("boom")
	c.FailOn(OpCreate, "r/mem_network.b", 2, boom)
	ctx := context.Background()
	for i, want := range []error{nil, boom, nil} {
		_, err := d.Create(ctx, providers.CreateRequest{Address: "r/mem_network.b", Type: TypeNetwork, Inputs: providers.Values{}})
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("call %d: err = %v, want %v", i+1, err, want)
		}
	}
	if c.Calls(OpCreate) != 3 {
		t.Errorf("Calls(create) = %d", c.Calls(OpCreate))
	}
}

func TestClusterUpgradeOneMinorAtATime(t *testing.T) {
	c := New()
	d := NewDriver(c)
	ctx := context.Background()
	res, err := d.Create(ctx, providers.CreateRequest{Address: "r/mem_cluster.main", Type: TypeCluster, Inputs: providers.Values{"version": "1.31"}})
	if err != nil {
		t.Fatal(err)
	}
	inst := providers.Instance{Address: "r/mem_cluster.main", Type: TypeCluster, ID: res.ID}
	if _, err := d.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: providers.Values{"version": "1.33"}}); err == nil {
		t.Error("skipping a minor succeeded")
	}
	if _, err := d.Update(ctx, providers.UpdateRequest{Instance: inst, Inputs: providers.Values{"version": "1.32"}}); err != nil {
		t.Errorf("one minor: %v", err)
	}
}

// TestCancelledContextFailsEveryCall checks that a call made with an
// already cancelled context fails with context.Canceled and changes nothing,
// also when no latency is configured (the drivertest suite's Cancellation
// check caught Create succeeding).
func TestCancelledContextFailsEveryCall(t *testing.T) {
	const addr = "r/mem_network.main"
	tests := []struct {
		name string
		op   string
		call func(ctx context.Context, d *Driver, id string) error
	}{
		{name: "create", op: OpCreate, call: func(ctx context.Context, d *Driver, _ string) error {
			_, err := d.Create(ctx, providers.CreateRequest{Address: addr, Type: TypeNetwork, Inputs: providers.Values{"cidr": "10.1.0.0/16"}, IdempotencyKey: "k2"})
			return err
		}},
		{name: "read", op: OpRead, call: func(ctx context.Context, d *Driver, id string) error {
			_, err := d.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: addr, ID: id, Type: TypeNetwork}})
			return err
		}},
		{name: "read many", op: OpList, call: func(ctx context.Context, d *Driver, id string) error {
			_, err := d.ReadMany(ctx, []providers.ReadRequest{{Instance: providers.Instance{Address: addr, ID: id, Type: TypeNetwork}}})
			return err
		}},
		{name: "update", op: OpUpdate, call: func(ctx context.Context, d *Driver, id string) error {
			_, err := d.Update(ctx, providers.UpdateRequest{Instance: providers.Instance{Address: addr, ID: id, Type: TypeNetwork, Inputs: providers.Values{"cidr": "10.0.0.0/16"}},
				Inputs: providers.Values{"cidr": "10.0.0.0/16", "extra": "x"}, Changed: []string{"extra"}})
			return err
		}},
		{name: "delete", op: OpDelete, call: func(ctx context.Context, d *Driver, id string) error {
			_, err := d.Delete(ctx, providers.DeleteRequest{Instance: providers.Instance{Address: addr, ID: id, Type: TypeNetwork}})
			return err
		}},
		{name: "find", op: OpFind, call: func(ctx context.Context, d *Driver, _ string) error {
			_, err := d.Find(ctx, providers.FindRequest{Address: addr, Type: TypeNetwork, IdempotencyKey: "k1"})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New()
			d := NewDriver(c)
			made, err := d.Create(context.Background(), providers.CreateRequest{Address: addr, Type: TypeNetwork, Inputs: providers.Values{"cidr": "10.0.0.0/16"}, IdempotencyKey: "k1"})
			if err != nil {
				t.Fatal(err)
			}
			before := c.Objects()
			calls := c.Calls(tt.op)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := tt.call(ctx, d, made.ID); !errors.Is(err, context.Canceled) {
				t.Errorf("%s with a cancelled context: err = %v, want context.Canceled", tt.name, err)
			}
			if after := c.Objects(); len(after) != len(before) || after[0].ID != before[0].ID || len(after[0].Inputs) != len(before[0].Inputs) {
				t.Errorf("cloud changed: before %+v, after %+v", before, after)
			}
			if got := c.Calls(tt.op); got != calls {
				t.Errorf("Calls(%s) = %d, want %d: a cancelled call never reached the cloud", tt.op, got, calls)
			}
		})
	}
}
