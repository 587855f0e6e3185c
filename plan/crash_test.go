package plan

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/local"
)

// TestRandomFailuresNeverLoseAResource applies through a cloud where 30% of
// mutating calls fail, again and again, until the region converges; nothing
// may leak or be duplicated on the way.
func TestRandomFailuresNeverLoseAResource(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		f := newFixture(t)
		f.cloud.SetFailureRate(0.3, seed)
		converged := false
		for range 40 {
			p, ds := f.eng.Plan(context.Background(), regionsOf(region(r1), region("us1")), PlanOptions{})
			if ds.HasErrors() {
				t.Fatal(ds)
			}
			if !p.HasChanges() {
				converged = true
				break
			}
			_, _ = f.eng.Apply(context.Background(), p, ApplyOptions{})
			f.checkNoLeaks(t, r1, "us1")
		}
		if !converged {
			t.Fatalf("seed %d: did not converge in 40 runs", seed)
		}
		if n := len(f.cloud.Objects()); n != 30 {
			t.Errorf("seed %d: cloud holds %d objects, want 30", seed, n)
		}
		// And tear down through the same failures.
		for range 40 {
			p := f.plan(t, PlanOptions{Destroy: true}, region(r1), region("us1"))
			if !p.HasChanges() {
				break
			}
			_, _ = f.eng.Apply(context.Background(), p, ApplyOptions{})
		}
		if n := len(f.cloud.Objects()); n != 0 {
			t.Errorf("seed %d: %d objects left after destroy", seed, n)
		}
	}
}

func regionsOf(rs ...*spec.Region) []*spec.Region { return rs }

// crashEnv tells the test binary to act as the process that gets killed.
const crashEnv = "REGIONCTL_PLAN_CRASH_DIR"

// TestCrashBetweenCreateAndRecordIsAdopted kills a real apply process after
// the cloud made the cluster but before state recorded it. State (on disk)
// says pending; the next run adopts the object instead of duplicating it.
func TestCrashBetweenCreateAndRecordIsAdopted(t *testing.T) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashingApply(dir) // never returns
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashBetweenCreateAndRecordIsAdopted$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The child prints one line once the cloud has the cluster.
	buf := make([]byte, 64)
	n, _ := stdout.Read(buf)
	if string(buf[:n]) != "created\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child said %q", buf[:n])
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	cloud, err := memcloud.Open(filepath.Join(dir, "cloud.json"))
	if err != nil {
		t.Fatal(err)
	}
	store := local.New(filepath.Join(dir, "state"))
	st, err := store.Read(context.Background(), r1)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := st.Find(cluster); r.Status != "pending" {
		t.Fatalf("after the crash the cluster is %q in state, want pending", r.Status)
	}
	eng := &Engine{State: store, Drivers: func(context.Context, string) (providers.Driver, error) { return memcloud.NewDriver(cloud), nil }}
	p, ds := eng.Plan(context.Background(), regionsOf(region(r1)), PlanOptions{})
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	if c := changesByAddr(p.Regions[0])[cluster]; c.AdoptID == "" {
		t.Fatalf("cluster change %+v, want adoption", c)
	}
	if _, err := eng.Apply(context.Background(), p, ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	byAddr := map[string]int{}
	for _, o := range cloud.Objects() {
		byAddr[o.Address()]++
	}
	if len(byAddr) != 15 {
		t.Errorf("cloud has %d addresses, want 15", len(byAddr))
	}
	for a, n := range byAddr {
		if n != 1 {
			t.Errorf("%s exists %d times", a, n)
		}
	}
}

// hangAfterCreate tells the parent once the cluster exists in the cloud,
// then hangs so the parent kills the process before state records it.
type hangAfterCreate struct{ *memcloud.Driver }

func (d hangAfterCreate) Create(ctx context.Context, req providers.CreateRequest) (providers.CreateResponse, error) {
	resp, err := d.Driver.Create(ctx, req)
	if err == nil && req.Address == cluster {
		os.Stdout.WriteString("created\n")
		select {}
	}
	return resp, err
}

func crashingApply(dir string) {
	cloud, err := memcloud.Open(filepath.Join(dir, "cloud.json"))
	if err != nil {
		fail(err)
	}
	eng := &Engine{
		State: local.New(filepath.Join(dir, "state")),
		Drivers: func(context.Context, string) (providers.Driver, error) {
			return hangAfterCreate{memcloud.NewDriver(cloud)}, nil
		},
	}
	p, ds := eng.Plan(context.Background(), regionsOf(region(r1)), PlanOptions{})
	if ds.HasErrors() {
		fail(errors.New(ds.String()))
	}
	_, err = eng.Apply(context.Background(), p, ApplyOptions{})
	fail(fmt.Errorf("apply returned before the crash: %v", err))
}

func fail(err error) {
	os.Stdout.WriteString("error: " + err.Error() + "\n")
	os.Exit(3)
}
