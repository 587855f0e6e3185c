package gcp_test

import (
	"context"
	"encoding/base64"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// TestClusterNodes: a GKE cluster's API server serves the cluster's minor
// and its services range; each node pool has Ready nodes per zone with the
// labels and taints GKE gives them (spot, the pool's own); a pod for the
// spot pool runs there; resizing and deleting a pool change its nodes; a
// master upgrade moves the served minor; deleting the cluster stops every
// process.
func TestClusterNodes(t *testing.T) {
	requireKube(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	e := startWith(t, sandbox.Options{Dir: t.TempDir(), Latency: map[string]time.Duration{"*": 0}}, nil)
	network(t, e)
	cl := demoCluster()
	cl.ReleaseChannel.Channel = containerpb.ReleaseChannel_RAPID // offers 1.33 and 1.34, for the upgrade
	if _, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: cl}); err != nil {
		t.Fatal(err)
	}
	const id = "gcp-" + project + "-us-central1-demo"
	km := e.sb.Kube()
	// RUNNING once the API server answers and the pools' nodes joined.
	if err := km.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := km.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	c, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey})
	if err != nil || c.GetStatus() != containerpb.Cluster_RUNNING {
		t.Fatalf("cluster %v %v", c.GetStatus(), err)
	}
	ca, _ := base64.StdEncoding.DecodeString(c.GetMasterAuth().GetClusterCaCertificate())
	tok, err := accessToken(t, keyFile(t, e.sb))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: "https://" + c.GetEndpoint(), BearerToken: tok, TLSClientConfig: rest.TLSClientConfig{CAData: ca}})
	if err != nil {
		t.Fatal(err)
	}
	minor, ip, err := kube.Serving(ctx, cs)
	if minor != "33" || c.GetServicesIpv4Cidr() != "10.8.0.0/20" || ip != "10.8.0.1" || err != nil {
		t.Errorf("a 1.33 cluster of services range %s serves minor %s and kubernetes at %s (%v); want 1.33 and the range's first address", c.GetServicesIpv4Cidr(), minor, ip, err)
	}

	// The system pool: one node in each of the cluster's three zones.
	if err := km.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	system, err := kube.ReadyNodes(ctx, cs, "cloud.google.com/gke-nodepool=system", 3)
	if err != nil {
		t.Fatal(err)
	}
	zones := map[string]bool{}
	for _, n := range system {
		zones[n.Labels["topology.kubernetes.io/zone"]] = true
		if n.Labels["role"] != "system" || n.Labels["node.kubernetes.io/instance-type"] != "e2-standard-4" || n.Labels["cloud.google.com/gke-spot"] != "" ||
			n.Status.NodeInfo.KubeletVersion != "v"+c.GetCurrentNodeVersion() || n.Status.Capacity.Cpu().String() != "4" || n.Spec.ProviderID == "" {
			t.Errorf("system node %s: labels %v, kubelet %s, cpu %s, providerID %q", n.Name, n.Labels, n.Status.NodeInfo.KubeletVersion, n.Status.Capacity.Cpu(), n.Spec.ProviderID)
		}
	}
	if len(zones) != 3 {
		t.Errorf("system nodes in zones %v, want the cluster's three", zones)
	}

	// A spot pool with a taint of its own, in one zone.
	poolName := clusterKey + "/nodePools/batch"
	if _, err := e.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterKey, NodePool: &containerpb.NodePool{
		Name: "batch", InitialNodeCount: 2, Locations: []string{"us-central1-a"},
		Config: &containerpb.NodeConfig{MachineType: "e2-standard-2", Spot: true,
			Taints: []*containerpb.NodeTaint{{Key: "dedicated", Value: "batch", Effect: containerpb.NodeTaint_NO_SCHEDULE}}},
	}}); err != nil {
		t.Fatal(err)
	}
	// A pool create or delete sets the nodes when it starts and completes
	// once they are there; a resize sets them when it completes.
	settleNodes := func() {
		t.Helper()
		if err := km.WaitNodes(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := e.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterKey}); err != nil { // settles the operation
			t.Fatal(err)
		}
		if err := km.WaitNodes(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	settleNodes()
	spot, err := kube.ReadyNodes(ctx, cs, "cloud.google.com/gke-spot=true", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range spot {
		if n.Labels["cloud.google.com/gke-nodepool"] != "batch" || n.Labels["topology.kubernetes.io/zone"] != "us-central1-a" || n.Labels["cloud.google.com/gke-provisioning"] != "spot" ||
			!kube.HasTaint(n, "dedicated", "batch", corev1.TaintEffectNoSchedule) {
			t.Errorf("spot node %s: labels %v, taints %v", n.Name, n.Labels, n.Spec.Taints)
		}
	}
	pod, err := kube.RunPod(ctx, cs, "batch-job", map[string]string{"cloud.google.com/gke-spot": "true"},
		corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(spot, func(n corev1.Node) bool { return n.Name == pod.Spec.NodeName }) {
		t.Errorf("the spot pod runs on %s, not on a node of the spot pool", pod.Spec.NodeName)
	}

	if _, err := e.gke.SetNodePoolSize(ctx, &containerpb.SetNodePoolSizeRequest{Name: poolName, NodeCount: 1}); err != nil {
		t.Fatal(err)
	}
	settleNodes()
	if _, err := kube.ReadyNodes(ctx, cs, "cloud.google.com/gke-nodepool=batch", 1); err != nil {
		t.Errorf("after SetNodePoolSize 1: %v", err)
	}
	if _, err := e.gke.DeleteNodePool(ctx, &containerpb.DeleteNodePoolRequest{Name: poolName}); err != nil {
		t.Fatal(err)
	}
	settleNodes()
	if _, err := kube.ReadyNodes(ctx, cs, "cloud.google.com/gke-nodepool=batch", 0); err != nil {
		t.Errorf("after DeleteNodePool: %v", err)
	}

	// A master upgrade: the operation is DONE once the API server answers
	// at the new minor.
	op, err := e.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterKey, Update: &containerpb.ClusterUpdate{DesiredMasterVersion: "1.34"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, err := e.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: loc + "/operations/" + op.GetName()}); err != nil || got.GetStatus() != containerpb.Operation_DONE || got.GetError() != nil {
		t.Fatalf("upgrade op: %v %v %v", got.GetStatus(), got.GetError(), err)
	}
	if m, _, err := kube.Serving(ctx, cs); m != "34" || err != nil {
		t.Errorf("after the master upgrade to 1.34 the API server serves minor %s (%v)", m, err)
	}

	procs := km.Processes(id)
	if len(procs) != 4 {
		t.Errorf("processes of a cluster with nodes: %v, want kube-apiserver, kube-controller-manager, kube-scheduler, kwok", procs)
	}
	if _, err := e.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterKey}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.gke.ListClusters(ctx, &containerpb.ListClustersRequest{Parent: loc}); err != nil { // settles the delete
		t.Fatal(err)
	}
	for name, pid := range procs {
		if kube.Alive(pid) {
			t.Errorf("%s (pid %d) still runs after the cluster was deleted", name, pid)
		}
	}
}
