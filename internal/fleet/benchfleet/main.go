// Command benchfleet is `make bench-fleet`: it applies fleets of N regions
// spread over AWS, GCP and Azure to a sandbox daemon that throttles like
// the clouds, with the sandbox's realistic latency profile and the
// clouds' rate budgets both sped up by the same factor, through the real
// regionctl binary — apply, a no-op plan, destroy — and prints, per N:
// apply wall time and its ratio to the critical path and to the
// rate-budget bound, API calls per resource of each phase (the sandbox's
// request log), and the peak RSS of the CLI and of the sandbox. It
// asserts nothing; docs/performance.md records its figures.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/regionctl/regionctl/internal/fleet"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

func main() {
	bin := flag.String("regionctl", "bin/regionctl", "the regionctl binary to measure")
	sizes := flag.String("n", "6,30,90", "fleet sizes (regions), comma-separated")
	speedup := flag.Float64("speedup", 60, "how many times faster than the clouds the sandbox runs: latencies divided, budget refill rates multiplied by it")
	budgetSpeedup := flag.Float64("budget-speedup", 0, "how many times the published budgets' refill rates are multiplied (default: -speedup); below -speedup the budgets, not the latencies, bound the apply")
	keep := flag.Bool("keep", false, "keep the work directories")
	flag.Parse()
	self, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	if *budgetSpeedup <= 0 {
		*budgetSpeedup = *speedup
	}
	fmt.Printf("benchfleet: %s, realistic latencies sped up %gx, published rate budgets' refill %gx, no in-cluster objects\n", self, *speedup, *budgetSpeedup)
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-n: %q is not a number of regions", s))
		}
		load := loadAverage()
		r, err := run(self, n, *speedup, *budgetSpeedup, *keep)
		if err != nil {
			fail(fmt.Errorf("%d regions: %w", n, err))
		}
		r.print()
		fmt.Printf("  load average before %s, after %s (other work on this machine slows every figure)\n", load, loadAverage())
	}
}

// loadAverage is the machine's 1-minute load average, "?" when unknown.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(data))[0]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchfleet:", err)
	os.Exit(1)
}

// result is what one fleet run measured.
type result struct {
	regions, resources                  int
	apply, plan, destroy                time.Duration
	critical, budgetBound               time.Duration
	slowestBucket                       string
	applyCalls, planCalls, destroyCalls int
	throttled                           int
	cliRSS, sandboxRSS                  int64 // KiB
	// applyCPU is the CPU time the CLI and the sandbox used during apply.
	applyCLICPU, applySandboxCPU float64
	// top are the most called operations of apply and of the no-op plan.
	applyTop, planTop string
	// throttledBy names the requests the sandbox throttled, per phase.
	throttledBy []string
}

func (r result) print() {
	per := func(calls int) float64 { return float64(calls) / float64(r.resources) }
	bound := max(r.critical, r.budgetBound)
	fmt.Printf("\n%d regions, %d resources\n", r.regions, r.resources)
	fmt.Printf("  apply      %8.2fs   %.2fx critical path (%.2fs)   %.2fx max(critical path, budget bound %.2fs, %s)   %.2f calls/resource\n",
		r.apply.Seconds(), r.apply.Seconds()/r.critical.Seconds(), r.critical.Seconds(), r.apply.Seconds()/bound.Seconds(), r.budgetBound.Seconds(), r.slowestBucket, per(r.applyCalls))
	fmt.Printf("             most called: %s\n", r.applyTop)
	fmt.Printf("             CPU: CLI %.1fs, sandbox %.1fs (of %.1fs wall on this machine's cores)\n", r.applyCLICPU, r.applySandboxCPU, r.apply.Seconds())
	fmt.Printf("  no-op plan %8.2fs   %.2f calls/resource (%d calls)\n", r.plan.Seconds(), per(r.planCalls), r.planCalls)
	fmt.Printf("             most called: %s\n", r.planTop)
	fmt.Printf("  destroy    %8.2fs   %.2f calls/resource\n", r.destroy.Seconds(), per(r.destroyCalls))
	if len(r.throttledBy) > 0 {
		fmt.Printf("  throttled: %s\n", strings.Join(r.throttledBy, "; "))
	}
	fmt.Printf("  throttled requests: %d   peak RSS: CLI %.0f MiB, sandbox %.0f MiB\n", r.throttled, float64(r.cliRSS)/1024, float64(r.sandboxRSS)/1024)
}

// env is one fleet run's directories and binary.
type env struct {
	bin, dir, sandboxDir string
	cliRSS               int64
	lastCPU              float64 // of the last run, seconds
}

// regionctl runs the binary in the run's directory (where its
// regionctl.yaml holds the sped-up budgets), returning its wall time and
// exit code, and recording its peak RSS.
func (e *env) regionctl(args ...string) (time.Duration, int, string, error) {
	cmd := exec.Command(e.bin, append(args, "--sandbox-dir", e.sandboxDir, "--state-dir", filepath.Join(e.dir, "state"), "--no-color")...)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "HOME="+e.dir, "REGIONCTL_SANDBOX=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		e.cliRSS = max(e.cliRSS, ru.Maxrss)
		e.lastCPU = float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	}
	code := cmd.ProcessState.ExitCode()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return wall, code, out.String(), err
	}
	return wall, code, out.String(), nil
}

func (e *env) must(args ...string) (time.Duration, error) {
	wall, code, out, err := e.regionctl(args...)
	if err == nil && code != 0 {
		err = fmt.Errorf("regionctl %s: exit %d:\n%s", strings.Join(args, " "), code, tail(out, 40))
	}
	return wall, err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func run(bin string, n int, speedup, budgetSpeedup float64, keep bool) (res result, err error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("benchfleet-%d-", n))
	if err != nil {
		return res, err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	e := &env{bin: bin, dir: dir, sandboxDir: filepath.Join(dir, "sandbox")}
	tables := budget.Scaled(budget.Published, budgetSpeedup)
	latency := fleet.ScaledLatency(sandbox.RealisticLatency, speedup)
	if err := writeConfigs(dir, tables, latency); err != nil {
		return res, err
	}
	specDir := filepath.Join(dir, "fleet")
	if err := os.MkdirAll(specDir, 0o755); err != nil {
		return res, err
	}
	paths, err := fleet.Write(specDir, n, 0)
	if err != nil {
		return res, err
	}
	if _, err := e.must("sandbox", "up", "--config", filepath.Join(dir, "sandbox.yaml")); err != nil {
		return res, err
	}
	defer func() {
		if _, derr := e.must("sandbox", "down"); derr != nil && err == nil {
			err = derr
		}
	}()
	res.regions = n
	if res.critical, res.resources, err = criticalPath(e.sandboxDir, paths, latency); err != nil {
		return res, err
	}

	calls := func() (sandbox.Stats, error) { return sandbox.ReadStats(e.sandboxDir) }
	s0, err := calls()
	if err != nil {
		return res, err
	}
	if res.apply, err = e.must("apply", "-f", specDir, "--sandbox", "--auto-approve"); err != nil {
		return res, err
	}
	s1, err := calls()
	if err != nil {
		return res, err
	}
	res.applyCalls = s1.CloudCalls() - s0.CloudCalls()
	res.applyCLICPU, res.applySandboxCPU = e.lastCPU, s1.CPUSeconds-s0.CPUSeconds
	res.applyTop = top(s0, s1, 6)
	res.throttledBy = append(res.throttledBy, throttled("apply", s0, s1)...)
	res.budgetBound, res.slowestBucket = budgetBound(s0, s1)

	wall, code, out, err := e.regionctl("plan", "-f", specDir, "--sandbox", "--detailed-exitcode")
	if err != nil || code != 0 {
		return res, fmt.Errorf("no-op plan: exit %d, %v:\n%s", code, err, tail(out, 40))
	}
	res.plan = wall
	s2, err := calls()
	if err != nil {
		return res, err
	}
	res.planCalls = s2.CloudCalls() - s1.CloudCalls()
	res.planTop = top(s1, s2, 8)
	res.throttledBy = append(res.throttledBy, throttled("no-op plan", s1, s2)...)

	if res.destroy, err = e.must("destroy", "-f", specDir, "--sandbox", "--auto-approve"); err != nil {
		return res, err
	}
	s3, err := calls()
	if err != nil {
		return res, err
	}
	res.destroyCalls = s3.CloudCalls() - s2.CloudCalls()
	res.throttledBy = append(res.throttledBy, throttled("destroy", s2, s3)...)
	for _, v := range s3.Throttled {
		res.throttled += v
	}
	res.cliRSS, res.sandboxRSS = e.cliRSS, s3.PeakRSSKiB
	return res, nil
}

// writeConfigs writes the sandbox's config (throttling by the sped-up
// budgets, the sped-up latency profile, no Kubernetes API servers) and a
// regionctl.yaml that paces the CLI's drivers by the same budgets.
func writeConfigs(dir string, tables map[string]budget.Table, latency map[string]time.Duration) error {
	budgets := map[string]string{}
	for k, l := range fleet.Overrides(tables) {
		budgets[k] = l.String()
	}
	lat := map[string]string{}
	for k, d := range latency {
		lat[k] = d.String()
	}
	cfg := map[string]any{"throttle": true, "noKubernetes": true, "rateBudgets": budgets, "latency": lat}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "sandbox.yaml"), data, 0o644); err != nil {
		return err
	}
	data, err = yaml.Marshal(map[string]any{"rateBudgets": budgets})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "regionctl.yaml"), data, 0o644)
}

// criticalPath expands the fleet through the drivers (no cloud call) and
// returns the longest region's critical path and the resource count.
func criticalPath(sandboxDir string, paths []string, latency map[string]time.Duration) (time.Duration, int, error) {
	ctx := context.Background()
	ep, err := sandbox.ReadEndpoints(sandboxDir)
	if err != nil {
		return 0, 0, err
	}
	opts := providers.Options{Sandbox: true, SandboxEndpoints: ep.Endpoints, SandboxDir: sandboxDir}
	reg := providers.Registry{"aws": aws.New, "gcp": gcp.New, "azure": azure.New}
	regions, ds := spec.Load(ctx, paths, spec.LoadOptions{})
	if ds.HasErrors() {
		return 0, 0, fmt.Errorf("load fleet: %v", ds)
	}
	drivers := map[string]providers.Driver{}
	var longest time.Duration
	count := 0
	for _, r := range regions {
		d := drivers[r.Spec.Provider]
		if d == nil {
			if d, err = reg.New(ctx, r.Spec.Provider, opts); err != nil {
				return 0, 0, err
			}
			drivers[r.Spec.Provider] = d
		}
		resp, err := d.Expand(ctx, providers.ExpandRequest{Region: r})
		if err != nil {
			return 0, 0, err
		}
		count += len(resp.Resources)
		longest = max(longest, fleet.CriticalPath(resp.Resources, func(op string) time.Duration { return latency[op] }))
	}
	return longest, count, nil
}

// top lists the n operations called most between two stats.
func top(before, after sandbox.Stats, n int) string {
	type opCount struct {
		op string
		n  int
	}
	var ops []opCount
	for op, c := range after.Requests {
		if d := c - before.Requests[op]; d > 0 && sandbox.IsCloudOperation(op) {
			ops = append(ops, opCount{op, d})
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].n > ops[j].n || ops[i].n == ops[j].n && ops[i].op < ops[j].op })
	var parts []string
	for _, o := range ops[:min(n, len(ops))] {
		parts = append(parts, fmt.Sprintf("%s %d", o.op, o.n))
	}
	return strings.Join(parts, ", ")
}

// throttled lists the buckets that refused requests between two stats,
// "phase bucket n".
func throttled(phase string, before, after sandbox.Stats) []string {
	prev := map[string]int{}
	for _, b := range before.Budgets {
		prev[b.Key] = b.Throttled
	}
	var out []string
	for _, b := range after.Budgets {
		if d := b.Throttled - prev[b.Key]; d > 0 {
			out = append(out, fmt.Sprintf("%s %s %d", phase, b.Key, d))
		}
	}
	sort.Strings(out)
	return out
}

// budgetBound is the rate-budget bound of the requests between two stats.
func budgetBound(before, after sandbox.Stats) (time.Duration, string) {
	prev := map[string]int{}
	for _, b := range before.Budgets {
		prev[b.Key] = b.Requests
	}
	var use []fleet.BucketUse
	for _, b := range after.Budgets {
		use = append(use, fleet.BucketUse{Key: b.Key, Limit: budget.Limit{Burst: b.Burst, Rate: b.Rate}, Requests: b.Requests - prev[b.Key]})
	}
	sort.Slice(use, func(i, j int) bool { return use[i].Key < use[j].Key })
	return fleet.BudgetBound(use)
}
