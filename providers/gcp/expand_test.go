package gcp_test

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

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/spec"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func newOffline(t *testing.T) providers.Driver {
	t.Helper()
	// Sandbox mode with endpoints nobody listens on: Expand and Validate
	// never call the cloud, and nothing reads the user's credentials.
	d, err := gcpdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{
		"gcp-compute": "http://127.0.0.1:1", "gcp-container": "127.0.0.1:1",
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func smallRegion() *spec.Region {
	r := &spec.Region{
		APIVersion: spec.APIVersion, Kind: spec.KindRegion,
		Metadata: spec.Metadata{Name: "eu1"},
		Spec: spec.RegionSpec{
			Provider: "gcp", Location: "europe-west1", Zones: 3,
			Network: spec.Network{CIDR: "10.20.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.32", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 8}, Min: 3, Max: 6},
			}},
		},
	}
	r.Default()
	return r
}

func expand(t *testing.T, d providers.Driver, r *spec.Region) providers.ExpandResponse {
	t.Helper()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v\n%v", err, resp.Diagnostics)
	}
	return resp
}

func byAddress(resp providers.ExpandResponse, name string) providers.Resource {
	for _, r := range resp.Resources {
		if _, _, n, _ := providers.SplitAddress(r.Address); r.Type+"."+n == name {
			return r
		}
	}
	return providers.Resource{}
}

// TestExpandGolden pins the whole resource graph of examples/gcp.yaml.
func TestExpandGolden(t *testing.T) {
	resp := expand(t, newOffline(t), loadExample(t))
	got, err := json.MarshalIndent(map[string]any{"resources": resp.Resources, "notes": resp.Notes}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "gcp.golden.json")
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
		t.Errorf("Expand(examples/gcp.yaml) differs from %s; if the change is intended, run go test ./providers/gcp -update and review the diff\ngot:\n%s", path, got)
	}
}

// TestPerZoneCountsNeverSilentlyDiffer pins how a pool's total min and max
// become GKE's per-zone limits: rounded up to a multiple of the zone count,
// never down, and whenever the effective total differs from what the spec
// says, the plan carries a note stating the effective totals (and Validate
// a warning). When the totals divide evenly there is no note.
func TestPerZoneCountsNeverSilentlyDiffer(t *testing.T) {
	d := newOffline(t)
	tests := []struct {
		min, max, zones        int
		wantPerMin, wantPerMax int
		wantNote               string // "" for none
	}{
		{3, 6, 3, 1, 2, ""},
		{0, 30, 3, 0, 10, ""},
		{0, 1, 1, 0, 1, ""},
		{2, 4, 2, 1, 2, ""},
		{4, 10, 3, 2, 4, "effective totals are min 6 / max 12"},
		{1, 3, 3, 1, 1, "effective totals are min 3 / max 3"},
		{0, 5, 2, 0, 3, "effective totals are min 0 / max 6"},
		{0, 1, 3, 0, 1, "effective totals are min 0 / max 3"},
		{5, 8, 4, 2, 2, "effective totals are min 8 / max 8"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("min%d-max%d-zones%d", tc.min, tc.max, tc.zones), func(t *testing.T) {
			r := smallRegion()
			r.Spec.Location = "us-central1" // four zones
			r.Spec.Zones = tc.zones
			r.Spec.Cluster.NodePools[0].Min, r.Spec.Cluster.NodePools[0].Max = tc.min, tc.max
			resp := expand(t, d, r)
			pool := byAddress(resp, gcpdriver.TypeNodePool+".system")
			perMin, perMax := pool.Inputs["min_node_count"].(int), pool.Inputs["max_node_count"].(int)
			zones := len(pool.Inputs["node_locations"].([]any))
			if perMin != tc.wantPerMin || perMax != tc.wantPerMax || zones != tc.zones {
				t.Fatalf("per zone %d..%d over %d zones; want %d..%d over %d", perMin, perMax, zones, tc.wantPerMin, tc.wantPerMax, tc.zones)
			}
			// Never fewer nodes than asked, never less room than asked.
			if perMin*zones < tc.min || perMax*zones < tc.max {
				t.Errorf("effective totals %d..%d are below the spec's %d..%d", perMin*zones, perMax*zones, tc.min, tc.max)
			}
			var notes []string
			for _, n := range resp.Notes {
				if strings.Contains(n, "per zone") {
					notes = append(notes, n)
				}
			}
			differs := perMin*zones != tc.min || perMax*zones != tc.max
			if differs != (tc.wantNote != "") {
				t.Fatalf("test table is inconsistent: totals differ %v, note %q", differs, tc.wantNote)
			}
			switch {
			case tc.wantNote == "" && len(notes) > 0:
				t.Errorf("notes %q; want none (the totals divide evenly)", notes)
			case tc.wantNote != "" && (len(notes) != 1 || !strings.Contains(notes[0], tc.wantNote)):
				t.Errorf("notes %q; want one stating %q", notes, tc.wantNote)
			}
			var warned bool
			for _, x := range d.(providers.Validator).Validate(context.Background(), r) {
				if x.Severity == diag.Warning && strings.Contains(x.Summary, "effective totals") {
					warned = true
				}
			}
			if warned != differs {
				t.Errorf("Validate warns %v; want %v", warned, differs)
			}
		})
	}
}

func TestExpandTable(t *testing.T) {
	d := newOffline(t)
	base := func(mod func(r *spec.Region)) *spec.Region {
		r := smallRegion()
		mod(r)
		return r
	}
	tests := []struct {
		name   string
		region *spec.Region
		check  func(t *testing.T, resp providers.ExpandResponse)
	}{
		{"network carved for GKE", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			sub := byAddress(resp, gcpdriver.TypeSubnetwork+".main")
			sec, _ := json.Marshal(sub.Inputs["secondary_ranges"])
			if sub.Inputs["ip_cidr_range"] != "10.20.128.0/20" || string(sec) != `[{"ip_cidr_range":"10.20.0.0/17","range_name":"pods"},{"ip_cidr_range":"10.20.144.0/20","range_name":"services"}]` {
				t.Errorf("subnetwork %v, secondary %s", sub.Inputs["ip_cidr_range"], sec)
			}
			cl := byAddress(resp, gcpdriver.TypeCluster+".main")
			if _, ok := cl.Inputs["master_ipv4_cidr_block"]; ok || cl.Inputs["private_nodes"] != false {
				t.Errorf("a public cluster has private settings: %v", cl.Inputs)
			}
			if !slices.Equal(cl.Inputs["node_locations"].([]any), []any{"europe-west1-b", "europe-west1-c", "europe-west1-d"}) {
				t.Errorf("node locations %v (europe-west1 has no zone a)", cl.Inputs["node_locations"])
			}
			if cl.Inputs["workload_pool"] != "sandbox-project.svc.id.goog" || cl.Inputs["release_channel"] != "REGULAR" || !cl.Stateful {
				t.Errorf("cluster inputs %v", cl.Inputs)
			}
		}},
		{"private endpoint", base(func(r *spec.Region) { r.Spec.Cluster.EndpointAccess = spec.EndpointPrivate }), func(t *testing.T, resp providers.ExpandResponse) {
			cl := byAddress(resp, gcpdriver.TypeCluster+".main")
			if cl.Inputs["private_nodes"] != true || cl.Inputs["private_endpoint"] != true || cl.Inputs["master_ipv4_cidr_block"] != "10.20.255.240/28" {
				t.Errorf("cluster inputs %v", cl.Inputs)
			}
			if !slices.Equal(cl.Inputs["master_authorized_networks"].([]any), []any{"10.20.0.0/16"}) {
				t.Errorf("a private endpoint should admit the network: %v", cl.Inputs["master_authorized_networks"])
			}
			if !slices.Contains(cl.ForceNew, "master_ipv4_cidr_block") || !slices.Contains(cl.ForceNew, "private_nodes") || slices.Contains(cl.ForceNew, "private_endpoint") {
				t.Errorf("ForceNew %v", cl.ForceNew)
			}
		}},
		{"both: private nodes, public endpoint, authorized networks from overrides", base(func(r *spec.Region) {
			r.Spec.Cluster.EndpointAccess = spec.EndpointBoth
			r.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(`{"project":"acme-prod-1","releaseChannel":"stable","masterAuthorizedNetworks":["203.0.113.0/24"]}`)}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			cl := byAddress(resp, gcpdriver.TypeCluster+".main")
			if cl.Inputs["private_nodes"] != true || cl.Inputs["private_endpoint"] != false || cl.Inputs["project"] != "acme-prod-1" ||
				cl.Inputs["release_channel"] != "STABLE" || cl.Inputs["workload_pool"] != "acme-prod-1.svc.id.goog" {
				t.Errorf("cluster inputs %v", cl.Inputs)
			}
			if !slices.Equal(cl.Inputs["master_authorized_networks"].([]any), []any{"203.0.113.0/24"}) {
				t.Errorf("authorized networks %v", cl.Inputs["master_authorized_networks"])
			}
			for _, r := range resp.Resources {
				if r.Inputs["project"] != "acme-prod-1" {
					t.Errorf("%s is in project %v", r.Address, r.Inputs["project"])
				}
			}
		}},
		{"machine mapping and override", base(func(r *spec.Region) {
			r.Spec.Cluster.NodePools = []spec.NodePool{
				{Name: "small", Machine: spec.Machine{CPU: 2, MemoryGiB: 4, Arch: "amd64"}, Min: 0, Max: 3},
				{Name: "general", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, Arch: "amd64"}, Min: 0, Max: 3},
				{Name: "big", Machine: spec.Machine{CPU: 48, MemoryGiB: 192, Arch: "amd64"}, Min: 0, Max: 3},
				{Name: "arm", Machine: spec.Machine{CPU: 8, MemoryGiB: 32, Arch: "arm64"}, Min: 0, Max: 3, Spot: true},
				{Name: "gpu", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, Arch: "amd64", GPU: 1}, Min: 0, Max: 3,
					Taints: []string{"nvidia.com/gpu=present:NoSchedule", "dedicated:NoExecute"}},
				{Name: "pinned", Machine: spec.Machine{CPU: 4, MemoryGiB: 16, Arch: "amd64"}, Min: 0, Max: 3},
			}
			r.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(`{"nodePools":{"pinned":{"machineType":"c3-standard-4"}}}`)}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			want := map[string]string{"small": "e2-medium", "general": "e2-standard-4", "big": "n2-standard-48", "arm": "t2a-standard-8", "gpu": "g2-standard-4", "pinned": "c3-standard-4"}
			for pool, mt := range want {
				r := byAddress(resp, gcpdriver.TypeNodePool+"."+pool)
				if r.Inputs["machine_type"] != mt {
					t.Errorf("pool %s: machine %v; want %s", pool, r.Inputs["machine_type"], mt)
				}
				if !r.CreateBeforeDestroy || !strings.HasPrefix(r.Inputs["name"].(string), pool+"-") {
					t.Errorf("pool %s: name %v, createBeforeDestroy %v", pool, r.Inputs["name"], r.CreateBeforeDestroy)
				}
			}
			gpu := byAddress(resp, gcpdriver.TypeNodePool+".gpu")
			tj, _ := json.Marshal(gpu.Inputs["taints"])
			aj, _ := json.Marshal(gpu.Inputs["accelerators"])
			if string(tj) != `[{"effect":"NO_SCHEDULE","key":"nvidia.com/gpu","value":"present"},{"effect":"NO_EXECUTE","key":"dedicated","value":""}]` || string(aj) != `[{"count":1,"type":"nvidia-l4"}]` {
				t.Errorf("gpu taints %s accelerators %s", tj, aj)
			}
			if byAddress(resp, gcpdriver.TypeNodePool+".arm").Inputs["spot"] != true {
				t.Errorf("arm pool is not spot")
			}
			notes := strings.Join(resp.Notes, "\n")
			for _, s := range []string{"node pool general: machine {cpu 4, memory 16 GiB, amd64} → e2-standard-4", "node pool pinned: override spec.overrides.gcp.nodePools.pinned.machineType → c3-standard-4", "g2-standard-4 (4 vCPU, 16 GiB, 1 × nvidia-l4)"} {
				if !strings.Contains(notes, s) {
					t.Errorf("notes lack %q:\n%s", s, notes)
				}
			}
		}},
		{"pool name follows what forces a replacement", base(func(*spec.Region) {}), func(t *testing.T, resp providers.ExpandResponse) {
			name := func(mod func(r *spec.Region)) string {
				return byAddress(expand(t, d, base(mod)), gcpdriver.TypeNodePool+".system").Inputs["name"].(string)
			}
			a := name(func(*spec.Region) {})
			scaled := name(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Max = 30 })
			labelled := name(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Labels = map[string]string{"a": "b"} })
			spot := name(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Spot = true })
			bigger := name(func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Machine.CPU = 8 })
			if a != scaled || a != labelled || a == spot || a == bigger || spot == bigger {
				t.Errorf("names: base %s, scaled %s, labelled %s (want same), spot %s, bigger %s (want different)", a, scaled, labelled, spot, bigger)
			}
		}},
		{"load balancer addresses per scheme", base(func(r *spec.Region) {
			r.Spec.LoadBalancers = []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal}, {Name: "int", Scheme: spec.SchemeInternal}}
		}), func(t *testing.T, resp providers.ExpandResponse) {
			web, in := byAddress(resp, gcpdriver.TypeAddress+".lb-web"), byAddress(resp, gcpdriver.TypeAddress+".lb-int")
			if web.Inputs["address_type"] != "EXTERNAL" || web.Inputs["network_tier"] != "PREMIUM" || web.Inputs["subnetwork"] != nil || !web.Stateful {
				t.Errorf("external address %v", web.Inputs)
			}
			if a, o, _ := providers.AsRef(in.Inputs["subnetwork"]); in.Inputs["address_type"] != "INTERNAL" || a != "eu1/gcp_compute_subnetwork.main" || o != "self_link" || !in.Stateful {
				t.Errorf("internal address %v", in.Inputs)
			}
			if web.Inputs["name"] != "regionctl-eu1-lb-web" {
				t.Errorf("address name %v", web.Inputs["name"])
			}
		}},
		{"long and digit-first names fit GCP's rules", base(func(r *spec.Region) {
			r.Metadata.Name = "9" + strings.Repeat("x", 61)
			r.Spec.Cluster.NodePools[0].Name = "1" + strings.Repeat("p", 50)
		}), func(t *testing.T, resp providers.ExpandResponse) {
			for _, r := range resp.Resources {
				n, _ := r.Inputs["name"].(string)
				limit := 63
				if r.Type == gcpdriver.TypeCluster || r.Type == gcpdriver.TypeNodePool {
					limit = 40
				}
				if len(n) > limit || n == "" || n[0] < 'a' || n[0] > 'z' || strings.HasSuffix(n, "-") {
					t.Errorf("%s: name %q breaks GCP's naming rules (limit %d)", r.Address, n, limit)
				}
			}
		}},
		{"singleNatGateway is explained", base(func(r *spec.Region) { r.Spec.Network.SingleNATGateway = true }), func(t *testing.T, resp providers.ExpandResponse) {
			if !strings.Contains(strings.Join(resp.Notes, "\n"), "singleNatGateway changes nothing on GCP") {
				t.Errorf("notes %v", resp.Notes)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, expand(t, d, tc.region))
		})
	}
}

func TestCarveNetwork(t *testing.T) {
	tests := []struct {
		cidr    string
		want    gcpdriver.Carve
		wantErr string
	}{
		{"10.201.0.0/16", gcpdriver.Carve{Pods: "10.201.0.0/17", Nodes: "10.201.128.0/20", Services: "10.201.144.0/20", Master: "10.201.255.240/28"}, ""},
		{"10.0.0.0/8", gcpdriver.Carve{Pods: "10.0.0.0/9", Nodes: "10.128.0.0/12", Services: "10.144.0.0/12", Master: "10.255.255.240/28"}, ""},
		{"172.16.0.0/20", gcpdriver.Carve{Pods: "172.16.0.0/21", Nodes: "172.16.8.0/24", Services: "172.16.9.0/24", Master: "172.16.15.240/28"}, ""},
		{"10.0.0.0/21", gcpdriver.Carve{}, "between /8 and /20"},
		{"10.0.0.1/16", gcpdriver.Carve{}, "did you mean 10.0.0.0/16?"},
		{"fd00::/48", gcpdriver.Carve{}, "not an IPv4 prefix"},
	}
	for _, tc := range tests {
		got, err := gcpdriver.CarveNetwork(tc.cidr)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("CarveNetwork(%s) error %v; want %q", tc.cidr, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CarveNetwork(%s) = %+v, %v; want %+v", tc.cidr, got, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	d := newOffline(t).(providers.Validator)
	ov := func(s string) func(r *spec.Region) {
		return func(r *spec.Region) { r.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(s)} }
	}
	tests := []struct {
		name string
		mod  func(r *spec.Region)
		// want are substrings of the one error diagnostic.
		want []string
	}{
		{"valid overrides", ov(`{"project":"acme-prod-1","releaseChannel":"stable","masterAuthorizedNetworks":["203.0.113.0/24"],"nodePools":{"system":{"machineType":"n2-standard-2"}}}`), nil},
		{"unknown top-level key", ov(`{"nodepools":{}}`), []string{`spec.overrides.gcp.nodepools: unknown GCP override "nodepools"`, `did you mean "nodePools"?`}},
		{"unknown pool", ov(`{"nodePools":{"sytem":{"machineType":"e2-standard-2"}}}`), []string{`node pool "sytem" does not exist`, `did you mean "system"?`}},
		{"unknown pool key", ov(`{"nodePools":{"system":{"machinetype":"e2-standard-2"}}}`), []string{`unknown node pool override "machinetype"`, `did you mean "machineType"?`}},
		{"unknown machine type", ov(`{"nodePools":{"system":{"machineType":"e2-standard-3"}}}`), []string{`machine type "e2-standard-3" is not in the GCP driver's catalog`, `did you mean "e2-standard-2"?`}},
		{"wrong arch", ov(`{"nodePools":{"system":{"machineType":"t2a-standard-2"}}}`), []string{`machine type t2a-standard-2 is arm64 but node pool "system" asks for amd64`}},
		{"bad project", ov(`{"project":"My Project"}`), []string{`"My Project" is not a GCP project ID`}},
		{"unknown channel", ov(`{"releaseChannel":"stabel"}`), []string{`unknown GKE release channel "stabel"`, `did you mean "stable"?`}},
		{"bad authorized network", ov(`{"masterAuthorizedNetworks":["203.0.113.1/24"]}`), []string{"spec.overrides.gcp.masterAuthorizedNetworks[0]", "did you mean 203.0.113.0/24?"}},
		{"not an object", ov(`"e2"`), []string{"spec.overrides.gcp must be an object"}},
		{"CIDR too small", func(r *spec.Region) { r.Spec.Network.CIDR = "10.0.0.0/22" }, []string{"needs a prefix between /8 and /20"}},
		{"bad taint effect", func(r *spec.Region) { r.Spec.Cluster.NodePools[0].Taints = []string{"a=b:NoSchedul"} }, []string{`unknown effect "NoSchedul"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := smallRegion()
			tc.mod(r)
			var errs []string
			for _, x := range d.Validate(context.Background(), r) {
				if x.Severity == diag.Error {
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

// TestNoProject: outside the sandbox, with no ADC project and none in the
// spec, Expand fails with a fix and Validate only warns.
func TestNoProject(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	t.Setenv("GOOGLE_CLOUD_PROJECT", "")
	t.Setenv("CLOUDSDK_CORE_PROJECT", "")
	d, err := gcpdriver.New(context.Background(), providers.Options{})
	if err != nil {
		t.Fatalf("New without ADC must not fail (validate works offline): %v", err)
	}
	r := smallRegion()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil || !resp.Diagnostics.HasErrors() || !strings.Contains(resp.Diagnostics.String(), "spec.overrides.gcp.project") {
		t.Errorf("Expand without a project = %v, %v; want an error naming spec.overrides.gcp.project", resp.Diagnostics, err)
	}
	if ds := d.(providers.Validator).Validate(context.Background(), r); ds.HasErrors() || len(ds) == 0 {
		t.Errorf("Validate without a project = %v; want one warning", ds)
	}
	r.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(`{"project":"acme-prod-1"}`)}
	if resp := expand(t, d, r); resp.Resources[0].Inputs["project"] != "acme-prod-1" {
		t.Errorf("project %v", resp.Resources[0].Inputs["project"])
	}
	t.Setenv("GOOGLE_CLOUD_PROJECT", "from-env-1")
	d, _ = gcpdriver.New(context.Background(), providers.Options{})
	if resp := expand(t, d, smallRegion()); resp.Resources[0].Inputs["project"] != "from-env-1" {
		t.Errorf("project %v; want GOOGLE_CLOUD_PROJECT's", resp.Resources[0].Inputs["project"])
	}
}

func TestCapabilities(t *testing.T) {
	c := newOffline(t).Capabilities()
	for loc, want := range map[string]int{"europe-west4": 3, "us-central1": 4, "us-east1": 3, "asia-southeast1": 3, "europe-west1": 3} {
		if c.Locations[loc] != want {
			t.Errorf("Locations[%s] = %d; want %d", loc, c.Locations[loc], want)
		}
	}
	if !slices.Equal(c.KubernetesVersions, []string{"1.31", "1.32", "1.33", "1.34"}) || c.Name != "gcp" || c.MaxParallel != 0 || !c.RateBudgeted {
		t.Errorf("capabilities %+v", c)
	}
	families := map[string]bool{}
	for _, m := range c.Machines {
		families[m.Family+"/"+m.Arch] = true
		if m.GPU > 0 && m.Family != "gpu" {
			t.Errorf("%s has GPUs but family %s", m.Name, m.Family)
		}
	}
	for _, f := range []string{"general/amd64", "general/arm64", "gpu/amd64", "compute/amd64", "memory/amd64"} {
		if !families[f] {
			t.Errorf("catalog has no %s machine", f)
		}
	}
}

func TestResolveVersion(t *testing.T) {
	offered := []string{"1.34.1-gke.1829001", "1.33.4-gke.1350000", "1.33.10-gke.100", "1.33.5-gke.1308000", "1.32.9-gke.1108000"}
	for _, tc := range []struct{ minor, want string }{
		{"1.33", "1.33.10-gke.100"}, {"1.34", "1.34.1-gke.1829001"}, {"1.32", "1.32.9-gke.1108000"}, {"1.31", ""}, {"1.3", ""},
	} {
		got, ok := gcpdriver.ResolveVersion(offered, tc.minor)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("ResolveVersion(%s) = %q, %v; want %q", tc.minor, got, ok, tc.want)
		}
	}
	for v, want := range map[string]string{"1.33.4-gke.1350000": "1.33", "1.34": "1.34", "": "", "latest": ""} {
		if got := gcpdriver.MinorOf(v); got != want {
			t.Errorf("MinorOf(%q) = %q; want %q", v, got, want)
		}
	}
}

func ExampleCheckUpgrade() {
	fmt.Println(gcpdriver.CheckUpgrade("1.32", "1.33"))
	fmt.Println(gcpdriver.CheckUpgrade("1.32", "1.34"))
	fmt.Println(gcpdriver.CheckUpgrade("1.33", "1.32"))
	// Output:
	// <nil>
	// cannot upgrade Kubernetes 1.32 to 1.34 in one step: GKE upgrades one minor version at a time; set kubernetesVersion to 1.33, apply, then continue
	// cannot downgrade Kubernetes 1.33 to 1.32: GKE does not downgrade; set kubernetesVersion back to 1.33
}

func ExamplePerZone() {
	perMin, perMax, note := gcpdriver.PerZone("web", 3, 9, 3)
	fmt.Println(perMin, perMax, note == "")
	_, _, note = gcpdriver.PerZone("web", 4, 10, 3)
	fmt.Println(note)
	// Output:
	// 1 3 true
	// node pool web: GKE counts autoscaling limits per zone, and min 4 / max 10 are not multiples of 3 zones: each zone gets min 2 / max 4, so the pool's effective totals are min 6 / max 12 (rounded up; make min and max multiples of 3 to avoid this)
}

// TestExpandInCluster: StorageClasses on the PD CSI driver per tier and
// LoadBalancer Services bound to their reserved addresses, internal ones
// through GKE's annotation.
func TestExpandInCluster(t *testing.T) {
	d := newOffline(t)
	r := smallRegion()
	r.Spec.StorageClasses = []spec.StorageClass{{Name: "fast", Tier: spec.TierSSD, Default: true}, {Name: "bulk", Tier: spec.TierStandard}}
	r.Spec.LoadBalancers = []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal, Ports: []spec.Port{{Port: 443}}}, {Name: "int", Scheme: spec.SchemeInternal, Ports: []spec.Port{{Port: 80}}}}
	resp := expand(t, d, r)
	for _, tc := range []struct{ class, pdType string }{{"fast", "pd-ssd"}, {"bulk", "pd-balanced"}} {
		in := byAddress(resp, "kubernetes_storage_class."+tc.class).Inputs
		if in["provisioner"] != "pd.csi.storage.gke.io" || in["parameters"].(map[string]any)["type"] != tc.pdType ||
			in["volume_binding_mode"] != "WaitForFirstConsumer" || in["reclaim_policy"] != "Delete" {
			t.Errorf("StorageClass %s inputs = %v", tc.class, in)
		}
	}
	for _, tc := range []struct {
		lb       string
		internal bool
	}{{"web", false}, {"int", true}} {
		res := byAddress(resp, "kubernetes_service."+tc.lb)
		addr, out, ok := providers.AsRef(res.Inputs["load_balancer_ip"])
		if !ok || addr != "eu1/gcp_compute_address.lb-"+tc.lb || out != "address" {
			t.Errorf("%s load_balancer_ip = %v, want a reference to the reserved address", tc.lb, res.Inputs["load_balancer_ip"])
		}
		ann := res.Inputs["annotations"].(map[string]any)
		if got := ann["networking.gke.io/load-balancer-type"] == "Internal"; got != tc.internal || len(ann) > 1 {
			t.Errorf("%s annotations = %v, want internal=%v", tc.lb, ann, tc.internal)
		}
		if !slices.Contains(res.DependsOn, "eu1/gcp_container_node_pool.system") {
			t.Errorf("%s depends on %v, want the node pool", tc.lb, res.DependsOn)
		}
	}
}
