package aws_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"

	"github.com/regionctl/regionctl/sandbox"
)

// clients talk to one in-process sandbox through the real SDK clients, as
// the driver does.
type clients struct {
	ec2 *ec2.Client
	iam *iam.Client
	eks *eks.Client
}

// startSandbox starts a sandbox whose asynchronous operations complete at
// once and returns clients for region.
func startSandbox(t *testing.T, region string) *clients {
	t.Helper()
	_, cfg := newSandbox(t, region)
	return newClients(cfg)
}

// newSandbox starts a sandbox without Kubernetes whose asynchronous
// operations complete at once, and returns it with an SDK configuration
// for region signed with the credentials it issued.
func newSandbox(t testing.TB, region string) (*sandbox.Sandbox, aws.Config) {
	t.Helper()
	sb, err := sandbox.Start(context.Background(), sandbox.Options{Dir: t.TempDir(), Latency: map[string]time.Duration{"*": 0}, NoKubernetes: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb, aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(sb.Endpoints()["aws"]),
		Credentials:  sb.AWSCredentials().Provider(),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} }, // every error surfaces on the first call
	}
}

func newClients(cfg aws.Config) *clients {
	return &clients{ec2: ec2.NewFromConfig(cfg), iam: iam.NewFromConfig(cfg), eks: eks.NewFromConfig(cfg)}
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// routeNet is a VPC with a public subnet, an attached internet gateway, an
// available NAT gateway and a route table whose 0.0.0.0/0 goes to the gateway.
type routeNet struct {
	vpc, subnet, igw, nat, rtb string
}

func buildRouteNet(t *testing.T, c *clients, cidr string) routeNet {
	t.Helper()
	ctx := context.Background()
	var n routeNet
	v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	n.vpc = aws.ToString(v.Vpc.VpcId)
	sn, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(n.vpc), CidrBlock: aws.String(cidr[:len(cidr)-3] + "/24"), AvailabilityZone: aws.String("us-east-1a")})
	if err != nil {
		t.Fatalf("CreateSubnet: %v", err)
	}
	n.subnet = aws.ToString(sn.Subnet.SubnetId)
	g, err := c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatalf("CreateInternetGateway: %v", err)
	}
	n.igw = aws.ToString(g.InternetGateway.InternetGatewayId)
	if _, err := c.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(n.igw), VpcId: aws.String(n.vpc)}); err != nil {
		t.Fatalf("AttachInternetGateway: %v", err)
	}
	eip, err := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatalf("AllocateAddress: %v", err)
	}
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(n.subnet), AllocationId: eip.AllocationId})
	if err != nil {
		t.Fatalf("CreateNatGateway: %v", err)
	}
	n.nat = aws.ToString(nat.NatGateway.NatGatewayId)
	rt, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(n.vpc)})
	if err != nil {
		t.Fatalf("CreateRouteTable: %v", err)
	}
	n.rtb = aws.ToString(rt.RouteTable.RouteTableId)
	if _, err := c.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.igw)}); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	return n
}

// defaultRoute returns the route table's 0.0.0.0/0 route and how many
// routes the table has.
func defaultRoute(t *testing.T, c *clients, rtb string) (ec2types.Route, int) {
	t.Helper()
	out, err := c.ec2.DescribeRouteTables(context.Background(), &ec2.DescribeRouteTablesInput{RouteTableIds: []string{rtb}})
	if err != nil || len(out.RouteTables) != 1 {
		t.Fatalf("DescribeRouteTables = %+v, %v", out, err)
	}
	routes := out.RouteTables[0].Routes
	for _, r := range routes {
		if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
			return r, len(routes)
		}
	}
	t.Fatalf("route table %s has no default route: %+v", rtb, routes)
	return ec2types.Route{}, 0
}

// TestReplaceRoute moves a default route between an internet gateway and a
// NAT gateway in place and checks each error EC2 gives for a bad call.
func TestReplaceRoute(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	ctx := context.Background()
	n := buildRouteNet(t, c, "10.0.0.0/16")
	other := buildRouteNet(t, c, "10.1.0.0/16")

	if _, err := c.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(n.nat)}); err != nil {
		t.Fatalf("ReplaceRoute to NAT: %v", err)
	}
	r, count := defaultRoute(t, c, n.rtb)
	if aws.ToString(r.NatGatewayId) != n.nat || r.GatewayId != nil || count != 2 {
		t.Errorf("after ReplaceRoute to %s: route %+v, %d routes; want the NAT gateway only, 2 routes (local + default)", n.nat, r, count)
	}
	if _, err := c.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.igw)}); err != nil {
		t.Fatalf("ReplaceRoute back to IGW: %v", err)
	}
	if r, count := defaultRoute(t, c, n.rtb); aws.ToString(r.GatewayId) != n.igw || r.NatGatewayId != nil || count != 2 {
		t.Errorf("after ReplaceRoute to %s: route %+v, %d routes", n.igw, r, count)
	}

	tests := []struct {
		name     string
		in       ec2.ReplaceRouteInput
		wantCode string
	}{
		{"no such route", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("192.168.0.0/16"), GatewayId: aws.String(n.igw)}, "InvalidRoute.NotFound"},
		{"no such table", ec2.ReplaceRouteInput{RouteTableId: aws.String("rtb-0123456789abcdef0"), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.igw)}, "InvalidRouteTableID.NotFound"},
		{"no such gateway", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String("igw-0123456789abcdef0")}, "InvalidGatewayID.NotFound"},
		{"no such NAT gateway", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String("nat-0123456789abcdef0")}, "InvalidNatGatewayID.NotFound"},
		{"gateway of another VPC", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(other.igw)}, "InvalidParameterValue"},
		{"NAT gateway of another VPC", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(other.nat)}, "InvalidParameterValue"},
		{"no target", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0")}, "InvalidParameterCombination"},
		{"two targets", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(n.igw), NatGatewayId: aws.String(n.nat)}, "InvalidParameterCombination"},
		{"local route", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("10.0.0.0/16"), GatewayId: aws.String(n.igw)}, "InvalidParameterValue"},
		{"bad CIDR", ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0"), GatewayId: aws.String(n.igw)}, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.ec2.ReplaceRoute(ctx, &tt.in)
			if got := errCode(err); got != tt.wantCode {
				t.Fatalf("ReplaceRoute error = %v (code %q), want code %q", err, got, tt.wantCode)
			}
			if r, count := defaultRoute(t, c, n.rtb); aws.ToString(r.GatewayId) != n.igw || r.NatGatewayId != nil || count != 2 {
				t.Errorf("a refused ReplaceRoute changed the table: route %+v, %d routes", r, count)
			}
		})
	}

	// A deleted NAT gateway is no longer a target.
	if _, err := c.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(n.nat)}); err != nil {
		t.Fatalf("DeleteNatGateway: %v", err)
	}
	_, err := c.ec2.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{RouteTableId: aws.String(n.rtb), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(n.nat)})
	if got := errCode(err); got != "InvalidNatGatewayID.NotFound" {
		t.Errorf("ReplaceRoute to a deleted NAT gateway = %v, want InvalidNatGatewayID.NotFound", err)
	}
}

// TestZonesPerRegion: each region offers the zone letters AWS offers new
// accounts (the driver's table), subnets can be made in exactly those, and
// regions the emulator does not know get a, b and c.
func TestZonesPerRegion(t *testing.T) {
	tests := []struct {
		region   string
		want     []string
		wantIDs  []string
		refused  string // a zone CreateSubnet must refuse
		accepted string // the last zone, which CreateSubnet must accept
	}{
		{"us-east-1", []string{"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"}, []string{"use1-az1", "use1-az2", "use1-az3", "use1-az4", "use1-az5", "use1-az6"}, "us-east-1g", "us-east-1f"},
		{"us-west-1", []string{"us-west-1a", "us-west-1c"}, []string{"usw1-az1", "usw1-az2"}, "us-west-1b", "us-west-1c"},
		{"us-west-2", []string{"us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"}, []string{"usw2-az1", "usw2-az2", "usw2-az3", "usw2-az4"}, "us-west-2e", "us-west-2d"},
		{"ca-central-1", []string{"ca-central-1a", "ca-central-1b", "ca-central-1d"}, []string{"cac1-az1", "cac1-az2", "cac1-az3"}, "ca-central-1c", "ca-central-1d"},
		{"ap-northeast-1", []string{"ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"}, []string{"apne1-az1", "apne1-az2", "apne1-az3"}, "ap-northeast-1b", "ap-northeast-1d"},
		{"ap-northeast-2", []string{"ap-northeast-2a", "ap-northeast-2b", "ap-northeast-2c", "ap-northeast-2d"}, []string{"apne2-az1", "apne2-az2", "apne2-az3", "apne2-az4"}, "ap-northeast-2e", "ap-northeast-2d"},
		{"eu-west-1", []string{"eu-west-1a", "eu-west-1b", "eu-west-1c"}, []string{"euw1-az1", "euw1-az2", "euw1-az3"}, "eu-west-1d", "eu-west-1c"},
		// Not a region AWS has (yet), but one of its partition's shape:
		// the sandbox refuses requests signed for anything else.
		{"eu-test-1", []string{"eu-test-1a", "eu-test-1b", "eu-test-1c"}, []string{"eutest1-az1", "eutest1-az2", "eutest1-az3"}, "eu-test-1d", "eu-test-1c"},
	}
	for _, tt := range tests {
		t.Run(tt.region, func(t *testing.T) {
			c := startSandbox(t, tt.region)
			ctx := context.Background()
			out, err := c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
			if err != nil {
				t.Fatalf("DescribeAvailabilityZones: %v", err)
			}
			var names, ids []string
			for _, z := range out.AvailabilityZones {
				names = append(names, aws.ToString(z.ZoneName))
				ids = append(ids, aws.ToString(z.ZoneId))
				if aws.ToString(z.RegionName) != tt.region {
					t.Errorf("zone %s has region %s", aws.ToString(z.ZoneName), aws.ToString(z.RegionName))
				}
			}
			if !slices.Equal(names, tt.want) || !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("zones = %v %v, want %v %v", names, ids, tt.want, tt.wantIDs)
			}
			if _, err := c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{tt.refused}}); errCode(err) != "InvalidParameterValue" {
				t.Errorf("DescribeAvailabilityZones(%s) = %v, want InvalidParameterValue", tt.refused, err)
			}
			v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
			if err != nil {
				t.Fatalf("CreateVpc: %v", err)
			}
			_, err = c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.0.1.0/24"), AvailabilityZone: aws.String(tt.refused)})
			if errCode(err) != "InvalidParameterValue" {
				t.Errorf("CreateSubnet in %s = %v, want InvalidParameterValue", tt.refused, err)
			}
			sn, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String("10.0.2.0/24"), AvailabilityZone: aws.String(tt.accepted)})
			if err != nil {
				t.Fatalf("CreateSubnet in %s: %v", tt.accepted, err)
			}
			if got := aws.ToString(sn.Subnet.AvailabilityZone); got != tt.accepted {
				t.Errorf("subnet zone = %s, want %s", got, tt.accepted)
			}
			if got, want := aws.ToString(sn.Subnet.AvailabilityZoneId), tt.wantIDs[len(tt.wantIDs)-1]; got != want {
				t.Errorf("subnet zone id = %s, want %s", got, want)
			}
		})
	}
}

// TestClusterRefusesUSEast1e: EKS cannot place a control plane in
// us-east-1e and says which zones it can use.
func TestClusterRefusesUSEast1e(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	ctx := context.Background()
	role, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("cluster"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"eks.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	subnets := map[string]string{}
	for i, az := range []string{"us-east-1a", "us-east-1e", "us-east-1f"} {
		sn, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: v.Vpc.VpcId, CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24"}[i]), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatalf("CreateSubnet %s: %v", az, err)
		}
		subnets[az] = aws.ToString(sn.Subnet.SubnetId)
	}
	_, err = c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("c1"), RoleArn: role.Role.Arn,
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{subnets["us-east-1a"], subnets["us-east-1e"]}}})
	var unsupported *ekstypes.UnsupportedAvailabilityZoneException
	if !errors.As(err, &unsupported) || aws.ToString(unsupported.ClusterName) != "c1" {
		t.Fatalf("CreateCluster with a us-east-1e subnet = %v, want UnsupportedAvailabilityZoneException naming c1", err)
	}
	if _, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("c1"), RoleArn: role.Role.Arn,
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{subnets["us-east-1a"], subnets["us-east-1f"]}}}); err != nil {
		t.Fatalf("CreateCluster in a and f: %v", err)
	}
}

// TestCreateRouteTableClientToken: a CreateRouteTable retried with the same
// ClientToken (after a lost reply) returns the first table instead of making
// a second; the token with other parameters is IdempotentParameterMismatch.
func TestCreateRouteTableClientToken(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	ctx := context.Background()
	var vpcs []string
	for _, cidr := range []string{"10.0.0.0/16", "10.1.0.0/16"} {
		v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
		if err != nil {
			t.Fatalf("CreateVpc: %v", err)
		}
		vpcs = append(vpcs, aws.ToString(v.Vpc.VpcId))
	}
	first, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcs[0]), ClientToken: aws.String("tok-1")})
	if err != nil {
		t.Fatalf("CreateRouteTable: %v", err)
	}
	again, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcs[0]), ClientToken: aws.String("tok-1")})
	if err != nil {
		t.Fatalf("CreateRouteTable retried: %v", err)
	}
	if a, b := aws.ToString(first.RouteTable.RouteTableId), aws.ToString(again.RouteTable.RouteTableId); a != b || aws.ToString(again.ClientToken) != "tok-1" {
		t.Errorf("the retried create returned %s (token %q), want %s (tok-1)", b, aws.ToString(again.ClientToken), a)
	}
	if _, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcs[1]), ClientToken: aws.String("tok-1")}); errCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("the token reused for another VPC = %v, want IdempotentParameterMismatch", err)
	}
	other, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcs[0])})
	if err != nil || aws.ToString(other.RouteTable.RouteTableId) == aws.ToString(first.RouteTable.RouteTableId) {
		t.Fatalf("a create without a token = %+v, %v; want a new table", other, err)
	}
	out, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpcs[0]}}}})
	if err != nil || len(out.RouteTables) != 3 { // main + tok-1 + the untokened one
		t.Fatalf("DescribeRouteTables = %d tables, %v; want 3", len(out.RouteTables), err)
	}
}
