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
	if err := os.WriteFile(e.spec, example, 0o600); err != nil {
		t.Fatal(err)
	}
	opts.Dir = e.sbDir
	if opts.Latency == nil {
		opts.Latency = latency
	}
	serveSandbox(t, opts)
	return e
}

// serveSandbox runs sandbox.Serve in a goroutine, as `regionctl sandbox up`
// would in its own process, until the test ends, and returns once
// sandbox.Running sees it answer. The CLI's --sandbox then finds it instead
// of starting one (which would execute the test binary).
func serveSandbox(t *testing.T, opts sandbox.Options) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var serveErr error
	go func() {
		defer close(done)
		serveErr = sandbox.Serve(ctx, opts)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if serveErr != nil {
			t.Errorf("sandbox.Serve: %v", serveErr)
		}
	})
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !sandbox.Running(opts.Dir) {
		select {
		case <-done:
			t.Fatalf("the sandbox exited at start: %v", serveErr)
		case <-tick.C: // poll until endpoints.json is published and answers
		}
	}
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
	st := e.state()
	if st == nil {
		e.t.Fatal("no state after apply")
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
		e.t.Errorf("state list = %v, state file has %v", listed, addrs)
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
			e.t.Errorf("leak: the sandbox holds %s %s (%s, %s) but state does not know it", o.Type, o.ID, o.Name, o.State)
			continue
		}
		byAddr[addr] = append(byAddr[addr], o.ID)
	}
	for addr, ids := range byAddr {
		if len(ids) > 1 {
			e.t.Errorf("duplicate: %d objects for %s: %v", len(ids), addr, ids)
		}
	}
	if implicitTables != vpcs || implicitSGs != vpcs {
		e.t.Errorf("%d VPCs but %d main route tables and %d default security groups", vpcs, implicitTables, implicitSGs)
	}
	for _, r := range st.Resources {
		if r.Status == state.StatusCreated && !inCloud[r.ID] {
			e.t.Errorf("state holds %s = %s but the sandbox does not", r.Address, r.ID)
		}
	}
	if len(byAddr) == 0 {
		e.t.Error("the sandbox holds nothing regionctl created")
	}
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
