package azure

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armsubscriptions"
)

// The sandbox's tenant and its subscriptions, what `az login` and
// `az account` read, and ARM's subscription-wide lists
// (/subscriptions/S/providers/NS/TYPE), what `az aks list` and
// `az network vnet list` without a resource group read.

// Display names of the sandbox's tenant and subscriptions.
const (
	tenantName       = "regionctl sandbox"
	tenantDomain     = "regionctlsandbox.onmicrosoft.com"
	subscriptionName = "regionctl sandbox"
)

// subscriptionsHeld lists DefaultSubscription and every subscription that
// holds a resource group, sorted.
func (e *Emulator) subscriptionsHeld() []string {
	seen := map[string]string{key(DefaultSubscription): DefaultSubscription}
	for _, g := range e.st.Groups {
		parts := strings.Split(deref(g.V.ID), "/")
		if len(parts) > 2 {
			seen[key(parts[2])] = parts[2]
		}
	}
	out := make([]string, 0, len(seen))
	for _, s := range seen {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}

func subscription(id string) *armsubscriptions.Subscription {
	name := subscriptionName
	if !strings.EqualFold(id, DefaultSubscription) {
		name += " " + id[:8]
	}
	return &armsubscriptions.Subscription{
		ID: ptr("/subscriptions/" + id), SubscriptionID: ptr(id), DisplayName: ptr(name), TenantID: ptr(TenantID),
		State: ptr(armsubscriptions.SubscriptionStateEnabled), AuthorizationSource: ptr("RoleBased"),
		ManagedByTenants: []*armsubscriptions.ManagedByTenant{}, Tags: map[string]*string{},
		SubscriptionPolicies: &armsubscriptions.SubscriptionPolicies{LocationPlacementID: ptr("Public_2014-09-01"),
			QuotaID: ptr("PayAsYouGo_2014-09-01"), SpendingLimit: ptr(armsubscriptions.SpendingLimitOff)},
	}
}

// serveSubscriptions answers GET /subscriptions, /subscriptions/{id},
// /subscriptions/{id}/locations and /tenants.
func (e *Emulator) serveSubscriptions(w http.ResponseWriter, r *http.Request, rt route) *armErr {
	switch rt.op {
	case "subscriptions.list":
		var subs []*armsubscriptions.Subscription
		for _, s := range e.subscriptionsHeld() {
			subs = append(subs, subscription(s))
		}
		return writePage(w, r, subs, func(v []*armsubscriptions.Subscription, next *string) any {
			return armsubscriptions.SubscriptionListResult{Value: v, NextLink: next}
		})
	case "subscriptions.get":
		writeJSON(w, http.StatusOK, subscription(rt.sub))
		return nil
	case "tenants.list":
		t := &armsubscriptions.TenantIDDescription{ID: ptr("/tenants/" + TenantID), TenantID: ptr(TenantID),
			TenantCategory: ptr(armsubscriptions.TenantCategoryHome), DisplayName: ptr(tenantName), DefaultDomain: ptr(tenantDomain),
			Domains: []*string{ptr(tenantDomain)}, TenantType: ptr("AAD"), Country: ptr("United States"), CountryCode: ptr("US")}
		return writePage(w, r, []*armsubscriptions.TenantIDDescription{t}, func(v []*armsubscriptions.TenantIDDescription, next *string) any {
			return armsubscriptions.TenantListResult{Value: v, NextLink: next}
		})
	case "locations.list":
		out := armsubscriptions.LocationListResult{Value: []*armsubscriptions.Location{}}
		for _, n := range locationNames() {
			out.Value = append(out.Value, &armsubscriptions.Location{ID: ptr("/subscriptions/" + rt.sub + "/locations/" + n), Name: ptr(n),
				DisplayName: ptr(azureLocations[n]), RegionalDisplayName: ptr(azureLocations[n]), Type: ptr(armsubscriptions.LocationTypeRegion),
				Metadata: &armsubscriptions.LocationMetadata{RegionType: ptr(armsubscriptions.RegionTypePhysical), RegionCategory: ptr(armsubscriptions.RegionCategoryRecommended)}})
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
	return errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed on %s.", r.Method, r.URL.Path)
}

// inSub reports whether a resource id is in subscription sub.
func inSub(id, sub string) bool { return strings.HasPrefix(key(id), key("/subscriptions/"+sub+"/")) }

// allOf returns the records of m in subscription sub, by key.
func allOf[T any](m map[string]*T, sub string) []*T {
	return sortedWhere(m, func(k string, _ *T) bool { return inSub(k, sub) })
}

// serveListAll answers the subscription-wide lists.
func (e *Emulator) serveListAll(w http.ResponseWriter, r *http.Request, rt route) *armErr {
	s := e.st
	groups := e.nodeGroups(rt.sub, "")
	switch rt.typ {
	case "managedClusters":
		return writePage(w, r, viewsOf(allOf(s.Clusters, rt.sub), e.clusterView), clusterPage)
	case "virtualNetworks":
		return writePage(w, r, viewsOf(allOf(s.VNets, rt.sub), e.vnetView), vnetPage)
	case "publicIPAddresses":
		v := viewsOf(allOf(s.PIPs, rt.sub), e.pipView)
		for _, g := range groups {
			v = append(v, g.pips()...)
		}
		sortByID(v, func(p *armnetwork.PublicIPAddress) *string { return p.ID })
		return writePage(w, r, v, pipPage)
	case "natGateways":
		return writePage(w, r, viewsOf(allOf(s.NATs, rt.sub), e.natView), natPage)
	case "loadBalancers":
		var v []*armnetwork.LoadBalancer
		for _, g := range groups {
			v = append(v, g.lbs()...)
		}
		return writePage(w, r, v, lbPage)
	case "networkSecurityGroups":
		var v []*armnetwork.SecurityGroup
		for _, g := range groups {
			v = append(v, g.nsg)
		}
		return writePage(w, r, v, nsgPage)
	case "routeTables":
		var v []*armnetwork.RouteTable
		for _, g := range groups {
			v = append(v, g.routeTables()...)
		}
		return writePage(w, r, v, routeTablePage)
	case "virtualMachineScaleSets":
		var v []*armcompute.VirtualMachineScaleSet
		for _, g := range groups {
			v = append(v, g.vmss...)
		}
		return writePage(w, r, v, vmssPage)
	}
	return errf(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' could not be found.", rt.typ)
}

func sortByID[T any](v []*T, id func(*T) *string) {
	sort.SliceStable(v, func(i, j int) bool { return key(deref(id(v[i]))) < key(deref(id(v[j]))) })
}

// viewsOf maps records to the views ARM returns.
func viewsOf[R, V any](recs []*R, view func(*R) V) []*V {
	out := make([]*V, 0, len(recs))
	for _, r := range recs {
		out = append(out, ptr(view(r)))
	}
	return out
}

// The SDK's list result of each type, for writePage.

func clusterPage(v []*armcontainerservice.ManagedCluster, next *string) any {
	return armcontainerservice.ManagedClusterListResult{Value: v, NextLink: next}
}

func vnetPage(v []*armnetwork.VirtualNetwork, next *string) any {
	return armnetwork.VirtualNetworkListResult{Value: v, NextLink: next}
}

func natPage(v []*armnetwork.NatGateway, next *string) any {
	return armnetwork.NatGatewayListResult{Value: v, NextLink: next}
}

func pipPage(v []*armnetwork.PublicIPAddress, next *string) any {
	return armnetwork.PublicIPAddressListResult{Value: v, NextLink: next}
}

func lbPage(v []*armnetwork.LoadBalancer, next *string) any {
	return armnetwork.LoadBalancerListResult{Value: v, NextLink: next}
}

func nsgPage(v []*armnetwork.SecurityGroup, next *string) any {
	return armnetwork.SecurityGroupListResult{Value: v, NextLink: next}
}

func routeTablePage(v []*armnetwork.RouteTable, next *string) any {
	return armnetwork.RouteTableListResult{Value: v, NextLink: next}
}

func vmssPage(v []*armcompute.VirtualMachineScaleSet, next *string) any {
	return armcompute.VirtualMachineScaleSetListResult{Value: v, NextLink: next}
}

// pageSize is how many items one page of a list holds before ARM's
// nextLink points at the rest ($top asks for fewer). Tests lower it.
var pageSize atomic.Int32

func init() { pageSize.Store(100) }

// skipToken is the query parameter of a nextLink.
const skipToken = "$skiptoken"

// writePage writes the page of items a list request asks for ($skiptoken,
// $top), with a nextLink when more follow, wrapped in the SDK's list
// result type by wrap.
func writePage[T any](w http.ResponseWriter, r *http.Request, items []*T, wrap func([]*T, *string) any) *armErr {
	q := r.URL.Query()
	size := int(pageSize.Load())
	if t := q.Get("$top"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 {
			return badParam("The value '%s' of query parameter '$top' is not valid; use a positive integer.", t)
		}
		size = min(size, n)
	}
	start := 0
	for k, v := range q {
		if strings.EqualFold(k, skipToken) && len(v) > 0 {
			n, err := strconv.Atoi(v[0])
			if err != nil || n < 0 {
				return badParam("The value '%s' of query parameter '%s' is not valid.", v[0], skipToken)
			}
			start = n
		}
	}
	start = min(start, len(items))
	end := min(start+size, len(items))
	page := append([]*T{}, items[start:end]...)
	var next *string
	if end < len(items) {
		nq := url.Values{}
		for k, v := range q {
			if !strings.EqualFold(k, skipToken) {
				nq[k] = v
			}
		}
		nq.Set(skipToken, strconv.Itoa(end))
		next = ptr(baseURL(r) + r.URL.EscapedPath() + "?" + nq.Encode())
	}
	writeJSON(w, http.StatusOK, wrap(page, next))
	return nil
}
