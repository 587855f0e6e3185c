package azure_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	azdriver "github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/spec"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func newOffline(t *testing.T) providers.Driver {
	t.Helper()
	// Sandbox mode with an endpoint nobody listens on: Expand and Validate
	// never call the cloud, and nothing reads the user's credentials.
	d, err := azdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"azure": "http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func loadExample(t *testing.T) *spec.Region {
	t.Helper()
	rs, ds := spec.Load(context.Background(), []string{"../../examples/azure.yaml"}, spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load examples/azure.yaml: %d regions, diagnostics:\n%v", len(rs), ds)
	}
	return rs[0]
}

func smallRegion() *spec.Region {
	r := &spec.Region{
		APIVersion: spec.APIVersion, Kind: spec.KindRegion,
		Metadata: spec.Metadata{Name: "weu1"},
		Spec: spec.RegionSpec{
			Provider: "azure", Location: "westeurope", Zones: 2,
			Network: spec.Network{CIDR: "10.30.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.32", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 8}, Min: 1, Max: 3},
				{Name: "apps", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 0, Max: 4, Labels: map[string]string{"tier": "apps"}},
			}},
		},
	}
	r.Default()
	return r
}

// TestExpandGolden pins the whole resource graph of examples/azure.yaml.
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
	path := filepath.Join("testdata", "azure.golden.json")
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
		t.Errorf("Expand(examples/azure.yaml) differs from %s; if the change is intended, run go test ./providers/azure -update and review the diff\ngot:\n%s", path, got)
	}
}

func byType(rs []providers.Resource, typ string) []providers.Resource {
	var out []providers.Resource
	for _, r := range rs {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

func TestExpandTable(t *testing.T) {
	d := newOffline(t)
	base := func(mod func(r *spec.Region)) *spec.Region {
		r := smallRegion()
		mod(r)
		return r
	}
	poolNameOf := func(r *spec.Region, pool string) string {
		resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
		if err != nil {
			t.Fatal(err)
		}
		for _, res := range resp.Resources {
			if res.Type == azdriver.TypeCluster && pool == r.Spec.Cluster.NodePools[0].Name {
				return res.Inputs["system_pool"].(map[string]any)["name"].(string)
			}
			if res.Address == providers.Address(r.Metadata.Name, azdriver.TypeNodePool, pool) {
				return res.Inputs["name"].(string)
			}
		}
		return ""
	}
	tests := []struct {
		name   string
		region *spec.Region
		check  func(t *testing.T, resp providers.ExpandResponse)
	}{
		{"graph order and types", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			var types []string
			for _, r := range resp.Resources {
				types = append(types, r.Type)
			}
			want := []string{azdriver.TypeResourceGroup, azdriver.TypeVirtualNetwork, azdriver.TypeSubnet, azdriver.TypeCluster, azdriver.TypeNodePool}
			if !slices.Equal(types, want) {
				t.Errorf("types %v; want %v", types, want)
			}
		}},
		{"first pool is the inline System pool, the others User pools", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			cl := byType(resp.Resources, azdriver.TypeCluster)[0]
			sp := cl.Inputs["system_pool"].(map[string]any)
			if sp["vm_size"] != "Standard_D2s_v5" || sp["min"] != 1 || sp["max"] != 3 || !strings.HasPrefix(sp["name"].(string), "system") {
				t.Errorf("system_pool %v", sp)
			}
			pools := byType(resp.Resources, azdriver.TypeNodePool)
			if len(pools) != 1 || pools[0].Address != "weu1/azure_kubernetes_node_pool.apps" || !pools[0].CreateBeforeDestroy {
				t.Fatalf("user pools %+v", pools)
			}
			if pools[0].Inputs["vm_size"] != "Standard_D4s_v5" || pools[0].Inputs["priority"] != "Regular" {
				t.Errorf("apps pool %v", pools[0].Inputs)
			}
			if _, ok := pools[0].Inputs["eviction_policy"]; ok {
				t.Errorf("a Regular pool has an eviction policy: %v", pools[0].Inputs)
			}
			if !cl.Stateful {
				t.Errorf("the cluster is not stateful")
			}
			notes := strings.Join(resp.Notes, "\n")
			if !strings.Contains(notes, "node pool system: machine {cpu 2, memory 8 GiB, amd64} → Standard_D2s_v5 (2 vCPU, 8 GiB); AKS requires a System pool, so this first pool is defined inline in weu1/azure_kubernetes_cluster.main") {
				t.Errorf("notes do not say the first pool is the System pool:\n%s", notes)
			}
		}},
		{"spot, arm64, GPU and override", base(func(r *spec.Region) {
			r.Spec.Cluster.NodePools = append(r.Spec.Cluster.NodePools,
				spec.NodePool{Name: "batch", Machine: spec.Machine{CPU: 8, MemoryGiB: 32, Arch: "arm64"}, Spot: true, Min: 0, Max: 5},
				spec.NodePool{Name: "gpu", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, GPU: 1}, Min: 0, Max: 2, Taints: []string{"nvidia.com/gpu=present:NoSchedule"}},
				spec.NodePool{Name: "mem", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 1, Max: 2},
			)
			r.Spec.Overrides = map[string]json.RawMessage{"azure": json.RawMessage(`{"nodePools":{"mem":{"vmSize":"Standard_E4s_v5"}}}`)}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			want := map[string]string{"apps": "Standard_D4s_v5", "batch": "Standard_D8ps_v5", "gpu": "Standard_NC4as_T4_v3", "mem": "Standard_E4s_v5"}
			for _, p := range byType(resp.Resources, azdriver.TypeNodePool) {
				_, _, pool, _ := providers.SplitAddress(p.Address)
				if p.Inputs["vm_size"] != want[pool] {
					t.Errorf("pool %s: vm_size %v; want %s", pool, p.Inputs["vm_size"], want[pool])
				}
				if pool == "batch" {
					if p.Inputs["priority"] != "Spot" || p.Inputs["eviction_policy"] != "Delete" || p.Inputs["spot_max_price"] != -1 {
						t.Errorf("spot pool %v", p.Inputs)
					}
					if !slices.Contains(p.ForceNew, "priority") {
						t.Errorf("priority does not force a replacement: %v", p.ForceNew)
					}
				}
			}
			if notes := strings.Join(resp.Notes, "\n"); !strings.Contains(notes, "node pool mem: override spec.overrides.azure.nodePools.mem.vmSize → Standard_E4s_v5") {
				t.Errorf("notes lack the override:\n%s", notes)
			}
		}},
		{"pool names are AKS names that follow what forces a replacement", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			a := poolNameOf(smallRegion(), "apps")
			scaled := poolNameOf(base(func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Max = 9 }), "apps")
			bigger := poolNameOf(base(func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Machine.CPU = 8 }), "apps")
			spot := poolNameOf(base(func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Spot = true }), "apps")
			sys := poolNameOf(smallRegion(), "system")
			sysBig := poolNameOf(base(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Machine.CPU = 4 }), "system")
			if a != scaled || a == bigger || a == spot || sys == sysBig {
				t.Errorf("names: %s scaled %s (want same), bigger %s, spot %s; system %s → %s (want different)", a, scaled, bigger, spot, sys, sysBig)
			}
			long := poolNameOf(base(func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Name = "9-very-long-pool-name" }), "9-very-long-pool-name")
			for _, n := range []string{a, sys, long} {
				if len(n) > 12 || n[0] < 'a' || n[0] > 'z' || strings.ToLower(n) != n || strings.ContainsAny(n, "-_") {
					t.Errorf("%q is not an AKS Linux pool name (a lowercase letter, then letters and digits, at most 12)", n)
				}
			}
		}},
		{"endpoint access and authorized ranges", base(func(r *spec.Region) {
			r.Spec.Cluster.EndpointAccess = spec.EndpointPublic
			r.Spec.Overrides = map[string]json.RawMessage{"azure": json.RawMessage(`{"authorizedIpRanges":["203.0.113.7","198.51.100.0/24"],"skuTier":"Standard"}`)}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			cl := byType(resp.Resources, azdriver.TypeCluster)[0]
			if cl.Inputs["private_cluster"] != false || cl.Inputs["sku_tier"] != "Standard" {
				t.Errorf("cluster %v", cl.Inputs)
			}
			if got, _ := json.Marshal(cl.Inputs["authorized_ip_ranges"]); string(got) != `["203.0.113.7/32","198.51.100.0/24"]` {
				t.Errorf("authorized_ip_ranges %s", got)
			}
			if slices.Contains(cl.ForceNew, "authorized_ip_ranges") || !slices.Contains(cl.ForceNew, "private_cluster") {
				t.Errorf("ForceNew %v", cl.ForceNew)
			}
		}},
		{"network carving avoids AKS's default ranges", base(func(r *spec.Region) { r.Spec.Network.CIDR = "10.0.0.0/12" }), func(t *testing.T, resp providers.ExpandResponse) {
			np := byType(resp.Resources, azdriver.TypeCluster)[0].Inputs["network_profile"].(map[string]any)
			if np["service_cidr"] != "172.20.0.0/16" || np["dns_service_ip"] != "172.20.0.10" || np["pod_cidr"] != "10.244.0.0/16" {
				t.Errorf("network profile %v", np)
			}
			if s := byType(resp.Resources, azdriver.TypeSubnet)[0]; s.Inputs["cidr"] != "10.0.0.0/13" {
				t.Errorf("node subnet %v", s.Inputs["cidr"])
			}
		}},
		{"subscription and resource group overrides", base(func(r *spec.Region) {
			r.Spec.Overrides = map[string]json.RawMessage{"azure": json.RawMessage(`{"subscriptionId":"11111111-2222-3333-4444-555555555555","resourceGroup":"platform-weu"}`)}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			rg := byType(resp.Resources, azdriver.TypeResourceGroup)[0]
			if rg.Inputs["name"] != "platform-weu" || rg.Inputs["subscription_id"] != "11111111-2222-3333-4444-555555555555" || !slices.Contains(rg.ForceNew, "subscription_id") {
				t.Errorf("resource group %+v", rg)
			}
			if cl := byType(resp.Resources, azdriver.TypeCluster)[0]; cl.Inputs["node_resource_group"] != "platform-weu-nodes" {
				t.Errorf("node resource group %v", cl.Inputs["node_resource_group"])
			}
		}},
		{"external load balancers get a static public IP in the node resource group", base(func(r *spec.Region) {
			r.Spec.LoadBalancers = []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal}, {Name: "int", Scheme: spec.SchemeInternal}}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			pips := byType(resp.Resources, azdriver.TypePublicIP)
			if len(pips) != 1 || pips[0].Address != "weu1/azure_public_ip.web" || !pips[0].Stateful {
				t.Fatalf("public IPs %+v", pips)
			}
			if a, o, _ := providers.AsRef(pips[0].Inputs["resource_group_id"]); a != "weu1/azure_kubernetes_cluster.main" || o != "node_resource_group_id" {
				t.Errorf("public IP group %v", pips[0].Inputs["resource_group_id"])
			}
			if got, _ := json.Marshal(pips[0].Inputs["zones"]); string(got) != `["1","2","3"]` {
				t.Errorf("a zone-redundant IP spans all zones; got %s", got)
			}
			notes := strings.Join(resp.Notes, "\n")
			for _, s := range []string{"service.beta.kubernetes.io/azure-pip-name: pip-web", "load balancer int: internal"} {
				if !strings.Contains(notes, s) {
					t.Errorf("notes lack %q:\n%s", s, notes)
				}
			}
		}},
		{"long region names are shortened within Azure's limits", base(func(r *spec.Region) { r.Metadata.Name = strings.Repeat("abcdefghij", 6) + "xyz" }), func(t *testing.T, resp providers.ExpandResponse) {
			cl := byType(resp.Resources, azdriver.TypeCluster)[0]
			if n := len(cl.Inputs["name"].(string)); n > 63 {
				t.Errorf("cluster name has %d characters", n)
			}
			if n := len(cl.Inputs["dns_prefix"].(string)); n > 54 {
				t.Errorf("DNS prefix has %d characters", n)
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
	ov := func(js string) func(r *spec.Region) {
		return func(r *spec.Region) { r.Spec.Overrides = map[string]json.RawMessage{"azure": json.RawMessage(js)} }
	}
	tests := []struct {
		name string
		mod  func(r *spec.Region)
		// want are substrings of the one error diagnostic.
		want []string
	}{
		{"valid overrides", ov(`{"subscriptionId":"11111111-2222-3333-4444-555555555555","resourceGroup":"rg-x","skuTier":"Premium","authorizedIpRanges":["10.1.2.3/32"],"nodePools":{"system":{"vmSize":"Standard_D4s_v5"}}}`), nil},
		{"unknown top-level key", ov(`{"nodepools":{}}`), []string{`spec.overrides.azure.nodepools: unknown Azure override "nodepools"`, `did you mean "nodePools"?`}},
		{"unknown pool", ov(`{"nodePools":{"sytem":{"vmSize":"Standard_D4s_v5"}}}`), []string{`node pool "sytem" does not exist`, `did you mean "system"?`}},
		{"unknown pool key", ov(`{"nodePools":{"system":{"vmsize":"Standard_D4s_v5"}}}`), []string{`unknown node pool override "vmsize"`, `did you mean "vmSize"?`}},
		{"unknown VM size", ov(`{"nodePools":{"system":{"vmSize":"Standard_D4s_v4"}}}`), []string{`VM size "Standard_D4s_v4" is not in the Azure driver's catalog`, `did you mean "Standard_D4s_v5"?`}},
		{"wrong arch", ov(`{"nodePools":{"system":{"vmSize":"Standard_D4ps_v5"}}}`), []string{`VM size Standard_D4ps_v5 is arm64 but node pool "system" asks for amd64`}},
		{"bad subscription", ov(`{"subscriptionId":"my-sub"}`), []string{`subscriptionId "my-sub" is not a subscription ID`}},
		{"bad tier", ov(`{"skuTier":"standard"}`), []string{`skuTier "standard" is not an AKS tier`, `did you mean "Standard"?`}},
		{"bad range", ov(`{"authorizedIpRanges":["office"]}`), []string{`"office" is not an IPv4 CIDR`}},
		{"ranges on a private cluster", func(r *spec.Region) {
			r.Spec.Cluster.EndpointAccess = spec.EndpointPrivate
			ov(`{"authorizedIpRanges":["10.0.0.0/8"]}`)(r)
		}, []string{"authorizedIpRanges restrict a public API server, but spec.cluster.endpointAccess is private"}},
		{"not an object", ov(`"big"`), []string{"spec.overrides.azure must be an object"}},
		{"spot System pool", func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Spot = true }, []string{"AKS System pools cannot be Spot", "put an on-demand pool first"}},
		{"empty System pool", func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Min = 0 }, []string{"a System pool needs at least 1 node"}},
		{"bad taint", func(r *spec.Region) { r.Spec.Cluster.NodePools[1].Taints = []string{"a=b:NoScedule"} }, []string{`unknown effect "NoScedule"`}},
		{"CIDR too small", func(r *spec.Region) { r.Spec.Network.CIDR = "10.0.0.0/26" }, []string{"needs a prefix between /8 and /24"}},
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
	for _, loc := range []string{"westeurope", "northeurope", "eastus", "eastus2", "westus2", "uksouth", "southeastasia"} {
		if c.Locations[loc] != 3 {
			t.Errorf("Locations[%s] = %d; want 3", loc, c.Locations[loc])
		}
	}
	if !slices.Equal(c.KubernetesVersions, []string{"1.31", "1.32", "1.33", "1.34"}) || c.Name != "azure" || c.MaxParallel != 0 || !c.RateBudgeted {
		t.Errorf("capabilities %+v", c)
	}
	for _, want := range []string{"Standard_D2s_v5", "Standard_D4ps_v5", "Standard_E8s_v5", "Standard_NC4as_T4_v3"} {
		if !slices.ContainsFunc(c.Machines, func(m providers.MachineType) bool { return m.Name == want }) {
			t.Errorf("catalog lacks %s", want)
		}
	}
}

func ExampleCheckUpgrade() {
	fmt.Println(azdriver.CheckUpgrade("1.32", "1.33"))
	fmt.Println(azdriver.CheckUpgrade("1.32", "1.34"))
	// Output:
	// <nil>
	// cannot upgrade Kubernetes 1.32 to 1.34 in one step: AKS upgrades one minor version at a time; set kubernetesVersion to 1.33, apply, then continue
}

// TestNewOutsideSandbox: New builds the default credential chain without
// calling Azure, and takes the subscription from the environment.
func TestNewOutsideSandbox(t *testing.T) {
	t.Setenv("AZURE_SUBSCRIPTION_ID", "11111111-2222-3333-4444-555555555555")
	d, err := azdriver.New(context.Background(), providers.Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if _, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()}); err != nil {
		t.Fatal(err)
	}
	if _, err := azdriver.New(context.Background(), providers.Options{Sandbox: true}); err == nil {
		t.Errorf("New in sandbox mode without an endpoint succeeded; want an error")
	}
}
