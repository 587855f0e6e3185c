package aws_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"

	sandboxaws "github.com/regionctl/regionctl/sandbox/aws"
)

// awsCLI finds the aws CLI scripts/aws-cli.sh vetted: REGIONCTL_AWS_CLI, or
// the path the script cached. Without it the test fails (CI must run it);
// -short skips.
func awsCLI(t *testing.T) string {
	t.Helper()
	path := os.Getenv("REGIONCTL_AWS_CLI")
	if path == "" {
		cache := os.Getenv("REGIONCTL_CACHE")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache", "regionctl")
		}
		if data, err := os.ReadFile(filepath.Join(cache, "aws-cli", "env")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(data))
			for sc.Scan() {
				if v, ok := strings.CutPrefix(sc.Text(), "REGIONCTL_AWS_CLI="); ok {
					path = v
				}
			}
		}
	}
	if path == "" {
		if testing.Short() {
			t.Skip("-short: no aws CLI; run scripts/aws-cli.sh")
		}
		t.Fatal("no aws CLI: run scripts/aws-cli.sh (it finds one that knows EKS access entries) or set REGIONCTL_AWS_CLI")
	}
	return path
}

// TestAWSCLIReadsTheSandbox: the real aws CLI, pointed at the sandbox only
// by the config and credentials files the sandbox writes (a fresh HOME, no
// AWS_* variables but the three of sandbox.AWSEnv), reads what the SDK made:
// VPCs, subnets, NAT gateways, route tables, the EKS cluster, its node
// groups and access entries, the IAM role; refuses to sign with a key the
// sandbox did not issue; and `aws eks update-kubeconfig` + `aws eks
// get-token` give kubectl access to the cluster's API server as the IAM
// principal that created it.
func TestAWSCLIReadsTheSandbox(t *testing.T) {
	ctx := needKube(t)
	awsPath := awsCLI(t)
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Fatalf("kubectl: %v", err)
	}
	sb, c, _ := kubeSandbox(t, t.TempDir())
	cl := activeCluster(ctx, t, c, "demo", withAccess(ekstypes.CreateAccessConfigRequest{AuthenticationMode: ekstypes.AuthenticationModeApiAndConfigMap}))
	vpcID := aws.ToString(cl.Cluster.ResourcesVpcConfig.VpcId)
	subnets := cl.Cluster.ResourcesVpcConfig.SubnetIds
	nat := natGateway(ctx, t, c, vpcID, subnets[0])
	rtb, err := c.ec2.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{VpcId: aws.String(vpcID)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: aws.String("demo"), NodegroupName: aws.String("pool"),
		NodeRole: cl.Cluster.RoleArn, Subnets: subnets}); err != nil {
		t.Fatal(err)
	}

	home := t.TempDir()
	env := append([]string{"HOME=" + home, "PATH=" + filepath.Dir(awsPath) + ":" + filepath.Dir(kubectl) + ":/usr/bin:/bin"}, sb.AWSEnv()...)
	run := func(extraEnv []string, name string, args ...string) (string, error) {
		t.Helper()
		cctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		cmd := exec.CommandContext(cctx, name, args...)
		cmd.Env = append(append([]string{}, env...), extraEnv...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return string(out) + stderr.String(), err
		}
		return string(out), nil
	}
	awsJSON := func(v any, args ...string) {
		t.Helper()
		out, err := run(nil, awsPath, append(args, "--output", "json")...)
		if err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	var who struct{ Account, Arn string }
	awsJSON(&who, "sts", "get-caller-identity")
	if who.Arn != sb.AWSCredentials().UserArn || who.Account != "123456789012" {
		t.Errorf("get-caller-identity = %+v", who)
	}
	var vpcs struct {
		Vpcs []struct{ VpcId, CidrBlock string }
	}
	awsJSON(&vpcs, "ec2", "describe-vpcs")
	if len(vpcs.Vpcs) != 1 || vpcs.Vpcs[0].VpcId != vpcID || vpcs.Vpcs[0].CidrBlock != "10.0.0.0/16" {
		t.Errorf("describe-vpcs = %+v; want %s", vpcs, vpcID)
	}
	var sns struct {
		Subnets []struct{ SubnetId, AvailabilityZone string }
	}
	awsJSON(&sns, "ec2", "describe-subnets", "--filters", "Name=vpc-id,Values="+vpcID)
	var got []string
	for _, s := range sns.Subnets {
		got = append(got, s.SubnetId)
	}
	if slices.Sort(got); !slices.Equal(got, slices.Sorted(slices.Values(subnets))) {
		t.Errorf("describe-subnets = %v; want %v", got, subnets)
	}
	var nats struct {
		NatGateways []struct{ NatGatewayId, State string }
	}
	awsJSON(&nats, "ec2", "describe-nat-gateways")
	if len(nats.NatGateways) != 1 || nats.NatGateways[0].NatGatewayId != nat || nats.NatGateways[0].State != "available" {
		t.Errorf("describe-nat-gateways = %+v; want %s available", nats, nat)
	}
	var rtbs struct {
		RouteTables []struct{ RouteTableId string }
	}
	awsJSON(&rtbs, "ec2", "describe-route-tables", "--filters", "Name=vpc-id,Values="+vpcID)
	if len(rtbs.RouteTables) != 2 || !slices.ContainsFunc(rtbs.RouteTables, func(r struct{ RouteTableId string }) bool {
		return r.RouteTableId == aws.ToString(rtb.RouteTable.RouteTableId)
	}) {
		t.Errorf("describe-route-tables = %+v; want the main table and %s", rtbs, aws.ToString(rtb.RouteTable.RouteTableId))
	}
	var clusters struct{ Clusters []string }
	awsJSON(&clusters, "eks", "list-clusters")
	if !slices.Equal(clusters.Clusters, []string{"demo"}) {
		t.Errorf("list-clusters = %v", clusters.Clusters)
	}
	var desc struct {
		Cluster struct {
			Status, Endpoint, Version string
			AccessConfig              struct{ AuthenticationMode string }
			UpgradePolicy             struct{ SupportType string }
		}
	}
	awsJSON(&desc, "eks", "describe-cluster", "--name", "demo")
	if d := desc.Cluster; d.Status != "ACTIVE" || d.Endpoint != aws.ToString(cl.Cluster.Endpoint) || d.AccessConfig.AuthenticationMode != "API_AND_CONFIG_MAP" || d.UpgradePolicy.SupportType != "EXTENDED" {
		t.Errorf("describe-cluster = %+v", d)
	}
	var ngs struct{ Nodegroups []string }
	awsJSON(&ngs, "eks", "list-nodegroups", "--cluster-name", "demo")
	if !slices.Equal(ngs.Nodegroups, []string{"pool"}) {
		t.Errorf("list-nodegroups = %v", ngs.Nodegroups)
	}
	var entries struct{ AccessEntries []string }
	awsJSON(&entries, "eks", "list-access-entries", "--cluster-name", "demo")
	if want := []string{aws.ToString(cl.Cluster.RoleArn), adminUserArn}; !slices.Equal(entries.AccessEntries, want) {
		t.Errorf("list-access-entries = %v; want the node role's and the creator's %v", entries.AccessEntries, want)
	}
	var assoc struct {
		PrincipalArn             string
		AssociatedAccessPolicies []struct {
			PolicyArn    string
			AssociatedAt any // epoch seconds (aws-cli v1) or ISO 8601 (v2)
			AccessScope  struct{ Type string }
		}
	}
	awsJSON(&assoc, "eks", "list-associated-access-policies", "--cluster-name", "demo", "--principal-arn", adminUserArn)
	if p := assoc.AssociatedAccessPolicies; assoc.PrincipalArn != adminUserArn || len(p) != 1 || p[0].PolicyArn != clusterAdminPolicy ||
		p[0].AccessScope.Type != "cluster" || p[0].AssociatedAt == nil {
		t.Errorf("list-associated-access-policies = %+v", assoc)
	}
	var role struct {
		Role struct {
			RoleId                   string
			AssumeRolePolicyDocument struct{ Version string }
		}
	}
	awsJSON(&role, "iam", "get-role", "--role-name", "demo-role")
	if !awsIDShape(role.Role.RoleId, "AROA") || role.Role.AssumeRolePolicyDocument.Version != "2012-10-17" {
		t.Errorf("get-role = %+v", role.Role)
	}

	// `aws eks get-token` signs X-Amz-Expires=60; its token is good for the
	// 15 minutes aws-iam-authenticator allows all the same.
	var tok struct{ Status struct{ Token string } }
	awsJSON(&tok, "eks", "get-token", "--cluster-name", "demo")
	creds := sb.AWSCredentials()
	secretOf := func(id string) (string, bool) { return creds.SecretAccessKey, id == creds.AccessKeyID }
	if _, err := sandboxaws.VerifyEKSToken(tok.Status.Token, "demo", time.Now().Add(14*time.Minute), secretOf); err != nil {
		t.Errorf("the CLI's token 14 minutes on: %v", err)
	}
	if _, err := sandboxaws.VerifyEKSToken(tok.Status.Token, "demo", time.Now().Add(16*time.Minute), secretOf); err == nil {
		t.Errorf("the CLI's token was accepted 16 minutes on")
	}

	// Keys the sandbox did not issue are refused, as AWS does.
	out, err := run([]string{"AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, awsPath, "ec2", "describe-vpcs")
	if err == nil || !strings.Contains(out, "AuthFailure") {
		t.Errorf("describe-vpcs with another key = %v\n%s; want AuthFailure", err, out)
	}

	// kubectl through the CLI's own kubeconfig and token.
	kubeconfig := filepath.Join(home, "kubeconfig")
	if out, err := run(nil, awsPath, "eks", "update-kubeconfig", "--name", "demo", "--kubeconfig", kubeconfig); err != nil {
		t.Fatalf("update-kubeconfig: %v\n%s", err, out)
	}
	if out, err := run(nil, kubectl, "--kubeconfig", kubeconfig, "get", "storageclass", "gp2", "-o", "name"); err != nil || strings.TrimSpace(out) != "storageclass.storage.k8s.io/gp2" {
		t.Errorf("kubectl get storageclass gp2 = %v\n%s", err, out)
	}
	if out, err := run(nil, kubectl, "--kubeconfig", kubeconfig, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"); err != nil || out != adminUserArn {
		t.Errorf("kubectl auth whoami = %v %q; want %s", err, out, adminUserArn)
	}
}

// natGateway makes an available NAT gateway in subnet (an internet
// gateway, an Elastic IP) and returns its id.
func natGateway(ctx context.Context, t *testing.T, c *clients, vpcID, subnet string) string {
	t.Helper()
	igw, err := c.ec2.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ec2.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: igw.InternetGateway.InternetGatewayId, VpcId: aws.String(vpcID)}); err != nil {
		t.Fatal(err)
	}
	eip, err := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	if err != nil {
		t.Fatal(err)
	}
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnet), AllocationId: eip.AllocationId})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(nat.NatGateway.NatGatewayId)
}
