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
}

const (
	nsResources = "Microsoft.Resources"
	nsAKS       = "Microsoft.ContainerService"
	nsNetwork   = "Microsoft.Network"
)

// apiVersions are the api-version values the SDK modules in go.mod send
// (read from their generated clients): armresources v1.2.0,
// armcontainerservice/v6 v6.6.0, armnetwork/v9 v9.0.0.
var apiVersions = map[string][]string{
	nsResources: {"2021-04-01"},
	nsAKS:       {"2025-02-01"},
	nsNetwork:   {"2025-05-01"},
}

var namespaces = map[string]string{
	"microsoft.resources": nsResources, "microsoft.containerservice": nsAKS, "microsoft.network": nsNetwork,
}

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
	is := func(i int, lit string) bool { return i < len(segs) && strings.EqualFold(segs[i], lit) }
	if len(segs) < 3 || !is(0, "subscriptions") {
		return route{}
	}
	rt := route{sub: segs[1]}
	rest := segs[2:]
	n := len(rest)
	set := func(typ, ns, op string) route {
		rt.typ, rt.ns = typ, ns
		if op != "" {
			rt.op = typ + "." + op
		}
		return rt
	}
	one := func(typ, ns string) route { // a single resource: PUT, GET, DELETE
		v := verb(method)
		if v == "checkExistence" {
			v = ""
		}
		return set(typ, ns, v)
	}
	list := func(typ, ns string) route {
		if method != http.MethodGet {
			return set(typ, ns, "")
		}
		return set(typ, ns, "list")
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
	case nsNetwork:
		typ := ""
		for _, t := range []string{"virtualNetworks", "publicIPAddresses", "natGateways"} {
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

// checkAPIVersion answers a missing or unsupported api-version the way ARM
// does.
func checkAPIVersion(rt route, v string) *armErr {
	if v == "" {
		return errf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	}
	for _, ok := range apiVersions[rt.ns] {
		if v == ok {
			return nil
		}
	}
	supported := strings.Join(apiVersions[rt.ns], ", ")
	if rt.ns == nsResources {
		return errf(http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'.", v, supported)
	}
	return errf(http.StatusBadRequest, "NoRegisteredProviderFound", "No registered resource provider found for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'.", rt.loc, v, rt.typ, supported)
}
