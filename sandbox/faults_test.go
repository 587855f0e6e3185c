package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/regionctl/regionctl/sandbox"
)

func TestFaultsRetriedBySDK(t *testing.T) {
	tests := []struct {
		name      string
		fault     sandbox.Fault
		call      func(c *clients) error
		op        string
		wantCalls int
		wantCode  string // "" = the SDK's retries absorb the fault
	}{
		{name: "eks throttle retried", fault: sandbox.Fault{Op: "eks:ListClusters", Kind: sandbox.FaultThrottle, Nth: 1},
			call: func(c *clients) error {
				_, err := c.eks.ListClusters(context.Background(), &eks.ListClustersInput{})
				return err
			},
			op: "eks:ListClusters", wantCalls: 2},
		{name: "eks throttle surfaces after max attempts", fault: sandbox.Fault{Op: "eks:*", Kind: sandbox.FaultThrottle, Rate: 1},
			call: func(c *clients) error {
				_, err := c.eks.ListClusters(context.Background(), &eks.ListClustersInput{})
				return err
			},
			op: "eks:ListClusters", wantCalls: 3, wantCode: "ThrottlingException"},
		{name: "ec2 RequestLimitExceeded retried", fault: sandbox.Fault{Op: "ec2:DescribeVpcs", Kind: sandbox.FaultThrottle, Nth: 1, Count: 2},
			call: func(c *clients) error {
				_, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
				return err
			},
			op: "ec2:DescribeVpcs", wantCalls: 3},
		{name: "ec2 RequestLimitExceeded surfaces", fault: sandbox.Fault{Op: "ec2:DescribeVpcs", Kind: sandbox.FaultThrottle, Rate: 1},
			call: func(c *clients) error {
				_, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
				return err
			},
			op: "ec2:DescribeVpcs", wantCalls: 3, wantCode: "RequestLimitExceeded"},
		{name: "iam Throttling surfaces", fault: sandbox.Fault{Op: "iam:GetRole", Kind: sandbox.FaultThrottle, Rate: 1},
			call: func(c *clients) error {
				_, err := c.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("x")})
				return err
			},
			op: "iam:GetRole", wantCalls: 3, wantCode: "Throttling"},
		{name: "500 retried", fault: sandbox.Fault{Op: "ec2:DescribeVpcs", Kind: sandbox.FaultServerError, Nth: 1},
			call: func(c *clients) error {
				_, err := c.ec2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
				return err
			},
			op: "ec2:DescribeVpcs", wantCalls: 2},
		{name: "eks 500 surfaces", fault: sandbox.Fault{Op: "eks:ListClusters", Kind: sandbox.FaultServerError, Rate: 1},
			call: func(c *clients) error {
				_, err := c.eks.ListClusters(context.Background(), &eks.ListClustersInput{})
				return err
			},
			op: "eks:ListClusters", wantCalls: 3, wantCode: "ServerException"},
		{name: "dropped connection retried", fault: sandbox.Fault{Op: "ec2:CreateVpc", Kind: sandbox.FaultDrop, Nth: 1},
			call: func(c *clients) error {
				_, err := c.ec2.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
				return err
			},
			op: "ec2:CreateVpc", wantCalls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := start(t, sandbox.Options{Faults: []sandbox.Fault{tt.fault}})
			err := tt.call(c)
			if got := errCode(err); got != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Fatalf("err = %v (code %q), want code %q", err, got, tt.wantCode)
			}
			if n := c.sb.Requests()[tt.op]; n != tt.wantCalls {
				t.Errorf("Requests()[%s] = %d, want %d", tt.op, n, tt.wantCalls)
			}
		})
	}
}

// A reply lost after the cluster was created: the SDK retries with the same
// clientRequestToken and gets the same cluster, not ResourceInUseException.
func TestDropAfterIsIdempotent(t *testing.T) {
	c := start(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "eks:CreateCluster", Kind: sandbox.FaultDropAfter, Nth: 1}}})
	ctx := context.Background()
	_, subnets := network(t, c)
	arn := role(t, c, "cluster")
	out, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("demo"), RoleArn: aws.String(arn), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}})
	if err != nil {
		t.Fatalf("CreateCluster after a lost reply: %v", err)
	}
	if aws.ToString(out.Cluster.Name) != "demo" || c.sb.Requests()["eks:CreateCluster"] != 2 {
		t.Errorf("cluster %v after %d calls", aws.ToString(out.Cluster.Name), c.sb.Requests()["eks:CreateCluster"])
	}
}

func TestFailInjection(t *testing.T) {
	c := start(t, sandbox.Options{Faults: []sandbox.Fault{
		{Op: "eks:CreateCluster", Kind: sandbox.FaultFail, Nth: 2},
		{Op: "eks:CreateNodegroup", Kind: sandbox.FaultFail, Nth: 1},
		{Op: "ec2:CreateNatGateway", Kind: sandbox.FaultFail, Nth: 1},
	}})
	ctx := context.Background()
	_, subnets := network(t, c)
	arn := role(t, c, "cluster")
	create := func(name string) {
		if _, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String(name), RoleArn: aws.String(arn), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}}); err != nil {
			t.Fatalf("CreateCluster %s: %v", name, err)
		}
	}
	create("good")
	create("bad")
	err := eks.NewClusterActiveWaiter(c.eks, fastWaiter).Wait(ctx, &eks.DescribeClusterInput{Name: aws.String("bad")}, time.Minute)
	if err == nil {
		t.Fatal("ClusterActiveWaiter on a failed cluster succeeded")
	}
	d, _ := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("bad")})
	if d.Cluster.Status != ekstypes.ClusterStatusFailed || len(d.Cluster.Health.Issues) == 0 {
		t.Errorf("failed cluster = %s %+v", d.Cluster.Status, d.Cluster.Health)
	}
	if _, err := c.eks.CreateNodegroup(ctx, &eks.CreateNodegroupInput{ClusterName: aws.String("good"), NodegroupName: aws.String("ng"), NodeRole: aws.String(arn), Subnets: subnets}); err != nil {
		t.Fatalf("CreateNodegroup: %v", err)
	}
	ng, _ := c.eks.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: aws.String("good"), NodegroupName: aws.String("ng")})
	if ng.Nodegroup.Status != ekstypes.NodegroupStatusCreateFailed || len(ng.Nodegroup.Health.Issues) == 0 {
		t.Errorf("failed nodegroup = %s %+v", ng.Nodegroup.Status, ng.Nodegroup.Health)
	}
	eip, _ := c.ec2.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc})
	nat, err := c.ec2.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{SubnetId: aws.String(subnets[0]), AllocationId: eip.AllocationId})
	if err != nil {
		t.Fatalf("CreateNatGateway: %v", err)
	}
	dn, _ := c.ec2.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{aws.ToString(nat.NatGateway.NatGatewayId)}})
	if dn.NatGateways[0].State != ec2types.NatGatewayStateFailed || dn.NatGateways[0].FailureCode == nil {
		t.Errorf("failed NAT = %+v", dn.NatGateways[0])
	}
}

// Asynchronous states follow the emulated clock, so tests see CREATING
// without racing the wall clock.
func TestAsyncStatesFollowClock(t *testing.T) {
	clk := newClock()
	c := start(t, sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{}}) // defaults: 2 s cluster
	ctx := context.Background()
	_, subnets := network(t, c)
	arn := role(t, c, "cluster")
	if _, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("demo"), RoleArn: aws.String(arn), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}}); err != nil {
		t.Fatal(err)
	}
	status := func() ekstypes.ClusterStatus {
		d, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
		if err != nil {
			t.Fatal(err)
		}
		return d.Cluster.Status
	}
	if s := status(); s != ekstypes.ClusterStatusCreating {
		t.Fatalf("status at t0 = %s", s)
	}
	clk.Advance(1999 * time.Millisecond)
	if s := status(); s != ekstypes.ClusterStatusCreating {
		t.Fatalf("status at t0+1.999s = %s", s)
	}
	clk.Advance(time.Millisecond)
	if s := status(); s != ekstypes.ClusterStatusActive {
		t.Fatalf("status at t0+2s = %s", s)
	}
	if _, err := c.eks.DeleteCluster(ctx, &eks.DeleteClusterInput{Name: aws.String("demo")}); err != nil {
		t.Fatal(err)
	}
	if s := status(); s != ekstypes.ClusterStatusDeleting {
		t.Fatalf("status after delete = %s", s)
	}
	clk.Advance(2 * time.Second)
	var nf *ekstypes.ResourceNotFoundException
	if _, err := c.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")}); !errors.As(err, &nf) {
		t.Fatalf("after delete latency: %v, want ResourceNotFoundException", err)
	}
}

// The emulated cloud survives a restart on the same directory, including an
// operation still in flight.
func TestPersistenceAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	opts := sandbox.Options{Dir: dir, Clock: clk.Now, Latency: map[string]time.Duration{}}
	c := start(t, opts)
	ctx := context.Background()
	vpc, subnets := network(t, c)
	arn := role(t, c, "cluster", "AmazonEKSClusterPolicy")
	if _, err := c.eks.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("demo"), RoleArn: aws.String(arn), ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: subnets}}); err != nil {
		t.Fatal(err)
	}
	before := c.sb.List()
	if err := c.sb.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	listed, err := sandbox.ListDir(dir)
	if err != nil || len(listed) != len(before) {
		t.Fatalf("ListDir = %d objects, %v; want %d", len(listed), err, len(before))
	}

	c2 := start(t, opts)
	if got := c2.sb.List(); len(got) != len(before) {
		t.Fatalf("after restart List = %+v, want %+v", got, before)
	}
	v, err := c2.ec2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{vpc}})
	if err != nil || len(v.Vpcs) != 1 || len(v.Vpcs[0].Tags) != 2 {
		t.Fatalf("DescribeVpcs after restart = %+v, %v", v, err)
	}
	pols, err := c2.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("cluster")})
	if err != nil || len(pols.AttachedPolicies) != 1 {
		t.Fatalf("policies after restart = %+v, %v", pols, err)
	}
	clk.Advance(2 * time.Second)
	d, err := c2.eks.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String("demo")})
	if err != nil || d.Cluster.Status != ekstypes.ClusterStatusActive {
		t.Fatalf("cluster after restart and latency = %+v, %v", d, err)
	}
}

func TestServeAndRunning(t *testing.T) {
	dir := t.TempDir()
	if sandbox.Running(dir) {
		t.Fatal("Running before Serve")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sandbox.Serve(ctx, sandbox.Options{Dir: dir}) }()
	var ep sandbox.Endpoints
	for { // poll for the published file; Serve writes it once listening
		var err error
		if ep, err = sandbox.ReadEndpoints(dir); err == nil {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Serve: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	if ep.Endpoints["aws"] == "" || !sandbox.Running(dir) {
		t.Fatalf("endpoints %+v, running %v", ep, sandbox.Running(dir))
	}
	// One call, which the daemon's request log must count.
	req, _ := http.NewRequest(http.MethodPost, ep.Endpoints["aws"]+"/", strings.NewReader("Action=DescribeVpcs&Version=2016-11-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if sandbox.Running(dir) {
		t.Fatal("Running after Serve returned")
	}
	// What it served is left in RequestsFile, for the permissions docs.
	data, err := os.ReadFile(filepath.Join(dir, sandbox.RequestsFile))
	var reqs map[string]int
	if err == nil {
		err = json.Unmarshal(data, &reqs)
	}
	if err != nil || len(reqs) == 0 {
		t.Fatalf("%s after Serve: %v, %v", sandbox.RequestsFile, reqs, err)
	}
}
