package aws_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/regionctl/regionctl/sandbox"
)

const (
	clusterAdminPolicy = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
	viewPolicy         = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
	adminUserArn       = "arn:aws:iam::123456789012:user/sandbox-admin"
)

// TestCreateClusterDefaults: a cluster created through the API today gets
// EKS's documented defaults: authentication mode CONFIG_MAP, the creator
// bootstrapped as admin, extended support, no deletion protection; a
// CONFIG_MAP cluster without the creator's admin is refused.
func TestCreateClusterDefaults(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	out, err := createCluster(t, c, "plain")
	if err != nil {
		t.Fatal(err)
	}
	cl := out.Cluster
	if cl.AccessConfig.AuthenticationMode != ekstypes.AuthenticationModeConfigMap || !aws.ToBool(cl.AccessConfig.BootstrapClusterCreatorAdminPermissions) {
		t.Errorf("accessConfig = %+v; want CONFIG_MAP with the creator's admin", cl.AccessConfig)
	}
	if cl.UpgradePolicy.SupportType != ekstypes.SupportTypeExtended || cl.DeletionProtection == nil || *cl.DeletionProtection {
		t.Errorf("upgradePolicy %+v, deletionProtection %v; want EXTENDED and false", cl.UpgradePolicy, cl.DeletionProtection)
	}
	if _, err := c.eks.ListAccessEntries(context.Background(), &eks.ListAccessEntriesInput{ClusterName: aws.String("plain")}); errCode(err) != "InvalidRequestException" {
		t.Errorf("ListAccessEntries on a CONFIG_MAP cluster = %v; want InvalidRequestException", err)
	}
	_, err = createCluster(t, c, "nobody", withAccess(ekstypes.CreateAccessConfigRequest{BootstrapClusterCreatorAdminPermissions: aws.Bool(false)}))
	if errCode(err) != "InvalidParameterException" {
		t.Errorf("CONFIG_MAP without the creator's admin = %v; want InvalidParameterException", err)
	}
}

// withAccess sets a CreateCluster's access configuration.
func withAccess(access ekstypes.CreateAccessConfigRequest) func(*eks.CreateClusterInput) {
	return func(in *eks.CreateClusterInput) { in.AccessConfig = &access }
}

// TestAccessEntries: with an authentication mode that uses access entries
// the creator gets an entry with AmazonEKSClusterAdminPolicy; entries for
// IAM users and roles can be created, described, listed (filtered by
// policy), associated with policies at cluster or namespace scope,
// disassociated and deleted, with EKS's errors.
func TestAccessEntries(t *testing.T) {
	c := startSandbox(t, "us-east-1")
	ctx := context.Background()
	if _, err := createCluster(t, c, "demo", withAccess(ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap})); err != nil {
		t.Fatal(err)
	}
	name := aws.String("demo")
	list, err := c.eks.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: name})
	if err != nil || !slices.Equal(list.AccessEntries, []string{adminUserArn}) {
		t.Fatalf("entries of a new cluster = %v, %v; want the creator's", list, err)
	}
	pols, err := c.eks.ListAssociatedAccessPolicies(ctx, &eks.ListAssociatedAccessPoliciesInput{ClusterName: name, PrincipalArn: aws.String(adminUserArn)})
	if err != nil || len(pols.AssociatedAccessPolicies) != 1 || aws.ToString(pols.AssociatedAccessPolicies[0].PolicyArn) != clusterAdminPolicy ||
		pols.AssociatedAccessPolicies[0].AccessScope.Type != ekstypes.AccessScopeTypeCluster {
		t.Fatalf("creator's policies = %+v, %v", pols, err)
	}

	if _, err := c.iam.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("viewer")}); err != nil {
		t.Fatal(err)
	}
	viewer := aws.String("arn:aws:iam::123456789012:user/viewer")
	entry, err := c.eks.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: name, PrincipalArn: viewer, KubernetesGroups: []string{"readers"}})
	if err != nil {
		t.Fatal(err)
	}
	if e := entry.AccessEntry; aws.ToString(e.Username) != *viewer || aws.ToString(e.Type) != "STANDARD" || !slices.Equal(e.KubernetesGroups, []string{"readers"}) {
		t.Errorf("entry = %+v; want username = the user's ARN, type STANDARD", e)
	}
	role, err := c.eks.CreateAccessEntry(ctx, &eks.CreateAccessEntryInput{ClusterName: name, PrincipalArn: aws.String("arn:aws:iam::123456789012:role/demo-role")})
	if err != nil || aws.ToString(role.AccessEntry.Username) != "arn:aws:sts::123456789012:assumed-role/demo-role/{{SessionName}}" {
		t.Errorf("role entry = %+v, %v; want EKS's assumed-role username", role, err)
	}
	for _, tt := range []struct {
		name string
		in   eks.CreateAccessEntryInput
		want string
	}{
		{"duplicate", eks.CreateAccessEntryInput{PrincipalArn: viewer}, "ResourceInUseException"},
		{"missing user", eks.CreateAccessEntryInput{PrincipalArn: aws.String("arn:aws:iam::123456789012:user/nobody")}, "InvalidParameterException"},
		{"not a principal", eks.CreateAccessEntryInput{PrincipalArn: aws.String("arn:aws:sts::123456789012:assumed-role/r/s")}, "InvalidParameterException"},
		{"reserved group", eks.CreateAccessEntryInput{PrincipalArn: aws.String("arn:aws:iam::123456789012:role/demo-role2"), KubernetesGroups: []string{"system:masters"}}, "InvalidParameterException"},
	} {
		tt.in.ClusterName = name
		if _, err := c.eks.CreateAccessEntry(ctx, &tt.in); errCode(err) != tt.want {
			t.Errorf("CreateAccessEntry %s = %v; want %s", tt.name, err, tt.want)
		}
	}

	assoc, err := c.eks.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: name, PrincipalArn: viewer, PolicyArn: aws.String(viewPolicy),
		AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace, Namespaces: []string{"dev"}}})
	if err != nil || assoc.AssociatedAccessPolicy.AccessScope.Type != ekstypes.AccessScopeTypeNamespace {
		t.Fatalf("AssociateAccessPolicy = %+v, %v", assoc, err)
	}
	// Associating again replaces the scope.
	if _, err := c.eks.AssociateAccessPolicy(ctx, &eks.AssociateAccessPolicyInput{ClusterName: name, PrincipalArn: viewer, PolicyArn: aws.String(viewPolicy),
		AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}}); err != nil {
		t.Fatal(err)
	}
	got, err := c.eks.ListAssociatedAccessPolicies(ctx, &eks.ListAssociatedAccessPoliciesInput{ClusterName: name, PrincipalArn: viewer})
	if err != nil || len(got.AssociatedAccessPolicies) != 1 || got.AssociatedAccessPolicies[0].AccessScope.Type != ekstypes.AccessScopeTypeCluster {
		t.Errorf("after re-associating: %+v, %v", got, err)
	}
	for _, tt := range []struct {
		name  string
		in    eks.AssociateAccessPolicyInput
		wantC string
	}{
		{"unknown policy", eks.AssociateAccessPolicyInput{PolicyArn: aws.String("arn:aws:eks::aws:cluster-access-policy/Nope"), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeCluster}}, "InvalidParameterException"},
		{"namespace scope without namespaces", eks.AssociateAccessPolicyInput{PolicyArn: aws.String(viewPolicy), AccessScope: &ekstypes.AccessScope{Type: ekstypes.AccessScopeTypeNamespace}}, "InvalidParameterException"},
	} {
		tt.in.ClusterName, tt.in.PrincipalArn = name, viewer
		if _, err := c.eks.AssociateAccessPolicy(ctx, &tt.in); errCode(err) != tt.wantC {
			t.Errorf("AssociateAccessPolicy %s = %v; want %s", tt.name, err, tt.wantC)
		}
	}
	filtered, err := c.eks.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: name, AssociatedPolicyArn: aws.String(viewPolicy)})
	if err != nil || !slices.Equal(filtered.AccessEntries, []string{*viewer}) {
		t.Errorf("entries with the view policy = %v, %v", filtered, err)
	}
	all, err := c.eks.ListAccessPolicies(ctx, &eks.ListAccessPoliciesInput{})
	if err != nil || len(all.AccessPolicies) < 4 {
		t.Fatalf("ListAccessPolicies = %v, %v", all, err)
	}
	desc, err := c.eks.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: name, PrincipalArn: viewer})
	if err != nil || aws.ToString(desc.AccessEntry.AccessEntryArn) == "" {
		t.Errorf("DescribeAccessEntry = %+v, %v", desc, err)
	}
	if _, err := c.eks.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: name, PrincipalArn: viewer, PolicyArn: aws.String(viewPolicy)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eks.DisassociateAccessPolicy(ctx, &eks.DisassociateAccessPolicyInput{ClusterName: name, PrincipalArn: viewer, PolicyArn: aws.String(viewPolicy)}); errCode(err) != "ResourceNotFoundException" {
		t.Errorf("disassociating twice = %v; want ResourceNotFoundException", err)
	}
	if _, err := c.eks.DeleteAccessEntry(ctx, &eks.DeleteAccessEntryInput{ClusterName: name, PrincipalArn: viewer}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eks.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: name, PrincipalArn: viewer}); errCode(err) != "ResourceNotFoundException" {
		t.Errorf("a deleted entry = %v; want ResourceNotFoundException", err)
	}

	// A managed node group's role gets its EC2_LINUX entry (the STANDARD
	// one made above goes first).
	cl, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.eks.DeleteAccessEntry(ctx, &eks.DeleteAccessEntryInput{ClusterName: name, PrincipalArn: aws.String("arn:aws:iam::123456789012:role/demo-role")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: name, NodegroupName: aws.String("pool"),
		NodeRole: aws.String("arn:aws:iam::123456789012:role/demo-role"), Subnets: cl.Cluster.ResourcesVpcConfig.SubnetIds}); err != nil {
		t.Fatal(err)
	}
	node, err := c.eks.DescribeAccessEntry(ctx, &eks.DescribeAccessEntryInput{ClusterName: name, PrincipalArn: aws.String("arn:aws:iam::123456789012:role/demo-role")})
	if err != nil || aws.ToString(node.AccessEntry.Type) != "EC2_LINUX" || !slices.Equal(node.AccessEntry.KubernetesGroups, []string{"system:nodes"}) ||
		aws.ToString(node.AccessEntry.Username) != "system:node:{{EC2PrivateDNSName}}" {
		t.Errorf("node role's entry = %+v, %v; want EC2_LINUX in system:nodes", node, err)
	}

	// CONFIG_MAP → API_AND_CONFIG_MAP gives the creator its entry; back is refused.
	if _, err := createCluster(t, c, "legacy"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.eks.UpdateClusterConfig(ctx, &eks.UpdateClusterConfigInput{Name: aws.String("legacy"), AccessConfig: &ekstypes.UpdateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap}}); err != nil {
		t.Fatal(err)
	}
	list, err = c.eks.ListAccessEntries(ctx, &eks.ListAccessEntriesInput{ClusterName: aws.String("legacy")})
	if err != nil || !slices.Equal(list.AccessEntries, []string{adminUserArn}) {
		t.Errorf("entries after enabling the API mode = %v, %v", list, err)
	}
}

// TestOlderStateGetsCredentials: a sandbox directory from before the
// sandbox issued credentials (no IAM users, clusters without a creator)
// gets them on start, and its clusters' creator is the sandbox's user, with
// its admin access entry where the mode uses entries.
func TestOlderStateGetsCredentials(t *testing.T) {
	dir := t.TempDir()
	opts := sandbox.Options{Dir: dir, Latency: map[string]time.Duration{"*": 0}, NoKubernetes: true}
	sb, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(sb.Endpoints()["aws"]), Credentials: sb.AWSCredentials().Provider(),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	if _, err := createCluster(t, newClients(cfg), "old", withAccess(ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap})); err != nil {
		t.Fatal(err)
	}
	if err := sb.Close(); err != nil {
		t.Fatal(err)
	}
	// Rewrite the state as an older sandbox left it.
	path := filepath.Join(dir, "aws.json")
	var st map[string]any
	data, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(data, &st)
	}
	if err != nil {
		t.Fatal(err)
	}
	delete(st, "users")
	delete(st, "accessKeys")
	for _, c := range st["clusters"].(map[string]any) {
		delete(c.(map[string]any), "creator")
		delete(c.(map[string]any), "accessEntries")
	}
	if data, err = json.Marshal(st); err == nil {
		err = os.WriteFile(path, data, 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}

	sb2, err := sandbox.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer sb2.Close()
	if sb2.AWSCredentials().AccessKeyID == sb.AWSCredentials().AccessKeyID {
		t.Errorf("the older state kept a key it did not have")
	}
	cfg.Credentials, cfg.BaseEndpoint = sb2.AWSCredentials().Provider(), aws.String(sb2.Endpoints()["aws"])
	list, err := eks.NewFromConfig(cfg).ListAccessEntries(context.Background(), &eks.ListAccessEntriesInput{ClusterName: aws.String("old")})
	if err != nil || !slices.Equal(list.AccessEntries, []string{adminUserArn}) {
		t.Errorf("entries of a cluster from older state = %v, %v; want the sandbox user's", list, err)
	}
}
