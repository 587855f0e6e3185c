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
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// The sandbox's AWS credentials: the static key regionctl's driver uses in
// sandbox mode. EKS tokens must be presigned with them.
const (
	AccessKeyID     = "sandbox"
	SecretAccessKey = "sandbox"
)

// EKS token format (aws-iam-authenticator): TokenPrefix + base64url of a
// presigned STS GetCallerIdentity URL whose signed headers include
// ClusterIDHeader set to the cluster's name.
const (
	TokenPrefix     = "k8s-aws-v1."
	ClusterIDHeader = "x-k8s-aws-id"
	// maxTokenAge is how long after signing a token is accepted, as
	// aws-iam-authenticator does (15 minutes), whatever X-Amz-Expires says.
	maxTokenAge = 15 * time.Minute
)

// emptySHA256 is the payload hash of a presigned GET.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// kubeID names a cluster's API server in sandbox/kube.
func kubeID(region, name string) string {
	return "aws-" + region + "-" + strings.ToLower(strings.ReplaceAll(name, "_", "-"))
}

// ensureKube starts (or finds) the API server of c and records its endpoint
// and CA in the cluster, as DescribeCluster returns them.
func (e *Emulator) ensureKube(c *clusterRec) error {
	name := deref(c.V.Name)
	info, err := e.env.Kube.Ensure(kubeID(c.Region, name), e.eksAuthenticator(c.Region, name, e.env.Account), eksBootstrap)
	if err != nil {
		return err
	}
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

// eksBootstrap creates what EKS puts in a new cluster: the gp2
// StorageClass, marked as the default class.
func eksBootstrap(ctx context.Context, cs kubernetes.Interface) error {
	del := corev1.PersistentVolumeReclaimDelete
	wait := storagev1.VolumeBindingWaitForFirstConsumer
	_, err := cs.StorageV1().StorageClasses().Create(ctx, &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "gp2", Annotations: map[string]string{
			"storageclass.kubernetes.io/is-default-class": "true",
		}},
		Provisioner:       "kubernetes.io/aws-ebs",
		Parameters:        map[string]string{"type": "gp2", "fsType": "ext4"},
		ReclaimPolicy:     &del,
		VolumeBindingMode: &wait,
	}, metav1.CreateOptions{FieldManager: "eks"})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// eksAuthenticator verifies EKS tokens for one cluster the way
// aws-iam-authenticator does, except that instead of forwarding the
// presigned request to STS it checks the SigV4 presignature itself against
// the sandbox's static credentials: the STS host, action and version, the
// algorithm, the access key, that the cluster-name header is signed with
// this cluster's name, the age and expiry, and the signature.
func (e *Emulator) eksAuthenticator(region, cluster, account string) emu.KubeAuthenticator {
	return func(token string) (emu.KubeUser, error) {
		if err := VerifyEKSToken(token, cluster, time.Now()); err != nil {
			return emu.KubeUser{}, err
		}
		return emu.KubeUser{
			Name:   "kubernetes-admin",
			UID:    "aws-iam-authenticator:" + account + ":AIDASANDBOXUSER",
			Groups: []string{"system:masters"},
		}, nil
	}
}

// VerifyEKSToken checks an EKS bearer token for cluster at time now; see
// eksAuthenticator.
func VerifyEKSToken(token, cluster string, now time.Time) error {
	raw, ok := strings.CutPrefix(token, TokenPrefix)
	if !ok {
		return errors.New("not an EKS token (no k8s-aws-v1. prefix)")
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return errors.New("EKS token is not base64url")
	}
	u, err := url.Parse(string(b))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("EKS token does not hold a URL")
	}
	if !stsHost(u.Hostname()) {
		return fmt.Errorf("EKS token URL host %q is not STS", u.Hostname())
	}
	q := u.Query()
	if q.Get("Action") != "GetCallerIdentity" || q.Get("Version") != "2011-06-15" {
		return errors.New("EKS token is not a presigned STS GetCallerIdentity")
	}
	if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" {
		return errors.New("EKS token: unsupported signing algorithm")
	}
	cred := strings.Split(q.Get("X-Amz-Credential"), "/")
	if len(cred) != 5 || cred[3] != "sts" || cred[4] != "aws4_request" {
		return errors.New("EKS token: malformed X-Amz-Credential")
	}
	if cred[0] != AccessKeyID {
		return errors.New("EKS token: InvalidClientTokenId: the access key is not the sandbox's")
	}
	signedHeaders := strings.Split(q.Get("X-Amz-SignedHeaders"), ";")
	if !contains(signedHeaders, "host") || !contains(signedHeaders, ClusterIDHeader) {
		return fmt.Errorf("EKS token: %s is not a signed header", ClusterIDHeader)
	}
	signedAt, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
	if err != nil {
		return errors.New("EKS token: bad X-Amz-Date")
	}
	expires, err := strconv.Atoi(q.Get("X-Amz-Expires"))
	if err != nil || expires <= 0 {
		return errors.New("EKS token: bad X-Amz-Expires")
	}
	life := min(time.Duration(expires)*time.Second, maxTokenAge)
	switch {
	case signedAt.After(now.Add(5 * time.Minute)):
		return errors.New("EKS token: signed in the future")
	case now.After(signedAt.Add(life)):
		return errors.New("EKS token: expired")
	}
	sig := q.Get("X-Amz-Signature")
	q.Del("X-Amz-Signature")
	check := *u
	check.RawQuery = q.Encode()
	req, err := http.NewRequest(http.MethodGet, check.String(), nil)
	if err != nil {
		return errors.New("EKS token: bad URL")
	}
	req.Header.Set(ClusterIDHeader, cluster)
	signed, _, err := v4.NewSigner().PresignHTTP(context.Background(),
		awssdk.Credentials{AccessKeyID: AccessKeyID, SecretAccessKey: SecretAccessKey},
		req, emptySHA256, "sts", cred[2], signedAt)
	if err != nil {
		return fmt.Errorf("EKS token: sign: %w", err)
	}
	su, err := url.Parse(signed)
	if err != nil {
		return errors.New("EKS token: bad URL")
	}
	if !hmac.Equal([]byte(su.Query().Get("X-Amz-Signature")), []byte(sig)) {
		return fmt.Errorf("EKS token: SignatureDoesNotMatch (not signed with the sandbox's key for cluster %s)", cluster)
	}
	return nil
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
