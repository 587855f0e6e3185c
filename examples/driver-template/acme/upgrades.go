package acme

import (
	"context"
	"fmt"

	"example.com/regionctl-driver-acme/acme/api"
	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
)

// CheckUpdate (providers.UpdateChecker) refuses at plan time an update
// Acme would refuse at apply: a cluster moves one Kubernetes minor
// forward at a time. It makes no API call.
func (d *Driver) CheckUpdate(_ context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	if req.Type != "acme_cluster" {
		return nil
	}
	return providers.CheckVersionStep("Acme", req, "version")
}

// CheckHealth (providers.HealthChecker) is the health gate between the
// waves of a rollout: the region's cluster and each of its node pools
// must be running. A driver whose cloud runs real clusters also asks
// their API servers (package providers/kubernetes: CheckRegion).
func (d *Driver) CheckHealth(ctx context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	kinds := map[string]string{"acme_cluster": api.Clusters, "acme_node_pool": api.NodePools}
	var resp providers.HealthResponse
	for _, r := range req.Resources {
		kind, ok := kinds[r.Type]
		if !ok {
			continue
		}
		obj, err := d.api.Get(ctx, kind, r.ID)
		if err != nil {
			return providers.HealthResponse{}, fmt.Errorf("acme: health of %s: %w", r.Address, err)
		}
		check := providers.HealthCheck{Name: r.Address, OK: obj.Status == "running"}
		if !check.OK {
			check.Detail = "status " + obj.Status
		}
		resp.Checks = append(resp.Checks, check)
	}
	return resp, nil
}
