package plan

import (
	"context"
	"fmt"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// applyRefreshOnly applies a refresh-only region plan: it changes nothing
// in the cloud and records what refresh found, in one state write — the
// live inputs of drifted objects, the outputs that changed, and the removal
// of objects deleted outside regionctl. Each object it touches is first
// upgraded to its type's current schema version, the shape refresh saw.
// Pending creates are left for the next plan to settle.
func (e *Engine) applyRefreshOnly(ctx context.Context, rp *RegionPlan, st *state.State, target state.Target, drv providers.Driver, res RegionResult) (RegionResult, error) {
	if st == nil {
		return res, nil
	}
	schemas := indexSchemas(drv.Capabilities())
	next := st.Clone()
	current := func(key string) (state.Resource, bool, error) {
		for _, r := range next.Resources {
			if r.Key() == key {
				up, err := upgradeResource(ctx, drv, schemas, r)
				return up, true, err
			}
		}
		return state.Resource{}, false, nil
	}
	var removed, updated, outputs int
	for _, d := range rp.Drift {
		cur, ok, err := current(d.Address)
		switch {
		case err != nil:
			return res, err
		case !ok:
			continue // gone from state since the plan (the stale check let it through)
		case d.Deleted:
			next.Remove(d.Address)
			removed++
			continue
		}
		if cur.Inputs, err = normalizeValues(d.After); err != nil {
			return res, fmt.Errorf("%s: %w", d.Address, err)
		}
		next.Put(cur)
		updated++
	}
	for addr, out := range rp.Outputs {
		cur, ok, err := current(addr)
		if err != nil {
			return res, err
		}
		if !ok || cur.Status != state.StatusCreated {
			continue
		}
		if cur.Outputs, err = normalizeValues(out); err != nil {
			return res, fmt.Errorf("%s: %w", addr, err)
		}
		next.Put(cur)
		outputs++
	}
	next.Target = &target
	next.Serial = st.Serial + 1
	if err := e.State.Write(context.WithoutCancel(ctx), next, st.Serial); err != nil {
		return res, &StateError{Region: rp.Region, Err: fmt.Errorf("write serial %d: %w", next.Serial, err)}
	}
	res.Serial = next.Serial
	for _, r := range next.Resources {
		if r.Status == state.StatusCreated {
			res.Outputs[r.Address] = r.Outputs
		}
	}
	res.Notes = append(res.Notes, fmt.Sprintf("region %s: recorded what refresh found, changing nothing in the cloud: new values of %d object(s), new outputs of %d, %d deleted outside regionctl forgotten",
		rp.Region, updated, outputs, removed))
	return res, nil
}
