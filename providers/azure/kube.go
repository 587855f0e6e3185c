package azure

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	aks "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// Azure Disk CSI StorageClasses per tier (docs/mapping.md). AKS enables the
// Azure Disk CSI driver in every cluster, so the classes need no add-on.
const (
	diskProvisioner = "disk.csi.azure.com"
	skuStandard     = "StandardSSD_LRS"
	skuSSD          = "Premium_LRS"
)

// Service annotations of the Azure cloud provider's load balancer.
const (
	annPIPResourceGroup = "service.beta.kubernetes.io/azure-load-balancer-resource-group"
)

// aksServerAppID is the application whose tokens an AKS cluster with
// Entra ID (AAD) integration accepts — the audience kubelogin asks for.
const aksServerAppID = "6dae42f8-4368-4678-94ff-3960e28e3630"

// storageClassParams maps a spec tier onto an Azure Disk SKU.
func storageClassParams(tier string) map[string]string {
	if tier == spec.TierSSD {
		return map[string]string{"skuName": skuSSD}
	}
	return map[string]string{"skuName": skuStandard}
}

// expandInCluster adds the region's StorageClasses and LoadBalancer
// Services, inside the AKS cluster. pools are the node pools (the
// Services' targets); pips maps an external load balancer to the address
// of its public IP, which lives in nodeGroup.
func expandInCluster(r *spec.Region, cluster, nodeGroup string, pools []string, pips map[string]string) []providers.Resource {
	name := r.Metadata.Name
	refs := kubernetes.ClusterRefs{Address: cluster, Endpoint: "endpoint", CA: "ca_certificate", ID: "id", Location: r.Spec.Location}
	var out []providers.Resource
	for _, sc := range r.Spec.StorageClasses {
		out = append(out, kubernetes.StorageClassResource(name, refs, kubernetes.StorageClassFor(sc, diskProvisioner, storageClassParams(sc.Tier))))
	}
	for _, lb := range r.Spec.LoadBalancers {
		svc := kubernetes.ServiceFor(lb)
		deps := append([]string(nil), pools...)
		if lb.Scheme == spec.SchemeInternal {
			svc.Annotations[internalLBAnnot] = "true"
		} else {
			// The static public IP the driver reserved, by name and group.
			svc.Annotations[pipAnnotation] = pipName(lb.Name)
			svc.Annotations[annPIPResourceGroup] = nodeGroup
			deps = append(deps, pips[lb.Name])
		}
		out = append(out, kubernetes.ServiceResource(name, refs, svc, deps...))
	}
	return out
}

// pipName is the name of an external load balancer's public IP.
func pipName(lb string) string { return "pip-" + lb }

// kubeCreds is what a kubeconfig from ListClusterUserCredentials holds.
// token is a credential: used for one client, never stored or logged.
type kubeCreds struct {
	server string
	caPEM  []byte
	token  string
	// entra is set when the kubeconfig's user has no token but an exec
	// plugin (kubelogin): the cluster takes Entra ID tokens.
	entra bool
}

// userCredentials asks AKS for the cluster user's kubeconfig — what `az
// aks get-credentials` does — and reads its server, CA and user.
func (d *Driver) userCredentials(ctx context.Context, clusterID string) (kubeCreds, error) {
	return d.credentials(ctx, clusterID, false)
}

// credentials asks AKS for the kubeconfig of the cluster user or, with
// admin, of the cluster's local admin account (`az aks get-credentials
// --admin`).
func (d *Driver) credentials(ctx context.Context, clusterID string, admin bool) (kubeCreds, error) {
	rid, err := arm.ParseResourceID(clusterID)
	if err != nil {
		return kubeCreds{}, fmt.Errorf("%q is not an AKS cluster ID: %w", clusterID, err)
	}
	cl, err := d.clientsFor(rid.SubscriptionID)
	if err != nil {
		return kubeCreds{}, err
	}
	var kcs []*aks.CredentialResult
	if admin {
		res, err := cl.clusters.ListClusterAdminCredentials(ctx, rid.ResourceGroupName, rid.Name, nil)
		if err != nil {
			return kubeCreds{}, fmt.Errorf("list the admin credentials of AKS cluster %s: %w", rid.Name, err)
		}
		kcs = res.Kubeconfigs
	} else {
		res, err := cl.clusters.ListClusterUserCredentials(ctx, rid.ResourceGroupName, rid.Name, nil)
		if err != nil {
			return kubeCreds{}, fmt.Errorf("list the user credentials of AKS cluster %s: %w", rid.Name, err)
		}
		kcs = res.Kubeconfigs
	}
	for _, kc := range kcs {
		if kc == nil || len(kc.Value) == 0 {
			continue
		}
		return parseKubeconfig(kc.Value)
	}
	return kubeCreds{}, fmt.Errorf("AKS returned no kubeconfig for cluster %s", rid.Name)
}

// parseKubeconfig reads the current context's server, CA and user token.
// Errors never quote the kubeconfig (it holds a credential).
func parseKubeconfig(b []byte) (kubeCreds, error) {
	cfg, err := clientcmd.Load(b)
	if err != nil {
		return kubeCreds{}, errors.New("the cluster's kubeconfig does not parse")
	}
	ctxName := cfg.CurrentContext
	if ctxName == "" {
		for n := range cfg.Contexts {
			ctxName = n
			break
		}
	}
	kctx := cfg.Contexts[ctxName]
	if kctx == nil || cfg.Clusters[kctx.Cluster] == nil {
		return kubeCreds{}, errors.New("the cluster's kubeconfig has no current context with a cluster")
	}
	c := cfg.Clusters[kctx.Cluster]
	out := kubeCreds{server: c.Server, caPEM: c.CertificateAuthorityData}
	if u := cfg.AuthInfos[kctx.AuthInfo]; u != nil {
		out.token = u.Token
		out.entra = u.Token == "" && (u.Exec != nil || u.AuthProvider != nil)
	}
	if out.server == "" || len(out.caPEM) == 0 {
		return kubeCreds{}, errors.New("the cluster's kubeconfig has no server or CA")
	}
	return out, nil
}

// clusterToken returns a bearer token for the AKS cluster: the cluster
// user's token from ListClusterUserCredentials, fetched now and never
// stored. For a cluster with Entra ID integration (the user kubeconfig
// runs kubelogin) it is the token of the cluster's local admin account
// (ListClusterAdminCredentials), so the identity that runs apply
// administers the cluster whatever its Azure RBAC roles, as spec.access
// promises; where local accounts are disabled (or the identity may not
// list admin credentials), an Entra ID token for the AKS server
// application from the driver's own credential, as kubelogin gets one.
func (d *Driver) clusterToken(ctx context.Context, clusterID string) (string, time.Time, error) {
	kc, err := d.userCredentials(ctx, clusterID)
	if err != nil {
		return "", time.Time{}, err
	}
	if kc.token != "" {
		return kc.token, time.Now().Add(5 * time.Minute), nil
	}
	if !kc.entra {
		return "", time.Time{}, errors.New("the cluster user's kubeconfig holds no token and no Entra ID login")
	}
	ac, adminErr := d.credentials(ctx, clusterID, true)
	if adminErr == nil && ac.token != "" {
		return ac.token, time.Now().Add(5 * time.Minute), nil
	}
	if ctx.Err() != nil {
		return "", time.Time{}, ctx.Err()
	}
	tok, err := d.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{aksServerAppID + "/.default"}})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("get an Entra ID token for the AKS cluster (the admin credentials were not usable either: %v): %w", adminErr, err)
	}
	return tok.Token, tok.ExpiresOn.Add(-time.Minute), nil
}

// kubeHandler is the in-cluster handler of this driver: tokens from
// ListClusterUserCredentials, the public IP's address as a Service output.
func (d *Driver) kubeHandler(force bool) *kubernetes.Handler {
	return &kubernetes.Handler{
		ForceConflicts: force,
		Token: func(ctx context.Context, in kubernetes.ClusterInputs) (string, error) {
			tok, _, err := d.clusterToken(ctx, in.Cluster)
			return tok, err
		},
		ClusterGone: func(ctx context.Context, in kubernetes.ClusterInputs) (bool, error) {
			rid, err := arm.ParseResourceID(in.Cluster)
			if err != nil {
				return false, err
			}
			cl, err := d.clientsFor(rid.SubscriptionID)
			if err != nil {
				return false, err
			}
			mc, err := (&env{d: d, cl: cl}).getCluster(ctx, rid.ResourceGroupName, rid.Name)
			if err != nil {
				return false, err
			}
			return mc == nil || mc.Properties != nil && deleting(mc.Properties.ProvisioningState), nil
		},
		ServiceAddresses: func(ctx context.Context, in kubernetes.ClusterInputs, svc *corev1.Service) ([]string, error) {
			name, group := svc.Annotations[pipAnnotation], svc.Annotations[annPIPResourceGroup]
			if name == "" || group == "" {
				return nil, nil
			}
			cl, err := d.clientsFor(d.subscriptionOf(in.Cluster))
			if err != nil {
				return nil, err
			}
			p, err := cl.pips.Get(ctx, group, name, nil)
			if isNotFound(err) { // released by hand: missing from the outputs
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("read the load balancer's public IP %s: %w", name, err)
			}
			if p.Properties == nil || deref(p.Properties.IPAddress) == "" {
				return nil, nil
			}
			return []string{deref(p.Properties.IPAddress)}, nil
		},
	}
}

// ClusterAccess finds the region's AKS cluster among its recorded
// resources and returns its endpoint and CA (recorded outputs) and, when
// asked, a fresh token from ListClusterUserCredentials. It implements
// kubernetes.Access.
func (d *Driver) ClusterAccess(ctx context.Context, req kubernetes.AccessRequest) (kubernetes.AccessResponse, error) {
	return kubernetes.Recorded{
		Driver: "azure", Service: "AKS", Type: TypeCluster,
		Where: func(cluster providers.Instance) (string, string, error) {
			var out clusterOut
			err := kit.Decode(cluster.Outputs, &out)
			return out.Endpoint, out.CACertificate, err
		},
		Token: func(ctx context.Context, cluster providers.Instance) (string, time.Time, error) {
			return d.clusterToken(ctx, cluster.ID)
		},
		Workload: workloadIdentity,
	}.ClusterAccess(ctx, req)
}

// workloadIdentity is what a deploy needs to let a Kubernetes service
// account act as a Microsoft Entra identity: the cluster's OIDC issuer,
// which a user-assigned managed identity's federated credential names with
// the subject and audience below, and the ServiceAccount annotation that
// names the identity's client id. nil without workload identity.
func workloadIdentity(_ []providers.Instance, cluster providers.Instance) *kubernetes.WorkloadIdentity {
	var in clusterIn
	var out clusterOut
	if kit.Decode(cluster.Inputs, &in) != nil || kit.Decode(cluster.Outputs, &out) != nil || !in.WorkloadIdentity || deref(out.OIDCIssuerURL) == "" {
		return nil
	}
	return &kubernetes.WorkloadIdentity{
		Issuer: deref(out.OIDCIssuerURL), Provider: deref(out.OIDCIssuerURL), Audience: "api://AzureADTokenExchange",
		ServiceAccountAnnotation: "azure.workload.identity/client-id",
		TrustSubject:             "system:serviceaccount:NAMESPACE:NAME",
	}
}

var _ kubernetes.Access = (*Driver)(nil)
