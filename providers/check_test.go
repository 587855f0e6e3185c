package providers

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

const checkYAML = `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: r}
spec:
  provider: test
  location: us-east-1
  network: {cidr: 10.0.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}
      - {name: big, machine: {cpu: 4, memoryGiB: 16}, min: 1, max: 3}
  storageClasses:
    - {name: fast, tier: ssd}
  loadBalancers:
    - {name: api, scheme: external, ports: [{port: 443}], selector: {app: x}}
`

func testCaps() Capabilities {
	return Capabilities{
		Name:                "test",
		KubernetesVersions:  []string{"1.33", "1.31", "1.32", "1.30"},
		Machines:            testCatalog,
		StorageTiers:        []string{"standard", "ssd"},
		LoadBalancerSchemes: []string{"external", "internal"},
		Locations:           map[string]int{"us-east-1": 6, "us-west-1": 2, "eu-west-1": 3},
	}
}

func loadCheckRegion(t *testing.T) *spec.Region {
	t.Helper()
	rs, ds := spec.LoadBytes("r.yaml", []byte(checkYAML), spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("test region does not load:\n%s", ds)
	}
	return rs[0]
}

func TestCheckRegion(t *testing.T) {
	tests := []struct {
		name     string
		mutate   func(r *spec.Region, c *Capabilities)
		wantPath string
		want     string
		wantFix  string
		wantLine int
	}{
		{name: "valid"},
		{name: "version not offered", mutate: func(r *spec.Region, _ *Capabilities) { r.Spec.Cluster.KubernetesVersion = "1.35" },
			wantPath: "spec.cluster.kubernetesVersion", want: "driver test does not offer Kubernetes 1.35",
			wantFix: `use "1.33" (offered: 1.30, 1.31, 1.32, 1.33)`, wantLine: 9},
		{name: "version too old", mutate: func(r *spec.Region, _ *Capabilities) { r.Spec.Cluster.KubernetesVersion = "1.28" },
			wantPath: "spec.cluster.kubernetesVersion", wantFix: `use "1.30"`},
		{name: "version versions unknown", mutate: func(r *spec.Region, c *Capabilities) {
			r.Spec.Cluster.KubernetesVersion = "1.99"
			c.KubernetesVersions = nil
		}},
		{name: "location typo", mutate: func(r *spec.Region, _ *Capabilities) { r.Spec.Location = "us-east1" },
			wantPath: "spec.location", want: `does not know location "us-east1"`, wantFix: `did you mean "us-east-1"?`, wantLine: 6},
		{name: "location unknown", mutate: func(r *spec.Region, _ *Capabilities) { r.Spec.Location = "mars" },
			wantPath: "spec.location", want: "mars"},
		{name: "too many zones", mutate: func(r *spec.Region, _ *Capabilities) { r.Spec.Location = "us-west-1" },
			wantPath: "spec.zones", want: "3 zones requested but us-west-1 has 2", wantFix: "at most 2"},
		{name: "machine does not fit", mutate: func(r *spec.Region, _ *Capabilities) { r.Spec.Cluster.NodePools[1].Machine.CPU = 96 },
			wantPath: "spec.cluster.nodePools[1].machine", want: `node pool "big": no general amd64 machine type has 96 CPU`, wantLine: 12},
		{name: "tier unsupported", mutate: func(_ *spec.Region, c *Capabilities) { c.StorageTiers = []string{"standard"} },
			wantPath: "spec.storageClasses[0].tier", want: `does not support storage tier "ssd"`, wantLine: 14},
		{name: "scheme unsupported", mutate: func(_ *spec.Region, c *Capabilities) { c.LoadBalancerSchemes = []string{"internal"} },
			wantPath: "spec.loadBalancers[0].scheme", want: `does not support load balancer scheme "external"`, wantLine: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, caps := loadCheckRegion(t), testCaps()
			if tt.mutate != nil {
				tt.mutate(r, &caps)
			}
			ds := CheckRegion(r, caps)
			if tt.wantPath == "" {
				if len(ds) != 0 {
					t.Fatalf("want no diagnostics, got:\n%s", ds)
				}
				return
			}
			if len(ds) != 1 {
				t.Fatalf("want one diagnostic, got %d:\n%s", len(ds), ds)
			}
			d := ds[0]
			if d.Severity != diag.Error || d.Path != tt.wantPath || !strings.Contains(d.Summary, tt.want) || !strings.Contains(d.Fix, tt.wantFix) {
				t.Errorf("got %s\nwant path %q, summary with %q, fix with %q", d, tt.wantPath, tt.want, tt.wantFix)
			}
			if d.Pos.File != "r.yaml" || (tt.wantLine != 0 && d.Pos.Line != tt.wantLine) {
				t.Errorf("position %v, want r.yaml line %d", d.Pos, tt.wantLine)
			}
		})
	}
}

func TestCheckRegionReportsAll(t *testing.T) {
	r, caps := loadCheckRegion(t), testCaps()
	r.Spec.Cluster.KubernetesVersion = "1.20"
	r.Spec.Location = "nowhere"
	r.Spec.Cluster.NodePools[0].Machine.MemoryGiB = 4096
	caps.StorageTiers = []string{"standard"}
	ds := CheckRegion(r, caps)
	if len(ds) != 4 {
		t.Fatalf("want 4 diagnostics, got:\n%s", ds)
	}
	for i := 1; i < len(ds); i++ {
		if ds[i-1].Pos.Line > ds[i].Pos.Line {
			t.Errorf("diagnostics not sorted:\n%s", ds)
		}
	}
}
