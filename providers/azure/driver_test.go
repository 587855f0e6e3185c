package azure_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
	azdriver "github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
	"github.com/regionctl/regionctl/spec"
)

// startSandbox starts the emulators in-process on random ports and an
// Azure driver pointed at the ARM one. Its clusters get no Kubernetes API
// server (each costs ~20 s and ~270 MB): applyAll leaves the in-cluster
// objects out; TestConformance starts one.
func startSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	opts.NoKubernetes = true
	return startSandboxKube(t, opts)
}

// startSandboxKube is startSandbox with opts as given: by default every
// AKS cluster gets a real kube-apiserver (scripts/kube-apiserver.sh).
func startSandboxKube(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	if !opts.NoKubernetes {
		if _, err := kube.FindBinaries(); err != nil {
			if testing.Short() {
				t.Skipf("-short: %v", err)
			}
			t.Fatal(err)
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
	d, err := azdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sb, d
}

func azureRequests(sb *sandbox.Sandbox) int {
	n := 0
	for op, v := range sb.Requests() {
		if strings.HasPrefix(op, "azure:") {
			n += v
		}
	}
	return n
}

// inventory lists the Azure objects the emulator holds.
func inventory(sb *sandbox.Sandbox) []string {
	var ids []string
	for _, o := range sb.List() {
		if o.Cloud != "azure" {
			continue
		}
		ids = append(ids, o.Type+"/"+o.ID)
	}
	return ids
}

// TestConformance runs the suite on examples/azure.yaml with a real API
// server behind the AKS cluster, so its StorageClasses and Services are
// applied, read, updated and deleted through client-go.
func TestConformance(t *testing.T) {
	sb, d := startSandboxKube(t, sandbox.Options{})
	r := loadExample(t)
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: r,
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Max++
			c.Spec.Cluster.NodePools[0].Labels = map[string]string{"node-role": "system"}
			c.Spec.Cluster.NodePools[1].Max = 20
			c.Spec.Cluster.NodePools[1].Taints = nil
			c.Spec.Cluster.KubernetesVersion = "1.34"
			c.Spec.StorageClasses[1].Expandable = true // allowVolumeExpansion is mutable
			c.Spec.LoadBalancers[0].Ports[0].TargetPort = 9443
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Machine = spec.Machine{CPU: 16, MemoryGiB: 64, Arch: spec.ArchARM64}
			return c
		},
		Timeout:    3 * time.Minute, // the API server takes ~20 s to start
		CloudCalls: func() int { return azureRequests(sb) },
		Inventory:  func(context.Context) ([]string, error) { return inventory(sb), nil },
	})
}

// TestConformanceWithLatency runs the suite with the emulator's
// long-running operations taking time, so every poller really polls, on a
// region with spec.access.
func TestConformanceWithLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for emulated latency")
	}
	sb, d := startSandbox(t, sandbox.Options{Latency: map[string]time.Duration{"*": 100 * time.Millisecond}})
	r := smallRegion()
	// spec.access: Entra ID on the cluster, role assignments at its scope.
	r.Spec.Access = spec.Access{Admins: []string{"group:5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f"}, Viewers: []string{"servicePrincipal:0a1b2c3d-0000-4000-8000-00000000000a"}}
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: r,
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Min = 2
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Spot = true
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

func keyFor(addr string) string { return "key-" + strings.ReplaceAll(addr, "/", "-") }

// applyAll creates every resource of an expanded region in dependency
// order and deletes them (dependents first) when the test ends.
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
	// In-cluster objects need an API server, which these ARM tests do
	// without (TestConformance covers them).
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
			cr, err := create(providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: keyFor(res.Address)})
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

// updateTo expands r, and updates the resource at addr to its new inputs.
func (a *applied) updateTo(t *testing.T, r *spec.Region, addr string) error {
	t.Helper()
	resp, err := a.d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range resp.Resources {
		if res.Address != addr {
			continue
		}
		cur := a.inst[addr]
		in := a.resolve(t, res.Inputs).(providers.Values)
		var changed []string
		for k := range in {
			if !drivertestSame(in[k], cur.Inputs[k]) {
				changed = append(changed, k)
			}
		}
		up, err := a.d.Update(context.Background(), providers.UpdateRequest{Instance: *cur, Inputs: in, Changed: changed})
		if err == nil {
			cur.Inputs, cur.Outputs = in, up.Outputs
		}
		return err
	}
	t.Fatalf("no %s in the graph", addr)
	return nil
}

func drivertestSame(a, b any) bool {
	return strings.TrimSpace(show(a)) == strings.TrimSpace(show(b))
}

// TestClusterUpgradeOneMinorAtATime: Update refuses to skip a minor or
// downgrade, with an error that says what to do, and takes one step; the
// System pool follows the control plane.
func TestClusterUpgradeOneMinorAtATime(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	addr := providers.Address("weu1", azdriver.TypeCluster, "main")
	for _, tc := range []struct {
		to      string
		wantErr string
	}{
		{"1.34", "one minor version at a time; set kubernetesVersion to 1.33"},
		{"1.31", "cannot downgrade"},
		{"1.33", ""},
	} {
		r := smallRegion()
		r.Spec.Cluster.KubernetesVersion = tc.to
		err := a.updateTo(t, r, addr)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("upgrade 1.32 → %s: %v", tc.to, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("upgrade 1.32 → %s: error %v; want one containing %q", tc.to, err, tc.wantErr)
		}
	}
	live, err := d.Read(context.Background(), providers.ReadRequest{Instance: *a.inst[addr]})
	if err != nil || live.Inputs["kubernetes_version"] != "1.33" {
		t.Fatalf("after upgrade, Read = %v, %v; want kubernetes_version 1.33", live.Inputs["kubernetes_version"], err)
	}
	if v, _ := live.Outputs["current_kubernetes_version"].(string); !strings.HasPrefix(v, "1.33") {
		t.Errorf("current_kubernetes_version %q; want a 1.33 patch", v)
	}
}

// TestSystemPoolRotation: a new VM size for the first pool cannot be set
// in place on AKS; the cluster update makes a new System pool, deletes the
// old one, and Read reports the new one.
func TestSystemPoolRotation(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	addr := providers.Address("weu1", azdriver.TypeCluster, "main")
	oldName := a.inst[addr].Inputs["system_pool"].(map[string]any)["name"]
	r := smallRegion()
	r.Spec.Cluster.NodePools[0].Machine = spec.Machine{CPU: 4, MemoryGiB: 16}
	r.Spec.Cluster.NodePools[0].Max = 5
	if err := a.updateTo(t, r, addr); err != nil {
		t.Fatalf("Update with a new System pool VM size: %v", err)
	}
	live, err := d.Read(context.Background(), providers.ReadRequest{Instance: *a.inst[addr]})
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := live.Inputs["system_pool"].(map[string]any)
	want := a.inst[addr].Inputs["system_pool"].(map[string]any)
	if sp["name"] == oldName || sp["name"] != want["name"] || sp["vm_size"] != "Standard_D4s_v5" || sp["max"] != 5 {
		t.Errorf("after rotation Read reports system_pool %v; want %v (not %v)", sp, want, oldName)
	}
}

// TestFindAdopts: after a crash (a new driver, nothing recorded), Find by
// the idempotency key returns the object the interrupted create made, and
// a retried Create adopts it rather than making a second one.
func TestFindAdopts(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	r := smallRegion()
	r.Spec.LoadBalancers = []spec.LoadBalancer{{Name: "web", Scheme: spec.SchemeExternal}}
	a := applyAll(t, d, r)
	crashed, err := azdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	f := crashed.(providers.Finder)
	for _, addr := range []string{
		providers.Address("weu1", azdriver.TypeResourceGroup, "main"),
		providers.Address("weu1", azdriver.TypeVirtualNetwork, "main"),
		providers.Address("weu1", azdriver.TypeCluster, "main"),
		providers.Address("weu1", azdriver.TypeNodePool, "apps"),
		providers.Address("weu1", azdriver.TypePublicIP, "web"),
	} {
		in := a.inst[addr]
		got, err := f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: keyFor(addr)})
		if err != nil || !got.Found || got.ID != in.ID {
			t.Errorf("Find %s by key = %+v, %v; want ID %s", addr, got, err, in.ID)
		}
		got, err = f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: "another-key"})
		if err != nil || got.Found {
			t.Errorf("Find %s by an unknown key = %+v, %v; want not found", addr, got, err)
		}
		got, err = f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs})
		if err != nil || !got.Found || got.ID != in.ID {
			t.Errorf("Find %s by address tag = %+v, %v; want ID %s", addr, got, err, in.ID)
		}
	}
	sub := a.inst[providers.Address("weu1", azdriver.TypeSubnet, "nodes")]
	if got, err := f.Find(context.Background(), providers.FindRequest{Address: sub.Address, Type: sub.Type, Inputs: sub.Inputs}); err != nil || got.ID != sub.ID {
		t.Errorf("Find of the subnet by name = %+v, %v; want %s", got, err, sub.ID)
	}
	before := len(inventory(sb))
	for _, addr := range []string{providers.Address("weu1", azdriver.TypeCluster, "main"), providers.Address("weu1", azdriver.TypeNodePool, "apps")} {
		in := a.inst[addr]
		cr, err := crashed.Create(context.Background(), providers.CreateRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: keyFor(addr)})
		if err != nil || cr.ID != in.ID {
			t.Errorf("retried Create of %s = %q, %v; want the existing %s", addr, cr.ID, err, in.ID)
		}
	}
	if after := len(inventory(sb)); after != before {
		t.Errorf("retried Creates made %d objects", after-before)
	}
	// Another create (another key) of the same cluster name is refused.
	cl := a.inst[providers.Address("weu1", azdriver.TypeCluster, "main")]
	_, err = crashed.Create(context.Background(), providers.CreateRequest{Address: cl.Address, Type: cl.Type, Inputs: cl.Inputs, IdempotencyKey: "someone-else"})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Create of an existing cluster under another key: %v; want an \"already exists\" error", err)
	}
}

// TestThrottlingIsRetried: 429s with Retry-After (and a 500) on creates,
// gets and polls are absorbed by the SDK's retry policy.
func TestThrottlingIsRetried(t *testing.T) {
	faults := []sandbox.Fault{
		{Op: "azure:resourceGroups.createOrUpdate", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "azure:virtualNetworks.createOrUpdate", Kind: sandbox.FaultServerError, Nth: 1, Count: 1},
		{Op: "azure:managedClusters.get", Kind: sandbox.FaultThrottle, Nth: 1, Count: 3},
	}
	sb, d := startSandbox(t, sandbox.Options{Faults: faults})
	a := applyAll(t, d, smallRegion())
	if len(a.inst) == 0 {
		t.Fatal("nothing applied")
	}
	got := sb.Requests()
	if got["azure:resourceGroups.createOrUpdate"] != 3 {
		t.Errorf("resourceGroups.createOrUpdate was called %d times; want 3 (two throttled, then done)", got["azure:resourceGroups.createOrUpdate"])
	}
	if got["azure:managedClusters.get"] < 4 {
		t.Errorf("managedClusters.get was called %d times; want at least 4 (three throttled)", got["azure:managedClusters.get"])
	}
}

// TestFailedClusterIsReported: a cluster whose creation ends Failed is
// returned with its ID and an error, so the engine taints and replaces it.
func TestFailedClusterIsReported(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "azure:managedClusters.createOrUpdate", Kind: sandbox.FaultFail, Nth: 1}}})
	ctx := context.Background()
	r := smallRegion()
	r.Spec.Cluster.NodePools = r.Spec.Cluster.NodePools[:1]
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: r})
	if err != nil {
		t.Fatal(err)
	}
	a := &applied{d: d, inst: map[string]*providers.Instance{}}
	t.Cleanup(func() { a.destroy(t) })
	for _, res := range resp.Resources {
		in := a.resolve(t, res.Inputs).(providers.Values)
		cr, err := d.Create(ctx, providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: keyFor(res.Address)})
		if cr.ID != "" {
			a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
			a.order = append(a.order, res.Address)
		}
		if res.Type != azdriver.TypeCluster {
			if err != nil {
				t.Fatalf("Create %s: %v", res.Address, err)
			}
			continue
		}
		if err == nil || cr.ID == "" {
			t.Fatalf("Create of a cluster that ends Failed = %q, %v; want its ID and an error", cr.ID, err)
		}
		if !errors.Is(err, providers.ErrCreateFailed) {
			t.Errorf("Create of a cluster that ends Failed: %v; want it to wrap providers.ErrCreateFailed (the engine taints it)", err)
		}
		live, rerr := d.Read(ctx, providers.ReadRequest{Instance: *a.inst[res.Address]})
		if rerr != nil || !live.Exists || !strings.EqualFold(live.Outputs["provisioning_state"].(string), "Failed") {
			t.Errorf("Read of the failed cluster = %+v, %v; want it to exist, provisioning state Failed", live, rerr)
		}
		if !live.CreateFailed {
			t.Errorf("Read of the failed cluster does not report CreateFailed; the next plan would adopt a cluster that never works")
		}
	}
}

// TestSandboxIgnoresUserCredentials: in sandbox mode the driver neither
// needs nor reads the user's Azure configuration.
func TestSandboxIgnoresUserCredentials(t *testing.T) {
	t.Setenv("AZURE_CLIENT_ID", "not-a-client")
	t.Setenv("AZURE_TENANT_ID", "not-a-tenant")
	t.Setenv("AZURE_CLIENT_SECRET", "not-a-secret")
	t.Setenv("AZURE_SUBSCRIPTION_ID", "11111111-2222-3333-4444-555555555555")
	sb, d := startSandbox(t, sandbox.Options{})
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	rg := resp.Resources[0]
	cr, err := d.Create(context.Background(), providers.CreateRequest{Address: rg.Address, Type: rg.Type, Inputs: rg.Inputs, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("Create with bogus Azure credentials in the environment: %v", err)
	}
	t.Cleanup(func() {
		d.Delete(context.Background(), providers.DeleteRequest{Instance: providers.Instance{Address: rg.Address, Type: rg.Type, ID: cr.ID, Inputs: rg.Inputs}})
	})
	if !strings.HasPrefix(cr.ID, "/subscriptions/"+azdriver.SandboxSubscription+"/") {
		t.Errorf("resource group ID %s; want the sandbox subscription, not AZURE_SUBSCRIPTION_ID", cr.ID)
	}
	if azureRequests(sb) == 0 {
		t.Errorf("the sandbox saw no request")
	}
}

// TestDeleteRefusesForeignContents: a resource group that still holds an
// object regionctl does not manage is not deleted (that would delete it).
func TestDeleteRefusesForeignContents(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	rg := *a.inst[providers.Address("weu1", azdriver.TypeResourceGroup, "main")]
	_, err := d.Delete(context.Background(), providers.DeleteRequest{Instance: rg})
	if err == nil || !strings.Contains(err.Error(), "virtual network vnet-weu1") {
		t.Errorf("Delete of a group that still holds the VNet = %v; want a refusal naming it", err)
	}
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestFailedPoolIsReplaced: a User pool whose create ends Failed is
// reported with its ID; its create-before-destroy replacement (same name,
// hence same ARM ID) takes the name, and deleting the failed record
// afterwards leaves the new pool alone.
func TestFailedPoolIsReplaced(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "azure:agentPools.createOrUpdate", Kind: sandbox.FaultFail, Nth: 1}}})
	ctx := context.Background()
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	a := &applied{d: d, inst: map[string]*providers.Instance{}}
	t.Cleanup(func() { a.destroy(t) })
	var pool providers.Resource
	for _, res := range resp.Resources {
		if res.Type == azdriver.TypeNodePool {
			pool = res
			continue
		}
		in := a.resolve(t, res.Inputs).(providers.Values)
		cr, err := d.Create(ctx, providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: keyFor(res.Address)})
		if err != nil {
			t.Fatalf("Create %s: %v", res.Address, err)
		}
		a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
		a.order = append(a.order, res.Address)
	}
	in := a.resolve(t, pool.Inputs).(providers.Values)
	failed, err := d.Create(ctx, providers.CreateRequest{Address: pool.Address, Type: pool.Type, Inputs: in, IdempotencyKey: "first"})
	if err == nil || failed.ID == "" || failed.Outputs["idempotency_key"] != "first" {
		t.Fatalf("Create of a pool that ends Failed = %+v, %v; want its ID, outputs and an error", failed, err)
	}
	if !errors.Is(err, providers.ErrCreateFailed) {
		t.Errorf("Create of a pool that ends Failed: %v; want it to wrap providers.ErrCreateFailed (the engine taints it)", err)
	}
	second, err := d.Create(ctx, providers.CreateRequest{Address: pool.Address, Type: pool.Type, Inputs: in, IdempotencyKey: "second"})
	if err != nil {
		t.Fatalf("Create of the replacement: %v", err)
	}
	a.inst[pool.Address] = &providers.Instance{Address: pool.Address, Type: pool.Type, ID: second.ID, Inputs: in, Outputs: second.Outputs}
	a.order = append(a.order, pool.Address)
	if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: providers.Instance{Address: pool.Address, Type: pool.Type, ID: failed.ID, Inputs: in, Outputs: failed.Outputs}}); err != nil {
		t.Fatalf("Delete of the failed (deposed) pool: %v", err)
	}
	live, err := d.Read(ctx, providers.ReadRequest{Instance: *a.inst[pool.Address]})
	if err != nil || !live.Exists || live.Outputs["provisioning_state"] != "Succeeded" {
		t.Errorf("the replacement after deleting the failed record: %+v, %v; want it alive", live, err)
	}
	if n := sb.Requests()["azure:agentPools.delete"]; n != 1 {
		t.Errorf("agentPools.delete called %d times; want 1 (the failed pool, by the replacement)", n)
	}
}
