package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runAs runs regionctl in-process like env.run, with environment variables
// and a terminal answer of the test's choosing.
func (e *env) runAs(vars map[string]string, terminal bool, args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--state-dir", filepath.Join(e.dir, "state")}, args...)
	code := Main(full, Config{
		Registry:   memRegistry(e.cloud, ""),
		Stdin:      strings.NewReader(""),
		Stdout:     &out,
		Stderr:     &errb,
		Getenv:     func(k string) string { return vars[k] },
		IsTerminal: func(any) bool { return terminal },
	})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// runJob runs regionctl as its own process in dir, as a CI job on another
// machine would: it shares only the state directory and the (fake) cloud
// with the test, and has CI=true.
func (e *env) runJob(dir string, args ...string) result {
	e.t.Helper()
	full := append([]string{"--state-dir", filepath.Join(e.dir, "state")}, args...)
	cmd := exec.Command(os.Args[0], full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), envHelper+"=1", envCloudFile+"="+filepath.Join(e.dir, "cloud.json"), "CI=true")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	watchdog := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		e.t.Fatalf("run regionctl: %v", err)
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestPlanFormats(t *testing.T) {
	e := newEnv(t)
	planFile := filepath.Join(e.dir, "a.plan")
	md := e.must(2, "plan", "-f", e.specPath(), "--format", "markdown", "--detailed-exitcode", "--out", planFile)
	if !strings.HasPrefix(md.stdout, "**regionctl plan:** ") || !strings.Contains(md.stdout, "### test-east (mem): ") {
		t.Errorf("plan --format markdown:\n%s", md.stdout)
	}
	if strings.Contains(md.stdout, "Saved the plan") {
		t.Errorf("the markdown (a pull-request comment) holds the human hint about the plan file:\n%s", md.stdout)
	}
	if show := e.must(0, "show", planFile, "--format", "markdown"); show.stdout != md.stdout {
		t.Errorf("show PLANFILE --format markdown differs from plan --format markdown:\n%s\n---\n%s", show.stdout, md.stdout)
	}
	asJSON := e.must(0, "show", planFile, "--json")
	if f := e.must(0, "show", planFile, "--format", "json"); f.stdout != asJSON.stdout || !strings.Contains(f.stdout, `"format_version"`) {
		t.Errorf("--json and --format json differ:\n%s\n---\n%s", asJSON.stdout, f.stdout)
	}
	if h := e.must(0, "show", planFile); !strings.Contains(h.stdout, "Plan: ") {
		t.Errorf("show PLANFILE is not the human rendering by default:\n%s", h.stdout)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"plan", "-f", e.specPath(), "--format", "yaml"}, `"yaml" is not a format: use one of human, json, markdown`},
		{"json disagrees", []string{"show", planFile, "--json", "--format", "markdown"}, "--json and --format markdown disagree"},
		{"markdown of state", []string{"show", "--format", "markdown"}, "--format markdown shows a plan file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.must(1, tt.args...)
			if !strings.Contains(r.stderr, tt.want) {
				t.Errorf("stderr lacks %q:\n%s", tt.want, r.stderr)
			}
		})
	}
	if n := len(e.cloud.Objects()); n != 0 {
		t.Errorf("planning and showing created %d objects", n)
	}
}

var (
	ansi          = regexp.MustCompile("\x1b\\[")
	progressLine  = regexp.MustCompile(`(Creating|Modifying|Destroying|Applying)\.\.\.$|complete after |Still .*elapsed|failed after |Skipped: `)
	timestampHead = regexp.MustCompile(`^(\S+) `)
)

// TestCIModeOutput: under CI=true, even when the streams look like a
// terminal, nothing is coloured and every progress line starts with an
// RFC 3339 timestamp.
func TestCIModeOutput(t *testing.T) {
	e := newEnv(t)
	// The control: on a terminal outside CI the plan is coloured, so the
	// absence of colour below is CI's doing.
	if r := e.runAs(nil, true, "plan", "-f", e.specPath()); !ansi.MatchString(r.stdout) {
		t.Fatalf("a plan on a terminal outside CI has no colour:\n%s", r.stdout)
	}
	r := e.runAs(map[string]string{"CI": "true"}, true, "apply", "-f", e.specPath(), "--auto-approve")
	if r.code != 0 {
		t.Fatalf("apply under CI: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if ansi.MatchString(r.stdout) || ansi.MatchString(r.stderr) {
		t.Errorf("output under CI=true holds ANSI escapes:\n%q\n%q", r.stdout, r.stderr)
	}
	progress := 0
	for _, l := range strings.Split(r.stdout, "\n") {
		if !progressLine.MatchString(l) {
			continue
		}
		progress++
		m := timestampHead.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("progress line without a timestamp: %q", l)
			continue
		}
		if _, err := time.Parse(time.RFC3339, m[1]); err != nil {
			t.Errorf("progress line does not start with an RFC 3339 timestamp: %q (%v)", l, err)
		}
	}
	if progress == 0 {
		t.Fatalf("apply printed no progress lines:\n%s", r.stdout)
	}
	if r := e.runAs(map[string]string{"CI": "true"}, true, "destroy", "-f", e.specPath(), "--auto-approve"); r.code != 0 || ansi.MatchString(r.stdout) {
		t.Errorf("destroy under CI: exit %d, stdout:\n%q", r.code, r.stdout)
	}
}

// TestCIApplyNeedsAutoApprove: under CI=true apply never prompts, even with
// a terminal attached, and says how to proceed.
func TestCIApplyNeedsAutoApprove(t *testing.T) {
	e := newEnv(t)
	ci := map[string]string{"CI": "true"}
	refused := func(args ...string) {
		t.Helper()
		r := e.runAs(ci, true, args...)
		if r.code != 1 {
			t.Fatalf("%s under CI without --auto-approve: exit %d\n%s", args[0], r.code, r.stdout)
		}
		for _, want := range []string{"CI=true", "--auto-approve", "apply FILE"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s refusal does not mention %q:\n%s", args[0], want, r.stderr)
			}
		}
		if strings.Contains(r.stdout, "Enter a value") {
			t.Errorf("%s prompted under CI:\n%s", args[0], r.stdout)
		}
	}
	refused("apply", "-f", e.specPath())
	if n := len(e.cloud.Objects()); n != 0 {
		t.Fatalf("an unapproved apply under CI created %d objects", n)
	}
	if r := e.runAs(ci, true, "apply", "-f", e.specPath(), "--auto-approve"); r.code != 0 {
		t.Fatalf("apply --auto-approve under CI: exit %d\n%s", r.code, r.stderr)
	}
	n := len(e.cloud.Objects())
	refused("destroy", "-f", e.specPath())
	if got := len(e.cloud.Objects()); got != n {
		t.Fatalf("an unapproved destroy under CI changed the cloud: %d objects, then %d", n, got)
	}
}

// jobDir makes an empty working directory holding only a copy of the plan
// file, as a later CI job that downloaded the plan artifact has.
func jobDir(t *testing.T, planFile string) (dir, copied string) {
	t.Helper()
	dir = t.TempDir()
	b, err := os.ReadFile(planFile)
	if err != nil {
		t.Fatal(err)
	}
	copied = filepath.Join(dir, "regionctl.plan")
	if err := os.WriteFile(copied, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, copied
}

// TestPlanFileAppliesInAnotherJob: the plan file is self-contained: a job
// in a fresh directory, with no spec, applies it against the shared state.
func TestPlanFileAppliesInAnotherJob(t *testing.T) {
	e := newEnv(t)
	planFile := filepath.Join(e.dir, "job1.plan")
	e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode", "--out", planFile)
	specs := e.specPath()
	if err := os.Rename(specs, specs+".gone"); err != nil { // nothing can read the spec now
		t.Fatal(err)
	}

	dir, copied := jobDir(t, planFile)
	r := e.runJob(dir, "apply", "regionctl.plan")
	if r.code != 0 {
		t.Fatalf("apply PLANFILE in a directory without specs: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	e.assertCloudMatchesState("test-east")
	if err := os.Rename(specs+".gone", specs); err != nil {
		t.Fatal(err)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if _, err := os.Stat(copied); err != nil {
		t.Fatal(err)
	}
}

// TestStalePlanRefusedInAnotherJob: job 1 plans on a pull request; another
// merge applies a different change; job 2, on another machine with only
// the plan file and the state backend, is refused with the resources that
// changed, and changes nothing.
func TestStalePlanRefusedInAnotherJob(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")

	e.editSpec("min: 3, max: 6", "min: 3, max: 8")
	planFile := filepath.Join(e.dir, "pr1.plan")
	e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode", "--out", planFile)

	// Pull request 2 merges first and its apply lands.
	e.editSpec("min: 3, max: 8", "min: 4, max: 6")
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	before := e.cloud.Objects()

	dir, _ := jobDir(t, planFile)
	r := e.runJob(dir, "apply", "regionctl.plan")
	if r.code != ExitStale { // a pipeline replans on this code
		t.Fatalf("a stale plan was not refused with exit %d: exit %d\n%s\n%s", ExitStale, r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"stale", "test-east", "test-east/mem_node_pool.system"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("refusal does not mention %q:\n%s", want, r.stderr)
		}
	}
	if after := e.cloud.Objects(); len(after) != len(before) {
		t.Errorf("the refused apply changed the cloud: %d objects before, %d after", len(before), len(after))
	}
	// The pool keeps pull request 2's size: the stale plan changed nothing.
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if r := e.must(0, "state", "lock", "list"); !strings.Contains(r.stdout, "No locks held") {
		t.Errorf("the refused job left its lock:\n%s", r.stdout)
	}
}
