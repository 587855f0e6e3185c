package azure_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/azure"
)

const sub = azure.DefaultSubscription

// clock is an emulated clock the tests step instead of sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenSource gets tokens as an Azure client does (azure.ClientCredential).
func tokenSource(t testing.TB, url string) (azcore.TokenCredential, *http.Client) {
	t.Helper()
	cred, client, err := azure.ClientCredential(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	return cred, client
}

// bearer is a fresh access token for ARM.
func bearer(t testing.TB, cred azcore.TokenCredential) string {
	t.Helper()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

type env struct {
	sb   *sandbox.Sandbox
	clk  *clock
	url  string
	rg   *armresources.ResourceGroupsClient
	mc   *armcontainerservice.ManagedClustersClient
	ap   *armcontainerservice.AgentPoolsClient
	vnet *armnetwork.VirtualNetworksClient
	sn   *armnetwork.SubnetsClient
	pip  *armnetwork.PublicIPAddressesClient
	nat  *armnetwork.NatGatewaysClient
	// cred gets tokens from the sandbox's Entra ID.
	cred azcore.TokenCredential
	// polls counts Poll calls made by wait.
	polls int
}

func clientOptions(url string) *arm.ClientOptions { return azure.ClientOptions(url) }

func start(t testing.TB, opts sandbox.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Clock == nil {
		opts.Clock = clk.Now
	}
	opts.NoKubernetes = true // these tests are of ARM alone; kube_test.go starts API servers
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return connect(t, sb, clk)
}

func connect(t testing.TB, sb *sandbox.Sandbox, clk *clock) *env {
	t.Helper()
	url := sb.Endpoints()["azure"]
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("Endpoints()[azure] = %q", url)
	}
	o := clientOptions(url)
	cred, _ := tokenSource(t, url)
	e := &env{sb: sb, clk: clk, url: url, cred: cred}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	var err error
	e.rg, err = armresources.NewResourceGroupsClient(sub, cred, o)
	must(err)
	e.mc, err = armcontainerservice.NewManagedClustersClient(sub, cred, o)
	must(err)
	e.ap, err = armcontainerservice.NewAgentPoolsClient(sub, cred, o)
	must(err)
	e.vnet, err = armnetwork.NewVirtualNetworksClient(sub, cred, o)
	must(err)
	e.sn, err = armnetwork.NewSubnetsClient(sub, cred, o)
	must(err)
	e.pip, err = armnetwork.NewPublicIPAddressesClient(sub, cred, o)
	must(err)
	e.nat, err = armnetwork.NewNatGatewaysClient(sub, cred, o)
	must(err)
	return e
}

// retryAfter reads the delay a reply asks for, as azcore does:
// Retry-After-Ms first, then Retry-After in seconds.
func retryAfter(resp *http.Response) time.Duration {
	if ms, err := strconv.Atoi(resp.Header.Get("Retry-After-Ms")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// wait drives a poller to the end, stepping the emulated clock by each
// reply's Retry-After instead of sleeping.
func wait[T any](t *testing.T, e *env, b started[T]) (T, error) {
	t.Helper()
	var zero T
	if b.err != nil {
		return zero, b.err
	}
	p := b.p
	for i := 0; !p.Done(); i++ {
		if i > 50 {
			t.Fatal("poller not done after 50 polls")
		}
		resp, err := p.Poll(context.Background())
		e.polls++
		if err != nil {
			return zero, err
		}
		if !p.Done() {
			d := retryAfter(resp)
			if d <= 0 {
				t.Fatalf("in-progress poll reply without Retry-After: %v", resp.Header)
			}
			e.clk.Advance(d)
		}
	}
	return p.Result(context.Background())
}

func mustWait[T any](t *testing.T, e *env, b started[T]) T {
	t.Helper()
	v, err := wait(t, e, b)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func code(err error) (string, int) {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode, re.StatusCode
	}
	return "", 0
}

func s(v string) *string { return &v }

func i32(v int32) *int32 { return &v }

var ctx = context.Background()

func group(t testing.TB, e *env, name string) {
	t.Helper()
	if _, err := e.rg.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: s("westeurope"), Tags: map[string]*string{"managed-by": s("regionctl")}}, nil); err != nil {
		t.Fatal(err)
	}
}

func vnetBody(subnets ...[2]string) armnetwork.VirtualNetwork {
	v := armnetwork.VirtualNetwork{Location: s("westeurope"), Properties: &armnetwork.VirtualNetworkPropertiesFormat{
		AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: []*string{s("10.10.0.0/16")}}}}
	for _, sn := range subnets {
		v.Properties.Subnets = append(v.Properties.Subnets, &armnetwork.Subnet{Name: s(sn[0]), Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: s(sn[1])}})
	}
	return v
}

// network makes rg/vnet with subnet "nodes" and returns the subnet id.
func network(t *testing.T, e *env, rg string) string {
	t.Helper()
	v := mustWait(t, e, mkPoller(e.vnet.BeginCreateOrUpdate(ctx, rg, "vnet", vnetBody([2]string{"nodes", "10.10.0.0/20"}), nil)))
	if len(v.Properties.Subnets) != 1 {
		t.Fatalf("vnet subnets = %d", len(v.Properties.Subnets))
	}
	return *v.Properties.Subnets[0].ID
}

// started is a Begin… call's result, so one expression can pass it on.
type started[T any] struct {
	p   *runtime.Poller[T]
	err error
}

func mkPoller[T any](p *runtime.Poller[T], err error) started[T] { return started[T]{p, err} }

func clusterBody(subnet string, version string) armcontainerservice.ManagedCluster {
	return armcontainerservice.ManagedCluster{
		Location: s("westeurope"),
		Tags:     map[string]*string{"managed-by": s("regionctl")},
		Identity: &armcontainerservice.ManagedClusterIdentity{Type: ptr(armcontainerservice.ResourceIdentityTypeSystemAssigned)},
		Properties: &armcontainerservice.ManagedClusterProperties{
			KubernetesVersion: s(version),
			NetworkProfile: &armcontainerservice.NetworkProfile{NetworkPlugin: ptr(armcontainerservice.NetworkPluginAzure),
				NetworkPluginMode: ptr(armcontainerservice.NetworkPluginModeOverlay), ServiceCidr: s("172.16.0.0/16"), DNSServiceIP: s("172.16.0.10")},
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{
				Name: s("system"), Mode: ptr(armcontainerservice.AgentPoolModeSystem), VMSize: s("Standard_D4s_v5"), Count: i32(2),
				VnetSubnetID: s(subnet), AvailabilityZones: []*string{s("1"), s("2")},
			}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

func userPool(subnet string) armcontainerservice.AgentPool {
	return armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{
		Mode: ptr(armcontainerservice.AgentPoolModeUser), VMSize: s("Standard_D8s_v5"), VnetSubnetID: s(subnet),
		EnableAutoScaling: ptr(true), MinCount: i32(1), MaxCount: i32(5),
		ScaleSetPriority: ptr(armcontainerservice.ScaleSetPrioritySpot),
		NodeLabels:       map[string]*string{"workload": s("batch")}, NodeTaints: []*string{s("dedicated=batch:NoSchedule")},
	}}
}

func azureObjects(sb *sandbox.Sandbox) []sandbox.Object {
	var out []sandbox.Object
	for _, o := range sb.List() {
		if o.Cloud == "azure" {
			out = append(out, o)
		}
	}
	return out
}

func TestLifecycle(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg1")
	if r, err := e.rg.CheckExistence(ctx, "RG1", nil); err != nil || !r.Success {
		t.Fatalf("CheckExistence = %v, %v", r.Success, err)
	}
	if r, err := e.rg.CheckExistence(ctx, "nope", nil); err != nil || r.Success {
		t.Fatalf("CheckExistence(nope) = %v, %v", r.Success, err)
	}
	subnet := network(t, e, "rg1")
	wantSubnet := "/subscriptions/" + sub + "/resourceGroups/rg1/providers/Microsoft.Network/virtualNetworks/vnet/subnets/nodes"
	if subnet != wantSubnet {
		t.Errorf("subnet id = %s, want %s", subnet, wantSubnet)
	}
	// a second subnet through the subnets client
	sn := mustWait(t, e, mkPoller(e.sn.BeginCreateOrUpdate(ctx, "rg1", "vnet", "lb", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: s("10.10.16.0/24")}}, nil)))
	if *sn.Properties.ProvisioningState != armnetwork.ProvisioningStateSucceeded {
		t.Errorf("subnet state %s", *sn.Properties.ProvisioningState)
	}
	// public IP and NAT gateway, attached to the node subnet
	ip := mustWait(t, e, mkPoller(e.pip.BeginCreateOrUpdate(ctx, "rg1", "egress", armnetwork.PublicIPAddress{Location: s("westeurope"),
		SKU:        &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameStandard)},
		Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: ptr(armnetwork.IPAllocationMethodStatic)},
		Zones:      []*string{s("1"), s("2"), s("3")}}, nil)))
	if ip.Properties.IPAddress == nil || len(ip.Zones) != 3 {
		t.Errorf("public IP %+v", ip.Properties)
	}
	nat := mustWait(t, e, mkPoller(e.nat.BeginCreateOrUpdate(ctx, "rg1", "nat", armnetwork.NatGateway{Location: s("westeurope"),
		SKU:        &armnetwork.NatGatewaySKU{Name: ptr(armnetwork.NatGatewaySKUNameStandard)},
		Properties: &armnetwork.NatGatewayPropertiesFormat{PublicIPAddresses: []*armnetwork.SubResource{{ID: ip.ID}}}}, nil)))
	mustWait(t, e, mkPoller(e.sn.BeginCreateOrUpdate(ctx, "rg1", "vnet", "nodes", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{
		AddressPrefix: s("10.10.0.0/20"), NatGateway: &armnetwork.SubResource{ID: nat.ID}}}, nil)))
	if got, err := e.pip.Get(ctx, "rg1", "egress", nil); err != nil || got.Properties.NatGateway == nil || !strings.EqualFold(*got.Properties.NatGateway.ID, *nat.ID) {
		t.Errorf("public IP after NAT: %v", err)
	}
	if got, err := e.sn.Get(ctx, "rg1", "VNET", "Nodes", nil); err != nil || got.Properties.NatGateway == nil || *got.Name != "nodes" {
		t.Errorf("subnet after NAT: %v", err)
	}
	if _, err := e.pip.BeginDelete(ctx, "rg1", "egress", nil); !hasCode(err, "PublicIPAddressInUse", 400) {
		t.Errorf("delete IP in use: %v", err)
	}
	if _, err := e.nat.BeginDelete(ctx, "rg1", "nat", nil); !hasCode(err, "InUseNatGatewayCannotBeDeleted", 400) {
		t.Errorf("delete NAT in use: %v", err)
	}
	groups, err := e.rg.NewListPager(nil).NextPage(ctx)
	if err != nil || len(groups.Value) != 1 {
		t.Errorf("groups = %d, %v", len(groups.Value), err)
	}
	gotNAT, err := e.nat.Get(ctx, "rg1", "nat", nil)
	if err != nil || len(gotNAT.Properties.Subnets) != 1 {
		t.Fatalf("NAT subnets = %v, %v", gotNAT.Properties, err)
	}

	// cluster: capture the first reply to check the LRO protocol
	var raw *http.Response
	p, err := e.mc.BeginCreateOrUpdate(runtime.WithCaptureResponse(ctx, &raw), "rg1", "aks1", clusterBody(subnet, "1.33"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != 201 || raw.Header.Get("Azure-AsyncOperation") == "" || raw.Header.Get("Retry-After") == "" || raw.Header.Get("Retry-After-Ms") != "2000" {
		t.Errorf("create reply %d, headers %v", raw.StatusCode, raw.Header)
	}
	e.polls = 0
	e.clk.Advance(retryAfter(raw)) // honour the first reply's Retry-After, as a driver should
	cl := mustWait(t, e, mkPoller(p, nil))
	if e.polls != 1 {
		t.Errorf("polls = %d, want 1 (Retry-After says when the cluster is ready)", e.polls)
	}
	wantID := "/subscriptions/" + sub + "/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/aks1"
	if *cl.ID != wantID || *cl.Properties.ProvisioningState != "Succeeded" || *cl.Properties.CurrentKubernetesVersion != "1.33.5" {
		t.Errorf("cluster %s %s %s", *cl.ID, *cl.Properties.ProvisioningState, *cl.Properties.CurrentKubernetesVersion)
	}
	if len(cl.Properties.AgentPoolProfiles) != 1 || *cl.Properties.AgentPoolProfiles[0].ProvisioningState != "Succeeded" {
		t.Errorf("agent pool profiles %+v", cl.Properties.AgentPoolProfiles)
	}
	if *cl.Properties.NodeResourceGroup != "MC_rg1_aks1_westeurope" || cl.Identity.PrincipalID == nil {
		t.Errorf("node RG %s, identity %+v", *cl.Properties.NodeResourceGroup, cl.Identity)
	}
	pager := e.mc.NewListByResourceGroupPager("rg1", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 {
		t.Fatalf("ListByResourceGroup = %d, %v", len(page.Value), err)
	}
	up, err := e.mc.GetUpgradeProfile(ctx, "rg1", "aks1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if ups := up.Properties.ControlPlaneProfile.Upgrades; len(ups) != 1 || *ups[0].KubernetesVersion != "1.34.1" {
		t.Errorf("upgrades %v", ups)
	}
	creds, err := e.mc.ListClusterUserCredentials(ctx, "rg1", "aks1", nil)
	if err != nil {
		t.Fatal(err)
	}
	kc := string(creds.Kubeconfigs[0].Value)
	if !strings.Contains(kc, "server: https://"+*cl.Properties.Fqdn+":443") || !regexp.MustCompile(`(?m)^    token: [0-9a-f]{64}$`).MatchString(kc) {
		t.Errorf("kubeconfig:\n%s", kc)
	}

	// a user pool, spot with autoscaling
	pool := mustWait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg1", "aks1", "batch", userPool(subnet), nil)))
	if *pool.Properties.ProvisioningState != "Succeeded" || *pool.Properties.ScaleSetEvictionPolicy != armcontainerservice.ScaleSetEvictionPolicyDelete || *pool.Properties.Count != 1 {
		t.Errorf("pool %+v", pool.Properties)
	}
	pools := e.ap.NewListPager("rg1", "aks1", nil)
	pp, err := pools.NextPage(ctx)
	if err != nil || len(pp.Value) != 2 {
		t.Fatalf("agent pools = %d, %v", len(pp.Value), err)
	}
	if _, err := e.ap.Get(ctx, "rg1", "AKS1", "batch", nil); err != nil {
		t.Errorf("Get pool with other name case: %v", err)
	}
	// upgrade one minor
	body := clusterBody(subnet, "1.34")
	body.Properties.AgentPoolProfiles = nil
	cl = mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg1", "aks1", body, nil)))
	if *cl.Properties.CurrentKubernetesVersion != "1.34.1" {
		t.Errorf("after upgrade: %s", *cl.Properties.CurrentKubernetesVersion)
	}
	mustWait(t, e, mkPoller(e.ap.BeginDelete(ctx, "rg1", "aks1", "batch", nil)))
	if _, err := e.ap.Get(ctx, "rg1", "aks1", "batch", nil); !isNotFound(err) {
		t.Errorf("pool after delete: %v", err)
	}
	mustWait(t, e, mkPoller(e.mc.BeginDelete(ctx, "rg1", "aks1", nil)))
	if _, err := e.mc.Get(ctx, "rg1", "aks1", nil); !isNotFound(err) {
		t.Errorf("cluster after delete: %v", err)
	}
	if r, _ := e.rg.CheckExistence(ctx, "MC_rg1_aks1_westeurope", nil); r.Success {
		t.Error("node resource group outlived its cluster")
	}
	// delete again: 204, nothing to poll
	mustWait(t, e, mkPoller(e.mc.BeginDelete(ctx, "rg1", "aks1", nil)))
	mustWait(t, e, mkPoller(e.sn.BeginCreateOrUpdate(ctx, "rg1", "vnet", "nodes", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: s("10.10.0.0/20")}}, nil)))
	mustWait(t, e, mkPoller(e.nat.BeginDelete(ctx, "rg1", "nat", nil)))
	mustWait(t, e, mkPoller(e.pip.BeginDelete(ctx, "rg1", "egress", nil)))
	mustWait(t, e, mkPoller(e.sn.BeginDelete(ctx, "rg1", "vnet", "lb", nil)))
	mustWait(t, e, mkPoller(e.vnet.BeginDelete(ctx, "rg1", "vnet", nil)))
	mustWait(t, e, mkPoller(e.rg.BeginDelete(ctx, "rg1", nil)))
	if objs := azureObjects(e.sb); len(objs) != 0 {
		t.Errorf("left behind: %+v", objs)
	}
}

func isNotFound(err error) bool {
	_, st := code(err)
	return st == http.StatusNotFound
}

// Deleting a resource group deletes what is in it, as ARM does, and is
// polled through its Location header.
func TestGroupDeleteCascades(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	if n := len(azureObjects(e.sb)); n != 6 { // rg, node rg, vnet, subnet, cluster, pool
		t.Fatalf("objects = %d: %+v", n, azureObjects(e.sb))
	}
	var raw *http.Response
	p, err := e.rg.BeginDelete(runtime.WithCaptureResponse(ctx, &raw), "rg", nil)
	if err != nil {
		t.Fatal(err)
	}
	if raw.StatusCode != 202 || raw.Header.Get("Location") == "" || raw.Header.Get("Retry-After") == "" {
		t.Errorf("delete reply %d %v", raw.StatusCode, raw.Header)
	}
	g, err := e.rg.Get(ctx, "rg", nil)
	if err != nil || *g.Properties.ProvisioningState != "Deleting" {
		t.Errorf("group while deleting: %v", err)
	}
	if _, err := e.vnet.BeginCreateOrUpdate(ctx, "rg", "v2", vnetBody(), nil); !hasCode(err, "ResourceGroupBeingDeleted", 409) {
		t.Errorf("write into a deleting group: %v", err)
	}
	mustWait(t, e, mkPoller(p, nil))
	if objs := azureObjects(e.sb); len(objs) != 0 {
		t.Errorf("left behind: %+v", objs)
	}
}

func hasCode(err error, want string, status int) bool {
	c, st := code(err)
	return c == want && st == status
}

func TestErrors(t *testing.T) {
	e := start(t, sandbox.Options{Latency: map[string]time.Duration{"*": 0, "azure:managedClusters.createOrUpdate": time.Second, "azure:virtualNetworks.createOrUpdate": 0}})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	clp, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "busy", clusterBody(subnet, "1.33"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"group not found", func() error { _, err := e.rg.Get(ctx, "nope", nil); return err }, "ResourceGroupNotFound", 404},
		{"resource in missing group", func() error { _, err := e.vnet.Get(ctx, "nope", "vnet", nil); return err }, "ResourceGroupNotFound", 404},
		{"cluster not found", func() error { _, err := e.mc.Get(ctx, "rg", "nope", nil); return err }, "ResourceNotFound", 404},
		{"vnet not found", func() error { _, err := e.vnet.Get(ctx, "rg", "nope", nil); return err }, "ResourceNotFound", 404},
		{"subnet not found", func() error { _, err := e.sn.Get(ctx, "rg", "vnet", "nope", nil); return err }, "NotFound", 404},
		{"group in other location", func() error {
			_, err := e.rg.CreateOrUpdate(ctx, "rg", armresources.ResourceGroup{Location: s("eastus")}, nil)
			return err
		}, "InvalidResourceGroupLocation", 409},
		{"subnet outside the vnet", func() error {
			_, err := e.sn.BeginCreateOrUpdate(ctx, "rg", "vnet", "out", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: s("10.99.0.0/24")}}, nil)
			return err
		}, "NetcfgInvalidSubnet", 400},
		{"subnet overlap", func() error {
			_, err := e.sn.BeginCreateOrUpdate(ctx, "rg", "vnet", "over", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: s("10.10.8.0/24")}}, nil)
			return err
		}, "NetcfgSubnetRangesOverlap", 400},
		{"bad cidr", func() error {
			_, err := e.sn.BeginCreateOrUpdate(ctx, "rg", "vnet", "bad", armnetwork.Subnet{Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: s("10.10.300.0/24")}}, nil)
			return err
		}, "InvalidAddressPrefixFormat", 400},
		{"subnet in use", func() error { _, err := e.sn.BeginDelete(ctx, "rg", "vnet", "nodes", nil); return err }, "InUseSubnetCannotBeDeleted", 400},
		{"vnet PUT dropping an in-use subnet", func() error { _, err := e.vnet.BeginCreateOrUpdate(ctx, "rg", "vnet", vnetBody(), nil); return err }, "InUseSubnetCannotBeDeleted", 400},
		{"vnet with in-use subnet", func() error { _, err := e.vnet.BeginDelete(ctx, "rg", "vnet", nil); return err }, "InUseSubnetCannotBeDeleted", 400},
		{"cluster without system pool", func() error {
			b := clusterBody(subnet, "1.33")
			b.Properties.AgentPoolProfiles[0].Mode = ptr(armcontainerservice.AgentPoolModeUser)
			_, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "nosys", b, nil)
			return err
		}, "InvalidParameter", 400},
		{"unsupported version", func() error {
			_, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "old", clusterBody(subnet, "1.20"), nil)
			return err
		}, "K8sVersionNotSupported", 400},
		{"service CIDR overlapping the vnet", func() error {
			b := clusterBody(subnet, "1.33")
			b.Properties.NetworkProfile.ServiceCidr, b.Properties.NetworkProfile.DNSServiceIP = s("10.10.0.0/16"), s("10.10.0.10")
			_, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "overlap", b, nil)
			return err
		}, "ServiceCidrOverlapExistingSubnetsCidr", 400},
		{"pool while the cluster is creating", func() error {
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "busy", "user", userPool(subnet), nil)
			return err
		}, "OperationNotAllowed", 409},
		{"public IP dynamic", func() error {
			_, err := e.pip.BeginCreateOrUpdate(ctx, "rg", "ip", armnetwork.PublicIPAddress{Location: s("westeurope"),
				Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: ptr(armnetwork.IPAllocationMethodDynamic)}}, nil)
			return err
		}, "InvalidParameter", 400},
		{"NAT gateway with a missing IP", func() error {
			_, err := e.nat.BeginCreateOrUpdate(ctx, "rg", "nat", armnetwork.NatGateway{Location: s("westeurope"),
				Properties: &armnetwork.NatGatewayPropertiesFormat{PublicIPAddresses: []*armnetwork.SubResource{{ID: s("/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/nope")}}}}, nil)
			return err
		}, "InvalidResourceReference", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if c, st := code(err); c != tt.code || st != tt.status {
				t.Errorf("err = %v; want %s %d, got %q %d", err, tt.code, tt.status, c, st)
			}
		})
	}
	mustWait(t, e, mkPoller(clp, nil))

	// with the cluster ready: system-pool and immutability rules
	rules := []struct {
		name   string
		call   func() error
		code   string
		status int
	}{
		{"delete the last system pool", func() error { _, err := e.ap.BeginDelete(ctx, "rg", "busy", "system", nil); return err }, "OperationNotAllowed", 400},
		{"last system pool to user mode", func() error {
			p := armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{Mode: ptr(armcontainerservice.AgentPoolModeUser),
				VMSize: s("Standard_D4s_v5"), Count: i32(2), VnetSubnetID: s(subnet), AvailabilityZones: []*string{s("1"), s("2")}}}
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "busy", "system", p, nil)
			return err
		}, "OperationNotAllowed", 400},
		{"change vmSize", func() error {
			p := armcontainerservice.AgentPool{Properties: &armcontainerservice.ManagedClusterAgentPoolProfileProperties{Mode: ptr(armcontainerservice.AgentPoolModeSystem),
				VMSize: s("Standard_D8s_v5"), Count: i32(2), VnetSubnetID: s(subnet), AvailabilityZones: []*string{s("1"), s("2")}}}
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "busy", "system", p, nil)
			return err
		}, "PropertyChangeNotAllowed", 400},
		{"spot system pool", func() error {
			p := userPool(subnet)
			p.Properties.Mode = ptr(armcontainerservice.AgentPoolModeSystem)
			_, err := e.ap.BeginCreateOrUpdate(ctx, "rg", "busy", "sys2", p, nil)
			return err
		}, "InvalidParameter", 400},
		{"skip a minor", func() error {
			b := clusterBody(subnet, "1.33")
			b.Properties.KubernetesVersion = s("1.31")
			_, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "skip", b, nil)
			if err != nil {
				return err
			}
			b.Properties.KubernetesVersion = s("1.33")
			b.Properties.AgentPoolProfiles = nil
			e.clk.Advance(time.Second)
			_, err = e.mc.BeginCreateOrUpdate(ctx, "rg", "skip", b, nil)
			return err
		}, "OperationNotAllowed", 400},
	}
	for _, tt := range rules {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if c, st := code(err); c != tt.code || st != tt.status {
				t.Errorf("err = %v; want %s %d, got %q %d", err, tt.code, tt.status, c, st)
			}
		})
	}
	// a second System pool makes the first deletable
	sys2 := userPool(subnet)
	sys2.Properties.Mode = ptr(armcontainerservice.AgentPoolModeSystem)
	sys2.Properties.ScaleSetPriority = nil
	mustWait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "busy", "sys2", sys2, nil)))
	mustWait(t, e, mkPoller(e.ap.BeginDelete(ctx, "rg", "busy", "system", nil)))
}

// Another operation on a network resource: AnotherOperationInProgress.
func TestAnotherOperationInProgress(t *testing.T) {
	e := start(t, sandbox.Options{Latency: map[string]time.Duration{"*": time.Second}})
	group(t, e, "rg")
	p, err := e.vnet.BeginCreateOrUpdate(ctx, "rg", "vnet", vnetBody(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.vnet.BeginCreateOrUpdate(ctx, "rg", "vnet", vnetBody(), nil)
	if !hasCode(err, "AnotherOperationInProgress", 409) {
		t.Errorf("second PUT: %v", err)
	}
	mustWait(t, e, mkPoller(p, nil))
	mustWait(t, e, mkPoller(e.vnet.BeginCreateOrUpdate(ctx, "rg", "vnet", vnetBody(), nil)))
}

// Raw HTTP: auth, api-version, case-insensitive paths.
func TestProtocol(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "MyGroup")
	get := func(path string, auth bool) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, e.url+path, nil)
		if auth {
			req.Header.Set("Authorization", "Bearer "+bearer(t, e.cred))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct {
		name, path string
		auth       bool
		status     int
		code       string
	}{
		{"no token", "/subscriptions/" + sub + "/resourcegroups/MyGroup?api-version=2021-04-01", false, 401, "AuthenticationFailed"},
		{"no api-version", "/subscriptions/" + sub + "/resourcegroups/MyGroup", true, 400, "MissingApiVersionParameter"},
		{"bad group api-version", "/subscriptions/" + sub + "/resourcegroups/MyGroup?api-version=2019-01-01", true, 400, "InvalidApiVersionParameter"},
		{"bad provider api-version", "/subscriptions/" + sub + "/resourceGroups/MyGroup/providers/Microsoft.ContainerService/managedClusters?api-version=2019-01-01", true, 400, "NoRegisteredProviderFound"},
		{"case-insensitive", "/SUBSCRIPTIONS/" + sub + "/ResourceGroups/mygroup?api-version=2021-04-01", true, 200, ""},
		{"case-insensitive provider", "/subscriptions/" + sub + "/resourceGroups/MYGROUP/providers/microsoft.network/VIRTUALNETWORKS?api-version=2025-05-01", true, 200, ""},
		{"unknown type", "/subscriptions/" + sub + "/resourceGroups/MyGroup/providers/Microsoft.Compute/virtualMachines?api-version=2024-01-01", true, 404, "InvalidResourceType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.path, tt.auth)
			if resp.StatusCode != tt.status || resp.Header.Get("x-ms-error-code") != tt.code {
				t.Errorf("%d %s: %s", resp.StatusCode, resp.Header.Get("x-ms-error-code"), body)
			}
			if tt.code != "" && !strings.Contains(body, `"code":"`+tt.code+`"`) {
				t.Errorf("body %s", body)
			}
		})
	}
}

// 429 with Retry-After is retried by azcore's retry policy; when it never
// stops, the ResponseError says TooManyRequests.
func TestThrottle(t *testing.T) {
	tests := []struct {
		name      string
		fault     sandbox.Fault
		wantCalls int
		wantCode  string
	}{
		{"retried", sandbox.Fault{Op: "azure:resourceGroups.get", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2}, 3, ""},
		{"surfaces", sandbox.Fault{Op: "azure:*", Kind: sandbox.FaultThrottle, Rate: 1}, 4, "TooManyRequests"},
		{"500 retried", sandbox.Fault{Op: "azure:resourceGroups.get", Kind: sandbox.FaultServerError, Nth: 1}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, sandbox.Options{Faults: []sandbox.Fault{tt.fault}})
			if tt.wantCode == "" {
				group(t, e, "rg")
			}
			_, err := e.rg.Get(ctx, "rg", nil)
			if c, _ := code(err); c != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Fatalf("err = %v, want code %q", err, tt.wantCode)
			}
			if n := e.sb.Requests()["azure:resourceGroups.get"]; n != tt.wantCalls {
				t.Errorf("calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

// FaultFail: the cluster's LRO ends Failed with an error code, the cluster
// reads provisioningState Failed, and a second PUT converges.
func TestFailedCluster(t *testing.T) {
	e := start(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "azure:managedClusters.createOrUpdate", Kind: sandbox.FaultFail, Nth: 1}}})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	_, err := wait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	if c, _ := code(err); c != "ReconcileVMSSAgentPoolFailed" {
		t.Fatalf("err = %v", err)
	}
	cl, err := e.mc.Get(ctx, "rg", "aks", nil)
	if err != nil || *cl.Properties.ProvisioningState != "Failed" {
		t.Fatalf("cluster after failure: %v", err)
	}
	again := mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	if *again.Properties.ProvisioningState != "Succeeded" || *again.Properties.AgentPoolProfiles[0].ProvisioningState != "Succeeded" {
		t.Errorf("after rerun: %s", *again.Properties.ProvisioningState)
	}
}

// State survives a restart, and so does an operation in progress: a
// poller resumed from its token on the restarted sandbox finishes it.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	e := start(t, sandbox.Options{Dir: dir})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	p, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := p.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	addr := strings.TrimPrefix(e.url, "http://")
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	listed, err := sandbox.ListDir(dir)
	if err != nil || len(listed) != 6 {
		t.Fatalf("ListDir = %d objects, %v", len(listed), err)
	}
	sb2, err := sandbox.Start(ctx, sandbox.Options{Dir: dir, Clock: e.clk.Now, Addrs: map[string]string{"azure": addr}, NoKubernetes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb2.Close() })
	e2 := connect(t, sb2, e.clk)
	cl := mustWait(t, e2, mkPoller(e2.mc.BeginCreateOrUpdate(ctx, "rg", "aks", armcontainerservice.ManagedCluster{},
		&armcontainerservice.ManagedClustersClientBeginCreateOrUpdateOptions{ResumeToken: tok})))
	if *cl.Properties.ProvisioningState != "Succeeded" {
		t.Errorf("resumed: %s", *cl.Properties.ProvisioningState)
	}
	if _, err := e2.vnet.Get(ctx, "rg", "vnet", nil); err != nil {
		t.Errorf("vnet after restart: %v", err)
	}
}

// FaultFail on a delete: the LRO ends Failed, the resource stays with
// provisioningState Failed, and a second delete removes it.
func TestFailedDelete(t *testing.T) {
	e := start(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "azure:subnets.delete", Kind: sandbox.FaultFail, Nth: 1}}})
	group(t, e, "rg")
	network(t, e, "rg")
	_, err := wait(t, e, mkPoller(e.sn.BeginDelete(ctx, "rg", "vnet", "nodes", nil)))
	if c, _ := code(err); c != "InternalServerError" {
		t.Fatalf("err = %v", err)
	}
	got, err := e.sn.Get(ctx, "rg", "vnet", "nodes", nil)
	if err != nil || *got.Properties.ProvisioningState != armnetwork.ProvisioningStateFailed {
		t.Fatalf("subnet after failed delete: %v", err)
	}
	mustWait(t, e, mkPoller(e.sn.BeginDelete(ctx, "rg", "vnet", "nodes", nil)))
	if _, err := e.sn.Get(ctx, "rg", "vnet", "nodes", nil); !isNotFound(err) {
		t.Errorf("subnet after second delete: %v", err)
	}
}
