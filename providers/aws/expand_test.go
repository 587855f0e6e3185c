package aws_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	awsdriver "github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/spec"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func newOffline(t *testing.T) providers.Driver {
	t.Helper()
	// Sandbox mode with an endpoint nobody listens on: Expand and Validate
	// never call the cloud, and nothing reads the user's credentials.
	d, err := awsdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"aws": "http://127.0.0.1:1"}, SandboxDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestExpandGolden pins the whole resource graph of examples/aws.yaml.
func TestExpandGolden(t *testing.T) {
	d := newOffline(t)
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: loadExample(t)})
	if err != nil || len(resp.Diagnostics) > 0 {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	got, err := json.MarshalIndent(map[string]any{"resources": resp.Resources, "notes": resp.Notes}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "aws.golden.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("Expand(examples/aws.yaml) differs from %s; if the change is intended, run go test ./providers/aws -update and review the diff\ngot:\n%s", path, got)
	}
}

func addrsOf(rs []providers.Resource, typ string) []string {
	var out []string
	for _, r := range rs {
		if r.Type == typ {
			_, _, name, _ := providers.SplitAddress(r.Address)
			out = append(out, name)
		}
	}
	return out
}

func TestExpandTable(t *testing.T) {
	d := newOffline(t)
	base := func(mod func(r *spec.Region)) *spec.Region {
		r := smallRegion()
		r.Spec.Zones = 3
		r.Spec.Network.SingleNATGateway = false
		mod(r)
		return r
	}
	tests := []struct {
		name   string
		region *spec.Region
		check  func(t *testing.T, resp providers.ExpandResponse)
	}{
		{"NAT per zone", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			if got := addrsOf(resp.Resources, awsdriver.TypeNATGateway); !slices.Equal(got, []string{"a", "b", "c"}) {
				t.Errorf("NAT gateways %v; want a, b, c", got)
			}
			if got := addrsOf(resp.Resources, awsdriver.TypeEIP); !slices.Equal(got, []string{"nat-a", "nat-b", "nat-c"}) {
				t.Errorf("EIPs %v", got)
			}
			for _, r := range resp.Resources {
				if r.Address == "eu1/aws_route_table.private-c" {
					if a, _, _ := providers.AsRef(r.Inputs["nat_gateway_id"]); a != "eu1/aws_nat_gateway.c" {
						t.Errorf("private-c routes through %s; want its own zone's NAT", a)
					}
				}
			}
		}},
		{"single NAT", base(func(r *spec.Region) { r.Spec.Network.SingleNATGateway = true }), func(t *testing.T, resp providers.ExpandResponse) {
			if got := addrsOf(resp.Resources, awsdriver.TypeNATGateway); !slices.Equal(got, []string{"a"}) {
				t.Errorf("NAT gateways %v; want only a", got)
			}
			for _, r := range resp.Resources {
				if r.Type == awsdriver.TypeRouteTable && strings.Contains(r.Address, "private-") {
					if a, _, _ := providers.AsRef(r.Inputs["nat_gateway_id"]); a != "eu1/aws_nat_gateway.a" {
						t.Errorf("%s routes through %s; want the single NAT", r.Address, a)
					}
				}
			}
		}},
		{"subnets carved from the CIDR", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			want := map[string]string{
				"private-a": "10.20.0.0/19", "private-b": "10.20.32.0/19", "private-c": "10.20.64.0/19",
				"public-a": "10.20.224.0/22", "public-b": "10.20.228.0/22", "public-c": "10.20.232.0/22",
			}
			for _, r := range resp.Resources {
				if r.Type != awsdriver.TypeSubnet {
					continue
				}
				_, _, name, _ := providers.SplitAddress(r.Address)
				if r.Inputs["cidr"] != want[name] {
					t.Errorf("subnet %s cidr %v; want %s", name, r.Inputs["cidr"], want[name])
				}
			}
		}},
		{"machine mapping and override", base(func(r *spec.Region) {
			r.Spec.Cluster.NodePools = []spec.NodePool{
				{Name: "small", Machine: spec.Machine{CPU: 2, MemoryGiB: 4, Arch: "amd64"}, Min: 1, Max: 2},
				{Name: "general", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, Arch: "amd64"}, Min: 1, Max: 2},
				{Name: "graviton", Machine: spec.Machine{CPU: 8, MemoryGiB: 32, Arch: "arm64"}, Min: 1, Max: 2, Spot: true},
				{Name: "gpu", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, Arch: "amd64", GPU: 1}, Min: 0, Max: 2,
					Taints: []string{"nvidia.com/gpu=present:NoSchedule", "dedicated:NoExecute"}},
				{Name: "pinned", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, Arch: "amd64"}, Min: 1, Max: 2},
			}
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodePools":{"pinned":{"instanceType":"m7i.xlarge"}}}`)}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			want := map[string][3]string{
				"small":    {"t3.medium", "AL2023_x86_64_STANDARD", "ON_DEMAND"},
				"general":  {"m6i.xlarge", "AL2023_x86_64_STANDARD", "ON_DEMAND"},
				"graviton": {"m7g.2xlarge", "AL2023_ARM_64_STANDARD", "SPOT"},
				"gpu":      {"g5.xlarge", "AL2023_x86_64_NVIDIA", "ON_DEMAND"},
				"pinned":   {"m7i.xlarge", "AL2023_x86_64_STANDARD", "ON_DEMAND"},
			}
			for _, r := range resp.Resources {
				if r.Type != awsdriver.TypeEKSNodeGroup {
					continue
				}
				_, _, pool, _ := providers.SplitAddress(r.Address)
				got := [3]string{r.Inputs["instance_type"].(string), r.Inputs["ami_type"].(string), r.Inputs["capacity_type"].(string)}
				if got != want[pool] {
					t.Errorf("pool %s: %v; want %v", pool, got, want[pool])
				}
				if !r.CreateBeforeDestroy || !strings.HasPrefix(r.Inputs["name"].(string), pool+"-") {
					t.Errorf("pool %s: name %v, createBeforeDestroy %v", pool, r.Inputs["name"], r.CreateBeforeDestroy)
				}
				if pool == "gpu" {
					tj, _ := json.Marshal(r.Inputs["taints"])
					if string(tj) != `[{"effect":"NO_SCHEDULE","key":"nvidia.com/gpu","value":"present"},{"effect":"NO_EXECUTE","key":"dedicated","value":""}]` {
						t.Errorf("gpu taints %s", tj)
					}
				}
			}
			notes := strings.Join(resp.Notes, "\n")
			for _, s := range []string{"node pool general: machine {cpu 4, memory 16 GiB, amd64} → m6i.xlarge", "node pool pinned: override spec.overrides.aws.nodePools.pinned.instanceType → m7i.xlarge"} {
				if !strings.Contains(notes, s) {
					t.Errorf("notes lack %q:\n%s", s, notes)
				}
			}
		}},
		{"node group name follows what forces a replacement", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			r2 := base(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 10 })
			r3 := base(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Spot = true })
			name := func(r *spec.Region) string {
				resp, _ := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
				for _, res := range resp.Resources {
					if res.Type == awsdriver.TypeEKSNodeGroup {
						return res.Inputs["name"].(string)
					}
				}
				return ""
			}
			a, b, c := name(base(func(*spec.Region) {})), name(r2), name(r3)
			if a != b || a == c {
				t.Errorf("names: base %s, scaled %s (want same), spot %s (want different)", a, b, c)
			}
		}},
		{"endpoint access both", base(func(r *spec.Region) { r.Spec.Cluster.EndpointAccess = spec.EndpointBoth }), func(t *testing.T, resp providers.ExpandResponse) {
			for _, r := range resp.Resources {
				if r.Type == awsdriver.TypeEKSCluster {
					if r.Inputs["endpoint_public_access"] != true || r.Inputs["endpoint_private_access"] != true || !r.Stateful {
						t.Errorf("cluster inputs %v stateful %v", r.Inputs, r.Stateful)
					}
				}
			}
		}},
		{"external load balancer gets a stateful EIP per zone", base(func(r *spec.Region) {
			r.Spec.LoadBalancers = []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal}, {Name: "int", Scheme: spec.SchemeInternal}}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			var lb []string
			for _, r := range resp.Resources {
				if r.Type == awsdriver.TypeEIP && strings.Contains(r.Address, ".lb-") {
					lb = append(lb, r.Address)
					if !r.Stateful {
						t.Errorf("%s is not stateful", r.Address)
					}
				}
			}
			if !slices.Equal(lb, []string{"eu1/aws_eip.lb-web-a", "eu1/aws_eip.lb-web-b", "eu1/aws_eip.lb-web-c"}) {
				t.Errorf("LB EIPs %v", lb)
			}
		}},
		{"us-east-1e is kept out of the control plane", base(func(r *spec.Region) { r.Spec.Location = "us-east-1"; r.Spec.Zones = 6 }), func(t *testing.T, resp providers.ExpandResponse) {
			for _, r := range resp.Resources {
				if r.Type == awsdriver.TypeEKSCluster {
					if n := len(r.Inputs["subnet_ids"].([]any)); n != 5 {
						t.Errorf("cluster has %d subnets; want 5 (no us-east-1e)", n)
					}
				}
			}
			if got := addrsOf(resp.Resources, awsdriver.TypeNATGateway); !slices.Equal(got, []string{"a", "b", "c", "d", "f", "e"}) {
				t.Errorf("zones %v", got)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: tc.region})
			if err != nil || resp.Diagnostics.HasErrors() {
				t.Fatalf("Expand: %v\n%v", err, resp.Diagnostics)
			}
			tc.check(t, resp)
		})
	}
}

func TestValidate(t *testing.T) {
	d := newOffline(t).(providers.Validator)
	tests := []struct {
		name string
		mod  func(r *spec.Region)
		// want are substrings of the error diagnostics, one each, in order.
		want []string
	}{
		{"valid override", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodePools":{"system":{"instanceType":"m7i.large"}}}`)}
		}, nil},
		{"unknown top-level key", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodepools":{}}`)}
		}, []string{`spec.overrides.aws.nodepools: unknown AWS override "nodepools"` + "", `did you mean "nodePools"?`}},
		{"unknown pool", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodePools":{"sytem":{"instanceType":"m7i.large"}}}`)}
		}, []string{`node pool "sytem" does not exist`, `did you mean "system"?`}},
		{"unknown pool key", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodePools":{"system":{"instancetype":"m7i.large"}}}`)}
		}, []string{`unknown node pool override "instancetype"`, `did you mean "instanceType"?`}},
		{"unknown instance type", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodePools":{"system":{"instanceType":"m7i.larg"}}}`)}
		}, []string{`instance type "m7i.larg" is not in the AWS driver's catalog`, `did you mean "m7i.large"?`}},
		{"wrong arch", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`{"nodePools":{"system":{"instanceType":"m7g.large"}}}`)}
		}, []string{"instance type m7g.large is arm64 but node pool \"system\" asks for amd64"}},
		{"not an object", func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"aws": json.RawMessage(`"m7i"`)}
		}, []string{"spec.overrides.aws must be an object"}},
		{"one zone", func(r *spec.Region) { r.Spec.Zones = 1 }, []string{"EKS needs subnets in at least two availability zones"}},
		{"CIDR too small", func(r *spec.Region) { r.Spec.Network.CIDR = "10.0.0.0/24" }, []string{"needs a prefix between /16 and /22"}},
		{"CIDR host bits", func(r *spec.Region) { r.Spec.Network.CIDR = "10.0.0.1/16" }, []string{"did you mean 10.0.0.0/16?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := smallRegion()
			tc.mod(r)
			var errs []string
			for _, x := range d.Validate(context.Background(), r) {
				if x.Severity == 0 {
					errs = append(errs, x.String())
				}
			}
			all := strings.Join(errs, "\n")
			if len(tc.want) == 0 && len(errs) > 0 {
				t.Fatalf("unexpected errors:\n%s", all)
			}
			if len(tc.want) > 0 && len(errs) != 1 {
				t.Fatalf("got %d errors, want 1:\n%s", len(errs), all)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors lack %q:\n%s", w, all)
				}
			}
		})
	}
}

func TestCapabilities(t *testing.T) {
	c := newOffline(t).Capabilities()
	for loc, want := range map[string]int{"us-east-1": 6, "us-east-2": 3, "us-west-2": 4, "eu-west-1": 3, "eu-central-1": 3, "ap-southeast-1": 3} {
		if c.Locations[loc] != want {
			t.Errorf("Locations[%s] = %d; want %d", loc, c.Locations[loc], want)
		}
	}
	if !slices.Equal(c.KubernetesVersions, []string{"1.31", "1.32", "1.33", "1.34"}) || c.Name != "aws" || c.MaxParallel != 0 || !c.RateBudgeted {
		t.Errorf("capabilities %+v", c)
	}
}
