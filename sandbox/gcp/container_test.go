package gcp_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/regionctl/regionctl/sandbox"
)

const (
	loc        = "projects/" + project + "/locations/us-central1"
	clusterKey = loc + "/clusters/demo"
)

func network(t testing.TB, e *env) {
	t.Helper()
	insertNetwork(t, e, "net")
	insertSubnet(t, e, "nodes", "10.0.0.0/20", map[string]string{"pods": "10.4.0.0/14", "services": "10.8.0.0/20"})
}

func demoCluster() *containerpb.Cluster {
	return &containerpb.Cluster{
		Name: "demo", Network: "net", Subnetwork: "nodes", InitialClusterVersion: "1.33",
		IpAllocationPolicy:     &containerpb.IPAllocationPolicy{UseIpAliases: true, ClusterSecondaryRangeName: "pods", ServicesSecondaryRangeName: "services"},
		ReleaseChannel:         &containerpb.ReleaseChannel{Channel: containerpb.ReleaseChannel_REGULAR},
		WorkloadIdentityConfig: &containerpb.WorkloadIdentityConfig{WorkloadPool: project + ".svc.id.goog"},
		PrivateClusterConfig:   &containerpb.PrivateClusterConfig{EnablePrivateNodes: true, MasterIpv4CidrBlock: "172.16.0.0/28"},
		ResourceLabels:         map[string]string{"managed-by": "regionctl"},
		NodePools: []*containerpb.NodePool{{Name: "system", InitialNodeCount: 1,
			Config:      &containerpb.NodeConfig{MachineType: "e2-standard-4", Labels: map[string]string{"role": "system"}},
			Autoscaling: &containerpb.NodePoolAutoscaling{Enabled: true, MinNodeCount: 1, MaxNodeCount: 3}}},
	}
}

// waitOp polls GetOperation until DONE, stepping the clock, and returns it.
func waitOp(t testing.TB, e *env, op *containerpb.Operation) *containerpb.Operation {
	t.Helper()
	name := loc + "/operations/" + op.GetName()
	for i := 0; i < 100; i++ {
		got, err := e.gke.GetOperation(context.Background(), &containerpb.GetOperationRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if got.GetStatus() == containerpb.Operation_DONE {
			return got
		}
		e.clk.Advance(time.Second)
	}
	t.Fatalf("operation %s never DONE", name)
	return nil
}

func grpcCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if status.Code(err) != want {
		t.Fatalf("got %v (%v), want %v", status.Code(err), err, want)
	}
}

// gkeEnv runs a sandbox whose GKE operations take 10 s of a stepped clock
// and whose Compute operations are immediate.
func gkeEnv(t *testing.T, dir string, faults ...sandbox.Fault) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	lat := map[string]time.Duration{"*": 0}
	for _, op := range []string{"CreateCluster", "DeleteCluster", "UpdateCluster", "CreateNodePool", "DeleteNodePool", "UpdateNodePool", "SetNodePoolAutoscaling", "SetNodePoolSize", "SetLabels"} {
		lat["container:"+op] = 10 * time.Second
	}
	return startWith(t, sandbox.Options{Dir: dir, Clock: clk.Now, Latency: lat, Faults: faults, NoKubernetes: true}, clk)
}

func TestGKELifecycle(t *testing.T) {
	e := gkeEnv(t, t.TempDir())
	ctx := context.Background()
	network(t, e)

	sc, err := e.gke.GetServerConfig(ctx, &containerpb.GetServerConfigRequest{Name: loc})
	if err != nil || len(sc.GetChannels()) == 0 || !strings.HasPrefix(sc.GetDefaultClusterVersion(), "1.33.") {
		t.Fatalf("server config %v, %v", sc, err)
	}

	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	if op.GetStatus() != containerpb.Operation_PENDING || op.GetOperationType() != containerpb.Operation_CREATE_CLUSTER {
		t.Errorf("create op %v", op)
	}
	c, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c.GetStatus() != containerpb.Cluster_PROVISIONING || c.GetEndpoint() != "" {
		t.Fatalf("while provisioning: %v %v", c.GetStatus(), err)
	}
	// Another operation on the cluster while one runs.
	_, err = e.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterKey, NodePool: &containerpb.NodePool{Name: "apps", InitialNodeCount: 1}})
	grpcCode(t, err, codes.FailedPrecondition)
	_, err = e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	grpcCode(t, err, codes.AlreadyExists)
	// The subnetwork is in use by the cluster.
	_, err = e.subnets.Delete(ctx, &computepb.DeleteSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes"})
	if code, reason := googleErr(t, err); code != 400 || reason != "resourceInUseByAnotherResource" {
		t.Errorf("delete used subnetwork: %d %s", code, reason)
	}

	e.clk.Advance(2 * time.Second) // past the first fifth of 10 s: RUNNING
	got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: loc + "/operations/" + op.GetName()})
	if err != nil || got.GetStatus() != containerpb.Operation_RUNNING {
		t.Fatalf("op after 2s: %v %v", got.GetStatus(), err)
	}
	if done := waitOp(t, e, op); done.GetError() != nil {
		t.Fatalf("create failed: %v", done.GetError())
	}
	c, err = e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.GetStatus() != containerpb.Cluster_RUNNING || c.GetEndpoint() == "" || c.GetCurrentMasterVersion() != "1.33.5-gke.1308000" {
		t.Errorf("running cluster: status %v endpoint %q version %q", c.GetStatus(), c.GetEndpoint(), c.GetCurrentMasterVersion())
	}
	if got := c.GetLocations(); strings.Join(got, ",") != "us-central1-a,us-central1-b,us-central1-c" {
		t.Errorf("default node locations %v", got)
	}
	if c.GetPrivateClusterConfig().GetPrivateEndpoint() != "172.16.0.2" || c.GetClusterIpv4Cidr() != "10.4.0.0/14" {
		t.Errorf("private endpoint %q pods %q", c.GetPrivateClusterConfig().GetPrivateEndpoint(), c.GetClusterIpv4Cidr())
	}
	caPEM, err := base64.StdEncoding.DecodeString(c.GetMasterAuth().GetClusterCaCertificate())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(caPEM)
	if block == nil {
		t.Fatal("cluster CA is not PEM")
	}
	if cert, err := x509.ParseCertificate(block.Bytes); err != nil || !cert.IsCA {
		t.Fatalf("cluster CA: %v", err)
	}
	pool := c.GetNodePools()[0]
	if pool.GetStatus() != containerpb.NodePool_RUNNING || pool.GetVersion() != c.GetCurrentMasterVersion() || len(pool.GetInstanceGroupUrls()) != 3 {
		t.Errorf("pool %v", pool)
	}
	if c.GetCurrentNodeCount() != 3 { // 1 per zone × 3 zones
		t.Errorf("current node count %d, want 3", c.GetCurrentNodeCount())
	}

	// Node pools: create, then autoscaling, size, labels and taints.
	op, err = e.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterKey, NodePool: &containerpb.NodePool{Name: "apps", InitialNodeCount: 2,
		Locations: []string{"us-central1-a", "us-central1-b"}, Config: &containerpb.NodeConfig{Spot: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: clusterKey + "/nodePools/apps"}); p.GetStatus() != containerpb.NodePool_PROVISIONING {
		t.Errorf("new pool status %v", p.GetStatus())
	}
	waitOp(t, e, op)
	poolName := clusterKey + "/nodePools/apps"
	steps := []struct {
		name string
		call func() (*containerpb.Operation, error)
	}{
		{"autoscaling", func() (*containerpb.Operation, error) {
			return e.gke.SetNodePoolAutoscaling(ctx, &containerpb.SetNodePoolAutoscalingRequest{Name: poolName, Autoscaling: &containerpb.NodePoolAutoscaling{Enabled: true, MinNodeCount: 3, MaxNodeCount: 5}})
		}},
		{"size", func() (*containerpb.Operation, error) {
			return e.gke.SetNodePoolSize(ctx, &containerpb.SetNodePoolSizeRequest{Name: poolName, NodeCount: 4})
		}},
		{"labels and taints", func() (*containerpb.Operation, error) {
			return e.gke.UpdateNodePool(ctx, &containerpb.UpdateNodePoolRequest{Name: poolName,
				Labels: &containerpb.NodeLabels{Labels: map[string]string{"tier": "apps"}},
				Taints: &containerpb.NodeTaints{Taints: []*containerpb.NodeTaint{{Key: "dedicated", Value: "apps", Effect: containerpb.NodeTaint_NO_SCHEDULE}}}})
		}},
	}
	for _, s := range steps {
		op, err := s.call()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if p, _ := e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: poolName}); p.GetStatus() != containerpb.NodePool_RECONCILING {
			t.Errorf("%s: pool status %v while updating", s.name, p.GetStatus())
		}
		if done := waitOp(t, e, op); done.GetError() != nil {
			t.Fatalf("%s: %v", s.name, done.GetError())
		}
	}
	p, err := e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: poolName})
	if err != nil {
		t.Fatal(err)
	}
	if a := p.GetAutoscaling(); a.GetMinNodeCount() != 3 || a.GetMaxNodeCount() != 5 || a.GetLocationPolicy() != containerpb.NodePoolAutoscaling_BALANCED {
		t.Errorf("autoscaling %v", a)
	}
	if p.GetConfig().GetLabels()["tier"] != "apps" || len(p.GetConfig().GetTaints()) != 1 || !p.GetConfig().GetSpot() || p.GetInitialNodeCount() != 2 {
		t.Errorf("pool config %v initial %d", p.GetConfig(), p.GetInitialNodeCount())
	}
	// The per-zone size is on the managed instance group, as on GKE.
	for _, u := range p.GetInstanceGroupUrls() {
		parts := strings.Split(u, "/")
		igm, err := e.igms.Get(ctx, &computepb.GetInstanceGroupManagerRequest{Project: project, Zone: parts[len(parts)-3], InstanceGroupManager: parts[len(parts)-1]})
		if err != nil || igm.GetTargetSize() != 4 {
			t.Errorf("MIG %s: size %d, %v (want 4 per zone)", u, igm.GetTargetSize(), err)
		}
	}

	// Version upgrades: one minor at a time.
	_, err = e.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterKey, Update: &containerpb.ClusterUpdate{DesiredMasterVersion: "1.31"}})
	grpcCode(t, err, codes.InvalidArgument)
	_, err = e.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterKey, Update: &containerpb.ClusterUpdate{DesiredMasterVersion: "1.34", DesiredLoggingService: "none"}})
	grpcCode(t, err, codes.InvalidArgument)
	op, err = e.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterKey, Update: &containerpb.ClusterUpdate{DesiredMasterVersion: "1.32"}})
	grpcCode(t, err, codes.InvalidArgument) // a downgrade
	e.clk.Advance(0)
	setChannel, err := e.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterKey, Update: &containerpb.ClusterUpdate{DesiredReleaseChannel: &containerpb.ReleaseChannel{Channel: containerpb.ReleaseChannel_RAPID}}})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey}); c.GetStatus() != containerpb.Cluster_RECONCILING {
		t.Errorf("cluster %v while updating, want RECONCILING", c.GetStatus())
	}
	waitOp(t, e, setChannel)
	op, err = e.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterKey, Update: &containerpb.ClusterUpdate{DesiredMasterVersion: "1.34"}})
	if err != nil {
		t.Fatal(err)
	}
	if op.GetOperationType() != containerpb.Operation_UPGRADE_MASTER {
		t.Errorf("op type %v", op.GetOperationType())
	}
	waitOp(t, e, op)
	op, err = e.gke.UpdateNodePool(ctx, &containerpb.UpdateNodePoolRequest{Name: poolName, NodeVersion: "-"})
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, e, op)
	c, _ = e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if c.GetCurrentMasterVersion() != "1.34.1-gke.1829001" || c.GetNodePools()[1].GetVersion() != "1.34.1-gke.1829001" || c.GetNodePools()[0].GetVersion() != "1.33.5-gke.1308000" {
		t.Errorf("versions: master %s pools %s %s", c.GetCurrentMasterVersion(), c.GetNodePools()[0].GetVersion(), c.GetNodePools()[1].GetVersion())
	}
	_, err = e.gke.UpdateNodePool(ctx, &containerpb.UpdateNodePoolRequest{Name: poolName, NodeVersion: "1.33"})
	grpcCode(t, err, codes.InvalidArgument) // a minor downgrade

	// Not found, and bad input.
	_, err = e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: loc + "/clusters/nope"})
	grpcCode(t, err, codes.NotFound)
	_, err = e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: clusterKey + "/nodePools/nope"})
	grpcCode(t, err, codes.NotFound)
	_, err = e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: loc + "/operations/operation-nope"})
	grpcCode(t, err, codes.NotFound)
	_, err = e.gke.SetNodePoolAutoscaling(ctx, &containerpb.SetNodePoolAutoscalingRequest{Name: poolName, Autoscaling: &containerpb.NodePoolAutoscaling{Enabled: true, MinNodeCount: 4, MaxNodeCount: 2}})
	grpcCode(t, err, codes.InvalidArgument)
	bad := demoCluster()
	bad.Name = "other"
	bad.IpAllocationPolicy.ClusterSecondaryRangeName = "missing"
	_, err = e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: bad})
	grpcCode(t, err, codes.InvalidArgument)

	list, err := e.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: "projects/" + project + "/locations/-"})
	if err != nil || len(list.GetClusters()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	ops, err := e.gke.ListOperations(ctx, &containerpb.ListOperationsRequest{Parent: loc})
	if err != nil || len(ops.GetOperations()) != 8 {
		t.Errorf("operations: %d, %v", len(ops.GetOperations()), err)
	}

	// Delete: pool, then cluster; STOPPING, then gone.
	op, err = e.gke.DeleteNodePool(ctx, &containerpb.DeleteNodePoolRequest{Name: poolName})
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, e, op)
	op, err = e.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterKey})
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey}); c.GetStatus() != containerpb.Cluster_STOPPING {
		t.Errorf("deleting cluster status %v", c.GetStatus())
	}
	waitOp(t, e, op)
	_, err = e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	grpcCode(t, err, codes.NotFound)
	// Now the subnetwork can go.
	dop, err := e.subnets.Delete(ctx, &computepb.DeleteSubnetworkRequest{Project: project, Region: "us-central1", Subnetwork: "nodes"})
	if err != nil {
		t.Fatal(err)
	}
	if err := dop.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}
