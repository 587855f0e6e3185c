package plan

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// gatedDriver is the mem driver with a health check and an update check,
// and a record of the delete reasons it was given.
type gatedDriver struct {
	*memcloud.Driver
	mu sync.Mutex
	// health answers CheckHealth; nil is always healthy.
	health func(req providers.HealthRequest) (providers.HealthResponse, error)
	// checked counts the health checks of each region.
	checked map[string]int
	reasons map[string]providers.DeleteReason
}

func (d *gatedDriver) CheckHealth(ctx context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	d.mu.Lock()
	d.checked[req.Region]++
	fn := d.health
	d.mu.Unlock()
	if fn == nil {
		return providers.HealthResponse{Checks: []providers.HealthCheck{{Name: "api", OK: true}}}, nil
	}
	return fn(req)
}

func (d *gatedDriver) CheckUpdate(ctx context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	if req.Type != memcloud.TypeCluster {
		return nil
	}
	return providers.CheckVersionStep("MEM", req, "version")
}

func (d *gatedDriver) Delete(ctx context.Context, req providers.DeleteRequest) (providers.DeleteResponse, error) {
	d.mu.Lock()
	d.reasons[req.Instance.Address] = req.Reason
	d.mu.Unlock()
	return d.Driver.Delete(ctx, req)
}

func newGated(t *testing.T) (*fixture, *gatedDriver) {
	f := newFixture(t)
	g := &gatedDriver{Driver: memcloud.NewDriver(f.cloud), checked: map[string]int{}, reasons: map[string]providers.DeleteReason{}}
	f.drv = g
	f.eng.GateInterval = time.Millisecond
	return f, g
}

func threeRegions(version string) []*spec.Region {
	var out []*spec.Region
	for i, name := range []string{"canary", "east", "west"} {
		out = append(out, region(name, func(r *spec.Region) {
			r.Spec.Cluster.KubernetesVersion = version
			r.Spec.Network.CIDR = []string{"10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16"}[i]
		}))
	}
	return out
}

var twoWaves = &Rollout{Name: "fleet", Waves: []Wave{{Name: "canary", Regions: []string{"canary"}}, {Name: "rest", Regions: []string{"east", "west"}}},
	PauseBetween: time.Millisecond, GateTimeout: time.Second}

// waveOrder returns, per region, the sequence number of its first and last
// apply event.
func waveOrder(l *eventLog) (first, last map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, last = map[string]int{}, map[string]int{}
	for i, e := range l.events {
		if e.Kind != EventStart && e.Kind != EventFinish {
			continue
		}
		if _, ok := first[e.Region]; !ok {
			first[e.Region] = i
		}
		last[e.Region] = i
	}
	return first, last
}

func TestRolloutAppliesWaveByWave(t *testing.T) {
	f, g := newGated(t)
	f.converge(t, threeRegions("1.33")...)
	f.events.events = nil

	p := f.plan(t, PlanOptions{Rollout: twoWaves}, threeRegions("1.34")...)
	if p.FormatVersion != rolloutFormatVersion || p.Rollout == nil || len(p.Rollout.Waves) != 2 {
		t.Fatalf("plan format %d, rollout %+v", p.FormatVersion, p.Rollout)
	}
	path := filepath.Join(t.TempDir(), "plan.json")
	if err := WritePlanFile(path, p); err != nil {
		t.Fatal(err)
	}
	p, err := ReadPlanFile(path)
	if err != nil || p.Rollout == nil || p.Rollout.GateTimeout != time.Second {
		t.Fatalf("plan file round trip: %+v, %v", p.Rollout, err)
	}
	res := f.apply(t, p)

	first, last := waveOrder(f.events)
	if last["canary"] > first["east"] || last["canary"] > first["west"] {
		t.Errorf("the rest started before the canary finished: canary %d..%d, east from %d, west from %d", first["canary"], last["canary"], first["east"], first["west"])
	}
	if len(res.Waves) != 2 || res.Waves[0].Status != WaveDone || res.Waves[1].Status != WaveDone {
		t.Fatalf("waves %+v", res.Waves)
	}
	for _, r := range []string{"canary", "east", "west"} {
		if g.checked[r] == 0 {
			t.Errorf("region %s was never health-checked", r)
		}
		if got := f.state(t, r).Resources; !slices.ContainsFunc(got, func(x state.Resource) bool {
			return x.Type == memcloud.TypeCluster && x.Inputs["version"] == "1.34"
		}) {
			t.Errorf("region %s not upgraded", r)
		}
	}
	kinds := []EventKind{EventWaveStart, EventGateStart, EventGatePass, EventPause, EventWaveStart, EventGateStart, EventGatePass}
	var got []EventKind
	for _, e := range f.events.events {
		if slices.Contains([]EventKind{EventWaveStart, EventGateStart, EventGatePass, EventPause}, e.Kind) {
			got = append(got, e.Kind)
		}
	}
	if !slices.Equal(got, kinds) {
		t.Errorf("rollout events %v, want %v", got, kinds)
	}
}

func TestRolloutStopsOnAFailedCanary(t *testing.T) {
	f, g := newGated(t)
	f.converge(t, threeRegions("1.33")...)
	p := f.plan(t, PlanOptions{Rollout: twoWaves}, threeRegions("1.34")...)
	f.cloud.FailOn("update", addr("canary", memcloud.TypeCluster, "main"), 1, errors.New("upgrade refused"))
	res, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "upgrade refused") {
		t.Fatalf("apply error %v", err)
	}
	if res.Waves[0].Status != WaveFailed || res.Waves[1].Status != WaveNotStarted {
		t.Fatalf("waves %+v", res.Waves)
	}
	for _, r := range []string{"east", "west"} {
		if g.checked[r] != 0 {
			t.Errorf("region %s was checked although its wave never started", r)
		}
		rr := res.Regions[slices.IndexFunc(res.Regions, func(x RegionResult) bool { return x.Region == r })]
		cause := rr.Skipped[addr(r, memcloud.TypeCluster, "main")]
		if !strings.Contains(cause, "wave canary failed in region canary") {
			t.Errorf("region %s skipped with %q", r, cause)
		}
		for _, o := range f.state(t, r).Resources {
			if o.Type == memcloud.TypeCluster && o.Inputs["version"] != "1.33" {
				t.Errorf("region %s changed although its wave never started", r)
			}
		}
	}
}

func TestRolloutStopsOnAnUnhealthyWave(t *testing.T) {
	f, g := newGated(t)
	f.converge(t, threeRegions("1.33")...)
	p := f.plan(t, PlanOptions{Rollout: twoWaves}, threeRegions("1.34")...)
	p.Rollout.GateTimeout = 50 * time.Millisecond
	g.health = func(req providers.HealthRequest) (providers.HealthResponse, error) {
		return providers.HealthResponse{Checks: []providers.HealthCheck{
			{Name: "api", OK: true},
			{Name: "pool work", OK: false, Detail: "1 of 3 nodes at v1.33"},
		}}, nil
	}
	res, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
	var ge *GateError
	if !errors.As(err, &ge) || ge.Wave != "canary" || !strings.Contains(err.Error(), "pool work: 1 of 3 nodes at v1.33") {
		t.Fatalf("apply error %v, want the canary's gate error", err)
	}
	if res.Waves[0].Status != WaveUnhealthy || res.Waves[1].Status != WaveNotStarted {
		t.Fatalf("waves %+v", res.Waves)
	}
	if !errors.Is(res.Waves[0].Err, ge) {
		t.Errorf("the unhealthy wave's result does not hold the gate error: %v", res.Waves[0].Err)
	}
	if g.checked["canary"] < 2 {
		t.Errorf("the gate checked the canary %d times; it should poll until its timeout", g.checked["canary"])
	}
	if fails := f.events.of(EventGateFail); len(fails) != 1 {
		t.Errorf("gate-fail events %v", fails)
	}
}

func TestRolloutGateWaitsUntilHealthy(t *testing.T) {
	f, g := newGated(t)
	f.converge(t, threeRegions("1.33")...)
	p := f.plan(t, PlanOptions{Rollout: twoWaves}, threeRegions("1.34")...)
	p.Rollout.GateTimeout = time.Minute
	g.health = func(req providers.HealthRequest) (providers.HealthResponse, error) {
		if g.checked[req.Region] < 3 {
			return providers.HealthResponse{}, errors.New("API server not answering")
		}
		if len(req.Before) == 0 || len(req.Resources) == 0 {
			return providers.HealthResponse{}, errors.New("no state given")
		}
		return providers.HealthResponse{Checks: []providers.HealthCheck{{Name: "api", OK: true, Detail: "answers"}, {Name: "pool work", OK: true, Detail: "3 nodes Ready at 1.34"}}}, nil
	}
	res := f.apply(t, p)
	if res.Waves[1].Status != WaveDone || g.checked["canary"] != 3 {
		t.Fatalf("waves %+v, canary checked %d times", res.Waves, g.checked["canary"])
	}
	var errs, passed int
	for _, e := range f.events.of(EventGateCheck) {
		if e.Err != nil {
			errs++
		}
		if e.Cause == "healthy: api: answers; pool work: 3 nodes Ready at 1.34" {
			passed++
		}
	}
	if passed != 3 {
		t.Errorf("%d gate checks said what passed, want 3 (one per region)", passed)
	}
	if errs != 2*3 {
		t.Errorf("%d gate checks reported an error, want 6 (two per region)", errs)
	}
}

func TestRolloutMustCoverEveryRegion(t *testing.T) {
	f, _ := newGated(t)
	_, ds := f.eng.Plan(context.Background(), threeRegions("1.33"), PlanOptions{Rollout: &Rollout{Name: "r", Waves: []Wave{{Name: "a", Regions: []string{"canary"}}}}})
	if !strings.Contains(ds.String(), "region east is in no wave") {
		t.Errorf("diagnostics %q", ds)
	}
	// Waves without a planned region are dropped (--region picks one).
	p := f.plan(t, PlanOptions{Rollout: twoWaves}, threeRegions("1.33")[1])
	if len(p.Rollout.Waves) != 1 || p.Rollout.Waves[0].Name != "rest" || !slices.Equal(p.Rollout.Waves[0].Regions, []string{"east"}) {
		t.Errorf("rollout %+v", p.Rollout)
	}
}

func TestPlanRefusesAMinorSkip(t *testing.T) {
	f, _ := newGated(t)
	at := func(v string) *spec.Region {
		return region("r", func(r *spec.Region) { r.Spec.Cluster.KubernetesVersion = v })
	}
	f.converge(t, at("1.32"))
	_, ds := f.eng.Plan(context.Background(), []*spec.Region{at("1.34")}, PlanOptions{})
	if !ds.HasErrors() || !strings.Contains(ds.String(), "Kubernetes 1.32 → 1.34 cannot be applied") || !strings.Contains(ds.String(), `set kubernetesVersion: "1.33" and apply`) {
		t.Fatalf("diagnostics %q", ds)
	}
	_, ds = f.eng.Plan(context.Background(), []*spec.Region{at("1.31")}, PlanOptions{})
	if !strings.Contains(ds.String(), `set kubernetesVersion back to "1.32"`) {
		t.Fatalf("downgrade diagnostics %q", ds)
	}
	f.plan(t, PlanOptions{}, at("1.33"))
}

func TestDeleteReasons(t *testing.T) {
	f, g := newGated(t)
	f.converge(t, region("r"))
	// A pool replaced (its machine changes): the old one goes as replaced.
	f.converge(t, region("r", func(r *spec.Region) {
		r.Spec.Cluster.NodePools[1].Machine.CPU = 16
		r.Spec.Cluster.NodePools[1].Machine.MemoryGiB = 64
	}))
	work := addr("r", memcloud.TypeNodePool, "work")
	if got, ok := g.reasons[work]; !ok || got != providers.DeleteReplaced {
		t.Errorf("replaced pool deleted with reason %v (%v)", got, ok)
	}
	// A pool dropped from the spec, its cluster kept.
	f.converge(t, region("r", func(r *spec.Region) { r.Spec.Cluster.NodePools = r.Spec.Cluster.NodePools[:1] }))
	if got := g.reasons[work]; got != providers.DeleteRemoved || !got.Drains() {
		t.Errorf("removed pool deleted with reason %v", got)
	}
	// Destroy: nothing drains.
	f.apply(t, f.plan(t, PlanOptions{Destroy: true}, region("r")))
	if got := g.reasons[addr("r", memcloud.TypeNodePool, "system")]; got != providers.DeleteDestroyed || got.Drains() {
		t.Errorf("destroyed pool deleted with reason %v", got)
	}
}
