package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/sandbox"
)

// pluginDriverName is the driver the test binary serves as a plugin when
// it runs as regionctl-driver-memp (a symlink): memcloud under another
// name, over the env's cloud file.
const pluginDriverName = "memp"

// envPluginAccount gives the plugin's driver an Identity that refuses the
// account its credentials act in (providers.ErrWrongAccount);
// envPluginRetries a Create that reports a throttled attempt first.
const (
	envPluginAccount = "REGIONCTL_TEST_PLUGIN_WRONG_ACCOUNT"
	envPluginRetries = "REGIONCTL_TEST_PLUGIN_RETRIES"
	// envPluginBudgets makes the plugin's driver declare the rate budget
	// "api" and note in every plan the override it was given.
	envPluginBudgets = "REGIONCTL_TEST_PLUGIN_BUDGETS"
	// envPluginWorkload gives the plugin's driver kinds and cluster access
	// with workload identity.
	envPluginWorkload = "REGIONCTL_TEST_PLUGIN_WORKLOAD"
)

func servePluginDriver() {
	plugin.Serve(plugin.Config{Name: pluginDriverName, Version: "0.4.0",
		New: func(_ context.Context, opts providers.Options) (providers.Driver, error) {
			cloud, err := memcloud.Open(os.Getenv(envCloudFile))
			if err != nil {
				return nil, err
			}
			d := renamed{memcloud.NewDriver(cloud)}
			switch {
			case os.Getenv(envPluginAccount) == "1":
				return wrongAccountDriver{d}, nil
			case os.Getenv(envPluginRetries) == "1":
				return retryingDriver{d}, nil
			case os.Getenv(envPluginBudgets) == "1":
				return budgetedDriver{d, opts.RateBudgets}, nil
			case os.Getenv(envPluginWorkload) == "1":
				return workloadDriver{d}, nil
			}
			return d, nil
		}})
}

// wrongAccountDriver's credentials act in another account than the spec
// names.
type wrongAccountDriver struct{ renamed }

func (wrongAccountDriver) Identity(_ context.Context, req providers.IdentityRequest) (providers.IdentityResponse, error) {
	return providers.IdentityResponse{}, fmt.Errorf("memp: region %s must act in memp account 111, but the credentials act in 222: refusing: %w", req.Region, providers.ErrWrongAccount)
}

// budgetedDriver declares the rate budget "api" and notes the overrides
// it was given.
type budgetedDriver struct {
	renamed
	overrides budget.Overrides
}

func (d budgetedDriver) Capabilities() providers.Capabilities {
	c := d.renamed.Capabilities()
	c.RateBudgeted, c.RateBudgets = true, budget.Table{"api": {Burst: 100, Rate: 5}}
	return c
}

func (d budgetedDriver) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	resp, err := d.renamed.Expand(ctx, req)
	if l, ok := d.overrides.Tables(map[string]budget.Table{pluginDriverName: d.Capabilities().RateBudgets})[pluginDriverName]["api"]; ok {
		resp.Notes = append(resp.Notes, "memp paces its calls at "+l.String())
	}
	return resp, err
}

// workloadDriver's cluster is reachable and has workload identity. A
// plugin says which type is the cluster for the types of its schemas, so
// it declares one for the cluster.
type workloadDriver struct{ renamed }

func (d workloadDriver) Capabilities() providers.Capabilities {
	c := d.renamed.Capabilities()
	c.Resources = []providers.ResourceSchema{{Type: memcloud.TypeCluster, Description: "the cluster"}}
	return c
}

func (workloadDriver) Kind(typ string) providers.Kind {
	return providers.Kinds{memcloud.TypeCluster: providers.KindCluster}[typ]
}

func (workloadDriver) ClusterAccess(_ context.Context, req providers.AccessRequest) (providers.AccessResponse, error) {
	for _, r := range req.Resources {
		if r.Type == memcloud.TypeCluster {
			return providers.AccessResponse{ClusterID: r.ID, Endpoint: "https://" + r.ID + ".memp.test", CAPEM: []byte("ca"),
				WorkloadIdentity: &providers.WorkloadIdentity{Issuer: "https://oidc.memp.test/" + r.ID, Provider: "memp-pool/" + r.ID,
					ServiceAccountAnnotation: "memp.test/identity", TrustSubject: "system:serviceaccount:NAMESPACE:NAME"}}, nil
		}
	}
	return providers.AccessResponse{}, fmt.Errorf("memp: no cluster: %w", providers.ErrNotFound)
}

// retryingDriver's creates are throttled once, and retried.
type retryingDriver struct{ renamed }

func (d retryingDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	providers.ReportRetry(ctx, providers.RetryReport{Err: fmt.Errorf("create %s: 429 slow down: %w", req.Address, providers.ErrThrottled)})
	return d.renamed.Create(ctx, req)
}

// renamed is memcloud's driver called memp.
type renamed struct{ *memcloud.Driver }

func (r renamed) Capabilities() providers.Capabilities {
	c := r.Driver.Capabilities()
	c.Name = pluginDriverName
	return c
}

// pluginDir links this test binary into a plugins folder as
// regionctl-driver-NAME for each name, and points the plugin at the env's
// cloud file.
func (e *env) pluginDir(names ...string) string {
	e.t.Helper()
	self, err := os.Executable()
	if err != nil {
		e.t.Fatal(err)
	}
	dir := filepath.Join(e.dir, "plugins")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		e.t.Fatal(err)
	}
	for _, n := range names {
		if err := os.Symlink(self, filepath.Join(dir, plugin.ExecutablePrefix+n)); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Setenv(envCloudFile, filepath.Join(e.dir, "cloud.json"))
	return dir
}

// TestPluginDriver: a driver plugin found with --plugin-dir is listed with
// its version, path and protocol, plans and applies a region (state
// records its version), and is refused under --sandbox because it brings
// no emulator — before anything starts.
func TestPluginDriver(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir(pluginDriverName)
	e.editSpec("provider: mem", "provider: "+pluginDriverName)

	r := e.must(0, "drivers", "--plugin-dir", dir)
	exe := filepath.Join(dir, plugin.ExecutablePrefix+pluginDriverName)
	if !strings.Contains(r.stdout, exe+" (protocol 1.1)") || !strings.Contains(r.stdout, "memp  0.4.0") {
		t.Errorf("drivers does not show the plugin's version, path and protocol:\n%s", r.stdout)
	}
	var listed struct {
		Drivers []listedDriver `json:"drivers"`
	}
	if err := json.Unmarshal([]byte(e.must(0, "drivers", "--json", "--plugin-dir", dir).stdout), &listed); err != nil {
		t.Fatal(err)
	}
	sources := map[string]string{}
	for _, d := range listed.Drivers {
		sources[d.Name] = d.Source
		if d.Name == pluginDriverName && (d.Plugin == nil || d.Plugin.Path != exe || d.Plugin.Origin != "--plugin-dir" || d.Version != "0.4.0") {
			t.Errorf("drivers --json, the plugin: %+v %+v", d, d.Plugin)
		}
	}
	if sources["mem"] != "builtin" || sources[pluginDriverName] != "plugin" {
		t.Errorf("drivers --json sources: %v", sources)
	}

	e.must(0, "apply", "-f", e.specPath(), "--auto-approve", "--plugin-dir", dir)
	if st := e.readState("test-east"); st.Provider != pluginDriverName || st.DriverVersion != "0.4.0" {
		t.Errorf("state records driver %q version %q, want memp 0.4.0", st.Provider, st.DriverVersion)
	}
	if len(e.cloud.Objects()) == 0 {
		t.Fatal("the plugin made nothing")
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode", "--plugin-dir", dir)
	if r := e.must(0, "output", "test-east", "--plugin-dir", dir); strings.Contains(r.stdout, "no driver") {
		t.Errorf("output does not find the plugin's driver:\n%s", r.stdout)
	}

	// A state of its own: the real run's state is refused under --sandbox
	// anyway (another target, exit 9), before the driver is built.
	sandboxDir := filepath.Join(e.dir, "sandbox")
	r = e.must(ExitTarget, "plan", "-f", e.specPath(), "--sandbox", "--sandbox-dir", sandboxDir, "--plugin-dir", dir, "--state-dir", filepath.Join(e.dir, "sandbox-state"))
	if !strings.Contains(r.stderr, "has no emulator") || !strings.Contains(r.stderr, "refusing rather than reach its real cloud") {
		t.Errorf("--sandbox with a plugin without an emulator:\n%s", r.stderr)
	}
	// The sandbox's ID is made (the target names it), but no emulator of
	// the plugin was started.
	if pdir := sandbox.PluginDir(sandboxDir, pluginDriverName); sandbox.Running(pdir) {
		t.Errorf("the refused sandbox run started the plugin's emulator in %s", pdir)
	} else if _, err := os.Stat(pdir); !os.IsNotExist(err) {
		t.Errorf("the refused sandbox run made %s (%v)", pdir, err)
	}
}

// TestPluginWrongAccountExitsAsWrongTarget: a plugin's driver whose
// credentials act in another account than the spec names stops plan and
// apply as a built-in driver's does: the wrong target (exit 9), nothing
// changed.
func TestPluginWrongAccountExitsAsWrongTarget(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir(pluginDriverName)
	e.editSpec("provider: mem", "provider: "+pluginDriverName)
	t.Setenv(envPluginAccount, "1")
	for _, cmd := range []string{"plan", "apply"} {
		args := []string{cmd, "-f", e.specPath(), "--plugin-dir", dir}
		if cmd == "apply" {
			args = append(args, "--auto-approve")
		}
		r := e.must(ExitTarget, args...)
		if !strings.Contains(r.stderr, "must act in memp account 111, but the credentials act in 222") {
			t.Errorf("%s: the plugin's refusal is not shown:\n%s", cmd, r.stderr)
		}
	}
	if n := len(e.cloud.Objects()); n != 0 {
		t.Errorf("a run refused for its account made %d objects", n)
	}
}

// TestPluginRetriesAreReported: the attempts a plugin's driver retries
// show in the event stream as a built-in driver's do.
func TestPluginRetriesAreReported(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir(pluginDriverName)
	e.editSpec("provider: mem", "provider: "+pluginDriverName)
	t.Setenv(envPluginRetries, "1")
	r := e.must(0, "apply", "-f", e.specPath(), "--auto-approve", "--plugin-dir", dir, "--log-format", "json")
	retried := map[string]bool{}
	for _, line := range strings.Split(r.stderr, "\n") {
		var ev struct{ Type, Address, Action, Error string }
		if json.Unmarshal([]byte(line), &ev) != nil || ev.Type != "retry" {
			continue
		}
		if ev.Action != "create" || !strings.Contains(ev.Error, "create "+ev.Address+": 429 slow down") {
			t.Errorf("retry event: %+v", ev)
		}
		retried[ev.Address] = true
	}
	if created := len(e.cloud.Objects()); created == 0 || len(retried) != created {
		t.Errorf("%d retried creates reported for %d objects created:\n%s", len(retried), created, r.stderr)
	}
}

// TestPluginRateBudgets: a rate budget of a driver plugin's cloud is
// accepted when the plugin declares that bucket, and reaches it; one it
// does not declare, or of a plugin that declares none, or of no known
// cloud, is refused naming what there is.
func TestPluginRateBudgets(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir(pluginDriverName)
	e.editSpec("provider: mem", "provider: "+pluginDriverName)
	plan := func(want int, budgets ...string) result {
		args := []string{"plan", "-f", e.specPath(), "--plugin-dir", dir}
		for _, b := range budgets {
			args = append(args, "--rate-budget", b)
		}
		return e.must(want, args...)
	}
	r := plan(ExitError, "memp:api=2/s,50")
	if !strings.Contains(r.stderr, "driver memp declares no rate budgets") {
		t.Errorf("a budget of a plugin that declares none:\n%s", r.stderr)
	}

	t.Setenv(envPluginBudgets, "1")
	if r := plan(0); !strings.Contains(r.stdout, "memp paces its calls at 5/s,100") {
		t.Errorf("the plugin's declared budget:\n%s", r.stdout)
	}
	if r := plan(0, "memp:api=2/s,50"); !strings.Contains(r.stdout, "memp paces its calls at 2/s,50") {
		t.Errorf("the override does not reach the plugin:\n%s", r.stdout)
	}
	for budget, want := range map[string]string{
		"memp:apii=2/s,50": `--rate-budget "memp:apii=2/s,50": memp has no budget "apii" (it has api)`,
		"nope:api=2/s,50":  `--rate-budget "nope:api=2/s,50": no rate budgets for cloud "nope" (known: aws, azure, gcp, memp)`,
		"aws:ec2=2/s,50":   `aws has no budget "ec2"`,
	} {
		if r := plan(ExitError, budget); !strings.Contains(r.stderr, want) {
			t.Errorf("--rate-budget %s: want %q in\n%s", budget, want, r.stderr)
		}
	}
	if err := os.WriteFile(filepath.Join(e.dir, "regionctl.yaml"), []byte("rateBudgets:\n  memp:api: 3/s,60\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(e.dir)
	if r := plan(0); !strings.Contains(r.stdout, "memp paces its calls at 3/s,60") {
		t.Errorf("regionctl.yaml's budget does not reach the plugin:\n%s", r.stdout)
	}
}

// TestPluginWorkloadIdentityOutput: regionctl output shows the workload
// identity a plugin's driver reports for its cluster, as for a built-in
// driver's.
func TestPluginWorkloadIdentityOutput(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir(pluginDriverName)
	e.editSpec("provider: mem", "provider: "+pluginDriverName)
	t.Setenv(envPluginWorkload, "1")
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve", "--plugin-dir", dir)
	cluster, ok := e.readState("test-east").Find("test-east/mem_cluster.main")
	if !ok {
		t.Fatal("no cluster in state")
	}
	r := e.must(0, "output", "test-east", "--plugin-dir", dir)
	if want := "workload id:     memp-pool/" + cluster.ID + " (annotate ServiceAccounts with memp.test/identity; trust system:serviceaccount:NAMESPACE:NAME)"; !strings.Contains(r.stdout, want) {
		t.Errorf("output lacks %q:\n%s", want, r.stdout)
	}
}

// TestPluginNamedLikeABuiltInIsNotUsed: a plugin cannot take the place of
// a built-in driver; drivers says so.
func TestPluginNamedLikeABuiltInIsNotUsed(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir("mem")
	r := e.must(0, "drivers", "--plugin-dir", dir)
	if !strings.Contains(r.stderr, `is not used: "mem" is a built-in driver`) {
		t.Errorf("drivers does not warn about the shadowed plugin:\n%s", r.stderr)
	}
	if strings.Contains(r.stdout, "protocol") {
		t.Errorf("the plugin named like a built-in driver was used:\n%s", r.stdout)
	}
}

// TestBrokenPluginHidesNoOtherDriver: a regionctl-driver-x that is not a
// regionctl plugin is reported, and drivers still lists the others.
func TestBrokenPluginHidesNoOtherDriver(t *testing.T) {
	e := newEnv(t)
	dir := e.pluginDir(pluginDriverName)
	if err := os.WriteFile(filepath.Join(dir, plugin.ExecutablePrefix+"junk"), []byte("#!/bin/sh\necho not a plugin\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := e.must(1, "drivers", "--plugin-dir", dir)
	if !strings.Contains(r.stdout, "memp  0.4.0") || !strings.Contains(r.stdout, "\nmem ") {
		t.Errorf("drivers does not list the working drivers:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, plugin.ExecutablePrefix+"junk") {
		t.Errorf("drivers does not name the broken plugin:\n%s", r.stderr)
	}
}
