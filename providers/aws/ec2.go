package aws

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
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
func tagFilter(m kit.Meta) ec2types.Filter {
	if m.Key != "" {
		return filter("tag:"+TagIdempotencyKey, m.Key)
	}
	return filter("tag:"+TagAddress, m.Address)
}

// idOut are the outputs of a resource whose only output is its ID.
type idOut struct {
	ID string `kit:"id"`
}

// firstID returns the first ID of a Describe* by tag filter, or "".
func firstID[T any](items []T, id func(T) *string) string {
	for _, it := range items {
		return aws.ToString(id(it))
	}
	return ""
}

// ---- aws_vpc ----

type vpcIn struct {
	Location           string `kit:"location,replace" why:"a VPC lives in one AWS region"`
	CIDR               string `kit:"cidr,replace" why:"EC2 cannot change a VPC's primary CIDR block"`
	EnableDNSSupport   bool   `kit:"enable_dns_support"`
	EnableDNSHostnames bool   `kit:"enable_dns_hostnames"`
}

type vpcOut struct {
	ID      string `kit:"id"`
	CIDR    string `kit:"cidr"`
	OwnerID string `kit:"owner_id"`
}

type vpcCall = call[vpcIn, vpcOut]

type vpcHandler struct{}

func (vpcHandler) Find(ctx context.Context, c *vpcCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{tagFilter(c.Meta)}})
	if err != nil {
		return "", err
	}
	return firstID(out.Vpcs, func(v ec2types.Vpc) *string { return v.VpcId }), nil
}

func (h vpcHandler) Create(ctx context.Context, c *vpcCall) (string, error) {
	id, err := c.Env.createUntokened(ctx, "VPC", func() (string, error) { return h.Find(ctx, c) }, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.Env.cl.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{
			CidrBlock:         aws.String(c.In.CIDR),
			TagSpecifications: tagSpec(ec2types.ResourceTypeVpc, tags(c.Meta)),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Vpc.VpcId), nil
	})
	if err != nil {
		return "", err
	}
	c.ID = id
	return id, h.setDNS(ctx, c)
}

// setDNS sets both DNS attributes (one per call, as EC2 requires), in an
// order EC2 accepts: hostnames need support.
func (vpcHandler) setDNS(ctx context.Context, c *vpcCall) error {
	set := func(in *ec2.ModifyVpcAttributeInput) error {
		in.VpcId = aws.String(c.ID)
		_, err := c.Env.cl.ec2.ModifyVpcAttribute(ctx, in)
		return err
	}
	hostIn := &ec2.ModifyVpcAttributeInput{EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(c.In.EnableDNSHostnames)}}
	supIn := &ec2.ModifyVpcAttributeInput{EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(c.In.EnableDNSSupport)}}
	if !c.In.EnableDNSHostnames {
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

func (h vpcHandler) Read(ctx context.Context, c *vpcCall) (*kit.Live[vpcIn, vpcOut], error) {
	out, err := c.Env.cl.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("vpc-id", c.ID)}})
	if err != nil || len(out.Vpcs) == 0 {
		return nil, err
	}
	return h.live(ctx, c, out.Vpcs[0])
}

// live reports a described VPC with its DNS attributes (one call each:
// DescribeVpcs does not return them).
func (vpcHandler) live(ctx context.Context, c *vpcCall, v ec2types.Vpc) (*kit.Live[vpcIn, vpcOut], error) {
	attr := func(a ec2types.VpcAttributeName) (bool, error) {
		o, err := c.Env.cl.ec2.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: aws.String(c.ID), Attribute: a})
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
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	hostnames, err := attr(ec2types.VpcAttributeNameEnableDnsHostnames)
	if err != nil {
		return nil, err
	}
	in := vpcIn{Location: c.In.Location, CIDR: aws.ToString(v.CidrBlock), EnableDNSSupport: support, EnableDNSHostnames: hostnames}
	return c.Found(in, vpcOut{ID: c.ID, CIDR: aws.ToString(v.CidrBlock), OwnerID: aws.ToString(v.OwnerId)}), nil
}

// Update sets the DNS attributes, the only inputs that change in place.
func (h vpcHandler) Update(ctx context.Context, c *vpcCall, _ []string) error {
	return h.setDNS(ctx, c)
}

func (vpcHandler) Delete(ctx context.Context, c *vpcCall) error {
	err := c.Env.d.retryDependency(ctx, func() error {
		_, err := c.Env.cl.ec2.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: aws.String(c.ID)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_subnet ----

type subnetIn struct {
	Location         string `kit:"location,replace" why:"a subnet lives in one AWS region"`
	VpcID            string `kit:"vpc_id,replace" why:"a subnet cannot move to another VPC"`
	CIDR             string `kit:"cidr,replace" why:"EC2 cannot change a subnet's CIDR block"`
	AvailabilityZone string `kit:"availability_zone,replace" why:"a subnet lives in one availability zone"`
	// Tier is read from the load balancer role tags; nil when neither is set.
	Tier *string `kit:"tier,replace" why:"a subnet's tier is fixed by its role tags and route table at creation"`
}

type subnetOut struct {
	ID                 string `kit:"id"`
	ARN                string `kit:"arn"`
	AvailabilityZoneID string `kit:"availability_zone_id"`
}

type subnetCall = call[subnetIn, subnetOut]

type subnetHandler struct{}

func (subnetHandler) Find(ctx context.Context, c *subnetCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{tagFilter(c.Meta)}})
	if err != nil {
		return "", err
	}
	return firstID(out.Subnets, func(s ec2types.Subnet) *string { return s.SubnetId }), nil
}

func (h subnetHandler) Create(ctx context.Context, c *subnetCall) (string, error) {
	t := tags(c.Meta)
	if aws.ToString(c.In.Tier) == "public" {
		t[tagELBPublic] = "1"
	} else {
		t[tagELBInternal] = "1"
	}
	return c.Env.createUntokened(ctx, "subnet", func() (string, error) { return h.Find(ctx, c) }, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.Env.cl.ec2.CreateSubnet(ctx, &ec2.CreateSubnetInput{
			VpcId: aws.String(c.In.VpcID), CidrBlock: aws.String(c.In.CIDR),
			AvailabilityZone:  aws.String(c.In.AvailabilityZone),
			TagSpecifications: tagSpec(ec2types.ResourceTypeSubnet, t),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.Subnet.SubnetId), nil
	})
}

func (h subnetHandler) Read(ctx context.Context, c *subnetCall) (*kit.Live[subnetIn, subnetOut], error) {
	out, err := c.Env.cl.ec2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("subnet-id", c.ID)}})
	if err != nil || len(out.Subnets) == 0 {
		return nil, err
	}
	return h.live(ctx, c, out.Subnets[0])
}

func (subnetHandler) live(_ context.Context, c *subnetCall, s ec2types.Subnet) (*kit.Live[subnetIn, subnetOut], error) {
	in := subnetIn{
		Location: c.In.Location, VpcID: aws.ToString(s.VpcId), CIDR: aws.ToString(s.CidrBlock),
		AvailabilityZone: aws.ToString(s.AvailabilityZone),
	}
	switch t := tagMap(s.Tags); {
	case t[tagELBPublic] != "":
		in.Tier = aws.String("public")
	case t[tagELBInternal] != "":
		in.Tier = aws.String("private")
	}
	return c.Found(in, subnetOut{ID: c.ID, ARN: aws.ToString(s.SubnetArn), AvailabilityZoneID: aws.ToString(s.AvailabilityZoneId)}), nil
}

func (subnetHandler) Delete(ctx context.Context, c *subnetCall) error {
	err := c.Env.d.retryDependency(ctx, func() error {
		_, err := c.Env.cl.ec2.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: aws.String(c.ID)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_internet_gateway ----

type igwIn struct {
	Location string `kit:"location,replace" why:"a gateway lives in one AWS region"`
	// VpcID is the VPC the gateway is attached to; nil when detached.
	VpcID *string `kit:"vpc_id,replace" why:"regionctl attaches a gateway to its VPC only when it creates it"`
}

type igwCall = call[igwIn, idOut]

type igwHandler struct{}

func (igwHandler) Find(ctx context.Context, c *igwCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{tagFilter(c.Meta)}})
	if err != nil {
		return "", err
	}
	return firstID(out.InternetGateways, func(g ec2types.InternetGateway) *string { return g.InternetGatewayId }), nil
}

func (igwHandler) describe(ctx context.Context, c *igwCall) (*ec2types.InternetGateway, error) {
	out, err := c.Env.cl.ec2.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("internet-gateway-id", c.ID)}})
	if err != nil || len(out.InternetGateways) == 0 {
		return nil, err
	}
	return &out.InternetGateways[0], nil
}

func (h igwHandler) Create(ctx context.Context, c *igwCall) (string, error) {
	id, err := c.Env.createUntokened(ctx, "internet gateway", func() (string, error) { return h.Find(ctx, c) }, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.Env.cl.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
			TagSpecifications: tagSpec(ec2types.ResourceTypeInternetGateway, tags(c.Meta)),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.InternetGateway.InternetGatewayId), nil
	})
	if err != nil {
		return "", err
	}
	c.ID = id
	return id, h.attach(ctx, c)
}

// attach attaches the gateway to the wanted VPC, detaching it from any other.
func (h igwHandler) attach(ctx context.Context, c *igwCall) error {
	g, err := h.describe(ctx, c)
	if err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("internet gateway %s: %w", c.ID, providers.ErrNotFound)
	}
	want := aws.ToString(c.In.VpcID)
	for _, a := range g.Attachments {
		if aws.ToString(a.VpcId) == want {
			return nil
		}
		if _, err := c.Env.cl.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(c.ID), VpcId: a.VpcId}); err != nil {
			return fmt.Errorf("detach from %s: %w", aws.ToString(a.VpcId), err)
		}
	}
	if _, err := c.Env.cl.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: aws.String(c.ID), VpcId: aws.String(want)}); err != nil {
		return fmt.Errorf("attach to %s: %w", want, err)
	}
	return nil
}

func (h igwHandler) Read(ctx context.Context, c *igwCall) (*kit.Live[igwIn, idOut], error) {
	g, err := h.describe(ctx, c)
	if err != nil || g == nil {
		return nil, err
	}
	return h.live(ctx, c, *g)
}

func (igwHandler) live(_ context.Context, c *igwCall, g ec2types.InternetGateway) (*kit.Live[igwIn, idOut], error) {
	in := igwIn{Location: c.In.Location}
	if len(g.Attachments) > 0 {
		in.VpcID = aws.String(aws.ToString(g.Attachments[0].VpcId))
	}
	return c.Found(in, idOut{ID: c.ID}), nil
}

func (h igwHandler) Delete(ctx context.Context, c *igwCall) error {
	g, err := h.describe(ctx, c)
	if err != nil || g == nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	for _, a := range g.Attachments {
		err := c.Env.d.retryDependency(ctx, func() error {
			_, err := c.Env.cl.ec2.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: aws.String(c.ID), VpcId: a.VpcId})
			return err
		})
		if err != nil && !isNotFound(err) && errCode(err) != "Gateway.NotAttached" {
			return fmt.Errorf("detach from %s: %w", aws.ToString(a.VpcId), err)
		}
	}
	err = c.Env.d.retryDependency(ctx, func() error {
		_, err := c.Env.cl.ec2.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: aws.String(c.ID)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_eip ----

type eipIn struct {
	Location string `kit:"location,replace" why:"an Elastic IP lives in one AWS region"`
}

type eipOut struct {
	ID       string `kit:"id"`
	PublicIP string `kit:"public_ip"`
}

type eipCall = call[eipIn, eipOut]

type eipHandler struct{}

func (eipHandler) Find(ctx context.Context, c *eipCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{tagFilter(c.Meta)}})
	if err != nil {
		return "", err
	}
	return firstID(out.Addresses, func(a ec2types.Address) *string { return a.AllocationId }), nil
}

func (h eipHandler) Create(ctx context.Context, c *eipCall) (string, error) {
	return c.Env.createUntokened(ctx, "Elastic IP", func() (string, error) { return h.Find(ctx, c) }, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.Env.cl.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{
			Domain: ec2types.DomainTypeVpc, TagSpecifications: tagSpec(ec2types.ResourceTypeElasticIp, tags(c.Meta)),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.AllocationId), nil
	})
}

func (h eipHandler) Read(ctx context.Context, c *eipCall) (*kit.Live[eipIn, eipOut], error) {
	out, err := c.Env.cl.ec2.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{filter("allocation-id", c.ID)}})
	if err != nil || len(out.Addresses) == 0 {
		return nil, err
	}
	return h.live(ctx, c, out.Addresses[0])
}

func (eipHandler) live(_ context.Context, c *eipCall, a ec2types.Address) (*kit.Live[eipIn, eipOut], error) {
	return c.Found(eipIn{Location: c.In.Location}, eipOut{ID: c.ID, PublicIP: aws.ToString(a.PublicIp)}), nil
}

func (eipHandler) Delete(ctx context.Context, c *eipCall) error {
	// A NAT gateway that was just deleted may hold the address a little longer.
	err := c.Env.d.retryDependency(ctx, func() error {
		_, err := c.Env.cl.ec2.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: aws.String(c.ID)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_nat_gateway ----

type natIn struct {
	Location string `kit:"location,replace" why:"a NAT gateway lives in one AWS region"`
	SubnetID string `kit:"subnet_id,replace" why:"EC2 cannot move a NAT gateway to another subnet"`
	// AllocationID is the Elastic IP the gateway uses; nil when it has none.
	AllocationID *string `kit:"allocation_id,replace" why:"EC2 cannot change a NAT gateway's primary Elastic IP"`
}

type natOut struct {
	ID        string  `kit:"id"`
	State     string  `kit:"state"`
	PublicIP  *string `kit:"public_ip,omitempty"`
	PrivateIP *string `kit:"private_ip,omitempty"`
}

type natCall = call[natIn, natOut]

type natHandler struct{}

// natLive reports whether a NAT gateway state counts as existing: deleted
// and failed gateways linger in Describe for a while but are gone.
func natLive(s ec2types.NatGatewayState) bool {
	return s != ec2types.NatGatewayStateDeleted && s != ec2types.NatGatewayStateFailed
}

func (natHandler) Find(ctx context.Context, c *natCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{
		tagFilter(c.Meta), filter("state", "pending", "available"),
	}})
	if err != nil {
		return "", err
	}
	return firstID(out.NatGateways, func(n ec2types.NatGateway) *string { return n.NatGatewayId }), nil
}

func (h natHandler) Create(ctx context.Context, c *natCall) (string, error) {
	id, err := h.Find(ctx, c)
	if err != nil {
		return "", err
	}
	if id == "" {
		out, err := c.Env.cl.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
			SubnetId: aws.String(c.In.SubnetID), AllocationId: c.In.AllocationID,
			ConnectivityType: ec2types.ConnectivityTypePublic, ClientToken: clientToken(c.Meta),
			TagSpecifications: tagSpec(ec2types.ResourceTypeNatgateway, tags(c.Meta)),
		})
		if err != nil {
			return "", err
		}
		id = aws.ToString(out.NatGateway.NatGatewayId)
	}
	lo, hi := c.Env.d.waitDelays()
	w := ec2.NewNatGatewayAvailableWaiter(c.Env.cl.ec2, func(o *ec2.NatGatewayAvailableWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{id}}, 30*time.Minute); err != nil {
		msg, failed := h.failure(ctx, c, id)
		err = fmt.Errorf("wait for NAT gateway %s to become available: %w%s", id, err, msg)
		if failed {
			return id, kit.Classed(err, providers.ErrCreateFailed)
		}
		return id, err
	}
	return id, nil
}

// failure returns the failure message EC2 gives a failed gateway, and
// whether it failed.
func (natHandler) failure(ctx context.Context, c *natCall, id string) (string, bool) {
	out, err := c.Env.cl.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("nat-gateway-id", id)}})
	if err != nil || len(out.NatGateways) == 0 {
		return "", false
	}
	n := out.NatGateways[0]
	msg := ""
	if n.FailureMessage != nil {
		msg = " (" + aws.ToString(n.FailureMessage) + ")"
	}
	return msg, n.State == ec2types.NatGatewayStateFailed
}

func (h natHandler) Read(ctx context.Context, c *natCall) (*kit.Live[natIn, natOut], error) {
	out, err := c.Env.cl.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("nat-gateway-id", c.ID)}})
	if err != nil || len(out.NatGateways) == 0 {
		return nil, err
	}
	return h.live(ctx, c, out.NatGateways[0])
}

// live reports a described gateway; a deleted or failed one is gone.
func (natHandler) live(_ context.Context, c *natCall, n ec2types.NatGateway) (*kit.Live[natIn, natOut], error) {
	if !natLive(n.State) {
		return nil, nil
	}
	in := natIn{Location: c.In.Location, SubnetID: aws.ToString(n.SubnetId)}
	o := natOut{ID: c.ID, State: string(n.State)}
	for _, a := range n.NatGatewayAddresses {
		if a.AllocationId != nil && in.AllocationID == nil {
			in.AllocationID = aws.String(aws.ToString(a.AllocationId))
			o.PublicIP, o.PrivateIP = aws.String(aws.ToString(a.PublicIp)), aws.String(aws.ToString(a.PrivateIp))
		}
	}
	return c.Found(in, o), nil
}

func (natHandler) Delete(ctx context.Context, c *natCall) error {
	_, err := c.Env.cl.ec2.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: aws.String(c.ID)})
	if isNotFound(err) || errCode(err) == "InvalidParameter" {
		return nil
	}
	if err != nil {
		return err
	}
	lo, hi := c.Env.d.waitDelays()
	w := ec2.NewNatGatewayDeletedWaiter(c.Env.cl.ec2, func(o *ec2.NatGatewayDeletedWaiterOptions) { o.MinDelay, o.MaxDelay = lo, hi })
	if err := w.Wait(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{c.ID}}, 30*time.Minute); err != nil {
		return fmt.Errorf("wait for NAT gateway %s to be deleted: %w", c.ID, err)
	}
	return nil
}

// ---- aws_route_table ----

type routeTableIn struct {
	Location string `kit:"location,replace" why:"a route table lives in one AWS region"`
	VpcID    string `kit:"vpc_id,replace" why:"a route table cannot move to another VPC"`
	// GatewayID or NatGatewayID is the target of the default route.
	GatewayID    *string  `kit:"gateway_id,omitempty"`
	NatGatewayID *string  `kit:"nat_gateway_id,omitempty"`
	SubnetIDs    []string `kit:"subnet_ids,set"`
}

type routeTableCall = call[routeTableIn, idOut]

type routeTableHandler struct{}

func (routeTableHandler) Find(ctx context.Context, c *routeTableCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{tagFilter(c.Meta)}})
	if err != nil {
		return "", err
	}
	return firstID(out.RouteTables, func(r ec2types.RouteTable) *string { return r.RouteTableId }), nil
}

func (routeTableHandler) describe(ctx context.Context, c *routeTableCall) (*ec2types.RouteTable, error) {
	out, err := c.Env.cl.ec2.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("route-table-id", c.ID)}})
	if err != nil || len(out.RouteTables) == 0 {
		return nil, err
	}
	return &out.RouteTables[0], nil
}

func (h routeTableHandler) Create(ctx context.Context, c *routeTableCall) (string, error) {
	id, err := h.Find(ctx, c)
	if err != nil {
		return "", err
	}
	if id == "" {
		// The key as ClientToken: a create retried after a lost reply (by
		// the SDK or a rerun) gets the first table back.
		out, err := c.Env.cl.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
			VpcId: aws.String(c.In.VpcID), TagSpecifications: tagSpec(ec2types.ResourceTypeRouteTable, tags(c.Meta)),
			ClientToken: clientToken(c.Meta),
		})
		if err != nil {
			return "", err
		}
		id = aws.ToString(out.RouteTable.RouteTableId)
	}
	c.ID = id
	return id, h.reconcile(ctx, c)
}

// reconcile makes the default route and the subnet associations match the
// inputs: CreateRoute or ReplaceRoute, AssociateRouteTable and
// DisassociateRouteTable.
func (h routeTableHandler) reconcile(ctx context.Context, c *routeTableCall) error {
	rt, err := h.describe(ctx, c)
	if err != nil {
		return err
	}
	if rt == nil {
		return fmt.Errorf("route table %s: %w", c.ID, providers.ErrNotFound)
	}
	gw, nat := aws.ToString(c.In.GatewayID), aws.ToString(c.In.NatGatewayID)
	var have *ec2types.Route
	for i, r := range rt.Routes {
		if aws.ToString(r.DestinationCidrBlock) == defaultRouteCIDR {
			have = &rt.Routes[i]
		}
	}
	switch {
	case have == nil && (gw != "" || nat != ""):
		in := &ec2.CreateRouteInput{RouteTableId: aws.String(c.ID), DestinationCidrBlock: aws.String(defaultRouteCIDR)}
		if gw != "" {
			in.GatewayId = aws.String(gw)
		} else {
			in.NatGatewayId = aws.String(nat)
		}
		if _, err := c.Env.cl.ec2.CreateRoute(ctx, in); err != nil {
			return fmt.Errorf("create route %s: %w", defaultRouteCIDR, err)
		}
	case have != nil && (aws.ToString(have.GatewayId) != gw || aws.ToString(have.NatGatewayId) != nat):
		in := &ec2.ReplaceRouteInput{RouteTableId: aws.String(c.ID), DestinationCidrBlock: aws.String(defaultRouteCIDR)}
		if gw != "" {
			in.GatewayId = aws.String(gw)
		} else {
			in.NatGatewayId = aws.String(nat)
		}
		if _, err := c.Env.cl.ec2.ReplaceRoute(ctx, in); err != nil {
			return fmt.Errorf("replace route %s: %w", defaultRouteCIDR, err)
		}
	}
	want := c.In.SubnetIDs
	var haveSubnets []string
	for _, a := range rt.Associations {
		if aws.ToBool(a.Main) || a.SubnetId == nil {
			continue
		}
		sn := aws.ToString(a.SubnetId)
		haveSubnets = append(haveSubnets, sn)
		if !slices.Contains(want, sn) {
			if _, err := c.Env.cl.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !isNotFound(err) {
				return fmt.Errorf("disassociate subnet %s: %w", sn, err)
			}
		}
	}
	for _, sn := range want {
		if slices.Contains(haveSubnets, sn) {
			continue
		}
		if _, err := c.Env.cl.ec2.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: aws.String(c.ID), SubnetId: aws.String(sn)}); err != nil {
			return fmt.Errorf("associate subnet %s: %w", sn, err)
		}
	}
	return nil
}

func (h routeTableHandler) Read(ctx context.Context, c *routeTableCall) (*kit.Live[routeTableIn, idOut], error) {
	rt, err := h.describe(ctx, c)
	if err != nil || rt == nil {
		return nil, err
	}
	return h.live(ctx, c, *rt)
}

func (routeTableHandler) live(_ context.Context, c *routeTableCall, rt ec2types.RouteTable) (*kit.Live[routeTableIn, idOut], error) {
	in := routeTableIn{Location: c.In.Location, VpcID: aws.ToString(rt.VpcId)}
	for _, r := range rt.Routes {
		if aws.ToString(r.DestinationCidrBlock) != defaultRouteCIDR {
			continue
		}
		if r.GatewayId != nil {
			in.GatewayID = aws.String(aws.ToString(r.GatewayId))
		}
		if r.NatGatewayId != nil {
			in.NatGatewayID = aws.String(aws.ToString(r.NatGatewayId))
		}
	}
	for _, a := range rt.Associations {
		if !aws.ToBool(a.Main) && a.SubnetId != nil {
			in.SubnetIDs = append(in.SubnetIDs, aws.ToString(a.SubnetId))
		}
	}
	return c.Found(in, idOut{ID: c.ID}), nil
}

// Update moves the default route and the subnet associations.
func (h routeTableHandler) Update(ctx context.Context, c *routeTableCall, _ []string) error {
	return h.reconcile(ctx, c)
}

func (h routeTableHandler) Delete(ctx context.Context, c *routeTableCall) error {
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
		if _, err := c.Env.cl.ec2.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: a.RouteTableAssociationId}); err != nil && !isNotFound(err) {
			return fmt.Errorf("disassociate %s: %w", aws.ToString(a.SubnetId), err)
		}
	}
	_, err = c.Env.cl.ec2.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: aws.String(c.ID)})
	if isNotFound(err) {
		return nil
	}
	return err
}

// ---- aws_security_group ----

type sgIn struct {
	Location    string `kit:"location,replace" why:"a security group lives in one AWS region"`
	VpcID       string `kit:"vpc_id,replace" why:"a security group cannot move to another VPC"`
	Name        string `kit:"name,replace" why:"EC2 cannot rename a security group"`
	Description string `kit:"description,replace" why:"EC2 cannot change a security group's description"`
	// IngressCIDR is the source of the HTTPS rule; nil without one.
	IngressCIDR *string `kit:"ingress_cidr,replace" why:"regionctl writes the rule only when it creates the group"`
}

type sgOut struct {
	ID  string `kit:"id"`
	ARN string `kit:"arn"`
}

type sgCall = call[sgIn, sgOut]

type sgHandler struct{}

func (sgHandler) Find(ctx context.Context, c *sgCall) (string, error) {
	out, err := c.Env.cl.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{tagFilter(c.Meta)}})
	if err != nil {
		return "", err
	}
	return firstID(out.SecurityGroups, func(g ec2types.SecurityGroup) *string { return g.GroupId }), nil
}

func (h sgHandler) Create(ctx context.Context, c *sgCall) (string, error) {
	id, err := c.Env.createUntokened(ctx, "security group", func() (string, error) { return h.Find(ctx, c) }, func(opt func(*ec2.Options)) (string, error) {
		out, err := c.Env.cl.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: aws.String(c.In.Name), Description: aws.String(c.In.Description),
			VpcId: aws.String(c.In.VpcID), TagSpecifications: tagSpec(ec2types.ResourceTypeSecurityGroup, tags(c.Meta)),
		}, opt)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.GroupId), nil
	})
	if err != nil {
		return "", err
	}
	cidr := aws.ToString(c.In.IngressCIDR)
	_, err = c.Env.cl.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: aws.String(id),
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(443), ToPort: aws.Int32(443),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr), Description: aws.String("Kubernetes API from the VPC")}},
		}},
	})
	if err != nil && errCode(err) != "InvalidPermission.Duplicate" {
		return id, fmt.Errorf("allow HTTPS from %s: %w", cidr, err)
	}
	return id, nil
}

func (h sgHandler) Read(ctx context.Context, c *sgCall) (*kit.Live[sgIn, sgOut], error) {
	out, err := c.Env.cl.ec2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("group-id", c.ID)}})
	if err != nil || len(out.SecurityGroups) == 0 {
		return nil, err
	}
	return h.live(ctx, c, out.SecurityGroups[0])
}

func (sgHandler) live(_ context.Context, c *sgCall, g ec2types.SecurityGroup) (*kit.Live[sgIn, sgOut], error) {
	in := sgIn{Location: c.In.Location, VpcID: aws.ToString(g.VpcId), Name: aws.ToString(g.GroupName), Description: aws.ToString(g.Description)}
	for _, p := range g.IpPermissions {
		if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == 443 && aws.ToInt32(p.ToPort) == 443 && len(p.IpRanges) > 0 {
			in.IngressCIDR = aws.String(aws.ToString(p.IpRanges[0].CidrIp))
		}
	}
	return c.Found(in, sgOut{ID: c.ID, ARN: aws.ToString(g.SecurityGroupArn)}), nil
}

func (sgHandler) Delete(ctx context.Context, c *sgCall) error {
	err := c.Env.d.retryDependency(ctx, func() error {
		_, err := c.Env.cl.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(c.ID)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	return err
}
