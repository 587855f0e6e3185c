package aws

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
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
// and CA in the cluster, as DescribeCluster returns them. The API server
// serves the cluster's version (or version, during an upgrade to it) and
// its service CIDR; pods get addresses of the VPC, as the VPC CNI gives
// them.
func (e *Emulator) ensureKube(c *clusterRec, version string) error {
	name := deref(c.V.Name)
	var podCIDR string
	if c.V.ResourcesVpcConfig != nil {
		if v, ok := e.st.Vpcs[deref(c.V.ResourcesVpcConfig.VpcId)]; ok {
			podCIDR = deref(v.V.CidrBlock)
		}
	}
	info, err := e.env.Kube.Ensure(kubeID(c.Region, name), emu.KubeSpec{
		Auth: e.eksAuthenticator(c.Region, name, e.env.Account), Bootstrap: eksBootstrap,
		Version: version, ServiceCIDR: deref(c.V.KubernetesNetworkConfig.ServiceIpv4Cidr), PodCIDR: podCIDR,
	})
	if err != nil {
		return err
	}
	c.V.Endpoint = ptr(info.Endpoint)
	c.V.CertificateAuthority = &ekstypes.Certificate{Data: ptr(base64.StdEncoding.EncodeToString(info.CAPEM))}
	return nil
}

// restartKube restarts the API servers of the clusters a loaded state holds,
// with their node groups' nodes.
func (e *Emulator) restartKube() {
	if e.env.Kube == nil {
		return
	}
	for _, c := range e.st.Clusters {
		err := e.ensureKube(c, e.servedVersion(c))
		switch {
		case err == nil:
			c.KubeErr = ""
			e.syncNodes(c)
		case c.V.Status != ekstypes.ClusterStatusDeleting:
			c.KubeErr = err.Error() // a CREATING cluster then ends FAILED
		}
	}
}

// servedVersion is the version c's API server serves: the cluster's, or
// the one a version update in progress moves it to (upgradeKube).
func (e *Emulator) servedVersion(c *clusterRec) string {
	for _, u := range c.Updates {
		if u.V.Status == ekstypes.UpdateStatusInProgress && u.Nodegroup == "" && u.Addon == "" && u.Version != "" && !u.Fail {
			return u.Version
		}
	}
	return deref(c.V.Version)
}

// upgradeKube restarts c's API server at the version of an update just
// accepted (UpdateClusterVersion): the update stays InProgress until it
// answers again (kubeUpgrading).
func (e *Emulator) upgradeKube(c *clusterRec) {
	if e.env.Kube == nil || c.KubeErr != "" {
		return
	}
	_ = e.ensureKube(c, e.servedVersion(c)) // the cluster's API server exists: Ensure only restarts it
}

// kubeUpgrading reports whether c's API server is still restarting at a
// new version, so a version update must not complete yet.
func (e *Emulator) kubeUpgrading(c *clusterRec) bool {
	if e.env.Kube == nil || c.KubeErr != "" {
		return false
	}
	st := e.env.Kube.State(kubeID(c.Region, deref(c.V.Name)))
	return !st.Ready && st.Err == nil
}

// nodesReady reports whether c's nodes are what its node groups last said
// (always without Kubernetes).
func (e *Emulator) nodesReady(c *clusterRec) bool {
	if e.env.Kube == nil || c.KubeErr != "" {
		return true
	}
	st := e.env.Kube.State(kubeID(c.Region, deref(c.V.Name)))
	return st.NodesReady || st.Err != nil
}

// eksServiceCIDR is the service CIDR EKS gives a cluster: the one asked for,
// which must be a private /12 to /24 outside the VPC's CIDRs, else
// 172.20.0.0/16 when the VPC's CIDR is in 10.0.0.0/8 and 10.100.0.0/16
// otherwise.
func eksServiceCIDR(requested string, vpcCIDRs []string) (string, *apiErr) {
	var vpc []netip.Prefix
	for _, s := range vpcCIDRs {
		if p, err := netip.ParsePrefix(s); err == nil {
			vpc = append(vpc, p)
		}
	}
	if requested == "" {
		ten := netip.MustParsePrefix("10.0.0.0/8")
		for _, p := range vpc {
			if ten.Overlaps(p) {
				return "172.20.0.0/16", nil
			}
		}
		return "10.100.0.0/16", nil
	}
	p, err := netip.ParsePrefix(requested)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return "", badParam("kubernetesNetworkConfig.serviceIpv4Cidr %s is not a valid IPv4 CIDR block.", requested)
	}
	private := false
	for _, r := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		if b := netip.MustParsePrefix(r); b.Bits() <= p.Bits() && b.Contains(p.Addr()) {
			private = true
		}
	}
	if !private || p.Bits() < 12 || p.Bits() > 24 {
		return "", badParam("The service IPv4 CIDR %s must be within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, with a prefix between /12 and /24.", requested)
	}
	for _, v := range vpc {
		if v.Overlaps(p) {
			return "", badParam("The service IPv4 CIDR %s overlaps with the VPC CIDR %s.", requested, v)
		}
	}
	return p.String(), nil
}

// syncNodes gives each of c's node groups its nodes (restart, cluster
// settle).
func (e *Emulator) syncNodes(c *clusterRec) {
	for name := range c.Nodegroups {
		e.syncNodegroup(c, name)
	}
}

// syncNodegroup tells the cluster's API server what nodes node group name
// has: desiredSize of them while it is CREATING (they join then), ACTIVE,
// UPDATING or DEGRADED; none once it failed, while it is DELETING (drained
// and terminated) and once it is gone. settleEKS holds CREATING, DELETING
// and node group updates until the nodes are there (nodesReady).
func (e *Emulator) syncNodegroup(c *clusterRec, name string) {
	if e.env.Kube == nil || c.KubeErr != "" {
		return
	}
	var nodes []emu.KubeNode
	if n, ok := c.Nodegroups[name]; ok {
		switch n.V.Status {
		case ekstypes.NodegroupStatusCreating, ekstypes.NodegroupStatusActive, ekstypes.NodegroupStatusUpdating, ekstypes.NodegroupStatusDegraded:
			nodes = e.nodegroupNodes(c, n)
		}
	}
	_ = e.env.Kube.SetNodePool(kubeID(c.Region, deref(c.V.Name)), name, nodes) // only fails for a cluster without an API server
}

// nodegroupNodes are the nodes of a managed node group as EKS registers
// them: spread over the group's subnets as its Auto Scaling group spreads
// instances, named after their private addresses, with the labels EKS and
// the AWS cloud provider set and the group's own labels and taints.
func (e *Emulator) nodegroupNodes(c *clusterRec, n *ngRec) []emu.KubeNode {
	ng := n.V
	size := int(deref(ng.ScalingConfig.DesiredSize))
	instanceType := "t3.medium"
	if len(ng.InstanceTypes) > 0 {
		instanceType = ng.InstanceTypes[0]
	}
	arch := "amd64"
	if strings.Contains(string(ng.AmiType), "ARM_64") {
		arch = "arm64"
	}
	cpu, mem, pods := ec2Capacity(instanceType)
	release := deref(ng.ReleaseVersion)
	kubelet, _, _ := strings.Cut(release, "-")
	labels := map[string]string{
		"eks.amazonaws.com/nodegroup":       deref(ng.NodegroupName),
		"eks.amazonaws.com/capacityType":    string(ng.CapacityType),
		"eks.amazonaws.com/nodegroup-image": "ami-" + shortHash(string(ng.AmiType)+release, 17),
		"k8s.io/cloud-provider-aws":         shortHash(deref(c.V.Arn), 32),
	}
	for k, v := range ng.Labels {
		labels[k] = v
	}
	var taints []emu.KubeTaint
	for _, t := range ng.Taints {
		taints = append(taints, emu.KubeTaint{Key: deref(t.Key), Value: deref(t.Value), Effect: eksTaintEffect[t.Effect]})
	}
	domain := c.Region + ".compute.internal"
	if c.Region == "us-east-1" {
		domain = "ec2.internal"
	}
	var out []emu.KubeNode
	for i := range size {
		subnet := e.st.Subnets[ng.Subnets[i%len(ng.Subnets)]]
		var zone, ip string
		if subnet != nil {
			zone = deref(subnet.V.AvailabilityZone)
			if p, err := netip.ParsePrefix(deref(subnet.V.CidrBlock)); err == nil {
				// Groups interleave: group slot s takes hosts 10+s, 10+s+32,
				// ... of each subnet (AWS keeps the first four addresses).
				a := p.Addr().As4()
				host := 10 + n.Slot + slotStride*(i/len(ng.Subnets))
				a[2] += byte(host >> 8)
				a[3] += byte(host)
				ip = netip.AddrFrom4(a).String()
			}
		}
		instance := "i-" + shortHash(fmt.Sprintf("%s/%d", deref(ng.NodegroupArn), i), 17)
		out = append(out, emu.KubeNode{
			Name:       "ip-" + strings.ReplaceAll(ip, ".", "-") + "." + domain,
			ProviderID: "aws:///" + zone + "/" + instance, InternalIP: ip,
			InstanceType: instanceType, Region: c.Region, Zone: zone, Arch: arch,
			Labels: labels, Taints: taints,
			KubeletVersion: "v" + kubelet + "-eks-" + shortHash(release, 7),
			OSImage:        "Amazon Linux 2023.9.20251120", ContainerRuntime: "containerd://2.1.4",
			CPU: cpu, Memory: mem, Pods: pods,
		})
	}
	return out
}

// slotStride is how many node groups of a cluster get distinct addresses.
const slotStride = 32

// freeSlot is the lowest slot no node group of c uses.
func freeSlot(c *clusterRec) int {
	used := map[int]bool{}
	for _, n := range c.Nodegroups {
		used[n.Slot] = true
	}
	s := 0
	for used[s] {
		s++
	}
	return s
}

// eksTaintEffect maps EKS's taint effects to Kubernetes'.
var eksTaintEffect = map[ekstypes.TaintEffect]string{
	ekstypes.TaintEffectNoSchedule:       "NoSchedule",
	ekstypes.TaintEffectNoExecute:        "NoExecute",
	ekstypes.TaintEffectPreferNoSchedule: "PreferNoSchedule",
}

// ec2Capacity is the capacity of an EC2 instance type from its name
// ("m7i.2xlarge": 8 vCPUs, 32Gi) and the pods the VPC CNI fits on it by
// default; empty for a name it cannot read (the node then gets kwok's
// defaults).
func ec2Capacity(instanceType string) (cpu, memory, pods string) {
	family, size, ok := strings.Cut(instanceType, ".")
	if !ok || family == "" {
		return "", "", ""
	}
	vcpus := map[string]int{"nano": 2, "micro": 2, "small": 2, "medium": 2, "large": 2, "xlarge": 4}[size]
	if n, ok := strings.CutSuffix(size, "xlarge"); ok && vcpus == 0 {
		if k, err := strconv.Atoi(n); err == nil {
			vcpus = 4 * k
		}
	}
	if vcpus == 0 {
		return "", "", ""
	}
	if size == "medium" && family[0] != 't' && strings.HasSuffix(family, "g") {
		vcpus = 1 // Graviton's medium sizes (m7g.medium) have one vCPU
	}
	var gib float64
	switch family[0] {
	case 't':
		gib = map[string]float64{"nano": 0.5, "micro": 1, "small": 2, "medium": 4, "large": 8}[size]
		if gib == 0 {
			gib = float64(vcpus) * 4
		}
	case 'c':
		gib = float64(vcpus) * 2
	case 'r', 'x':
		gib = float64(vcpus) * 8
	default:
		gib = float64(vcpus) * 4
	}
	maxPods := map[string]string{"nano": "4", "micro": "4", "small": "11", "medium": "17", "large": "29", "xlarge": "58", "2xlarge": "58"}[size]
	if maxPods == "" {
		maxPods = "234"
	}
	return strconv.Itoa(vcpus), strconv.Itoa(int(gib*1024)) + "Mi", maxPods
}

// shortHash is n hex digits derived from s, stable across runs.
func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
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

// vpcCIDRs are the IPv4 CIDR blocks associated with VPC id.
func (e *Emulator) vpcCIDRs(id string) []string {
	v, ok := e.st.Vpcs[id]
	if !ok {
		return nil
	}
	out := []string{deref(v.V.CidrBlock)}
	for _, a := range v.V.CidrBlockAssociationSet {
		if b := deref(a.CidrBlock); b != out[0] {
			out = append(out, b)
		}
	}
	return out
}
