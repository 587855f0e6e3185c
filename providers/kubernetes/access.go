package kubernetes

import (
	"context"
	"fmt"
	"time"

	"github.com/regionctl/regionctl/providers"
)

// Access is implemented by drivers whose clusters regionctl can reach; the
// CLI uses it for `regionctl kubeconfig REGION` and the exec credential
// plugin `regionctl kube-token REGION`. It is providers.ClusterAccessor,
// declared there so that a driver plugin can serve it without linking
// Kubernetes' client libraries.
type Access = providers.ClusterAccessor

// AccessRequest carries a region's resources as recorded in state; the
// driver finds its cluster among them.
type AccessRequest = providers.AccessRequest

// AccessResponse is how to reach the cluster. Token is a credential: the
// caller prints it for kubectl and never stores it.
type AccessResponse = providers.AccessResponse

// WorkloadIdentity is what a deploy needs to let a Kubernetes service
// account act as a cloud identity (providers.WorkloadIdentity).
type WorkloadIdentity = providers.WorkloadIdentity

// Recorded says where a driver's cluster resource records how to reach it,
// for ClusterAccess.
type Recorded struct {
	// Driver prefixes errors ("aws"); Service names the managed service
	// ("EKS") in them.
	Driver, Service string
	// Type is the cluster resource type.
	Type string
	// Where returns the API server URL and the CA (PEM or base64 of PEM)
	// from the cluster's recorded values.
	Where func(cluster providers.Instance) (endpoint, ca string, err error)
	// Token returns a fresh bearer token for the cluster and when to ask
	// for the next one.
	Token func(ctx context.Context, cluster providers.Instance) (string, time.Time, error)
	// Workload, when set, returns the cluster's workload identity from the
	// region's recorded resources (nil when it has none).
	Workload func(resources []providers.Instance, cluster providers.Instance) *WorkloadIdentity
}

// ClusterAccess implements Access for a driver: it finds the region's
// cluster among the recorded resources, returns its endpoint and CA, and —
// when asked — a fresh token.
func (r Recorded) ClusterAccess(ctx context.Context, req AccessRequest) (AccessResponse, error) {
	for _, inst := range req.Resources {
		if inst.Type != r.Type {
			continue
		}
		endpoint, caData, err := r.Where(inst)
		if err != nil {
			return AccessResponse{}, fmt.Errorf("%s: %s: %w", r.Driver, inst.Address, err)
		}
		if endpoint == "" || caData == "" {
			return AccessResponse{}, fmt.Errorf("%s: %s has no endpoint or CA recorded; run regionctl apply (or plan, to refresh) first", r.Driver, inst.Address)
		}
		ca, err := DecodeCA(caData)
		if err != nil {
			return AccessResponse{}, fmt.Errorf("%s: %s: %w", r.Driver, inst.Address, err)
		}
		resp := AccessResponse{ClusterID: inst.ID, Endpoint: endpoint, CAPEM: ca}
		if r.Workload != nil {
			resp.WorkloadIdentity = r.Workload(req.Resources, inst)
		}
		if req.Token {
			if resp.Token, resp.Expiry, err = r.Token(ctx, inst); err != nil {
				return AccessResponse{}, fmt.Errorf("%s: %s: %w", r.Driver, inst.Address, err)
			}
		}
		return resp, nil
	}
	return AccessResponse{}, fmt.Errorf("%s: the region has no %s cluster in state", r.Driver, r.Service)
}
