package digitalocean

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/digitalocean/godo"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/plugins/digitalocean/emulator"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/spec"
)

func region() *spec.Region {
	return &spec.Region{APIVersion: spec.APIVersion, Kind: spec.KindRegion, Metadata: spec.Metadata{Name: "west"},
		Spec: spec.RegionSpec{Provider: Name, Location: "sfo3", Zones: 1, Network: spec.Network{CIDR: "10.50.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.33", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 4}, Min: 2, Max: 2},
				{Name: "batch", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 0, Max: 8,
					Labels: map[string]string{"w": "batch"}, Taints: []string{"w=batch:NoSchedule"}}}},
			StorageClasses: []spec.StorageClass{{Name: "fast", Tier: spec.TierSSD}},
			LoadBalancers: []spec.LoadBalancer{{Name: "in", Scheme: spec.SchemeInternal,
				Ports: []spec.Port{{Port: 80}}, Selector: map[string]string{"app": "in"}}}}}
}

func newDriver(t *testing.T, opts providers.Options) *Driver {
	t.Helper()
	d, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d.(*Driver)
}

// TestValidate: spot and a private-only endpoint are refused at their
// field with a fix; more zones than a DigitalOcean region has are refused
// by the capabilities check.
func TestValidate(t *testing.T) {
	d := newDriver(t, providers.Options{})
	if ds := d.Validate(context.Background(), region()); len(ds) != 0 {
		t.Fatalf("valid region: %v", ds)
	}
	r := region()
	r.Spec.Cluster.NodePools[1].Spot = true
	r.Spec.Cluster.EndpointAccess = spec.EndpointPrivate
	ds := d.Validate(context.Background(), r)
	paths := map[string]diag.Diagnostic{}
	for _, x := range ds {
		paths[x.Path] = x
	}
	if x, ok := paths["spec.cluster.nodePools[1].spot"]; !ok || x.Severity != diag.Error || !strings.Contains(x.Summary, "spot") || x.Fix == "" {
		t.Errorf("spot: %+v", ds)
	}
	if _, ok := paths["spec.cluster.endpointAccess"]; !ok {
		t.Errorf("private endpoint: %+v", ds)
	}

	r = region()
	r.Spec.Zones = 3
	var zones diag.Diagnostics
	for _, x := range providers.CheckRegion(r, d.Capabilities()) {
		if x.Path == "spec.zones" {
			zones = append(zones, x)
		}
	}
	if len(zones) != 1 || !strings.Contains(zones[0].Summary+zones[0].Detail, "sfo3 has 1") {
		t.Errorf("zones 3: %+v; want one diagnostic at spec.zones saying sfo3 has 1", zones)
	}
}

// TestExpand: the first pool goes with the cluster, the others are node
// pool resources; sizes come from the catalog; autoscaling bounds, labels
// and taints are kept; StorageClasses are on DigitalOcean block storage and
// Services carry the cloud controller's annotations.
func TestExpand(t *testing.T) {
	d := newDriver(t, providers.Options{})
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: region()})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]providers.Resource{}
	for _, r := range resp.Resources {
		by[r.Address] = r
	}
	cl := by["west/do_kubernetes_cluster.main"]
	if cl.Inputs["pool_name"] != "system" || cl.Inputs["pool_size"] != "s-2vcpu-4gb" || cl.Inputs["version"] != "1.33" || !cl.Stateful {
		t.Errorf("cluster: %+v", cl)
	}
	if !slices.Contains(cl.ForceNew, "pool_size") || slices.Contains(cl.ForceNew, "pool_max") {
		t.Errorf("cluster ForceNew %v: want pool_size, not pool_max", cl.ForceNew)
	}
	np := by["west/do_kubernetes_node_pool.batch"]
	if np.Inputs["size"] != "g-4vcpu-16gb" || np.Inputs["min"] != 0 || np.Inputs["max"] != 8 ||
		np.Inputs["labels"].(map[string]any)["w"] != "batch" || np.Inputs["taints"].([]any)[0] != "w=batch:NoSchedule" {
		t.Errorf("node pool: %+v", np.Inputs)
	}
	if _, ok := by["west/do_kubernetes_node_pool.system"]; ok {
		t.Error("the first pool is also a node pool resource")
	}
	sc := by["west/kubernetes_storage_class.fast"]
	if sc.Inputs["provisioner"] != "dobs.csi.digitalocean.com" {
		t.Errorf("storage class: %+v", sc.Inputs)
	}
	svc := by["west/kubernetes_service.in"]
	ann, _ := svc.Inputs["annotations"].(map[string]any)
	if ann[annLBNetwork] != "INTERNAL" || ann[annLBName] != "west-in" {
		t.Errorf("service annotations: %v", ann)
	}
	if !slices.Contains(svc.DependsOn, "west/do_kubernetes_node_pool.batch") {
		t.Errorf("service DependsOn %v: want the node pools", svc.DependsOn)
	}
}

// TestSandboxFailsClosed: with --sandbox the driver refuses an endpoint
// that is not the emulator on 127.0.0.1, never sends the user's token, and
// its client refuses any other host.
func TestSandboxFailsClosed(t *testing.T) {
	for _, ep := range []string{"", "https://api.digitalocean.com/", "http://10.0.0.1:80", "http://localhost:8080", "http://127.0.0.1"} {
		if _, err := New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{SandboxService: ep}}); err == nil {
			t.Errorf("sandbox endpoint %q accepted", ep)
		}
	}
	t.Setenv("DIGITALOCEAN_ACCESS_TOKEN", "dop_v1_real")
	var sawReal atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Authorization"), "dop_v1_real") {
			sawReal.Store(true)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"vpc":{"id":"x","name":"n","region":"fra1","ip_range":"10.0.0.0/16"}}`))
	}))
	defer srv.Close()
	d := newDriver(t, providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{SandboxService: srv.URL}})
	if _, _, err := d.api.VPCs.Get(context.Background(), "x"); err != nil {
		t.Fatal(err)
	}
	if sawReal.Load() {
		t.Error("the user's DigitalOcean token reached the sandbox")
	}
	req, _ := http.NewRequest(http.MethodGet, "https://api.digitalocean.com/v2/vpcs", nil)
	if _, err := d.api.HTTPClient.Do(req); err == nil || !strings.Contains(err.Error(), "refusing") {
		t.Errorf("a request to the real API in sandbox mode: %v; want it refused", err)
	}
}

// TestNoToken: New works without a token (validate and plan of other
// clouds stay offline); the first call says which variable to set.
func TestNoToken(t *testing.T) {
	t.Setenv("DIGITALOCEAN_ACCESS_TOKEN", "")
	t.Setenv("DIGITALOCEAN_TOKEN", "")
	d := newDriver(t, providers.Options{})
	_, _, err := d.api.VPCs.List(context.Background(), nil)
	if err == nil || !strings.Contains(err.Error(), "DIGITALOCEAN_ACCESS_TOKEN") {
		t.Errorf("no token: %v", err)
	}
}

// TestTags: keys that DigitalOcean tags cannot hold are written in hex.
func TestTags(t *testing.T) {
	if got := keyTag("0b6c7f3e-1d2a-4c3b-9f00-123456789abc"); got != "regionctl-key:0b6c7f3e-1d2a-4c3b-9f00-123456789abc" {
		t.Errorf("uuid key: %s", got)
	}
	if got := keyTag("a/b c"); got != "regionctl-key:x612f622063" {
		t.Errorf("unsafe key: %s", got)
	}
	if tags := ownerTags("west/do_vpc.main", "k"); !slices.Equal(tags, []string{"regionctl", "regionctl-key:k", "regionctl-address:west:do_vpc:main", "regionctl-region:west"}) {
		t.Errorf("owner tags: %v", tags)
	}
	if got := addressTag("west/do_kubernetes_node_pool.a.b"); got != "regionctl-address:x"+hex.EncodeToString([]byte("west/do_kubernetes_node_pool.a.b")) {
		t.Errorf("an address with a dot in its name: %s", got)
	}
}

// TestOwned: Find with a key finds what that create made; without one
// (after state rm) what regionctl made for the address, and never an
// object without regionctl's tags, or one made for another address.
func TestOwned(t *testing.T) {
	pool := "west/do_kubernetes_node_pool.apps"
	mine := ownerTags(pool, "k1")
	for _, tt := range []struct {
		name string
		tags []string
		meta kit.Meta
		want bool
	}{
		{"its key", mine, kit.Meta{Address: pool, Key: "k1"}, true},
		{"another key", mine, kit.Meta{Address: pool, Key: "k2"}, false},
		{"no key, its address", mine, kit.Meta{Address: pool}, true},
		{"no key, another address", mine, kit.Meta{Address: "west/do_kubernetes_node_pool.web"}, false},
		{"no key, another region", mine, kit.Meta{Address: "east/do_kubernetes_node_pool.apps"}, false},
		{"no key, the address tag without regionctl's", []string{addressTag(pool), "k8s"}, kit.Meta{Address: pool}, false},
	} {
		if got := owned(tt.tags, tt.meta); got != tt.want {
			t.Errorf("%s: owned = %v, want %v", tt.name, got, tt.want)
		}
	}
	desc := vpcDescription("west/do_vpc.main", "k1")
	if !ownedVPC(desc, kit.Meta{Address: "west/do_vpc.main"}) || ownedVPC(desc, kit.Meta{Address: "west/do_vpc.main2"}) ||
		!ownedVPC(desc, kit.Meta{Address: "west/do_vpc.main", Key: "k1"}) || ownedVPC("my own VPC", kit.Meta{Address: "west/do_vpc.main"}) {
		t.Errorf("VPC ownership by description %q", desc)
	}
}

// TestIdentity: the team the token acts in, from the emulator's
// /v2/account; and the kinds of the cluster and node pool types.
func TestIdentity(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/account" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"account":{"uuid":"u-1","email":"a@example.com","team":{"uuid":"t-1","name":"ops"}}}`))
	}))
	defer srv.Close()
	d := newDriver(t, providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{SandboxService: srv.URL}})
	resp, err := d.Identity(context.Background(), providers.IdentityRequest{Region: "west"})
	if err != nil || resp.Identity != (providers.Identity{Kind: "DigitalOcean team", ID: "t-1", Principal: "a@example.com"}) {
		t.Errorf("identity %+v, %v", resp.Identity, err)
	}
	if d.Kind(TypeCluster) != providers.KindCluster || d.Kind(TypeNodePool) != providers.KindNodePool || d.Kind(TypeVPC) != providers.KindOther {
		t.Error("kinds")
	}
}

// TestErrorClasses: the emulator's 429 is throttled (the engine retries
// it), its 404 not found, its 422 permanent — through godo's errors.
func TestErrorClasses(t *testing.T) {
	em, err := emulator.New(context.Background(), emulator.Config{Dir: t.TempDir(), NoKubernetes: true, RateBurst: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	d := newDriver(t, providers.Options{Sandbox: true, SandboxEndpoints: em.Endpoints()})
	ctx := context.Background()
	_, _, err = d.api.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: "x", RegionSlug: "fra1", IPRange: "1.2.3.0/24"})
	if c := classify(err); c != providers.ClassPermanent {
		t.Errorf("422: class %v (%v)", c, err)
	}
	_, _, err = d.api.VPCs.Get(ctx, "nope")
	if c := classify(err); c != providers.ClassNotFound {
		t.Errorf("404: class %v (%v)", c, err)
	}
	_, _, err = d.api.VPCs.Get(ctx, "nope")
	if c := classify(err); c != providers.ClassThrottled {
		t.Errorf("429: class %v (%v)", c, err)
	}
}

// TestRateBudget: the driver declares DigitalOcean's budget, paces every
// request by it, and a user's override (--rate-budget digitalocean:api=...)
// replaces it: with a budget of one request, a second request never
// reaches the API.
func TestRateBudget(t *testing.T) {
	var served atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"account":{"uuid":"u-1","team":{"uuid":"t-1","name":"ops"}}}`))
	}))
	defer srv.Close()
	d := newDriver(t, providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{SandboxService: srv.URL},
		RateBudgets: budget.Overrides{"digitalocean:api": {Burst: 2, Rate: 0.001}}}) // half the burst: one request
	if c := d.Capabilities(); !c.RateBudgeted || c.RateBudgets["api"] != (budget.Limit{Burst: 150, Rate: 1.25}) {
		t.Errorf("capabilities: RateBudgeted %v, RateBudgets %v; want DigitalOcean's api budget declared", c.RateBudgeted, c.RateBudgets)
	}
	if _, err := d.Identity(context.Background(), providers.IdentityRequest{Region: "west"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := d.Identity(ctx, providers.IdentityRequest{Region: "west"}); err == nil {
		t.Error("a second request within a budget of one went through")
	}
	if n := served.Load(); n != 1 {
		t.Errorf("the API served %d requests; the budget allows 1", n)
	}
}
