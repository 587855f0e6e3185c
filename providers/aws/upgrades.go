package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kubernetes"
)

// What the AWS driver does for smooth upgrades (docs/providers/aws.md).
var (
	_ providers.UpdateChecker = (*Driver)(nil)
	_ providers.HealthChecker = (*Driver)(nil)
)

// nodegroupLabel is the label EKS puts on a managed node group's nodes.
const nodegroupLabel = "eks.amazonaws.com/nodegroup"

// CheckUpdate refuses, at plan time, a cluster or node group version that
// is not one minor up.
func (d *Driver) CheckUpdate(ctx context.Context, req providers.CheckUpdateRequest) diag.Diagnostics {
	switch req.Type {
	case TypeEKSCluster, TypeEKSNodeGroup:
		return providers.CheckVersionStep("EKS", req, "version")
	}
	return nil
}

// CheckHealth checks the region's EKS cluster for a rollout's health gate:
// API server, every node group's nodes Ready at its version (at least its
// desired size), LoadBalancer Services' addresses kept.
func (d *Driver) CheckHealth(ctx context.Context, req providers.HealthRequest) (providers.HealthResponse, error) {
	return d.kube.CheckRegion(ctx, req, kubernetes.RegionHealth{
		ClusterType: TypeEKSCluster,
		Refs:        kubernetes.ClusterRefs{Endpoint: "endpoint", CA: "certificate_authority_data", ID: "id"},
		PoolLabel:   nodegroupLabel,
		Pool: func(r providers.Instance) (kubernetes.PoolHealth, bool) {
			want := kubernetes.IntOf(r.Outputs["desired_size"])
			if want == 0 {
				want = kubernetes.IntOf(r.Inputs["min_size"])
			}
			name, _ := r.Inputs["name"].(string)
			version, _ := r.Inputs["version"].(string)
			return kubernetes.PoolHealth{Name: name, Version: version, MinNodes: want}, r.Type == TypeEKSNodeGroup
		},
	})
}

// drainNodegroup cordons the node group's nodes and evicts their pods,
// honouring PodDisruptionBudgets, before the group is deleted while its
// cluster stays (a replacement, or a pool dropped from the spec).
func (e *env) drainNodegroup(ctx context.Context, location, cluster, name string) error {
	cl, err := e.describeCluster(ctx, cluster)
	if err != nil || cl == nil || cl.CertificateAuthority == nil {
		return err // no cluster, nothing to drain
	}
	opts := e.d.drain
	opts.Label, opts.Value = nodegroupLabel, name
	in := kubernetes.ClusterInputs{Endpoint: aws.ToString(cl.Endpoint), CA: aws.ToString(cl.CertificateAuthority.Data), Cluster: cluster, Location: location}
	if err := e.d.kube.DrainPool(ctx, in, opts); err != nil {
		return fmt.Errorf("EKS node group %s: %w", name, err)
	}
	return nil
}
