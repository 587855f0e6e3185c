package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/sandbox"
)

// isolationEnv is a working directory with a copy of examples/aws.yaml (no
// in-cluster objects: the sandbox serves no API servers) and a sandbox
// served in-process in a sibling directory, used by the real binary.
type isolationEnv struct {
	work, spec, sbDir, home string
}

func newIsolationEnv(t *testing.T) *isolationEnv {
	t.Helper()
	root := t.TempDir()
	ie := &isolationEnv{work: filepath.Join(root, "work"), sbDir: filepath.Join(root, "sandbox"), home: filepath.Join(root, "home")}
	for _, d := range []string{ie.work, ie.home} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join("..", "examples", "aws.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	trimmed, _, _ := strings.Cut(string(b), "  storageClasses:")
	ie.spec = filepath.Join(ie.work, "aws.yaml")
	if err := os.WriteFile(ie.spec, []byte(trimmed), 0o600); err != nil {
		t.Fatal(err)
	}
	serveSandbox(t, sandbox.Options{Dir: ie.sbDir, NoKubernetes: true, Latency: latency})
	return ie
}

func (ie *isolationEnv) must(t *testing.T, want int, args ...string) runResult {
	t.Helper()
	r := runBinary(t, ie.work, cleanEnv(ie.home), args...)
	if r.code != want {
		t.Fatalf("regionctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, want, r.stdout, r.stderr)
	}
	return r
}

// TestSandboxPlanAppliedWithoutSandboxMakesNoNetworkCall is the safety
// contract of --sandbox, on the real binary: a plan made against the
// sandbox and applied without --sandbox (the line the old hint printed)
// reads no credentials, looks up no host and sends no request anywhere; it
// is refused with the target exit code and the command to run instead.
// The same harness, on a plan whose target is a real AWS account, sees the
// credential files read and the STS request sent, and a backend on
// "localhost" shows up as a host lookup: it would catch a leak.
func TestSandboxPlanAppliedWithoutSandboxMakesNoNetworkCall(t *testing.T) {
	ie := newIsolationEnv(t)
	plan := ie.must(t, 0, "plan", "--sandbox", "--sandbox-dir", ie.sbDir, "-f", "aws.yaml", "--out", "sandbox.plan")
	if !strings.Contains(plan.stdout, "--sandbox") {
		t.Errorf("the hint after plan --out does not carry --sandbox:\n%s", plan.stdout)
	}

	obs := newObserved(t)
	for _, args := range [][]string{
		{"apply", "sandbox.plan"},
		{"apply", "sandbox.plan", "--lock-timeout", "1m", "--parallelism", "3"},
	} {
		r := obs.run(ie.work, args...)
		if r.code != cli.ExitTarget {
			t.Errorf("regionctl %s: exit %d, want %d (target refused)\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, cli.ExitTarget, r.stdout, r.stderr)
		}
		for _, want := range []string{"refusing before reading any credentials", "--sandbox --sandbox-dir " + ie.sbDir} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("regionctl %s: the refusal does not say %q:\n%s", strings.Join(args, " "), want, r.stderr)
			}
		}
		if tr := obs.traces(r.stderr); len(tr) > 0 {
			t.Errorf("regionctl %s reached for a real cloud:\n  %s", strings.Join(args, " "), strings.Join(tr, "\n  "))
		}
	}
	if _, err := os.Stat(filepath.Join(ie.work, ".regionctl")); !os.IsNotExist(err) {
		t.Errorf("the refused apply created .regionctl in the working directory (err %v)", err)
	}

	// Another sandbox is refused too.
	other := t.TempDir()
	if r := obs.run(ie.work, "apply", "--sandbox", "--sandbox-dir", other, "sandbox.plan"); r.code != cli.ExitTarget || !strings.Contains(r.stderr, "holds no sandbox") {
		t.Errorf("apply into an empty sandbox dir: exit %d\n%s", r.code, r.stderr)
	}
	if tr := obs.traces(""); len(tr) > 0 {
		t.Errorf("apply into another sandbox reached for a real cloud: %v", tr)
	}

	// Controls: the harness sees a real target's credential lookup and
	// network call, and a host lookup.
	realPlan := filepath.Join(ie.work, "real.plan")
	retarget(t, filepath.Join(ie.work, "sandbox.plan"), realPlan, map[string]any{"account": "AWS account 123456789012"})
	r := obs.run(ie.work, "apply", "real.plan")
	tr := strings.Join(obs.traces(r.stderr), "\n")
	if r.code != cli.ExitCloud || !strings.Contains(tr, "credentials read: .aws") || !strings.Contains(tr, "network request: POST") {
		t.Errorf("control: applying a real plan should read ~/.aws, call STS (recorded) and exit %d; exit %d, traces:\n%s\nstderr:\n%s", cli.ExitCloud, r.code, tr, r.stderr)
	}
	backend := filepath.Join(ie.work, "s3.yaml")
	if err := os.WriteFile(backend, []byte("backend:\n  type: s3\n  bucket: b\n  endpoint: http://localhost:1\n  region: us-east-1\n  pathStyle: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = obs.run(ie.work, "state", "list", "--backend-config", backend)
	if tr := strings.Join(obs.traces(r.stderr), "\n"); !strings.Contains(tr, "DNS lookup") {
		t.Errorf("control: a backend on localhost should show a host lookup; traces:\n%s\nstderr:\n%s", tr, r.stderr)
	}
}

// retarget copies a plan file with every region's target replaced.
func retarget(t *testing.T, from, to string, target map[string]any) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	for _, r := range p["regions"].([]any) {
		r.(map[string]any)["target"] = target
	}
	out, _ := json.Marshal(p)
	if err := os.WriteFile(to, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSandboxHintAndStateLocation pastes the hint `plan --out` prints, as
// a user would, and checks where state went and that every command that
// reads it picks the same target: with --sandbox the sandbox's state,
// without it the real (empty) one; a real plan over the sandbox's state is
// refused before any credentials are read.
func TestSandboxHintAndStateLocation(t *testing.T) {
	ie := newIsolationEnv(t)
	plan := ie.must(t, 0, "plan", "--sandbox", "--sandbox-dir", ie.sbDir, "-f", "aws.yaml", "--out", "my plan.bin")
	_, hint, ok := strings.Cut(plan.stdout, "To apply exactly this plan, run:\n")
	hint = strings.TrimSpace(hint)
	if !ok || !strings.HasPrefix(hint, "regionctl apply ") {
		t.Fatalf("no hint after plan --out:\n%s", plan.stdout)
	}
	bin := t.TempDir()
	if err := os.Symlink(regionctlBinary(t), filepath.Join(bin, "regionctl")); err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", hint)
	sh.Dir = ie.work
	sh.Env = append(cleanEnv(ie.home), "PATH="+bin+":"+os.Getenv("PATH"))
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("pasting the hint %q: %v\n%s", hint, err, out)
	} else if !strings.Contains(string(out), "emulated; nothing real is changed") {
		t.Errorf("apply of a sandbox plan does not say what it targets:\n%s", out)
	}

	if _, err := os.Stat(filepath.Join(ie.sbDir, "state", region+".json")); err != nil {
		t.Errorf("sandbox state is not under the sandbox directory: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ie.work, ".regionctl", "state")); !os.IsNotExist(err) {
		t.Errorf("a sandbox apply wrote state in the real state directory (err %v)", err)
	}
	sb := []string{"--sandbox", "--sandbox-dir", ie.sbDir}
	if r := ie.must(t, 0, append([]string{"state", "list"}, sb...)...); !strings.Contains(r.stdout, region+"/aws_eks_cluster.main") {
		t.Errorf("state list --sandbox:\n%s", r.stdout)
	}
	if r := ie.must(t, 0, "state", "list"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("state list without --sandbox lists sandbox resources:\n%s", r.stdout)
	}
	if r := ie.must(t, 0, append([]string{"show"}, sb...)...); !strings.Contains(r.stdout, "# region "+region) {
		t.Errorf("show --sandbox:\n%s", r.stdout)
	}
	if r := ie.must(t, 0, "show"); !strings.Contains(r.stdout, "No state") {
		t.Errorf("show without --sandbox:\n%s", r.stdout)
	}
	if r := runBinary(t, ie.work, cleanEnv(ie.home), "kubeconfig", region); r.code == 0 || !strings.Contains(r.stderr, "has no state in .regionctl/state") {
		t.Errorf("kubeconfig without --sandbox: exit %d\n%s", r.code, r.stderr)
	}
	out := ie.must(t, 0, append([]string{"output", region, "--json"}, sb...)...)
	var doc struct {
		Regions []struct {
			Cluster   struct{ Name, KubeconfigCommand string }
			NodePools []string
		}
	}
	if err := json.Unmarshal([]byte(out.stdout), &doc); err != nil || len(doc.Regions) != 1 {
		t.Fatalf("output --json: %v\n%s", err, out.stdout)
	}
	if got := doc.Regions[0]; got.Cluster.Name == "" || len(got.NodePools) != 2 || !strings.Contains(got.Cluster.KubeconfigCommand, "--sandbox") {
		t.Errorf("output --sandbox --json: %+v", got)
	}

	// A real run pointed at the sandbox's state is refused before it
	// builds a driver.
	obs := newObserved(t)
	r := obs.run(ie.work, "plan", "-f", "aws.yaml", "--state-dir", filepath.Join(ie.sbDir, "state"))
	if r.code != cli.ExitTarget || !strings.Contains(r.stderr, "the state (region "+region+") was made against the sandbox") {
		t.Errorf("real plan over sandbox state: exit %d\n%s", r.code, r.stderr)
	}
	if tr := obs.traces(r.stderr); len(tr) > 0 {
		t.Errorf("real plan over sandbox state reached for a real cloud: %v", tr)
	}
}

// TestValidateIsOffline runs the README's first command, validate of every
// example (three clouds), in the observed environment: it passes, and reads
// no credentials, looks up no host and sends nothing.
func TestValidateIsOffline(t *testing.T) {
	obs := newObserved(t)
	examples, err := filepath.Abs(filepath.Join("..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range [][]string{obs.env, cleanEnv(t.TempDir())} {
		r := runBinary(t, t.TempDir(), env, "validate", "-f", examples)
		if r.code != 0 || !strings.Contains(r.stdout, "region(s) valid") {
			t.Errorf("validate -f examples/: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "warning") || strings.Contains(r.stderr, "error") {
			t.Errorf("validate of the examples printed diagnostics:\n%s", r.stderr)
		}
	}
	if tr := obs.traces(""); len(tr) > 0 {
		t.Errorf("validate reached for a cloud:\n  %s", strings.Join(tr, "\n  "))
	}
	if r := runBinary(t, t.TempDir(), obs.env, "drivers"); r.code != 0 {
		t.Errorf("drivers: exit %d\n%s", r.code, r.stderr)
	} else if tr := obs.traces(r.stderr); len(tr) > 0 {
		t.Errorf("drivers reached for a cloud:\n  %s", strings.Join(tr, "\n  "))
	}
}
