package plan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

const r1 = "eu1"

var (
	network  = addr(r1, memcloud.TypeNetwork, "main")
	subnetA  = addr(r1, memcloud.TypeSubnet, "zone-a")
	natA     = addr(r1, memcloud.TypeNAT, "zone-a")
	router   = addr(r1, memcloud.TypeRouter, "main")
	cluster  = addr(r1, memcloud.TypeCluster, "main")
	poolSys  = addr(r1, memcloud.TypeNodePool, "system")
	poolWork = addr(r1, memcloud.TypeNodePool, "work")
	scFast   = addr(r1, memcloud.TypeStorageClass, "fast")
	scSlow   = addr(r1, memcloud.TypeStorageClass, "slow")
	ipWeb    = addr(r1, memcloud.TypeAddress, "web")
	lbWeb    = addr(r1, memcloud.TypeLoadBalancer, "web")
)

func TestFirstPlanCreatesEverythingInDependencyOrder(t *testing.T) {
	f := newFixture(t)
	p := f.plan(t, PlanOptions{}, region(r1))
	rp := p.Regions[0]
	if len(rp.Changes) != 15 {
		t.Fatalf("got %d changes, want 15", len(rp.Changes))
	}
	pos := map[string]int{}
	for i, c := range rp.Changes {
		if c.Action != Create || c.IdempotencyKey == "" {
			t.Errorf("%s: action %v key %q, want create with a key", c.Address, c.Action, c.IdempotencyKey)
		}
		pos[c.Address] = i
	}
	for _, d := range rp.Desired {
		for _, dep := range resourceDeps(&d) {
			if pos[dep] > pos[d.Address] {
				t.Errorf("%s comes before its dependency %s", d.Address, dep)
			}
		}
	}
	if got := p.Counts(); got != (Counts{Add: 15}) {
		t.Errorf("Counts = %+v", got)
	}
	if len(rp.Notes) == 0 {
		t.Error("plan carries no driver notes")
	}
}

func TestDiffActions(t *testing.T) {
	replaced := func(a Action) bool { return a.IsReplace() }
	tests := []struct {
		name   string
		change func(*spec.Region)
		// want maps address to the expected action; addresses not listed
		// must be NoOp.
		want map[string]Action
		// wantReplaced lists addresses that must be replaced, either way.
		wantReplaced []string
		wantPaths    map[string][]string
		wantReason   map[string]string
	}{
		{name: "no change", change: func(*spec.Region) {}},
		{
			name:   "in-place pool size",
			change: func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 },
			want:   map[string]Action{poolSys: Update},
		},
		{
			name:   "cluster version upgrade is in place",
			change: func(r *spec.Region) { r.Spec.Cluster.KubernetesVersion = "1.34" },
			want:   map[string]Action{cluster: Update},
		},
		{
			name: "machine type forces create-before-destroy replacement",
			change: func(r *spec.Region) {
				r.Spec.Cluster.NodePools[1].Machine.CPU = 16
				r.Spec.Cluster.NodePools[1].Machine.MemoryGiB = 64
			},
			want:       map[string]Action{poolWork: CreateThenDelete},
			wantPaths:  map[string][]string{poolWork: {"machine_type"}},
			wantReason: map[string]string{poolWork: "machine_type forces replacement"},
		},
		{
			name:       "storage class tier forces delete-then-create",
			change:     func(r *spec.Region) { r.Spec.StorageClasses[1].Tier = "ssd" },
			want:       map[string]Action{scSlow: DeleteThenCreate},
			wantPaths:  map[string][]string{scSlow: {"disk_type"}},
			wantReason: map[string]string{scSlow: "disk_type forces replacement"},
		},
		{
			name: "new and removed resources",
			change: func(r *spec.Region) {
				r.Spec.StorageClasses = append(r.Spec.StorageClasses, spec.StorageClass{Name: "bulk", Tier: "standard"})
				r.Spec.LoadBalancers = nil
			},
			want: map[string]Action{addr(r1, memcloud.TypeStorageClass, "bulk"): Create, ipWeb: Delete, lbWeb: Delete},
		},
		{
			name:   "single NAT gateway: the router moves off the NATs before they go",
			change: func(r *spec.Region) { r.Spec.Network.SingleNATGateway = true },
			want: map[string]Action{router: Update, addr(r1, memcloud.TypeNAT, "zone-b"): Delete,
				addr(r1, memcloud.TypeNAT, "zone-c"): Delete},
		},
		{
			name:   "network cidr replaces the network and cascades through unknown ids",
			change: func(r *spec.Region) { r.Spec.Network.CIDR = "10.30.0.0/16" },
			wantReplaced: []string{network, subnetA, natA, router, cluster, poolSys, poolWork, scFast, scSlow, lbWeb,
				addr(r1, memcloud.TypeSubnet, "zone-b"), addr(r1, memcloud.TypeNAT, "zone-b"),
				addr(r1, memcloud.TypeSubnet, "zone-c"), addr(r1, memcloud.TypeNAT, "zone-c")},
			wantPaths: map[string][]string{natA: {"subnet_id"}, cluster: {"subnet_ids"}},
			wantReason: map[string]string{
				natA:    "subnet_id forces replacement: " + subnetA + " is replaced, so " + subnetA + "#id is known only after apply",
				cluster: "subnet_ids forces replacement",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.converge(t, region(r1))
			p := f.plan(t, PlanOptions{AllowDestroy: true}, region(r1, tt.change))
			got := changesByAddr(p.Regions[0])
			for a, c := range got {
				want, listed := tt.want[a]
				if slices.Contains(tt.wantReplaced, a) {
					if !replaced(c.Action) {
						t.Errorf("%s: action %v, want a replacement", a, c.Action)
					}
					continue
				}
				if !listed {
					want = NoOp
				}
				if c.Action != want {
					t.Errorf("%s: action %v, want %v (reason %q)", a, c.Action, want, c.Reason)
				}
			}
			for a, want := range tt.want {
				if _, ok := got[a]; !ok {
					t.Errorf("no change for %s (want %v)", a, want)
				}
			}
			for a, paths := range tt.wantPaths {
				if !slices.Equal(got[a].ReplacePaths, paths) {
					t.Errorf("%s: ReplacePaths %v, want %v", a, got[a].ReplacePaths, paths)
				}
			}
			for a, reason := range tt.wantReason {
				if !strings.Contains(got[a].Reason, reason) {
					t.Errorf("%s: reason %q, want it to contain %q", a, got[a].Reason, reason)
				}
			}
			// Applying reaches the spec, in a safe order; the next plan is empty.
			before := f.state(t, r1)
			rec := &recordingDriver{Driver: memcloud.NewDriver(f.cloud)}
			f.drv = rec
			f.apply(t, p)
			checkReplaceOrder(t, rec, p.Regions[0], before)
			if again := f.plan(t, PlanOptions{}, region(r1, tt.change)); again.HasChanges() {
				t.Errorf("second plan after apply has changes: %+v", again.Regions[0].Changes)
			}
			f.checkNoLeaks(t, r1)
		})
	}
}

func TestCreateBeforeDestroyPropagatesToDependencies(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	// The cluster's name forces replacement (delete first by itself), but
	// its node pools are create-before-destroy, so the cluster must be too.
	p := f.plan(t, PlanOptions{AllowDestroy: true}, region(r1, func(r *spec.Region) { r.Spec.Network.CIDR = "10.21.0.0/16" }))
	got := changesByAddr(p.Regions[0])
	if got[poolSys].Action != CreateThenDelete {
		t.Fatalf("pool action %v", got[poolSys].Action)
	}
	if got[cluster].Action != CreateThenDelete || !strings.Contains(got[cluster].Reason, "created before the old one is destroyed because") {
		t.Errorf("cluster: %v %q, want create-then-delete because of its node pools", got[cluster].Action, got[cluster].Reason)
	}
	rec := &recordingDriver{Driver: memcloud.NewDriver(f.cloud)}
	f.drv = rec
	f.apply(t, p)
	f.checkNoLeaks(t, r1)
	if st := f.state(t, r1); slices.ContainsFunc(st.Resources, func(r state.Resource) bool { return r.Status != state.StatusCreated }) {
		t.Errorf("state keeps non-created resources after a clean apply: %+v", st.Resources)
	}
}

func TestApplyRespectsDependencyOrder(t *testing.T) {
	f := newFixture(t)
	rec := &recordingDriver{Driver: memcloud.NewDriver(f.cloud)}
	f.drv = rec
	p := f.plan(t, PlanOptions{}, region(r1))
	f.apply(t, p)
	start, end := rec.span("create")
	if len(start) != 15 {
		t.Fatalf("%d creates, want 15", len(start))
	}
	for _, d := range p.Regions[0].Desired {
		for _, dep := range resourceDeps(&d) {
			if end[dep] > start[d.Address] {
				t.Errorf("%s started (seq %d) before its dependency %s finished (seq %d)", d.Address, start[d.Address], dep, end[dep])
			}
		}
	}

	// Destroy deletes in reverse: nothing is deleted while a dependent exists.
	dp := f.plan(t, PlanOptions{Destroy: true}, region(r1))
	if c := dp.Counts(); c.Destroy != 15 {
		t.Fatalf("destroy plan counts %+v", c)
	}
	res := f.apply(t, dp)
	if res.Regions[0].Destroyed != 15 {
		t.Errorf("Destroyed = %d", res.Regions[0].Destroyed)
	}
	dstart, dend := rec.span("delete")
	for _, d := range p.Regions[0].Desired {
		for _, dep := range resourceDeps(&d) {
			if dend[d.Address] > dstart[dep] {
				t.Errorf("%s was deleted (seq %d) before its dependent %s finished deleting (seq %d)", dep, dstart[dep], d.Address, dend[d.Address])
			}
		}
	}
	if n := len(f.cloud.Objects()); n != 0 {
		t.Errorf("cloud holds %d objects after destroy", n)
	}
	if st := f.state(t, r1); len(st.Resources) != 0 {
		t.Errorf("state holds %d resources after destroy", len(st.Resources))
	}
}

func TestIndependentBranchesRunConcurrently(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	// Four resources hang off the cluster only; a walker that serialized
	// them would never get all four into the barrier at once.
	rec := &recordingDriver{Driver: memcloud.NewDriver(f.cloud)}
	rec.barrier = newBarrier(t, 4, func(op, a string) bool { return op == "update" })
	f.drv = rec
	p := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) {
		r.Spec.Cluster.NodePools[0].Max = 7
		r.Spec.Cluster.NodePools[1].Max = 21
		r.Spec.StorageClasses[0].Default = false
		r.Spec.LoadBalancers[0].Selector = map[string]string{"app": "web2"}
	}))
	if c := p.Counts(); c.Change != 4 {
		t.Fatalf("plan counts %+v, want 4 updates", c)
	}
	f.apply(t, p)
	if rec.max < 4 {
		t.Errorf("max concurrency %d, want 4", rec.max)
	}
}

func TestParallelismBound(t *testing.T) {
	tests := []struct {
		name     string
		engine   int
		opts     ApplyOptions
		maxParal int  // driver's MaxParallel
		budgeted bool // driver's RateBudgeted
		regions  int  // how many regions (default 3)
		want     int
		// unbounded: want is only reached, not a bound (more than
		// DefaultParallelism proves there is no default cap).
		unbounded bool
	}{
		{name: "global", engine: 3, want: 3},
		// Without --parallelism a driver that does not pace itself runs
		// DefaultParallelism operations at once, one that does (rate
		// budgets) is not capped by the engine.
		{name: "default per-driver cap", engine: 0, regions: 16, want: DefaultParallelism},
		{name: "rate-budgeted driver: no default cap", engine: 0, budgeted: true, regions: 16, want: 16, unbounded: true},
		{name: "explicit parallelism over a rate-budgeted driver", engine: 12, budgeted: true, regions: 16, want: 12},
		{name: "apply option overrides", engine: 10, opts: ApplyOptions{Parallelism: 2}, want: 2},
		{name: "per-driver option", engine: 10, opts: ApplyOptions{PerDriverLimit: map[string]int{"mem": 2}}, want: 2},
		{name: "driver capability", engine: 10, maxParal: 1, want: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			md := memcloud.NewDriver(f.cloud)
			md.MaxParallel, md.RateBudgeted = tt.maxParal, tt.budgeted
			rec := &recordingDriver{Driver: md}
			// Hold every call until `want` are inside at once: proves the
			// bound is reached, while max proves it is not exceeded.
			rec.barrier = newBarrier(t, tt.want, func(string, string) bool { return true })
			f.drv = rec
			f.eng.Parallelism = tt.engine
			regions := []*spec.Region{region("a"), region("b"), region("c")}
			for i := 3; i < tt.regions; i++ {
				regions = append(regions, region(fmt.Sprintf("r%d", i)))
			}
			p := f.plan(t, PlanOptions{}, regions...)
			if _, err := f.eng.Apply(context.Background(), p, tt.opts); err != nil {
				t.Fatal(err)
			}
			if rec.max > tt.want && !tt.unbounded {
				t.Errorf("max concurrent calls %d, bound %d", rec.max, tt.want)
			}
			if rec.max < tt.want {
				t.Errorf("max concurrent calls %d never reached the bound %d", rec.max, tt.want)
			}
		})
	}
}

func TestPartialFailureSkipsDependentsOnly(t *testing.T) {
	f := newFixture(t)
	boom := errors.New("quota exceeded")
	f.cloud.FailOn(memcloud.OpCreate, cluster, 1, boom)
	p := f.plan(t, PlanOptions{}, region(r1))
	res, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
	if !errors.Is(err, boom) {
		t.Fatalf("Apply err = %v, want the injected failure", err)
	}
	rr := res.Regions[0]
	if len(rr.Errors) != 1 || rr.Errors[0].Address != cluster {
		t.Fatalf("errors = %v, want one for the cluster", rr.Errors)
	}
	wantSkipped := []string{poolSys, poolWork, scFast, scSlow, lbWeb}
	for _, a := range wantSkipped {
		if rr.Skipped[a] != "depends on "+cluster {
			t.Errorf("%s: skipped %q, want %q", a, rr.Skipped[a], "depends on "+cluster)
		}
	}
	if len(rr.Skipped) != len(wantSkipped) {
		t.Errorf("skipped %v, want exactly %v", rr.Skipped, wantSkipped)
	}
	if n := len(f.events.of(EventSkip)); n != len(wantSkipped) {
		t.Errorf("%d skip events, want %d (each once)", n, len(wantSkipped))
	}
	// The independent branch (the LB's address) went ahead, and state has
	// everything that was created.
	st := f.state(t, r1)
	if r, ok := st.Find(ipWeb); !ok || r.Status != state.StatusCreated {
		t.Errorf("independent %s not created: %+v", ipWeb, r)
	}
	if r, ok := st.Find(cluster); !ok || r.Status != state.StatusPending || r.IdempotencyKey == "" {
		t.Errorf("failed cluster create should stay pending with its key: %+v", r)
	}
	if rr.Added != 9 {
		t.Errorf("Added = %d, want 9", rr.Added)
	}
	f.checkNoLeaks(t, r1)

	// The next plan retries the cluster under the same key and creates the rest.
	p2 := f.plan(t, PlanOptions{}, region(r1))
	c := changesByAddr(p2.Regions[0])[cluster]
	if c.Action != Create || c.Reason != reasonRetry || c.IdempotencyKey != st.Resources[slices.IndexFunc(st.Resources, func(r state.Resource) bool { return r.Address == cluster })].IdempotencyKey {
		t.Errorf("cluster change %+v, want a retried create with the pending key", c)
	}
	f.apply(t, p2)
	f.checkNoLeaks(t, r1)
	if n := len(f.cloud.Objects()); n != 15 {
		t.Errorf("cloud holds %d objects, want 15", n)
	}
}

func TestLostCreateResponseIsAdoptedNotDuplicated(t *testing.T) {
	f := newFixture(t)
	f.cloud.FailAfterCreate(cluster, context.DeadlineExceeded)
	p := f.plan(t, PlanOptions{}, region(r1))
	if _, err := f.eng.Apply(context.Background(), p, ApplyOptions{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply err = %v", err)
	}
	if r, _ := f.state(t, r1).Find(cluster); r.Status != state.StatusPending {
		t.Fatalf("cluster status %q, want pending", r.Status)
	}
	p2 := f.plan(t, PlanOptions{}, region(r1))
	c := changesByAddr(p2.Regions[0])[cluster]
	if c.AdoptID == "" || !strings.Contains(c.Reason, reasonAdopt) || c.Action != Update {
		t.Errorf("cluster change %+v, want adoption", c)
	}
	creates := f.cloud.Calls(memcloud.OpCreate)
	f.apply(t, p2)
	if got := f.cloud.Calls(memcloud.OpCreate) - creates; got != 5 {
		t.Errorf("%d creates on the rerun, want 5 (the skipped dependents, not the cluster)", got)
	}
	f.checkNoLeaks(t, r1)
	if n := len(f.cloud.Objects()); n != 15 {
		t.Errorf("cloud holds %d objects, want 15", n)
	}
	if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
		t.Error("plan after adoption has changes")
	}
}

func TestPendingCreateFoundAtApplyTime(t *testing.T) {
	// State says pending, the plan (made without refresh) says create
	// again: apply looks first and adopts rather than duplicating, even for
	// a driver without client-token idempotency.
	f := newFixture(t)
	f.cloud.FailAfterCreate(cluster, errors.New("connection reset"))
	if _, err := f.eng.Apply(context.Background(), f.plan(t, PlanOptions{}, region(r1)), ApplyOptions{}); err == nil {
		t.Fatal("first apply succeeded")
	}
	p := f.plan(t, PlanOptions{SkipRefresh: true}, region(r1))
	if c := changesByAddr(p.Regions[0])[cluster]; c.Action != Create || c.Reason != reasonRetry {
		t.Fatalf("cluster change %+v", c)
	}
	f.drv = noIdempotency{memcloud.NewDriver(f.cloud)}
	f.apply(t, p)
	f.checkNoLeaks(t, r1)
}

// noIdempotency ignores idempotency keys on Create, like a cloud API with
// no client tokens; Find still works by tag.
type noIdempotency struct{ *memcloud.Driver }

func (d noIdempotency) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	req.IdempotencyKey = ""
	return d.Driver.Create(ctx, req)
}

func TestStalePlanIsRefused(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	// Both plans change the same node pool: the second is stale. (Plans
	// touching different resources both apply: see
	// TestPlanAppliesWhenOnlyUntouchedResourcesMoved.)
	mine := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 7 }))
	theirs := f.plan(t, PlanOptions{}, region(r1, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 8 }))
	f.apply(t, theirs)
	writes := f.store.Writes()
	_, err := f.eng.Apply(context.Background(), mine, ApplyOptions{})
	var stale *StaleError
	if !errors.As(err, &stale) {
		t.Fatalf("Apply err = %v, want *StaleError", err)
	}
	if !slices.Equal(stale.Changed, []string{poolSys}) {
		t.Errorf("stale resources %v, want [%s]", stale.Changed, poolSys)
	}
	if f.store.Writes() != writes {
		t.Error("a stale apply wrote state")
	}
	if !strings.Contains(err.Error(), "run plan again") {
		t.Errorf("error %q does not say what to do", err)
	}
}

func TestProtect(t *testing.T) {
	protected := func(r *spec.Region) { r.Spec.Protect = true }
	newCIDR := func(r *spec.Region) { r.Spec.Network.CIDR = "10.99.0.0/16" }
	tests := []struct {
		name    string
		opts    PlanOptions
		change  []func(*spec.Region)
		wantErr []string // addresses named in errors
	}{
		{name: "replacing the cluster is refused", change: []func(*spec.Region){protected, newCIDR}, wantErr: []string{cluster}},
		{name: "allow-destroy permits it", opts: PlanOptions{AllowDestroy: true}, change: []func(*spec.Region){protected, newCIDR}},
		{name: "unprotected region", change: []func(*spec.Region){newCIDR}},
		{name: "removing an external LB removes a stateful address", change: []func(*spec.Region){protected, func(r *spec.Region) { r.Spec.LoadBalancers = nil }}, wantErr: []string{ipWeb}},
		{name: "destroy is refused", opts: PlanOptions{Destroy: true}, change: []func(*spec.Region){protected}, wantErr: []string{cluster, ipWeb}},
		{name: "in-place changes are fine", change: []func(*spec.Region){protected, func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.converge(t, region(r1, protected))
			p, ds := f.eng.Plan(context.Background(), []*spec.Region{region(r1, tt.change...)}, tt.opts)
			if len(tt.wantErr) == 0 {
				if ds.HasErrors() || p == nil {
					t.Fatalf("unexpected diagnostics: %s", ds)
				}
				return
			}
			if p != nil || len(ds) != len(tt.wantErr) {
				t.Fatalf("plan %v, diagnostics:\n%s\nwant errors for %v", p != nil, ds, tt.wantErr)
			}
			for i, a := range tt.wantErr {
				if !strings.Contains(ds[i].Summary, a) || !strings.Contains(ds[i].Fix, "--allow-destroy") || ds[i].Path != "spec.protect" {
					t.Errorf("diagnostic %q (fix %q) should name %s and --allow-destroy", ds[i].Summary, ds[i].Fix, a)
				}
			}
		})
	}
}

func TestDestroyFromState(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1, func(r *spec.Region) { r.Spec.Protect = true }))
	if _, ds := f.eng.PlanDestroyFromState(context.Background(), []string{r1}, PlanOptions{}); !ds.HasErrors() || !strings.Contains(ds.String(), "--allow-destroy") {
		t.Fatalf("protect from state not honoured: %s", ds)
	}
	if _, ds := f.eng.PlanDestroyFromState(context.Background(), []string{"nope"}, PlanOptions{}); !ds.HasErrors() {
		t.Error("destroying a region without state gave no error")
	}
	p, ds := f.eng.PlanDestroyFromState(context.Background(), []string{r1}, PlanOptions{AllowDestroy: true})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if !p.Destroy || p.Counts().Destroy != 15 {
		t.Fatalf("destroy plan %+v", p.Counts())
	}
	f.apply(t, p)
	if n := len(f.cloud.Objects()); n != 0 {
		t.Errorf("%d objects left", n)
	}
}

func TestCancellationFinishesInFlightAndStartsNothingNew(t *testing.T) {
	f := newFixture(t)
	started, release := f.cloud.Block(memcloud.OpCreate, cluster)
	p := f.plan(t, PlanOptions{}, region(r1))
	// Resources that neither are the cluster nor wait on it run to the end
	// while the cluster create is blocked; cancel only once they have, so
	// "creates after cancellation" counts only work started after it.
	dependents := []string{poolSys, poolWork, scFast, scSlow, lbWeb}
	independent := map[string]bool{}
	for _, ch := range p.Regions[0].Changes {
		if ch.Action == Create && ch.Address != cluster && !slices.Contains(dependents, ch.Address) {
			independent[ch.Address] = true
		}
	}
	finished := make(chan string, 64)
	f.events.notify = func(e Event) {
		if e.Kind == EventFinish {
			finished <- e.Address
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type out struct {
		res *ApplyResult
		err error
	}
	done := make(chan out, 1)
	go func() {
		res, err := f.eng.Apply(ctx, p, ApplyOptions{})
		done <- out{res, err}
	}()
	<-started
	timeout := time.After(30 * time.Second)
	for len(independent) > 0 {
		select {
		case a := <-finished:
			delete(independent, a)
		case <-timeout:
			t.Fatalf("resources independent of the cluster never finished: %v", independent)
		}
	}
	f.events.mu.Lock()
	f.events.notify = nil // later runs of this test must not block on the channel
	f.events.mu.Unlock()
	cancel()
	createsAtCancel := f.cloud.Calls(memcloud.OpCreate)
	release()
	o := <-done
	if !errors.Is(o.err, context.Canceled) {
		t.Fatalf("Apply err = %v, want context.Canceled", o.err)
	}
	// The cluster create was in flight: it finished and was recorded.
	if r, ok := f.state(t, r1).Find(cluster); !ok || r.Status != state.StatusCreated || r.ID == "" {
		t.Errorf("in-flight cluster create not recorded: %+v", r)
	}
	// Nothing that waited on it started.
	for _, a := range dependents {
		if o.res.Regions[0].Skipped[a] != "cancelled" {
			t.Errorf("%s: skipped %q, want cancelled", a, o.res.Regions[0].Skipped[a])
		}
	}
	if got := f.cloud.Calls(memcloud.OpCreate); got != createsAtCancel {
		t.Errorf("%d creates started after cancellation", got-createsAtCancel)
	}
	f.checkNoLeaks(t, r1)
	// A later run finishes the job.
	f.converge(t, region(r1))
	if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
		t.Error("changes left after resuming")
	}
}

func TestDriftIsShown(t *testing.T) {
	tests := []struct {
		name       string
		edit       func(f *fixture, id string)
		wantAction Action
		wantDelete bool
		// wantMax is max after the edit, as drift shows it.
		wantMax any
	}{
		{name: "edited in the console", edit: func(f *fixture, id string) {
			_ = f.cloud.Mutate(id, func(in map[string]any) { in["max"] = 50 })
		}, wantAction: Update, wantMax: float64(50)},
		// A value the cloud no longer reports (an optional setting cleared)
		// is drift that apply repairs, as the plan says.
		{name: "cleared in the console", edit: func(f *fixture, id string) {
			_ = f.cloud.Mutate(id, func(in map[string]any) { delete(in, "max") })
		}, wantAction: Update},
		{name: "deleted in the console", edit: func(f *fixture, id string) { _ = f.cloud.Remove(id) }, wantAction: Create, wantDelete: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.converge(t, region(r1))
			r, _ := f.state(t, r1).Find(poolSys)
			tt.edit(f, r.ID)
			p := f.plan(t, PlanOptions{}, region(r1))
			rp := p.Regions[0]
			if len(rp.Drift) != 1 || rp.Drift[0].Address != poolSys || rp.Drift[0].Deleted != tt.wantDelete {
				t.Fatalf("drift = %+v", rp.Drift)
			}
			if !tt.wantDelete && rp.Drift[0].After["max"] != tt.wantMax {
				t.Errorf("drift after = %v", rp.Drift[0].After)
			}
			if c := changesByAddr(rp)[poolSys]; c.Action != tt.wantAction {
				t.Errorf("change %v, want %v", c.Action, tt.wantAction)
			}
			// Without refresh the drift is invisible.
			if np := f.plan(t, PlanOptions{SkipRefresh: true}, region(r1)); np.HasChanges() {
				t.Error("plan without refresh saw the drift")
			}
			f.apply(t, p)
			if again := f.plan(t, PlanOptions{}, region(r1)); again.HasChanges() {
				t.Error("drift not repaired")
			}
		})
	}
}

func TestInterruptedCreateBeforeDestroyLeavesDeposed(t *testing.T) {
	f := newFixture(t)
	f.converge(t, region(r1))
	old, _ := f.state(t, r1).Find(poolWork)
	f.cloud.FailOn(memcloud.OpDelete, poolWork, 1, errors.New("node pool busy"))
	bigger := func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Machine = spec.Machine{CPU: 16, MemoryGiB: 64} }
	if _, err := f.eng.Apply(context.Background(), f.plan(t, PlanOptions{}, region(r1, bigger)), ApplyOptions{}); err == nil {
		t.Fatal("apply succeeded despite the failing delete")
	}
	st := f.state(t, r1)
	cur, _ := st.Find(poolWork)
	if cur.ID == old.ID || cur.Status != state.StatusCreated {
		t.Errorf("current pool %+v, want the new one created", cur)
	}
	if !slices.ContainsFunc(st.Resources, func(r state.Resource) bool { return r.Status == state.StatusDeposed && r.ID == old.ID }) {
		t.Fatalf("old pool %s not recorded as deposed: %+v", old.ID, st.Resources)
	}
	p := f.plan(t, PlanOptions{}, region(r1, bigger))
	c, ok := changesByAddr(p.Regions[0])[poolWork+" (deposed)"]
	if !ok || c.Action != Delete || c.DeposedID != old.ID {
		t.Fatalf("no delete of the deposed pool: %+v", p.Regions[0].Changes)
	}
	f.apply(t, p)
	f.checkNoLeaks(t, r1)
}

func TestLongOperationsTick(t *testing.T) {
	f := newFixture(t)
	f.eng.TickInterval = 1 // as fast as the ticker goes
	started, release := f.cloud.Block(memcloud.OpCreate, network)
	ticked := make(chan struct{})
	var once sync.Once
	f.events.notify = func(e Event) {
		if e.Kind == EventTick && e.Address == network {
			once.Do(func() { close(ticked) })
		}
	}
	p := f.plan(t, PlanOptions{}, region(r1))
	done := make(chan error, 1)
	go func() { _, err := f.eng.Apply(context.Background(), p, ApplyOptions{}); done <- err }()
	<-started
	<-ticked // the blocked create reported progress
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, e := range f.events.of(EventFinish) {
		if e.Address == network && e.Action == Create && e.Elapsed > 0 {
			return
		}
	}
	t.Error("no finish event with elapsed time for the network")
}

func TestPlanDiagnostics(t *testing.T) {
	tests := []struct {
		name    string
		regions []*spec.Region
		want    string
	}{
		{name: "unknown provider", regions: []*spec.Region{region(r1, func(r *spec.Region) { r.Spec.Provider = "nope" })}, want: `no driver named "nope"`},
		{name: "duplicate region", regions: []*spec.Region{region(r1), region(r1)}, want: "defined twice"},
		{name: "version not offered", regions: []*spec.Region{region(r1, func(r *spec.Region) { r.Spec.Cluster.KubernetesVersion = "1.20" })}, want: "1.20"},
		{name: "driver validator", regions: []*spec.Region{region(r1, func(r *spec.Region) { r.Spec.Overrides = map[string]json.RawMessage{"mem": json.RawMessage("{}")} })}, want: "takes no overrides"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p, ds := f.eng.Plan(context.Background(), tt.regions, PlanOptions{})
			if p != nil || !ds.HasErrors() || !strings.Contains(ds.String(), tt.want) {
				t.Errorf("plan %v diagnostics %q, want an error containing %q", p != nil, ds, tt.want)
			}
		})
	}
}

// checkReplaceOrder checks the two halves of every replacement ran in the
// right order, and that no old object was deleted while an old object that
// depended on it still existed.
func checkReplaceOrder(t *testing.T, rec *recordingDriver, rp RegionPlan, before *state.State) {
	t.Helper()
	cs, ce := rec.span("create")
	ds, de := rec.span("delete")
	for _, c := range rp.Changes {
		a := c.Address
		switch c.Action {
		case DeleteThenCreate:
			if de[a] == 0 || cs[a] < de[a] {
				t.Errorf("%s: create (seq %d) did not wait for the delete (seq %d)", a, cs[a], de[a])
			}
		case CreateThenDelete:
			if ce[a] == 0 || ds[a] < ce[a] {
				t.Errorf("%s: delete of the old object (seq %d) did not wait for the new one (seq %d)", a, ds[a], ce[a])
			}
		}
	}
	_, ue := rec.span("update")
	for _, r := range before.Resources {
		if _, deleted := ds[r.Address]; !deleted {
			// A resource updated in place must stop using an old object
			// before that object is deleted.
			if end, updated := ue[r.Address]; updated {
				for _, dep := range r.Dependencies {
					if start, ok := ds[dep]; ok && start < end && !slices.ContainsFunc(rp.Changes, func(c Change) bool {
						return c.Address == dep && c.Action == DeleteThenCreate
					}) {
						t.Errorf("old %s deleted (seq %d) before %s stopped using it (seq %d)", dep, start, r.Address, end)
					}
				}
			}
			continue
		}
		for _, dep := range r.Dependencies {
			if start, ok := ds[dep]; ok && start < de[r.Address] {
				t.Errorf("old %s deleted (seq %d) before its old dependent %s was (seq %d)", dep, start, r.Address, de[r.Address])
			}
		}
	}
}
