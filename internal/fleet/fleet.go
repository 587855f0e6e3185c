// Package fleet builds the fleets regionctl's fleet benchmark and tests
// apply to the sandbox — N regions spread over AWS, GCP and Azure and over
// each cloud's locations — and computes the bounds an apply is measured
// against: the critical path (the longest dependency chain of summed
// operation latencies, per region) and the rate-budget bound (the least
// time the clouds' budgets let the calls through).
package fleet

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/spec"
)

// Clouds are the providers a fleet cycles through.
var Clouds = []string{"aws", "gcp", "azure"}

// Locations are the locations each cloud's regions cycle through, from
// the drivers' catalogs (a few of each, as a real fleet concentrates in a
// handful of a cloud's regions).
var Locations = map[string][]string{
	"aws":   {"us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-1"},
	"gcp":   {"us-central1", "europe-west4", "us-east1", "europe-west1", "asia-southeast1"},
	"azure": {"eastus", "westeurope", "westus2", "northeurope", "southeastasia"},
}

// Spec is the YAML of region i of a fleet: the staging template of
// examples/fleet.jsonnet (two zones, one NAT, a system and a spot ingest
// pool) on cloud Clouds[i%3] in the next of its Locations. With inCluster
// it also has two StorageClasses and an external load balancer (they need
// a Kubernetes API server per cluster).
func Spec(i int, inCluster bool) string {
	cloud := Clouds[i%len(Clouds)]
	locs := Locations[cloud]
	loc := locs[(i/len(Clouds))%len(locs)]
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata:
  name: fleet-%03d-%s
  labels: {env: bench}
spec:
  provider: %s
  location: %s
  zones: 2
  network: {cidr: 10.%d.0.0/16, singleNatGateway: true}
  cluster:
    kubernetesVersion: "1.33"
    endpointAccess: public
    nodePools:
      - {name: system, machine: {cpu: 4, memoryGiB: 16}, min: 2, max: 4, taints: ["CriticalAddonsOnly=true:NoSchedule"]}
      - {name: ingest, machine: {cpu: 8, memoryGiB: 32}, spot: true, min: 0, max: 10, labels: {workload: ingest}, taints: ["workload=ingest:NoSchedule"]}
`, i, cloud, cloud, loc, i%250+1)
	if inCluster {
		b.WriteString(`  storageClasses:
    - {name: fast, tier: ssd, default: true, reclaimPolicy: Retain, expandable: true}
    - {name: bulk, tier: standard}
  loadBalancers:
    - {name: api, scheme: external, ports: [{port: 443, targetPort: 8443}], selector: {app: gateway}}
`)
	}
	return b.String()
}

// Write writes the specs of an n-region fleet into dir, one file each
// (the first inCluster regions with in-cluster objects), and returns
// their paths.
func Write(dir string, n, inCluster int) ([]string, error) {
	var paths []string
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, fmt.Sprintf("region-%03d.yaml", i))
		if err := os.WriteFile(p, []byte(Spec(i, i < inCluster)), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Load loads an n-region fleet for a test, with or without in-cluster
// objects (see Spec).
func Load(n int, inCluster bool) ([]*spec.Region, error) {
	var out []*spec.Region
	for i := 0; i < n; i++ {
		rs, ds := spec.LoadBytes(fmt.Sprintf("region-%03d.yaml", i), []byte(Spec(i, inCluster)), spec.LoadOptions{})
		if ds.HasErrors() {
			return nil, fmt.Errorf("region %d: %v", i, ds)
		}
		out = append(out, rs...)
	}
	return out, nil
}

// CreateOps are the sandbox's asynchronous operations (latency profile
// keys) that creating a resource of each type waits for, in order. Types
// not listed complete at once.
var CreateOps = map[string][]string{
	"aws_nat_gateway":            {"ec2:CreateNatGateway"},
	"aws_eks_cluster":            {"eks:CreateCluster"},
	"aws_eks_node_group":         {"eks:CreateNodegroup"},
	"aws_eks_addon":              {"eks:CreateAddon"},
	"gcp_compute_network":        {"compute:networks.insert"},
	"gcp_compute_subnetwork":     {"compute:subnetworks.insert"},
	"gcp_compute_router":         {"compute:routers.insert"},
	"gcp_container_cluster":      {"container:CreateCluster", "container:DeleteNodePool"}, // then the bootstrap pool goes
	"gcp_container_node_pool":    {"container:CreateNodePool"},
	"azure_virtual_network":      {"azure:virtualNetworks.createOrUpdate"},
	"azure_subnet":               {"azure:subnets.createOrUpdate"},
	"azure_public_ip":            {"azure:publicIPAddresses.createOrUpdate"},
	"azure_kubernetes_cluster":   {"azure:managedClusters.createOrUpdate"},
	"azure_kubernetes_node_pool": {"azure:agentPools.createOrUpdate"},
}

// serialized are the types whose creates a cloud runs one at a time per
// parent (GKE: one operation per cluster; AKS: one per managed cluster),
// with the input naming the parent.
var serialized = map[string]string{"gcp_container_node_pool": "cluster", "azure_kubernetes_node_pool": "cluster_id"}

// CriticalPath is the longest chain of a region's creates, each taking
// the sum of its CreateOps' latencies, through its dependencies
// (references and DependsOn) and through the order a cloud imposes on
// operations of one parent (node pools of one GKE or AKS cluster, in
// expand order): the least time any scheduler needs to create the region.
func CriticalPath(resources []providers.Resource, latency func(op string) time.Duration) time.Duration {
	cost := map[string]time.Duration{}
	deps := map[string][]string{}
	lastOfParent := map[string]string{}
	for _, r := range resources {
		for _, op := range CreateOps[r.Type] {
			cost[r.Address] += latency(op)
		}
		deps[r.Address] = append(providers.Refs(map[string]any(r.Inputs)), r.DependsOn...)
		if key, ok := serialized[r.Type]; ok {
			parent := fmt.Sprint(r.Inputs[key])
			if prev, ok := lastOfParent[parent]; ok {
				deps[r.Address] = append(deps[r.Address], prev)
			}
			lastOfParent[parent] = r.Address
		}
	}
	finish := map[string]time.Duration{}
	var at func(addr string) time.Duration
	at = func(addr string) time.Duration {
		if f, ok := finish[addr]; ok {
			return f
		}
		finish[addr] = 0 // a cycle cannot occur (the engine refuses one); this ends one anyway
		var start time.Duration
		for _, d := range deps[addr] {
			start = max(start, at(d))
		}
		finish[addr] = start + cost[addr]
		return finish[addr]
	}
	var longest time.Duration
	for _, r := range resources {
		longest = max(longest, at(r.Address))
	}
	return longest
}

// BucketUse is how many requests one rate budget bucket let through, under
// its limit.
type BucketUse struct {
	Key      string
	Limit    budget.Limit
	Requests int
}

// BudgetBound is the least time the budgets let the requests through: the
// slowest bucket's burst at once and the rest at its refill rate. It
// returns the bound and that bucket's key.
func BudgetBound(use []BucketUse) (time.Duration, string) {
	var worst time.Duration
	var key string
	for _, u := range use {
		if b := u.Limit.Bound(u.Requests); b > worst {
			worst, key = b, u.Key
		}
	}
	return worst, key
}

// ScaledLatency is the sandbox's realistic latency profile divided by
// speedup, so a fleet that takes half an hour on the clouds applies in
// seconds, every operation keeping its share of the whole.
func ScaledLatency(realistic map[string]time.Duration, speedup float64) map[string]time.Duration {
	out := make(map[string]time.Duration, len(realistic))
	for _, k := range slices.Sorted(maps.Keys(realistic)) {
		out[k] = time.Duration(float64(realistic[k]) / speedup)
	}
	return out
}

// Overrides turns budget tables into driver options' overrides, so the
// drivers pace themselves by the same budgets a sandbox enforces.
func Overrides(tables map[string]budget.Table) budget.Overrides {
	out := budget.Overrides{}
	for cloud, t := range tables {
		for bucket, l := range t {
			out[cloud+":"+bucket] = l
		}
	}
	return out
}
