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
// and CA in the cluster, as DescribeCluster returns them. The API server
// serves the cluster's version (or version, during an upgrade to it) and
// its service CIDR; pods get addresses of the VPC, as the VPC CNI gives
// them.
func (e *Emulator) ensureKube(c *clusterRec, version string) error {
	name := deref(c.V.Name)
	id := kubeID(c.Region, name)
	var podCIDR string
	if c.V.ResourcesVpcConfig != nil {
		if v, ok := e.st.Vpcs[deref(c.V.ResourcesVpcConfig.VpcId)]; ok {
			podCIDR = deref(v.V.CidrBlock)
		}
	}
	info, err := e.env.Kube.Ensure(id, emu.KubeSpec{
		Auth: e.eksAuthenticator(c.Region, name), Bootstrap: eksBootstrap(deref(c.V.Version)),
		Version: version, ServiceCIDR: deref(c.V.KubernetesNetworkConfig.ServiceIpv4Cidr), PodCIDR: podCIDR,
	})
	if err != nil {
		return err
	}
	e.startAccessController(c.Region+"/"+name, id, rest.Config{Host: info.Endpoint, BearerToken: e.internalToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: info.CAPEM}})
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
