package cli

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/state"
)

// startProcess starts a real regionctl process (this test binary in helper
// mode) on the env's fake cloud file and state dir. extraEnv is added to
// its environment.
func (e *env) startProcess(extraEnv []string, args ...string) (*exec.Cmd, *bufio.Scanner) {
	e.t.Helper()
	full := append([]string{"--state-dir", filepath.Join(e.dir, "state")}, args...)
	cmd := exec.Command(os.Args[0], full...)
	cmd.Env = append(os.Environ(), envHelper+"=1", envCloudFile+"="+filepath.Join(e.dir, "cloud.json"), "CI=true")
	cmd.Env = append(cmd.Env, extraEnv...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	cmd.Stdout = os.Stderr // progress lines help when the test fails
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(stderr)
}

// waitForLine reads lines until one contains want; it fails the test if the
// process's output ends first. A watchdog kills the process after a minute
// so a broken run cannot hang the suite.
func (e *env) waitForLine(cmd *exec.Cmd, sc *bufio.Scanner, want string) {
	e.t.Helper()
	watchdog := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	var seen []string
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), want) {
			return
		}
	}
	e.t.Fatalf("process output ended without %q:\n%s", want, strings.Join(seen, "\n"))
}

// readState reads the region's state file as the next run would.
func (e *env) readState(region string) *state.State {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.dir, "state", region+".json"))
	if err != nil {
		e.t.Fatal(err)
	}
	var st state.State
	if err := json.Unmarshal(b, &st); err != nil {
		e.t.Fatal(err)
	}
	return &st
}

// TestCrashBetweenPendingAndCreated kills a real apply process (SIGKILL: no
// chance to clean up) right after the cloud created the cluster but before
// regionctl recorded it, and checks the next run adopts it: converges,
// nothing leaked, nothing duplicated.
func TestCrashBetweenPendingAndCreated(t *testing.T) {
	e := newEnv(t)
	e.killApplyAfterClusterCreate()

	st := e.readState("test-east")
	cluster, ok := st.Find("test-east/mem_cluster.main")
	if !ok || cluster.Status != state.StatusPending {
		t.Fatalf("after the crash the cluster should be recorded as pending, got %+v (found %v)", cluster, ok)
	}

	// The dead run's lock is left behind with a lease; break it as a user would.
	e.must(0, "state", "unlock", lockID(t, e))

	r := e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("rerun did not complete:\n%s", r.stdout)
	}
	e.assertCloudMatchesState("test-east")
	clusters := 0
	for _, o := range e.cloud.Objects() {
		if o.Type == memcloud.TypeCluster {
			clusters++
		}
	}
	if clusters != 1 {
		t.Fatalf("the cloud holds %d clusters after crash and rerun, want 1", clusters)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}

// killApplyAfterClusterCreate starts an apply process and kills it
// (SIGKILL) once the cloud made the cluster, before regionctl recorded it;
// it returns the dead process's pid.
func (e *env) killApplyAfterClusterCreate() int {
	e.t.Helper()
	cmd, sc := e.startProcess([]string{envHangAfter + "=" + memcloud.TypeCluster},
		"apply", "-f", e.specPath(), "--auto-approve")
	e.waitForLine(cmd, sc, hangMarker)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		e.t.Fatal(err)
	}
	_ = cmd.Wait()
	return cmd.Process.Pid
}

// lockID returns the ID of the single lock held in the env's state dir.
func lockID(t *testing.T, e *env) string {
	t.Helper()
	r := e.must(0, "state", "lock", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want exactly one lock:\n%s", r.stdout)
	}
	return strings.Fields(lines[1])[1]
}

// TestInterruptFinishesInFlightAndSaves sends SIGINT while a create is in
// flight: the create finishes and is recorded, nothing new starts, the
// process exits non-zero and releases its lock, and a rerun converges.
func TestInterruptFinishesInFlightAndSaves(t *testing.T) {
	e := newEnv(t)
	cmd, sc := e.startProcess([]string{envSlowCreate + "=" + memcloud.TypeCluster},
		"apply", "-f", e.specPath(), "--auto-approve")
	e.waitForLine(cmd, sc, slowMarker)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() { // drain so the process never blocks on a full pipe
	}
	err := cmd.Wait()
	if err == nil {
		t.Fatal("an interrupted apply exited 0")
	}

	st := e.readState("test-east")
	cluster, ok := st.Find("test-east/mem_cluster.main")
	if !ok || cluster.Status != state.StatusCreated {
		t.Fatalf("the in-flight cluster create should have finished and been recorded, got %+v", cluster)
	}
	for _, r := range st.Resources {
		if r.Type == memcloud.TypeNodePool {
			t.Fatalf("a node pool (which depends on the cluster) was started after the interrupt: %+v", r)
		}
	}
	e.assertCloudMatchesState("test-east")
	if r := e.must(0, "state", "lock", "list"); !strings.Contains(r.stdout, "No locks held") {
		t.Fatalf("the interrupted run left its lock:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	e.assertCloudMatchesState("test-east")
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}
