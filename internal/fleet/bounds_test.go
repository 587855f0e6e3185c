package fleet_test

import (
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/fleet"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
)

// TestCriticalPath: a create costs the latencies of the operations it waits
// for; it starts when its references and dependsOn are done, and node pools
// of one GKE cluster wait for each other (one operation per cluster) while
// pools of different clusters do not.
func TestCriticalPath(t *testing.T) {
	latency := map[string]time.Duration{
		"compute:networks.insert":    1 * time.Second,
		"container:CreateCluster":    10 * time.Second,
		"container:DeleteNodePool":   2 * time.Second,
		"container:CreateNodePool":   4 * time.Second,
		"compute:routers.insert":     3 * time.Second,
		"compute:subnetworks.insert": 1 * time.Second,
	}
	res := []providers.Resource{
		{Address: "r/gcp_compute_network.n", Type: "gcp_compute_network"},
		{Address: "r/gcp_compute_router.x", Type: "gcp_compute_router", DependsOn: []string{"r/gcp_compute_network.n"}},
		{Address: "r/gcp_container_cluster.c", Type: "gcp_container_cluster", Inputs: providers.Values{"network": providers.Ref("r/gcp_compute_network.n", "id")}},
		{Address: "r/gcp_container_cluster.d", Type: "gcp_container_cluster", Inputs: providers.Values{"network": providers.Ref("r/gcp_compute_network.n", "id")}},
		{Address: "r/gcp_container_node_pool.a", Type: "gcp_container_node_pool", Inputs: providers.Values{"cluster": providers.Ref("r/gcp_container_cluster.c", "id")}},
		{Address: "r/gcp_container_node_pool.b", Type: "gcp_container_node_pool", Inputs: providers.Values{"cluster": providers.Ref("r/gcp_container_cluster.c", "id")}},
		{Address: "r/gcp_container_node_pool.e", Type: "gcp_container_node_pool", Inputs: providers.Values{"cluster": providers.Ref("r/gcp_container_cluster.d", "id")}},
		{Address: "r/unknown.u", Type: "unknown"},
	}
	got := fleet.CriticalPath(res, func(op string) time.Duration { return latency[op] })
	// network 1 + cluster 10 + bootstrap pool deleted 2 + pool a 4 + pool b 4.
	if want := 21 * time.Second; got != want {
		t.Errorf("critical path = %v, want %v", got, want)
	}
}

// TestBudgetBound: the busiest bucket's burst goes at once, the rest at its
// refill rate.
func TestBudgetBound(t *testing.T) {
	got, key := fleet.BudgetBound([]fleet.BucketUse{
		{Key: "aws//us-east-1/ec2/write", Limit: budget.Limit{Burst: 200, Rate: 5}, Requests: 150},
		{Key: "aws///iam/write", Limit: budget.Limit{Burst: 20, Rate: 5}, Requests: 70},
		{Key: "gcp/p//container", Limit: budget.Limit{Burst: 500, Rate: 45}, Requests: 590},
	})
	if want := 10 * time.Second; got != want || key != "aws///iam/write" {
		t.Errorf("budget bound = %v (%s), want %v (aws///iam/write)", got, key, want)
	}
}
