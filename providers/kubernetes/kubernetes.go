// Package kubernetes applies a region's in-cluster objects — StorageClasses
// and Services of type LoadBalancer, and for drivers that map spec.access
// onto RBAC ClusterRoleBindings (Handler.AccessTypes) — into the managed
// cluster a driver built, with client-go server-side apply (field manager "regionctl"). It is
// shared by every driver: a driver builds the resources with
// StorageClassResource and ServiceResource in Expand (their inputs reference
// the cluster's endpoint and CA outputs), and declares the two types with
// Handler.Types among its own kit types (providers/kit), with a Handler
// that knows how to get a token for its cloud.
//
// Credentials never enter inputs, outputs, state or plans: the Handler asks
// its Token function for a short-lived bearer token on every request.
package kubernetes

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/providers"
)

// FieldManager is the server-side apply field manager of every object
// regionctl applies.
const FieldManager = "regionctl"

// Resource types shared by all drivers.
const (
	TypeStorageClass = "kubernetes_storage_class"
	TypeService      = "kubernetes_service"
)

// DefaultClassAnnotation marks the cluster's default StorageClass.
const DefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"

// Input keys every in-cluster resource has: which cluster it lives in.
// InEndpoint and InCA are references to the cluster resource's outputs;
// InCluster is the cluster's ID (EKS needs its name for the token).
// InLocation is the cloud region of the cluster (for the token's client).
const (
	InEndpoint = "cluster_endpoint"
	InCA       = "cluster_ca"
	InCluster  = "cluster"
	InLocation = "location"
)

// Handles reports whether typ is one of this package's resource types.
func Handles(typ string) bool {
	return typ == TypeStorageClass || typ == TypeService || typ == TypeClusterRoleBinding
}

// Conn is how to reach one cluster's API server.
type Conn struct {
	// Endpoint is the API server's https URL.
	Endpoint string
	// CAPEM is the PEM certificate of the cluster's CA.
	CAPEM []byte
	// Token returns a bearer token, called for every request (it may
	// cache). The token is never stored.
	Token func(ctx context.Context) (string, error)
}

// NewClient returns a client-go clientset for conn.
func NewClient(conn Conn) (kubernetes.Interface, error) {
	if conn.Endpoint == "" {
		return nil, errors.New("no cluster endpoint")
	}
	if conn.Token == nil {
		return nil, errors.New("no token source")
	}
	cfg := &rest.Config{
		Host:            conn.Endpoint,
		TLSClientConfig: rest.TLSClientConfig{CAData: conn.CAPEM},
		Timeout:         30 * time.Second,
		UserAgent:       "regionctl",
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return &tokenTransport{base: rt, token: conn.Token}
		},
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client for %s: %w", conn.Endpoint, err)
	}
	return cs, nil
}

// tokenTransport sets the bearer token on each request, asking for a new one
// at most once a minute.
type tokenTransport struct {
	base  http.RoundTripper
	token func(ctx context.Context) (string, error)

	mu  sync.Mutex
	tok string
	at  time.Time
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	if t.tok == "" || time.Since(t.at) > time.Minute {
		tok, err := t.token(req.Context())
		if err != nil {
			t.mu.Unlock()
			return nil, fmt.Errorf("get a token for the cluster: %w", err)
		}
		t.tok, t.at = tok, time.Now()
	}
	tok := t.tok
	t.mu.Unlock()
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return t.base.RoundTrip(r)
}

// DecodeCA accepts a CA as PEM or as base64 of PEM (the form EKS, GKE and
// AKS return) and returns the PEM.
func DecodeCA(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "-----BEGIN") {
		return []byte(s), nil
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
		return nil, errors.New("cluster CA is neither PEM nor base64 of PEM")
	}
	return b, nil
}

// ClusterRefs names the cluster resource and its outputs that in-cluster
// resources reference.
type ClusterRefs struct {
	// Address of the cluster resource.
	Address string
	// Outputs of the cluster: its https endpoint, its CA (PEM or base64
	// of PEM) and its ID. For EKS: "endpoint", "certificate_authority_data", "id".
	Endpoint, CA, ID string
	// Location is the cluster's cloud region, a plain value.
	Location string
}

func (c ClusterRefs) inputs() providers.Values {
	return providers.Values{
		InEndpoint: providers.Ref(c.Address, c.Endpoint),
		InCA:       providers.Ref(c.Address, c.CA),
		InCluster:  providers.Ref(c.Address, c.ID),
		InLocation: c.Location,
	}
}

func anyMap(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
