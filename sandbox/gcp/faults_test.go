package gcp_test

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox"
)

// TestFaults pins which faults the SDKs retry by default: only Get/List
// style calls on UNAVAILABLE (container) or 503 (compute); throttling is
// never retried by the SDK and reaches the driver.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		fault     sandbox.Fault
		call      func(e *env) error
		op        string
		wantCalls int
		wantGRPC  codes.Code // container calls
		wantHTTP  int        // compute calls; 0 with wantGRPC OK = success
	}{
		{name: "container throttle not retried", fault: sandbox.Fault{Op: "container:ListClusters", Kind: sandbox.FaultThrottle, Nth: 1},
			call: func(e *env) error {
				_, err := e.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: loc})
				return err
			}, op: "container:ListClusters", wantCalls: 1, wantGRPC: codes.ResourceExhausted},
		{name: "container unavailable retried on reads", fault: sandbox.Fault{Op: "container:ListClusters", Kind: sandbox.FaultServerError, Nth: 1},
			call: func(e *env) error {
				_, err := e.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: loc})
				return err
			}, op: "container:ListClusters", wantCalls: 2, wantGRPC: codes.OK},
		{name: "container unavailable not retried on create", fault: sandbox.Fault{Op: "container:CreateCluster", Kind: sandbox.FaultServerError, Nth: 1},
			call: func(e *env) error {
				_, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
				return err
			}, op: "container:CreateCluster", wantCalls: 1, wantGRPC: codes.Unavailable},
		{name: "container drop", fault: sandbox.Fault{Op: "container:CreateCluster", Kind: sandbox.FaultDrop, Nth: 1},
			call: func(e *env) error {
				_, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
				return err
			}, op: "container:CreateCluster", wantCalls: 1, wantGRPC: codes.Unavailable},
		{name: "compute throttle not retried", fault: sandbox.Fault{Op: "compute:networks.get", Kind: sandbox.FaultThrottle, Nth: 1},
			call: func(e *env) error {
				_, err := e.networks.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "net"})
				return err
			}, op: "compute:networks.get", wantCalls: 1, wantHTTP: 429},
		{name: "compute 503 retried on get", fault: sandbox.Fault{Op: "compute:networks.get", Kind: sandbox.FaultServerError, Nth: 1, Count: 2},
			call: func(e *env) error {
				_, err := e.networks.Get(ctx, &computepb.GetNetworkRequest{Project: project, Network: "net"})
				return err
			}, op: "compute:networks.get", wantCalls: 3},
		{name: "compute 503 not retried on insert", fault: sandbox.Fault{Op: "compute:networks.insert", Kind: sandbox.FaultServerError, Nth: 2},
			call: func(e *env) error {
				_, err := e.networks.Insert(ctx, &computepb.InsertNetworkRequest{Project: project, NetworkResource: &computepb.Network{Name: proto.String("other"), AutoCreateSubnetworks: proto.Bool(false)}})
				return err
			}, op: "compute:networks.insert", wantCalls: 2, wantHTTP: 503}, // the first insert is the setup's
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, t.TempDir(), 0, tc.fault)
			network(t, e)
			err := tc.call(e)
			switch {
			case tc.wantHTTP != 0:
				code, reason := googleErr(t, err)
				if code != tc.wantHTTP {
					t.Fatalf("got %d %s, want %d", code, reason, tc.wantHTTP)
				}
				if code == 429 && reason != "rateLimitExceeded" {
					t.Errorf("reason %q", reason)
				}
			default:
				grpcCode(t, err, tc.wantGRPC)
			}
			if got := e.sb.Requests()[tc.op]; got != tc.wantCalls {
				t.Errorf("%s called %d times, want %d", tc.op, got, tc.wantCalls)
			}
		})
	}
}

// TestFailedOperations: a FaultFail lets the call succeed and the
// operation end DONE with an error.
func TestFailedOperations(t *testing.T) {
	ctx := context.Background()
	e := gkeEnv(t, t.TempDir(),
		sandbox.Fault{Op: "compute:routers.insert", Kind: sandbox.FaultFail, Nth: 1},
		sandbox.Fault{Op: "container:CreateCluster", Kind: sandbox.FaultFail, Nth: 1})
	network(t, e)

	op, err := e.routers.Insert(ctx, &computepb.InsertRouterRequest{Project: project, Region: "us-central1", RouterResource: &computepb.Router{Name: proto.String("router"), Network: proto.String("net")}})
	if err != nil {
		t.Fatal(err)
	}
	err = op.Wait(ctx)
	if code, _ := googleErr(t, err); code != 500 {
		t.Fatalf("failed router insert: Wait = %v", err)
	}
	if op.Proto().GetError() == nil || op.Proto().GetStatus() != computepb.Operation_DONE {
		t.Errorf("op %v", op.Proto())
	}
	if _, err := e.routers.Get(ctx, &computepb.GetRouterRequest{Project: project, Region: "us-central1", Router: "router"}); err == nil {
		t.Error("a failed insert left the router behind")
	}
	// A rerun succeeds.
	op, err = e.routers.Insert(ctx, &computepb.InsertRouterRequest{Project: project, Region: "us-central1", RouterResource: &computepb.Router{Name: proto.String("router"), Network: proto.String("net")}})
	if err != nil {
		t.Fatal(err)
	}
	if err := op.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	cop, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	done := waitOp(t, e, cop)
	if done.GetError() == nil || done.GetError().GetCode() != int32(codes.Internal) {
		t.Fatalf("failed create op error %v", done.GetError())
	}
	c, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c.GetStatus() != containerpb.Cluster_ERROR || len(c.GetConditions()) == 0 {
		t.Fatalf("failed cluster: %v %v", c.GetStatus(), err)
	}
	_, err = e.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterKey, NodePool: &containerpb.NodePool{Name: "apps", InitialNodeCount: 1}})
	grpcCode(t, err, codes.FailedPrecondition)
	dop, err := e.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, e, dop)
	if objs := e.sb.List(); len(objs) == 0 {
		t.Fatal("the network should remain")
	}
	for _, o := range gcpObjects(e.sb) {
		if o.Type == "container.cluster" {
			t.Errorf("cluster left: %v", o)
		}
	}
}

// TestPersistence: a restarted sandbox on the same directory has the same
// resources and running operations, which complete on its clock.
func TestPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	e := gkeEnv(t, dir)
	network(t, e)
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sb.Close(); err != nil {
		t.Fatal(err)
	}
	objs, err := sandbox.ListDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, o := range objs {
		if o.Cloud == "gcp" {
			types = append(types, o.Type) // states follow ListDir's wall clock, not the test's
		}
	}
	want := "compute.network compute.subnetwork container.cluster container.nodePool"
	if got := join(types); got != want {
		t.Errorf("ListDir: %s, want %s", got, want)
	}

	e2 := gkeEnv(t, dir)
	e2.clk.Advance(10 * time.Second)
	done := waitOp(t, e2, op)
	if done.GetError() != nil {
		t.Fatal(done.GetError())
	}
	c, err := e2.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c.GetStatus() != containerpb.Cluster_RUNNING {
		t.Fatalf("after restart: %v %v", c.GetStatus(), err)
	}
	if _, err := e2.subnets.Get(ctx, &computepb.GetSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes"}); err != nil {
		t.Fatal(err)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}
