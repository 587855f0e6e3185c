package plan

import (
	"fmt"

	"github.com/regionctl/regionctl/providers"
)

// driverVersion is the version recorded for a driver with capabilities
// caps: its own, else the engine's default (regionctl's, for the drivers
// built into it).
func (e *Engine) driverVersion(caps providers.Capabilities) string {
	if caps.Version != "" {
		return caps.Version
	}
	return e.DefaultDriverVersion
}

// checkDriverVersion refuses to apply a region's plan with another version
// of its driver than the one that made it: what a plan means (the
// resources, their inputs, what replaces what) is that driver's, and a
// different version may mean something else by it. A plan that recorded no
// version (made before regionctl recorded them) is not checked.
func (e *Engine) checkDriverVersion(rp RegionPlan, caps providers.Capabilities) error {
	now := e.driverVersion(caps)
	if rp.DriverVersion == "" || rp.DriverVersion == now {
		return nil
	}
	return fmt.Errorf("apply region %s: the plan was made with driver %s %s, but this run has %s %s: make a new plan with this driver (regionctl plan), or apply with the driver version that made it",
		rp.Region, rp.Provider, rp.DriverVersion, rp.Provider, now)
}
