package plan

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// Defaults used when the Engine's fields are zero.
const (
	// DefaultParallelism bounds the concurrent cloud operations of a
	// driver that does not pace its own API calls (it is not
	// Capabilities.RateBudgeted and sets no MaxParallel), across all
	// regions of one Plan or Apply, when the user set no Parallelism.
	DefaultParallelism = 10
	// DefaultTickInterval is how often a long operation reports progress.
	DefaultTickInterval = 30 * time.Second
	// DefaultDrainTimeout is how long an in-flight cloud call may keep
	// running after the user cancelled, so its result can be recorded.
	DefaultDrainTimeout = 30 * time.Minute
)

// Engine plans and applies regions. The caller holds the regions' state
// locks (state.Locker) around Plan+Apply; the engine reads and writes state
// but never locks.
type Engine struct {
	// Drivers returns the driver for a provider name (usually
	// providers.Registry.New with the CLI's options). It is called once per
	// provider per Plan or Apply.
	Drivers func(ctx context.Context, provider string) (providers.Driver, error)
	// State stores the regions' state.
	State state.Backend
	// Parallelism bounds concurrent cloud calls (reads during refresh,
	// create/update/delete during apply) across all regions and drivers.
	// 0 means no global bound: drivers that pace their own calls with rate
	// budgets (Capabilities.RateBudgeted) run unbounded, the others at
	// most MaxParallel, else DefaultParallelism, at once.
	Parallelism int
	// Observer receives progress events; nil discards them.
	Observer Observer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// NewLineage returns a fresh state lineage for a region applied for the
	// first time; nil means a random UUID.
	NewLineage func() string
	// TickInterval is how often a long operation emits an EventTick; 0 means
	// DefaultTickInterval.
	TickInterval time.Duration
	// DrainTimeout bounds an in-flight cloud call after cancellation; 0
	// means DefaultDrainTimeout.
	DrainTimeout time.Duration
	// DefaultDriverVersion is recorded (in plans and state) as the version
	// of a driver whose Capabilities.Version is empty: the CLI sets
	// regionctl's own version, the version of the drivers built into it.
	DefaultDriverVersion string
	// Sandbox is the ID of the sandbox the drivers point at, and
	// SandboxDir where it is (for messages); empty for real clouds. Plans
	// and state record the target (state.Target, with the account each
	// driver names); Plan refuses a state, and Apply a plan or a state,
	// made for another target.
	Sandbox, SandboxDir string
}

// PlanOptions change what Plan does.
type PlanOptions struct {
	// Destroy plans the deletion of everything in the regions' state.
	Destroy bool
	// AllowDestroy lets a plan destroy or replace Stateful resources of a
	// region whose spec sets protect (the CLI's --allow-destroy).
	AllowDestroy bool
	// SkipRefresh diffs against state as recorded, without reading the
	// cloud (the CLI's --refresh=false). Drift is then not detected, and
	// objects state does not know are not looked for by their tags
	// (import blocks are still read: the user asked for them).
	SkipRefresh bool
	// RefreshOnly plans no change at all: the plan shows what refresh
	// found changed outside regionctl, and applying it records that in
	// state (the CLI's --refresh-only). Imports and adoptions wait for a
	// normal plan.
	RefreshOnly bool
	// Targets limit the plan to these resources and what they need (the
	// CLI's repeated --target): each is an address "REGION/TYPE.NAME", or
	// a spec element ("cluster", "cluster.nodePools.NAME", ...) or
	// "TYPE.NAME", which match in every region planned. A target's
	// dependencies are included; for a deletion, the resources that depend
	// on it. A target that matches nothing is an error.
	Targets []string
	// Replace forces the replacement of these resources (same forms as
	// Targets; the CLI's repeated --replace), with the usual
	// create-before-destroy rules and protect.
	Replace []string
}

// ApplyOptions change what Apply does.
type ApplyOptions struct {
	// Parallelism overrides Engine.Parallelism when > 0.
	Parallelism int
	// PerDriverLimit caps concurrent operations per provider name; when a
	// provider has no entry its Capabilities.MaxParallel applies, else the
	// default of Engine.Parallelism.
	PerDriverLimit map[string]int
	// Abort, when closed after the caller cancelled ctx, stops waiting for
	// the operations in flight: their contexts are cancelled at once (a
	// second Ctrl-C). A create cut off this way stays pending in state and
	// is adopted, or made again under the same idempotency key, next run.
	Abort <-chan struct{}
}

// ApplyResult is what Apply did, region by region in plan order.
type ApplyResult struct {
	Regions []RegionResult
}

// RegionResult is what Apply did to one region.
type RegionResult struct {
	Region string
	// Added, Changed and Destroyed count successful operations; a
	// replacement counts as one add and one destroy.
	Added, Changed, Destroyed int
	// Errors are the failed operations, each root cause once.
	Errors []*ResourceError
	// Skipped are the addresses not applied because a dependency failed or
	// the run was cancelled, with the reason ("depends on X", "cancelled").
	Skipped map[string]string
	// Outputs are the outputs of every current resource after apply, by
	// address.
	Outputs map[string]map[string]any
	// Serial is the state serial after the last write.
	Serial uint64
	// Notes say what a person should know about the run, such as a plan
	// applied although the region's state moved on since (nothing it
	// touches changed).
	Notes []string
}

// StateError is a failure to read or write a region's state: the state
// backend's problem, not the cloud's.
type StateError struct {
	Region string
	Err    error
}

func (e *StateError) Error() string { return fmt.Sprintf("region %s: state: %v", e.Region, e.Err) }

func (e *StateError) Unwrap() error { return e.Err }

// ResourceError is a failed operation on one resource.
type ResourceError struct {
	Region, Address string
	Action          Action
	Err             error
}

func (e *ResourceError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Address, e.Action, e.Err)
}

func (e *ResourceError) Unwrap() error { return e.Err }

// StaleError is returned by Apply when a region's state changed since the
// plan was made: another run applied in between. Apply does nothing in any
// region when one is stale; the user plans again.
type StaleError struct {
	Region string
	// PlanLineage/PlanSerial are the state the plan was made from; Lineage
	// and Serial the state found now.
	PlanLineage, Lineage string
	PlanSerial, Serial   uint64
	// Changed are the state keys whose refreshed fingerprint differs from
	// the plan's (changed, appeared or vanished), sorted.
	Changed []string
}

func (e *StaleError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "plan for region %s is stale: state moved from serial %d to %d", e.Region, e.PlanSerial, e.Serial)
	if e.PlanLineage != e.Lineage {
		fmt.Fprintf(&b, " (lineage %q is now %q)", e.PlanLineage, e.Lineage)
	}
	if len(e.Changed) > 0 {
		fmt.Fprintf(&b, "; changed since the plan: %s", strings.Join(e.Changed, ", "))
	}
	b.WriteString("; run plan again")
	return b.String()
}

// EventKind says what an Event reports.
type EventKind int

const (
	// EventStart: an operation on a resource started.
	EventStart EventKind = iota
	// EventTick: a long operation is still running (Elapsed so far).
	EventTick
	// EventFinish: an operation succeeded.
	EventFinish
	// EventFail: an operation failed (Err).
	EventFail
	// EventSkip: an operation was not started (Cause says why).
	EventSkip
	// EventRefresh: a resource was read during plan.
	EventRefresh
	// EventRefreshStart: a region's refresh starts; Total resources are
	// in its state.
	EventRefreshStart
	// EventRetry: a cloud call of an operation (or of a region's refresh,
	// with no Address) failed with Err and is retried (reported by drivers
	// through providers.ReportRetry).
	EventRetry
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventStart:
		return "start"
	case EventTick:
		return "tick"
	case EventFinish:
		return "finish"
	case EventFail:
		return "fail"
	case EventSkip:
		return "skip"
	case EventRefresh:
		return "refresh"
	case EventRefreshStart:
		return "refresh-start"
	case EventRetry:
		return "retry"
	}
	return "unknown"
}

// Event is one progress report.
type Event struct {
	Kind    EventKind
	Region  string
	Address string
	// Action is the change's action; for the two halves of a replacement it
	// is Create or Delete.
	Action Action
	// Elapsed is the time since the operation started (Tick, Finish, Fail).
	Elapsed time.Duration
	// Err is the failure (Fail).
	Err error
	// Cause explains a skip: "depends on ADDRESS" or "cancelled".
	Cause string
	// Total is, for EventRefreshStart, how many resources the region's
	// state holds.
	Total int
}

// Observer receives progress events. It is called from many goroutines at
// once and must not block for long.
type Observer interface {
	OnEvent(Event)
}

// ObserverFunc adapts a function to an Observer.
type ObserverFunc func(Event)

// OnEvent calls f.
func (f ObserverFunc) OnEvent(e Event) { f(e) }
