package drivertest_test

import (
	"testing"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers/drivertest"
)

// TestMemcloud runs the suite against the engine's fake cloud driver, the
// way a third-party driver would run it against its emulator, with no
// tolerated failures.
func TestMemcloud(t *testing.T) {
	cloud := memcloud.New()
	drivertest.Run(t, memcloud.Conformance(memcloud.NewDriver(cloud), cloud))
	if len(cloud.Objects()) != 0 {
		t.Errorf("the suite left %d objects in memcloud", len(cloud.Objects()))
	}
}
