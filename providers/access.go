package providers

import (
	"context"
	"time"
)

// ClusterAccessor is implemented by drivers whose clusters regionctl can
// reach; the CLI uses it for `regionctl kubeconfig REGION` and the exec
// credential plugin `regionctl kube-token REGION`. (providers/kubernetes
// calls it Access and helps implement it: kubernetes.Recorded.)
type ClusterAccessor interface {
	ClusterAccess(ctx context.Context, req AccessRequest) (AccessResponse, error)
}

// AccessRequest carries a region's resources as recorded in state; the
// driver finds its cluster among them.
type AccessRequest struct {
	Resources []Instance
	// Token asks for a fresh bearer token (a cloud or signing call);
	// without it the driver makes no call at all.
	Token bool
}

// AccessResponse is how to reach the cluster. Token is a credential: the
// caller prints it for kubectl and never stores it.
type AccessResponse struct {
	ClusterID string
	Endpoint  string
	CAPEM     []byte
	Token     string
	// Expiry is when the client should ask for a new token.
	Expiry time.Time
}
