package aws

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	corev1 "k8s.io/api/core/v1"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/spec"
)

// EKS token format, as aws-iam-authenticator and `aws eks get-token` make it.
const (
	eksTokenPrefix     = "k8s-aws-v1."
	eksClusterIDHeader = "x-k8s-aws-id"
	// eksTokenLifetime is how long EKS accepts a token after it was
	// signed; clients renew a minute before.
	eksTokenLifetime = 15 * time.Minute
)

// Service annotations of the AWS load balancer (in-tree cloud provider and
// AWS Load Balancer Controller).
const (
	annLBType        = "service.beta.kubernetes.io/aws-load-balancer-type"
	annLBScheme      = "service.beta.kubernetes.io/aws-load-balancer-scheme"
	annLBInternal    = "service.beta.kubernetes.io/aws-load-balancer-internal"
	annEIPAllocation = "service.beta.kubernetes.io/aws-load-balancer-eip-allocations"
	annSubnets       = "service.beta.kubernetes.io/aws-load-balancer-subnets"
)

// EBS CSI StorageClass parameters per tier (docs/mapping.md).
const (
	ebsProvisioner = "ebs.csi.aws.com"
	ssdIOPS        = "6000"
	ssdThroughput  = "500" // MiB/s; gp3 allows up to IOPS/4
)

// storageClassParams maps a spec tier onto gp3 parameters.
func storageClassParams(tier string) map[string]string {
	p := map[string]string{"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
	if tier == spec.TierSSD {
		p["iops"] = ssdIOPS
		p["throughput"] = ssdThroughput
	}
	return p
}

// expandInCluster adds the StorageClasses and LoadBalancer Services of the
// region, inside the EKS cluster.
func expandInCluster(r *spec.Region, cluster, addon string, pools, publicSubnets, privateSubnets []string, lbEIPs map[string][]string) []providers.Resource {
	name := r.Metadata.Name
	refs := kubernetes.ClusterRefs{Address: cluster, Endpoint: "endpoint", CA: "certificate_authority_data", ID: "id", Location: r.Spec.Location}
	var out []providers.Resource
	for _, sc := range r.Spec.StorageClasses {
		class := kubernetes.StorageClassFor(sc, ebsProvisioner, storageClassParams(sc.Tier))
		out = append(out, kubernetes.StorageClassResource(name, refs, class, addon)) // the EBS CSI driver provisions the volumes
	}
	refList := func(addrs []string, output string) []any {
		l := make([]any, len(addrs))
		for i, a := range addrs {
			l[i] = providers.Ref(a, output)
		}
		return l
	}
	for _, lb := range r.Spec.LoadBalancers {
		svc := kubernetes.ServiceFor(lb)
		svc.Annotations[annLBType] = "nlb"
		if lb.Scheme == spec.SchemeInternal {
			svc.Annotations[annLBScheme] = "internal"
			svc.Annotations[annLBInternal] = "true"
			svc.AnnotationLists[annSubnets] = refList(privateSubnets, "id")
		} else {
			// One EIP per public subnet, in the same zone order.
			svc.Annotations[annLBScheme] = "internet-facing"
			svc.AnnotationLists[annEIPAllocation] = refList(lbEIPs[lb.Name], "id")
			svc.AnnotationLists[annSubnets] = refList(publicSubnets, "id")
		}
		out = append(out, kubernetes.ServiceResource(name, refs, svc, pools...)) // targets are nodes
	}
	return out
}

// kubeHandler is the in-cluster handler of this driver: EKS tokens from the
// driver's own AWS configuration, EIP addresses as Service outputs.
func (d *Driver) kubeHandler() *kubernetes.Handler {
	return &kubernetes.Handler{
		ForceConflicts: d.forceConflicts,
		Token: func(ctx context.Context, in kubernetes.ClusterInputs) (string, error) {
			tok, _, err := d.eksToken(ctx, in.Location, in.Cluster)
			return tok, err
		},
		ClusterGone: func(ctx context.Context, in kubernetes.ClusterInputs) (bool, error) {
			e := &env{d: d, cl: d.clientsFor(in.Location)}
			cl, err := e.describeCluster(ctx, in.Cluster)
			if err != nil {
				return false, err
			}
			return cl == nil || cl.Status == ekstypes.ClusterStatusDeleting, nil
		},
		ServiceAddresses: func(ctx context.Context, in kubernetes.ClusterInputs, svc *corev1.Service) ([]string, error) {
			ids := strings.Split(svc.Annotations[annEIPAllocation], ",")
			if ids[0] == "" {
				return nil, nil
			}
			// Described with the EIPs other reads of the region ask for at
			// the same time (an EIP released by hand is missing from the
			// outputs instead of failing the read).
			e := &env{d: d, cl: d.clientsFor(in.Location), loc: in.Location}
			byID, err := describeByID(ctx, e, "DescribeAddresses", ids, func(ctx context.Context, ids []string) ([]ec2types.Address, error) {
				return describeAddresses(ctx, e.cl.ec2, ids)
			}, allocationID)
			if err != nil {
				return nil, fmt.Errorf("describe the load balancer's EIPs: %w", err)
			}
			var addrs []string
			for _, id := range ids {
				if ip := aws.ToString(byID[id].PublicIp); ip != "" {
					addrs = append(addrs, ip)
				}
			}
			return addrs, nil
		},
	}
}

// eksToken returns a bearer token for EKS cluster `cluster` in location:
// "k8s-aws-v1." + base64url of a presigned STS GetCallerIdentity URL whose
// signed headers include x-k8s-aws-id: cluster — the token
// aws-iam-authenticator and `aws eks get-token` make. It is made locally
// (presigning is no API call), at call time, and never stored.
func (d *Driver) eksToken(ctx context.Context, location, cluster string) (string, time.Time, error) {
	if cluster == "" {
		return "", time.Time{}, errors.New("no EKS cluster name for the token")
	}
	cfg := d.base.Copy()
	if location != "" {
		cfg.Region = location
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if d.endpoint != "" {
			o.BaseEndpoint = aws.String(d.endpoint) // the sandbox's STS
		}
	})
	signedAt := time.Now()
	req, err := sts.NewPresignClient(client).PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(po *sts.PresignOptions) {
		po.ClientOptions = append(po.ClientOptions, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions,
				smithyhttp.SetHeaderValue(eksClusterIDHeader, cluster),
				smithyhttp.SetHeaderValue("X-Amz-Expires", strconv.Itoa(int(eksTokenLifetime/time.Second))))
		})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("presign STS GetCallerIdentity for EKS cluster %s: %w", cluster, err)
	}
	return eksTokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL)), signedAt.Add(eksTokenLifetime - time.Minute), nil
}

// ClusterAccess finds the region's EKS cluster among its recorded
// resources and returns its endpoint and CA (from the recorded outputs) and,
// when asked, a fresh token. It implements kubernetes.Access.
func (d *Driver) ClusterAccess(ctx context.Context, req kubernetes.AccessRequest) (kubernetes.AccessResponse, error) {
	return kubernetes.Recorded{
		Driver: "aws", Service: "EKS", Type: TypeEKSCluster,
		Where: func(cluster providers.Instance) (string, string, error) {
			var out clusterOut
			err := kit.Decode(cluster.Outputs, &out)
			return out.Endpoint, aws.ToString(out.CertificateAuthorityData), err
		},
		Token: func(ctx context.Context, cluster providers.Instance) (string, time.Time, error) {
			var in clusterIn
			if err := kit.Decode(cluster.Inputs, &in); err != nil {
				return "", time.Time{}, err
			}
			return d.eksToken(ctx, in.Location, cluster.ID)
		},
	}.ClusterAccess(ctx, req)
}

var _ kubernetes.Access = (*Driver)(nil)
