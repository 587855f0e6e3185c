package azure_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/azure"
)

// call sends one raw ARM request with a valid token and returns the
// status, the x-ms-error-code and the body.
func call(t *testing.T, e *env, method, path, body string) (int, string, string) {
	t.Helper()
	return callAs(t, e, bearer(t, e.cred), method, path, body)
}

// callAs is call with a given bearer token.
func callAs(t *testing.T, e *env, tok, method, path, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("x-ms-error-code"), string(b)
}

// Every api-version the Go SDK modules and az CLI 2.45 send is served;
// another one gets ARM's error listing the supported versions.
func TestAPIVersions(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	accepted := map[string][]string{
		"/subscriptions/" + sub + "/resourcegroups": {"2021-04-01", "2025-04-01"},
		"/subscriptions": {"2019-11-01", "2022-12-01"},
		"/tenants":       {"2019-11-01", "2022-12-01"},
		"/subscriptions/" + sub + "/providers/Microsoft.ContainerService/managedClusters":                   {"2022-11-01", "2025-02-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters": {"2022-11-01", "2025-02-01"},
		"/subscriptions/" + sub + "/providers/Microsoft.Network/virtualNetworks":                            {"2022-01-01", "2025-05-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses":        {"2022-01-01", "2022-05-01", "2025-05-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/loadBalancers":            {"2022-05-01", "2025-05-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/routeTables":              {"2021-08-01", "2025-05-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups":    {"2022-01-01", "2025-05-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/natGateways":              {"2022-01-01", "2025-05-01"},
		"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets":  {"2022-11-01", "2025-04-01"},
		"/subscriptions/" + sub + "/providers/Microsoft.Compute/virtualMachineScaleSets":                    {"2022-11-01", "2025-04-01"},
	}
	for path, versions := range accepted {
		for _, v := range versions {
			if status, code, body := call(t, e, http.MethodGet, path+"?api-version="+v, ""); status != 200 {
				t.Errorf("GET %s at %s: %d %s %s", path, v, status, code, body)
			}
		}
	}
	refused := []struct{ path, code, lists string }{
		{"/subscriptions/" + sub + "/resourcegroups", "InvalidApiVersionParameter", "'2025-04-01,2021-04-01'"},
		{"/subscriptions", "InvalidApiVersionParameter", "'2022-12-01,2019-11-01'"},
		{"/subscriptions/" + sub + "/providers/Microsoft.ContainerService/managedClusters", "NoRegisteredProviderFound", "'2025-02-01, 2022-11-01'"},
		{"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks", "NoRegisteredProviderFound", "'2025-05-01, 2022-05-01, 2022-01-01, 2021-08-01'"},
	}
	for _, tt := range refused {
		status, code, body := call(t, e, http.MethodGet, tt.path+"?api-version=2099-01-01", "")
		if status != 400 || code != tt.code || !strings.Contains(body, tt.lists) {
			t.Errorf("GET %s at 2099-01-01: %d %s %s; want %s listing %s", tt.path, status, code, body, tt.code, tt.lists)
		}
	}
}

// az login reads /subscriptions and /tenants; az account list-locations
// the subscription's locations. Every GUID is a subscription of the
// sandbox's tenant; those holding resources are listed.
func TestSubscriptionsAndTenants(t *testing.T) {
	e := start(t, sandbox.Options{})
	other := "33333333-3333-3333-3333-333333333333"
	rg2, err := armresources.NewResourceGroupsClient(other, e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rg2.CreateOrUpdate(ctx, "elsewhere", armresources.ResourceGroup{Location: s("eastus")}, nil); err != nil {
		t.Fatal(err)
	}
	subs, err := armsubscriptions.NewClient(e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for pg := subs.NewListPager(nil); pg.More(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.Value {
			if *s.TenantID != azure.TenantID || *s.State != armsubscriptions.SubscriptionStateEnabled {
				t.Errorf("subscription %+v", s)
			}
			ids = append(ids, *s.SubscriptionID)
		}
	}
	if !slices.Equal(ids, []string{sub, other}) {
		t.Errorf("subscriptions = %v", ids)
	}
	got, err := subs.Get(ctx, other, nil)
	if err != nil || *got.ID != "/subscriptions/"+other {
		t.Errorf("Get = %+v, %v", got, err)
	}
	locs := subs.NewListLocationsPager(sub, nil)
	page, err := locs.NextPage(ctx)
	if err != nil || !slices.ContainsFunc(page.Value, func(l *armsubscriptions.Location) bool {
		return *l.Name == "westeurope" && *l.DisplayName == "West Europe"
	}) {
		t.Errorf("locations: %v", err)
	}
	tenants, err := armsubscriptions.NewTenantsClient(e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	tp, err := tenants.NewListPager(nil).NextPage(ctx)
	if err != nil || len(tp.Value) != 1 || *tp.Value[0].TenantID != azure.TenantID {
		t.Errorf("tenants = %+v, %v", tp.Value, err)
	}
}

// Lists page with nextLink (the SDK's pagers follow it); subscription-wide
// lists hold every resource group's resources.
func TestListAllAndPaging(t *testing.T) {
	defer azure.SetPageSize(2)()
	e := start(t, sandbox.Options{Latency: map[string]time.Duration{"*": 0}})
	for _, rg := range []string{"rg1", "rg2"} {
		group(t, e, rg)
		for _, n := range []string{"a", "b", "c"} {
			mustWait(t, e, mkPoller(e.vnet.BeginCreateOrUpdate(ctx, rg, "vnet-"+n, vnetBody(), nil)))
		}
	}
	var names []string
	pages := 0
	for pg := e.vnet.NewListAllPager(nil); pg.More(); pages++ {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			names = append(names, strings.Split(*v.ID, "/")[4]+"/"+*v.Name)
		}
	}
	want := []string{"rg1/vnet-a", "rg1/vnet-b", "rg1/vnet-c", "rg2/vnet-a", "rg2/vnet-b", "rg2/vnet-c"}
	if !slices.Equal(names, want) || pages != 3 {
		t.Errorf("ListAll = %v in %d pages; want %v in 3", names, pages, want)
	}
	if n := e.sb.Requests()["azure:virtualNetworks.listAll"]; n != 3 {
		t.Errorf("listAll requests = %d, want 3 (one per page)", n)
	}
	// one resource group's list pages too, and $top asks for less
	var rgNames []string
	for pg := e.vnet.NewListPager("rg2", nil); pg.More(); {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			rgNames = append(rgNames, *v.Name)
		}
	}
	if len(rgNames) != 3 {
		t.Errorf("rg2 vnets = %v", rgNames)
	}
	status, _, body := call(t, e, http.MethodGet, "/subscriptions/"+sub+"/resourcegroups?api-version=2021-04-01&$top=1", "")
	var res struct {
		Value    []json.RawMessage
		NextLink string
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil || status != 200 || len(res.Value) != 1 {
		t.Fatalf("$top=1: %d %s", status, body)
	}
	next, err := url.Parse(res.NextLink)
	if err != nil || next.Query().Get("api-version") != "2021-04-01" || next.Query().Get("$skiptoken") != "1" || next.Query().Get("$top") != "1" {
		t.Errorf("nextLink %q", res.NextLink)
	}
}

// ARM's own checks before a provider sees a request: subscription ids,
// locations, tag limits.
func TestARMValidation(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	bad, err := armresources.NewResourceGroupsClient("not-a-guid", e.cred, clientOptions(e.url))
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Get(ctx, "rg", nil)
	if c, st := code(err); c != "InvalidSubscriptionId" || st != 400 {
		t.Errorf("non-GUID subscription: %v", err)
	}
	tags := func(n int, name, value string) map[string]*string {
		out := map[string]*string{}
		for i := range n {
			out["t"+strconv.Itoa(i)] = s("v")
		}
		if name != "" {
			out[name] = s(value)
		}
		return out
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		loc  string
		tags map[string]*string
		code string
	}{
		{"mars", "mars", nil, "LocationNotAvailableForResourceGroup"},
		{"display name", "West Europe", nil, ""},
		{"50 tags", "westeurope", tags(50, "", ""), ""},
		{"51 tags", "westeurope", tags(51, "", ""), "InvalidTags"},
		{"lt in name", "westeurope", tags(0, "a<b", "v"), "InvalidTagNameCharacters"},
		{"slash in name", "westeurope", tags(0, "k8s.io/role", "v"), "InvalidTagNameCharacters"},
		{"percent in name", "westeurope", tags(0, "100%", "v"), "InvalidTagNameCharacters"},
		{"512-char name", "westeurope", tags(0, long(512), "v"), ""},
		{"513-char name", "westeurope", tags(0, long(513), "v"), "InvalidTagName"},
		{"256-char value", "westeurope", tags(0, "k", long(256)), ""},
		{"257-char value", "westeurope", tags(0, "k", long(257)), "InvalidTagValueLength"},
		{"300-char value", "westeurope", tags(0, "k", long(300)), "InvalidTagValueLength"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.rg.CreateOrUpdate(ctx, "g"+strconv.Itoa(i), armresources.ResourceGroup{Location: s(tt.loc), Tags: tt.tags}, nil)
			if c, _ := code(err); c != tt.code {
				t.Errorf("group: %v; want %q", err, tt.code)
			}
			// the same rules hold for a provider's resources
			v := vnetBody()
			v.Location, v.Tags = s(tt.loc), tt.tags
			_, err = e.vnet.BeginCreateOrUpdate(ctx, "rg", "v"+strconv.Itoa(i), v, nil)
			want := tt.code
			if want == "LocationNotAvailableForResourceGroup" {
				want = "LocationNotAvailableForResourceType"
			}
			if c, _ := code(err); c != want {
				t.Errorf("vnet: %v; want %q", err, want)
			}
		})
	}
	cb := clusterBody(network(t, e, "rg"), "1.33")
	cb.Location = s("mars")
	_, err = e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", cb, nil)
	if c, _ := code(err); c != "LocationNotAvailableForResourceType" || !strings.Contains(err.Error(), "'Microsoft.ContainerService/managedClusters'") {
		t.Errorf("cluster in mars: %v", err)
	}
}

// The node resource group holds what AKS makes there, read-only, in step
// with the pools, gone with the cluster.
func TestNodeResourceGroup(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	cl := mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	mustWait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "spot", userPool(subnet), nil)))
	nrg := *cl.Properties.NodeResourceGroup
	if nrg != "MC_rg_aks_westeurope" {
		t.Fatalf("node resource group %q", nrg)
	}
	o := clientOptions(e.url)
	vmssClient, err := armcompute.NewVirtualMachineScaleSetsClient(sub, e.cred, o)
	if err != nil {
		t.Fatal(err)
	}
	scaleSets := func(rg string) map[string]*armcompute.VirtualMachineScaleSet {
		out := map[string]*armcompute.VirtualMachineScaleSet{}
		for pg := vmssClient.NewListPager(rg, nil); pg.More(); {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range page.Value {
				out[*v.Tags["aks-managed-poolName"]] = v
			}
		}
		return out
	}
	vmss := scaleSets(nrg)
	sys, spot := vmss["system"], vmss["spot"]
	if len(vmss) != 2 || sys == nil || spot == nil {
		t.Fatalf("scale sets %v", vmss)
	}
	if *sys.SKU.Name != "Standard_D4s_v5" || *sys.SKU.Capacity != 2 || *sys.Name != azure.VMSSName(*cl.ID, "system") {
		t.Errorf("system scale set %s sku %s × %d", *sys.Name, *sys.SKU.Name, *sys.SKU.Capacity)
	}
	if *spot.SKU.Name != "Standard_D8s_v5" || *spot.SKU.Capacity != 1 || *spot.Properties.VirtualMachineProfile.Priority != armcompute.VirtualMachinePriorityTypesSpot {
		t.Errorf("spot scale set sku %s × %d", *spot.SKU.Name, *spot.SKU.Capacity)
	}
	if got := *sys.Properties.VirtualMachineProfile.NetworkProfile.NetworkInterfaceConfigurations[0].Properties.IPConfigurations[0].Properties.Subnet.ID; got != subnet {
		t.Errorf("scale set subnet %s", got)
	}
	// the outbound IP, the kubernetes load balancer using it, the NSG
	lbs, err := armnetwork.NewLoadBalancersClient(sub, e.cred, o)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := lbs.Get(ctx, nrg, "kubernetes", nil)
	if err != nil {
		t.Fatal(err)
	}
	pipID := *lb.Properties.FrontendIPConfigurations[0].Properties.PublicIPAddress.ID
	lbp := cl.Properties.NetworkProfile.LoadBalancerProfile
	if lbp == nil || len(lbp.EffectiveOutboundIPs) != 1 || *lbp.EffectiveOutboundIPs[0].ID != pipID {
		t.Errorf("cluster effectiveOutboundIPs %+v, load balancer frontend %s", lbp, pipID)
	}
	pip, err := e.pip.Get(ctx, nrg, strings.Split(pipID, "/")[8], nil)
	if err != nil || !strings.HasPrefix(*pip.Properties.IPAddress, "20.") || *pip.Tags["aks-managed-type"] != "aks-slb-managed-outbound-ip" {
		t.Errorf("outbound IP %+v, %v", pip, err)
	}
	nsgs, err := armnetwork.NewSecurityGroupsClient(sub, e.cred, o)
	if err != nil {
		t.Fatal(err)
	}
	np, err := nsgs.NewListPager(nrg, nil).NextPage(ctx)
	if err != nil || len(np.Value) != 1 || len(np.Value[0].Properties.DefaultSecurityRules) != 6 {
		t.Errorf("NSGs %+v, %v", np.Value, err)
	}
	// subscription-wide, as az vmss list and az network lb list read them
	all, err := vmssClient.NewListAllPager(nil).NextPage(ctx)
	if err != nil || len(all.Value) != 2 {
		t.Errorf("ListAll scale sets = %d, %v", len(all.Value), err)
	}

	// scaling a pool scales its scale set
	pool, err := e.ap.Get(ctx, "rg", "aks", "system", nil)
	if err != nil {
		t.Fatal(err)
	}
	pool.Properties.Count = i32(4)
	mustWait(t, e, mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "system", pool.AgentPool, nil)))
	if got := *scaleSets(nrg)["system"].SKU.Capacity; got != 4 {
		t.Errorf("capacity after scaling to 4 = %d", got)
	}

	// what AKS made is read-only, and so is the group; other resources may
	// go there (the driver's static public IPs)
	deny := []struct {
		name         string
		method, path string
	}{
		{"scale set", http.MethodPut, "/subscriptions/" + sub + "/resourceGroups/" + nrg + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + *sys.Name + "?api-version=2025-04-01"},
		{"load balancer", http.MethodDelete, "/subscriptions/" + sub + "/resourceGroups/" + nrg + "/providers/Microsoft.Network/loadBalancers/kubernetes?api-version=2025-05-01"},
		{"outbound ip", http.MethodDelete, pipID + "?api-version=2025-05-01"},
		{"group", http.MethodDelete, "/subscriptions/" + sub + "/resourceGroups/" + nrg + "?api-version=2021-04-01"},
	}
	for _, tt := range deny {
		status, code, body := call(t, e, tt.method, tt.path, `{"location":"westeurope"}`)
		if status != 403 || code != "DenyAssignmentAuthorizationFailed" || !strings.Contains(body, "deny assignment") {
			t.Errorf("%s: %d %s %s", tt.name, status, code, body)
		}
	}
	mustWait(t, e, mkPoller(e.pip.BeginCreateOrUpdate(ctx, nrg, "pip-web", armnetwork.PublicIPAddress{Location: s("westeurope")}, nil)))
	list, err := e.pip.NewListPager(nrg, nil).NextPage(ctx)
	if err != nil || len(list.Value) != 2 {
		t.Errorf("public IPs in %s: %d, %v", nrg, len(list.Value), err)
	}
	mustWait(t, e, mkPoller(e.pip.BeginDelete(ctx, nrg, "pip-web", nil)))

	// deleting a pool removes its scale set; deleting the cluster the group
	mustWait(t, e, mkPoller(e.ap.BeginDelete(ctx, "rg", "aks", "spot", nil)))
	if vmss := scaleSets(nrg); len(vmss) != 1 {
		t.Errorf("scale sets after deleting the spot pool: %v", vmss)
	}
	mustWait(t, e, mkPoller(e.mc.BeginDelete(ctx, "rg", "aks", nil)))
	_, err = vmssClient.Get(ctx, nrg, *sys.Name, nil)
	if c, st := code(err); st != 404 || c != "ResourceGroupNotFound" {
		t.Errorf("scale set after the cluster is gone: %v", err)
	}
}

// With the lockdown (restrictionLevel ReadOnly) nothing may be written in
// the node resource group.
func TestNodeResourceGroupLockdown(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	cb := clusterBody(network(t, e, "rg"), "1.33")
	cb.Properties.NodeResourceGroup = s("aks-nodes")
	cb.Properties.NodeResourceGroupProfile = &armcontainerservice.ManagedClusterNodeResourceGroupProfile{RestrictionLevel: ptr(armcontainerservice.RestrictionLevelReadOnly)}
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", cb, nil)))
	_, err := e.pip.BeginCreateOrUpdate(ctx, "aks-nodes", "pip-web", armnetwork.PublicIPAddress{Location: s("westeurope")}, nil)
	if c, st := code(err); c != "DenyAssignmentAuthorizationFailed" || st != 403 {
		t.Errorf("public IP in a locked-down node resource group: %v", err)
	}
}

// The endpoint answers https (signed by the sandbox's CA) and plain http
// on one port; the CA survives a restart.
func TestTLSAndCA(t *testing.T) {
	dir := t.TempDir()
	e := start(t, sandbox.Options{Dir: dir})
	_, client := tokenSource(t, e.url)
	secure := strings.Replace(e.url, "http://", "https://", 1)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, secure+"/subscriptions?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+bearer(t, e.cred))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
	}
	if _, err := http.Get(secure + azure.CAPath); err == nil {
		t.Error("https with the system roots trusted the sandbox")
	}
	ca := func(base string) string {
		r, err := http.Get(base + azure.CAPath)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return string(b)
	}
	before := ca(e.url)
	if !strings.HasPrefix(before, "-----BEGIN CERTIFICATE-----") {
		t.Fatalf("CA %q", before)
	}
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	sb2, err := sandbox.Start(ctx, sandbox.Options{Dir: dir, NoKubernetes: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb2.Close()
	if after := ca(sb2.Endpoints()["azure"]); after != before {
		t.Error("the CA changed across a restart")
	}
}

// The token endpoint refuses what Entra ID refuses.
func TestTokenEndpoint(t *testing.T) {
	e := start(t, sandbox.Options{})
	_, client := tokenSource(t, e.url)
	secure := strings.Replace(e.url, "http://", "https://", 1)
	r, err := http.Get(e.url + azure.CredentialsPath)
	if err != nil {
		t.Fatal(err)
	}
	var p struct{ ClientID, ClientSecret string }
	_ = json.NewDecoder(r.Body).Decode(&p)
	r.Body.Close()
	post := func(path string, form url.Values) (int, map[string]any) {
		resp, err := client.PostForm(secure+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	form := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"client_credentials"}, "client_id": {p.ClientID}, "client_secret": {p.ClientSecret}, "scope": {"https://management.azure.com/.default"}}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	v2 := "/" + azure.TenantID + "/oauth2/v2.0/token"
	tests := []struct {
		name, path string
		form       url.Values
		status     int
		errCode    string
	}{
		{"ok", v2, form(), 200, ""},
		{"classic resource", v2, form("scope", "https://management.core.windows.net//.default"), 200, ""},
		{"v1 resource", "/" + azure.TenantID + "/oauth2/token", form("scope", "", "resource", "https://management.core.windows.net/"), 200, ""},
		{"adfs", "/adfs/oauth2/token", form("scope", "", "resource", "https://management.core.windows.net/"), 200, ""},
		{"wrong secret", v2, form("client_secret", "nope"), 401, "invalid_client"},
		{"unknown app", v2, form("client_id", "44444444-4444-4444-4444-444444444444"), 400, "unauthorized_client"},
		{"unknown tenant", "/55555555-5555-5555-5555-555555555555/oauth2/v2.0/token", form(), 400, "invalid_request"},
		{"password grant", v2, form("grant_type", "password"), 400, "unsupported_grant_type"},
		{"graph", v2, form("scope", "https://graph.microsoft.com/.default"), 400, "invalid_resource"},
	}
	if st, c, _ := callWith(t, e, "not-a-jwt"); st != 401 || c != "InvalidAuthenticationToken" {
		t.Errorf("Bearer not-a-jwt: %d %s", st, c)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := post(tt.path, tt.form)
			if status != tt.status || (tt.errCode != "" && out["error"] != tt.errCode) {
				t.Fatalf("%d %v", status, out)
			}
			if tt.errCode != "" {
				return
			}
			tok, _ := out["access_token"].(string)
			st, c, body := callWith(t, e, tok)
			if st != 200 {
				t.Errorf("ARM with the token: %d %s %s", st, c, body)
			}
		})
	}
}

// callWith lists resource groups with a given bearer token.
func callWith(t *testing.T, e *env, tok string) (int, string, string) {
	t.Helper()
	return callAs(t, e, tok, http.MethodGet, "/subscriptions/"+sub+"/resourcegroups?api-version=2021-04-01", "")
}

// Injected faults are the cloud's; the sandbox's own documents (the
// credentials and CA it hands clients) never fault, while Entra ID's token
// endpoint does, as Entra ID throttles too.
func TestFaultsSpareSandboxDocuments(t *testing.T) {
	e := start(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "*", Kind: sandbox.FaultThrottle, Rate: 1}}})
	for _, p := range []string{azure.CredentialsPath, azure.CAPath} {
		r, err := http.Get(e.url + p)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 200 {
			t.Errorf("GET %s under a throttle on everything: %s", p, r.Status)
		}
	}
	if _, err := e.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}}); err == nil {
		t.Error("a token under a throttle on everything")
	}
}

// An agent pool as az aks nodepool add sends it (2022-11-01): the Spot
// defaults on a Regular pool, osDiskSizeGB 0, empty upgradeSettings. AKS
// takes them as "the defaults"; other Spot settings on a Regular pool stay
// refused.
func TestPoolBodyAsAzSendsIt(t *testing.T) {
	e := start(t, sandbox.Options{})
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	mustWait(t, e, mkPoller(e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", clusterBody(subnet, "1.33"), nil)))
	body := `{"properties": {"count": 2, "vmSize": "Standard_D2s_v5", "osDiskSizeGB": 0, "osType": "Linux", "enableAutoScaling": false,
		"scaleDownMode": "Delete", "type": "VirtualMachineScaleSets", "mode": "User", "upgradeSettings": {}, "enableNodePublicIP": false,
		"scaleSetPriority": "Regular", "scaleSetEvictionPolicy": "Delete", "spotMaxPrice": -1.0, "nodeTaints": [], "vnetSubnetID": "` + subnet + `"}}`
	path := "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks/agentPools/%s?api-version=2022-11-01"
	if status, code, out := call(t, e, http.MethodPut, strings.Replace(path, "%s", "extra", 1), body); status != 201 {
		t.Fatalf("az's pool body: %d %s %s", status, code, out)
	}
	pool, err := e.ap.Get(ctx, "rg", "aks", "extra", nil)
	if err != nil {
		t.Fatal(err)
	}
	if p := pool.Properties; *p.OSDiskSizeGB != 128 || *p.UpgradeSettings.MaxSurge != "10%" || p.ScaleSetEvictionPolicy != nil || p.SpotMaxPrice != nil {
		t.Errorf("defaults: disk %d, surge %s, eviction %v, max price %v", *p.OSDiskSizeGB, *p.UpgradeSettings.MaxSurge, p.ScaleSetEvictionPolicy, p.SpotMaxPrice)
	}
	e.clk.Advance(time.Minute) // the first pool's operation ends
	bad := strings.Replace(body, `"scaleSetEvictionPolicy": "Delete"`, `"scaleSetEvictionPolicy": "Deallocate"`, 1)
	if status, code, _ := call(t, e, http.MethodPut, strings.Replace(path, "%s", "other", 1), bad); status != 400 || code != "InvalidParameter" {
		t.Errorf("Deallocate on a Regular pool: %d %s", status, code)
	}
}

// BenchmarkARMGet measures one authenticated ARM read end to end (the Go
// SDK's GET of a resource group over loopback http, token cached), to set
// BenchmarkVerifyBearer's cost against.
func BenchmarkARMGet(b *testing.B) {
	e := start(b, sandbox.Options{})
	group(b, e, "rg")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.rg.Get(ctx, "rg", nil); err != nil {
			b.Fatal(err)
		}
	}
}

// The versions AKS offers: ListKubernetesVersions (Go SDK) and the
// orchestrators list az aks get-versions reads (2019-04-01).
func TestAKSVersionLists(t *testing.T) {
	e := start(t, sandbox.Options{})
	kv, err := e.mc.ListKubernetesVersions(ctx, "westeurope", nil)
	if err != nil {
		t.Fatal(err)
	}
	var minors []string
	for _, v := range kv.Values {
		minors = append(minors, *v.Version)
		if *v.Version == "1.33" && (!*v.IsDefault || len(v.PatchVersions["1.33.5"].Upgrades) != 1) {
			t.Errorf("1.33: %+v", v)
		}
	}
	if !slices.Equal(minors, []string{"1.31", "1.32", "1.33", "1.34"}) {
		t.Errorf("minors %v", minors)
	}
	status, code, body := call(t, e, http.MethodGet, "/subscriptions/"+sub+"/providers/Microsoft.ContainerService/locations/westeurope/orchestrators?api-version=2019-04-01&resource-type=managedClusters", "")
	var orch struct {
		Properties struct {
			Orchestrators []struct {
				OrchestratorVersion string
				Default             bool
				Upgrades            []struct{ OrchestratorVersion string }
			}
		}
	}
	if err := json.Unmarshal([]byte(body), &orch); err != nil || status != 200 || len(orch.Properties.Orchestrators) != len(azure.AKSVersions) {
		t.Fatalf("orchestrators: %d %s %s", status, code, body)
	}
	if o := orch.Properties.Orchestrators[2]; o.OrchestratorVersion != "1.33.5" || !o.Default || len(o.Upgrades) != 1 || o.Upgrades[0].OrchestratorVersion != "1.34.1" {
		t.Errorf("1.33.5: %+v", o)
	}
	if status, code, _ := call(t, e, http.MethodGet, "/subscriptions/"+sub+"/providers/Microsoft.ContainerService/locations/mars/kubernetesVersions?api-version=2025-02-01", ""); status != 400 || code != "NoRegisteredProviderFound" {
		t.Errorf("mars: %d %s", status, code)
	}
}
