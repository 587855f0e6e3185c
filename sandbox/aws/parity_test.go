package aws_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/internal/parity"
)

// awsGaps are the known differences between the emulator's replies and
// botocore's models, each with its reason. Keep it short: fix the emulator
// instead where that can be done.
var awsGaps = []parity.Gap{
	{Op: "ec2:DescribeInternetGateways", Path: "internetGatewaySet[].attachmentSet[].state", Kind: parity.Enum,
		Reason: "EC2 answers \"available\" for an attached internet gateway, as the member's documentation in the model says; its AttachmentStatus enum omits the value"},
}

// TestBotocoreParity drives every operation the AWS emulator serves through
// the SDK clients, records each reply and checks it against botocore's
// service model of its operation (no member the model lacks, required
// members present, enum values and types as modelled, error codes the
// operation models), then proves no served operation went unchecked.
func TestBotocoreParity(t *testing.T) {
	models := parity.AWSModels(t)
	sb, cfg := newSandbox(t, "us-east-1")
	rec := &parity.Recorder{}
	cfg.HTTPClient = rec
	c := newClients(cfg)
	driveAWS(t, c, sts.NewFromConfig(cfg))

	report := checkAWS(t, models, rec)
	report.Verify(t, awsGaps)
	if missing := report.Missing(servedAWSOperations(t, sb, models)); len(missing) > 0 {
		t.Errorf("served but not checked (drive them in driveAWS): %v", missing)
	}
}

// TestBotocoreParityInFlight: replies while things are in flight —
// clusters, node groups and add-ons CREATING, UPDATING and DELETING,
// updates InProgress, NAT gateways pending and deleting — on a sandbox with
// its default latencies and a clock the test steps.
func TestBotocoreParityInFlight(t *testing.T) {
	models := parity.AWSModels(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	step := func() { mu.Lock(); defer mu.Unlock(); now = now.Add(5 * time.Second) } // past every default latency
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir(), Clock: clock, NoKubernetes: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	rec := &parity.Recorder{}
	c := newClients(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.Endpoints()["aws"]), Credentials: sb.AWSCredentials().Provider(),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }, HTTPClient: rec})
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	out, err := createCluster(t, c, "flight")
	must("CreateCluster", err)
	name, subnets := out.Cluster.Name, out.Cluster.ResourcesVpcConfig.SubnetIds
	eip, err := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	must("AllocateAddress", err)
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: eip.AllocationId})
	must("CreateNatGateway", err)
	natIDs := []string{*nat.NatGateway.NatGatewayId}
	describe := func(cluster ekstypes.ClusterStatus, gateway ec2types.NatGatewayState) {
		t.Helper()
		cl, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: name})
		must("DescribeCluster", err)
		gw, err := c.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: natIDs})
		must("DescribeNatGateways", err)
		if cl.Cluster.Status != cluster || gw.NatGateways[0].State != gateway {
			t.Errorf("cluster %s, NAT gateway %s; want %s, %s", cl.Cluster.Status, gw.NatGateways[0].State, cluster, gateway)
		}
	}
	describe(ekstypes.ClusterStatusCreating, ec2types.NatGatewayStatePending)
	step()
	describe(ekstypes.ClusterStatusActive, ec2types.NatGatewayStateAvailable)
	up, err := c.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{Name: name, Logging: &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{
		{Enabled: aws.Bool(true), Types: []ekstypes.LogType{ekstypes.LogTypeApi}}}}})
	must("UpdateClusterConfig", err)
	u, err := c.eks.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: name, UpdateId: up.Update.Id})
	must("DescribeUpdate", err)
	if u.Update.Status != ekstypes.UpdateStatusInProgress {
		t.Errorf("update %s, want InProgress", u.Update.Status)
	}
	describe(ekstypes.ClusterStatusUpdating, ec2types.NatGatewayStateAvailable)
	step()
	_, err = c.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool"), NodeRole: out.Cluster.RoleArn, Subnets: subnets})
	must("CreateNodegroup", err)
	_, err = c.eks.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: name, AddonName: aws.String("vpc-cni")})
	must("CreateAddon", err)
	for _, want := range []string{"CREATING", "ACTIVE"} {
		ng, err := c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool")})
		must("DescribeNodegroup", err)
		ad, err := c.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: name, AddonName: aws.String("vpc-cni")})
		must("DescribeAddon", err)
		if string(ng.Nodegroup.Status) != want || string(ad.Addon.Status) != want {
			t.Errorf("node group %s, add-on %s; want %s", ng.Nodegroup.Status, ad.Addon.Status, want)
		}
		step()
	}
	_, err = c.eks.DeleteAddon(ctx, &eks.DeleteAddonInput{ClusterName: name, AddonName: aws.String("vpc-cni")})
	must("DeleteAddon", err)
	_, err = c.eks.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool")})
	must("DeleteNodegroup", err)
	_, err = c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool")}) // DELETING
	must("DescribeNodegroup", err)
	_, err = c.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: name, AddonName: aws.String("vpc-cni")}) // DELETING
	must("DescribeAddon", err)
	step()
	_, err = c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: name})
	must("DeleteCluster", err)
	_, err = c.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGateway.NatGatewayId})
	must("DeleteNatGateway", err)
	describe(ekstypes.ClusterStatusDeleting, ec2types.NatGatewayStateDeleting)

	report := checkAWS(t, models, rec)
	report.Verify(t, nil) // no known gap applies here
}

// checkAWS checks every exchange rec recorded against the model of its
// operation.
func checkAWS(t *testing.T, models *parity.Botocore, rec *parity.Recorder) *parity.Report {
	t.Helper()
	report := parity.NewReport(models.Version)
	for _, ex := range rec.Exchanges() {
		op := models.Identify(ex.Method, ex.URL, ex.ReqBody)
		if op == "" {
			t.Errorf("%s %s: no botocore operation matches", ex.Method, ex.URL)
			continue
		}
		report.Add(op, models.Check(op, ex))
	}
	return report
}

// TestBotocoreParityOfFaults: the replies the sandbox's faults produce —
// throttling and internal errors of each protocol, a cluster and a NAT
// gateway whose creation failed — are shaped as botocore models them too
// (error codes the operations model, failed states' enums).
func TestBotocoreParityOfFaults(t *testing.T) {
	models := parity.AWSModels(t)
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir(), Latency: map[string]time.Duration{"*": 0}, NoKubernetes: true,
		Faults: []sandbox.Fault{
			{Op: "eks:ListClusters", Kind: sandbox.FaultServerError, Nth: 1}, {Op: "eks:ListClusters", Kind: sandbox.FaultThrottle, Nth: 2},
			{Op: "iam:ListRoles", Kind: sandbox.FaultServerError, Nth: 1}, {Op: "iam:ListRoles", Kind: sandbox.FaultThrottle, Nth: 2},
			{Op: "ec2:DescribeVpcs", Kind: sandbox.FaultServerError, Nth: 1}, {Op: "ec2:DescribeVpcs", Kind: sandbox.FaultThrottle, Nth: 2},
			{Op: "eks:CreateCluster", Kind: sandbox.FaultFail, Nth: 1}, {Op: "ec2:CreateNatGateway", Kind: sandbox.FaultFail, Nth: 1},
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	rec := &parity.Recorder{}
	c := newClients(aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.Endpoints()["aws"]), Credentials: sb.AWSCredentials().Provider(),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }, HTTPClient: rec})
	ctx := context.Background()
	for range 2 {
		_, _ = c.eks.ListClusters(ctx, &eks.ListClustersInput{})
		_, _ = c.iam.ListRoles(ctx, &iam.ListRolesInput{})
		_, _ = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
	}
	out, err := createCluster(t, c, "failed")
	if err != nil {
		t.Fatal(err)
	}
	cl, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: out.Cluster.Name})
	if err != nil || cl.Cluster.Status != ekstypes.ClusterStatusFailed {
		t.Fatalf("cluster with a fail fault: %+v, %v", cl, err)
	}
	sn := out.Cluster.ResourcesVpcConfig.SubnetIds[0]
	eip, err := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(sn), AllocationId: eip.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{*nat.NatGateway.NatGatewayId}}); err != nil {
		t.Fatal(err)
	}
	report := checkAWS(t, models, rec)
	report.Verify(t, nil) // no known gap applies here
	if len(report.Checked()) < 8 {
		t.Errorf("checked only %v", report.Checked())
	}
}

// servedAWSOperations sends every operation of the models to the emulator,
// signed, with no parameters, and lists those it does not refuse as
// unknown (EC2/IAM/STS InvalidAction, EKS "Unknown operation").
func servedAWSOperations(t *testing.T, sb *sandbox.Sandbox, models *parity.Botocore) []string {
	t.Helper()
	ctx := context.Background()
	creds, err := sb.AWSCredentials().Provider().Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := sb.Endpoints()["aws"]
	rec := &parity.Recorder{}
	signer := v4.NewSigner()
	label := regexp.MustCompile(`\{[^}]+\}`)
	var served []string
	for _, op := range models.Operations() {
		svc, name, _ := strings.Cut(op, ":")
		m := models.Services[svc]
		var req *http.Request
		var body []byte
		if m.Metadata.Protocol == "rest-json" {
			uri := m.Operations[name].HTTP.RequestURI
			uri, _, _ = strings.Cut(uri, "?")
			req, _ = http.NewRequest(m.Operations[name].HTTP.Method, endpoint+label.ReplaceAllString(uri, "parity-probe"), nil)
		} else {
			body = []byte(url.Values{"Action": {name}, "Version": {m.Metadata.APIVersion}}.Encode())
			req, _ = http.NewRequest(http.MethodPost, endpoint+"/", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), svc, "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := rec.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		resp.Body.Close()
		exs := rec.Exchanges()
		ex := exs[len(exs)-1]
		code := parity.ErrorCodeOf(ex)
		unknown := code == "InvalidAction" || (code == "NotFoundException" && bytes.Contains(ex.Body, []byte("Unknown operation")))
		if !unknown {
			served = append(served, op)
		}
	}
	if len(served) < 80 {
		t.Errorf("only %d operations look served (%v): the probe is wrong", len(served), served)
	}
	return served
}

// driveAWS calls every served operation at least once, in an order the
// emulator accepts, plus a few that fail, so error replies are checked too.
func driveAWS(t *testing.T, c *clients, stsc *sts.Client) {
	ctx := context.Background()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	tags := func(rt ec2types.ResourceType) []ec2types.TagSpecification {
		return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String("team"), Value: aws.String("parity")}}}}
	}

	// STS and IAM.
	_, err := stsc.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must("GetCallerIdentity", err)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	role, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("parity-role"), AssumeRolePolicyDocument: aws.String(trust),
		Description: aws.String("parity"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("parity")}}})
	must("CreateRole", err)
	_, err = c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("parity-role")})
	must("GetRole", err)
	_, err = c.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nobody")}) // NoSuchEntity
	if err == nil {
		t.Error("GetRole of a missing role succeeded")
	}
	_, err = c.iam.ListRoles(ctx, &iam.ListRolesInput{})
	must("ListRoles", err)
	for _, p := range []string{"AmazonEKSClusterPolicy", "AmazonEKSWorkerNodePolicy"} {
		_, err = c.iam.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("parity-role"), PolicyArn: aws.String("arn:aws:iam::aws:policy/" + p)})
		must("AttachRolePolicy", err)
	}
	_, err = c.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("parity-role")})
	must("ListAttachedRolePolicies", err)
	_, err = c.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("parity-role"), Tags: []iamtypes.Tag{{Key: aws.String("env"), Value: aws.String("test")}}})
	must("TagRole", err)
	_, err = c.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("parity-role")})
	must("ListRoleTags", err)
	// The AWS driver's batched refresh of roles, with their attached
	// policies and tags, one page at a time.
	_, err = c.iam.GetAccountAuthorizationDetails(ctx, &iam.GetAccountAuthorizationDetailsInput{Filter: []iamtypes.EntityType{iamtypes.EntityTypeRole}, MaxItems: aws.Int32(1)})
	must("GetAccountAuthorizationDetails", err)
	_, err = c.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("parity-role"), TagKeys: []string{"env"}})
	must("UntagRole", err)
	_, err = c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("parity-user"), Tags: []iamtypes.Tag{{Key: aws.String("team"), Value: aws.String("parity")}}})
	must("CreateUser", err)
	_, err = c.iam.GetUser(ctx, &iam.GetUserInput{})
	must("GetUser (caller)", err)
	_, err = c.iam.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("parity-user")})
	must("GetUser", err)
	_, err = c.iam.ListUsers(ctx, &iam.ListUsersInput{})
	must("ListUsers", err)
	key, err := c.iam.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("parity-user")})
	must("CreateAccessKey", err)
	_, err = c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("parity-user")})
	must("ListAccessKeys", err)
	_, err = c.iam.ListAccessKeys(ctx, &iam.ListAccessKeysInput{})
	must("ListAccessKeys (caller)", err)

	// EC2: a network for a cluster.
	_, err = c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	must("DescribeAvailabilityZones", err)
	vpc, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: tags(ec2types.ResourceTypeVpc)})
	must("CreateVpc", err)
	vpcID := vpc.Vpc.VpcId
	_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{*vpcID}})
	must("DescribeVpcs", err)
	_, err = c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{"vpc-0123456789abcdef0"}}) // InvalidVpcID.NotFound
	if err == nil {
		t.Error("DescribeVpcs of a missing VPC succeeded")
	}
	_, err = c.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: vpcID, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}})
	must("ModifyVpcAttribute", err)
	for _, a := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
		_, err = c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: vpcID, Attribute: a})
		must("DescribeVpcAttribute", err)
	}
	var subnets []string
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		sn, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpcID, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]),
			AvailabilityZone: aws.String(az), TagSpecifications: tags(ec2types.ResourceTypeSubnet)})
		must("CreateSubnet", err)
		subnets = append(subnets, *sn.Subnet.SubnetId)
	}
	_, err = c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpcID}}}})
	must("DescribeSubnets", err)
	igw, err := c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: tags(ec2types.ResourceTypeInternetGateway)})
	must("CreateInternetGateway", err)
	igwID := igw.InternetGateway.InternetGatewayId
	_, err = c.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igwID, VpcId: vpcID})
	must("AttachInternetGateway", err)
	_, err = c.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{*igwID}})
	must("DescribeInternetGateways", err)
	eip, err := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc, TagSpecifications: tags(ec2types.ResourceTypeElasticIp)})
	must("AllocateAddress", err)
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: eip.AllocationId,
		TagSpecifications: tags(ec2types.ResourceTypeNatgateway)})
	must("CreateNatGateway", err)
	_, err = c.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{*nat.NatGateway.NatGatewayId}})
	must("DescribeNatGateways", err)
	_, err = c.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{*eip.AllocationId}})
	must("DescribeAddresses", err)
	rtb, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: vpcID, TagSpecifications: tags(ec2types.ResourceTypeRouteTable)})
	must("CreateRouteTable", err)
	rtbID := rtb.RouteTable.RouteTableId
	_, err = c.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: rtbID, DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: igwID})
	must("CreateRoute", err)
	_, err = c.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: rtbID, DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: nat.NatGateway.NatGatewayId})
	must("ReplaceRoute", err)
	assoc, err := c.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: rtbID, SubnetId: aws.String(subnets[1])})
	must("AssociateRouteTable", err)
	_, err = c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpcID}}}})
	must("DescribeRouteTables", err)
	sg, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("parity"), Description: aws.String("parity"), VpcId: vpcID,
		TagSpecifications: tags(ec2types.ResourceTypeSecurityGroup)})
	must("CreateSecurityGroup", err)
	_, err = c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: []ec2types.IpPermission{
		{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/8")}}}}})
	must("AuthorizeSecurityGroupIngress", err)
	_, err = c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{*vpcID}}}})
	must("DescribeSecurityGroups", err)
	_, err = c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*vpcID}, Tags: []ec2types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}})
	must("CreateTags", err)
	_, err = c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{*vpcID}, Tags: []ec2types.Tag{{Key: aws.String("env")}}})
	must("DeleteTags", err)

	// EKS: a cluster using access entries, a node group, an add-on.
	name := aws.String("parity")
	cl, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: name, RoleArn: role.Role.Arn, Version: aws.String("1.33"),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}, Tags: map[string]string{"team": "parity"},
		AccessConfig: &ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap}})
	must("CreateCluster", err)
	_, err = c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: name})
	must("DescribeCluster", err)
	_, err = c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("nobody")}) // ResourceNotFoundException
	if err == nil {
		t.Error("DescribeCluster of a missing cluster succeeded")
	}
	_, err = c.eks.ListClusters(ctx, &eks.ListClustersInput{})
	must("ListClusters", err)
	up, err := c.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{Name: name, Logging: &ekstypes.Logging{ClusterLogging: []ekstypes.LogSetup{
		{Enabled: aws.Bool(true), Types: []ekstypes.LogType{ekstypes.LogTypeApi, ekstypes.LogTypeAudit}}}}})
	must("UpdateClusterConfig", err)
	_, err = c.eks.DescribeUpdate(ctx, &eks.DescribeUpdateInput{Name: name, UpdateId: up.Update.Id})
	must("DescribeUpdate", err)
	_, err = c.eks.UpdateClusterVersion(ctx, &eks.UpdateClusterVersionInput{Name: name, Version: aws.String("1.34")})
	must("UpdateClusterVersion", err)
	_, err = c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: name})
	must("DescribeCluster", err)
	_, err = c.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool"), NodeRole: role.Role.Arn,
		Subnets: subnets, InstanceTypes: []string{"m6i.large"}, CapacityType: ekstypes.CapacityTypesSpot,
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(3), DesiredSize: aws.Int32(2)},
		Labels:        map[string]string{"tier": "web"}, Taints: []ekstypes.Taint{{Key: aws.String("dedicated"), Value: aws.String("web"), Effect: ekstypes.TaintEffectNoSchedule}},
		Tags: map[string]string{"team": "parity"}})
	must("CreateNodegroup", err)
	_, err = c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool")})
	must("DescribeNodegroup", err)
	_, err = c.eks.ListNodegroups(ctx, &eks.ListNodegroupsInput{ClusterName: name})
	must("ListNodegroups", err)
	_, err = c.eks.UpdateNodegroupConfig(ctx, &eks.UpdateNodegroupConfigInput{ClusterName: name, NodegroupName: aws.String("pool"),
		ScalingConfig: &ekstypes.NodegroupScalingConfig{MinSize: aws.Int32(1), MaxSize: aws.Int32(4), DesiredSize: aws.Int32(3)}})
	must("UpdateNodegroupConfig", err)
	_, err = c.eks.UpdateNodegroupVersion(ctx, &eks.UpdateNodegroupVersionInput{ClusterName: name, NodegroupName: aws.String("pool"), Version: aws.String("1.34")})
	must("UpdateNodegroupVersion", err)
	_, err = c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool")})
	must("DescribeNodegroup", err)
	_, err = c.eks.DescribeAddonVersions(ctx, &eks.DescribeAddonVersionsInput{AddonName: aws.String("aws-ebs-csi-driver")})
	must("DescribeAddonVersions", err)
	_, err = c.eks.CreateAddon(ctx, &eks.CreateAddonInput{ClusterName: name, AddonName: aws.String("aws-ebs-csi-driver"), Tags: map[string]string{"team": "parity"}})
	must("CreateAddon", err)
	_, err = c.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: name, AddonName: aws.String("aws-ebs-csi-driver")})
	must("DescribeAddon", err)
	_, err = c.eks.ListAddons(ctx, &eks.ListAddonsInput{ClusterName: name})
	must("ListAddons", err)
	_, err = c.eks.UpdateAddon(ctx, &eks.UpdateAddonInput{ClusterName: name, AddonName: aws.String("aws-ebs-csi-driver"), ResolveConflicts: ekstypes.ResolveConflictsOverwrite})
	must("UpdateAddon", err)
	_, err = c.eks.DescribeAddon(ctx, &eks.DescribeAddonInput{ClusterName: name, AddonName: aws.String("aws-ebs-csi-driver")})
	must("DescribeAddon", err)
	_, err = c.eks.TagResource(ctx, &eks.TagResourceInput{ResourceArn: cl.Cluster.Arn, Tags: map[string]string{"env": "test"}})
	must("TagResource", err)
	_, err = c.eks.ListTagsForResource(ctx, &eks.ListTagsForResourceInput{ResourceArn: cl.Cluster.Arn})
	must("ListTagsForResource", err)
	_, err = c.eks.UntagResource(ctx, &eks.UntagResourceInput{ResourceArn: cl.Cluster.Arn, TagKeys: []string{"env"}})
	must("UntagResource", err)
	user := aws.String("arn:aws:iam::123456789012:user/parity-user")
	_, err = c.eks.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: name, PrincipalArn: user, KubernetesGroups: []string{"readers"}, Tags: map[string]string{"team": "parity"}})
	must("CreateAccessEntry", err)
	_, err = c.eks.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: name, PrincipalArn: user})
	must("DescribeAccessEntry", err)
	_, err = c.eks.UpdateAccessEntry(ctx, &eks.UpdateAccessEntryInput{ClusterName: name, PrincipalArn: user, KubernetesGroups: []string{"viewers"}})
	must("UpdateAccessEntry", err)
	_, err = c.eks.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: name})
	must("ListAccessEntries", err)
	_, err = c.eks.ListAccessPolicies(ctx, &eks.ListAccessPoliciesInput{})
	must("ListAccessPolicies", err)
	_, err = c.eks.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: name, PrincipalArn: user, PolicyArn: aws.String(viewPolicy),
		AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"dev"}}})
	must("AssociateAccessPolicy", err)
	_, err = c.eks.ListAssociatedAccessPolicies(ctx, &eks.ListAssociatedAccessPoliciesInput{ClusterName: name, PrincipalArn: user})
	must("ListAssociatedAccessPolicies", err)
	_, err = c.eks.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: name, PrincipalArn: user, PolicyArn: aws.String(viewPolicy)})
	must("DisassociateAccessPolicy", err)
	_, err = c.eks.DeleteAccessEntry(ctx, &eks.DeleteAccessEntryInput{ClusterName: name, PrincipalArn: user})
	must("DeleteAccessEntry", err)
	_, err = c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: name}) // ResourceInUseException: it has a node group
	if err == nil {
		t.Error("DeleteCluster with a node group succeeded")
	}
	_, err = c.eks.DeleteAddon(ctx, &eks.DeleteAddonInput{ClusterName: name, AddonName: aws.String("aws-ebs-csi-driver")})
	must("DeleteAddon", err)
	_, err = c.eks.DeleteNodegroup(ctx, &eks.DeleteNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool")})
	must("DeleteNodegroup", err)
	_, err = c.eks.ListNodegroups(ctx, &eks.ListNodegroupsInput{ClusterName: name}) // the node group is gone (no latency)
	must("ListNodegroups", err)
	_, err = c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: name})
	must("DeleteCluster", err)
	_, err = c.eks.ListClusters(ctx, &eks.ListClustersInput{})
	must("ListClusters", err)

	// Tear the network down.
	_, err = c.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: assoc.AssociationId})
	must("DisassociateRouteTable", err)
	_, err = c.ec2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: rtbID})
	must("DeleteRouteTable", err)
	_, err = c.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: nat.NatGateway.NatGatewayId})
	must("DeleteNatGateway", err)
	_, err = c.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{*nat.NatGateway.NatGatewayId}})
	must("DescribeNatGateways", err)
	_, err = c.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId})
	must("ReleaseAddress", err)
	_, err = c.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: igwID, VpcId: vpcID})
	must("DetachInternetGateway", err)
	_, err = c.ec2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: igwID})
	must("DeleteInternetGateway", err)
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	must("DeleteSecurityGroup", err)
	for _, sn := range subnets {
		_, err = c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(sn)})
		must("DeleteSubnet", err)
	}
	_, err = c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: vpcID})
	must("DeleteVpc", err)

	// IAM clean-up.
	_, err = c.iam.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("parity-user"), AccessKeyId: key.AccessKey.AccessKeyId})
	must("DeleteAccessKey", err)
	_, err = c.iam.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("parity-user")})
	must("DeleteUser", err)
	for _, p := range []string{"AmazonEKSClusterPolicy", "AmazonEKSWorkerNodePolicy"} {
		_, err = c.iam.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("parity-role"), PolicyArn: aws.String("arn:aws:iam::aws:policy/" + p)})
		must("DetachRolePolicy", err)
	}
	_, err = c.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("parity-role")})
	must("DeleteRole", err)
}
