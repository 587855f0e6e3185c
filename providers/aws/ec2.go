package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/regionctl/regionctl/providers"
)

// Subnet tags the AWS Load Balancer Controller (and the in-tree cloud
// provider) use to pick subnets for load balancers.
const (
	tagELBPublic   = "kubernetes.io/role/elb"
	tagELBInternal = "kubernetes.io/role/internal-elb"
)

func ec2Tags(m map[string]string) []ec2types.Tag {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]ec2types.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func tagMap(tags []ec2types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

func tagSpec(rt ec2types.ResourceType, m map[string]string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: ec2Tags(m)}}
}

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

// tagFilter finds objects by the call's idempotency key, or by its address
// when there is no key.
func (c *call) tagFilter() ec2types.Filter {
	if c.key != "" {
		return filter("tag:"+TagIdempotencyKey, c.key)
	}
	return filter("tag:"+TagAddress, c.address)
}

var errNoUpdate = errors.New("no input of this resource can change in place (the engine replaces it)")

// ---- aws_vpc ----

type vpcHandler struct{}

func (vpcHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{c.tagFilter()}})
	if err != nil {
		return "", err
	}
	for _, v := range out.Vpcs {
		return aws.ToString(v.VpcId), nil
	}
	return "", nil
}

func (h vpcHandler) create(ctx context.Context, c *call) (string, error) {
	id, err := c.createUntokened(ctx, "VPC", h.find, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.cl.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{
			CidrBlock:         aws.String(str(c.in, "cidr")),
			TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, c.tags()),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Vpc.VpcId), nil
	})
	if err != nil {
		return "", err
	}
	c.id = id
	return id, h.setDNS(ctx, c)
}

// setDNS sets both DNS attributes (one per call, as EC2 requires), in an
// order EC2 accepts: hostnames need support.
func (vpcHandler) setDNS(ctx context.Context, c *call) error {
	support, hostnames := boolean(c.in, "enable_dns_support"), boolean(c.in, "enable_dns_hostnames")
	set := func(in *ec2.ModifyVpcAttributeInput) error {
		in.VpcId = aws.String(c.id)
		_, err := c.cl.ec2.ModifyVpcAttribute(ctx, in)
		return err
	}
	hostIn := &ec2.ModifyVpcAttributeInput{EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(hostnames)}}
	supIn := &ec2.ModifyVpcAttributeInput{EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(support)}}
	if !hostnames {
		if err := set(hostIn); err != nil {
			return fmt.Errorf("set enableDnsHostnames: %w", err)
		}
		if err := set(supIn); err != nil {
			return fmt.Errorf("set enableDnsSupport: %w", err)
		}
		return nil
	}
	if err := set(supIn); err != nil {
		return fmt.Errorf("set enableDnsSupport: %w", err)
	}
	if err := set(hostIn); err != nil {
		return fmt.Errorf("set enableDnsHostnames: %w", err)
	}
	return nil
}

func (vpcHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	out, err := c.cl.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("vpc-id", c.id)}})
	if err != nil {
		return false, nil, nil, err
	}
	if len(out.Vpcs) == 0 {
		return false, nil, nil, nil
	}
	v := out.Vpcs[0]
	attr := func(a ec2types.VpcAttributeName) (bool, error) {
		o, err := c.cl.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(c.id), Attribute: a})
		if err != nil {
			return false, err
		}
		switch a {
		case ec2types.VpcAttributeNameEnableDnsSupport:
			return o.EnableDnsSupport != nil && aws.ToBool(o.EnableDnsSupport.Value), nil
		default:
			return o.EnableDnsHostnames != nil && aws.ToBool(o.EnableDnsHostnames.Value), nil
		}
	}
	support, err := attr(ec2types.VpcAttributeNameEnableDnsSupport)
	if isNotFound(err) {
		return false, nil, nil, nil
	}
	if err != nil {
		return false, nil, nil, err
	}
	hostnames, err := attr(ec2types.VpcAttributeNameEnableDnsHostnames)
	if err != nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"location": c.loc, "cidr": aws.ToString(v.CidrBlock),
		"enable_dns_support": support, "enable_dns_hostnames": hostnames,
	}
	return true, in, providers.Values{"id": c.id, "cidr": aws.ToString(v.CidrBlock), "owner_id": aws.ToString(v.OwnerId)}, nil
}

func (h vpcHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		if k != "enable_dns_support" && k != "enable_dns_hostnames" {
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	return h.setDNS(ctx, c)
}

func (vpcHandler) delete(ctx context.Context, c *call) error {
	err := c.d.retryDependency(ctx, func() error {
		_, err := c.cl.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(c.id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_subnet ----

type subnetHandler struct{}

func (subnetHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{c.tagFilter()}})
	if err != nil {
		return "", err
	}
	for _, s := range out.Subnets {
		return aws.ToString(s.SubnetId), nil
	}
	return "", nil
}

func (h subnetHandler) create(ctx context.Context, c *call) (string, error) {
	tags := c.tags()
	if str(c.in, "tier") == "public" {
		tags[tagELBPublic] = "1"
	} else {
		tags[tagELBInternal] = "1"
	}
	return c.createUntokened(ctx, "subnet", h.find, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.cl.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(str(c.in, "vpc_id")), CidrBlock: aws.String(str(c.in, "cidr")),
			AvailabilityZone:  aws.String(str(c.in, "availability_zone")),
			TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, tags),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Subnet.SubnetId), nil
	})
}

func (subnetHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	out, err := c.cl.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("subnet-id", c.id)}})
	if err != nil {
		return false, nil, nil, err
	}
	if len(out.Subnets) == 0 {
		return false, nil, nil, nil
	}
	s := out.Subnets[0]
	tags := tagMap(s.Tags)
	var tier any
	switch {
	case tags[tagELBPublic] != "":
		tier = "public"
	case tags[tagELBInternal] != "":
		tier = "private"
	}
	in := providers.Values{
		"location": c.loc, "vpc_id": aws.ToString(s.VpcId), "cidr": aws.ToString(s.CidrBlock),
		"availability_zone": aws.ToString(s.AvailabilityZone), "tier": tier,
	}
	return true, in, providers.Values{
		"id": c.id, "arn": aws.ToString(s.SubnetArn), "availability_zone_id": aws.ToString(s.AvailabilityZoneId),
	}, nil
}

func (subnetHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (subnetHandler) delete(ctx context.Context, c *call) error {
	err := c.d.retryDependency(ctx, func() error {
		_, err := c.cl.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(c.id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_internet_gateway ----

type igwHandler struct{}

func (igwHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{c.tagFilter()}})
	if err != nil {
		return "", err
	}
	for _, g := range out.InternetGateways {
		return aws.ToString(g.InternetGatewayId), nil
	}
	return "", nil
}

func (h igwHandler) describe(ctx context.Context, c *call) (*ec2types.InternetGateway, error) {
	out, err := c.cl.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("internet-gateway-id", c.id)}})
	if err != nil || len(out.InternetGateways) == 0 {
		return nil, err
	}
	return &out.InternetGateways[0], nil
}

func (h igwHandler) create(ctx context.Context, c *call) (string, error) {
	id, err := c.createUntokened(ctx, "internet gateway", h.find, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.cl.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
			TagSpecifications: tagSpec(ec2types.ResourceTypeInternetGateway, c.tags()),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.InternetGateway.InternetGatewayId), nil
	})
	if err != nil {
		return "", err
	}
	c.id = id
	return id, h.attach(ctx, c)
}

// attach attaches the gateway to the wanted VPC, detaching it from any other.
func (h igwHandler) attach(ctx context.Context, c *call) error {
	g, err := h.describe(ctx, c)
	if err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("internet gateway %s: %w", c.id, providers.ErrNotFound)
	}
	want := str(c.in, "vpc_id")
	for _, a := range g.Attachments {
		if aws.ToString(a.VpcId) == want {
			return nil
		}
		if _, err := c.cl.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(c.id), VpcId: a.VpcId}); err != nil {
			return fmt.Errorf("detach from %s: %w", aws.ToString(a.VpcId), err)
		}
	}
	if _, err := c.cl.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(c.id), VpcId: aws.String(want)}); err != nil {
		return fmt.Errorf("attach to %s: %w", want, err)
	}
	return nil
}

func (h igwHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	g, err := h.describe(ctx, c)
	if err != nil || g == nil {
		return false, nil, nil, err
	}
	var vpc any
	if len(g.Attachments) > 0 {
		vpc = aws.ToString(g.Attachments[0].VpcId)
	}
	return true, providers.Values{"location": c.loc, "vpc_id": vpc}, providers.Values{"id": c.id}, nil
}

func (igwHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (h igwHandler) delete(ctx context.Context, c *call) error {
	g, err := h.describe(ctx, c)
	if err != nil || g == nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	for _, a := range g.Attachments {
		err := c.d.retryDependency(ctx, func() error {
			_, err := c.cl.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(c.id), VpcId: a.VpcId})
			return err
		})
		if err != nil && !isNotFound(err) && errCode(err) != "Gateway.NotAttached" {
			return fmt.Errorf("detach from %s: %w", aws.ToString(a.VpcId), err)
		}
	}
	err = c.d.retryDependency(ctx, func() error {
		_, err := c.cl.ec2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(c.id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_eip ----

type eipHandler struct{}

func (eipHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{c.tagFilter()}})
	if err != nil {
		return "", err
	}
	for _, a := range out.Addresses {
		return aws.ToString(a.AllocationId), nil
	}
	return "", nil
}

func (h eipHandler) create(ctx context.Context, c *call) (string, error) {
	return c.createUntokened(ctx, "Elastic IP", h.find, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.cl.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{
			Domain: ec2types.DomainTypeVpc, TagSpecifications: tagSpec(ec2types.ResourceTypeElasticIp, c.tags()),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.AllocationId), nil
	})
}

func (eipHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	out, err := c.cl.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{filter("allocation-id", c.id)}})
	if err != nil {
		return false, nil, nil, err
	}
	if len(out.Addresses) == 0 {
		return false, nil, nil, nil
	}
	a := out.Addresses[0]
	return true, providers.Values{"location": c.loc}, providers.Values{"id": c.id, "public_ip": aws.ToString(a.PublicIp)}, nil
}

func (eipHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (eipHandler) delete(ctx context.Context, c *call) error {
	// A NAT gateway that was just deleted may hold the address a little longer.
	err := c.d.retryDependency(ctx, func() error {
		_, err := c.cl.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(c.id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_nat_gateway ----

type natHandler struct{}

// live reports whether a NAT gateway state counts as existing: deleted and
// failed gateways linger in Describe for a while but are gone.
func natLive(s ec2types.NatGatewayState) bool {
	return s != ec2types.NatGatewayStateDeleted && s != ec2types.NatGatewayStateFailed
}

func (natHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{
		c.tagFilter(), filter("state", "pending", "available"),
	}})
	if err != nil {
		return "", err
	}
	for _, n := range out.NatGateways {
		return aws.ToString(n.NatGatewayId), nil
	}
	return "", nil
}

func (h natHandler) create(ctx context.Context, c *call) (string, error) {
	id, err := h.find(ctx, c)
	if err != nil {
		return "", err
	}
	if id == "" {
		out, err := c.cl.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
			SubnetId: aws.String(str(c.in, "subnet_id")), AllocationId: aws.String(str(c.in, "allocation_id")),
			ConnectivityType: ec2types.ConnectivityTypePublic, ClientToken: c.clientToken(),
			TagSpecifications: tagSpec(ec2types.ResourceTypeNatgateway, c.tags()),
		})
		if err != nil {
			return "", err
		}
		id = aws.ToString(out.NatGateway.NatGatewayId)
	}
	lo, hi := c.d.waitDelays()
	w := ec2.NewNatGatewayAvailableWaiter(c.cl.ec2, func(o *ec2.NatGatewayAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, 30*time.Minute); err != nil {
		return id, h.failure(ctx, c, id, fmt.Errorf("wait for NAT gateway %s to become available: %w", id, err))
	}
	return id, nil
}

// failure adds to err the failure message EC2 gives a failed gateway, and
// marks it providers.ErrCreateFailed (the engine taints the gateway); err
// is returned as it is when the gateway did not fail.
func (natHandler) failure(ctx context.Context, c *call, id string, err error) error {
	out, derr := c.cl.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("nat-gateway-id", id)}})
	if derr != nil || len(out.NatGateways) == 0 || out.NatGateways[0].State != ec2types.NatGatewayStateFailed {
		return err
	}
	return fmt.Errorf("%w: %w (%s)", providers.ErrCreateFailed, err, aws.ToString(out.NatGateways[0].FailureMessage))
}

func (natHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	out, err := c.cl.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("nat-gateway-id", c.id)}})
	if err != nil {
		return false, nil, nil, err
	}
	if len(out.NatGateways) == 0 || !natLive(out.NatGateways[0].State) {
		return false, nil, nil, nil
	}
	n := out.NatGateways[0]
	var alloc, publicIP, privateIP any
	for _, a := range n.NatGatewayAddresses {
		if a.AllocationId != nil && alloc == nil {
			alloc, publicIP, privateIP = aws.ToString(a.AllocationId), aws.ToString(a.PublicIp), aws.ToString(a.PrivateIp)
		}
	}
	in := providers.Values{"location": c.loc, "subnet_id": aws.ToString(n.SubnetId), "allocation_id": alloc}
	outv := providers.Values{"id": c.id, "state": string(n.State)}
	if publicIP != nil {
		outv["public_ip"], outv["private_ip"] = publicIP, privateIP
	}
	return true, in, outv, nil
}

func (natHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (natHandler) delete(ctx context.Context, c *call) error {
	_, err := c.cl.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(c.id)})
	if isNotFound(err) || errCode(err) == "InvalidParameter" {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.d.waitDelays()
	w := ec2.NewNatGatewayDeletedWaiter(c.cl.ec2, func(o *ec2.NatGatewayDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{c.id}}, 30*time.Minute); err != nil {
		return fmt.Errorf("wait for NAT gateway %s to be deleted: %w", c.id, err)
	}
	return nil
}

// ---- aws_route_table ----

type routeTableHandler struct{}

func (routeTableHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{c.tagFilter()}})
	if err != nil {
		return "", err
	}
	for _, r := range out.RouteTables {
		return aws.ToString(r.RouteTableId), nil
	}
	return "", nil
}

func (routeTableHandler) describe(ctx context.Context, c *call) (*ec2types.RouteTable, error) {
	out, err := c.cl.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("route-table-id", c.id)}})
	if err != nil || len(out.RouteTables) == 0 {
		return nil, err
	}
	return &out.RouteTables[0], nil
}

func (h routeTableHandler) create(ctx context.Context, c *call) (string, error) {
	id, err := h.find(ctx, c)
	if err != nil {
		return "", err
	}
	if id == "" {
		// The key as ClientToken: a create retried after a lost reply (by
		// the SDK or a rerun) gets the first table back.
		out, err := c.cl.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
			VpcId: aws.String(str(c.in, "vpc_id")), TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, c.tags()),
			ClientToken: c.clientToken(),
		})
		if err != nil {
			return "", err
		}
		id = aws.ToString(out.RouteTable.RouteTableId)
	}
	c.id = id
	return id, h.reconcile(ctx, c)
}

// reconcile makes the default route and the subnet associations match the
// inputs: CreateRoute or ReplaceRoute, AssociateRouteTable and
// DisassociateRouteTable.
func (h routeTableHandler) reconcile(ctx context.Context, c *call) error {
	rt, err := h.describe(ctx, c)
	if err != nil {
		return err
	}
	if rt == nil {
		return fmt.Errorf("route table %s: %w", c.id, providers.ErrNotFound)
	}
	gw, nat := str(c.in, "gateway_id"), str(c.in, "nat_gateway_id")
	var have *ec2types.Route
	for i, r := range rt.Routes {
		if aws.ToString(r.DestinationCidrBlock) == defaultRouteCIDR {
			have = &rt.Routes[i]
		}
	}
	switch {
	case have == nil && (gw != "" || nat != ""):
		in := &ec2.CreateRouteInput{RouteTableId: aws.String(c.id), DestinationCidrBlock: aws.String(defaultRouteCIDR)}
		if gw != "" {
			in.GatewayId = aws.String(gw)
		} else {
			in.NatGatewayId = aws.String(nat)
		}
		if _, err := c.cl.ec2.CreateRoute(ctx, in); err != nil {
			return fmt.Errorf("create route %s: %w", defaultRouteCIDR, err)
		}
	case have != nil && (aws.ToString(have.GatewayId) != gw || aws.ToString(have.NatGatewayId) != nat):
		in := &ec2.ReplaceRouteInput{RouteTableId: aws.String(c.id), DestinationCidrBlock: aws.String(defaultRouteCIDR)}
		if gw != "" {
			in.GatewayId = aws.String(gw)
		} else {
			in.NatGatewayId = aws.String(nat)
		}
		if _, err := c.cl.ec2.ReplaceRoute(ctx, in); err != nil {
			return fmt.Errorf("replace route %s: %w", defaultRouteCIDR, err)
		}
	}
	want := strList(c.in, "subnet_ids")
	var haveSubnets []string
	for _, a := range rt.Associations {
		if aws.ToBool(a.Main) || a.SubnetId == nil {
			continue
		}
		sn := aws.ToString(a.SubnetId)
		haveSubnets = append(haveSubnets, sn)
		if !slices.Contains(want, sn) {
			if _, err := c.cl.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !isNotFound(err) {
				return fmt.Errorf("disassociate subnet %s: %w", sn, err)
			}
		}
	}
	for _, sn := range want {
		if slices.Contains(haveSubnets, sn) {
			continue
		}
		if _, err := c.cl.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(c.id), SubnetId: aws.String(sn)}); err != nil {
			return fmt.Errorf("associate subnet %s: %w", sn, err)
		}
	}
	return nil
}

func (h routeTableHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	rt, err := h.describe(ctx, c)
	if err != nil || rt == nil {
		return false, nil, nil, err
	}
	in := providers.Values{"location": c.loc, "vpc_id": aws.ToString(rt.VpcId)}
	for _, r := range rt.Routes {
		if aws.ToString(r.DestinationCidrBlock) != defaultRouteCIDR {
			continue
		}
		if r.GatewayId != nil {
			in["gateway_id"] = aws.ToString(r.GatewayId)
		}
		if r.NatGatewayId != nil {
			in["nat_gateway_id"] = aws.ToString(r.NatGatewayId)
		}
	}
	var subnets []string
	for _, a := range rt.Associations {
		if !aws.ToBool(a.Main) && a.SubnetId != nil {
			subnets = append(subnets, aws.ToString(a.SubnetId))
		}
	}
	in["subnet_ids"] = orderLike(subnets, strList(c.prev, "subnet_ids"))
	return true, in, providers.Values{"id": c.id}, nil
}

func (h routeTableHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		if k != "gateway_id" && k != "nat_gateway_id" && k != "subnet_ids" {
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	return h.reconcile(ctx, c)
}

func (h routeTableHandler) delete(ctx context.Context, c *call) error {
	rt, err := h.describe(ctx, c)
	if err != nil || rt == nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	for _, a := range rt.Associations {
		if aws.ToBool(a.Main) {
			continue
		}
		if _, err := c.cl.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !isNotFound(err) {
			return fmt.Errorf("disassociate %s: %w", aws.ToString(a.SubnetId), err)
		}
	}
	_, err = c.cl.ec2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(c.id)})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_security_group ----

type sgHandler struct{}

func (sgHandler) find(ctx context.Context, c *call) (string, error) {
	out, err := c.cl.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{c.tagFilter()}})
	if err != nil {
		return "", err
	}
	for _, g := range out.SecurityGroups {
		return aws.ToString(g.GroupId), nil
	}
	return "", nil
}

func (h sgHandler) create(ctx context.Context, c *call) (string, error) {
	id, err := c.createUntokened(ctx, "security group", h.find, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.cl.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(str(c.in, "name")), Description: aws.String(str(c.in, "description")),
			VpcId: aws.String(str(c.in, "vpc_id")), TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, c.tags()),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.GroupId), nil
	})
	if err != nil {
		return "", err
	}
	_, err = c.cl.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String(str(c.in, "ingress_cidr")), Description: aws.String("Kubernetes API from the VPC")}},
		}},
	})
	if err != nil && errCode(err) != "InvalidPermission.Duplicate" {
		return id, fmt.Errorf("allow HTTPS from %s: %w", str(c.in, "ingress_cidr"), err)
	}
	return id, nil
}

func (sgHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	out, err := c.cl.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("group-id", c.id)}})
	if err != nil {
		return false, nil, nil, err
	}
	if len(out.SecurityGroups) == 0 {
		return false, nil, nil, nil
	}
	g := out.SecurityGroups[0]
	var ingress any
	for _, p := range g.IpPermissions {
		if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == 443 && aws.ToInt32(p.ToPort) == 443 && len(p.IpRanges) > 0 {
			ingress = aws.ToString(p.IpRanges[0].CidrIp)
		}
	}
	in := providers.Values{
		"location": c.loc, "vpc_id": aws.ToString(g.VpcId), "name": aws.ToString(g.GroupName),
		"description": aws.ToString(g.Description), "ingress_cidr": ingress,
	}
	return true, in, providers.Values{"id": c.id, "arn": aws.ToString(g.SecurityGroupArn)}, nil
}

func (sgHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (sgHandler) delete(ctx context.Context, c *call) error {
	err := c.d.retryDependency(ctx, func() error {
		_, err := c.cl.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(c.id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}
