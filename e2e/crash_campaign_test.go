package e2e

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers/builtin"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// The crash campaign (issue 16): the real regionctl binary applies the
// multi-cloud fleet of examples/fleet.jsonnet to the sandbox and is killed
// (SIGKILL: no chance to clean up) at points spread over the operation
// timeline — during a create from nothing, during an update that replaces
// every cloud's ingest pool, and during destroy — then run again once.
// Each point passes when that one rerun succeeds with no hand edit, the
// plan afterwards is empty, and the sandbox's census equals state: no
// orphan, no duplicate, nothing missing (after a destroy: nothing left).
//
// Points are placed by the sandbox's request log: a calibration run (one
// uninterrupted apply, update and destroy) counts each phase's mutating
// cloud requests M; the i-th of n kills of a phase lands when the killed
// run has sent (i+½)·M/n of them, so the kills spread from the first
// creates to the last deletes, between a request and its reply as often
// as between operations.
//
// The short form (make test) kills 9 times (3 per phase) on one region per
// cloud, without Kubernetes API servers; the full form (make
// crash-campaign) kills 30 times (10 per phase) on the whole staging fleet
// — 6 regions, with API servers, so the StorageClasses and Services are
// applied too — with the sandbox's fault injection on (crashFaults).

// crashFaults is the fault injection of the full campaign: every cloud
// call may be throttled, fail or lose its connection, so the rerun meets
// the same weather as the run it repairs.
var crashFaults = []sandbox.Fault{
	{Op: "*", Kind: sandbox.FaultThrottle, Rate: 0.10},
	{Op: "*", Kind: sandbox.FaultServerError, Rate: 0.02},
	{Op: "*", Kind: sandbox.FaultDrop, Rate: 0.02},
	{Op: "*", Kind: sandbox.FaultDropAfter, Rate: 0.02},
}

// crashPhase is one kind of run the campaign kills.
type crashPhase struct {
	name string
	// args are the command's arguments (spec and flags added by run).
	args []string
	// before prepares the spec (the update flips the ingest pools'
	// machine, which replaces them on every cloud).
	before func(f *crashFleet)
	// after is the check once the rerun converged.
	after func(f *crashFleet, t *testing.T) []string
}

// crashPoint is the outcome of one kill.
type crashPoint struct {
	phase          string
	target, killed int // mutating requests: the kill point, and when it was sent
	finished       bool
	rerun          time.Duration
	problems       []string
}

func TestCrashCampaign(t *testing.T) {
	perPhase, withKube, faults := 3, false, []sandbox.Fault(nil)
	if campaignFull() {
		perPhase, withKube, faults = 10, true, crashFaults
	}
	if withKube {
		requireKube(t)
	}
	f := newCrashFleet(t, withKube, !campaignFull(), faults)
	phases := []crashPhase{
		{name: "apply", args: []string{"apply", "--auto-approve"}, after: (*crashFleet).converged},
		{name: "update", args: []string{"apply", "--auto-approve"}, before: (*crashFleet).flipIngest, after: (*crashFleet).converged},
		{name: "destroy", args: []string{"destroy", "--auto-approve"}, after: (*crashFleet).empty},
	}

	// Calibration: each phase once, uninterrupted.
	total := map[string]int{}
	for _, ph := range phases {
		if ph.before != nil {
			ph.before(f)
		}
		start, before := time.Now(), f.mutating()
		if r := f.run(ph.args...); r.code != 0 {
			t.Fatalf("calibration %s: exit %d\n%s\n%s", ph.name, r.code, r.stdout, r.stderr)
		}
		total[ph.name] = f.mutating() - before
		t.Logf("calibration %s: %d mutating requests, %v", ph.name, total[ph.name], time.Since(start).Round(time.Second))
		if p := ph.after(f, t); len(p) > 0 {
			t.Fatalf("calibration %s does not converge without a crash:\n%s", ph.name, strings.Join(p, "\n"))
		}
	}

	var points []crashPoint
	for i := range perPhase {
		for _, ph := range phases {
			if ph.before != nil {
				ph.before(f)
			}
			target := int((float64(i) + 0.5) * float64(total[ph.name]) / float64(perPhase))
			p := f.crash(ph, max(target, 1))
			p.problems = append(p.problems, ph.after(f, t)...)
			points = append(points, p)
			status := "converged"
			if len(p.problems) > 0 {
				status = "FAILED:\n  " + strings.Join(p.problems, "\n  ")
			}
			t.Logf("kill %2d: %-7s at mutating request %3d of ~%d (sent %d)%s; rerun %v; %s", len(points), ph.name, p.target, total[ph.name], p.killed,
				map[bool]string{true: " — the run had finished", false: ""}[p.finished], p.rerun.Round(time.Second), status)
		}
	}
	converged, finished := 0, 0
	for _, p := range points {
		if len(p.problems) == 0 {
			converged++
		}
		if p.finished {
			finished++
		}
	}
	t.Logf("crash campaign: %d of %d kill points converged with one rerun (%d runs had finished before their kill point)", converged, len(points), finished)
	if converged != len(points) {
		t.Errorf("%d kill points did not converge with one rerun", len(points)-converged)
	}
	if finished > len(points)/4 {
		t.Errorf("%d of %d runs finished before they were killed: the kill points do not cover the runs", finished, len(points))
	}
}

// crashFleet is the campaign's fleet: the real binary, a copy of
// examples/fleet.jsonnet (staging), its state directory and the sandbox.
type crashFleet struct {
	*env
	bin     string
	regions []string
	ingest  bool // the ingest pools' machine is flipped
}

// newCrashFleet builds regionctl and serves a sandbox. small keeps one
// region per cloud; without kube the fleet has no StorageClasses or load
// balancers (in-cluster objects need the API servers).
func newCrashFleet(t *testing.T, withKube, small bool, faults []sandbox.Fault) *crashFleet {
	t.Helper()
	dir := t.TempDir()
	f := &crashFleet{env: &env{t: t, spec: filepath.Join(dir, "fleet.jsonnet"), stateDir: filepath.Join(dir, "state"),
		sbDir: filepath.Join(dir, "sandbox"), registry: builtin.Registry(), kube: withKube}}
	f.bin = buildRegionctl(t)
	src, err := os.ReadFile(filepath.Join("..", "examples", "fleet.jsonnet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.spec, src, 0o600); err != nil {
		t.Fatal(err)
	}
	f.editSpec("function(env='prod', plugins='')", "function(env='staging', plugins='')")
	if small {
		f.editSpec("for li in std.range(0, 1)", "for li in std.range(0, 0)")
	}
	if !withKube {
		f.editSpec("spec+: { provider: cloud, location: clouds[cloud].locations[short] },",
			"spec+: { provider: cloud, location: clouds[cloud].locations[short], storageClasses: [], loadBalancers: [] },")
	}
	regions, ds := spec.Load(context.Background(), []string{f.spec}, spec.LoadOptions{})
	if ds.HasErrors() {
		t.Fatalf("the campaign's fleet does not load:\n%v", ds)
	}
	for _, r := range regions {
		f.regions = append(f.regions, r.Metadata.Name)
	}
	// The sandbox's own latencies (seconds for clusters and pools), so a
	// kill lands while objects are still being made as often as between
	// operations.
	f.serve(sandbox.Options{Seed: 16, Faults: faults, Latency: maps.Clone(sandbox.DefaultLatency)})
	return f
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildRegionctl builds cmd/regionctl once per test binary, into a
// directory removed when the process ends.
func buildRegionctl(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "regionctl-crash-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "regionctl")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(gobin, "build", "-o", builtBin, "../cmd/regionctl").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/regionctl: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// command is the binary's command line for args, on the fleet's spec,
// state and sandbox. A killed run leaves its lock; the rerun takes it over
// (its holder is a dead process on this host).
func (f *crashFleet) command(args ...string) *exec.Cmd {
	full := append([]string{"--state-dir", f.stateDir, "--sandbox", "--sandbox-dir", f.sbDir, "--lock-timeout", "1m"}, args...)
	full = append(full, "-f", f.spec)
	cmd := exec.Command(f.bin, full...)
	cmd.Env = append(os.Environ(), "CI=true", "HOME="+f.t.TempDir())
	return cmd
}

// run runs the binary to its end.
func (f *crashFleet) run(args ...string) result {
	var out, errb bytes.Buffer
	cmd := f.command(args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// crash starts phase's command, SIGKILLs it once it has sent target
// mutating requests (or lets it finish, if it finishes first), then runs
// it again once and reports how that went.
func (f *crashFleet) crash(ph crashPhase, target int) crashPoint {
	p := crashPoint{phase: ph.name, target: target}
	base := f.mutating()
	cmd := f.command(ph.args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
wait:
	for {
		select {
		case <-exited:
			p.finished = true
			break wait
		case <-tick.C:
			if n := f.mutating() - base; n >= target {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				p.killed = n
				break wait
			}
		}
	}
	start := time.Now()
	r := f.run(ph.args...)
	p.rerun = time.Since(start)
	if r.code != 0 {
		p.problems = append(p.problems, fmt.Sprintf("the rerun failed: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr))
	}
	return p
}

// mutating counts the requests the sandbox received that change something
// in a cloud (creates, updates, deletes, attachments), faulted ones and
// retries included.
func (f *crashFleet) mutating() int {
	n := 0
	for op, c := range f.requests() {
		if mutates(op) {
			n += c
		}
	}
	return n
}

// mutates reports whether a sandbox operation ("ec2:CreateVpc",
// "compute:networks.insert", "azure:agentPools.createOrUpdate") changes
// something.
func mutates(op string) bool {
	_, name, _ := strings.Cut(op, ":")
	if i := strings.LastIndex(name, "."); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToLower(name)
	for _, verb := range []string{"create", "delete", "update", "insert", "patch", "attach", "detach", "associate", "disassociate",
		"allocate", "release", "modify", "authorize", "revoke", "replace", "set", "tag", "untag"} {
		if strings.HasPrefix(name, verb) {
			return true
		}
	}
	return false
}

// flipIngest changes the ingest pools' machine, which replaces them on
// every cloud (EKS instance type, GKE machine type, AKS VM size).
func (f *crashFleet) flipIngest() {
	from, to := "machine: { cpu: 8, memoryGiB: 32 }", "machine: { cpu: 16, memoryGiB: 64 }"
	if f.ingest {
		from, to = to, from
	}
	f.editSpec(from, to)
	f.ingest = !f.ingest
}

// converged checks an applied fleet: an empty plan, and a census equal to
// state.
func (f *crashFleet) converged(t *testing.T) []string {
	var problems []string
	if r := f.run("plan", "--detailed-exitcode"); r.code != 0 {
		problems = append(problems, fmt.Sprintf("the plan after the rerun is not empty: exit %d\n%s\n%s", r.code, r.stdout, r.stderr))
	}
	census, err := sandbox.CensusDir(f.sbDir)
	if err != nil {
		t.Fatal(err)
	}
	states := f.states(f.regions...)
	if len(states) != len(f.regions) {
		problems = append(problems, fmt.Sprintf("state exists for %d of %d regions", len(states), len(f.regions)))
	}
	if regionctlObjects(census) == 0 {
		problems = append(problems, "the census holds nothing regionctl made")
	}
	return append(problems, censusProblems(census, states)...)
}

// empty checks a destroyed fleet: no resource in state, nothing regionctl
// made left in the clouds.
func (f *crashFleet) empty(t *testing.T) []string {
	var problems []string
	for _, st := range f.states(f.regions...) {
		for _, r := range st.Resources {
			problems = append(problems, fmt.Sprintf("state still holds %s %s after destroy", r.Status, r.Key()))
		}
	}
	census, err := sandbox.CensusDir(f.sbDir)
	if err != nil {
		t.Fatal(err)
	}
	problems = append(problems, censusProblems(census, []*state.State{})...)
	slices.Sort(problems)
	return problems
}
