package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// eksCluster is the EKS cluster's address in examples/aws.yaml.
var eksCluster = providers.Address(region, aws.TypeEKSCluster, "main")

// assertNotReplaced checks that the apply after a client-side failure kept
// the cluster EKS had already made: state recorded it pending (never
// tainted), the rerun adopted it and destroyed nothing, and state holds
// the cluster created. (An EKS cluster's ID is its name, so only the
// absence of a replacement tells the old cluster from a new one.)
func (e *env) assertNotReplaced(failed *state.Resource, rerun result) {
	e.t.Helper()
	if failed.Status != state.StatusPending {
		e.t.Fatalf("after the failed apply the cluster is %s; want pending (tainted would replace a healthy cluster)", failed.Status)
	}
	if !strings.Contains(rerun.stdout, "~ "+eksCluster+" (adopting interrupted create)") {
		e.t.Errorf("the rerun does not adopt the cluster:\n%s", rerun.stdout)
	}
	if strings.Contains(rerun.stdout, eksCluster+": Destroying") || strings.Contains(rerun.stdout, "-/+ "+eksCluster) {
		e.t.Errorf("the rerun replaced the cluster:\n%s", rerun.stdout)
	}
	if got, _ := e.state(region).Find(eksCluster); got.ID == "" || got.Status != state.StatusCreated {
		e.t.Errorf("after the rerun the cluster is %s %q; want it created", got.Status, got.ID)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAWSMatchesState()
}

// clusterInState returns the cluster as the region's state records it.
func (e *env) clusterInState() *state.Resource {
	e.t.Helper()
	st := e.state(region)
	if st == nil {
		e.t.Fatal("no state after the failed apply")
	}
	r, ok := st.Find(eksCluster)
	if !ok {
		e.t.Fatalf("state has no %s after the failed apply", eksCluster)
	}
	return &r
}

// TestAWSAPIErrorsWhileClusterCreates: a burst of EKS 500s while the driver
// waits for a new cluster outlasts the SDK's retries, so that apply fails —
// but the cluster EKS is making is healthy: the next apply adopts it and
// replaces nothing. Before, the failed wait tainted the cluster and the
// next apply destroyed and recreated it.
func TestAWSAPIErrorsWhileClusterCreates(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	// Call 1 is the create's existence check; the burst hits the waiter's
	// polls (10 attempts each) and the check for a FAILED cluster after it.
	e := newAWSEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "eks:DescribeCluster", Kind: sandbox.FaultServerError, Nth: 2, Count: 12}}})
	e.smallSpec()
	r := e.run("apply", "-f", e.spec, "--auto-approve")
	if r.code != cli.ExitCloud || !strings.Contains(r.stderr, "aws_eks_cluster.main") {
		t.Fatalf("apply through the burst: exit %d, want %d (cloud) naming the cluster\nstdout:\n%s\nstderr:\n%s", r.code, cli.ExitCloud, r.stdout, r.stderr)
	}
	failed := e.clusterInState()
	if failed.ID == "" {
		t.Errorf("after the failed wait state has no ID for the cluster; want the one CreateCluster returned")
	}
	rerun := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.assertNotReplaced(failed, rerun)
	if !strings.Contains(rerun.stdout, " 0 destroyed.") {
		t.Errorf("the rerun destroyed something:\n%s", rerun.stdout)
	}
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// TestAWSSandboxRestartWhileClusterCreates: the cloud API goes away while
// an EKS cluster is being created (the sandbox is stopped as soon as the
// cluster exists, and served again after that apply gave up): the next
// apply adopts the cluster and replaces nothing. Whether the driver got
// CreateCluster's reply before the sandbox went (pending with the ID) or
// not (pending without, found by its key) depends on timing; neither may
// taint it. (Other objects interrupted half-way may still be replaced: an
// internet gateway made but not yet attached is adopted detached, and its
// vpc_id forces a replacement — the driver-side adoption of issue 16.)
func TestAWSSandboxRestartWhileClusterCreates(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	slow := map[string]time.Duration{"*": 20 * time.Millisecond, "eks:CreateCluster": 2 * time.Second}
	e := newAWSEnv(t, sandbox.Options{Latency: slow})
	e.smallSpec()
	done := make(chan result, 1)
	go func() { done <- e.run("apply", "-f", e.spec, "--auto-approve") }()
	e.awaitCluster("CREATING", done)
	e.stopSandbox()
	r := <-done
	if r.code != cli.ExitCloud {
		t.Fatalf("apply with the cloud gone: exit %d, want %d (cloud)\nstdout:\n%s\nstderr:\n%s", r.code, cli.ExitCloud, r.stdout, r.stderr)
	}
	failed := e.clusterInState()
	e.serve(sandbox.Options{Latency: slow})
	// Waiting for an adopted cluster that is still CREATING is the
	// driver's job (issue 16, not done yet): let it finish first.
	e.awaitCluster("ACTIVE", nil)
	e.assertNotReplaced(failed, e.must(0, "apply", "-f", e.spec, "--auto-approve"))
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// awaitCluster polls the emulated cloud until it holds the EKS cluster in
// the given state; it fails the test if done (a running apply) ends first.
func (e *env) awaitCluster(status string, done <-chan result) {
	e.t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, o := range e.objects() {
			if o.Type == "eks:cluster" && o.State == status {
				return
			}
		}
		select {
		case r := <-done:
			e.t.Fatalf("apply ended before the cluster was %s: exit %d\n%s\n%s", status, r.code, r.stdout, r.stderr)
		case <-tick.C:
		}
	}
}
