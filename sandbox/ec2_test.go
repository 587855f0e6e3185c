package sandbox_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func tagSpec(rt ec2types.ResourceType, name string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}, {Key: aws.String("regionctl:region"), Value: aws.String("r1")}}}}
}

// network builds a VPC with two subnets in different zones and returns the ids.
func network(t *testing.T, c *clients) (vpc string, subnets []string) {
	t.Helper()
	ctx := context.Background()
	v, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16"), TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, "main")})
	if err != nil {
		t.Fatalf("CreateVpc: %v", err)
	}
	vpc = aws.ToString(v.Vpc.VpcId)
	for i, az := range []string{"us-east-1a", "us-east-1b"} {
		s, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String([]string{"10.0.1.0/24", "10.0.2.0/24"}[i]),
			AvailabilityZone: aws.String(az), TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, "s"+az)})
		if err != nil {
			t.Fatalf("CreateSubnet: %v", err)
		}
		subnets = append(subnets, aws.ToString(s.Subnet.SubnetId))
	}
	return vpc, subnets
}

func TestEC2NetworkLifecycle(t *testing.T) {
	c := start(t, sandboxOpts())
	ctx := context.Background()

	azs, err := c.ec2.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{})
	if err != nil || len(azs.AvailabilityZones) != 6 || aws.ToString(azs.AvailabilityZones[0].ZoneName) != "us-east-1a" {
		t.Fatalf("DescribeAvailabilityZones = %+v, %v", azs, err)
	}

	vpc, subnets := network(t, c)
	if !idShape("vpc", vpc) || !idShape("subnet", subnets[0]) {
		t.Errorf("ids %s %v: want prefix-17hex", vpc, subnets)
	}
	byTag, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag:Name"), Values: []string{"main"}}}})
	if err != nil || len(byTag.Vpcs) != 1 || aws.ToString(byTag.Vpcs[0].VpcId) != vpc || aws.ToString(byTag.Vpcs[0].CidrBlock) != "10.0.0.0/16" || byTag.Vpcs[0].State != ec2types.VpcStateAvailable {
		t.Fatalf("DescribeVpcs by tag = %+v, %v", byTag, err)
	}
	if len(byTag.Vpcs[0].Tags) != 2 {
		t.Errorf("vpc tags = %v", byTag.Vpcs[0].Tags)
	}
	byID, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}})
	if err != nil || len(byID.Vpcs) != 1 {
		t.Fatalf("DescribeVpcs by id = %+v, %v", byID, err)
	}
	if _, err := c.ec2.ModifyVpcAttribute(ctx, &ec2.ModifyVpcAttributeInput{VpcId: aws.String(vpc), EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}}); err != nil {
		t.Fatalf("ModifyVpcAttribute: %v", err)
	}
	attr, err := c.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(vpc), Attribute: ec2types.VpcAttributeNameEnableDnsHostnames})
	if err != nil || !aws.ToBool(attr.EnableDnsHostnames.Value) {
		t.Fatalf("DescribeVpcAttribute = %+v, %v", attr, err)
	}
	sns, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(sns.Subnets) != 2 || aws.ToInt32(sns.Subnets[0].AvailableIpAddressCount) != 251 {
		t.Fatalf("DescribeSubnets = %+v, %v", sns, err)
	}

	igw, err := c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: tagSpec(ec2types.ResourceTypeInternetGateway, "igw")})
	if err != nil {
		t.Fatalf("CreateInternetGateway: %v", err)
	}
	igwID := aws.ToString(igw.InternetGateway.InternetGatewayId)
	if _, err := c.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(igwID), VpcId: aws.String(vpc)}); err != nil {
		t.Fatalf("AttachInternetGateway: %v", err)
	}
	igws, err := c.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{{Name: aws.String("attachment.vpc-id"), Values: []string{vpc}}}})
	if err != nil || len(igws.InternetGateways) != 1 || len(igws.InternetGateways[0].Attachments) != 1 {
		t.Fatalf("DescribeInternetGateways = %+v, %v", igws, err)
	}

	eip, err := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc, TagSpecifications: tagSpec(ec2types.ResourceTypeElasticIp, "eip")})
	if err != nil || !idShape("eipalloc", aws.ToString(eip.AllocationId)) || eip.PublicIp == nil {
		t.Fatalf("AllocateAddress = %+v, %v", eip, err)
	}
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: eip.AllocationId,
		ClientToken: aws.String("tok-1"), TagSpecifications: tagSpec(ec2types.ResourceTypeNatgateway, "nat")})
	if err != nil || nat.NatGateway.State != ec2types.NatGatewayStatePending {
		t.Fatalf("CreateNatGateway = %+v, %v", nat, err)
	}
	natID := aws.ToString(nat.NatGateway.NatGatewayId)
	again, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: eip.AllocationId,
		ClientToken: aws.String("tok-1"), TagSpecifications: tagSpec(ec2types.ResourceTypeNatgateway, "nat")})
	if err != nil || aws.ToString(again.NatGateway.NatGatewayId) != natID {
		t.Fatalf("CreateNatGateway with the same token = %+v, %v; want %s", again, err, natID)
	}
	if _, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[1]), AllocationId: eip.AllocationId, ClientToken: aws.String("tok-1")}); errCode(err) != "IdempotentParameterMismatch" {
		t.Errorf("token reuse with other params: %v", err)
	}
	w := ec2.NewNatGatewayAvailableWaiter(c.ec2, func(o *ec2.NatGatewayAvailableWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = 5 * time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{natID}}, time.Minute); err != nil {
		t.Fatalf("NatGatewayAvailableWaiter: %v", err)
	}
	addrs, err := c.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{aws.ToString(eip.AllocationId)}})
	if err != nil || len(addrs.Addresses) != 1 || addrs.Addresses[0].AssociationId == nil {
		t.Fatalf("DescribeAddresses after NAT = %+v, %v", addrs, err)
	}

	rtb, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpc), TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, "public")})
	if err != nil {
		t.Fatalf("CreateRouteTable: %v", err)
	}
	rtbID := aws.ToString(rtb.RouteTable.RouteTableId)
	if _, err := c.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rtbID), DestinationCidrBlock: aws.String("0.0.0.0/0"), GatewayId: aws.String(igwID)}); err != nil {
		t.Fatalf("CreateRoute: %v", err)
	}
	if _, err := c.ec2.CreateRoute(ctx, &ec2.CreateRouteInput{RouteTableId: aws.String(rtbID), DestinationCidrBlock: aws.String("0.0.0.0/0"), NatGatewayId: aws.String(natID)}); errCode(err) != "RouteAlreadyExists" {
		t.Errorf("duplicate route: %v", err)
	}
	assoc, err := c.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(rtbID), SubnetId: aws.String(subnets[0])})
	if err != nil || assoc.AssociationState.State != ec2types.RouteTableAssociationStateCodeAssociated {
		t.Fatalf("AssociateRouteTable = %+v, %v", assoc, err)
	}
	rts, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnets[0]}}}})
	if err != nil || len(rts.RouteTables) != 1 || len(rts.RouteTables[0].Routes) != 2 {
		t.Fatalf("DescribeRouteTables = %+v, %v", rts, err)
	}

	sg, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("nodes"), Description: aws.String("node group"), VpcId: aws.String(vpc),
		TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, "nodes")})
	if err != nil {
		t.Fatalf("CreateSecurityGroup: %v", err)
	}
	perm := []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443), IpRanges: []ec2types.IpRange{{CidrIp: aws.String("10.0.0.0/16")}}}}
	if _, err := c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perm}); err != nil {
		t.Fatalf("AuthorizeSecurityGroupIngress: %v", err)
	}
	if _, err := c.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: sg.GroupId, IpPermissions: perm}); errCode(err) != "InvalidPermission.Duplicate" {
		t.Errorf("duplicate rule: %v", err)
	}
	sgs, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}})
	if err != nil || len(sgs.SecurityGroups) != 1 || aws.ToString(sgs.SecurityGroups[0].Description) != "node group" || len(sgs.SecurityGroups[0].IpPermissions) != 1 {
		t.Fatalf("DescribeSecurityGroups = %+v, %v", sgs, err)
	}
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vpc, aws.ToString(sg.GroupId)}, Tags: []ec2types.Tag{{Key: aws.String("env"), Value: aws.String("test")}}}); err != nil {
		t.Fatalf("CreateTags: %v", err)
	}
	if _, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{vpc}, Tags: []ec2types.Tag{{Key: aws.String("env")}}}); err != nil {
		t.Fatalf("DeleteTags: %v", err)
	}
	tagged, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{"env"}}}})
	if err != nil || len(tagged.Vpcs) != 0 {
		t.Errorf("tag-key env after DeleteTags = %+v, %v", tagged, err)
	}

	// Dependencies block deletes, as in EC2.
	for name, call := range map[string]func() error{
		"DeleteVpc with subnets": func() error { _, err := c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)}); return err },
		"DeleteSubnet with NAT": func() error {
			_, err := c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(subnets[0])})
			return err
		},
		"DeleteInternetGateway attached": func() error {
			_, err := c.ec2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igwID)})
			return err
		},
		"DeleteRouteTable associated": func() error {
			_, err := c.ec2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(rtbID)})
			return err
		},
	} {
		if code := errCode(call()); code != "DependencyViolation" {
			t.Errorf("%s: code %q, want DependencyViolation", name, code)
		}
	}
	if _, err := c.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId}); errCode(err) != "InvalidIPAddress.InUse" {
		t.Errorf("ReleaseAddress in use: %v", err)
	}

	// Tear down in dependency order.
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = c.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: assoc.AssociationId})
	must("DisassociateRouteTable", err)
	_, err = c.ec2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(rtbID)})
	must("DeleteRouteTable", err)
	_, err = c.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(natID)})
	must("DeleteNatGateway", err)
	dw := ec2.NewNatGatewayDeletedWaiter(c.ec2, func(o *ec2.NatGatewayDeletedWaiterOptions) {
		o.MinDelay = time.Millisecond
		o.MaxDelay = 5 * time.Millisecond
	})
	must("NatGatewayDeletedWaiter", dw.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{natID}}, time.Minute))
	_, err = c.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: eip.AllocationId})
	must("ReleaseAddress", err)
	_, err = c.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(igwID), VpcId: aws.String(vpc)})
	must("DetachInternetGateway", err)
	_, err = c.ec2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(igwID)})
	must("DeleteInternetGateway", err)
	_, err = c.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	must("DeleteSecurityGroup", err)
	for _, s := range subnets {
		_, err = c.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(s)})
		must("DeleteSubnet", err)
	}
	_, err = c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(vpc)})
	must("DeleteVpc", err)
	if left := c.sb.List(); len(left) != 0 {
		t.Errorf("after teardown the sandbox still holds %+v", left)
	}
}

func TestEC2Errors(t *testing.T) {
	c := start(t, sandboxOpts())
	ctx := context.Background()
	vpc, subnets := network(t, c)
	missingVpc := "vpc-0123456789abcdef0"
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"describe unknown vpc", func() error {
			_, err := c.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{missingVpc}})
			return err
		}, "InvalidVpcID.NotFound"},
		{"malformed vpc id", func() error {
			_, err := c.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String("vpc-nothex")})
			return err
		}, "InvalidVpcID.Malformed"},
		{"subnet outside vpc", func() error {
			_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.1.0.0/24")})
			return err
		}, "InvalidSubnet.Range"},
		{"overlapping subnet", func() error {
			_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.0.1.128/25")})
			return err
		}, "InvalidSubnet.Conflict"},
		{"bad zone", func() error {
			_, err := c.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpc), CidrBlock: aws.String("10.0.9.0/24"), AvailabilityZone: aws.String("us-east-1z")})
			return err
		}, "InvalidParameterValue"},
		{"vpc too big", func() error {
			_, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/8")})
			return err
		}, "InvalidVpc.Range"},
		{"unknown subnet", func() error {
			_, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{"subnet-0123456789abcdef0"}})
			return err
		}, "InvalidSubnetID.NotFound"},
		{"unknown allocation", func() error {
			_, err := c.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String("eipalloc-0123456789abcdef0")})
			return err
		}, "InvalidAllocationID.NotFound"},
		{"unknown nat", func() error {
			_, err := c.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{"nat-0123456789abcdef0"}})
			return err
		}, "NatGatewayNotFound"},
		{"unknown igw", func() error {
			_, err := c.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{"igw-0123456789abcdef0"}})
			return err
		}, "InvalidInternetGatewayID.NotFound"},
		{"unknown route table", func() error {
			_, err := c.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{RouteTableIds: []string{"rtb-0123456789abcdef0"}})
			return err
		}, "InvalidRouteTableID.NotFound"},
		{"unknown security group", func() error {
			_, err := c.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
			return err
		}, "InvalidGroup.NotFound"},
		{"duplicate security group", func() error {
			_, err := c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x"), VpcId: aws.String(vpc)})
			if err != nil {
				return err
			}
			_, err = c.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("x"), Description: aws.String("x"), VpcId: aws.String(vpc)})
			return err
		}, "InvalidGroup.Duplicate"},
		{"unknown association", func() error {
			_, err := c.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: aws.String("rtbassoc-0123456789abcdef0")})
			return err
		}, "InvalidAssociationID.NotFound"},
		{"bad filter", func() error {
			_, err := c.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("colour"), Values: []string{"x"}}}})
			return err
		}, "InvalidParameterValue"},
		{"detach unattached igw", func() error {
			g, err := c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
			if err != nil {
				return err
			}
			_, err = c.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: g.InternetGateway.InternetGatewayId, VpcId: aws.String(vpc)})
			return err
		}, "Gateway.NotAttached"},
		{"nat without allocation", func() error {
			_, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0])})
			return err
		}, "MissingParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got := errCode(err); got != tt.want {
				t.Fatalf("error %v: code %q, want %q", err, got, tt.want)
			}
		})
	}
}
