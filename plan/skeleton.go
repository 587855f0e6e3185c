package plan

import (
	"context"
	"errors"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// errSkeleton marks the API skeleton committed so the CLI can be written
// against it; the implementation replaces this file.
var errSkeleton = errors.New("plan engine: not implemented yet (API skeleton)")

// Plan expands each region through its driver, refreshes what state records
// (in parallel, bounded by Parallelism), and diffs desired against refreshed
// into one RegionPlan per region, changes in dependency order. Errors in
// any region are returned as diagnostics (with a nil Plan when any is an
// error). With opts.Destroy the desired graph is empty and every resource in
// state is deleted in reverse dependency order.
func (e *Engine) Plan(ctx context.Context, regions []*spec.Region, opts PlanOptions) (*Plan, diag.Diagnostics) {
	return nil, diag.Diagnostics{{Severity: diag.Error, Summary: errSkeleton.Error()}}
}

// PlanDestroyFromState plans the deletion of regions known only from state
// (their spec is gone). Protect is taken from state (State.Protect).
func (e *Engine) PlanDestroyFromState(ctx context.Context, regionNames []string, opts PlanOptions) (*Plan, diag.Diagnostics) {
	return nil, diag.Diagnostics{{Severity: diag.Error, Summary: errSkeleton.Error()}}
}

// Apply carries out p. It first checks every region's state is still the
// one the plan was made from (else a *StaleError per stale region, and
// nothing is done). Then regions are applied in parallel, each by walking
// its dependency graph: an operation starts as soon as its dependencies
// finished, bounded by the global parallelism and the per-driver limit.
// State is written after every cloud operation. When ctx is cancelled no new
// operation starts; in-flight ones finish and are recorded. The result is
// returned even with an error.
func (e *Engine) Apply(ctx context.Context, p *Plan, opts ApplyOptions) (*ApplyResult, error) {
	return nil, errSkeleton
}
