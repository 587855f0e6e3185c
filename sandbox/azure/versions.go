package azure

import (
	"net/http"
	"slices"
	"strings"
)

// apiVersions are the api-version values ARM accepts, per provider
// namespace (Microsoft.Resources' subscription and tenant calls have their
// own), newest first. They are the ones the clients people use send, read
// from their sources:
//
//   - Go SDK modules in go.mod: armresources v1.2.0 (2021-04-01),
//     armcontainerservice/v6 v6.6.0 (2025-02-01), armnetwork/v9 v9.0.0
//     (2025-05-01); and the newest of the modules the proxy serves for the
//     other types: armresources/v4 v4.0.0 (2025-04-01), armsubscriptions
//     v1.3.0 (2022-12-01), armcompute/v7 v7.3.0 (2025-04-01).
//   - az CLI 2.45 (Debian's azure-cli): its "latest" API profile
//     (azure/cli/core/profiles/_shared.py) sends containerservice
//     2022-11-01 (2019-04-01 for az aks get-versions' orchestrators list),
//     resources 2021-04-01, subscriptions 2019-11-01 (az login,
//     az account), compute 2022-11-01 (az vmss); its generated network
//     commands (command_modules/network/aaz) send 2022-01-01 (vnet, subnet,
//     nsg, most public-ip calls), 2022-05-01 (lb, public-ip list/show/
//     create/delete) and 2021-08-01 (route-table); NAT gateways go through
//     the SDK profile's 2022-01-01.
//
// Replies are built from the newest SDK models (go.mod) and reshaped for
// older versions where their specs differ (shapes.go).
var apiVersions = map[string][]string{
	nsResources:     {"2025-04-01", "2021-04-01"},
	nsSubscriptions: {"2022-12-01", "2019-11-01"},
	nsAKS:           {"2025-02-01", "2022-11-01"},
	nsNetwork:       {"2025-05-01", "2022-05-01", "2022-01-01", "2021-08-01"},
	nsCompute:       {"2025-04-01", "2022-11-01"},
	nsOrchestrators: {"2019-04-01"},
	// kubernetesVersions is newer than 2022-11-01 (its spec has no such
	// operation): ARM refuses that version for it.
	nsKubernetesVersions: {"2025-02-01"},
	// armauthorization/v2 v2.2.0 sends 2022-04-01; az 2.45's profile
	// 2020-04-01-preview for role assignments and 2018-01-01-preview for
	// role definitions.
	nsAuthorization:   {"2022-04-01", "2020-04-01-preview"},
	nsRoleDefinitions: {"2022-04-01", "2018-01-01-preview"},
}

// nsKubernetesVersions is the version family of the kubernetesVersions
// list.
const nsKubernetesVersions = "Microsoft.ContainerService/locations/kubernetesVersions"

// nsSubscriptions is the version family of /subscriptions, /tenants and
// /subscriptions/{id}/locations (Microsoft.Resources' subscription API).
const nsSubscriptions = "Microsoft.Resources/subscriptions"

// newestVersion is what the emulator's own URLs (operation polls,
// nextLink) carry.
func newestVersion(ns string) string { return apiVersions[ns][0] }

// versionFamily is the apiVersions key a route's api-version is checked
// against.
func versionFamily(rt route) string {
	switch rt.typ {
	case "subscriptions", "tenants", "locations":
		return nsSubscriptions
	case "orchestrators":
		return nsOrchestrators
	case "kubernetesVersions":
		return nsKubernetesVersions
	case "roleDefinitions":
		return nsRoleDefinitions
	}
	return rt.ns
}

// checkAPIVersion answers a missing or unsupported api-version the way ARM
// does: InvalidApiVersionParameter for Microsoft.Resources' own types,
// NoRegisteredProviderFound (listing the supported versions and locations)
// for a resource provider's.
func checkAPIVersion(rt route, v string) *armErr {
	if v == "" {
		return errf(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
	}
	fam := versionFamily(rt)
	if slices.Contains(apiVersions[fam], v) {
		return nil
	}
	if rt.ns == nsResources {
		return errf(http.StatusBadRequest, "InvalidApiVersionParameter", "The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(apiVersions[fam], ","))
	}
	return errf(http.StatusBadRequest, "NoRegisteredProviderFound", "No registered resource provider found for location '%s' and API version '%s' for type '%s'. The supported api-versions are '%s'. The supported locations are '%s'.",
		normLocation(rt.loc), v, rt.typ, strings.Join(apiVersions[fam], ", "), strings.Join(locationNames(), ", "))
}
