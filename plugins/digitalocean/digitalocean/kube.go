package digitalocean

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// The CSI driver of DigitalOcean block storage volumes. Every volume is
// SSD-backed: both spec tiers map onto it.
const dobsProvisioner = "dobs.csi.digitalocean.com"

// Service annotations of DigitalOcean's cloud controller manager.
const (
	annLBName     = "service.beta.kubernetes.io/do-loadbalancer-name"
	annLBProtocol = "service.beta.kubernetes.io/do-loadbalancer-protocol"
	annLBNetwork  = "service.beta.kubernetes.io/do-loadbalancer-network"
)

// tokenLifetime is how long regionctl uses a kubeconfig token before it
// asks for a new one (DOKS tokens last 7 days).
const tokenLifetime = time.Hour

// expandInCluster adds the region's StorageClasses and LoadBalancer
// Services, inside the DOKS cluster.
func expandInCluster(r *spec.Region, cluster string, pools []string) []providers.Resource {
	name := r.Metadata.Name
	refs := kubernetes.ClusterRefs{Address: cluster, Endpoint: "endpoint", CA: "ca_certificate", ID: "id", Location: r.Spec.Location}
	var out []providers.Resource
	for _, sc := range r.Spec.StorageClasses {
		class := kubernetes.StorageClassFor(sc, dobsProvisioner, map[string]string{"csi.storage.k8s.io/fstype": "ext4"})
		out = append(out, kubernetes.StorageClassResource(name, refs, class))
	}
	for _, lb := range r.Spec.LoadBalancers {
		svc := kubernetes.ServiceFor(lb)
		svc.Annotations[annLBName] = name + "-" + lb.Name
		svc.Annotations[annLBProtocol] = "tcp"
		if lb.Scheme == spec.SchemeInternal {
			svc.Annotations[annLBNetwork] = "INTERNAL"
		} else {
			svc.Annotations[annLBNetwork] = "EXTERNAL"
		}
		out = append(out, kubernetes.ServiceResource(name, refs, svc, pools...)) // the load balancer targets the nodes
	}
	return out
}

// kubeconfig reads the cluster's kubeconfig from the API and returns its
// server and CA (base64 of PEM); the token in it is not returned.
func (d *Driver) kubeconfig(ctx context.Context, clusterID string) (endpoint, ca string, err error) {
	server, caPEM, _, err := d.kubeCredentials(ctx, clusterID)
	return server, base64.StdEncoding.EncodeToString(caPEM), err
}

// kubeCredentials reads the cluster's kubeconfig
// (GET /v2/kubernetes/clusters/ID/kubeconfig) and returns its server, CA
// and bearer token. In sandbox mode a server that is not on 127.0.0.1 is
// refused.
func (d *Driver) kubeCredentials(ctx context.Context, clusterID string) (server string, ca []byte, token string, err error) {
	kc, _, err := d.api.Kubernetes.GetKubeConfig(ctx, clusterID, nil)
	if err != nil {
		return "", nil, "", fmt.Errorf("read the kubeconfig of DOKS cluster %s: %w", clusterID, err)
	}
	cfg, err := clientcmd.Load(kc.KubeconfigYAML)
	if err != nil {
		return "", nil, "", fmt.Errorf("the kubeconfig of DOKS cluster %s does not parse: %w", clusterID, err)
	}
	cur := cfg.Contexts[cfg.CurrentContext]
	if cur == nil || cfg.Clusters[cur.Cluster] == nil || cfg.AuthInfos[cur.AuthInfo] == nil {
		return "", nil, "", fmt.Errorf("the kubeconfig of DOKS cluster %s has no current context", clusterID)
	}
	cl, user := cfg.Clusters[cur.Cluster], cfg.AuthInfos[cur.AuthInfo]
	if d.sandbox {
		if u, err := url.Parse(cl.Server); err != nil || u.Hostname() != "127.0.0.1" {
			return "", nil, "", fmt.Errorf("digitalocean: sandbox: cluster %s's API server %q is not on 127.0.0.1: refusing", clusterID, cl.Server)
		}
	}
	return cl.Server, cl.CertificateAuthorityData, user.Token, nil
}

// kubeHandler is the in-cluster handler of this driver: tokens from the
// cluster's kubeconfig, fetched when needed and never stored.
func (d *Driver) kubeHandler(forceConflicts bool) *kubernetes.Handler {
	return &kubernetes.Handler{
		ForceConflicts: forceConflicts,
		Token: func(ctx context.Context, in kubernetes.ClusterInputs) (string, error) {
			_, _, tok, err := d.kubeCredentials(ctx, in.Cluster)
			return tok, err
		},
		ClusterGone: func(ctx context.Context, in kubernetes.ClusterInputs) (bool, error) {
			_, _, err := d.api.Kubernetes.Get(ctx, in.Cluster)
			if notFound(err) {
				return true, nil
			}
			return false, err
		},
	}
}

// ClusterAccess returns the region's DOKS cluster's endpoint and CA (from
// the recorded outputs) and, when asked, the token of its kubeconfig. It
// implements kubernetes.Access.
func (d *Driver) ClusterAccess(ctx context.Context, req kubernetes.AccessRequest) (kubernetes.AccessResponse, error) {
	return kubernetes.Recorded{
		Driver: Name, Service: "DOKS", Type: TypeCluster,
		Where: func(cluster providers.Instance) (string, string, error) {
			var out clusterOut
			err := kit.Decode(cluster.Outputs, &out)
			return out.Endpoint, out.CA, err
		},
		Token: func(ctx context.Context, cluster providers.Instance) (string, time.Time, error) {
			_, _, tok, err := d.kubeCredentials(ctx, cluster.ID)
			return tok, time.Now().Add(tokenLifetime), err
		},
	}.ClusterAccess(ctx, req)
}
