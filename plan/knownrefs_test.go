package plan

import (
	"path/filepath"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// TestPlanResolvesKnownReferences checks that a plan never shows a value as
// "known after apply" when it is known: Change.After keeps a reference only
// to a resource the plan creates or replaces, and every other reference is
// the referenced resource's refreshed output. The plan then applies (after a
// trip through a plan file) and the next plan is empty.
func TestPlanResolvesKnownReferences(t *testing.T) {
	bulk := addr(r1, memcloud.TypeStorageClass, "bulk")
	tests := []struct {
		name   string
		change func(*spec.Region)
		// want are actions the case relies on; wantReplaced are resources
		// it relies on being replaced, either way.
		want         map[string]Action
		wantReplaced []string
		// wantKnown: address → input key → the resource whose current ID the
		// key must show.
		wantKnown map[string]map[string]string
		// wantRef: address → input key → the resource the key must still
		// refer to (unknown until apply).
		wantRef map[string]map[string]string
	}{
		{
			name:   "no-op resources show the ids of no-op dependencies",
			change: func(*spec.Region) {},
			want:   map[string]Action{network: NoOp, subnetA: NoOp, natA: NoOp, router: NoOp, cluster: NoOp, poolSys: NoOp},
			wantKnown: map[string]map[string]string{
				subnetA: {"network_id": network},
				natA:    {"subnet_id": subnetA},
				router:  {"network_id": network},
				poolSys: {"cluster_id": cluster},
				lbWeb:   {"cluster_id": cluster},
			},
		},
		{
			name:      "pool update on an unchanged cluster shows the cluster id",
			change:    func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 9 },
			want:      map[string]Action{poolSys: Update, cluster: NoOp},
			wantKnown: map[string]map[string]string{poolSys: {"cluster_id": cluster}},
		},
		{
			name:      "dependents of an updated cluster show its id",
			change:    func(r *spec.Region) { r.Spec.Cluster.KubernetesVersion = "1.34" },
			want:      map[string]Action{cluster: Update, poolSys: NoOp},
			wantKnown: map[string]map[string]string{poolSys: {"cluster_id": cluster}, scFast: {"cluster_id": cluster}},
		},
		{
			name: "a new resource on an unchanged cluster shows the cluster id",
			change: func(r *spec.Region) {
				r.Spec.StorageClasses = append(r.Spec.StorageClasses, spec.StorageClass{Name: "bulk", Tier: "standard"})
			},
			want:      map[string]Action{bulk: Create, cluster: NoOp},
			wantKnown: map[string]map[string]string{bulk: {"cluster_id": cluster}},
		},
		{
			name: "a replaced pool on an unchanged cluster shows the cluster id",
			change: func(r *spec.Region) {
				r.Spec.Cluster.NodePools[1].Machine.CPU = 16
				r.Spec.Cluster.NodePools[1].Machine.MemoryGiB = 64
			},
			want:      map[string]Action{poolWork: CreateThenDelete, cluster: NoOp},
			wantKnown: map[string]map[string]string{poolWork: {"cluster_id": cluster}},
		},
		{
			name:         "dependents of a replaced resource keep the reference",
			change:       func(r *spec.Region) { r.Spec.Network.CIDR = "10.30.0.0/16" },
			wantReplaced: []string{network, subnetA, cluster},
			wantRef: map[string]map[string]string{
				subnetA: {"network_id": network},
				router:  {"network_id": network},
				natA:    {"subnet_id": subnetA},
				poolSys: {"cluster_id": cluster},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.converge(t, region(r1))
			before := f.state(t, r1)
			idOf := func(a string) string {
				res, ok := before.Find(a)
				if !ok || res.ID == "" {
					t.Fatalf("state has no %s", a)
				}
				return res.ID
			}
			p := f.plan(t, PlanOptions{AllowDestroy: true}, region(r1, tt.change))
			rp := p.Regions[0]
			got := changesByAddr(rp)
			for a, want := range tt.want {
				if got[a].Action != want {
					t.Errorf("%s: action %v, want %v", a, got[a].Action, want)
				}
			}
			for _, a := range tt.wantReplaced {
				if !got[a].Action.IsReplace() {
					t.Errorf("%s: action %v, want a replacement", a, got[a].Action)
				}
			}

			// Every reference left in After is to a resource created or
			// replaced by this plan, and every reference to another one is
			// resolved.
			for _, c := range rp.Changes {
				for _, target := range providers.Refs(c.After) {
					if a := got[target].Action; a != Create && !a.IsReplace() {
						t.Errorf("%s (%v): After refers to %s, which is %v: its outputs are known", c.Address, c.Action, target, a)
					}
				}
			}
			for _, d := range rp.Desired {
				c := got[d.Address]
				for _, target := range providers.Refs(map[string]any(d.Inputs)) {
					if a := got[target].Action; (a == Create || a.IsReplace()) && !containsRef(c.After, target) {
						t.Errorf("%s: After lost its reference to %s, which is %v", d.Address, target, a)
					}
				}
			}

			for a, keys := range tt.wantKnown {
				for k, target := range keys {
					if v, want := got[a].After[k], idOf(target); v != want {
						t.Errorf("%s: After[%s] = %v, want %s's id %q", a, k, v, target, want)
					}
				}
			}
			for a, keys := range tt.wantRef {
				for k, target := range keys {
					refAddr, output, ok := providers.AsRef(got[a].After[k])
					if !ok || refAddr != target || output != "id" {
						t.Errorf("%s: After[%s] = %v, want a reference to %s#id", a, k, got[a].After[k], target)
					}
				}
			}

			// The plan file carries both kinds of value, and apply still
			// resolves references from the outputs it has then.
			path := filepath.Join(t.TempDir(), "plan.json")
			if err := WritePlanFile(path, p); err != nil {
				t.Fatal(err)
			}
			read, err := ReadPlanFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f.apply(t, read)
			if again := f.plan(t, PlanOptions{}, region(r1, tt.change)); again.HasChanges() {
				t.Errorf("second plan after apply has changes: %+v", again.Regions[0].Changes)
			}
			after := f.state(t, r1)
			for _, r := range after.Resources {
				if refs := providers.Refs(r.Inputs); len(refs) > 0 {
					t.Errorf("state of %s holds references to %v", r.Address, refs)
				}
			}
			f.checkNoLeaks(t, r1)
		})
	}
}

func containsRef(v map[string]any, target string) bool {
	for _, r := range providers.Refs(v) {
		if r == target {
			return true
		}
	}
	return false
}

// TestApplyResolvesFromDesired checks that apply takes references from the
// desired graph and the outputs it has at the time, not the values the plan
// showed, and falls back to After for a resource Desired does not hold.
func TestApplyResolvesFromDesired(t *testing.T) {
	const target = "eu1/mem_cluster.main"
	tests := []struct {
		name    string
		desired []providers.Resource
		after   map[string]any
		want    any
		wantErr bool
	}{
		{
			name:    "desired reference wins over the value shown at plan time",
			desired: []providers.Resource{{Address: "eu1/mem_node_pool.a", Inputs: providers.Values{"cluster_id": providers.Ref(target, "id")}}},
			after:   map[string]any{"cluster_id": "cluster-at-plan-time"},
			want:    "cluster-now",
		},
		{
			name:  "no desired resource: After's reference is resolved",
			after: map[string]any{"cluster_id": providers.Ref(target, "id")},
			want:  "cluster-now",
		},
		{
			name:  "no desired resource: After's known value is kept",
			after: map[string]any{"cluster_id": "cluster-at-plan-time"},
			want:  "cluster-at-plan-time",
		},
		{
			name:    "a reference to an output not produced is an error",
			desired: []providers.Resource{{Address: "eu1/mem_node_pool.a", Inputs: providers.Values{"cluster_id": providers.Ref(target, "endpoint")}}},
			after:   map[string]any{"cluster_id": "x"},
			wantErr: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rp := &RegionPlan{Region: "eu1", Desired: tt.desired,
				Changes: []Change{{Address: "eu1/mem_node_pool.a", Action: Update, After: tt.after}}}
			run := &regionRun{rp: rp, outputs: map[string]map[string]any{target: {"id": "cluster-now"}}}
			got, err := run.resolve(&rp.Changes[0])
			if (err != nil) != tt.wantErr {
				t.Fatalf("resolve: err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && got["cluster_id"] != tt.want {
				t.Errorf("cluster_id = %v, want %v", got["cluster_id"], tt.want)
			}
		})
	}
}
