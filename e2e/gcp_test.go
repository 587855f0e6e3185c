package e2e

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/providers/kubernetes"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// gcpRegion is metadata.name in examples/gcp.yaml.
const gcpRegion = "prod-eu-west"

// gcpRegistry runs the CLI with the GCP driver only.
var gcpRegistry = providers.Registry{"gcp": gcp.New}

// newGCPEnv is newEnv on examples/gcp.yaml with the GCP driver (withKube
// also requires kube-apiserver binaries and kubectl). Kubernetes 1.34 is
// offered only in GKE's rapid channel (1.33 is the regular channel's
// newest), so the copy enrolls the cluster in rapid: the lifecycle test
// upgrades 1.33 → 1.34.
func newGCPEnv(t *testing.T, opts sandbox.Options, withKube bool) *env {
	t.Helper()
	if withKube {
		requireKube(t)
	}
	e := newEnv(t, "gcp.yaml", gcpRegistry, opts, withKube)
	e.editSpec("  protect: true\n", "  protect: true\n  overrides:\n    gcp:\n      releaseChannel: rapid\n")
	return e
}

// gcpObjectID is the sandbox's ID of the object a state resource names:
// Compute objects by project, region and name, GKE objects by their
// resource path (a node pool's state ID is "name@cluster-uid").
func gcpObjectID(r state.Resource) string {
	in := func(k string) string { s, _ := r.Inputs[k].(string); return s }
	switch r.Type {
	case gcp.TypeNetwork:
		return "projects/" + in("project") + "/global/networks/" + r.ID
	case gcp.TypeSubnetwork:
		return "projects/" + in("project") + "/regions/" + in("region") + "/subnetworks/" + r.ID
	case gcp.TypeRouter:
		return "projects/" + in("project") + "/regions/" + in("region") + "/routers/" + r.ID
	case gcp.TypeAddress:
		return "projects/" + in("project") + "/regions/" + in("region") + "/addresses/" + r.ID
	case gcp.TypeCluster:
		return "projects/" + in("project") + "/locations/" + in("location") + "/clusters/" + r.ID
	case gcp.TypeNodePool:
		name, _, _ := strings.Cut(r.ID, "@")
		return "projects/" + in("project") + "/locations/" + in("location") + "/clusters/" + in("cluster") + "/nodePools/" + name
	}
	return "unknown type " + r.Type
}

// assertGCPMatchesState fails the test unless every object in the sandbox
// is exactly one resource in state (no leak, no duplicate, no bootstrap
// pool left), `state list` lists the state file, and every created
// resource in state exists.
func (e *env) assertGCPMatchesState() {
	e.t.Helper()
	st := e.state(gcpRegion)
	if st == nil {
		e.t.Fatal("no state after apply")
	}
	known := map[string]string{}
	var addrs []string
	for _, r := range st.Resources {
		addrs = append(addrs, r.Address)
		// In-cluster objects are no cloud objects, nor are IAM grants
		// (members of a project's policy).
		if r.Status == state.StatusCreated && !kubernetes.Handles(r.Type) && r.Type != gcp.TypeProjectIAMMember {
			known[gcpObjectID(r)] = r.Address
		}
	}
	listed := strings.Fields(e.must(0, "state", "list").stdout)
	sort.Strings(addrs)
	sort.Strings(listed)
	if !slices.Equal(addrs, listed) {
		e.t.Errorf("state list = %v, state file has %v", listed, addrs)
	}
	inCloud := map[string]bool{}
	for _, o := range e.objects() {
		inCloud[o.ID] = true
		if _, ok := known[o.ID]; !ok {
			e.t.Errorf("leak: the sandbox holds %s %s (%s) but state does not know it", o.Type, o.ID, o.State)
		}
	}
	for id, addr := range known {
		if !inCloud[id] {
			e.t.Errorf("state holds %s = %s but the sandbox does not", addr, id)
		}
	}
	if len(known) == 0 {
		e.t.Error("the sandbox holds nothing regionctl created")
	}
}

// TestGCPLifecycle drives examples/gcp.yaml through the CLI as a user
// would: apply, an empty plan, a pool scaled in place (one update), a
// Kubernetes upgrade of one minor, a refused destroy of the protected
// region, and a destroy that leaves the sandbox empty.
func TestGCPLifecycle(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	e := newGCPEnv(t, sandbox.Options{}, false)

	r := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	e.assertGCPMatchesState()
	r = e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("the plan after apply is not empty:\n%s", r.stdout)
	}

	// Scaling a pool (max 6 → 9 across 3 zones: 2 → 3 per zone) is one
	// in-place update of its node pool.
	e.editSpec("max: 6", "max: 9")
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "0 to add, 1 to change, 0 to destroy") {
		t.Fatalf("the scale plan is not one in-place update:\n%s", r.stdout)
	}
	if got := changeLines(r.stdout, gcpRegion, "~"); len(got) != 1 || !strings.Contains(got[0], "gcp_container_node_pool.system") {
		t.Fatalf("the scale plan updates %q, want the system node pool:\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stdout, "max_node_count: 2 → 3") {
		t.Errorf("the scale plan does not show the per-zone maximum 2 → 3:\n%s", r.stdout)
	}
	r = e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("apply of the scale:\n%s", r.stdout)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// Upgrading Kubernetes one minor updates the cluster in place, and the
	// node pools follow it in the same apply, each changing only its version.
	e.editSpec(`kubernetesVersion: "1.33"`, `kubernetesVersion: "1.34"`)
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "0 to add, 3 to change, 0 to destroy") {
		t.Errorf("the upgrade plan is not three in-place updates:\n%s", r.stdout)
	}
	want := []string{"~ " + gcpRegion + "/gcp_container_cluster.main", "~ " + gcpRegion + "/gcp_container_node_pool.system", "~ " + gcpRegion + "/gcp_container_node_pool.ingest"}
	if got := changeLines(r.stdout, gcpRegion, "~"); !slices.Equal(got, want) {
		t.Errorf("the upgrade plan updates %q, want %q:\n%s", got, want, r.stdout)
	}
	if n := strings.Count(r.stdout, `~ version: "1.33" → "1.34"`); n != 3 || strings.Count(r.stdout, "\n      ~ ") != 3 {
		t.Errorf("the upgrade plan changes more than the three versions:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertGCPMatchesState()

	e.destroyToEmpty(gcpRegion, true)
}

// TestGCPThrottled: with 30% of all GCP calls throttled (Compute 429
// rateLimitExceeded, GKE RESOURCE_EXHAUSTED), apply converges to an empty
// plan with nothing leaked or duplicated, its retries are in the event
// stream, and destroy empties the sandbox.
func TestGCPThrottled(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	e := newGCPEnv(t, sandbox.Options{Seed: 42, Faults: []sandbox.Fault{{Op: "*", Kind: sandbox.FaultThrottle, Rate: 0.3}}}, false)
	events := filepath.Join(t.TempDir(), "events.jsonl")
	runs := e.converge(3, "--events-file", events, "apply", "-f", e.spec, "--auto-approve")
	t.Logf("apply converged in %d run(s)", runs)
	// The driver's retries of throttled calls are in the event stream.
	e.assertRetryEvents(events, "Error 429", "ResourceExhausted")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertGCPMatchesState()
	e.converge(3, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// TestGCPFailedOperation: one long-running operation ends in error (GKE
// DONE with an error status; Compute DONE with errors). That apply fails
// naming the resource; a rerun converges, and nothing is leaked — the
// driver deletes what a failed GKE create left in ERROR.
func TestGCPFailedOperation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, op, typ string
	}{
		{"cluster", "container:CreateCluster", gcp.TypeCluster},
		{"node pool", "container:CreateNodePool", gcp.TypeNodePool},
		{"subnetwork", "compute:subnetworks.insert", gcp.TypeSubnetwork},
		{"address", "compute:addresses.insert", gcp.TypeAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Only load balancers reserve addresses, and their Services
			// need an API server.
			e := newGCPEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: tt.op, Kind: sandbox.FaultFail, Nth: 1}}}, tt.typ == gcp.TypeAddress)
			r := e.run("apply", "-f", e.spec, "--auto-approve")
			if r.code != cli.ExitCloud || !strings.Contains(r.stderr, tt.typ) {
				t.Fatalf("the apply with a failed %s: exit %d, want %d (cloud) naming %s\nstdout:\n%s\nstderr:\n%s", tt.op, r.code, cli.ExitCloud, tt.typ, r.stdout, r.stderr)
			}
			runs := e.converge(2, "apply", "-f", e.spec, "--auto-approve")
			t.Logf("the rerun converged in %d run(s)", runs)
			e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
			e.assertGCPMatchesState()
			e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
			e.assertEmpty()
		})
	}
}

// TestGCPLostReplies: the cloud makes an object but the reply is lost (the
// connection drops after the call ran). Reruns of apply adopt it — Compute
// inserts carry a requestId and every object carries the idempotency key —
// instead of making a second one.
func TestGCPLostReplies(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"compute:networks.insert", "compute:routers.insert", "compute:addresses.insert", "container:CreateCluster", "container:CreateNodePool"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			e := newGCPEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: op, Kind: sandbox.FaultDropAfter, Nth: 1}}}, op == "compute:addresses.insert")
			runs := e.converge(3, "apply", "-f", e.spec, "--auto-approve")
			t.Logf("apply converged in %d run(s)", runs)
			e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
			e.assertGCPMatchesState()
			e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
			e.assertEmpty()
		})
	}
}
