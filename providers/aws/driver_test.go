package aws_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
	awsdriver "github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
	"github.com/regionctl/regionctl/spec"
)

// startSandbox starts the AWS emulator in-process on a random port and a
// driver pointed at it. Its clusters get no Kubernetes API server unless
// the test asks with startSandboxKube: each costs ~20 s and ~270 MB, so only
// the tests of in-cluster objects start one.
func startSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	opts.NoKubernetes = true
	return startSandboxKube(t, opts)
}

// startSandboxKube is startSandbox with opts as given: by default every
// EKS cluster gets a real kube-apiserver (scripts/kube-apiserver.sh).
func startSandboxKube(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, providers.Driver) {
	t.Helper()
	if !opts.NoKubernetes {
		requireKubeBinaries(t)
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
	d, err := awsdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints(), SandboxDir: sb.Dir()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return sb, d
}

func totalRequests(sb *sandbox.Sandbox) int {
	n := 0
	for _, v := range sb.Requests() {
		n += v
	}
	return n
}

// inventory lists the objects regionctl makes: not the default security
// group and main route table EC2 makes with every VPC, nor the security
// group EKS makes for a cluster (they go with their owners).
func inventory(sb *sandbox.Sandbox) []string {
	var ids []string
	for _, o := range sb.List() {
		switch {
		case o.Type == "ec2:security-group" && !strings.HasPrefix(o.Name, "regionctl-"):
			continue
		case o.Type == "ec2:route-table" && o.Name == "":
			continue
		}
		ids = append(ids, o.Type+"/"+o.ID)
	}
	return ids
}

func loadExample(t *testing.T) *spec.Region {
	t.Helper()
	rs, ds := spec.Load(context.Background(), []string{"../../examples/aws.yaml"}, spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load examples/aws.yaml: %d regions, diagnostics:\n%v", len(rs), ds)
	}
	return rs[0]
}

// TestConformance runs the suite on examples/aws.yaml with a real API
// server behind the EKS cluster, so its StorageClasses and Service are
// applied, read, updated and deleted through client-go.
func TestConformance(t *testing.T) {
	sb, d := startSandboxKube(t, sandbox.Options{})
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: loadExample(t),
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Max++
			c.Spec.Cluster.NodePools[0].Labels = map[string]string{"node-role": "system", "tier": "critical"}
			c.Spec.Cluster.KubernetesVersion = "1.34"
			c.Spec.Cluster.EndpointAccess = spec.EndpointPrivate
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
		CloudCalls: func() int { return totalRequests(sb) },
		Inventory:  func(context.Context) ([]string, error) { return inventory(sb), nil },
	})
}

// TestConformanceWithLatency runs the suite with the emulator's operations
// taking time, so every waiter actually waits.
func TestConformanceWithLatency(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for emulated latency")
	}
	sb, d := startSandbox(t, sandbox.Options{Latency: map[string]time.Duration{"*": 150 * time.Millisecond}})
	r := loadExample(t)
	// The in-cluster objects are covered by TestConformance.
	r.Spec.StorageClasses, r.Spec.LoadBalancers = nil, nil
	r.Spec.Zones = 2
	r.Spec.Network.SingleNATGateway = true
	drivertest.Run(t, drivertest.Config{
		Driver: d,
		Region: r,
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Min = 2
			c.Spec.Cluster.NodePools[0].Taints = nil
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
	d    providers.Driver
	inst map[string]*providers.Instance
	res  map[string]providers.Resource
	// order is creation order.
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

// applyAll creates every resource of an expanded region in dependency
// order and deletes them (dependents first) when the test ends.
func applyAll(t *testing.T, d providers.Driver, r *spec.Region) *applied {
	t.Helper()
	ctx := context.Background()
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: r})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	a := &applied{d: d, inst: map[string]*providers.Instance{}, res: map[string]providers.Resource{}}
	t.Cleanup(func() { a.destroy(t) })
	pending := slices.Clone(resp.Resources)
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
			key := "key-" + strings.ReplaceAll(res.Address, "/", "-")
			cr, err := d.Create(ctx, providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: key})
			if err != nil {
				t.Fatalf("Create %s: %v", res.Address, err)
			}
			a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
			a.res[res.Address] = res
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

func smallRegion() *spec.Region {
	r := &spec.Region{
		APIVersion: spec.APIVersion, Kind: spec.KindRegion,
		Metadata: spec.Metadata{Name: "eu1"},
		Spec: spec.RegionSpec{
			Provider: "aws", Location: "eu-west-1", Zones: 2,
			Network: spec.Network{CIDR: "10.20.0.0/16", SingleNATGateway: true},
			Cluster: spec.Cluster{KubernetesVersion: "1.32", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 8}, Min: 1, Max: 3},
			}},
		},
	}
	r.Default()
	return r
}

// TestClusterUpgradeOneMinorAtATime: Update refuses to skip a minor, with
// an error that says what to do, and takes one step.
func TestClusterUpgradeOneMinorAtATime(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	ctx := context.Background()
	addr := providers.Address("eu1", awsdriver.TypeEKSCluster, "main")
	cl := a.inst[addr]

	for _, tc := range []struct {
		to      string
		wantErr string
	}{
		{"1.34", "one minor version at a time; set kubernetesVersion to 1.33"},
		{"1.31", "cannot downgrade"},
		{"1.33", ""},
	} {
		in := providers.Values{}
		for k, v := range cl.Inputs {
			in[k] = v
		}
		in["version"] = tc.to
		_, err := d.Update(ctx, providers.UpdateRequest{Instance: *cl, Inputs: in, Changed: []string{"version"}})
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("upgrade 1.32 → %s: %v", tc.to, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("upgrade 1.32 → %s: error %v; want one containing %q", tc.to, err, tc.wantErr)
		}
	}
	live, err := d.Read(ctx, providers.ReadRequest{Instance: *cl})
	if err != nil || live.Inputs["version"] != "1.33" {
		t.Errorf("after upgrade, Read = %v, %v; want version 1.33", live.Inputs["version"], err)
	}
	if ca, _ := live.Outputs["certificate_authority_data"].(string); ca == "" {
		t.Errorf("cluster outputs lack certificate_authority_data: %v", live.Outputs)
	}
}

// TestFindAdopts: after a crash (a new driver, nothing recorded), Find by
// the idempotency key returns the object the interrupted create made,
// for EC2 (tag filter), IAM (name + tags) and EKS (name + tags) resources.
func TestFindAdopts(t *testing.T) {
	sb, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	crashed, err := awsdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints(), SandboxDir: sb.Dir()})
	if err != nil {
		t.Fatal(err)
	}
	f := crashed.(providers.Finder)
	for _, addr := range []string{
		providers.Address("eu1", awsdriver.TypeVPC, "main"),
		providers.Address("eu1", awsdriver.TypeNATGateway, "a"),
		providers.Address("eu1", awsdriver.TypeRouteTable, "private-b"),
		providers.Address("eu1", awsdriver.TypeIAMRole, "node"),
		providers.Address("eu1", awsdriver.TypeEKSCluster, "main"),
		providers.Address("eu1", awsdriver.TypeEKSNodeGroup, "system"),
		providers.Address("eu1", awsdriver.TypeEKSAddon, "ebs-csi"),
	} {
		in := a.inst[addr]
		key := "key-" + strings.ReplaceAll(addr, "/", "-")
		got, err := f.Find(context.Background(), providers.FindRequest{Address: addr, Type: in.Type, Inputs: in.Inputs, IdempotencyKey: key})
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
	// A retried create with the same key adopts rather than duplicates.
	vpc := a.inst[providers.Address("eu1", awsdriver.TypeVPC, "main")]
	before := len(inventory(sb))
	cr, err := crashed.Create(context.Background(), providers.CreateRequest{Address: vpc.Address, Type: vpc.Type, Inputs: vpc.Inputs,
		IdempotencyKey: "key-" + strings.ReplaceAll(vpc.Address, "/", "-")})
	if err != nil || cr.ID != vpc.ID {
		t.Errorf("retried Create of the VPC = %q, %v; want the existing %s", cr.ID, err, vpc.ID)
	}
	if after := len(inventory(sb)); after != before {
		t.Errorf("retried Create made %d objects", after-before)
	}
}

// TestThrottlingIsRetried: the SDK's adaptive retryer absorbs throttling
// (and a server error) from each of the three services the driver calls.
//
// It takes seconds: after a throttle the adaptive retryer's client-side
// rate limiter slows every later call of that client, as it would against
// AWS.
func TestThrottlingIsRetried(t *testing.T) {
	if testing.Short() {
		t.Skip("the adaptive retryer slows the client after a throttle")
	}
	faults := []sandbox.Fault{
		{Op: "ec2:CreateVpc", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "iam:CreateRole", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
		{Op: "eks:DescribeCluster", Kind: sandbox.FaultThrottle, Nth: 1, Count: 1},
		{Op: "eks:DescribeCluster", Kind: sandbox.FaultServerError, Nth: 2, Count: 1},
	}
	sb, d := startSandbox(t, sandbox.Options{Faults: faults})
	ctx := context.Background()
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: smallRegion()})
	if err != nil {
		t.Fatal(err)
	}
	byType := map[string]providers.Resource{}
	for _, r := range resp.Resources {
		if _, ok := byType[r.Type]; !ok {
			byType[r.Type] = r
		}
	}
	for _, typ := range []string{awsdriver.TypeVPC, awsdriver.TypeIAMRole} {
		r := byType[typ]
		cr, err := d.Create(ctx, providers.CreateRequest{Address: r.Address, Type: r.Type, Inputs: r.Inputs, IdempotencyKey: "k-" + typ})
		if err != nil {
			t.Fatalf("Create %s through throttling: %v", r.Address, err)
		}
		t.Cleanup(func() {
			if _, err := d.Delete(ctx, providers.DeleteRequest{Instance: providers.Instance{Address: r.Address, Type: r.Type, ID: cr.ID, Inputs: r.Inputs}}); err != nil {
				t.Errorf("cleanup: %v", err)
			}
		})
	}
	cl := byType[awsdriver.TypeEKSCluster]
	live, err := d.Read(ctx, providers.ReadRequest{Instance: providers.Instance{Address: cl.Address, Type: cl.Type, ID: "eu1", Inputs: providers.Values{"location": "eu-west-1"}}})
	if err != nil || live.Exists {
		t.Errorf("Read of a missing cluster through throttling = %+v, %v; want Exists false", live, err)
	}
	got := sb.Requests()
	for op, want := range map[string]int{"ec2:CreateVpc": 3, "iam:CreateRole": 3, "eks:DescribeCluster": 3} {
		if got[op] != want {
			t.Errorf("%s was called %d times; want %d (the faulted calls retried once each)", op, got[op], want)
		}
	}
}

// TestSandboxIgnoresUserCredentials: in sandbox mode the driver neither
// needs nor reads the user's AWS configuration.
func TestSandboxIgnoresUserCredentials(t *testing.T) {
	t.Setenv("AWS_PROFILE", "no-such-profile")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/missing")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/missing")
	// The user's own keys are not the sandbox's: signing with them would
	// be refused (and must never happen).
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAUSERSOWNKEY00000")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "the-users-own-secret")
	sb, d := startSandbox(t, sandbox.Options{})
	r := smallRegion()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil {
		t.Fatal(err)
	}
	vpc := resp.Resources[0]
	cr, err := d.Create(context.Background(), providers.CreateRequest{Address: vpc.Address, Type: vpc.Type, Inputs: vpc.Inputs, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatalf("Create with a broken AWS profile in the environment: %v", err)
	}
	t.Cleanup(func() {
		d.Delete(context.Background(), providers.DeleteRequest{Instance: providers.Instance{Address: vpc.Address, Type: vpc.Type, ID: cr.ID, Inputs: vpc.Inputs}})
	})
	if n := totalRequests(sb); n == 0 {
		t.Errorf("the sandbox saw no request")
	}
	if _, err := awsdriver.New(context.Background(), providers.Options{Sandbox: true}); err == nil {
		t.Errorf("New in sandbox mode without an endpoint succeeded; want an error")
	}
	if _, err := awsdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints()}); err == nil {
		t.Errorf("New in sandbox mode without the sandbox's directory succeeded; want an error")
	}
	// A directory without the sandbox's credentials: calls fail, naming the file.
	empty, err := awsdriver.New(context.Background(), providers.Options{Sandbox: true, SandboxEndpoints: sb.Endpoints(), SandboxDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := empty.Create(context.Background(), providers.CreateRequest{Address: vpc.Address, Type: vpc.Type, Inputs: vpc.Inputs, IdempotencyKey: "k2"}); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Create without the sandbox's credentials = %v; want an error naming the credentials file", err)
	}
}

func ExampleCheckUpgrade() {
	fmt.Println(awsdriver.CheckUpgrade("1.32", "1.33"))
	fmt.Println(awsdriver.CheckUpgrade("1.32", "1.34"))
	// Output:
	// <nil>
	// cannot upgrade Kubernetes 1.32 to 1.34 in one step: EKS upgrades one minor version at a time; set kubernetesVersion to 1.33, apply, then continue
}

// TestSingleToPerZoneNAT: turning singleNatGateway off adds a NAT gateway
// per zone and moves each private route table's default route in place
// (ReplaceRoute), without replacing the table.
func TestSingleToPerZoneNAT(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	a := applyAll(t, d, smallRegion())
	ctx := context.Background()
	r := smallRegion()
	r.Spec.Network.SingleNATGateway = false
	resp, err := d.Expand(ctx, providers.ExpandRequest{Region: r})
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range resp.Resources {
		if _, ok := a.inst[res.Address]; ok || (res.Type != awsdriver.TypeEIP && res.Type != awsdriver.TypeNATGateway) {
			continue
		}
		in := a.resolve(t, res.Inputs).(providers.Values)
		cr, err := d.Create(ctx, providers.CreateRequest{Address: res.Address, Type: res.Type, Inputs: in, IdempotencyKey: "k-" + res.Address})
		if err != nil {
			t.Fatalf("Create %s: %v", res.Address, err)
		}
		a.inst[res.Address] = &providers.Instance{Address: res.Address, Type: res.Type, ID: cr.ID, Inputs: in, Outputs: cr.Outputs}
		a.order = append(a.order, res.Address)
	}
	rtAddr := providers.Address("eu1", awsdriver.TypeRouteTable, "private-b")
	rt := a.inst[rtAddr]
	in := providers.Values{}
	for k, v := range rt.Inputs {
		in[k] = v
	}
	in["nat_gateway_id"] = a.inst[providers.Address("eu1", awsdriver.TypeNATGateway, "b")].ID
	if _, err := d.Update(ctx, providers.UpdateRequest{Instance: *rt, Inputs: in, Changed: []string{"nat_gateway_id"}}); err != nil {
		t.Fatalf("Update %s: %v", rtAddr, err)
	}
	rt.Inputs = in
	live, err := d.Read(ctx, providers.ReadRequest{Instance: *rt})
	if err != nil || live.Inputs["nat_gateway_id"] != in["nat_gateway_id"] {
		t.Errorf("after the update Read says %v, %v; want %v", live.Inputs["nat_gateway_id"], err, in["nat_gateway_id"])
	}
}

// requireKubeBinaries fails (never skips, except under -short) when
// scripts/kube-apiserver.sh has not provided the binaries.
func requireKubeBinaries(t *testing.T) {
	t.Helper()
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
}
