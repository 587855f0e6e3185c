package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
	"github.com/regionctl/regionctl/state/local"
)

// blockMarker is printed by a helper process whose create of the
// envBlockCreate type has started and now waits for its context.
const blockMarker = "TEST: blocking create started"

// blockRegistry registers the fake cloud as "mem" with creates of typ that
// never finish on their own: they return only when their context is
// cancelled, as an SDK call does.
func blockRegistry(cloud *memcloud.Cloud, typ string) providers.Registry {
	return providers.Registry{
		"mem": func(ctx context.Context, opts providers.Options) (providers.Driver, error) {
			return &blockingDriver{Driver: memcloud.NewDriver(cloud), typ: typ}, nil
		},
	}
}

type blockingDriver struct {
	*memcloud.Driver
	typ string
}

func (b *blockingDriver) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	if req.Type == b.typ {
		fmt.Fprintln(os.Stderr, blockMarker)
		<-ctx.Done()
		return providers.CreateResponse{}, ctx.Err()
	}
	return b.Driver.Create(ctx, req)
}

// TestSecondInterruptStopsAtOnce: the first SIGINT lets the in-flight
// create go on; the second stops the run at once, names the operation left
// in flight, leaves it pending in state, releases the lock and exits 130.
// The next run converges. Without the second signal's abort the process
// would wait for the create (up to DrainTimeout) and the watchdog would
// kill it. The lock record carries the build's version meanwhile.
func TestSecondInterruptStopsAtOnce(t *testing.T) {
	e := newEnv(t)
	cmd, sc := e.startProcess([]string{envBlockCreate + "=" + memcloud.TypeCluster, envVersion + "=v9.8.7-test"},
		"apply", "-f", e.specPath(), "--auto-approve")
	e.waitForLine(cmd, sc, blockMarker)

	locks, err := local.New(filepath.Join(e.dir, "state")).Locks(context.Background())
	if err != nil || len(locks) != 1 || locks[0].Version != "v9.8.7-test" {
		t.Errorf("lock records %+v (err %v): want one whose version is the build's, v9.8.7-test", locks, err)
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	e.waitForLine(cmd, sc, "Interrupt again to stop at once")
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(time.Minute, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	var rest []string
	for sc.Scan() {
		rest = append(rest, sc.Text())
	}
	err = cmd.Wait()
	if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != ExitInterrupted {
		t.Errorf("exit %v, want %d", err, ExitInterrupted)
	}
	out := strings.Join(rest, "\n")
	if !strings.Contains(out, "Left in flight") || !strings.Contains(out, "test-east/mem_cluster.main (create)") {
		t.Errorf("the second interrupt does not name the operation left in flight:\n%s", out)
	}
	st := e.readState("test-east")
	if c, ok := st.Find("test-east/mem_cluster.main"); !ok || c.Status != state.StatusPending {
		t.Errorf("the create cut off should be pending in state, got %+v (found %v)", c, ok)
	}
	if r := e.must(0, "state", "lock", "list"); !strings.Contains(r.stdout, "No locks held") {
		t.Errorf("the stopped run left its lock:\n%s", r.stdout)
	}
	e.must(0, "apply", "-f", e.specPath(), "--auto-approve")
	e.assertCloudMatchesState("test-east")
	e.must(0, "plan", "-f", e.specPath(), "--detailed-exitcode")
}
