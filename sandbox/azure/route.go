package azure

import (
	"net/http"
	"strings"
)

// route is a parsed ARM request path. Path segments are matched
// case-insensitively, as ARM does; names keep the caller's spelling.
type route struct {
	op     string // "managedClusters.createOrUpdate"; "" when unknown
	typ    string // "managedClusters", "asyncOperations", …
	ns     string // canonical provider namespace ("Microsoft.Network")
	sub    string
	group  string // resource group name
	name   string // top-level resource name
	child  string // child resource name (agent pool, subnet)
	opID   string // asynchronous operation id
	loc    string // location of an operation URL
	action string // "upgradeProfile", "listClusterUserCredential", …
	// scope is the scope of a Microsoft.Authorization path (the ARM ID
	// the role assignment or definition extends).
	scope string
	// all is set on a subscription-wide list
	// (/subscriptions/S/providers/NS/TYPE).
	all bool
}

const (
	nsResources = "Microsoft.Resources"
	nsAKS       = "Microsoft.ContainerService"
	nsNetwork   = "Microsoft.Network"
	nsCompute   = "Microsoft.Compute"
)

var namespaces = map[string]string{
	"microsoft.resources": nsResources, "microsoft.containerservice": nsAKS, "microsoft.network": nsNetwork,
	"microsoft.compute": nsCompute,
}

// networkTypes are the Microsoft.Network resource types served in a
// resource group; listAllTypes those served subscription-wide
// (/subscriptions/S/providers/NS/TYPE), per namespace.
var (
	networkTypes = []string{"virtualNetworks", "publicIPAddresses", "natGateways", "loadBalancers", "networkSecurityGroups", "routeTables"}
	listAllTypes = map[string][]string{
		nsAKS:     {"managedClusters"},
		nsNetwork: networkTypes,
		nsCompute: {"virtualMachineScaleSets"},
	}
)

// verb names what a method does to a single resource.
func verb(method string) string {
	switch method {
	case http.MethodPut:
		return "createOrUpdate"
	case http.MethodGet:
		return "get"
	case http.MethodDelete:
		return "delete"
	case http.MethodHead:
		return "checkExistence"
	}
	return ""
}

func parseRoute(method, path string) route {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, s := range segs {
		if s == "" {
			return route{}
		}
	}
	if rt, ok := parseAuthorization(method, segs); ok {
		return rt
	}
	is := func(i int, lit string) bool { return i < len(segs) && strings.EqualFold(segs[i], lit) }
	var rt route
	set := func(typ, ns, op string) route {
		rt.typ, rt.ns = typ, ns
		if op != "" {
			rt.op = typ + "." + op
		}
		return rt
	}
	get := func(typ, ns, op string) route { // a read-only path
		if method != http.MethodGet {
			op = ""
		}
		return set(typ, ns, op)
	}
	switch {
	case len(segs) == 1 && is(0, "tenants"):
		return get("tenants", nsResources, "list")
	case !is(0, "subscriptions"):
		return route{}
	case len(segs) == 1:
		return get("subscriptions", nsResources, "list")
	}
	rt.sub = segs[1]
	if len(segs) == 2 {
		return get("subscriptions", nsResources, "get")
	}
	rest := segs[2:]
	n := len(rest)
	one := func(typ, ns string) route { // a single resource: PUT, GET, DELETE
		v := verb(method)
		if v == "checkExistence" {
			v = ""
		}
		return set(typ, ns, v)
	}
	list := func(typ, ns string) route { return get(typ, ns, "list") }
	if n == 1 && strings.EqualFold(rest[0], "locations") {
		return get("locations", nsResources, "list")
	}
	if n == 5 && strings.EqualFold(rest[0], "providers") && strings.EqualFold(rest[2], "locations") && strings.EqualFold(rest[1], nsAKS) {
		rt.loc = rest[3]
		switch {
		case strings.EqualFold(rest[4], "kubernetesVersions"):
			return get("kubernetesVersions", nsAKS, "list")
		case strings.EqualFold(rest[4], "orchestrators"):
			return get("orchestrators", nsAKS, "list")
		}
		return route{}
	}
	if n == 3 && strings.EqualFold(rest[0], "providers") {
		ns, ok := namespaces[strings.ToLower(rest[1])]
		if !ok {
			return route{}
		}
		for _, t := range listAllTypes[ns] {
			if strings.EqualFold(rest[2], t) {
				rt.all = true
				return get(t, ns, "listAll")
			}
		}
		return route{}
	}
	switch {
	case strings.EqualFold(rest[0], "operationresults") && n == 2 && method == http.MethodGet:
		rt.opID = rest[1]
		return set("operationResults", nsResources, "get")
	case strings.EqualFold(rest[0], "providers") && n == 6 && strings.EqualFold(rest[2], "locations"):
		ns, ok := namespaces[strings.ToLower(rest[1])]
		if !ok || method != http.MethodGet {
			return route{}
		}
		rt.loc, rt.opID = rest[3], rest[5]
		switch strings.ToLower(rest[4]) {
		case "operations", "operationstatuses":
			return set("asyncOperations", ns, "get")
		case "operationresults":
			return set("operationResults", ns, "get")
		}
		return route{}
	case !strings.EqualFold(rest[0], "resourcegroups"):
		return route{}
	case n == 1:
		return list("resourceGroups", nsResources)
	}
	rt.group = rest[1]
	if n == 2 {
		return set("resourceGroups", nsResources, verb(method))
	}
	if n < 5 || !strings.EqualFold(rest[2], "providers") {
		return route{}
	}
	ns, ok := namespaces[strings.ToLower(rest[3])]
	if !ok {
		return route{}
	}
	p := rest[4:]
	pis := func(i int, lit string) bool { return i < len(p) && strings.EqualFold(p[i], lit) }
	if len(p) >= 2 {
		rt.name = p[1]
	}
	if len(p) >= 4 {
		rt.child = p[3]
	}
	switch ns {
	case nsAKS:
		if !pis(0, "managedClusters") {
			return route{}
		}
		switch {
		case len(p) == 1:
			return list("managedClusters", ns)
		case len(p) == 2:
			return one("managedClusters", ns)
		case len(p) == 4 && pis(2, "upgradeProfiles") && pis(3, "default") && method == http.MethodGet:
			rt.child, rt.action = "", "upgradeProfile"
			return set("managedClusters", ns, "getUpgradeProfile")
		case len(p) == 3 && (pis(2, "listClusterUserCredential") || pis(2, "listClusterAdminCredential")) && method == http.MethodPost:
			rt.action = "credentials"
			if pis(2, "listClusterAdminCredential") {
				return set("managedClusters", ns, "listClusterAdminCredentials")
			}
			return set("managedClusters", ns, "listClusterUserCredentials")
		case len(p) == 3 && pis(2, "agentPools"):
			return list("agentPools", ns)
		case len(p) == 4 && pis(2, "agentPools"):
			return one("agentPools", ns)
		}
	case nsCompute:
		switch {
		case !pis(0, "virtualMachineScaleSets"):
		case len(p) == 1:
			return list("virtualMachineScaleSets", ns)
		case len(p) == 2:
			return one("virtualMachineScaleSets", ns)
		}
	case nsNetwork:
		typ := ""
		for _, t := range networkTypes {
			if pis(0, t) {
				typ = t
			}
		}
		switch {
		case typ == "":
		case len(p) == 1:
			return list(typ, ns)
		case len(p) == 2:
			return one(typ, ns)
		case typ == "virtualNetworks" && len(p) == 3 && pis(2, "subnets"):
			return list("subnets", ns)
		case typ == "virtualNetworks" && len(p) == 4 && pis(2, "subnets"):
			return one("subnets", ns)
		}
	}
	return route{}
}
