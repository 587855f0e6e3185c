package aws

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
)

func TestImportID(t *testing.T) {
	east := providers.Values{"location": "us-east-1", "cluster_name": "prod"}
	tests := []struct {
		typ, id string
		in      providers.Values
		want    string
		wantErr string
	}{
		{TypeVPC, "vpc-0abc", east, "vpc-0abc", ""},
		{TypeVPC, "arn:aws:ec2:us-east-1:123456789012:vpc/vpc-0abc", east, "vpc-0abc", ""},
		{TypeVPC, "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0abc", east, "", "names AWS region eu-west-1, but the region's location is us-east-1"},
		{TypeEIP, "arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-1", east, "eipalloc-1", ""},
		{TypeEKSCluster, "arn:aws:eks:us-east-1:123456789012:cluster/prod", east, "prod", ""},
		{TypeIAMRole, "arn:aws:iam::123456789012:role/team/regionctl-prod-node", providers.Values{}, "regionctl-prod-node", ""},
		{TypeEKSNodeGroup, "arn:aws:eks:us-east-1:123456789012:nodegroup/prod/system-1a2b3c4d/0ec7-uuid", east, "system-1a2b3c4d", ""},
		{TypeEKSNodeGroup, "prod:system-1a2b3c4d", east, "system-1a2b3c4d", ""},
		{TypeEKSNodeGroup, "staging:system-1a2b3c4d", east, "", "belongs to EKS cluster staging, but the region's cluster is prod"},
		{TypeEKSNodeGroup, "system-1a2b3c4d", providers.Values{}, "system-1a2b3c4d", ""},
		{TypeEKSAddon, "arn:aws:eks:us-east-1:123456789012:addon/prod/aws-ebs-csi-driver/uuid", east, "aws-ebs-csi-driver", ""},
		{TypeEKSNodeGroup, "arn:aws:eks:us-east-1:123456789012:cluster/prod", east, "", "does not name a aws_eks_node_group"},
	}
	for _, tt := range tests {
		got, err := importID(tt.typ, tt.id, tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("importID(%s, %s) error %v, want %q", tt.typ, tt.id, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("importID(%s, %s) = %q, %v; want %q", tt.typ, tt.id, got, err, tt.want)
		}
	}
}
