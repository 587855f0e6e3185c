package gcp_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
	"github.com/regionctl/regionctl/spec"
)

// startSandbox starts the emulators in-process on random ports and a GCP
// driver pointed at them. Its clusters get no Kubernetes API server unless
// the test asks with startSandboxKube: each costs seconds and ~270 MB, so
// only the tests of in-cluster objects start one.
func startSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	opts.NoKubernetes = true
	return startSandboxKube(t, opts)
}

// startSandboxKube is startSandbox with opts as given: by default every GKE
// cluster gets a real kube-apiserver (scripts/kube-apiserver.sh).
func startSandboxKube(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	if !opts.NoKubernetes {
		if _, err := kube.FindBinaries(); err != nil {
			if testing.Short() {
				t.Skipf("-short: %v", err)
			}
			t.Fatalf("%v", err)
		}
	}
	opts.Dir = t.TempDir()
	if opts.Latency == nil {
		opts.Latency = map[string]time.Duration{"*": 0}
	}
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	t.Cleanup(func() {
		if err := sb.Close(); err != nil {
			t.Errorf("close sandbox: %v", err)
		}
	})
	d, err := gcpdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { d.(*gcpdriver.Driver).Close() })
	return sb, d
}

func gcpRequests(sb *sandbox.Sandbox) int {
	n := 0
	for op, v := range sb.Requests() {
		if strings.HasPrefix(op, "compute:") || strings.HasPrefix(op, "container:") {
			n += v
		}
	}
	return n
}

// inventory lists the GCP objects the sandbox holds.
func inventory(sb *sandbox.Sandbox) []string {
	var ids []string
	for _, o := range sb.List() {
		if o.Cloud == "gcp" {
			ids = append(ids, o.Type+"/"+o.ID)
		}
	}
	return ids
}

func loadExample(t *testing.T) *spec.Region {
	t.Helper()
	rs, ds := spec.Load(context.Background(), []string{"../../examples/gcp.yaml"}, spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load examples/gcp.yaml: %d regions, diagnostics:\n%v", len(rs), ds)
	}
	return rs[0]
}

// TestConformance runs the suite on examples/gcp.yaml with a real API
// server behind the GKE cluster, so its StorageClasses and Service are
// applied, read, updated and deleted through client-go with an access
// token from the sandbox's ADC.
//
// spec.access is on too: an admin and a viewer (project IAM members and
// ClusterRoleBindings on the real API server); the in-place update turns
// on Google Groups for RBAC and adds a group, and the replacement moves
// the viewer to the admins (a new binding).
func TestConformance(t *testing.T) {
	sb, d := startSandboxKube(t, sandbox.Options{})
	r := loadExample(t)
	r.Spec.Access = spec.Access{Admins: []string{"user:alice@example.com"}, Viewers: []string{"serviceAccount:ci@sandbox-project.iam.gserviceaccount.com"}}
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: r,
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Access.Viewers = append(c.Spec.Access.Viewers, "group:ops@example.com")
			c.Spec.Cluster.NodePools[0].Max += 3
			c.Spec.Cluster.NodePools[0].Labels = map[string]string{"node-role": "system", "tier": "critical"}
			c.Spec.Cluster.NodePools[1].Taints = nil
			// 1.34 is offered in the rapid channel only: the channel moves
			// first, then the version.
			c.Spec.Cluster.KubernetesVersion = "1.34"
			c.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(`{"releaseChannel":"rapid","masterAuthorizedNetworks":["203.0.113.0/24"],"securityGroup":"gke-security-groups@example.com"}`)}
			c.Spec.StorageClasses[1].Expandable = true // allowVolumeExpansion is mutable
			c.Spec.LoadBalancers[0].Ports[0].TargetPort = 9443
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Machine = spec.Machine{CPU: 16, MemoryGiB: 64, Arch: spec.ArchARM64}
			c.Spec.Access.Admins = append(c.Spec.Access.Admins, c.Spec.Access.Viewers[0])
			c.Spec.Access.Viewers = c.Spec.Access.Viewers[1:]
			return c
		},
		Timeout:    time.Minute,
		CloudCalls: func() int { return gcpRequests(sb) },
		Inventory:  func(context.Context) ([]string, error) { return inventory(sb), nil },
	})
}

// TestConformanceWithLatency runs the suite with the emulator's operations
// taking time, so every operation poll and status wait really waits, on a
// private cluster in two zones.
func TestConformanceWithLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for emulated latency")
	}
	sb, d := startSandboxKube(t, sandbox.Options{Latency: map[string]time.Duration{"*": 100 * time.Millisecond}})
	r := loadExample(t)
	r.Spec.Zones = 2
	r.Spec.Cluster.EndpointAccess = spec.EndpointPrivate
	r.Spec.Cluster.KubernetesVersion = "1.32"
	r.Spec.LoadBalancers = append(r.Spec.LoadBalancers, spec.LoadBalancer{Name: "internal", Scheme: spec.SchemeInternal,
		Ports: []spec.Port{{Port: 80}}, Selector: map[string]string{"app": "x"}})
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: r,
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Min = 4
			c.Spec.Cluster.NodePools[0].Taints = nil
			c.Spec.Cluster.KubernetesVersion = "1.33"
			c.Spec.Cluster.EndpointAccess = spec.EndpointBoth // private endpoint off, in place
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Spot = true
			return c
		},
		Timeout:   time.Minute,
		Inventory: func(context.Context) ([]string, error) { return inventory(sb), nil },
	})
}

// applied is what the small converger below made.
type applied struct {
	d     providers.Driver
	inst  map[string]*providers.Instance
	order []string
}

// resolve replaces references with the referenced outputs.
func (a *applied) resolve(t *testing.T, v any) any {
	t.Helper()
	if addr, out, ok := providers.AsRef(v); ok {
		in, ok := a.inst[addr]
		if !ok {
			t.Fatalf("reference to %s, which is not created", addr)
		}
		return in.Outputs[out]
	}
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = a.resolve(t, e)
		}
		return m
	case providers.Values:
		m := providers.Values{}
		for k, e := range x {
			m[k] = a.resolve(t, e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = a.resolve(t, e)
		}
		return l
	}
	return v
}

func keyOf(addr string) string { return "key-" + strings.NewReplacer("/", "-", ".", "-").Replace(addr) }

// applyAll creates every cloud resource of an expanded region in
// dependency order and deletes them (dependents first) when the test ends.
// In-cluster objects are left out: these sandboxes have no API servers
// (the conformance tests apply them on real ones).
func applyAll(t *testing.T, d providers.Driver, r *spec.Region) *applied {
	t.Helper()
	return applyAllWith(t, d, r, func(req providers.CreateRequest) (providers.CreateResponse, error) {
		return d.Create(context.Background(), req)
	})
}

// applyAllWith is applyAll with each Create made through create, so a test
// can interrupt or watch one.
func applyAllWith(t *testing.T, d providers.Driver, r *spec.Region, create func(providers.CreateRequest) (providers.CreateResponse, error)) *applied {
	t.Helper()
	ctx := context.Background()
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: r})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	a := &applied{d: d, inst: map[string]*providers.Instance{}}
	t.Cleanup(func() { a.destroy(t) })
	pending := slices.DeleteFunc(slices.Clone(resp.Resources), func(r providers.Resource) bool { return kubernetes.Handles(r.Type) })
	for len(pending) > 0 {
		progress := false
		for i := 0; i < len(pending); i++ {
			res := pending[i]
			ready := true
			for _, dep := range append(providers.Refs(map[string]any(res.Inputs)), res.DependsOn...) {
				if _, ok := a.inst[dep]; !ok {
					ready = false
				}
			}
			if !ready {
				continue
			}
			in := a.resolve(t, res.Inputs).(providers.Values)
			cr, err := create(providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: keyOf(res.Address)})
			if err != nil {
				t.Fatalf("Create %s: %v", res.Address, err)
			}
			a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
			a.order = append(a.order, res.Address)
			pending = slices.Delete(pending, i, i+1)
			i--
			progress = true
		}
		if !progress {
			t.Fatalf("cannot order %d resources", len(pending))
		}
	}
	return a
}

func (a *applied) destroy(t *testing.T) {
	for _, addr := range slices.Backward(a.order) {
		in, ok := a.inst[addr]
		if !ok {
			continue
		}
		if _, err := a.d.Delete(context.Background(), providers.DeleteRequest{Instance: *in}); err != nil {
			t.Errorf("cleanup: Delete %s: %v", addr, err)
		}
		delete(a.inst, addr)
	}
}

func withInputs(in *providers.Instance, kv ...any) providers.Values {
	out := providers.Values{}
	for k, v := range in.Inputs {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

// TestCreateRemovesBootstrapPool: a cluster is created with a one-node
// bootstrap pool (GKE needs one) that Create removes, so only the spec's
// pools remain; and the live version is the newest patch of the minor.
func TestCreateRemovesBootstrapPool(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	var pools []string
	for _, o := range sb.List() {
		if o.Type == "container.nodePool" {
			pools = append(pools, o.Name)
		}
	}
	want := a.inst["eu1/"+gcpdriver.TypeNodePool+".system"].Inputs["name"].(string)
	if !slices.Equal(pools, []string{want}) {
		t.Errorf("node pools in the sandbox: %v; want only %s", pools, want)
	}
	cl := a.inst["eu1/"+gcpdriver.TypeCluster+".main"]
	if v, _ := cl.Outputs["master_version"].(string); gcpdriver.MinorOf(v) != "1.32" || !strings.Contains(v, "-gke.") {
		t.Errorf("master version %q; want a 1.32.x-gke.N", v)
	}
	if ca, _ := cl.Outputs["ca_certificate"].(string); ca == "" || cl.Outputs["uid"] == "" {
		t.Errorf("cluster outputs %v", cl.Outputs)
	}
}

// TestClusterUpgradeOneMinorAtATime: Update refuses to skip a minor or to
// downgrade, with an error that says what to do, and takes one step; node
// pools follow the cluster, never lead it.
func TestClusterUpgradeOneMinorAtATime(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	r := smallRegion()
	r.Spec.Overrides = map[string]json.RawMessage{"gcp": json.RawMessage(`{"releaseChannel":"rapid"}`)}
	r.Spec.Cluster.KubernetesVersion = "1.33"
	a := applyAll(t, d, r)
	ctx := context.Background()
	cl := a.inst["eu1/"+gcpdriver.TypeCluster+".main"]
	pool := a.inst["eu1/"+gcpdriver.TypeNodePool+".system"]

	if _, err := d.Update(ctx, providers.UpdateRequest{Instance: *pool, Inputs: withInputs(pool, "version", "1.34"), Changed: []string{"version"}}); err == nil || !strings.Contains(err.Error(), "upgrade the cluster first") {
		t.Errorf("a node pool ahead of its cluster: %v; want a refusal", err)
	}
	for _, tc := range []struct {
		to      string
		wantErr string
	}{
		{"1.35", "one minor version at a time; set kubernetesVersion to 1.34"},
		{"1.32", "cannot downgrade"},
		{"1.34", ""},
	} {
		_, err := d.Update(ctx, providers.UpdateRequest{Instance: *cl, Inputs: withInputs(cl, "version", tc.to), Changed: []string{"version"}})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("upgrade 1.33 → %s: %v", tc.to, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("upgrade 1.33 → %s: error %v; want one containing %q", tc.to, err, tc.wantErr)
		}
	}
	live, err := d.Read(ctx, providers.ReadRequest{Instance: *cl})
	if err != nil || live.Inputs["version"] != "1.34" {
		t.Errorf("after upgrade, Read = %v, %v; want version 1.34", live.Inputs["version"], err)
	}
	if _, err := d.Update(ctx, providers.UpdateRequest{Instance: *pool, Inputs: withInputs(pool, "version", "1.34"), Changed: []string{"version"}}); err != nil {
		t.Fatalf("node pool upgrade: %v", err)
	}
	live, err = d.Read(ctx, providers.ReadRequest{Instance: *pool})
	if err != nil || live.Inputs["version"] != "1.34" || live.Outputs["node_version"] != a.mustRead(t, cl).Outputs["master_version"] {
		t.Errorf("after the pool upgrade, Read = %v (%v), %v; want 1.34 at the master's version", live.Inputs["version"], live.Outputs["node_version"], err)
	}
}

func (a *applied) mustRead(t *testing.T, in *providers.Instance) providers.ReadResponse {
	t.Helper()
	resp, err := a.d.Read(context.Background(), providers.ReadRequest{Instance: *in})
	if err != nil || !resp.Exists {
		t.Fatalf("Read %s: %+v, %v", in.Address, resp, err)
	}
	return resp
}

// TestFindAdopts: after a crash (a new driver, nothing recorded), Find by
// the idempotency key returns the object the interrupted create made —
// by description for networks, subnetworks and routers, by labels for
// addresses, clusters and node pools — and a retried Create adopts it.
func TestFindAdopts(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	r := smallRegion()
	r.Spec.LoadBalancers = []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal, Ports: []spec.Port{{Port: 443}}, Selector: map[string]string{"app": "web"}}}
	a := applyAll(t, d, r)
	crashed, err := gcpdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer crashed.(*gcpdriver.Driver).Close()
	f := crashed.(providers.Finder)
	for _, addr := range a.order {
		in := a.inst[addr]
		got, err := f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: keyOf(addr)})
		if err != nil || !got.Found || got.ID != in.ID {
			t.Errorf("Find %s by key = %+v, %v; want ID %s", addr, got, err, in.ID)
		}
		got, err = f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: "another-key"})
		if err != nil || got.Found {
			t.Errorf("Find %s by an unknown key = %+v, %v; want not found", addr, got, err)
		}
		got, err = f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs})
		if err != nil || !got.Found || got.ID != in.ID {
			t.Errorf("Find %s by address = %+v, %v; want ID %s", addr, got, err, in.ID)
		}
	}
	if len(a.order) != 6 {
		t.Errorf("applied %v; want network, subnetwork, router, cluster, pool, address", a.order)
	}
	// Retried creates with the same key adopt rather than duplicate, and one
	// with another key refuses to take over.
	before := len(inventory(sb))
	for _, addr := range []string{"eu1/" + gcpdriver.TypeNetwork + ".main", "eu1/" + gcpdriver.TypeCluster + ".main", "eu1/" + gcpdriver.TypeNodePool + ".system"} {
		in := a.inst[addr]
		cr, err := crashed.Create(context.Background(), providers.CreateRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: keyOf(addr)})
		if err != nil || cr.ID != in.ID {
			t.Errorf("retried Create of %s = %q, %v; want the existing %s", addr, cr.ID, err, in.ID)
		}
		_, err = crashed.Create(context.Background(), providers.CreateRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: "another-key"})
		if err == nil || !strings.Contains(err.Error(), "was not made by this create") {
			t.Errorf("Create of %s under another key: %v; want a refusal", addr, err)
		}
	}
	if after := len(inventory(sb)); after != before {
		t.Errorf("retried Creates made %d objects", after-before)
	}
}

// TestFailedOperationLeavesNothing: when GKE's create operation for a node
// pool ends in error, Create fails without an ID, deletes the broken pool,
// and a retry under the same key makes it.
func TestFailedOperationLeavesNothing(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "container:CreateNodePool", Kind: sandbox.FaultFail, Nth: 1}}})
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	var poolRes providers.Resource
	var rest []providers.Resource
	for _, res := range resp.Resources {
		if res.Type == gcpdriver.TypeNodePool {
			poolRes = res
		} else {
			rest = append(rest, res)
		}
	}
	// Create everything but the pool, then the pool by hand.
	a := &applied{d: d, inst: map[string]*providers.Instance{}}
	t.Cleanup(func() { a.destroy(t) })
	for _, res := range rest {
		in := a.resolve(t, res.Inputs).(providers.Values)
		cr, err := d.Create(context.Background(), providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: keyOf(res.Address)})
		if err != nil {
			t.Fatalf("Create %s: %v", res.Address, err)
		}
		a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
		a.order = append(a.order, res.Address)
	}
	in := a.resolve(t, poolRes.Inputs).(providers.Values)
	cr, err := d.Create(context.Background(), providers.CreateRequest{Address: poolRes.Address, Type: poolRes.Type, Inputs: in, IdempotencyKey: "k1"})
	if err == nil || cr.ID != "" || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("Create through a failed operation = %q, %v; want an error and no ID", cr.ID, err)
	}
	if !errors.Is(err, providers.ErrCreateFailed) {
		t.Errorf("Create through a failed operation: %v; want it to wrap providers.ErrCreateFailed", err)
	}
	for _, o := range sb.List() {
		if o.Type == "container.nodePool" {
			t.Errorf("the failed create left node pool %s (%s)", o.Name, o.State)
		}
	}
	if f, _ := d.(providers.Finder).Find(context.Background(), providers.FindRequest{Address: poolRes.Address, Type: poolRes.Type, Inputs: in, IdempotencyKey: "k1"}); f.Found {
		t.Errorf("Find adopts the failed pool: %+v", f)
	}
	cr, err = d.Create(context.Background(), providers.CreateRequest{Address: poolRes.Address, Type: poolRes.Type, Inputs: in, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("retried Create: %v", err)
	}
	a.inst[poolRes.Address] = &providers.Instance{Address: poolRes.Address, Type: poolRes.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
	a.order = append(a.order, poolRes.Address)
}

// TestPoolOfReplacedCluster: a node pool's ID names its cluster's uid, so
// after the cluster was replaced by one of the same name, the old pool
// reads as gone and deleting it does not touch the new cluster's
// same-named pool.
func TestPoolOfReplacedCluster(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	ctx := context.Background()
	clAddr, poolAddr := "eu1/"+gcpdriver.TypeCluster+".main", "eu1/"+gcpdriver.TypeNodePool+".system"
	oldPool := *a.inst[poolAddr]
	cl := a.inst[clAddr]
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: *cl}); err != nil {
		t.Fatal(err)
	}
	cr, err := d.Create(ctx, providers.CreateRequest{Address: clAddr, Type: cl.Type, Inputs: cl.Inputs, IdempotencyKey: "k2"})
	if err != nil {
		t.Fatal(err)
	}
	cl.ID, cl.Outputs = cr.ID, cr.Outputs
	pr, err := d.Create(ctx, providers.CreateRequest{Address: poolAddr, Type: oldPool.Type, Inputs: oldPool.Inputs, IdempotencyKey: "k3"})
	if err != nil {
		t.Fatal(err)
	}
	if pr.ID == oldPool.ID {
		t.Fatalf("the new cluster's pool has the old pool's ID %s", pr.ID)
	}
	a.inst[poolAddr].ID, a.inst[poolAddr].Outputs = pr.ID, pr.Outputs
	if live, err := d.Read(ctx, providers.ReadRequest{Instance: oldPool}); err != nil || live.Exists {
		t.Errorf("Read of the old cluster's pool = %+v, %v; want gone", live, err)
	}
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: oldPool}); err != nil {
		t.Errorf("Delete of the old cluster's pool: %v", err)
	}
	found := false
	for _, o := range sb.List() {
		found = found || o.Type == "container.nodePool" && o.Name == oldPool.Inputs["name"]
	}
	if !found {
		t.Errorf("deleting the old cluster's pool deleted the new cluster's pool of the same name")
	}
}

// TestThrottlingIsRetried: the driver retries throttling from both APIs
// (Compute's 429/403 rateLimitExceeded, GKE's RESOURCE_EXHAUSTED) and a
// transient error, and waits out "another operation is running".
func TestThrottlingIsRetried(t *testing.T) {
	faults := []sandbox.Fault{
		{Op: "compute:networks.insert", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "compute:subnetworks.get", Kind: sandbox.FaultServerError, Nth: 1, Count: 1},
		{Op: "container:CreateCluster", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "container:GetOperation", Kind: sandbox.FaultServerError, Nth: 1, Count: 1},
	}
	sb, d := startSandbox(t, sandbox.Options{Faults: faults, Latency: map[string]time.Duration{"*": 20 * time.Millisecond}})
	applyAll(t, d, smallRegion())
	got := sb.Requests()
	for op, want := range map[string]int{"compute:networks.insert": 3, "container:CreateCluster": 3} {
		if got[op] != want {
			t.Errorf("%s was called %d times; want %d (the throttled calls retried)", op, got[op], want)
		}
	}
}

// TestSandboxIgnoresUserCredentials: in sandbox mode the driver neither
// needs nor reads Application Default Credentials.
func TestSandboxIgnoresUserCredentials(t *testing.T) {
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(t.TempDir(), "missing.json"))
	t.Setenv("CLOUDSDK_CONFIG", t.TempDir())
	sb, d := startSandbox(t, sandbox.Options{})
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	net := resp.Resources[0]
	cr, err := d.Create(context.Background(), providers.CreateRequest{Address: net.Address, Type: net.Type, Inputs: net.Inputs, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("Create with broken ADC in the environment: %v", err)
	}
	t.Cleanup(func() {
		d.Delete(context.Background(), providers.DeleteRequest{Instance: providers.Instance{Address: net.Address, Type: net.Type, ID: cr.ID, Inputs: net.Inputs}})
	})
	if gcpRequests(sb) == 0 {
		t.Errorf("the sandbox saw no request")
	}
	if _, err := gcpdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: map[string]string{"gcp-compute": "http://127.0.0.1:1"}}); err == nil {
		t.Errorf("New in sandbox mode without the container endpoint succeeded; want an error")
	}
}
