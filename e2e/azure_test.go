package e2e

import (
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// azRegion is metadata.name in examples/azure.yaml.
const azRegion = "staging-westeurope"

// assertAzureMatchesState fails the test unless every Azure object in the
// sandbox belongs to a resource in state — by its ID (ARM IDs compare
// case-insensitively), or as what AKS makes with a cluster (its node
// resource group and its inline System pool) —, no resource has two
// objects, and every created resource in state exists.
func (e *env) assertAzureMatchesState(regions ...string) {
	e.t.Helper()
	known := map[string]string{}
	var created []state.Resource
	for _, st := range e.states(regions...) {
		for _, r := range st.Resources {
			if !strings.Contains(r.Type, "azure_") {
				continue
			}
			known[strings.ToLower(r.ID)] = r.Address
			if r.Status == state.StatusCreated {
				created = append(created, r)
			}
			if r.Type == azure.TypeCluster {
				if id, ok := r.Outputs["node_resource_group_id"].(string); ok {
					known[strings.ToLower(id)] = r.Address + " (node resource group)"
				}
				if sp, ok := r.Inputs["system_pool"].(map[string]any); ok {
					known[strings.ToLower(r.ID+"/agentPools/"+sp["name"].(string))] = r.Address + " (System pool)"
				}
			}
		}
	}
	inCloud := map[string]bool{}
	owners := map[string][]string{}
	for _, o := range e.objects() {
		if o.Cloud != "azure" {
			continue
		}
		id := strings.ToLower(o.ID)
		inCloud[id] = true
		addr, ok := known[id]
		if !ok {
			e.t.Errorf("leak: the sandbox holds %s %s (%s) but state does not know it", o.Type, o.ID, o.State)
			continue
		}
		owners[addr] = append(owners[addr], o.ID)
	}
	for addr, ids := range owners {
		if len(ids) > 1 {
			e.t.Errorf("duplicate: %d objects for %s: %v", len(ids), addr, ids)
		}
	}
	for _, r := range created {
		if !inCloud[strings.ToLower(r.ID)] {
			e.t.Errorf("state holds %s = %s but the sandbox does not", r.Address, r.ID)
		}
	}
	if len(owners) == 0 {
		e.t.Error("the sandbox holds no Azure object regionctl created")
	}
}

// azRegistry runs the CLI with the Azure driver only.
var azRegistry = providers.Registry{"azure": azure.New}

// TestAzureLifecycle drives examples/azure.yaml through the CLI as a user
// would: apply, an empty plan, a User pool scaled in place, the System
// pool scaled in place (an update of the cluster), a Kubernetes upgrade,
// and a destroy that leaves the sandbox empty.
func TestAzureLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{}, false)

	r := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	e.assertAzureMatchesState(azRegion)
	r = e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("the plan after apply is not empty:\n%s", r.stdout)
	}

	// Scaling a User pool is one in-place update of its agent pool.
	e.editSpec("max: 10", "max: 12")
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(r.stdout, azRegion, "~"); !strings.Contains(r.stdout, "0 to add, 1 to change, 0 to destroy") || len(got) != 1 || !strings.Contains(got[0], "azure_kubernetes_node_pool.ingest") {
		t.Fatalf("the scale plan is not one in-place update of the ingest pool (%q):\n%s", got, r.stdout)
	}
	r = e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("apply of the scale:\n%s", r.stdout)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// The System pool lives inline in the cluster: scaling it updates the
	// cluster in place.
	e.editSpec("max: 3", "max: 5")
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if got := changeLines(r.stdout, azRegion, "~"); !strings.Contains(r.stdout, "0 to add, 1 to change, 0 to destroy") || len(got) != 1 || !strings.Contains(got[0], "azure_kubernetes_cluster.main") {
		t.Fatalf("the System pool scale is not one in-place update of the cluster (%q):\n%s", got, r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// Upgrading Kubernetes one minor updates the cluster (control plane and
	// System pool) in place, and the User pool follows in the same apply.
	e.editSpec(`kubernetesVersion: "1.33"`, `kubernetesVersion: "1.34"`)
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	want := []string{"~ " + azRegion + "/azure_kubernetes_cluster.main", "~ " + azRegion + "/azure_kubernetes_node_pool.ingest"}
	if got := changeLines(r.stdout, azRegion, "~"); !strings.Contains(r.stdout, "0 to add, 2 to change, 0 to destroy") || !slices.Equal(got, want) {
		t.Errorf("the upgrade plan updates %q, want %q:\n%s", got, want, r.stdout)
	}
	if n := strings.Count(r.stdout, `~ kubernetes_version: "1.33" → "1.34"`); n != 2 {
		t.Errorf("the upgrade plan changes kubernetes_version %d times, want 2:\n%s", n, r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAzureMatchesState(azRegion)

	e.destroyToEmpty(azRegion, false)
}

// TestAzureConvergesUnderFaults: with 30% of all ARM calls throttled (429
// with Retry-After) and the first AKS cluster ending Failed, an apply may
// fail, but rerunning it converges to an empty plan with nothing leaked or
// duplicated, and destroy empties the sandbox.
func TestAzureConvergesUnderFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{
		Seed: 42,
		Faults: []sandbox.Fault{
			// First, so the throttle below cannot take the call it names.
			{Op: "azure:managedClusters.createOrUpdate", Kind: sandbox.FaultFail, Nth: 1},
			{Op: "*", Kind: sandbox.FaultThrottle, Rate: 0.3},
		},
	}, false)
	r := e.run("apply", "-f", e.spec, "--auto-approve")
	if r.code != cli.ExitCloud || !strings.Contains(r.stderr, "azure_kubernetes_cluster.main") {
		t.Fatalf("the apply with a failed cluster: exit %d, want %d (cloud) naming the cluster\nstdout:\n%s\nstderr:\n%s", r.code, cli.ExitCloud, r.stdout, r.stderr)
	}
	runs := e.converge(3, "apply", "-f", e.spec, "--auto-approve")
	t.Logf("the rerun converged in %d run(s)", runs)
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAzureMatchesState(azRegion)
	e.converge(3, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}

// TestAzureFailedUserPool: the first User pool ends Failed. A rerun
// replaces it under the same name (create before destroy) and converges.
func TestAzureFailedUserPool(t *testing.T) {
	t.Parallel()
	e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{Faults: []sandbox.Fault{{Op: "azure:agentPools.createOrUpdate", Kind: sandbox.FaultFail, Nth: 1}}}, false)
	r := e.run("apply", "-f", e.spec, "--auto-approve")
	if r.code != cli.ExitCloud || !strings.Contains(r.stderr, "azure_kubernetes_node_pool.ingest") {
		t.Fatalf("the apply with a failed pool: exit %d, want %d (cloud) naming the pool\nstderr:\n%s", r.code, cli.ExitCloud, r.stderr)
	}
	e.converge(2, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAzureMatchesState(azRegion)
	e.must(0, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}

// TestAzureLostReplies: ARM makes the object but the reply is lost (the
// connection drops after the operation ran, and the SDK retries the PUT,
// which meets the first attempt still running). The same apply adopts the
// object instead of failing or making a second one.
func TestAzureLostReplies(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"azure:resourceGroups.createOrUpdate", "azure:virtualNetworks.createOrUpdate", "azure:managedClusters.createOrUpdate", "azure:agentPools.createOrUpdate"} { // public IPs: TestAzureInCluster
		t.Run(op, func(t *testing.T) {
			e := newEnv(t, "azure.yaml", azRegistry, sandbox.Options{Faults: []sandbox.Fault{{Op: op, Kind: sandbox.FaultDropAfter, Nth: 1}}}, false)
			if runs := e.converge(3, "apply", "-f", e.spec, "--auto-approve"); runs != 1 {
				t.Errorf("apply needed %d runs; want 1 (a lost reply is absorbed by the apply that lost it)", runs)
			}
			e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
			e.assertAzureMatchesState(azRegion)
			e.must(0, "destroy", "-f", e.spec, "--auto-approve")
			e.assertEmpty()
		})
	}
}
