package gcp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
	"google.golang.org/api/googleapi"
	corev1 "k8s.io/api/core/v1"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// In-cluster content on GKE (docs/mapping.md).
const (
	// pdProvisioner is GKE's Compute Engine persistent disk CSI driver,
	// on by default in every cluster.
	pdProvisioner = "pd.csi.storage.gke.io"
	// annLBType makes a LoadBalancer Service an internal passthrough
	// Network Load Balancer; without it the load balancer is external.
	annLBType = "networking.gke.io/load-balancer-type"
)

// pdType maps a spec storage tier onto a persistent disk type.
var pdType = map[string]string{spec.TierStandard: "pd-balanced", spec.TierSSD: "pd-ssd"}

// tokenScopes are the OAuth2 scopes of the token the driver sends to GKE
// API servers, as gke-gcloud-auth-plugin asks for.
var tokenScopes = []string{"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/userinfo.email"}

// sandboxCredentialsPath is where the sandbox publishes its service account
// key file on the Compute endpoint (sandbox/gcp.CredentialsPath).
const sandboxCredentialsPath = "/_sandbox/gcp/credentials.json"

// expandInCluster adds the region's StorageClasses and LoadBalancer
// Services inside the GKE cluster. lbAddresses maps a load balancer's name
// to the address of its reserved gcp_compute_address.
func expandInCluster(r *spec.Region, cluster string, pools []string, lbAddresses map[string]string) []providers.Resource {
	name := r.Metadata.Name
	refs := clusterRefs(r, cluster)
	var out []providers.Resource
	for _, sc := range r.Spec.StorageClasses {
		out = append(out, kubernetes.StorageClassResource(name, refs, kubernetes.StorageClassFor(sc, pdProvisioner, map[string]string{"type": pdType[sc.Tier]})))
	}
	for _, lb := range r.Spec.LoadBalancers {
		svc := kubernetes.ServiceFor(lb)
		svc.LoadBalancerIP = providers.Ref(lbAddresses[lb.Name], "address")
		if lb.Scheme == spec.SchemeInternal {
			svc.Annotations[annLBType] = "Internal"
		}
		out = append(out, kubernetes.ServiceResource(name, refs, svc, pools...)) // targets are nodes
	}
	return out
}

// clusterRefs are how in-cluster resources name the GKE cluster. Its self
// link names project, location and cluster, which ClusterGone needs; the
// token needs none of them.
func clusterRefs(r *spec.Region, cluster string) kubernetes.ClusterRefs {
	return kubernetes.ClusterRefs{Address: cluster, Endpoint: "server", CA: "ca_certificate", ID: "self_link", Location: r.Spec.Location}
}

// kubeHandler is the in-cluster handler of this driver: OAuth2 access
// tokens from Application Default Credentials, the reserved address as a
// Service output.
func (d *Driver) kubeHandler() *kubernetes.Handler {
	return &kubernetes.Handler{
		ForceConflicts: d.forceConflicts,
		Token: func(ctx context.Context, _ kubernetes.ClusterInputs) (string, error) {
			tok, err := d.accessToken(ctx)
			if err != nil {
				return "", err
			}
			return tok.AccessToken, nil
		},
		ClusterGone: func(ctx context.Context, in kubernetes.ClusterInputs) (bool, error) {
			name, ok := clusterPathOf(in.Cluster)
			if !ok {
				return false, fmt.Errorf("cluster %q is not a GKE cluster self link", in.Cluster)
			}
			cl, err := d.clients(ctx)
			if err != nil {
				return false, err
			}
			var c *containerpb.Cluster
			err = d.retry(ctx, func() (err error) {
				c, err = cl.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: name})
				return err
			})
			if isNotFound(err) {
				return true, nil
			}
			if err != nil {
				return false, err
			}
			return c.GetStatus() == containerpb.Cluster_STOPPING, nil
		},
		ServiceAddresses: func(_ context.Context, _ kubernetes.ClusterInputs, svc *corev1.Service) ([]string, error) {
			if ip := svc.Spec.LoadBalancerIP; ip != "" { //nolint:staticcheck // deprecated in Kubernetes, still how GKE binds a reserved address
				return []string{ip}, nil
			}
			return nil, nil
		},
	}
}

// clusterPathOf turns a cluster self link
// (https://container.googleapis.com/v1/projects/P/locations/L/clusters/C)
// into the API name projects/P/locations/L/clusters/C.
func clusterPathOf(selfLink string) (string, bool) {
	i := strings.Index(selfLink, "projects/")
	if i < 0 {
		return "", false
	}
	p := strings.Split(selfLink[i:], "/")
	if len(p) != 6 || p[2] != "locations" && p[2] != "zones" || p[4] != "clusters" {
		return "", false
	}
	return "projects/" + p[1] + "/locations/" + p[3] + "/clusters/" + p[5], true
}

// accessToken returns an OAuth2 access token from Application Default
// Credentials — what gke-gcloud-auth-plugin sends to GKE. In sandbox mode
// ADC is the service account key file the sandbox publishes, loaded by
// the same library path a GOOGLE_APPLICATION_CREDENTIALS key file takes;
// its JWT is exchanged at the sandbox's token endpoint. Tokens are cached
// until shortly before they expire and never stored.
func (d *Driver) accessToken(ctx context.Context) (*oauth2.Token, error) {
	d.tsMu.Lock()
	defer d.tsMu.Unlock()
	if d.ts == nil {
		creds, err := d.credentials(ctx)
		if err != nil {
			return nil, err
		}
		d.ts = creds.TokenSource // reuses the token until it nearly expires
	}
	// The token endpoint throttles and fails like any Google API: one 429
	// or 503 must not fail a whole plan, so the request is retried.
	var tok *oauth2.Token
	err := d.retryRead(ctx, func() (err error) { tok, err = d.ts.Token(); return err })
	if err != nil {
		return nil, fmt.Errorf("gcp: get an access token from Application Default Credentials: %w", err)
	}
	return tok, nil
}

// credentials loads ADC (outside the sandbox) or the sandbox's key file.
// The token source outlives ctx, so it gets a background context.
func (d *Driver) credentials(ctx context.Context) (*google.Credentials, error) {
	if !d.sandbox {
		creds, err := google.FindDefaultCredentials(context.Background(), tokenScopes...)
		if err != nil {
			return nil, fmt.Errorf("gcp: Application Default Credentials for the GKE API server: %w", err)
		}
		return creds, nil
	}
	var key []byte
	err := d.retryRead(ctx, func() error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.computeEndpoint+sandboxCredentialsPath, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if key, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return &googleapi.Error{Code: resp.StatusCode, Header: resp.Header, Body: string(key)}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("gcp: fetch the sandbox's service account key: %w", err)
	}
	creds, err := google.CredentialsFromJSONWithTypeAndParams(context.Background(), key, google.ServiceAccount,
		google.CredentialsParams{Scopes: tokenScopes})
	if err != nil {
		return nil, fmt.Errorf("gcp: load the sandbox's service account key: %w", err)
	}
	return creds, nil
}

// ClusterAccess finds the region's GKE cluster among its recorded
// resources and returns its endpoint and CA (from the recorded outputs)
// and, when asked, a fresh access token. It implements kubernetes.Access.
func (d *Driver) ClusterAccess(ctx context.Context, req kubernetes.AccessRequest) (kubernetes.AccessResponse, error) {
	return kubernetes.Recorded{
		Driver: "gcp", Service: "GKE", Type: TypeCluster,
		Where: func(cluster providers.Instance) (string, string, error) {
			var out clusterOut
			err := kit.Decode(cluster.Outputs, &out)
			if out.Server == "" && out.Endpoint != "" { // recorded before the server output existed
				out.Server = "https://" + out.Endpoint
			}
			return out.Server, out.CACertificate, err
		},
		Token: func(ctx context.Context, _ providers.Instance) (string, time.Time, error) {
			tok, err := d.accessToken(ctx)
			if err != nil {
				return "", time.Time{}, err
			}
			var expiry time.Time
			if !tok.Expiry.IsZero() {
				expiry = tok.Expiry.Add(-time.Minute)
			}
			return tok.AccessToken, expiry, nil
		},
		Workload: workloadIdentity,
	}.ClusterAccess(ctx, req)
}

var _ kubernetes.Access = (*Driver)(nil)

// workloadIdentity is what a deploy needs to bind a Kubernetes service
// account to a Google service account: the cluster's workload identity
// pool (PROJECT.svc.id.goog, which regionctl sets on every GKE cluster it
// creates) and the IAM member that roles/iam.workloadIdentityUser is
// granted to. nil when the cluster has no pool.
func workloadIdentity(_ []providers.Instance, cluster providers.Instance) *kubernetes.WorkloadIdentity {
	var in clusterIn
	if err := kit.Decode(cluster.Inputs, &in); err != nil || in.WorkloadPool == "" {
		return nil
	}
	return &kubernetes.WorkloadIdentity{
		Issuer:                   fmt.Sprintf("https://container.googleapis.com/v1/projects/%s/locations/%s/clusters/%s", in.Project, in.Location, in.Name),
		Provider:                 in.WorkloadPool,
		ServiceAccountAnnotation: "iam.gke.io/gcp-service-account",
		TrustSubject:             "serviceAccount:" + in.WorkloadPool + "[NAMESPACE/NAME]",
	}
}
