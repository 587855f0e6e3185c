package plan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/plan/render"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// TestRenderedPlanShowsKnownValues renders a plan made by the engine (not a
// hand-built one): growing a node pool and adding a storage class while the
// cluster is unchanged must not show anything as "(known after apply)", in
// the human output or in the JSON's after_unknown, and the new storage
// class shows the cluster's actual id.
func TestRenderedPlanShowsKnownValues(t *testing.T) {
	ctx := context.Background()
	cloud := memcloud.New()
	eng := &plan.Engine{
		Drivers: func(ctx context.Context, provider string) (providers.Driver, error) {
			if provider != "mem" {
				return nil, fmt.Errorf("no driver named %q", provider)
			}
			return memcloud.NewDriver(cloud), nil
		},
		State: statetest.NewMemory(),
	}
	region := func(grow bool) *spec.Region {
		r := &spec.Region{
			APIVersion: spec.APIVersion, Kind: spec.KindRegion,
			Metadata: spec.Metadata{Name: "eu1"},
			Spec: spec.RegionSpec{
				Provider: "mem", Location: "mem-east-1", Zones: 2,
				Network: spec.Network{CIDR: "10.20.0.0/16"},
				Cluster: spec.Cluster{KubernetesVersion: "1.33", NodePools: []spec.NodePool{
					{Name: "system", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 3, Max: 6},
				}},
				StorageClasses: []spec.StorageClass{{Name: "fast", Tier: "ssd", Default: true}},
			},
		}
		if grow {
			r.Spec.Cluster.NodePools[0].Max = 9
			r.Spec.StorageClasses = append(r.Spec.StorageClasses, spec.StorageClass{Name: "bulk", Tier: "standard"})
		}
		return r
	}
	first, ds := eng.Plan(ctx, []*spec.Region{region(false)}, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatalf("Plan: %s", ds)
	}
	if _, err := eng.Apply(ctx, first, plan.ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	p, ds := eng.Plan(ctx, []*spec.Region{region(true)}, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatalf("Plan: %s", ds)
	}
	clusterID := ""
	for _, o := range cloud.Objects() {
		if o.Type == memcloud.TypeCluster {
			clusterID = o.ID
		}
	}
	if clusterID == "" {
		t.Fatal("the cloud holds no cluster")
	}

	var human bytes.Buffer
	if err := render.Human(&human, p, render.HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	out := human.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`~ max: 6 → 9`),
		regexp.MustCompile(`\+ cluster_id: +` + regexp.QuoteMeta(strconv.Quote(clusterID))),
	} {
		if !want.MatchString(out) {
			t.Errorf("rendered plan does not match %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "(known after apply)") {
		t.Errorf("rendered plan shows a known value as unknown:\n%s", out)
	}

	var js bytes.Buffer
	if err := render.JSON(&js, p); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Regions []struct {
			Changes []struct {
				Address      string   `json:"address"`
				AfterUnknown []string `json:"after_unknown"`
			} `json:"changes"`
		} `json:"regions"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range doc.Regions {
		for _, c := range r.Changes {
			n++
			if len(c.AfterUnknown) > 0 {
				t.Errorf("%s: after_unknown = %v, want none: every referenced resource is unchanged", c.Address, c.AfterUnknown)
			}
		}
	}
	if n == 0 {
		t.Errorf("JSON plan lists no changes:\n%s", js.String())
	}
}
