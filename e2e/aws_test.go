package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/local"
)

// region is metadata.name in examples/aws.yaml.
const region = "prod-us-east"

// latency makes every asynchronous operation of the emulator take a little
// time, so the driver's waiters really wait, without slowing the suite.
var latency = map[string]time.Duration{"*": 20 * time.Millisecond}

// env is one test's copy of examples/aws.yaml, state directory and running
// sandbox, all in t.TempDir().
type env struct {
	t                     *testing.T
	spec, stateDir, sbDir string
	stopSandbox           func()
}

// newEnv copies examples/aws.yaml into a temporary directory and serves a
// sandbox there with opts (Dir and, when unset, Latency are filled in).
func newEnv(t *testing.T, opts sandbox.Options) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, spec: filepath.Join(dir, "aws.yaml"), stateDir: filepath.Join(dir, "state"), sbDir: filepath.Join(dir, "sandbox")}
	example, err := os.ReadFile(filepath.Join("..", "examples", "aws.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The sandbox runs without Kubernetes API servers (NoKubernetes), so the
	// copy keeps only what the cloud APIs make: StorageClasses and load
	// balancer Services are in-cluster objects (aws_kube_test.go covers them).
	example, _, ok := bytes.Cut(example, []byte("  storageClasses:"))
	if !ok {
		t.Fatal("examples/aws.yaml has no storageClasses to trim")
	}
	if err := os.WriteFile(e.spec, example, 0o600); err != nil {
		t.Fatal(err)
	}
	opts.Dir = e.sbDir
	if opts.Latency == nil {
		opts.Latency = latency
	}
	opts.NoKubernetes = true // the CLI drives cloud APIs only; no kube-apiserver binaries needed
	e.stopSandbox = serveSandbox(t, opts)
	return e
}

// serveSandbox runs sandbox.Serve in a goroutine, as `regionctl sandbox up`
// would in its own process, and returns once sandbox.Running sees it answer.
// The CLI's --sandbox then finds it instead of starting one (which would
// execute the test binary). stop ends it (at the latest when the test ends).
func serveSandbox(t *testing.T, opts sandbox.Options) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var serveErr error
	go func() {
		defer close(done)
		serveErr = sandbox.Serve(ctx, opts)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			<-done
			if serveErr != nil {
				t.Errorf("sandbox.Serve: %v", serveErr)
			}
		})
	}
	t.Cleanup(stop)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !sandbox.Running(opts.Dir) {
		select {
		case <-done:
			t.Fatalf("the sandbox exited at start: %v", serveErr)
		case <-tick.C: // poll until endpoints.json is published and answers
		}
	}
	return stop
}

// restartSandbox stops the sandbox and serves its directory again with
// opts, as `sandbox down` and `sandbox up --config` would: the emulated cloud
// stays, the faults change.
func (e *env) restartSandbox(opts sandbox.Options) {
	e.t.Helper()
	e.stopSandbox()
	opts.Dir = e.sbDir
	if opts.Latency == nil {
		opts.Latency = latency
	}
	opts.NoKubernetes = true
	e.stopSandbox = serveSandbox(e.t, opts)
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs regionctl in-process, with the AWS driver, the test's state
// directory and --sandbox on the test's sandbox.
func (e *env) run(args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--state-dir", e.stateDir, "--sandbox", "--sandbox-dir", e.sbDir}, args...)
	code := cli.Main(full, cli.Config{
		Registry:   providers.Registry{"aws": aws.New},
		Stdin:      strings.NewReader(""),
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(string) string { return "" },
		IsTerminal: func(any) bool { return false },
	})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs regionctl and fails the test unless it exits with want.
func (e *env) must(want int, args ...string) result {
	e.t.Helper()
	r := e.run(args...)
	if r.code != want {
		e.t.Fatalf("regionctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// editSpec replaces old with new in the spec copy; old must be there once.
func (e *env) editSpec(old, new string) {
	e.t.Helper()
	b, err := os.ReadFile(e.spec)
	if err != nil {
		e.t.Fatal(err)
	}
	if n := bytes.Count(b, []byte(old)); n != 1 {
		e.t.Fatalf("spec has %d × %q, want 1", n, old)
	}
	if err := os.WriteFile(e.spec, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// state reads the region's state file (nil when there is none).
func (e *env) state() *state.State {
	e.t.Helper()
	st, err := local.New(e.stateDir).Read(context.Background(), region)
	if err != nil {
		e.t.Fatalf("read state: %v", err)
	}
	return st
}

// objects lists what the emulated cloud holds, read from its directory.
func (e *env) objects() []sandbox.Object {
	e.t.Helper()
	objs, err := sandbox.ListDir(e.sbDir)
	if err != nil {
		e.t.Fatalf("sandbox.ListDir: %v", err)
	}
	return objs
}

// implicit reports whether AWS made o on its own with something regionctl
// created (a VPC's main route table and default security group), so it is in
// no state. The driver names every table it creates (tag Name), so an unnamed
// table is a main one.
func implicit(o sandbox.Object) bool {
	return o.Type == "ec2:route-table" && o.Name == "" || o.Type == "ec2:security-group" && o.Name == "default"
}

// assertCloudMatchesState fails the test unless every object in the sandbox
// is known to state (its id, ARN or role id is the id or an output of a
// resource in state) or implicit, no object is there twice, `state list`
// lists exactly the state file's resources, and every resource state holds
// exists in the cloud.
func (e *env) assertCloudMatchesState() {
	e.t.Helper()
	for _, p := range e.cloudProblems() {
		e.t.Error(p)
	}
}

// cloudProblems lists every way the sandbox and state disagree (see
// assertCloudMatchesState).
func (e *env) cloudProblems() []string {
	e.t.Helper()
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	st := e.state()
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

// assertEmpty fails the test unless the sandbox holds nothing, by ListDir and
// by `regionctl sandbox ls`.
func (e *env) assertEmpty() {
	e.t.Helper()
	if objs := e.objects(); len(objs) != 0 {
		e.t.Errorf("the sandbox still holds %d objects: %+v", len(objs), objs)
	}
	if r := e.must(0, "sandbox", "ls"); !strings.Contains(r.stdout, "The sandbox is empty.") {
		e.t.Errorf("sandbox ls:\n%s", r.stdout)
	}
}

// snapshot is what the sandbox holds, one line per object, for comparing
// before and after a command that must change nothing.
func (e *env) snapshot() string {
	var b strings.Builder
	for _, o := range e.objects() {
		fmt.Fprintf(&b, "%s %s %s %s\n", o.Type, o.ID, o.Name, o.State)
	}
	return b.String()
}

// changeLines returns the plan's resource lines (not attribute lines) that
// start with sym ("~").
func changeLines(plan, sym string) []string {
	var out []string
	for _, l := range strings.Split(plan, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), sym+" "+region+"/") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}

// TestAWSLifecycle drives examples/aws.yaml through the CLI as a user would:
// apply, an empty plan, a pool scaled in place, a Kubernetes upgrade, a
// refused destroy of the protected region, and a destroy that leaves the
// sandbox empty.
func TestAWSLifecycle(t *testing.T) {
	t.Parallel() // each test has its own sandbox and state
	e := newEnv(t, sandbox.Options{})

	r := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	e.assertCloudMatchesState()
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
	if got := changeLines(r.stdout, "~"); len(got) != 1 || !strings.Contains(got[0], "aws_eks_node_group.system") {
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
	if got := changeLines(r.stdout, "~"); !slices.Equal(got, want) {
		t.Errorf("the upgrade plan updates %q, want %q:\n%s", got, want, r.stdout)
	}
	if n := strings.Count(r.stdout, `~ version: "1.33" → "1.34"`); n != 3 || strings.Count(r.stdout, "\n      ~ ") != 3 {
		t.Errorf("the upgrade plan changes more than the three versions:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.assertCloudMatchesState()

	// protect: true refuses a destroy without --allow-destroy and changes nothing.
	before, serial := e.snapshot(), e.state().Serial
	r = e.must(1, "destroy", "-f", e.spec, "--auto-approve")
	if !strings.Contains(r.stderr, "--allow-destroy") {
		t.Errorf("the refused destroy does not say how to proceed:\n%s", r.stderr)
	}
	if after := e.snapshot(); after != before {
		t.Errorf("a refused destroy changed the sandbox:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := e.state().Serial; got != serial {
		t.Errorf("a refused destroy wrote state (serial %d → %d)", serial, got)
	}

	r = e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
	if !strings.Contains(r.stdout, "Destroy complete!") {
		t.Fatalf("destroy output:\n%s", r.stdout)
	}
	e.assertEmpty()
	if r := e.must(0, "state", "list"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("state list after destroy:\n%s", r.stdout)
	}
}

// converge runs args (an apply or destroy with --auto-approve) until it
// succeeds, at most tries times, and returns how many runs it took. A run
// that faults may fail; the next one must pick up where it stopped.
func (e *env) converge(tries int, args ...string) int {
	e.t.Helper()
	var last result
	for i := 1; i <= tries; i++ {
		start := time.Now()
		last = e.run(args...)
		e.t.Logf("regionctl %s, run %d: exit %d after %v", args[0], i, last.code, time.Since(start).Round(time.Millisecond))
		if last.code == 0 {
			return i
		}
		e.t.Logf("stdout:\n%s\nstderr:\n%s", last.stdout, last.stderr)
	}
	e.t.Fatalf("regionctl %s did not succeed in %d runs; last:\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), tries, last.stdout, last.stderr)
	return tries
}

// smallSpec trims the example to two zones (newEnv already dropped the load
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
	e := newEnv(t, sandbox.Options{Seed: 42, Faults: []sandbox.Fault{{Op: "*", Kind: sandbox.FaultThrottle, Rate: 0.3}}})
	e.smallSpec()
	e.converge(3, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode", "--refresh=false")
	e.assertCloudMatchesState()
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
	e := newEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: "eks:CreateNodegroup", Kind: sandbox.FaultFail, Nth: 1}}})
	r := e.run("apply", "-f", e.spec, "--auto-approve")
	if r.code != 1 || !strings.Contains(r.stderr, "aws_eks_node_group") {
		t.Fatalf("the apply with a failed node group: exit %d, want 1 naming the node group\nstderr:\n%s", r.code, r.stderr)
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
	e.assertCloudMatchesState()
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
			e := newEnv(t, sandbox.Options{Faults: []sandbox.Fault{{Op: tt.op, Kind: sandbox.FaultDropAfter, Nth: 1}}})
			runs := e.converge(3, "apply", "-f", e.spec, "--auto-approve")
			t.Logf("apply converged in %d run(s)", runs)
			e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
			e.assertCloudMatchesState()
			e.must(0, "destroy", "-f", e.spec, "--auto-approve", "--allow-destroy")
			e.assertEmpty()
		})
	}
}
