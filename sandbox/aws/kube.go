package aws

import (
	"context"
	"crypto/hmac"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// EKS token format (aws-iam-authenticator): TokenPrefix + base64url of a
// presigned STS GetCallerIdentity URL whose signed headers include
// ClusterIDHeader set to the cluster's name.
const (
	TokenPrefix     = "k8s-aws-v1."
	ClusterIDHeader = "x-k8s-aws-id"
	// MaxTokenAge is how long after signing a token is accepted, as
	// aws-iam-authenticator does: 15 minutes, whatever X-Amz-Expires says
	// (`aws eks get-token` sends 60; the authenticator ignores it).
	MaxTokenAge = 15 * time.Minute
)

// kubeID names a cluster's API server in sandbox/kube.
func kubeID(region, name string) string {
	return "aws-" + region + "-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// ensureKube starts (or finds) the API server of c and records its endpoint
// and CA in the cluster, as DescribeCluster returns them.
func (e *Emulator) ensureKube(c *clusterRec) error {
	name := deref(c.V.Name)
	id := kubeID(c.Region, name)
	info, err := e.env.Kube.Ensure(id, e.eksAuthenticator(c.Region, name), eksBootstrap(deref(c.V.Version)))
	if err != nil {
		return err
	}
	e.startAccessController(c.Region+"/"+name, id, rest.Config{Host: info.Endpoint, BearerToken: e.internalToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: info.CAPEM}})
	c.V.Endpoint = ptr(info.Endpoint)
	c.V.CertificateAuthority = &ekstypes.Certificate{Data: ptr(base64.StdEncoding.EncodeToString(info.CAPEM))}
	return nil
}

// restartKube restarts the API servers of the clusters a loaded state holds.
func (e *Emulator) restartKube() {
	if e.env.Kube == nil {
		return
	}
	for _, c := range e.st.Clusters {
		err := e.ensureKube(c)
		switch {
		case err == nil:
			c.KubeErr = ""
		case c.V.Status != ekstypes.ClusterStatusDeleting:
			c.KubeErr = err.Error() // a CREATING cluster then ends FAILED
		}
	}
}

// defaultGP2Before is the first Kubernetes minor whose new clusters get a
// gp2 StorageClass that is not marked default (EKS 1.30 release notes).
const defaultGP2Before = 30

// eksBootstrap returns what creates, in a new cluster of version, what EKS
// puts there: the gp2 StorageClass (in-tree EBS provisioner; marked default
// only for clusters created before 1.30), and the RBAC bindings through
// which access policies grant their permissions (see AccessPolicyGroup).
func eksBootstrap(version string) emu.KubeBootstrap {
	return func(ctx context.Context, cs kubernetes.Interface) error {
		del := corev1.PersistentVolumeReclaimDelete
		wait := storagev1.VolumeBindingWaitForFirstConsumer
		gp2 := &storagev1.StorageClass{
			ObjectMeta:        metav1.ObjectMeta{Name: "gp2"},
			Provisioner:       "kubernetes.io/aws-ebs",
			Parameters:        map[string]string{"type": "gp2", "fsType": "ext4"},
			ReclaimPolicy:     &del,
			VolumeBindingMode: &wait,
		}
		if m, ok := minor(version); ok && m < defaultGP2Before {
			gp2.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
		}
		opts := metav1.CreateOptions{FieldManager: "eks"}
		if _, err := cs.StorageV1().StorageClasses().Create(ctx, gp2, opts); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err := aggregateClusterRoles(ctx, cs); err != nil {
			return err
		}
		roles, bindings := policyBindings()
		for _, r := range roles {
			if _, err := cs.RbacV1().ClusterRoles().Create(ctx, r, opts); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		for _, b := range bindings {
			if _, err := cs.RbacV1().ClusterRoleBindings().Create(ctx, b, opts); err != nil && !apierrors.IsAlreadyExists(err) {
				return err
			}
		}
		return nil
	}
}

// aggregateClusterRoles fills in the rules of the aggregated ClusterRoles
// (admin, edit, view) from the roles their aggregation rules select, as
// kube-controller-manager's aggregation controller does in a real cluster
// (the sandbox runs no controller manager; without this, view grants
// nothing). It runs once, at bootstrap: roles labelled for aggregation
// later are not added.
func aggregateClusterRoles(ctx context.Context, cs kubernetes.Interface) error {
	all, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	roles := all.Items
	// Aggregated roles select each other (view feeds edit feeds admin):
	// recompute until nothing changes (a few passes; a cycle stops there).
	for changed, pass := true, 0; changed && pass < 5; pass++ {
		changed = false
		for i := range roles {
			if roles[i].AggregationRule == nil {
				continue
			}
			var rules []rbacv1.PolicyRule
			for _, sel := range roles[i].AggregationRule.ClusterRoleSelectors {
				s, err := metav1.LabelSelectorAsSelector(&sel)
				if err != nil {
					return err
				}
				for _, other := range roles {
					if other.Name != roles[i].Name && s.Matches(labels.Set(other.Labels)) {
						rules = append(rules, other.Rules...)
					}
				}
			}
			if len(rules) != len(roles[i].Rules) {
				roles[i].Rules, changed = rules, true
			}
		}
	}
	for i := range roles {
		if roles[i].AggregationRule == nil {
			continue
		}
		if _, err := cs.RbacV1().ClusterRoles().Update(ctx, &roles[i], metav1.UpdateOptions{FieldManager: "clusterrole-aggregation-controller"}); err != nil {
			return err
		}
	}
	return nil
}

// eksAuthenticator is the token webhook of one cluster: it verifies the
// token (VerifyEKSToken) against the account's access keys, then maps the
// IAM user that signed it to the Kubernetes user the cluster knows it as
// (clusterRec.kubeUser), from the emulator's state at that moment.
func (e *Emulator) eksAuthenticator(region, cluster string) emu.KubeAuthenticator {
	return func(token string) (emu.KubeUser, error) {
		if hmac.Equal([]byte(token), []byte(e.internalToken)) {
			return emu.KubeUser{Name: "regionctl-sandbox:eks-access-controller", Groups: []string{"system:masters"}}, nil
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		keyID, err := VerifyEKSToken(token, cluster, time.Now(), func(id string) (string, bool) {
			secret, _, ok := e.secretOf(id)
			return secret, ok
		})
		if err != nil {
			return emu.KubeUser{}, err
		}
		_, p, _ := e.secretOf(keyID)
		c, ok := e.st.Clusters[region+"/"+cluster]
		if !ok {
			return emu.KubeUser{}, fmt.Errorf("cluster %s is gone", cluster)
		}
		return c.kubeUser(p, e.env.Account)
	}
}

// VerifyEKSToken checks an EKS bearer token for cluster at time now the
// way aws-iam-authenticator does, except that instead of forwarding the
// presigned STS GetCallerIdentity to STS it checks the SigV4 presignature
// itself against secretOf (access key id → secret): the STS host, action
// and version, the algorithm, that the cluster-name header is signed with
// this cluster's name, the age (MaxTokenAge from X-Amz-Date; X-Amz-Expires
// is ignored, as the authenticator ignores it) and the signature. It
// returns the access key id that signed the token.
func VerifyEKSToken(token, cluster string, now time.Time, secretOf func(accessKeyID string) (string, bool)) (string, error) {
	raw, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return "", errors.New("not an EKS token (no k8s-aws-v1. prefix)")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return "", errors.New("EKS token is not base64url")
	}
	u, err := url.Parse(string(b))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return "", errors.New("EKS token does not hold a URL")
	}
	if !stsHost(u.Hostname()) {
		return "", fmt.Errorf("EKS token URL host %q is not STS", u.Hostname())
	}
	q := u.Query()
	if q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2011-06-15" {
		return "", errors.New("EKS token is not a presigned STS GetCallerIdentity")
	}
	req, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		return "", errors.New("EKS token: bad URL")
	}
	req.Header.Set(ClusterIDHeader, cluster)
	sig, fail := parseSigV4(req)
	switch {
	case fail != nil && fail.kind == authMissing:
		return "", errors.New("EKS token: the URL is not presigned")
	case fail != nil:
		return "", fmt.Errorf("EKS token: %s", fail.msg)
	case !sig.presigned || sig.service != "sts":
		return "", errors.New("EKS token: not presigned for sts")
	case !contains(sig.signedHeaders, ClusterIDHeader):
		return "", fmt.Errorf("EKS token: %s is not a signed header", ClusterIDHeader)
	case sig.at.After(now.Add(maxClockSkew)):
		return "", errors.New("EKS token: signed in the future")
	case now.After(sig.at.Add(MaxTokenAge)):
		return "", fmt.Errorf("EKS token: expired (X-Amz-Date %s is more than 15 minutes ago)", sig.at.Format("20060102T150405Z"))
	}
	secret, ok := secretOf(sig.keyID)
	if !ok {
		return "", errors.New("EKS token: InvalidClientTokenId: the access key is not one of the account's")
	}
	if !sig.matches(req, nil, secret) {
		return "", fmt.Errorf("EKS token: SignatureDoesNotMatch (not signed with that key's secret for cluster %s)", cluster)
	}
	return sig.keyID, nil
}

// stsHost reports whether host may serve STS: the real endpoints, or the
// sandbox itself on a loopback address.
func stsHost(host string) bool {
	if ip := net.ParseIP(host); ip != nil {
		return ip.IsLoopback()
	}
	return host == "localhost" || host == "sts.amazonaws.com" ||
		strings.HasPrefix(host, "sts.") && strings.HasSuffix(host, ".amazonaws.com")
}
