package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// DriverTargetError is what Engine.Drivers returns to refuse the run's
// target for a driver, such as --sandbox for a driver that has no emulator
// (it would reach its real cloud). Plan reports it as a target problem, not
// a cloud one.
type DriverTargetError struct {
	Driver string
	// Reason is the whole message, with what to do instead.
	Reason string
}

func (e *DriverTargetError) Error() string { return e.Reason }

// IsWrongTarget reports whether err refuses the run's target rather than
// failing in the cloud: a driver the target cannot have
// (DriverTargetError) or credentials acting in another account than the
// spec names (providers.ErrWrongAccount). Such errors are reported as
// target problems (diag.SourceTarget, the CLI's exit code 9).
func IsWrongTarget(err error) bool {
	var dt *DriverTargetError
	return errors.As(err, &dt) || errors.Is(err, providers.ErrWrongAccount)
}

// TargetError is returned when a plan or a region's state was made for
// another target than the run's: the sandbox and a real cloud, two
// sandboxes, or two cloud accounts. Nothing is changed anywhere.
type TargetError struct {
	Region string
	// Of is what carries the other target: "plan" or "state".
	Of string
	// Recorded is the target the plan or state names (nil: a plan file
	// from a regionctl that did not record targets); Current the run's.
	Recorded *state.Target
	Current  state.Target
}

func (e *TargetError) Error() string {
	if e.Recorded == nil {
		return fmt.Sprintf("the %s of region %s does not say which target it was made for (made by an older regionctl); this run targets %s: plan again", e.Of, e.Region, e.Current)
	}
	fix := "plan again against this target"
	switch {
	case e.Recorded.IsSandbox() && !e.Current.IsSandbox():
		fix = "run it with --sandbox (and the same --sandbox-dir); nothing was sent to the real cloud"
	case !e.Recorded.IsSandbox() && e.Current.IsSandbox():
		fix = "run it without --sandbox, with credentials for " + e.Recorded.Account
	case e.Recorded.Sandbox != e.Current.Sandbox:
		fix = "use --sandbox-dir " + e.Recorded.SandboxDir + ", or plan again against this sandbox"
	case e.Recorded.Account != e.Current.Account:
		fix = "use credentials for " + e.Recorded.Account + ", or plan again with these"
	}
	return fmt.Sprintf("the %s of region %s was made against %s, but this run targets %s: refusing; %s", e.Of, e.Region, e.Recorded, e.Current, fix)
}

// AccountError is a failure to learn which cloud account a region's calls
// act in (credentials missing or refused): the cloud's problem, not the
// spec's or the plan's.
type AccountError struct {
	Region string
	Err    error
}

func (e *AccountError) Error() string {
	return fmt.Sprintf("region %s: resolve the cloud account: %v", e.Region, e.Err)
}

func (e *AccountError) Unwrap() error { return e.Err }

// regionTarget is where a region's calls go: the engine's sandbox (or a
// real cloud), and the account the driver names when it implements
// providers.Identifier.
func (e *Engine) regionTarget(ctx context.Context, drv providers.Driver, region string, resources []providers.Resource) (state.Target, error) {
	t := state.Target{Sandbox: e.Sandbox, SandboxDir: e.SandboxDir}
	idr, ok := drv.(providers.Identifier)
	if !ok {
		return t, nil
	}
	resp, err := idr.Identity(ctx, providers.IdentityRequest{Region: region, Resources: resources})
	if err != nil {
		return t, &AccountError{Region: region, Err: err}
	}
	t.Account, t.Principal = resp.Identity.Account(), resp.Identity.Principal
	return t, nil
}

// identityResources are what a driver reads a region's account from: the
// desired graph, else (destroy) what state holds.
func identityResources(desired []providers.Resource, st *state.State) []providers.Resource {
	if len(desired) > 0 || st == nil {
		return desired
	}
	out := make([]providers.Resource, 0, len(st.Resources))
	for _, r := range st.Resources {
		out = append(out, providers.Resource{Address: r.Address, Type: r.Type, Inputs: r.Inputs})
	}
	return out
}

// checkStateTarget refuses a state written against another target.
func checkStateTarget(region string, st *state.State, cur state.Target) error {
	if st == nil || st.Target == nil || st.Target.Same(cur) {
		return nil // state from before targets were recorded is adopted
	}
	return &TargetError{Region: region, Of: "state", Recorded: st.Target, Current: cur}
}
