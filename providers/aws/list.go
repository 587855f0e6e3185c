package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/regionctl/regionctl/providers/kit"
)

// Batched refresh (kit.Lister). Each EC2 type is described by ID filter,
// one paginated call per AWS region for every resource of that type that
// the concurrent ReadMany calls of a fleet ask for (d.lists); IAM roles
// come from one paginated GetAccountAuthorizationDetails for the account.
// EKS has no batch read: clusters, node groups and add-ons are read one by
// one. What each reports is built by the same function Read uses.

// maxFilterValues is how many IDs one EC2 filter takes.
const maxFilterValues = 200

// describeByID returns the objects of one EC2 type in e's AWS region, by ID.
func describeByID[T any](ctx context.Context, e *env, op string, ids []string,
	describe func(ctx context.Context, ids []string) ([]T, error), idOf func(T) *string,
) (map[string]T, error) {
	v, err := e.d.lists.Do(ctx, "ec2:"+op+":"+e.loc, ids, func(ctx context.Context, ids []string) (any, error) {
		out := map[string]T{}
		for start := 0; start < len(ids); start += maxFilterValues {
			items, err := describe(ctx, ids[start:min(start+maxFilterValues, len(ids))])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", op, err)
			}
			for _, it := range items {
				out[aws.ToString(idOf(it))] = it
			}
		}
		return out, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(map[string]T), nil
}

// readByID is the ReadMany of an EC2 type: one describeByID per AWS region
// of the calls, then live (the function Read ends with) for each object
// found; an ID the describe does not return is gone.
func readByID[In, Out, T any](ctx context.Context, calls []*call[In, Out], op string,
	describe func(ctx context.Context, cl *ec2.Client, ids []string) ([]T, error), idOf func(T) *string,
	live func(context.Context, *call[In, Out], T) (*kit.Live[In, Out], error),
) ([]*kit.Live[In, Out], error) {
	byLoc := map[string][]int{}
	for i, c := range calls {
		byLoc[c.Env.loc] = append(byLoc[c.Env.loc], i)
	}
	out := make([]*kit.Live[In, Out], len(calls))
	for _, idx := range byLoc {
		e := calls[idx[0]].Env
		ids := make([]string, len(idx))
		for j, i := range idx {
			ids[j] = calls[i].ID
		}
		found, err := describeByID(ctx, e, op, ids, func(ctx context.Context, ids []string) ([]T, error) {
			return describe(ctx, e.cl.ec2, ids)
		}, idOf)
		if err != nil {
			return nil, err
		}
		if err := kit.Fill(ctx, out, calls, idx, found, func(c *call[In, Out]) string { return c.ID }, live); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// pages collects every page of a paginated describe.
func pages[O, T any](ctx context.Context, more func() bool, next func(context.Context, ...func(*ec2.Options)) (O, error), items func(O) []T) ([]T, error) {
	var all []T
	for more() {
		page, err := next(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, items(page)...)
	}
	return all, nil
}

func (h vpcHandler) ReadMany(ctx context.Context, calls []*vpcCall) ([]*kit.Live[vpcIn, vpcOut], error) {
	return readByID(ctx, calls, "DescribeVpcs", func(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.Vpc, error) {
		p := ec2.NewDescribeVpcsPaginator(cl, &ec2.DescribeVpcsInput{Filters: []ec2types.Filter{filter("vpc-id", ids...)}})
		return pages(ctx, p.HasMorePages, p.NextPage, func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs })
	}, func(v ec2types.Vpc) *string { return v.VpcId }, h.live)
}

func (h subnetHandler) ReadMany(ctx context.Context, calls []*subnetCall) ([]*kit.Live[subnetIn, subnetOut], error) {
	return readByID(ctx, calls, "DescribeSubnets", func(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.Subnet, error) {
		p := ec2.NewDescribeSubnetsPaginator(cl, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{filter("subnet-id", ids...)}})
		return pages(ctx, p.HasMorePages, p.NextPage, func(o *ec2.DescribeSubnetsOutput) []ec2types.Subnet { return o.Subnets })
	}, func(s ec2types.Subnet) *string { return s.SubnetId }, h.live)
}

func (h igwHandler) ReadMany(ctx context.Context, calls []*igwCall) ([]*kit.Live[igwIn, idOut], error) {
	return readByID(ctx, calls, "DescribeInternetGateways", func(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.InternetGateway, error) {
		p := ec2.NewDescribeInternetGatewaysPaginator(cl, &ec2.DescribeInternetGatewaysInput{Filters: []ec2types.Filter{filter("internet-gateway-id", ids...)}})
		return pages(ctx, p.HasMorePages, p.NextPage, func(o *ec2.DescribeInternetGatewaysOutput) []ec2types.InternetGateway { return o.InternetGateways })
	}, func(g ec2types.InternetGateway) *string { return g.InternetGatewayId }, h.live)
}

func (h eipHandler) ReadMany(ctx context.Context, calls []*eipCall) ([]*kit.Live[eipIn, eipOut], error) {
	return readByID(ctx, calls, "DescribeAddresses", describeAddresses, allocationID, h.live)
}

// describeAddresses describes Elastic IPs by allocation ID (a filter, not
// AllocationIds: an ID released by hand is missing rather than an error).
// DescribeAddresses is not paginated.
func describeAddresses(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.Address, error) {
	out, err := cl.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: []ec2types.Filter{filter("allocation-id", ids...)}})
	if err != nil {
		return nil, err
	}
	return out.Addresses, nil
}

func allocationID(a ec2types.Address) *string { return a.AllocationId }

func (h natHandler) ReadMany(ctx context.Context, calls []*natCall) ([]*kit.Live[natIn, natOut], error) {
	return readByID(ctx, calls, "DescribeNatGateways", func(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.NatGateway, error) {
		p := ec2.NewDescribeNatGatewaysPaginator(cl, &ec2.DescribeNatGatewaysInput{Filter: []ec2types.Filter{filter("nat-gateway-id", ids...)}})
		return pages(ctx, p.HasMorePages, p.NextPage, func(o *ec2.DescribeNatGatewaysOutput) []ec2types.NatGateway { return o.NatGateways })
	}, func(n ec2types.NatGateway) *string { return n.NatGatewayId }, h.live)
}

func (h routeTableHandler) ReadMany(ctx context.Context, calls []*routeTableCall) ([]*kit.Live[routeTableIn, idOut], error) {
	return readByID(ctx, calls, "DescribeRouteTables", func(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.RouteTable, error) {
		p := ec2.NewDescribeRouteTablesPaginator(cl, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{filter("route-table-id", ids...)}})
		return pages(ctx, p.HasMorePages, p.NextPage, func(o *ec2.DescribeRouteTablesOutput) []ec2types.RouteTable { return o.RouteTables })
	}, func(r ec2types.RouteTable) *string { return r.RouteTableId }, h.live)
}

func (h sgHandler) ReadMany(ctx context.Context, calls []*sgCall) ([]*kit.Live[sgIn, sgOut], error) {
	return readByID(ctx, calls, "DescribeSecurityGroups", func(ctx context.Context, cl *ec2.Client, ids []string) ([]ec2types.SecurityGroup, error) {
		p := ec2.NewDescribeSecurityGroupsPaginator(cl, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("group-id", ids...)}})
		return pages(ctx, p.HasMorePages, p.NextPage, func(o *ec2.DescribeSecurityGroupsOutput) []ec2types.SecurityGroup { return o.SecurityGroups })
	}, func(g ec2types.SecurityGroup) *string { return g.GroupId }, h.live)
}

// ReadMany reads every role from the account's authorization details
// (roles with their attached managed policies, 1,000 a page), one paginated
// call for all the roles a fleet's concurrent refreshes ask for: IAM is
// global. A role it does not list is gone.
func (roleHandler) ReadMany(ctx context.Context, calls []*roleCall) ([]*kit.Live[roleIn, roleOut], error) {
	if len(calls) == 0 {
		return nil, nil
	}
	cl := calls[0].Env.cl.iam
	v, err := calls[0].Env.d.lists.Do(ctx, "iam:GetAccountAuthorizationDetails", nil, func(ctx context.Context, _ []string) (any, error) {
		roles := map[string]iamtypes.RoleDetail{}
		p := iam.NewGetAccountAuthorizationDetailsPaginator(cl, &iam.GetAccountAuthorizationDetailsInput{
			Filter: []iamtypes.EntityType{iamtypes.EntityTypeRole}, MaxItems: aws.Int32(1000),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("GetAccountAuthorizationDetails: %w", err)
			}
			for _, r := range page.RoleDetailList {
				roles[aws.ToString(r.RoleName)] = r
			}
		}
		return roles, nil
	})
	if err != nil {
		return nil, err
	}
	roles := v.(map[string]iamtypes.RoleDetail)
	out := make([]*kit.Live[roleIn, roleOut], len(calls))
	for i, c := range calls {
		r, ok := roles[c.ID]
		if !ok {
			continue
		}
		var arns []string
		for _, p := range r.AttachedManagedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
		out[i] = roleLive(c, r.RoleName, r.AssumeRolePolicyDocument, r.Arn, r.RoleId, arns)
	}
	return out, nil
}
