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
	// WorkloadIdentity is how pods act as cloud identities, when the
	// cluster has it (spec.cluster.workloadIdentity); nil otherwise. The
	// plugin protocol does not carry it yet.
	WorkloadIdentity *WorkloadIdentity
}

// WorkloadIdentity is what a deploy needs to let a Kubernetes service
// account act as a cloud identity. Nothing in it is secret.
type WorkloadIdentity struct {
	// Issuer is the URL of the cluster's service-account token issuer
	// (OIDC), as federated credentials and trust policies name it.
	Issuer string `json:"issuer,omitempty"`
	// Provider is the cloud object the tokens are exchanged at: the IAM
	// OpenID Connect provider's ARN (EKS), the workload identity pool
	// (GKE).
	Provider string `json:"provider"`
	// Audience is the token audience the cloud expects, when fixed.
	Audience string `json:"audience,omitempty"`
	// ServiceAccountAnnotation is the annotation a ServiceAccount carries
	// to name the cloud identity it acts as.
	ServiceAccountAnnotation string `json:"serviceAccountAnnotation"`
	// TrustSubject is how the cloud identity's trust (policy condition or
	// IAM member) names a service account; NAMESPACE and NAME are
	// placeholders.
	TrustSubject string `json:"trustSubject"`
}
