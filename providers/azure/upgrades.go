package azure

import (
	"context"
	"fmt"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
)

// What the Azure driver does for smooth upgrades (docs/providers/azure.md).
var (
	_ providers.UpdateChecker = (*Driver)(nil)
	_ providers.HealthChecker = (*Driver)(nil)
)

// agentPoolLabel is the label AKS puts on an agent pool's nodes.
const agentPoolLabel = "kubernetes.azure.com/agentpool"

// upgradeRules are the node pool upgrade settings AKS takes (API
// 2025-xx of armcontainerservice/v6): upgradeSettings.maxSurge, at least 1;
// no maxUnavailable.
var upgradeRules = providers.PoolUpgradeRules{
	MinSurge:      1,
	NoUnavailable: "AKS has no maxUnavailable: it never takes a node down before its surge replacement is Ready (maxSurge sets how many at once)",
}

// CheckUpdate refuses, at plan time, a cluster or agent pool version that
// is not one minor up.
func (d *Driver) CheckUpdate(ctx context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	switch req.Type {
	case TypeCluster, TypeNodePool:
		return providers.CheckVersionStep("AKS", req, "kubernetes_version")
	}
	return nil
}

// CheckHealth checks the region's AKS cluster for a rollout's health gate:
// API server, the System pool's and every User pool's nodes Ready at the
// version, LoadBalancer Services' addresses kept.
func (d *Driver) CheckHealth(ctx context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	return d.kube.CheckRegion(ctx, req, kubernetes.RegionHealth{
		ClusterType: TypeCluster,
		Refs:        kubernetes.ClusterRefs{Endpoint: "endpoint", CA: "ca_certificate", ID: "id"},
		PoolLabel:   agentPoolLabel,
		Pool: func(r providers.Instance) (kubernetes.PoolHealth, bool) {
			version, _ := r.Inputs["kubernetes_version"].(string)
			switch r.Type {
			case TypeCluster: // the System pool is part of the cluster
				sp, ok := r.Inputs["system_pool"].(map[string]any)
				name, _ := sp["name"].(string)
				return kubernetes.PoolHealth{Name: name, Version: version, MinNodes: kubernetes.IntOf(sp["min"])}, ok
			case TypeNodePool:
				name, _ := r.Inputs["name"].(string)
				want := max(kubernetes.IntOf(r.Outputs["node_count"]), kubernetes.IntOf(r.Inputs["min"]))
				return kubernetes.PoolHealth{Name: name, Version: version, MinNodes: want}, true
			}
			return kubernetes.PoolHealth{}, false
		},
	})
}

// drainPool cordons agent pool name of the cluster and evicts its pods,
// honouring PodDisruptionBudgets, before the pool is deleted while its
// cluster stays (a replacement, a System pool rotation, a pool dropped
// from the spec).
func (e *env) drainPool(ctx context.Context, clusterID, name string) error {
	kc, err := e.d.userCredentials(ctx, clusterID)
	if isNotFound(err) {
		return nil // the cluster is gone, and its pools with it
	}
	if err != nil {
		return fmt.Errorf("AKS agent pool %s: credentials to drain it: %w", name, err)
	}
	opts := e.d.drain
	opts.Label, opts.Value = agentPoolLabel, name
	in := kubernetes.ClusterInputs{Endpoint: kc.server, CA: string(kc.caPEM), Cluster: clusterID}
	if err := e.d.kube.DrainPool(ctx, in, opts); err != nil {
		return fmt.Errorf("AKS agent pool %s: %w", name, err)
	}
	return nil
}
