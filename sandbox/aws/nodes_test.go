package aws_test

import (
	"context"
	"encoding/base64"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/sandbox/kube"
)

// eksCluster asks for cluster name in a new VPC of vpcCIDR (two subnets,
// the first two /24s), at version, with the service CIDR asked for (""
// for EKS's choice). It returns the node role ARN too.
func eksCluster(t *testing.T, c *clients, name, vpcCIDR, version, serviceCIDR string) (*eks.CreateClusterOutput, string, error) {
	t.Helper()
	ctx := context.Background()
	role, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name + "-role"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(vpcCIDR)})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	base := strings.Join(strings.Split(vpcCIDR, ".")[:2], ".")
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String(base + []string{".1.0/24", ".2.0/24"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatalf("CreateSubnet: %v", err)
		}
		subnets = append(subnets, aws.ToString(sn.Subnet.SubnetId))
	}
	in := &eks.CreateClusterInput{Name: aws.String(name), RoleArn: role.Role.Arn, ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}}
	if version != "" {
		in.Version = aws.String(version)
	}
	if serviceCIDR != "" {
		in.KubernetesNetworkConfig = &ekstypes.KubernetesNetworkConfigRequest{ServiceIpv4Cidr: aws.String(serviceCIDR)}
	}
	out, err := c.eks.CreateCluster(ctx, in)
	return out, aws.ToString(role.Role.Arn), err
}

// TestServiceCIDR: EKS's service CIDR is 172.20.0.0/16 for a VPC in
// 10.0.0.0/8, 10.100.0.0/16 otherwise, or the one asked for when it is a
// private /12../24 outside the VPC.
func TestServiceCIDR(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	for i, tc := range []struct {
		vpc, asked, want, wantErr string
	}{
		{vpc: "10.0.0.0/16", want: "172.20.0.0/16"},
		{vpc: "192.168.0.0/16", want: "10.100.0.0/16"},
		{vpc: "172.31.0.0/16", want: "10.100.0.0/16"},
		{vpc: "10.0.0.0/16", asked: "192.168.128.0/20", want: "192.168.128.0/20"},
		{vpc: "10.0.0.0/16", asked: "10.0.128.0/20", wantErr: "overlaps"},
		{vpc: "10.0.0.0/16", asked: "8.8.0.0/16", wantErr: "must be within"},
		{vpc: "10.0.0.0/16", asked: "172.16.0.0/26", wantErr: "between /12 and /24"},
	} {
		name := "c" + string(rune('a'+i))
		out, _, err := eksCluster(t, c, name, tc.vpc, "", tc.asked)
		if tc.wantErr != "" {
			if errCode(err) != "InvalidParameterException" || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("VPC %s, asked %s: %v; want InvalidParameterException (%s)", tc.vpc, tc.asked, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("VPC %s, asked %q: %v", tc.vpc, tc.asked, err)
		}
		if got := aws.ToString(out.Cluster.KubernetesNetworkConfig.ServiceIpv4Cidr); got != tc.want {
			t.Errorf("VPC %s, asked %q: serviceIpv4Cidr %s, want %s", tc.vpc, tc.asked, got, tc.want)
		}
	}
}

// TestNodegroupNodes: an EKS cluster's API server serves its minor and
// service CIDR; node groups' nodes are Ready with EKS's labels (nodegroup,
// capacityType), the group's own labels and taints, their instance type,
// architecture and zones; a pod for the spot group runs there; scaling and
// deleting node groups change the nodes; a version update moves the served
// minor; deleting the cluster stops every process.
func TestNodegroupNodes(t *testing.T) {
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	sb, c, cfg := kubeSandbox(t, t.TempDir())
	_, nodeRole, err := eksCluster(t, c, "demo", "10.0.0.0/16", "1.33", "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := eks.NewClusterActiveWaiter(c.eks, func(o *eks.ClusterActiveWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).WaitForOutput(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := base64.StdEncoding.DecodeString(aws.ToString(out.Cluster.CertificateAuthority.Data))
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: aws.ToString(out.Cluster.Endpoint), BearerToken: eksToken(t, cfg, "demo"), TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
	if err != nil {
		t.Fatal(err)
	}
	minor, ip, err := kube.Serving(ctx, cs)
	if got := aws.ToString(out.Cluster.KubernetesNetworkConfig.ServiceIpv4Cidr); minor != "33" || got != "172.20.0.0/16" || ip != "172.20.0.1" || err != nil {
		t.Errorf("a 1.33 cluster of service CIDR %s serves minor %s and kubernetes at %s (%v); want 1.33 and 172.20.0.1", got, minor, ip, err)
	}

	subnets := out.Cluster.ResourcesVpcConfig.SubnetIds
	for _, ng := range []*eks.CreateNodegroupInput{
		{NodegroupName: aws.String("general"), InstanceTypes: []string{"t3.medium"}, Labels: map[string]string{"role": "general"},
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(1)}},
		{NodegroupName: aws.String("batch"), CapacityType: ekstypes.CapacityTypesSpot, InstanceTypes: []string{"m7g.large"}, AmiType: ekstypes.AMITypesAl2023Arm64Standard,
			Labels: map[string]string{"role": "batch"}, Taints: []ekstypes.Taint{{Key: aws.String("dedicated"), Value: aws.String("batch"), Effect: ekstypes.TaintEffectNoSchedule}},
			ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(0), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(2)}},
	} {
		ng.ClusterName, ng.NodeRole, ng.Subnets = aws.String("demo"), aws.String(nodeRole), subnets
		if _, err := c.eks.CreateNodegroup(ctx, ng); err != nil {
			t.Fatal(err)
		}
		if err := eks.NewNodegroupActiveWaiter(c.eks, func(o *eks.NodegroupActiveWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		}).Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: ng.NodegroupName}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	km := sb.Kube()
	const id = "aws-us-east-1-demo"
	// ACTIVE means the group's nodes joined: they are there, Ready.
	nodesNow := func(selector string, want int) []corev1.Node {
		t.Helper()
		nodes, ready, err := kube.NodesNow(ctx, cs, selector)
		if err != nil || len(nodes) != want || ready != want {
			t.Fatalf("nodes %s: %d, %d Ready (%v); want %d Ready", selector, len(nodes), ready, err, want)
		}
		return nodes
	}
	nameRE := regexp.MustCompile(`^ip-10-0-[12]-\d+\.ec2\.internal$`)
	general := nodesNow("eks.amazonaws.com/nodegroup=general", 1)
	if n := general[0]; n.Labels["eks.amazonaws.com/capacityType"] != "ON_DEMAND" || n.Labels["kubernetes.io/arch"] != "amd64" || n.Labels["role"] != "general" ||
		!nameRE.MatchString(n.Name) || len(n.Spec.Taints) != 0 || !strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "v1.33.") {
		t.Errorf("general node %s: labels %v, taints %v, kubelet %s", n.Name, n.Labels, n.Spec.Taints, n.Status.NodeInfo.KubeletVersion)
	}
	spot := nodesNow("eks.amazonaws.com/capacityType=SPOT", 2)
	zones := map[string]bool{}
	for _, n := range spot {
		zones[n.Labels["topology.kubernetes.io/zone"]] = true
		if n.Labels["eks.amazonaws.com/nodegroup"] != "batch" || n.Labels["kubernetes.io/arch"] != "arm64" || n.Labels["node.kubernetes.io/instance-type"] != "m7g.large" ||
			n.Labels["role"] != "batch" || !nameRE.MatchString(n.Name) || !strings.HasPrefix(n.Spec.ProviderID, "aws:///us-east-1") ||
			!kube.HasTaint(n, "dedicated", "batch", corev1.TaintEffectNoSchedule) ||
			n.Status.Capacity.Cpu().String() != "2" || n.Status.Capacity.Memory().String() != "8Gi" {
			t.Errorf("spot node %s: labels %v, taints %v, providerID %s, capacity %v", n.Name, n.Labels, n.Spec.Taints, n.Spec.ProviderID, n.Status.Capacity)
		}
	}
	if len(zones) != 2 {
		t.Errorf("spot nodes in zones %v, want both subnets' zones", zones)
	}
	pod, err := kube.RunPod(ctx, cs, "batch-job", map[string]string{"eks.amazonaws.com/capacityType": "SPOT"},
		corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(spot, func(n corev1.Node) bool { return n.Name == pod.Spec.NodeName }) {
		t.Errorf("the spot pod runs on %s, not on a node of the spot group", pod.Spec.NodeName)
	}

	// Scaling is immediate (the Auto Scaling group's desired size).
	if _, err := c.eks.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("batch"),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{DesiredSize: aws.Int32(3)}}); err != nil {
		t.Fatal(err)
	}
	if err := km.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.ReadyNodes(ctx, cs, "eks.amazonaws.com/nodegroup=batch", 3); err != nil {
		t.Error(err)
	}

	// A version update completes once the API server serves the new minor.
	upd, err := c.eks.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("demo"), Version: aws.String("1.34")})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if d, err := c.eks.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: aws.String("demo"), UpdateId: upd.Update.Id}); err != nil || d.Update.Status != ekstypes.UpdateStatusSuccessful {
		t.Fatalf("version update: %v %v", d, err)
	}
	if m, _, err := kube.Serving(ctx, cs); m != "34" || err != nil {
		t.Errorf("after the update to 1.34 the API server serves minor %s (%v)", m, err)
	}

	for _, ng := range []string{"general", "batch"} {
		if _, err := c.eks.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String(ng)}); err != nil {
			t.Fatal(err)
		}
		if err := eks.NewNodegroupDeletedWaiter(c.eks, func(o *eks.NodegroupDeletedWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		}).Wait(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String(ng)}, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	nodesNow("eks.amazonaws.com/nodegroup", 0) // DELETING until the nodes are gone

	procs := km.Processes(id)
	if len(procs) != 4 {
		t.Errorf("processes of a cluster that had nodes: %v, want kube-apiserver, kube-controller-manager, kube-scheduler, kwok", procs)
	}
	if _, err := c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	if err := eks.NewClusterDeletedWaiter(c.eks, func(o *eks.ClusterDeletedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
	}).Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, pid := range procs {
		if kube.Alive(pid) {
			t.Errorf("%s (pid %d) still runs after the cluster was deleted", name, pid)
		}
	}
}
