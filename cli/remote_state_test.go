package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/internal/servertest"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/s3"
)

// s3Env is an env whose regionctl runs keep state in a fresh bucket on
// MinIO (scripts/test-servers.sh), chosen with --backend-config.
type s3Env struct {
	*env
	configFile string
	backend    *s3.Backend
}

func newS3Env(t *testing.T) *s3Env {
	t.Helper()
	vars := servertest.Env(t, "REGIONCTL_TEST_S3_ENDPOINT", "REGIONCTL_TEST_S3_ACCESS_KEY", "REGIONCTL_TEST_S3_SECRET_KEY")
	// The backend takes credentials from the AWS SDK's default chain:
	// here the environment, inherited by the helper processes too.
	t.Setenv("AWS_ACCESS_KEY_ID", vars[1])
	t.Setenv("AWS_SECRET_ACCESS_KEY", vars[2])
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	e := newEnv(t)
	bucket := "regionctl-cli-" + uuid.NewString()[:8]
	cfg := s3.Config{Bucket: bucket, Prefix: "ci", Region: "us-east-1", Endpoint: vars[0], PathStyle: true}
	b, err := s3.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Client().CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: &bucket}); err != nil {
		t.Fatalf("create bucket: %v", err)
	}
	file := filepath.Join(e.dir, "regionctl.yaml")
	yaml := fmt.Sprintf("backend:\n  type: s3\n  bucket: %s\n  prefix: ci\n  region: us-east-1\n  endpoint: %s\n  pathStyle: true\n", bucket, vars[0])
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &s3Env{env: e, configFile: file, backend: b}
}

// must runs regionctl in-process on the S3 backend.
func (e *s3Env) must(want int, args ...string) result {
	e.t.Helper()
	return e.env.must(want, append([]string{"--backend-config", e.configFile}, args...)...)
}

// start runs a regionctl process on the S3 backend; its stderr lines are
// delivered on the returned channel, which closes when the process ends.
func (e *s3Env) start(extraEnv []string, args ...string) (*exec.Cmd, <-chan string) {
	e.t.Helper()
	cmd, sc := e.startProcess(extraEnv, append([]string{"--backend-config", e.configFile}, args...)...)
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return cmd, lines
}

// waitFor reads lines until one contains want and returns the lines read;
// it fails the test when the output ends first or after a minute.
func waitFor(t *testing.T, lines <-chan string, want string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("process output ended without %q:\n%s", want, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return seen
			}
		case <-timeout:
			t.Fatalf("no %q within a minute:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

func drain(lines <-chan string) []string {
	var out []string
	for l := range lines {
		out = append(out, l)
	}
	return out
}

// assertEachResourceOnce checks the fake cloud holds exactly the resources
// the S3 state records as created, each once, and that no lock is held.
func (e *s3Env) assertEachResourceOnce(region string) {
	e.t.Helper()
	ctx := context.Background()
	st, err := e.backend.Read(ctx, region)
	if err != nil {
		e.t.Fatalf("read state from S3: %v", err)
	}
	inState := map[string]bool{}
	for _, r := range st.Resources {
		if r.Status != state.StatusCreated {
			e.t.Errorf("state holds %s as %s, want created", r.Address, r.Status)
		}
		if inState[r.Address] {
			e.t.Errorf("state holds %s twice", r.Address)
		}
		inState[r.Address] = true
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
	if len(inState) == 0 {
		e.t.Error("state holds no resources")
	}
	if locks, err := e.backend.Locks(ctx); err != nil || len(locks) != 0 {
		e.t.Errorf("locks after the runs = %v, %v; want none", locks, err)
	}
}

// TestPlanApplyOnS3Backend plans to a file, applies the file and plans again
// with state in S3, choosing the backend with --backend-config.
func TestPlanApplyOnS3Backend(t *testing.T) {
	e := newS3Env(t)
	planFile := filepath.Join(e.dir, "plan.bin")
	e.must(2, "plan", "-f", e.specPath(), "--out", planFile, "--detailed-exitcode")
	if _, err := e.backend.Read(context.Background(), "test-east"); !errors.Is(err, state.ErrNoState) {
		t.Fatalf("plan wrote state: Read err = %v", err)
	}
	r := e.must(0, "apply", planFile)
	if !strings.Contains(r.stdout, "Apply complete!") {
		t.Fatalf("apply did not complete:\n%s", r.stdout)
	}
	e.assertEachResourceOnce("test-east")
	if _, err := os.Stat(filepath.Join(e.dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the local state directory was used (stat err %v)", err)
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
	if r := e.must(0, "state", "list", "--region", "test-east"); !strings.Contains(r.stdout, "test-east/mem_cluster.main") {
		t.Fatalf("state list on S3 does not show the cluster:\n%s", r.stdout)
	}
}

// TestBadBackendConfigChangesNothing checks a broken backend block stops the
// run with the file:line error before anything is created.
func TestBadBackendConfigChangesNothing(t *testing.T) {
	e := newEnv(t)
	file := filepath.Join(e.dir, "regionctl.yaml")
	if err := os.WriteFile(file, []byte("backend:\n  type: s3\n  bucekt: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.must(ExitState, "--backend-config", file, "apply", "-f", e.specPath(), "--auto-approve")
	want := file + `:3:3: backend s3 has no setting "bucekt"`
	if !strings.Contains(r.stderr, want) || !strings.Contains(r.stderr, `did you mean "bucket"?`) {
		t.Fatalf("stderr does not name the bad setting (%q):\n%s", want, r.stderr)
	}
	if n := len(e.cloud.Objects()); n != 0 {
		t.Fatalf("the cloud holds %d objects after a run with a broken backend block", n)
	}
}

// TestTwoApplyProcessesRaceOnS3 starts two real regionctl apply processes on
// one region at the same moment. Each one's cluster create lasts until it
// is interrupted, so the winner holds the lock for as long as the test
// wants: exactly one wins, the other fails naming it, and after the winner
// is stopped and a rerun converges, every resource exists exactly once.
func TestTwoApplyProcessesRaceOnS3(t *testing.T) {
	e := newS3Env(t)
	slow := []string{envSlowCreate + "=" + memcloud.TypeCluster}
	type proc struct {
		cmd   *exec.Cmd
		lines <-chan string
	}
	var procs [2]proc
	var wg sync.WaitGroup
	for i := range procs {
		wg.Go(func() {
			cmd, lines := e.start(slow, "apply", "-f", e.specPath(), "--auto-approve")
			procs[i] = proc{cmd, lines}
		})
	}
	wg.Wait()
	// Exactly one reaches the cluster create (it holds the lock); the
	// other ends with a lock error.
	type outcome struct {
		i      int
		won    bool
		output []string
	}
	outcomes := make(chan outcome, 2)
	for i, p := range procs {
		go func() {
			var seen []string
			for l := range p.lines {
				seen = append(seen, l)
				if strings.Contains(l, slowMarker) {
					outcomes <- outcome{i, true, seen}
					return
				}
			}
			outcomes <- outcome{i, false, seen}
		}()
	}
	var winner, loser outcome
	for range 2 {
		select {
		case o := <-outcomes:
			if o.won {
				winner = o
			} else {
				loser = o
			}
		case <-time.After(time.Minute):
			t.Fatal("the two applies did not settle within a minute")
		}
	}
	if !winner.won || loser.won {
		t.Fatalf("want exactly one winner; outputs:\n%s\n---\n%s", strings.Join(winner.output, "\n"), strings.Join(loser.output, "\n"))
	}
	lcmd := procs[loser.i].cmd
	if err := lcmd.Wait(); err == nil {
		t.Fatal("the losing apply exited 0")
	}
	out := strings.Join(loser.output, "\n")
	wpid := procs[winner.i].cmd.Process.Pid
	for _, want := range []string{"region test-east is locked", fmt.Sprintf("(pid %d)", wpid), "for apply", "--lock-timeout"} {
		if !strings.Contains(out, want) {
			t.Errorf("the loser's error does not say %q:\n%s", want, out)
		}
	}
	locks, err := e.backend.Locks(context.Background())
	if err != nil || len(locks) != 1 || locks[0].PID != wpid {
		t.Fatalf("locks during the winner's run = %+v, %v; want one held by pid %d", locks, err, wpid)
	}
	// End the winner's cluster create: the run finishes it and goes on.
	w := procs[winner.i]
	if err := w.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	drain(w.lines)
	_ = w.cmd.Wait() // interrupted: exits 1 after saving state
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	e.assertEachResourceOnce("test-east")
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}

// TestCancelledApplyOnS3 sends SIGTERM to an apply while its cluster create
// is in flight, with a second apply waiting for the lock (--lock-timeout):
// the first finishes the create, records it and releases its lock; the
// waiter then takes the lock, resumes from the saved state and completes;
// every resource exists once and state has nothing pending.
func TestCancelledApplyOnS3(t *testing.T) {
	e := newS3Env(t)
	first, firstLines := e.start([]string{envSlowCreate + "=" + memcloud.TypeCluster}, "apply", "-f", e.specPath(), "--auto-approve")
	waitFor(t, firstLines, slowMarker)

	waiter, waiterLines := e.start(nil, "apply", "-f", e.specPath(), "--auto-approve", "--lock-timeout", "2m")
	waitFor(t, waiterLines, "Waiting")

	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, firstLines, "Interrupt received")
	// The fake cloud's in-flight create ends on SIGINT: the cloud answers
	// after regionctl was told to stop.
	if err := first.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	rest := drain(firstLines)
	if err := first.Wait(); err == nil {
		t.Fatalf("the cancelled apply exited 0:\n%s", strings.Join(rest, "\n"))
	}

	waiterOut := drain(waiterLines)
	if err := waiter.Wait(); err != nil {
		t.Fatalf("the waiting apply failed: %v\n%s", err, strings.Join(waiterOut, "\n"))
	}
	e.assertEachResourceOnce("test-east")
	st, err := e.backend.Read(context.Background(), "test-east")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Find("test-east/mem_cluster.main"); !ok {
		t.Fatal("the cluster is not in state")
	}
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}
