package azure

import (
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
)

// The Kubernetes versions AKS offers in a location, by the two APIs
// clients use: kubernetesVersions (armcontainerservice/v6
// ManagedClustersClient.ListKubernetesVersions) and the older orchestrators
// list az 2.45's `az aks get-versions` calls (api-version 2019-04-01, which
// its 2017-07-01 container_services operation group sends for this call).

// nsOrchestrators is the version family of the orchestrators list.
const nsOrchestrators = "Microsoft.ContainerService/locations/orchestrators"

// upgradesFrom lists the versions a cluster at cur may move to: later
// patches of its minor and the next minor.
func upgradesFrom(cur string) []string {
	var out []string
	for _, v := range AKSVersions {
		if minor(v) == minor(cur)+1 || (minor(v) == minor(cur) && v > cur) {
			out = append(out, v)
		}
	}
	return out
}

// serveAKSVersions answers both lists for location rt.loc.
func (e *Emulator) serveAKSVersions(w http.ResponseWriter, rt route) *armErr {
	loc := normLocation(rt.loc)
	if _, ok := azureLocations[loc]; !ok {
		return errf(http.StatusBadRequest, "NoRegisteredProviderFound", "No registered resource provider found for location '%s' for type 'locations/%s'. The supported locations are '%s'.",
			loc, rt.typ, strings.Join(locationNames(), ", "))
	}
	def, _ := resolveVersion(DefaultAKSVersion)
	if rt.typ == "orchestrators" {
		var orch []any
		for _, v := range AKSVersions {
			var ups []any
			for _, u := range upgradesFrom(v) {
				ups = append(ups, map[string]any{"orchestratorType": "Kubernetes", "orchestratorVersion": u, "isPreview": false})
			}
			p := map[string]any{"orchestratorType": "Kubernetes", "orchestratorVersion": v, "isPreview": false}
			if len(ups) > 0 { // none: left out (the spec does not let it be null)
				p["upgrades"] = ups
			}
			if v == def {
				p["default"] = true
			}
			orch = append(orch, p)
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"id":   "/subscriptions/" + rt.sub + "/providers/Microsoft.ContainerService/locations/" + loc + "/orchestrators",
			"name": "default", "type": "Microsoft.ContainerService/locations/orchestrators",
			"properties": map[string]any{"orchestrators": orch},
		})
		return nil
	}
	out := armcontainerservice.KubernetesVersionListResult{Values: []*armcontainerservice.KubernetesVersion{}}
	for _, v := range AKSVersions {
		patches := map[string]*armcontainerservice.KubernetesPatchVersion{}
		ups := []*string{}
		for _, u := range upgradesFrom(v) {
			ups = append(ups, ptr(u))
		}
		patches[v] = &armcontainerservice.KubernetesPatchVersion{Upgrades: ups}
		out.Values = append(out.Values, &armcontainerservice.KubernetesVersion{
			Version: ptr(strings.Join(strings.Split(v, ".")[:2], ".")), IsDefault: ptr(v == def), IsPreview: ptr(false),
			Capabilities: &armcontainerservice.KubernetesVersionCapabilities{SupportPlan: []*armcontainerservice.KubernetesSupportPlan{
				ptr(armcontainerservice.KubernetesSupportPlanKubernetesOfficial), ptr(armcontainerservice.KubernetesSupportPlanAKSLongTermSupport)}},
			PatchVersions: patches,
		})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
