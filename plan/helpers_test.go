package plan

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/statetest"
)

// fixture is an engine wired to a memcloud and an in-memory state store.
type fixture struct {
	cloud  *memcloud.Cloud
	drv    providers.Driver
	store  *statetest.Memory
	eng    *Engine
	events *eventLog
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{cloud: memcloud.New(), store: statetest.NewMemory(), events: &eventLog{}}
	f.drv = memcloud.NewDriver(f.cloud)
	f.eng = &Engine{
		Drivers: func(ctx context.Context, provider string) (providers.Driver, error) {
			if provider != "mem" {
				return nil, fmt.Errorf("no driver named %q", provider)
			}
			return f.drv, nil
		},
		State:    f.store,
		Observer: f.events,
	}
	return f
}

// region returns a typical region (15 resources) changed by mods.
func region(name string, mods ...func(*spec.Region)) *spec.Region {
	r := &spec.Region{
		APIVersion: spec.APIVersion, Kind: spec.KindRegion,
		Metadata: spec.Metadata{Name: name},
		Spec: spec.RegionSpec{
			Provider: "mem", Location: "mem-east-1", Zones: 3,
			Network: spec.Network{CIDR: "10.20.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.33", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 3, Max: 6},
				{Name: "work", Machine: spec.Machine{CPU: 8, MemoryGiB: 32}, Min: 0, Max: 20, Labels: map[string]string{"tier": "work"}},
			}},
			StorageClasses: []spec.StorageClass{{Name: "fast", Tier: "ssd", Default: true}, {Name: "slow", Tier: "standard"}},
			LoadBalancers: []spec.LoadBalancer{{Name: "web", Scheme: "external",
				Ports: []spec.Port{{Port: 443, TargetPort: 8443}}, Selector: map[string]string{"app": "web"}}},
		},
	}
	for _, m := range mods {
		m(r)
	}
	return r
}

func addr(region, typ, name string) string { return providers.Address(region, typ, name) }

func (f *fixture) plan(t *testing.T, opts PlanOptions, regions ...*spec.Region) *Plan {
	t.Helper()
	p, ds := f.eng.Plan(context.Background(), regions, opts)
	if ds.HasErrors() {
		t.Fatalf("Plan: %s", ds)
	}
	return p
}

func (f *fixture) apply(t *testing.T, p *Plan) *ApplyResult {
	t.Helper()
	res, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return res
}

// converge plans and applies the regions.
func (f *fixture) converge(t *testing.T, regions ...*spec.Region) *ApplyResult {
	t.Helper()
	return f.apply(t, f.plan(t, PlanOptions{}, regions...))
}

func (f *fixture) state(t *testing.T, region string) *state.State {
	t.Helper()
	st, err := f.store.Read(context.Background(), region)
	if err != nil {
		t.Fatalf("read state: %v", err)
	}
	return st
}

// checkNoLeaks fails when the cloud holds an object state does not know
// (by ID, or by idempotency key for a pending create), or one address twice.
func (f *fixture) checkNoLeaks(t *testing.T, regions ...string) {
	t.Helper()
	known := map[string]bool{}
	for _, r := range regions {
		st, err := f.store.Read(context.Background(), r)
		if err != nil {
			continue
		}
		for _, res := range st.Resources {
			if res.ID != "" {
				known[res.ID] = true
			}
			if res.Status == state.StatusPending {
				known["key:"+res.IdempotencyKey] = true
			}
		}
	}
	byAddr := map[string]string{}
	for _, o := range f.cloud.Objects() {
		// A pending create is tracked by its key: the next plan finds it.
		if !known[o.ID] && !known["key:"+o.Tags[memcloud.TagIdempotencyKey]] {
			t.Errorf("cloud object %s (%s) is not in state: leaked", o.ID, o.Address())
		}
		if prev, dup := byAddr[o.Address()]; dup {
			t.Errorf("cloud holds %s twice: %s and %s", o.Address(), prev, o.ID)
		}
		byAddr[o.Address()] = o.ID
	}
}

func changesByAddr(rp RegionPlan) map[string]Change {
	m := map[string]Change{}
	for _, c := range rp.Changes {
		k := c.Address
		if c.DeposedID != "" {
			k += " (deposed)"
		}
		m[k] = c
	}
	return m
}

// eventLog records observer events.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	// notify, when set, receives every event (must not block for long).
	notify func(Event)
}

func (l *eventLog) OnEvent(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	fn := l.notify
	l.mu.Unlock()
	if fn != nil {
		fn(e)
	}
}

func (l *eventLog) of(kind EventKind) []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

// opRecord is one driver call seen by recordingDriver.
type opRecord struct {
	op, address string
	start       bool
	seq         int
}

// recordingDriver wraps the mem driver to log the order of calls, track
// the maximum concurrency of mutating calls, and optionally hold calls at a
// barrier.
type recordingDriver struct {
	*memcloud.Driver
	mu       sync.Mutex
	seq      int
	log      []opRecord
	inFlight int
	max      int
	// barrier, when set, is called inside every mutating call.
	barrier func(op, address string)
}

func (d *recordingDriver) enter(op, address string) {
	d.mu.Lock()
	d.seq++
	d.log = append(d.log, opRecord{op: op, address: address, start: true, seq: d.seq})
	d.inFlight++
	d.max = max(d.max, d.inFlight)
	b := d.barrier
	d.mu.Unlock()
	if b != nil {
		b(op, address)
	}
}

func (d *recordingDriver) exit(op, address string) {
	d.mu.Lock()
	d.seq++
	d.log = append(d.log, opRecord{op: op, address: address, seq: d.seq})
	d.inFlight--
	d.mu.Unlock()
}

func (d *recordingDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	d.enter("create", req.Address)
	defer d.exit("create", req.Address)
	return d.Driver.Create(ctx, req)
}

func (d *recordingDriver) Update(ctx context.Context, req providers.UpdateRequest) (providers.UpdateResponse, error) {
	d.enter("update", req.Instance.Address)
	defer d.exit("update", req.Instance.Address)
	return d.Driver.Update(ctx, req)
}

func (d *recordingDriver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	d.enter("delete", req.Instance.Address)
	defer d.exit("delete", req.Instance.Address)
	return d.Driver.Delete(ctx, req)
}

// span returns when each address's op started and ended (sequence numbers).
func (d *recordingDriver) span(op string) (start, end map[string]int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	start, end = map[string]int{}, map[string]int{}
	for _, r := range d.log {
		if r.op != op {
			continue
		}
		if r.start {
			start[r.address] = r.seq
		} else {
			end[r.address] = r.seq
		}
	}
	return start, end
}

// newBarrier returns a function that blocks until n callers are inside it
// at once, failing the test if that does not happen within the timeout
// (which only bounds a broken engine; a working one never waits for it).
func newBarrier(t *testing.T, n int, match func(op, address string) bool) func(op, address string) {
	var mu sync.Mutex
	arrived := 0
	all := make(chan struct{})
	return func(op, address string) {
		if !match(op, address) {
			return
		}
		mu.Lock()
		arrived++
		if arrived == n {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
		case <-time.After(20 * time.Second):
			t.Errorf("barrier: only %d of %d operations ran concurrently (waiting in %s %s)", arrived, n, op, address)
		}
	}
}
