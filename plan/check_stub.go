package plan

import (
	"slices"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// checkRegion checks a region against a driver's capabilities.
//
// STUB: providers.CheckRegion (providers/check.go) is being written by
// another helper; until it lands this local stand-in checks only the
// location, Kubernetes minor, storage tiers and load balancer schemes.
// Replace every call with providers.CheckRegion and delete this file.
func checkRegion(r *spec.Region, caps providers.Capabilities) diag.Diagnostics {
	var ds diag.Diagnostics
	if _, ok := caps.Locations[r.Spec.Location]; !ok && len(caps.Locations) > 0 {
		ds = ds.Errorf(r.Pos("spec.location"), "spec.location", "driver %s does not know location %q", caps.Name, r.Spec.Location)
	}
	if v := r.Spec.Cluster.KubernetesVersion; len(caps.KubernetesVersions) > 0 && !slices.Contains(caps.KubernetesVersions, v) {
		ds = ds.Errorf(r.Pos("spec.cluster.kubernetesVersion"), "spec.cluster.kubernetesVersion", "driver %s does not offer Kubernetes %q (offers %v)", caps.Name, v, caps.KubernetesVersions)
	}
	for i, sc := range r.Spec.StorageClasses {
		if !slices.Contains(caps.StorageTiers, sc.Tier) {
			ds = ds.Errorf(r.Pos(pathf("spec.storageClasses[%d].tier", i)), pathf("spec.storageClasses[%d].tier", i), "driver %s has no storage tier %q", caps.Name, sc.Tier)
		}
	}
	for i, lb := range r.Spec.LoadBalancers {
		if !slices.Contains(caps.LoadBalancerSchemes, lb.Scheme) {
			ds = ds.Errorf(r.Pos(pathf("spec.loadBalancers[%d].scheme", i)), pathf("spec.loadBalancers[%d].scheme", i), "driver %s has no load balancer scheme %q", caps.Name, lb.Scheme)
		}
	}
	return ds
}
