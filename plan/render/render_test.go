package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// fullPlan covers every action, drift (changed and deleted), unknown values
// at the top level and nested, nested maps and lists, keys that need
// quoting, notes, a stateful replacement and a stateful delete, a deposed
// object, and a region with no changes.
func fullPlan() *plan.Plan {
	const r = "prod-us-east"
	a := func(typ, name string) string { return providers.Address(r, typ, name) }
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Created:       time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Regions: []plan.RegionPlan{
			{
				Region: r, Provider: "aws", Lineage: "7f1c9e2a", Serial: 4,
				Drift: []plan.Drift{
					{
						Address: a("aws_eks_nodegroup", "system"),
						Before:  map[string]any{"scaling": map[string]any{"desired": 3, "max": 6}, "labels": map[string]any{"role": "system"}},
						After:   map[string]any{"scaling": map[string]any{"desired": 4.0, "max": 6}, "labels": map[string]any{"role": "system", "team": "ops"}},
					},
					{Address: a("aws_eip", "nat_b"), Deleted: true},
				},
				Changes: []plan.Change{
					{Address: a("aws_vpc", "main"), Type: "aws_vpc", Action: plan.NoOp,
						Before: map[string]any{"cidr": "10.20.0.0/16"}, After: map[string]any{"cidr": "10.20.0.0/16"}},
					{Address: a("aws_subnet", "private_c"), Type: "aws_subnet", Action: plan.Create,
						After: map[string]any{
							"vpc_id":            providers.Ref(a("aws_vpc", "main"), "id"),
							"cidr":              "10.20.48.0/20",
							"availability_zone": "us-east-1c",
							"map_public_ip":     false,
							"tags": map[string]any{
								"Name":                            "prod-us-east-private-c",
								"kubernetes.io/role/internal-elb": "1",
							},
						}},
					{Address: a("aws_eks_nodegroup", "apps"), Type: "aws_eks_nodegroup", Action: plan.Update,
						Before: map[string]any{
							"scaling": map[string]any{"min": 3, "max": 10},
							"labels":  map[string]any{"team": "web"},
							"taints":  []any{"dedicated=apps:NoSchedule"},
							"version": "1.32",
						},
						After: map[string]any{
							"scaling":    map[string]any{"min": 5, "max": 10},
							"labels":     map[string]any{"team": "web", "tier": "frontend"},
							"taints":     []any{},
							"version":    "1.32",
							"subnet_ids": []any{"subnet-a", providers.Ref(a("aws_subnet", "private_c"), "id")},
						}},
					{Address: a("aws_eks_cluster", "main"), Type: "aws_eks_cluster", Action: plan.DeleteThenCreate,
						Stateful:     true,
						ReplacePaths: []string{"subnet_ids"},
						Before: map[string]any{
							"name":       "prod-us-east",
							"version":    "1.32",
							"subnet_ids": []any{"subnet-a", "subnet-b"},
						},
						After: map[string]any{
							"name":       "prod-us-east",
							"version":    "1.33",
							"subnet_ids": []any{"subnet-a", "subnet-b", providers.Ref(a("aws_subnet", "private_c"), "id")},
						}},
					{Address: a("aws_eks_nodegroup", "system"), Type: "aws_eks_nodegroup", Action: plan.CreateThenDelete,
						ReplacePaths: []string{"instance_types"},
						Reason:       "instance_types forces replacement",
						Before:       map[string]any{"instance_types": []any{"m7i.large"}, "cluster": "prod-us-east"},
						After:        map[string]any{"instance_types": []any{"m7i.xlarge"}, "cluster": providers.Ref(a("aws_eks_cluster", "main"), "name")}},
					{Address: a("aws_ebs_volume", "legacy"), Type: "aws_ebs_volume", Action: plan.Delete, Stateful: true,
						Before: map[string]any{"size": 100}},
					{Address: a("aws_eks_nodegroup", "old"), Type: "aws_eks_nodegroup", Action: plan.Delete,
						DeposedID: "prod-us-east-old-7c2f", Reason: "left by an interrupted replacement"},
					{Address: a("aws_lb", "web"), Type: "aws_lb", Action: plan.Create, Reason: "tainted by a failed create",
						After: map[string]any{"scheme": "internet-facing", "ports": []any{map[string]any{"port": 443, "target_port": 8443}}, "empty": map[string]any{}}},
				},
				Notes: []string{
					"node pool apps: machine {cpu 4, memory 16 GiB} → m7i.xlarge",
					"single NAT gateway: one zone's outage cuts egress for all",
				},
			},
			{
				Region: "prod-eu-west", Provider: "gcp", Serial: 9,
				Changes: []plan.Change{
					{Address: "prod-eu-west/google_compute_network.main", Type: "google_compute_network", Action: plan.NoOp},
				},
				Notes: []string{"not shown: the region has no changes"},
			},
		},
	}
}

// emptyPlan has regions whose changes are all no-ops.
func emptyPlan() *plan.Plan {
	return &plan.Plan{
		FormatVersion: plan.FormatVersion,
		Created:       time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		Regions: []plan.RegionPlan{{
			Region: "prod-us-east", Provider: "aws", Lineage: "7f1c9e2a", Serial: 5,
			Changes: []plan.Change{{Address: "prod-us-east/aws_vpc.main", Type: "aws_vpc", Action: plan.NoOp,
				Before: map[string]any{"cidr": "10.20.0.0/16"}, After: map[string]any{"cidr": "10.20.0.0/16"}}},
		}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test -update rewrites it):\n%s", path, diff)
	}
}

func TestGolden(t *testing.T) {
	plans := []struct {
		name string
		plan *plan.Plan
	}{
		{"full", fullPlan()},
		{"empty", emptyPlan()},
	}
	for _, p := range plans {
		t.Run(p.name, func(t *testing.T) {
			for _, color := range []bool{false, true} {
				var buf bytes.Buffer
				if err := Human(&buf, p.plan, HumanOptions{Color: color}); err != nil {
					t.Fatal(err)
				}
				name := p.name + ".human.golden"
				if color {
					name = p.name + ".color.golden"
				}
				golden(t, name, buf.Bytes())
				if !color && strings.Contains(buf.String(), "\x1b") {
					t.Errorf("human output without colour holds an escape sequence")
				}
				if color && !strings.Contains(buf.String(), "\x1b[") {
					t.Errorf("human output with colour holds no colour")
				}
			}
			var buf bytes.Buffer
			if err := JSON(&buf, p.plan); err != nil {
				t.Fatal(err)
			}
			golden(t, p.name+".json.golden", buf.Bytes())
		})
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		c    plan.Counts
		want string
	}{
		{"nothing", plan.Counts{}, "No changes. Your regions match the spec."},
		{"adds", plan.Counts{Add: 3, Change: 1}, "Plan: 3 to add, 1 to change, 0 to destroy."},
		{"replace counts twice", plan.Counts{Add: 1, Destroy: 1, Replace: 1}, "Plan: 1 to add, 0 to change, 1 to destroy."},
		{"destroy only", plan.Counts{Destroy: 12}, "Plan: 0 to add, 0 to change, 12 to destroy."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summary(tt.c); got != tt.want {
				t.Errorf("Summary(%+v) = %q; want %q", tt.c, got, tt.want)
			}
		})
	}
}

func TestHumanLines(t *testing.T) {
	var buf bytes.Buffer
	if err := Human(&buf, fullPlan(), HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"  + prod-us-east/aws_subnet.private_c\n",
		"  ~ prod-us-east/aws_eks_nodegroup.apps\n",
		"-/+ prod-us-east/aws_eks_cluster.main (replace: subnet_ids forces replacement)\n",
		"+/- prod-us-east/aws_eks_nodegroup.system (replace: instance_types forces replacement)\n",
		"  - prod-us-east/aws_ebs_volume.legacy\n",
		"~ scaling.min: 3 → 5",
		"+ vpc_id:            (known after apply)",
		"# WARNING: destroys stateful resource",
		`"kubernetes.io/role/internal-elb": "1"`,
		"+ labels.tier:",
		"Plan: 4 to add, 1 to change, 4 to destroy.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("human output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "$ref") {
		t.Errorf("human output shows a raw reference:\n%s", out)
	}
	if strings.Contains(out, "aws_vpc.main") {
		t.Errorf("human output shows a no-op change:\n%s", out)
	}
	if n := strings.Count(out, "WARNING"); n != 2 {
		t.Errorf("got %d stateful warnings; want 2 (the replaced cluster and the deleted volume)", n)
	}
}

func TestJSONUnknownsAreNull(t *testing.T) {
	var buf bytes.Buffer
	if err := JSON(&buf, fullPlan()); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Regions       []struct {
			Changes []struct {
				Address      string         `json:"address"`
				Action       string         `json:"action"`
				After        map[string]any `json:"after"`
				AfterUnknown []string       `json:"after_unknown"`
				ReplacePaths []string       `json:"replace_paths"`
			} `json:"changes"`
		} `json:"regions"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if doc.FormatVersion != JSONFormatVersion {
		t.Errorf("format_version %q; want %q", doc.FormatVersion, JSONFormatVersion)
	}
	if strings.Contains(buf.String(), "$ref") {
		t.Errorf("JSON output leaks the internal reference form")
	}
	byAddr := map[string]int{}
	for i, c := range doc.Regions[0].Changes {
		byAddr[c.Address] = i
	}
	tests := []struct {
		address     string
		wantUnknown []string
		wantReplace []string
	}{
		{"prod-us-east/aws_subnet.private_c", []string{"/vpc_id"}, []string{}},
		{"prod-us-east/aws_eks_nodegroup.apps", []string{"/subnet_ids/1"}, []string{}},
		{"prod-us-east/aws_eks_cluster.main", []string{"/subnet_ids/2"}, []string{"/subnet_ids"}},
		{"prod-us-east/aws_ebs_volume.legacy", []string{}, []string{}},
	}
	for _, tt := range tests {
		c := doc.Regions[0].Changes[byAddr[tt.address]]
		if !slices.Equal(c.AfterUnknown, tt.wantUnknown) {
			t.Errorf("%s: after_unknown %q; want %q", tt.address, c.AfterUnknown, tt.wantUnknown)
		}
		if !slices.Equal(c.ReplacePaths, tt.wantReplace) {
			t.Errorf("%s: replace_paths %q; want %q", tt.address, c.ReplacePaths, tt.wantReplace)
		}
	}
	subnet := doc.Regions[0].Changes[byAddr["prod-us-east/aws_subnet.private_c"]]
	if v, ok := subnet.After["vpc_id"]; !ok || v != nil {
		t.Errorf("after.vpc_id = %v (present %v); want null", v, ok)
	}
	if got, want := doc.Summary, map[string]int{"add": 4, "change": 1, "destroy": 4, "replace": 2, "import": 0, "record": 0}; !cmp.Equal(got, want) {
		t.Errorf("summary %v; want %v", got, want)
	}
}

func TestPointerEscapes(t *testing.T) {
	if got, want := pointer("/tags", "a/b~c"), "/tags/a~1b~0c"; got != want {
		t.Errorf("pointer = %q; want %q", got, want)
	}
}

func TestNilPlan(t *testing.T) {
	if err := Human(&bytes.Buffer{}, nil, HumanOptions{}); err == nil {
		t.Errorf("Human(nil) succeeded")
	}
	if err := JSON(&bytes.Buffer{}, nil); err == nil {
		t.Errorf("JSON(nil) succeeded")
	}
}

type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrors(t *testing.T) {
	if err := Human(failWriter{}, fullPlan(), HumanOptions{}); !errors.Is(err, errWrite) {
		t.Errorf("Human to a failing writer: %v; want %v", err, errWrite)
	}
	if err := JSON(failWriter{}, fullPlan()); !errors.Is(err, errWrite) {
		t.Errorf("JSON to a failing writer: %v; want %v", err, errWrite)
	}
}

// TestOddValues: values a driver should not produce still render, and
// never panic.
func TestOddValues(t *testing.T) {
	p := &plan.Plan{Regions: []plan.RegionPlan{{Region: "r", Provider: "x", Changes: []plan.Change{{
		Address: "r/x_thing.a", Type: "x_thing", Action: plan.Create,
		After: map[string]any{
			"strings": []string{"a", "b"},
			"labels":  map[string]string{"k": "v"},
			"big":     1e20,
			"frac":    0.25,
			"nil":     nil,
			"nested":  []any{[]any{providers.Ref("r/x_other.b", "id")}},
		},
	}}}}}
	var h, j bytes.Buffer
	if err := Human(&h, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"a",`, `k: "v"`, "1e+20", "0.25", "null", knownAfterApply} {
		if !strings.Contains(h.String(), want) {
			t.Errorf("human output lacks %q:\n%s", want, h.String())
		}
	}
	if err := JSON(&j, p); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(j.String(), `"/nested/0/0"`) {
		t.Errorf("JSON lacks the nested unknown's pointer:\n%s", j.String())
	}
}
