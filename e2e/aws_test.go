package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
)

// region is metadata.name in examples/aws.yaml.
const region = "prod-us-east"

// awsRegistry runs the CLI with the AWS driver only.
var awsRegistry = providers.Registry{"aws": aws.New}

// newAWSEnv is newEnv on examples/aws.yaml with the AWS driver. The sandbox
// runs without Kubernetes API servers, so the copy keeps only what the cloud
// APIs make (aws_kube_test.go covers the in-cluster objects).
func newAWSEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	return newEnv(t, "aws.yaml", awsRegistry, opts, false)
}

// implicit reports whether AWS made o on its own with something regionctl
// created (a VPC's main route table and default security group), so it is in
// no state. The driver names every table it creates (tag Name), so an unnamed
// table is a main one.
func implicit(o sandbox.Object) bool {
	return o.Type == "ec2:route-table" && o.Name == "" || o.Type == "ec2:security-group" && o.Name == "default"
}

// assertAWSMatchesState fails the test unless every object in the sandbox
// is known to state (its id, ARN or role id is the id or an output of a
// resource in state) or implicit, no object is there twice, `state list`
// lists exactly the state file's resources, and every resource state holds
// exists in the cloud.
func (e *env) assertAWSMatchesState() {
	e.t.Helper()
	for _, p := range e.cloudProblems() {
		e.t.Error(p)
	}
}

// cloudProblems lists every way the sandbox and state disagree (see
// assertAWSMatchesState).
func (e *env) cloudProblems() []string {
	e.t.Helper()
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	st := e.state(region)
	if st == nil {
		return []string{"no state"}
	}
	// id, ARN or role id → the address that owns it; an EKS cluster also
	// owns the security group EKS made for it.
	known := map[string]string{}
	var addrs []string
	for _, r := range st.Resources {
		addrs = append(addrs, r.Address)
		if r.ID != "" {
			known[r.ID] = r.Address
		}
		for _, k := range []string{"id", "arn", "role_id"} {
			if v, ok := r.Outputs[k].(string); ok && v != "" {
				known[v] = r.Address
			}
		}
		if v, ok := r.Outputs["cluster_security_group_id"].(string); ok && v != "" {
			known[v] = r.Address + " (its cluster security group)"
		}
	}
	listed := strings.Fields(e.must(0, "state", "list").stdout)
	sort.Strings(addrs)
	sort.Strings(listed)
	if !slices.Equal(addrs, listed) {
		report("state list = %v, state file has %v", listed, addrs)
	}

	objs := e.objects()
	inCloud := map[string]bool{}
	byAddr := map[string][]string{}
	vpcs, implicitTables, implicitSGs := 0, 0, 0
	for _, o := range objs {
		inCloud[o.ID], inCloud[o.Name] = true, true
		switch {
		case o.Type == "ec2:vpc":
			vpcs++
		case implicit(o) && o.Type == "ec2:route-table":
			implicitTables++
			continue
		case implicit(o):
			implicitSGs++
			continue
		}
		addr, ok := known[o.ID]
		if !ok {
			report("leak: the sandbox holds %s %s (%s, %s) but state does not know it", o.Type, o.ID, o.Name, o.State)
			continue
		}
		byAddr[addr] = append(byAddr[addr], o.ID)
	}
	for addr, ids := range byAddr {
		if len(ids) > 1 {
			report("duplicate: %d objects for %s: %v", len(ids), addr, ids)
		}
	}
	if implicitTables != vpcs || implicitSGs != vpcs {
		report("%d VPCs but %d main route tables and %d default security groups", vpcs, implicitTables, implicitSGs)
	}
	for _, r := range st.Resources {
		if r.Status == state.StatusCreated && !inCloud[r.ID] {
			report("state holds %s = %s but the sandbox does not", r.Address, r.ID)
		}
	}
	if len(byAddr) == 0 {
		report("the sandbox holds nothing regionctl created")
	}
	return problems
}

// TestAWSLifecycle drives examples/aws.yaml through the CLI as a user would:
// apply, an empty plan, a pool scaled in place, a Kubernetes upgrade, a
// refused destroy of the protected region, and a destroy that leaves the
// sandbox empty.
func TestAWSLifecycle(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	e := newAWSEnv(t, sandbox.Options{})

	r := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	e.assertAWSMatchesState()
	r = e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("the plan after apply is not empty:\n%s", r.stdout)
	}

	// Scaling a pool is one in-place update of its node group.
	e.editSpec("max: 6", "max: 9")
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "0 to add, 1 to change, 0 to destroy") {
		t.Fatalf("the scale plan is not one in-place update:\n%s", r.stdout)
	}
	if got := changeLines(r.stdout, region, "~"); len(got) != 1 || !strings.Contains(got[0], "aws_eks_node_group.system") {
		t.Fatalf("the scale plan updates %q, want the system node group:\n%s", got, r.stdout)
	}
	r = e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("apply of the scale:\n%s", r.stdout)
	}
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")

	// Upgrading Kubernetes one minor updates the cluster in place, and the
	// node groups follow it in the same apply (docs/providers/aws.md), each
	// changing only its version.
	e.editSpec(`kubernetesVersion: "1.33"`, `kubernetesVersion: "1.34"`)
	r = e.must(2, "plan", "-f", e.spec, "--detailed-exitcode")
	if !strings.Contains(r.stdout, "0 to add, 3 to change, 0 to destroy") {
		t.Errorf("the upgrade plan is not three in-place updates:\n%s", r.stdout)
	}
	want := []string{"~ " + region + "/aws_eks_cluster.main", "~ " + region + "/aws_eks_node_group.system", "~ " + region + "/aws_eks_node_group.ingest"}
	if got := changeLines(r.stdout, region, "~"); !slices.Equal(got, want) {
		t.Errorf("the upgrade plan updates %q, want %q:\n%s", got, want, r.stdout)
	}
	if n := strings.Count(r.stdout, `~ version: "1.33" → "1.34"`); n != 3 || strings.Count(r.stdout, "\n      ~ ") != 3 {
		t.Errorf("the upgrade plan changes more than the three versions:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAWSMatchesState()

	e.destroyToEmpty(region, true)
}

// smallSpec trims the example to two zones (newAWSEnv already dropped the load
// balancers), so a run makes fewer calls: the throttled test's SDK retryer
// slows every call down.
func (e *env) smallSpec() {
	e.t.Helper()
	e.editSpec("zones: 3", "zones: 2")
}

// TestAWSThrottled: with 30% of all AWS calls throttled (EC2
// RequestLimitExceeded, IAM Throttling, EKS ThrottlingException), apply
// converges — the SDK's adaptive retryer absorbs the throttling, or a rerun
// continues — to an empty plan, with nothing leaked or duplicated, and
// destroy empties the sandbox.
func TestAWSThrottled(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	e := newAWSEnv(t, sandbox.Options{Seed: 42, Faults: []sandbox.Fault{{Op: "*", Kind: sandbox.FaultThrottle, Rate: 0.3}}})
	e.smallSpec()
	events := filepath.Join(t.TempDir(), "events.jsonl")
	e.converge(3, "--events-file", events, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode", "--refresh=false")
	e.assertAWSMatchesState()
	// The SDK's retries of throttled calls are in the event stream.
	if b, err := os.ReadFile(events); err != nil || !strings.Contains(string(b), `"type":"retry"`) || !strings.Contains(string(b), "Throttl") {
		t.Errorf("no retry event for a throttled call in --events-file (err %v)", err)
	}
	// The throttled client paces itself down to about one call a second, so
	// the refreshing plan and the destroy run on a sandbox restarted
	// without faults, on the same emulated cloud.
	e.restartSandbox(sandbox.Options{})
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// TestAWSFailedNodeGroup: the first node group EKS creates ends
// CREATE_FAILED. That apply fails (the driver deletes the failed group and
// records nothing); one rerun must create it again and converge, leaving
// nothing behind.
func TestAWSFailedNodeGroup(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	e := newAWSEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "eks:CreateNodegroup", Kind: sandbox.FaultFail, Nth: 1}}})
	r := e.run("apply", "-f", e.spec, "--auto-approve")
	if r.code != cli.ExitCloud || !strings.Contains(r.stderr, "aws_eks_node_group") {
		t.Fatalf("the apply with a failed node group: exit %d, want %d (cloud) naming the node group\nstderr:\n%s", r.code, cli.ExitCloud, r.stderr)
	}
	if !strings.Contains(r.stderr, "deleted the failed EKS node group") {
		t.Errorf("the failed apply does not say the failed node group was deleted:\n%s", r.stderr)
	}
	for _, o := range e.objects() {
		if o.Type == "eks:nodegroup" && o.State != "ACTIVE" {
			t.Errorf("after the failed apply the sandbox holds node group %s in state %s; want it deleted", o.Name, o.State)
		}
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertAWSMatchesState()
	e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	e.assertEmpty()
}

// TestAWSLostReplies: the cloud makes an object but the reply is lost (the
// connection drops after the operation ran, and the SDK retries the call).
// Reruns of apply must converge without a second object for anything.
func TestAWSLostReplies(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	tests := []struct {
		name string
		op   string
	}{
		{"vpc", "ec2:CreateVpc"},
		{"subnet", "ec2:CreateSubnet"},
		{"internet gateway", "ec2:CreateInternetGateway"},
		{"elastic ip", "ec2:AllocateAddress"},
		{"security group", "ec2:CreateSecurityGroup"},
		{"route table", "ec2:CreateRouteTable"},
		{"nat gateway", "ec2:CreateNatGateway"},
		{"iam role", "iam:CreateRole"},
		{"cluster", "eks:CreateCluster"},
		{"node group", "eks:CreateNodegroup"},
		{"add-on", "eks:CreateAddon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAWSEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: tt.op, Kind: sandbox.FaultDropAfter, Nth: 1}}})
			runs := e.converge(3, "apply", "-f", e.spec, "--auto-approve")
			t.Logf("apply converged in %d run(s)", runs)
			e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
			e.assertAWSMatchesState()
			e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
			e.assertEmpty()
		})
	}
}
