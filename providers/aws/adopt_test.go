package aws_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/failedcreate"
	"github.com/regionctl/regionctl/internal/testclock"
	"github.com/regionctl/regionctl/providers"
	awsdriver "github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/sandbox"
)

// settleWhileWaiting runs a settled Read of inst and advances clk once the
// read has polled op at least twice (it is waiting); it returns what the
// read reported and whether it waited. A read that returns before that did
// not wait.
func settleWhileWaiting(t *testing.T, sb *sandbox.Sandbox, d providers.Driver, clk *testclock.Clock, op string, inst providers.Instance) (providers.ReadResponse, bool) {
	t.Helper()
	before := sb.Requests()[op]
	stop, advanced := make(chan struct{}), make(chan bool, 1)
	go func() {
		advanced <- clk.AdvanceWhen(time.Hour, func() bool { return sb.Requests()[op]-before >= 2 }, stop)
	}()
	resp, err := d.Read(context.Background(), providers.ReadRequest{Instance: inst, Settle: true})
	close(stop)
	waited := <-advanced
	if err != nil {
		t.Fatalf("Read %s with Settle: %v", inst.Address, err)
	}
	return resp, waited
}

// TestAdoptedClusterIsSettled: an EKS cluster an interrupted create left
// CREATING is reported as it is by a plain Read (a plan never waits), and a
// settled Read — how the engine adopts it — waits until it is ACTIVE with
// its endpoint and CA, so its node groups can be created at once. Before,
// the driver had no Settle: the engine adopted the cluster CREATING and the
// node groups failed ("Cluster ... is not in ACTIVE status").
func TestAdoptedClusterIsSettled(t *testing.T) {
	clk := testclock.New()
	sb, d := startSandbox(t, sandbox.Options{Clock: clk.Now, Latency: map[string]time.Duration{"*": 0, "eks:CreateCluster": time.Minute}})
	applyAllWith(t, d, smallRegion(), func(req providers.CreateRequest) (providers.CreateResponse, error) {
		if req.Type != awsdriver.TypeEKSCluster {
			return d.Create(context.Background(), req)
		}
		// The create is interrupted while EKS is still making the cluster.
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			testclock.When(func() bool { return sb.Requests()["eks:DescribeCluster"] >= 3 }, nil)
			cancel()
		}()
		resp, err := d.Create(ctx, req)
		if err == nil {
			t.Fatalf("Create %s with the cluster CREATING returned no error", req.Address)
		}
		name := resp.ID
		if name == "" {
			name = req.Inputs["name"].(string)
		}
		inst := providers.Instance{Address: req.Address, Type: req.Type, ID: name, Inputs: req.Inputs}
		plain, rerr := d.Read(context.Background(), providers.ReadRequest{Instance: inst})
		if rerr != nil || !plain.Exists || plain.Outputs["status"] != "CREATING" {
			t.Fatalf("plain Read of the interrupted cluster = %+v, %v; want it CREATING, as it is", plain, rerr)
		}
		settled, waited := settleWhileWaiting(t, sb, d, clk, "eks:DescribeCluster", inst)
		if !waited || settled.Outputs["status"] != "ACTIVE" {
			t.Fatalf("settled Read reported %v (waited %v); want it to wait until ACTIVE", settled.Outputs["status"], waited)
		}
		if settled.Outputs["endpoint"] == "" || settled.Outputs["certificate_authority_data"] == nil {
			t.Errorf("the settled cluster lacks its endpoint or CA: %v", settled.Outputs)
		}
		return providers.CreateResponse{ID: name, Outputs: settled.Outputs}, nil
	})
}

// TestAdoptedGatewayAndGroupAreFinished: an internet gateway made but not
// attached, and a security group made without its HTTPS rule (the create
// interrupted between its two calls), are finished by a settled Read —
// attached to their VPC, the rule added — so adoption replaces neither.
// Before, the gateway was adopted detached and its vpc_id forced a
// replacement (and a replaced security group replaced the EKS cluster).
func TestAdoptedGatewayAndGroupAreFinished(t *testing.T) {
	for _, tc := range []struct {
		op, typ, key string
	}{
		{"ec2:AttachInternetGateway", awsdriver.TypeInternetGateway, "vpc_id"},
		{"ec2:AuthorizeSecurityGroupIngress", awsdriver.TypeSecurityGroup, "ingress_cidr"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			// Every attempt of the second call fails: the create ends with
			// the object made and the error.
			_, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: tc.op, Kind: sandbox.FaultServerError, Nth: 1, Count: 100}}})
			ctx := context.Background()
			checked := false
			applyAllWith(t, d, smallRegion(), func(req providers.CreateRequest) (providers.CreateResponse, error) {
				if req.Type != tc.typ || checked {
					return d.Create(ctx, req)
				}
				checked = true
				resp, err := d.Create(ctx, req)
				if err == nil || resp.ID == "" {
					t.Fatalf("Create %s with %s failing = %+v, %v; want its ID and an error", req.Address, tc.op, resp, err)
				}
				inst := providers.Instance{Address: req.Address, Type: req.Type, ID: resp.ID, Inputs: req.Inputs}
				plain, err := d.Read(ctx, providers.ReadRequest{Instance: inst})
				if err != nil || plain.Inputs[tc.key] != nil {
					t.Fatalf("plain Read = %+v, %v; want %s unset (the create was interrupted)", plain, err, tc.key)
				}
				// The API answers again.
				var settled providers.ReadResponse
				for attempt := 0; ; attempt++ {
					settled, err = d.Read(ctx, providers.ReadRequest{Instance: inst, Settle: true})
					if err == nil || attempt > 100 || !strings.Contains(err.Error(), "InternalError") {
						break
					}
				}
				if err != nil || settled.Inputs[tc.key] != req.Inputs[tc.key] {
					t.Fatalf("settled Read: %s = %v, %v; want %v", tc.key, settled.Inputs[tc.key], err, req.Inputs[tc.key])
				}
				return providers.CreateResponse{ID: resp.ID, Outputs: settled.Outputs}, nil
			})
			if !checked {
				t.Fatalf("no %s was created", tc.typ)
			}
		})
	}
}

// TestLostRepliesToFollowUpCalls: the calls a create makes after the object
// exists (attach a gateway, add a route, associate subnets, add a rule,
// attach policies, set VPC attributes) are not idempotent in EC2: when the
// reply is lost, the SDK's retry gets "already exists / already
// associated". That is success when what exists is what was asked for.
// Before, a lost reply to CreateRoute or AssociateRouteTable failed the
// route table (RouteAlreadyExists, Resource.AlreadyAssociated), which the
// next apply then replaced.
func TestLostRepliesToFollowUpCalls(t *testing.T) {
	for _, op := range []string{
		"ec2:AttachInternetGateway", "ec2:CreateRoute", "ec2:AssociateRouteTable",
		"ec2:AuthorizeSecurityGroupIngress", "iam:AttachRolePolicy", "ec2:ModifyVpcAttribute",
	} {
		t.Run(op, func(t *testing.T) {
			sb, d := startSandbox(t, sandbox.Options{Faults: []sandbox.Fault{{Op: op, Kind: sandbox.FaultDropAfter, Nth: 1}}})
			a := applyAll(t, d, smallRegion())
			if sb.Requests()[op] < 2 {
				t.Fatalf("%s was called %d times; want the lost reply and the SDK's retry", op, sb.Requests()[op])
			}
			for _, addr := range a.order {
				in := a.inst[addr]
				got, err := d.Read(context.Background(), providers.ReadRequest{Instance: *in})
				if err != nil || !got.Exists {
					t.Fatalf("Read %s: %+v, %v", addr, got, err)
				}
				for k, want := range in.Inputs {
					if live, ok := got.Inputs[k]; ok && !sameJSON(live, want) {
						t.Errorf("%s: %s is %v live, %v asked", addr, k, live, want)
					}
				}
			}
		})
	}
}

// sameJSON reports whether two values are equal after a JSON round trip.
func sameJSON(a, b any) bool {
	norm := func(v any) any {
		raw, _ := json.Marshal(v)
		var out any
		_ = json.Unmarshal(raw, &out)
		return out
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// TestRetriesOutlastTheRetryQuota: a long run through many failing calls
// keeps retrying. The SDK's default retry quota (500 tokens, 14 per failed
// retry) made every call of a client fail at once ("retry quota exceeded")
// after a few dozen failed retries — a refresh through a burst of server
// errors then failed from the fifth read on.
func TestRetriesOutlastTheRetryQuota(t *testing.T) {
	const reads = 8
	var faults []sandbox.Fault
	for i := range reads {
		// Every read fails 9 times (fewer than MaxAttempts), then succeeds.
		faults = append(faults, sandbox.Fault{Op: "ec2:DescribeVpcs", Kind: sandbox.FaultServerError, Nth: 10*i + 1, Count: 9})
	}
	_, d := startSandbox(t, sandbox.Options{Faults: faults})
	res := mustExpandAWS(t, d)
	for i := range reads {
		got, err := d.Read(context.Background(), providers.ReadRequest{Instance: providers.Instance{Address: res.Address, Type: res.Type, ID: "vpc-0123456789abcdef0", Inputs: res.Inputs}})
		if err != nil || got.Exists {
			t.Fatalf("read %d through 9 server errors = %+v, %v; want not found, no error", i+1, got, err)
		}
	}
}

// mustExpandAWS returns the VPC of smallRegion.
func mustExpandAWS(t *testing.T, d providers.Driver) providers.Resource {
	t.Helper()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: smallRegion()})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v %v", err, resp.Diagnostics)
	}
	for _, r := range resp.Resources {
		if r.Type == awsdriver.TypeVPC {
			return r
		}
	}
	t.Fatal("no VPC")
	return providers.Resource{}
}

// TestFailedCreateIsReported: a cluster or node group whose creation EKS
// reports failed (FAILED, CREATE_FAILED) — the create was interrupted
// before it saw that — is read with CreateFailed, by a plain Read (a
// refresh) and by a settled one (an adoption), so the engine taints and
// replaces it instead of adopting a broken object; the create that
// replaces it removes the failed one and makes it again.
func TestFailedCreateIsReported(t *testing.T) {
	for _, tc := range []struct{ typ, createOp, pollOp string }{
		{awsdriver.TypeEKSCluster, "eks:CreateCluster", "eks:DescribeCluster"},
		{awsdriver.TypeEKSNodeGroup, "eks:CreateNodegroup", "eks:DescribeNodegroup"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			clk := testclock.New()
			sb, d := startSandbox(t, failedcreate.SandboxOptions(clk, tc.createOp))
			fc := &failedcreate.Case{Driver: d, Clock: clk, Requests: sb.Requests, Type: tc.typ, CreateOp: tc.createOp, PollOp: tc.pollOp, Status: "status",
				ID: func(req providers.CreateRequest) string { return req.Inputs["name"].(string) }} // EKS names are IDs
			applyAllWith(t, d, smallRegion(), fc.Creates(t)) // the replacement removes the failed object first
			fc.Checked(t)
		})
	}
}
