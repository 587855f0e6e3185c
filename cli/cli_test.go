package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/plugin"
)

// The test binary doubles as a regionctl binary whose only driver is the
// in-memory fake cloud kept in a file, so tests can run (and kill) real
// regionctl processes. See runProcess.
const (
	envHelper     = "REGIONCTL_TEST_CLI_PROCESS" // "1": act as regionctl
	envCloudFile  = "REGIONCTL_TEST_CLOUD_FILE"  // the fake cloud's file
	envHangAfter  = "REGIONCTL_TEST_HANG_AFTER_CREATE"
	envSlowCreate = "REGIONCTL_TEST_SLOW_CREATE" // a type whose create waits for SIGINT
	// envBlockCreate names a type whose create blocks until its context is
	// cancelled (a cloud call that would outlive the first Ctrl-C).
	envBlockCreate = "REGIONCTL_TEST_BLOCK_CREATE"
	envVersion     = "REGIONCTL_TEST_VERSION" // stamps Version, as -ldflags would
)

// hangMarker is printed to stderr by a helper process that created a
// resource in the fake cloud and now hangs before returning, so the test
// can kill it in exactly that window.
const hangMarker = "TEST: created in the cloud, hanging before returning"

// slowMarker is printed by a helper process whose create of the
// envSlowCreate type has started; the create then waits until the process
// gets SIGINT (and a little more), so an interrupt lands mid-operation.
const slowMarker = "TEST: slow create started"

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == plugin.ExecutablePrefix+pluginDriverName {
		servePluginDriver() // see plugins_test.go
		return
	}
	if os.Getenv(envHelper) == "1" {
		cloud, err := memcloud.Open(os.Getenv(envCloudFile))
		if err != nil {
			fmt.Fprintln(os.Stderr, "open fake cloud:", err)
			os.Exit(1)
		}
		reg := memRegistry(cloud, os.Getenv(envHangAfter))
		if typ := os.Getenv(envSlowCreate); typ != "" {
			reg = slowRegistry(cloud, typ)
		}
		if typ := os.Getenv(envBlockCreate); typ != "" {
			reg = blockRegistry(cloud, typ)
		}
		if v := os.Getenv(envVersion); v != "" {
			Version = v
		}
		os.Exit(Main(os.Args[1:], Config{Registry: reg}))
	}
	os.Exit(m.Run())
}

// memRegistry registers the fake cloud as driver "mem". When hangAfter names
// a resource type, the first create of that type hangs after the cloud made
// the object (the window a crash must survive).
func memRegistry(cloud *memcloud.Cloud, hangAfter string) providers.Registry {
	return providers.Registry{
		"mem": func(ctx context.Context, opts providers.Options) (providers.Driver, error) {
			d := memcloud.NewDriver(cloud)
			if hangAfter == "" {
				return d, nil
			}
			return &hangingDriver{Driver: d, typ: hangAfter}, nil
		},
	}
}

// slowRegistry registers the fake cloud as "mem" with creates of typ
// lasting until the process receives SIGINT.
func slowRegistry(cloud *memcloud.Cloud, typ string) providers.Registry {
	return providers.Registry{
		"mem": func(ctx context.Context, opts providers.Options) (providers.Driver, error) {
			return &slowDriver{Driver: memcloud.NewDriver(cloud), typ: typ}, nil
		},
	}
}

type slowDriver struct {
	*memcloud.Driver
	typ string
}

func (s *slowDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if req.Type == s.typ {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		fmt.Fprintln(os.Stderr, slowMarker)
		<-sig // the user's Ctrl-C arrives while the cloud is still working
		signal.Stop(sig)
	}
	return s.Driver.Create(ctx, req)
}

type hangingDriver struct {
	*memcloud.Driver
	typ string
}

func (h *hangingDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	resp, err := h.Driver.Create(ctx, req)
	if err == nil && req.Type == h.typ {
		fmt.Fprintln(os.Stderr, hangMarker)
		select {} // until killed
	}
	return resp, err
}

// env is one test's working directory, fake cloud and CLI runner.
type env struct {
	t     *testing.T
	dir   string
	cloud *memcloud.Cloud
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	cloud, err := memcloud.Open(filepath.Join(dir, "cloud.json"))
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile("testdata/region.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, cloud: cloud}
	e.writeSpec(string(spec))
	return e
}

func (e *env) specPath() string { return filepath.Join(e.dir, "region.yaml") }

func (e *env) writeSpec(s string) {
	e.t.Helper()
	if err := os.WriteFile(e.specPath(), []byte(s), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

// editSpec replaces old with new in the spec; old must be there.
func (e *env) editSpec(old, new string) {
	e.t.Helper()
	b, err := os.ReadFile(e.specPath())
	if err != nil {
		e.t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(old)) {
		e.t.Fatalf("spec has no %q", old)
	}
	e.writeSpec(strings.Replace(string(b), old, new, 1))
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs regionctl in-process with the state dir inside the test's dir.
func (e *env) run(args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--state-dir", filepath.Join(e.dir, "state")}, args...)
	code := Main(full, Config{
		Registry:   memRegistry(e.cloud, ""),
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

// leaks fails the test unless the fake cloud holds exactly the resources
// state knows, each once.
func (e *env) assertCloudMatchesState(region string) {
	e.t.Helper()
	r := e.must(0, "state", "list", "--region", region)
	inState := map[string]bool{}
	for _, l := range strings.Fields(r.stdout) {
		inState[l] = true
	}
	seen := map[string]int{}
	for _, o := range e.cloud.Objects() {
		seen[o.Address()]++
	}
	for addr, n := range seen {
		if n != 1 {
			e.t.Errorf("cloud holds %d objects for %s, want 1 (duplicate create)", n, addr)
		}
		if !inState[addr] {
			e.t.Errorf("cloud holds %s but state does not know it (leaked)", addr)
		}
	}
	for addr := range inState {
		if seen[addr] == 0 {
			e.t.Errorf("state holds %s but the cloud does not", addr)
		}
	}
}

func TestApplyLifecycle(t *testing.T) {
	e := newEnv(t)
	e.must(0, "validate", "-f", e.specPath())

	r := e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if !strings.Contains(r.stdout, "to add") {
		t.Fatalf("plan output has no summary:\n%s", r.stdout)
	}

	r = e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply output:\n%s", r.stdout)
	}
	e.assertCloudMatchesState("test-east")
	if len(e.cloud.Objects()) == 0 {
		t.Fatal("apply created nothing in the cloud")
	}

	// Nothing changed: the plan is empty and says so.
	r = e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if !strings.Contains(r.stdout, "No changes") {
		t.Fatalf("second plan is not empty:\n%s", r.stdout)
	}

	// Scaling a pool is exactly one in-place update.
	e.editSpec("min: 3, max: 6", "min: 3, max: 9")
	planFile := filepath.Join(e.dir, "scale.plan")
	r = e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode", "--out", planFile)
	if !strings.Contains(r.stdout, "0 to add, 1 to change, 0 to destroy") {
		t.Fatalf("scale plan is not one update:\n%s", r.stdout)
	}
	e.must(0, "show", planFile)
	r = e.must(0, "apply", planFile)
	if !strings.Contains(r.stdout, "0 added, 1 changed, 0 destroyed") {
		t.Fatalf("apply of the saved plan:\n%s", r.stdout)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")

	// Applying the same plan file again is refused: state moved on.
	r = e.must(ExitStale, "apply", planFile)
	if !strings.Contains(r.stderr, "stale") {
		t.Fatalf("re-applying a used plan was not refused as stale:\n%s", r.stderr)
	}

	r = e.must(0, "destroy", "-f", e.specPath(), "--auto-approve")
	if !strings.Contains(r.stdout, "Destroy complete!") {
		t.Fatalf("destroy output:\n%s", r.stdout)
	}
	if objs := e.cloud.Objects(); len(objs) != 0 {
		t.Fatalf("destroy left %d objects in the cloud: %+v", len(objs), objs)
	}
}

func TestApplyRefusesWithoutTerminal(t *testing.T) {
	e := newEnv(t)
	r := e.must(1, "apply", "-f", e.specPath())
	if !strings.Contains(r.stderr, "--auto-approve") {
		t.Fatalf("refusal does not say how to proceed:\n%s", r.stderr)
	}
	if n := len(e.cloud.Objects()); n != 0 {
		t.Fatalf("an unconfirmed apply created %d objects", n)
	}
}

func TestStalePlanFileNamesTheChangedResource(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	e.editSpec("min: 3, max: 6", "min: 3, max: 7")
	planFile := filepath.Join(e.dir, "a.plan")
	e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode", "--out", planFile)

	// Another pipeline merges a different change first.
	e.editSpec("min: 3, max: 7", "min: 4, max: 7")
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")

	r := e.must(ExitStale, "apply", planFile)
	if !strings.Contains(r.stderr, "stale") || !strings.Contains(r.stderr, "test-east/mem_node_pool.system") {
		t.Fatalf("stale plan refusal does not name the changed resource:\n%s", r.stderr)
	}
}

func TestLockHeldByAnotherRunIsReported(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	// Leave a lock behind as a run that died would, with its lease run out.
	lockFile := filepath.Join(e.dir, "state", "test-east.lock")
	stale := `{"id":"dead-run","region":"test-east","operation":"apply","who":"ci@runner-7","pid":4242,` +
		`"version":"dev","created":"2026-01-01T00:00:00Z","expires":"2026-01-01T00:02:00Z"}`
	if err := os.WriteFile(lockFile, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.must(ExitLocked, "plan", "-f", e.specPath())
	for _, want := range []string{"ci@runner-7", "4242", "unlock --stale"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("lock error does not mention %q:\n%s", want, r.stderr)
		}
	}
	r = e.must(0, "state", "lock", "list")
	if !strings.Contains(r.stdout, "STALE") {
		t.Fatalf("lock list does not mark the dead run's lock stale:\n%s", r.stdout)
	}
	e.must(0, "state", "unlock", "--stale")
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}

func TestValidateReportsEveryProblem(t *testing.T) {
	e := newEnv(t)
	e.editSpec("kubernetesVersion: \"1.33\"", "kubernetesVersion: \"1.33\"\n    nodepools: []")
	e.editSpec("min: 3, max: 6", "min: 7, max: 6")
	r := e.must(ExitSpecInvalid, "validate", "-f", e.specPath())
	for _, want := range []string{"region.yaml:11:5", `did you mean "nodePools"?`, "region.yaml:13:", "min"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("diagnostics do not mention %q:\n%s", want, r.stderr)
		}
	}
}

func TestValidateUnknownDriver(t *testing.T) {
	e := newEnv(t)
	e.editSpec("provider: mem", "provider: mme")
	r := e.must(ExitSpecInvalid, "validate", "-f", e.specPath())
	for _, want := range []string{"region.yaml:5:", "spec.provider", `did you mean "mem"?`} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("diagnostics do not mention %q:\n%s", want, r.stderr)
		}
	}
}

func TestStateCommands(t *testing.T) {
	e := newEnv(t)
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	r := e.must(0, "state", "list")
	if !strings.Contains(r.stdout, "test-east/mem_cluster.main") {
		t.Fatalf("state list:\n%s", r.stdout)
	}
	r = e.must(0, "state", "show", "test-east/mem_cluster.main")
	if !strings.Contains(r.stdout, `"status": "created"`) {
		t.Fatalf("state show:\n%s", r.stdout)
	}
	e.must(1, "state", "show", "test-east/mem_cluster.nope")
	e.must(0, "state", "rm", "test-east/mem_storage_class.fast")
	r = e.must(2, "plan", "-f", e.specPath(), "--detailed-exitcode")
	// Issue 15: the class still exists and carries this region's tags, so
	// the plan adopts it rather than creating a second one.
	if !strings.Contains(r.stdout, "1 to import, 0 to add") {
		t.Fatalf("after state rm the plan should adopt the class:\n%s", r.stdout)
	}
}

func TestDriversSchemaVersion(t *testing.T) {
	e := newEnv(t)
	if r := e.must(0, "drivers"); !strings.Contains(r.stdout, "mem") {
		t.Fatalf("drivers:\n%s", r.stdout)
	}
	if r := e.must(0, "schema"); !strings.Contains(r.stdout, `"$schema"`) {
		t.Fatalf("schema:\n%s", r.stdout)
	}
	e.must(0, "version")
}
