package aws_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// manyTags returns n distinct tags.
func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n {
		m[fmt.Sprintf("k%02d", i)] = "v"
	}
	return m
}

func ec2Tags(m map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for k, v := range m {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

func iamTags(m map[string]string) []iamtypes.Tag {
	var out []iamtypes.Tag
	for k, v := range m {
		out = append(out, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return out
}

// TestTagLimits: EC2, IAM and EKS refuse the tags AWS refuses — the
// reserved aws: prefix, keys over 128 and values over 256 characters, more
// than 50 tags on one resource — each with its own error code, and accept
// tags at the limits.
func TestTagLimits(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	ctx := context.Background()
	vpc, err := c.ec2.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	vpcID := aws.ToString(vpc.Vpc.VpcId)
	if _, err := c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("r"), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
		t.Fatal(err)
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		tags map[string]string
		// wanted error codes per call; "" accepts
		ec2CreateTags, ec2TagSpec, iamTagRole, iamCreateRole, eksCreateCluster string
	}{
		{"at the limits", map[string]string{long(128): long(256)}, "", "", "", "", ""},
		{"reserved prefix", map[string]string{"aws:owner": "me"}, "InvalidParameterValue", "InvalidParameterValue", "InvalidInput", "InvalidInput", "InvalidParameterException"},
		{"reserved prefix any case", map[string]string{"AWS:Owner": "me"}, "InvalidParameterValue", "InvalidParameterValue", "InvalidInput", "InvalidInput", "InvalidParameterException"},
		{"key of 129", map[string]string{long(129): "v"}, "InvalidParameterValue", "InvalidParameterValue", "ValidationError", "ValidationError", "InvalidParameterException"},
		{"value of 300", map[string]string{"k": long(300)}, "InvalidParameterValue", "InvalidParameterValue", "ValidationError", "ValidationError", "InvalidParameterException"},
		{"51 tags", manyTags(51), "TagLimitExceeded", "TagLimitExceeded", "LimitExceeded", "LimitExceeded", "InvalidParameterException"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			check := func(call, want string, err error) {
				t.Helper()
				if errCode(err) != want {
					t.Errorf("%s = %v; want %q", call, err, want)
				}
			}
			_, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vpcID}, Tags: ec2Tags(tt.tags)})
			check("ec2:CreateTags", tt.ec2CreateTags, err)
			if err == nil { // leave the VPC tag-free for the next case
				if _, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{vpcID}, Tags: ec2Tags(tt.tags)}); err != nil {
					t.Fatal(err)
				}
			}
			_, err = c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{TagSpecifications: []ec2types.TagSpecification{
				{ResourceType: ec2types.ResourceTypeInternetGateway, Tags: ec2Tags(tt.tags)}}})
			check("ec2:CreateInternetGateway", tt.ec2TagSpec, err)
			_, err = c.iam.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("r"), Tags: iamTags(tt.tags)})
			check("iam:TagRole", tt.iamTagRole, err)
			if err == nil {
				var keys []string
				for k := range tt.tags {
					keys = append(keys, k)
				}
				if _, err := c.iam.UntagRole(ctx, &iam.UntagRoleInput{RoleName: aws.String("r"), TagKeys: keys}); err != nil {
					t.Fatal(err)
				}
			}
			_, err = c.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("t%d", i)), AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`), Tags: iamTags(tt.tags)})
			check("iam:CreateRole", tt.iamCreateRole, err)
			if tt.eksCreateCluster != "" { // a valid create needs a whole network; the tags are checked first
				_, err = c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("c"), RoleArn: aws.String("arn:aws:iam::123456789012:role/r"),
					ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-1", "subnet-2"}}, Tags: tt.tags})
				check("eks:CreateCluster", tt.eksCreateCluster, err)
			}
		})
	}
	// EKS TagResource answers BadRequestException, counting the tags the
	// cluster has.
	cl, err := createCluster(t, c, "tagged")
	if err != nil {
		t.Fatal(err)
	}
	arn := cl.Cluster.Arn
	for name, tags := range map[string]map[string]string{"reserved": {"aws:x": "y"}, "value of 300": {"k": long(300)}, "51": manyTags(51)} {
		if _, err := c.eks.TagResource(ctx, &eks.TagResourceInput{ResourceArn: arn, Tags: tags}); errCode(err) != "BadRequestException" {
			t.Errorf("eks:TagResource %s = %v; want BadRequestException", name, err)
		}
	}
	if _, err := c.eks.TagResource(ctx, &eks.TagResourceInput{ResourceArn: arn, Tags: manyTags(50)}); err != nil {
		t.Errorf("eks:TagResource 50 tags: %v", err)
	}
	if _, err := c.eks.TagResource(ctx, &eks.TagResourceInput{ResourceArn: arn, Tags: map[string]string{"one-more": "x"}}); errCode(err) != "BadRequestException" {
		t.Errorf("eks:TagResource making 51 = %v; want BadRequestException", err)
	}
	// AWS's own aws: tags (EKS's on its cluster security group) cannot be
	// removed either.
	if _, err := c.ec2.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{vpcID}, Tags: []ec2types.Tag{{Key: aws.String("aws:eks:cluster-name")}}}); errCode(err) != "InvalidParameterValue" {
		t.Errorf("DeleteTags aws:… = %v; want InvalidParameterValue", err)
	}
	// 50 on a resource that has 1 already is 51.
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vpcID}, Tags: ec2Tags(map[string]string{"first": "1"})}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vpcID}, Tags: ec2Tags(manyTags(50))}); errCode(err) != "TagLimitExceeded" {
		t.Errorf("CreateTags making 51 = %v; want TagLimitExceeded", err)
	}
}
