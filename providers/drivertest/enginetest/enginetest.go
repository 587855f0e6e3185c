// Package enginetest applies regions through a driver with the real plan
// engine and an in-memory state, for driver tests that need objects a real
// apply made (refresh, drift, fleets). It is apart from package drivertest
// because it imports the engine, whose own tests use drivertest.
package enginetest

import (
	"context"
	"testing"

	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// Applied is a region a test applied with the real engine.
type Applied struct {
	Engine *plan.Engine
	// Instances are the resources state recorded, by address.
	Instances map[string]providers.Instance
	// Order lists the addresses in state order.
	Order []string
}

// ApplyRegions plans and applies regions through d with the plan engine
// and an in-memory state, failing t on any error, and returns what state
// recorded: the starting point of tests of refresh (drivertest.ReadManyMatchesRead)
// and of fleets.
func ApplyRegions(t testing.TB, ctx context.Context, d providers.Driver, regions ...*spec.Region) Applied {
	t.Helper()
	eng := &plan.Engine{
		Drivers: func(context.Context, string) (providers.Driver, error) { return d, nil },
		State:   statetest.NewMemory(),
	}
	p, ds := eng.Plan(ctx, regions, plan.PlanOptions{})
	if ds.HasErrors() {
		t.Fatalf("plan: %v", ds)
	}
	if _, err := eng.Apply(ctx, p, plan.ApplyOptions{}); err != nil {
		t.Fatalf("apply: %v", err)
	}
	a := Applied{Engine: eng, Instances: map[string]providers.Instance{}}
	for _, r := range regions {
		st, err := eng.State.Read(ctx, r.Metadata.Name)
		if err != nil {
			t.Fatalf("read state of %s: %v", r.Metadata.Name, err)
		}
		for _, res := range st.Resources {
			a.Instances[res.Address] = providers.Instance{Address: res.Address, Type: res.Type, ID: res.ID,
				Inputs: res.Inputs, Outputs: res.Outputs, SchemaVersion: res.SchemaVersion}
			a.Order = append(a.Order, res.Address)
		}
	}
	return a
}

// Of returns the recorded instances of a type, in state order.
func (a Applied) Of(typ string) []providers.Instance {
	var out []providers.Instance
	for _, addr := range a.Order {
		if in := a.Instances[addr]; in.Type == typ {
			out = append(out, in)
		}
	}
	return out
}

// All returns every recorded instance, in state order.
func (a Applied) All() []providers.Instance {
	out := make([]providers.Instance, len(a.Order))
	for i, addr := range a.Order {
		out[i] = a.Instances[addr]
	}
	return out
}
