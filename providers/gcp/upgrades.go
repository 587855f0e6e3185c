package gcp

import (
	"context"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
)

// What the GCP driver does for smooth upgrades (docs/providers/gcp.md).
var (
	_ providers.UpdateChecker = (*Driver)(nil)
	_ providers.HealthChecker = (*Driver)(nil)
)

// upgradeRules are the node pool upgrade settings GKE takes: surge and
// unavailability both, 0 included (not both 0: the spec refuses that).
var upgradeRules = providers.PoolUpgradeRules{}

// poolLabel is the label GKE puts on a node pool's nodes.
const poolLabel = "cloud.google.com/gke-nodepool"

// CheckUpdate refuses, at plan time, a cluster or node pool version that
// is not one minor up.
func (d *Driver) CheckUpdate(ctx context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	switch req.Type {
	case TypeCluster, TypeNodePool:
		return providers.CheckVersionStep("GKE", req, "version")
	}
	return nil
}

// CheckHealth checks the region's GKE cluster for a rollout's health gate:
// API server, every node pool's nodes Ready at its version (at least its
// minimum per zone in each zone, and one), LoadBalancer Services'
// addresses kept.
func (d *Driver) CheckHealth(ctx context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	return d.kube.CheckRegion(ctx, req, kubernetes.RegionHealth{
		ClusterType: TypeCluster,
		Refs:        kubernetes.ClusterRefs{Endpoint: "server", CA: "ca_certificate", ID: "self_link"},
		PoolLabel:   poolLabel,
		Pool: func(r providers.Instance) (kubernetes.PoolHealth, bool) {
			zones, _ := r.Inputs["node_locations"].([]any)
			name, _ := r.Inputs["name"].(string)
			version, _ := r.Inputs["version"].(string)
			return kubernetes.PoolHealth{Name: name, Version: version, MinNodes: kubernetes.IntOf(r.Inputs["min_node_count"]) * len(zones)}, r.Type == TypeNodePool
		},
	})
}
