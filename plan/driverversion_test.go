package plan

import (
	"context"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
)

// versionedDriver is memcloud at a version of its own.
type versionedDriver struct {
	*memcloud.Driver
	version string
}

func (d versionedDriver) Capabilities() providers.Capabilities {
	c := d.Driver.Capabilities()
	c.Version = d.version
	return c
}

// TestPlansAndStateRecordTheDriverVersion: a plan records the version of
// the driver that made it (the driver's own, else the engine's default),
// state records the version that applied, and a plan is refused under
// another version of its driver.
func TestPlansAndStateRecordTheDriverVersion(t *testing.T) {
	f := newFixture(t)
	f.eng.DefaultDriverVersion = "v9.9.9"
	p := f.plan(t, PlanOptions{}, region(r1))
	if got := p.Regions[0].DriverVersion; got != "v9.9.9" {
		t.Errorf("plan with a driver that declares no version records %q, want the default", got)
	}

	drv := versionedDriver{Driver: memcloud.NewDriver(f.cloud), version: "1.2.0"}
	f.drv = drv
	p = f.plan(t, PlanOptions{}, region(r1))
	if got := p.Regions[0].DriverVersion; got != "1.2.0" {
		t.Errorf("plan records driver version %q, want 1.2.0", got)
	}

	drv.version = "1.3.0"
	f.drv = drv
	_, err := f.eng.Apply(context.Background(), p, ApplyOptions{})
	if err == nil || !strings.Contains(err.Error(), "made with driver mem 1.2.0, but this run has mem 1.3.0") {
		t.Fatalf("apply under another driver version: %v", err)
	}
	if len(f.cloud.Objects()) != 0 {
		t.Fatal("a refused plan changed the cloud")
	}

	p = f.plan(t, PlanOptions{}, region(r1))
	f.apply(t, p)
	if got := f.state(t, r1).DriverVersion; got != "1.3.0" {
		t.Errorf("state records driver version %q, want 1.3.0", got)
	}
}
