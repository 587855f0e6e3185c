package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/sandbox/kube"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/local"
)

// latency makes every asynchronous operation of the emulator take a little
// time, so the drivers' waiters really wait, without slowing the suite.
var latency = map[string]time.Duration{"*": 20 * time.Millisecond}

// env is one test's copy of an example spec, its state directory and a
// running sandbox, all in t.TempDir(), with the driver registry the CLI
// runs with. Every cloud's tests share it; what differs per cloud (how a
// state resource maps to a sandbox object) lives in that cloud's file.
type env struct {
	t                     *testing.T
	spec, stateDir, sbDir string
	registry              providers.Registry
	kube                  bool // the sandbox serves kube-apiservers behind its clusters
	stopSandbox           func()
}

// newEnv copies example (a file under examples/) into a temporary directory
// and serves a sandbox there with opts (Dir, NoKubernetes and, when unset,
// Latency are filled in). Emulated clusters get no kube-apiserver unless
// withKube is set; without one the copy drops the StorageClasses and load
// balancers, which are in-cluster objects (the *_kube tests cover them).
// Callers that need kubectl call requireKube first.
func newEnv(t *testing.T, example string, registry providers.Registry, opts sandbox.Options, withKube bool) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{
		t:        t,
		spec:     filepath.Join(dir, filepath.Base(example)),
		stateDir: filepath.Join(dir, "state"),
		sbDir:    filepath.Join(dir, "sandbox"),
		registry: registry,
		kube:     withKube,
	}
	b, err := os.ReadFile(filepath.Join("..", "examples", example))
	if err != nil {
		t.Fatal(err)
	}
	if !withKube {
		var ok bool
		if b, _, ok = bytes.Cut(b, []byte("  storageClasses:")); !ok {
			t.Fatalf("examples/%s has no storageClasses to trim", example)
		}
	}
	if err := os.WriteFile(e.spec, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.serve(opts)
	return e
}

// serve serves the env's sandbox directory with opts.
func (e *env) serve(opts sandbox.Options) {
	e.t.Helper()
	opts.Dir = e.sbDir
	if opts.Latency == nil {
		opts.Latency = latency
	}
	opts.NoKubernetes = !e.kube
	e.stopSandbox = serveSandbox(e.t, opts)
}

// restartSandbox stops the sandbox and serves its directory again with
// opts, as `sandbox down` and `sandbox up --config` would: the emulated cloud
// stays, the faults change.
func (e *env) restartSandbox(opts sandbox.Options) {
	e.t.Helper()
	e.stopSandbox()
	e.serve(opts)
}

// requireKube fails the test without kube-apiserver binaries (CI never
// skips; -short does) or kubectl.
func requireKube(t *testing.T) {
	t.Helper()
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatalf("%v", err)
	}
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatalf("kubectl is needed on PATH: %v", err)
	}
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

type result struct {
	code           int
	stdout, stderr string
}

// run runs regionctl in-process with the env's registry, the test's state
// directory and --sandbox on the test's sandbox.
func (e *env) run(args ...string) result {
	e.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--state-dir", e.stateDir, "--sandbox", "--sandbox-dir", e.sbDir}, args...)
	code := cli.Main(full, cli.Config{
		Registry:   e.registry,
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

// state reads region's state file (nil when there is none).
func (e *env) state(region string) *state.State {
	e.t.Helper()
	st, err := local.New(e.stateDir).Read(context.Background(), region)
	if err != nil {
		e.t.Fatalf("read state of %s: %v", region, err)
	}
	return st
}

// states reads the state of each of regions that has one.
func (e *env) states(regions ...string) []*state.State {
	e.t.Helper()
	var out []*state.State
	for _, r := range regions {
		if st := e.state(r); st != nil {
			out = append(out, st)
		}
	}
	return out
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

// destroyToEmpty ends a lifecycle test. When the spec is protected, it first
// checks that a destroy without --allow-destroy is refused, says how to
// proceed and changes neither the sandbox nor region's state; then it
// destroys (with --allow-destroy when protected) and checks that the sandbox
// and `state list` are empty.
func (e *env) destroyToEmpty(region string, protected bool) {
	e.t.Helper()
	args := []string{"destroy", "-f", e.spec, "--auto-approve"}
	if protected {
		before, serial := e.snapshot(), e.state(region).Serial
		r := e.must(cli.ExitSpecInvalid, args...) // spec.protect refuses it
		if !strings.Contains(r.stderr, "--allow-destroy") {
			e.t.Errorf("the refused destroy does not say how to proceed:\n%s", r.stderr)
		}
		if after := e.snapshot(); after != before {
			e.t.Errorf("a refused destroy changed the sandbox:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if got := e.state(region).Serial; got != serial {
			e.t.Errorf("a refused destroy wrote state (serial %d → %d)", serial, got)
		}
		args = append(args, "--allow-destroy")
	}
	r := e.must(0, args...)
	if !strings.Contains(r.stdout, "Destroy complete!") {
		e.t.Fatalf("destroy output:\n%s", r.stdout)
	}
	e.assertEmpty()
	if r := e.must(0, "state", "list"); strings.TrimSpace(r.stdout) != "" {
		e.t.Errorf("state list after destroy:\n%s", r.stdout)
	}
}

// changeLines returns the plan's resource lines (not attribute lines) of
// region that start with sym ("~").
func changeLines(plan, region, sym string) []string {
	var out []string
	for _, l := range strings.Split(plan, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), sym+" "+region+"/") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	return out
}
