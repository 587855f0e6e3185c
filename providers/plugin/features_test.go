package plugin_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// TestWrongAccountCrossesTheBoundary: a plugin's driver that refuses the
// account its credentials act in (providers.ErrWrongAccount) is seen on the
// host as refusing it too, so the run stops as aimed at the wrong target
// (plan.IsWrongTarget, the CLI's exit 9) rather than as a failed call.
func TestWrongAccountCrossesTheBoundary(t *testing.T) {
	p, _, _ := memPlugin(t)
	t.Setenv(envFeatures, "1")
	idr := launch(t, p, providers.Options{}).(providers.Identifier)
	ctx := context.Background()
	network := func(name string) []providers.Resource {
		return []providers.Resource{{Address: name + "/mem_network.main", Type: memcloud.TypeNetwork, Inputs: providers.Values{"name": name}}}
	}
	_, err := idr.Identity(ctx, providers.IdentityRequest{Region: "elsewhere", Resources: network("elsewhere")})
	if !errors.Is(err, providers.ErrWrongAccount) || !plan.IsWrongTarget(err) {
		t.Fatalf("identity in another account: %v, want an error wrapping providers.ErrWrongAccount", err)
	}
	if !strings.Contains(err.Error(), "must act in mem account 1") {
		t.Errorf("the plugin's message is lost: %v", err)
	}
	resp, err := idr.Identity(ctx, providers.IdentityRequest{Region: "here", Resources: network("here")})
	if err != nil || resp.Identity.Account() != "mem account 1" {
		t.Errorf("identity in the right account: %+v, %v", resp, err)
	}
}

// TestUpgradeFeaturesCrossTheBoundary: what upgrades and rollouts use from
// a driver — its health check, its update check, why a resource is
// deleted, workload identity — works through the plugin as in process.
func TestUpgradeFeaturesCrossTheBoundary(t *testing.T) {
	p, _, dir := memPlugin(t)
	deleteLog := filepath.Join(dir, "deletes")
	t.Setenv(envFeatures, "1")
	t.Setenv(envDeleteLog, deleteLog)
	d := launch(t, p, providers.Options{})
	ctx := context.Background()
	network := providers.Instance{Address: "r/mem_network.main", Type: memcloud.TypeNetwork, ID: "n-1"}
	cluster := providers.Instance{Address: "r/mem_cluster.main", Type: memcloud.TypeCluster, ID: "c-1", Outputs: providers.Values{"endpoint": "https://c-1.mem.test"}}

	hc, ok := d.(providers.HealthChecker)
	if !ok {
		t.Fatal("the plugin's driver has a health check; the host does not offer it")
	}
	health, err := hc.CheckHealth(ctx, providers.HealthRequest{Region: "r", Resources: []providers.Instance{network, cluster}, Before: []providers.Instance{network}})
	want := []providers.HealthCheck{{Name: network.Address, OK: true, Detail: "n-1, 1 before"}, {Name: cluster.Address, OK: false, Detail: "c-1, 1 before"}}
	if err != nil || len(health.Checks) != 2 || health.Checks[0] != want[0] || health.Checks[1] != want[1] {
		t.Errorf("health: %+v, %v; want %+v", health.Checks, err, want)
	}

	uc := d.(providers.UpdateChecker)
	req := providers.CheckUpdateRequest{Address: cluster.Address, Type: cluster.Type,
		Before: providers.Values{"version": "1.32"}, After: providers.Values{"version": "1.34"}}
	ds := uc.CheckUpdate(ctx, req)
	if len(ds) != 1 || ds[0].Path != "spec.cluster.kubernetesVersion" || ds[0].Summary != "r/mem_cluster.main: 1.32 → 1.34 refused" || ds[0].Fix != "one minor at a time" {
		t.Errorf("update check of a refused change: %+v", ds)
	}
	req.After = req.Before
	if ds := uc.CheckUpdate(ctx, req); len(ds) != 0 {
		t.Errorf("update check of an accepted change: %+v", ds)
	}

	for _, reason := range []providers.DeleteReason{providers.DeleteRemoved, providers.DeleteReplaced, providers.DeleteDestroyed} {
		if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: network, Reason: reason}); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(deleteLog); err != nil || string(b) != "r/mem_network.main 0\nr/mem_network.main 1\nr/mem_network.main 2\n" {
		t.Errorf("the reasons the plugin's driver saw: %q (%v), want removed, replaced, destroyed", b, err)
	}

	access, err := d.(providers.ClusterAccessor).ClusterAccess(ctx, providers.AccessRequest{Resources: []providers.Instance{cluster}})
	wantWI := providers.WorkloadIdentity{Issuer: "https://oidc.mem.test/c-1", Provider: "mem-pool/c-1", Audience: "mem.test",
		ServiceAccountAnnotation: "mem.test/identity", TrustSubject: "system:serviceaccount:NAMESPACE:NAME"}
	if err != nil || access.WorkloadIdentity == nil || *access.WorkloadIdentity != wantWI {
		t.Errorf("workload identity: %+v, %v; want %+v", access.WorkloadIdentity, err, wantWI)
	}
}

// TestPluginsWithoutUpgradeFeatures: a plugin whose driver lacks a health
// or an update check behaves as a built-in driver without them, and says
// so; one built before they crossed the boundary (protocol 1.0) says to
// rebuild it, and a region asking it for workload identity is refused at
// plan time instead of losing the outputs.
func TestPluginsWithoutUpgradeFeatures(t *testing.T) {
	p, _, _ := memPlugin(t)
	ctx := context.Background()
	req := providers.CheckUpdateRequest{Address: "r/mem_cluster.main", Type: memcloud.TypeCluster,
		Before: providers.Values{"version": "1.32"}, After: providers.Values{"version": "1.34"}}
	for _, tt := range []struct {
		name, minor, wantDetail string
	}{
		{"current", "", "driver mem (plugin " + p.Path + ") has no health check; the wave passes on its apply alone"},
		{"protocol 1.0", "0", "driver mem (plugin " + p.Path + ") speaks driver protocol 1.0, which cannot carry health checks: rebuild it against a newer regionctl (protocol 1.1); the wave passes on its apply alone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.minor != "" {
				t.Setenv(envMinor, tt.minor)
			}
			d := launch(t, p, providers.Options{})
			health, err := d.(providers.HealthChecker).CheckHealth(ctx, providers.HealthRequest{Region: "r"})
			if err != nil || len(health.Checks) != 1 || !health.Healthy() || health.Checks[0].Detail != tt.wantDetail {
				t.Errorf("health of a driver without a check: %+v, %v; want detail %q", health.Checks, err, tt.wantDetail)
			}
			ds := d.(providers.UpdateChecker).CheckUpdate(ctx, req)
			if old := tt.minor == "0"; old && (len(ds) != 1 || ds[0].Severity != diag.Warning || !strings.Contains(ds[0].Summary, "cannot carry update checks")) ||
				!old && len(ds) != 0 {
				t.Errorf("update check of a driver without one: %+v; want a warning only from a protocol 1.0 plugin", ds)
			}
			r := memcloud.Conformance(d, nil).Region
			r.Spec.Cluster.WorkloadIdentity = true
			ds = d.(providers.Validator).Validate(ctx, r)
			refused := false
			for _, dg := range ds {
				refused = refused || dg.Path == "spec.cluster.workloadIdentity" && strings.Contains(dg.Summary, "cannot carry workload identity outputs")
			}
			if refused != (tt.minor == "0") {
				t.Errorf("workload identity refused %v, want %v: %v", refused, tt.minor == "0", ds)
			}
		})
	}
}

// TestRetriesCrossTheBoundary: the attempts a plugin's driver retries
// reach the reporter of the host's call, with their messages and classes,
// as a built-in driver's do.
func TestRetriesCrossTheBoundary(t *testing.T) {
	p, _, _ := memPlugin(t)
	t.Setenv(envFeatures, "1")
	d := launch(t, p, providers.Options{})
	var (
		mu  sync.Mutex
		got []error
	)
	ctx := providers.WithRetryReporter(context.Background(), func(r providers.RetryReport) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, r.Err)
	})
	addr := "r/mem_network.main"
	resp, err := d.Create(ctx, providers.CreateRequest{Address: addr, Type: memcloud.TypeNetwork, IdempotencyKey: "k1",
		Inputs: providers.Values{"name": "r", "cidr": "10.0.0.0/16", "location": "mem-east"}})
	if err != nil || resp.ID == "" {
		t.Fatalf("create: %+v, %v", resp, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("%d retries reported, want the plugin's 2: %v", len(got), got)
	}
	for i, err := range got {
		if !errors.Is(err, providers.ErrThrottled) || !strings.Contains(err.Error(), "429 slow down") || !strings.Contains(err.Error(), []string{"attempt 1", "attempt 2"}[i]) {
			t.Errorf("retry %d: %v, want the plugin's throttled attempt %d", i, err, i+1)
		}
	}
}

// TestRolloutGateAndUpdateCheckThroughPlugin: the engine's rollout gate
// asks the plugin's driver for health, and stops the rollout at the canary
// it reports unhealthy; a plan whose update the plugin's driver refuses
// fails at the spec field its diagnostic names.
func TestRolloutGateAndUpdateCheckThroughPlugin(t *testing.T) {
	p, _, dir := memPlugin(t)
	t.Setenv(envFeatures, "1")
	t.Setenv(envDeleteLog, filepath.Join(dir, "deletes"))
	d := launch(t, p, providers.Options{})
	ctx := context.Background()
	regions := func(max int, version string) []*spec.Region {
		var out []*spec.Region
		for i, name := range []string{"canary", "east"} {
			r := drivertest.CloneRegion(memcloud.Conformance(nil, nil).Region)
			r.Metadata.Name, r.Spec.Network.CIDR = name, fmt.Sprintf("10.%d.0.0/16", 30+i)
			r.Spec.Cluster.NodePools[0].Max, r.Spec.Cluster.KubernetesVersion = max, version
			out = append(out, r)
		}
		return out
	}
	eng := &plan.Engine{State: statetest.NewMemory(), GateInterval: time.Millisecond,
		Drivers: func(context.Context, string) (providers.Driver, error) { return d, nil }}
	pl, ds := eng.Plan(ctx, regions(6, "1.33"), plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if _, err := eng.Apply(ctx, pl, plan.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}

	rollout := &plan.Rollout{Name: "fleet", GateTimeout: 50 * time.Millisecond,
		Waves: []plan.Wave{{Name: "canary", Regions: []string{"canary"}}, {Name: "rest", Regions: []string{"east"}}}}
	pl, ds = eng.Plan(ctx, regions(7, "1.33"), plan.PlanOptions{Rollout: rollout})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	res, err := eng.Apply(ctx, pl, plan.ApplyOptions{})
	var ge *plan.GateError
	if !errors.As(err, &ge) || ge.Wave != "canary" || !strings.Contains(err.Error(), "canary/mem_cluster.main") {
		t.Fatalf("apply: %v; want the canary's gate to fail on the plugin's cluster check", err)
	}
	if res.Waves[0].Status != plan.WaveUnhealthy || res.Waves[1].Status != plan.WaveNotStarted {
		t.Errorf("waves %+v: the rollout must stop at the unhealthy canary", res.Waves)
	}

	_, ds = eng.Plan(ctx, regions(7, "1.34"), plan.PlanOptions{})
	refused := false
	for _, dg := range ds {
		refused = refused || dg.Path == "spec.cluster.kubernetesVersion" && strings.Contains(dg.Summary, "1.33 → 1.34 refused")
	}
	if !ds.HasErrors() || !refused {
		t.Errorf("a plan the plugin's update check refuses: %v", ds)
	}
}
