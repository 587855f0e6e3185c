package sandbox_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/regionctl/regionctl/sandbox"
)

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func role(t *testing.T, c *clients, name string, policies ...string) string {
	t.Helper()
	ctx := context.Background()
	out, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust),
		Tags: []iamtypes.Tag{{Key: aws.String("regionctl:region"), Value: aws.String("r1")}}})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	for _, p := range policies {
		if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String("arn:aws:iam::aws:policy/" + p)}); err != nil {
			t.Fatalf("AttachRolePolicy %s: %v", p, err)
		}
	}
	return aws.ToString(out.Role.Arn)
}

func TestIAMRoles(t *testing.T) {
	c := start(t, sandboxOpts())
	ctx := context.Background()
	arn := role(t, c, "cluster", "AmazonEKSClusterPolicy")
	if arn != "arn:aws:iam::123456789012:role/cluster" {
		t.Errorf("arn = %s", arn)
	}
	got, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("cluster")})
	if err != nil {
		t.Fatalf("GetRole: %v", err)
	}
	doc, err := url.QueryUnescape(aws.ToString(got.Role.AssumeRolePolicyDocument))
	if err != nil || doc != trust {
		t.Errorf("trust policy (URL-encoded as IAM returns it) decodes to %q, %v", doc, err)
	}
	if got.Role.CreateDate == nil || aws.ToString(got.Role.RoleId) == "" || len(got.Role.Tags) != 1 {
		t.Errorf("GetRole = %+v", got.Role)
	}
	if _, err := c.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("cluster"), Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("dev")}}}); err != nil {
		t.Fatalf("TagRole: %v", err)
	}
	tags, err := c.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("cluster")})
	if err != nil || len(tags.Tags) != 2 {
		t.Fatalf("ListRoleTags = %+v, %v", tags, err)
	}
	pols, err := c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("cluster")})
	if err != nil || len(pols.AttachedPolicies) != 1 || aws.ToString(pols.AttachedPolicies[0].PolicyName) != "AmazonEKSClusterPolicy" {
		t.Fatalf("ListAttachedRolePolicies = %+v, %v", pols, err)
	}

	var nse *iamtypes.NoSuchEntityException
	if _, err := c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")}); !errors.As(err, &nse) {
		t.Errorf("GetRole unknown: %v, want NoSuchEntityException", err)
	}
	var exists *iamtypes.EntityAlreadyExistsException
	if _, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("cluster"), AssumeRolePolicyDocument: aws.String(trust)}); !errors.As(err, &exists) {
		t.Errorf("CreateRole twice: %v, want EntityAlreadyExistsException", err)
	}
	var conflict *iamtypes.DeleteConflictException
	if _, err := c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("cluster")}); !errors.As(err, &conflict) {
		t.Errorf("DeleteRole with policies: %v, want DeleteConflictException", err)
	}
	var malformed *iamtypes.MalformedPolicyDocumentException
	if _, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bad"), AssumeRolePolicyDocument: aws.String("{")}); !errors.As(err, &malformed) {
		t.Errorf("CreateRole bad policy: %v, want MalformedPolicyDocumentException", err)
	}
	if _, err := c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("cluster"), PolicyArn: aws.String("arn:aws:iam::aws:policy/NoSuchPolicy")}); !errors.As(err, &nse) {
		t.Errorf("AttachRolePolicy unknown policy: %v, want NoSuchEntityException", err)
	}
	if _, err := c.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("cluster"), PolicyArn: aws.String("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy")}); err != nil {
		t.Fatalf("DetachRolePolicy: %v", err)
	}
	if _, err := c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("cluster")}); err != nil {
		t.Fatalf("DeleteRole: %v", err)
	}
	if left := c.sb.List(); len(left) != 0 {
		t.Errorf("left behind: %+v", left)
	}
}

func fastWaiter(o *eks.ClusterActiveWaiterOptions) {
	o.MinDelay = time.Millisecond
	o.MaxDelay = 5 * time.Millisecond
}

func TestEKSLifecycle(t *testing.T) {
	c := start(t, sandbox.Options{Latency: map[string]time.Duration{"*": 20 * time.Millisecond}})
	ctx := context.Background()
	vpc, subnets := network(t, c)
	_ = vpc
	clusterRole := role(t, c, "cluster", "AmazonEKSClusterPolicy")
	nodeRole := role(t, c, "nodes", "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")

	cr, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("demo"), RoleArn: aws.String(clusterRole), Version: aws.String("1.33"),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}, Tags: map[string]string{"regionctl:region": "r1"}})
	if err != nil {
		t.Fatalf("CreateCluster: %v", err)
	}
	if cr.Cluster.Status != ekstypes.ClusterStatusCreating || aws.ToString(cr.Cluster.Arn) != "arn:aws:eks:us-east-1:123456789012:cluster/demo" {
		t.Errorf("CreateCluster = %s %s", cr.Cluster.Status, aws.ToString(cr.Cluster.Arn))
	}
	var inUse *ekstypes.ResourceInUseException
	if _, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("demo"), RoleArn: aws.String(clusterRole),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}}); !errors.As(err, &inUse) {
		t.Errorf("CreateCluster twice: %v, want ResourceInUseException", err)
	}
	if err := eks.NewClusterActiveWaiter(c.eks, fastWaiter).Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, time.Minute); err != nil {
		t.Fatalf("ClusterActiveWaiter: %v", err)
	}
	dc, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
	if err != nil || dc.Cluster.Status != ekstypes.ClusterStatusActive || aws.ToString(dc.Cluster.ResourcesVpcConfig.VpcId) != vpc ||
		dc.Cluster.CertificateAuthority == nil || dc.Cluster.CreatedAt == nil || dc.Cluster.Tags["regionctl:region"] != "r1" {
		t.Fatalf("DescribeCluster = %+v, %v", dc.Cluster, err)
	}
	list, err := c.eks.ListClusters(ctx, &eks.ListClustersInput{})
	if err != nil || len(list.Clusters) != 1 {
		t.Fatalf("ListClusters = %+v, %v", list, err)
	}

	// Version upgrades go one minor at a time.
	var badParam *ekstypes.InvalidParameterException
	if _, err := c.eks.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("demo"), Version: aws.String("1.35")}); !errors.As(err, &badParam) {
		t.Errorf("skip a minor: %v, want InvalidParameterException", err)
	}
	up, err := c.eks.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: aws.String("demo"), Version: aws.String("1.34")})
	if err != nil {
		t.Fatalf("UpdateClusterVersion: %v", err)
	}
	uw := eks.NewClusterActiveWaiter(c.eks, fastWaiter)
	if err := uw.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, time.Minute); err != nil {
		t.Fatalf("wait after upgrade: %v", err)
	}
	du, err := c.eks.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: aws.String("demo"), UpdateId: up.Update.Id})
	if err != nil || du.Update.Status != ekstypes.UpdateStatusSuccessful {
		t.Fatalf("DescribeUpdate = %+v, %v", du, err)
	}
	dc, _ = c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
	if aws.ToString(dc.Cluster.Version) != "1.34" {
		t.Errorf("version after upgrade = %s", aws.ToString(dc.Cluster.Version))
	}
	cfgUp, err := c.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{Name: aws.String("demo"),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{EndpointPrivateAccess: aws.Bool(true), PublicAccessCidrs: []string{"203.0.113.0/24"}}})
	if err != nil || cfgUp.Update.Type != ekstypes.UpdateTypeEndpointAccessUpdate {
		t.Fatalf("UpdateClusterConfig = %+v, %v", cfgUp, err)
	}
	if err := uw.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, time.Minute); err != nil {
		t.Fatalf("wait after config: %v", err)
	}

	// Node group.
	ng, err := c.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("general"),
		NodeRole: aws.String(nodeRole), Subnets: subnets, Version: aws.String("1.34"), InstanceTypes: []string{"m6i.large"},
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(2)},
		Labels:        map[string]string{"pool": "general"}, Taints: []ekstypes.Taint{{Key: aws.String("dedicated"), Value: aws.String("x"), Effect: ekstypes.TaintEffectNoSchedule}}})
	if err != nil || ng.Nodegroup.Status != ekstypes.NodegroupStatusCreating {
		t.Fatalf("CreateNodegroup = %+v, %v", ng, err)
	}
	nw := eks.NewNodegroupActiveWaiter(c.eks, func(o *eks.NodegroupActiveWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = 5 * time.Millisecond
	})
	ngIn := &eks.DescribeNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("general")}
	if err := nw.Wait(ctx, ngIn, time.Minute); err != nil {
		t.Fatalf("NodegroupActiveWaiter: %v", err)
	}
	ngs, err := c.eks.ListNodegroups(ctx, &eks.ListNodegroupsInput{ClusterName: aws.String("demo")})
	if err != nil || len(ngs.Nodegroups) != 1 {
		t.Fatalf("ListNodegroups = %+v, %v", ngs, err)
	}
	if _, err := c.eks.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("general"),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{DesiredSize: aws.Int32(3)},
		Labels:        &ekstypes.UpdateLabelsPayload{AddOrUpdateLabels: map[string]string{"tier": "web"}, RemoveLabels: []string{"pool"}},
		Taints:        &ekstypes.UpdateTaintsPayload{RemoveTaints: []ekstypes.Taint{{Key: aws.String("dedicated"), Effect: ekstypes.TaintEffectNoSchedule}}}}); err != nil {
		t.Fatalf("UpdateNodegroupConfig: %v", err)
	}
	if err := nw.Wait(ctx, ngIn, time.Minute); err != nil {
		t.Fatalf("wait after UpdateNodegroupConfig: %v", err)
	}
	dn, err := c.eks.DescribeNodegroup(ctx, ngIn)
	if err != nil || aws.ToInt32(dn.Nodegroup.ScalingConfig.DesiredSize) != 3 || dn.Nodegroup.Labels["tier"] != "web" || dn.Nodegroup.Labels["pool"] != "" || len(dn.Nodegroup.Taints) != 0 {
		t.Fatalf("DescribeNodegroup after update = %+v, %v", dn.Nodegroup, err)
	}
	if _, err := c.eks.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("general")}); err != nil {
		t.Fatalf("UpdateNodegroupVersion: %v", err)
	}
	if err := nw.Wait(ctx, ngIn, time.Minute); err != nil {
		t.Fatalf("wait after UpdateNodegroupVersion: %v", err)
	}

	// Add-on.
	vers, err := c.eks.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String("aws-ebs-csi-driver"), KubernetesVersion: aws.String("1.34")})
	if err != nil || len(vers.Addons) != 1 || len(vers.Addons[0].AddonVersions) == 0 || !vers.Addons[0].AddonVersions[0].Compatibilities[0].DefaultVersion {
		t.Fatalf("DescribeAddonVersions = %+v, %v", vers, err)
	}
	if _, err := c.eks.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: aws.String("demo"), AddonName: aws.String("aws-ebs-csi-driver"),
		AddonVersion: vers.Addons[0].AddonVersions[1].AddonVersion}); err != nil {
		t.Fatalf("CreateAddon: %v", err)
	}
	aw := eks.NewAddonActiveWaiter(c.eks, func(o *eks.AddonActiveWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = 5 * time.Millisecond
	})
	addonIn := &eks.DescribeAddonInput{ClusterName: aws.String("demo"), AddonName: aws.String("aws-ebs-csi-driver")}
	if err := aw.Wait(ctx, addonIn, time.Minute); err != nil {
		t.Fatalf("AddonActiveWaiter: %v", err)
	}
	if _, err := c.eks.UpdateAddon(ctx, &eks.UpdateAddonInput{ClusterName: aws.String("demo"), AddonName: aws.String("aws-ebs-csi-driver"),
		AddonVersion: vers.Addons[0].AddonVersions[0].AddonVersion}); err != nil {
		t.Fatalf("UpdateAddon: %v", err)
	}
	if err := aw.Wait(ctx, addonIn, time.Minute); err != nil {
		t.Fatalf("wait after UpdateAddon: %v", err)
	}
	da, err := c.eks.DescribeAddon(ctx, addonIn)
	if err != nil || aws.ToString(da.Addon.AddonVersion) != aws.ToString(vers.Addons[0].AddonVersions[0].AddonVersion) {
		t.Fatalf("DescribeAddon = %+v, %v", da, err)
	}

	// Tags.
	if _, err := c.eks.TagResource(ctx, &eks.TagResourceInput{ResourceArn: dc.Cluster.Arn, Tags: map[string]string{"env": "dev"}}); err != nil {
		t.Fatalf("TagResource: %v", err)
	}
	lt, err := c.eks.ListTagsForResource(ctx, &eks.ListTagsForResourceInput{ResourceArn: dc.Cluster.Arn})
	if err != nil || lt.Tags["env"] != "dev" || lt.Tags["regionctl:region"] != "r1" {
		t.Fatalf("ListTagsForResource = %+v, %v", lt, err)
	}

	// Errors with the SDK's typed exceptions.
	var nf *ekstypes.ResourceNotFoundException
	if _, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("nope")}); !errors.As(err, &nf) || aws.ToString(nf.Message) != "No cluster found for name: nope." || aws.ToString(nf.ClusterName) != "nope" {
		t.Errorf("DescribeCluster unknown: %v", err)
	}
	if _, err := c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("nope")}); !errors.As(err, &nf) {
		t.Errorf("DescribeNodegroup unknown: %v", err)
	}
	if _, err := c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("demo")}); !errors.As(err, &inUse) {
		t.Errorf("DeleteCluster with node groups: %v, want ResourceInUseException", err)
	}
	if _, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("one-az"), RoleArn: aws.String(clusterRole),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets[:1]}}); !errors.As(err, &badParam) {
		t.Errorf("one subnet: %v, want InvalidParameterException", err)
	}

	// Teardown.
	if _, err := c.eks.DeleteAddon(ctx, &eks.DeleteAddonInput{ClusterName: aws.String("demo"), AddonName: aws.String("aws-ebs-csi-driver")}); err != nil {
		t.Fatalf("DeleteAddon: %v", err)
	}
	if _, err := c.eks.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("general")}); err != nil {
		t.Fatalf("DeleteNodegroup: %v", err)
	}
	ndw := eks.NewNodegroupDeletedWaiter(c.eks, func(o *eks.NodegroupDeletedWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = 5 * time.Millisecond
	})
	if err := ndw.Wait(ctx, ngIn, time.Minute); err != nil {
		t.Fatalf("NodegroupDeletedWaiter: %v", err)
	}
	if _, err := c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("demo")}); err != nil {
		t.Fatalf("DeleteCluster: %v", err)
	}
	cdw := eks.NewClusterDeletedWaiter(c.eks, func(o *eks.ClusterDeletedWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = 5 * time.Millisecond
	})
	if err := cdw.Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}, time.Minute); err != nil {
		t.Fatalf("ClusterDeletedWaiter: %v", err)
	}
	for _, o := range c.sb.List() {
		if strings.HasPrefix(o.Type, "eks:") || strings.HasPrefix(o.Name, "eks-cluster-sg-") {
			t.Errorf("left behind: %+v", o)
		}
	}
}
