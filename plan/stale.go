package plan

import (
	"context"
	"fmt"
	"slices"

	"github.com/regionctl/regionctl/state"
)

// Staleness is decided per region and per resource. A region without
// changes is not applied, so it is never stale. A region whose state is
// still at the plan's lineage and serial is current. Otherwise the region's
// state moved on (another run applied in between): the plan still applies
// unless a resource it reads or changes differs from what the plan saw —
// see touchedKeys — and only those are refreshed and compared.

// touchedKeys are the state keys a region's plan depends on: every resource
// it creates, changes, replaces or deletes (for a refresh-only plan, every
// one whose refreshed values it records); every resource those read
// outputs from (their references and DependsOn in the desired graph); and,
// in the state found now, every resource that depends on one the plan
// deletes or replaces (it would be left pointing at nothing).
func touchedKeys(rp *RegionPlan, st *state.State) []string {
	keys := map[string]bool{}
	gone := map[string]bool{} // addresses whose object this plan deletes
	desired := map[string]int{}
	for i := range rp.Desired {
		desired[rp.Desired[i].Address] = i
	}
	if rp.RefreshOnly {
		for _, k := range rp.recorded() {
			keys[k] = true
		}
	}
	for _, ch := range rp.Changes {
		if ch.Action == NoOp {
			continue
		}
		key := ch.Address
		if ch.DeposedID != "" {
			key = state.Resource{Address: ch.Address, ID: ch.DeposedID, Status: state.StatusDeposed}.Key()
		}
		keys[key] = true
		if ch.Action == Delete || ch.Action.IsReplace() {
			gone[ch.Address] = true
		}
		if i, ok := desired[ch.Address]; ok && ch.Action != Delete {
			for _, dep := range resourceDeps(&rp.Desired[i]) {
				keys[dep] = true
			}
		}
	}
	if st != nil {
		for _, r := range st.Resources {
			for _, dep := range r.Dependencies {
				if gone[dep] && r.Address != dep {
					keys[r.Key()] = true
				}
			}
		}
	}
	out := make([]string, 0, len(keys))
	for k := range keys {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// staleness checks one region's plan against the state found now (nil when
// there is none). It returns nil when the plan still applies, with a note
// when state moved on without touching what the plan depends on.
func (e *Engine) staleness(ctx context.Context, rp *RegionPlan, st *state.State, ent driverEntry, lim *limiter) (note string, stale *StaleError, err error) {
	lineage, serial := "", uint64(0)
	if st != nil {
		lineage, serial = st.Lineage, st.Serial
	}
	if lineage == rp.Lineage && serial == rp.Serial {
		return "", nil, nil
	}
	serr := &StaleError{Region: rp.Region, PlanLineage: rp.Lineage, Lineage: lineage, PlanSerial: rp.Serial, Serial: serial}
	if rp.Lineage != "" && lineage != rp.Lineage {
		// The state the plan was made from was deleted or replaced: nothing
		// it saw can be trusted.
		return "", serr, nil
	}
	touched := touchedKeys(rp, st)
	var sub *state.State
	if st != nil {
		sub = st.Clone()
		sub.Resources = slices.DeleteFunc(sub.Resources, func(r state.Resource) bool {
			_, found := slices.BinarySearch(touched, r.Key())
			return !found
		})
	}
	rl, err := e.refresh(ctx, ent.drv, sub, lim, false, nil)
	if err != nil {
		return "", nil, fmt.Errorf("apply region %s: state moved on since the plan, and refreshing what the plan touches failed: %w", rp.Region, err)
	}
	now := map[string]string{}
	for _, rr := range rl {
		now[rr.res.Key()] = fingerprint(rr)
	}
	for _, k := range touched {
		planFP, inPlan := rp.Fingerprints[k]
		nowFP, inNow := now[k]
		if inPlan != inNow || planFP != nowFP {
			serr.Changed = append(serr.Changed, k)
		}
	}
	if len(serr.Changed) > 0 {
		return "", serr, nil
	}
	return fmt.Sprintf("state of region %s moved from serial %d to %d since the plan, but none of the %d resource(s) the plan reads or changes differ: applying",
		rp.Region, rp.Serial, serial, len(touched)), nil, nil
}
