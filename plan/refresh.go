package plan

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// refreshed is what refresh found of one state resource.
type refreshed struct {
	res state.Resource
	// exists is false when the cloud no longer has the object (or a pending
	// create's object was not found).
	exists bool
	// inputs and outputs are the live values (state's where the cloud does
	// not report them).
	inputs, outputs map[string]any
	// adoptID is the ID of the object a pending create made, found by Find
	// (by idempotency key) or, when state recorded the ID, read by it; or
	// of an object state does not know that the plan imports or found by
	// its tags (see adoption).
	adoptID string
	// adoption says which kind of object adoptID is.
	adoption Adoption
	// createFailed: the driver's Read says the cloud reports the object's
	// creation failed; the diff replaces it as if it were tainted.
	createFailed bool
}

// limiter bounds concurrent cloud calls globally (when the user set a
// parallelism) and per driver.
type limiter struct {
	global    chan struct{} // nil: no global bound
	perDriver map[string]chan struct{}
	// explicit: the user set the global bound, which then replaces the
	// per-driver default.
	explicit bool
}

// newLimiter bounds all calls by global; global <= 0 means no global bound.
func newLimiter(global int) *limiter {
	l := &limiter{perDriver: map[string]chan struct{}{}, explicit: global > 0}
	if global > 0 {
		l.global = make(chan struct{}, global)
	}
	return l
}

// setDriverLimit caps the provider's concurrent calls: override when the
// caller gave one (> 0), else the driver's MaxParallel; without either, a
// driver that paces its own API calls (Capabilities.RateBudgeted) gets no
// cap, any other DefaultParallelism — unless the user set a global
// parallelism, which then is the only bound. It is called before any
// acquire, once per provider.
func (l *limiter) setDriverLimit(provider string, caps providers.Capabilities, override int) {
	n := override
	switch {
	case n > 0:
	case caps.MaxParallel > 0:
		n = caps.MaxParallel
	case !caps.RateBudgeted && !l.explicit:
		n = DefaultParallelism
	}
	if n > 0 {
		l.perDriver[provider] = make(chan struct{}, n)
	}
}

// acquire takes a driver slot then a global slot, or fails when ctx ends
// first. release gives both back.
func (l *limiter) acquire(ctx context.Context, provider string) (release func(), err error) {
	d := l.perDriver[provider]
	if d != nil {
		select {
		case d <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	g := l.global
	if g != nil {
		select {
		case g <- struct{}{}:
		case <-ctx.Done():
			if d != nil {
				<-d
			}
			return nil, ctx.Err()
		}
	}
	release = func() {
		if g != nil {
			<-g
		}
		if d != nil {
			<-d
		}
	}
	if err := ctx.Err(); err != nil {
		release()
		return nil, err
	}
	return release, nil
}

// listBatch is how many resources one Lister.ReadMany call refreshes.
const listBatch = 100

// refresh reads every resource of st through drv. With skip it trusts state.
// With fleet (a Plan's batch of its provider's regions) the batched reads
// go out with every other region's of the fleet; refresh submits to it, or
// leaves it, exactly once.
func (e *Engine) refresh(ctx context.Context, drv providers.Driver, st *state.State, lim *limiter, skip bool, fleet *fleetMember) ([]*refreshed, error) {
	defer fleet.leave() // a region that submits nothing
	if st == nil {
		return nil, nil
	}
	out := make([]*refreshed, len(st.Resources))
	schemas := indexSchemas(drv.Capabilities())
	for i, r := range st.Resources {
		// Values recorded under an older schema version are upgraded
		// first (no cloud call), so reads, drift and the diff all see the
		// current shape.
		r, err := upgradeResource(ctx, drv, schemas, r)
		if err != nil {
			return nil, fmt.Errorf("refresh region %s: %w", st.Region, err)
		}
		out[i] = &refreshed{res: r, exists: r.ID != "" && r.Status != state.StatusPending, inputs: r.Inputs, outputs: r.Outputs}
	}
	if skip {
		return out, nil
	}
	e.emit(Event{Kind: EventRefreshStart, Region: st.Region, Total: len(out)})
	g, gctx := errgroup.WithContext(ctx)
	gctx = providers.WithRetryReporter(gctx, func(rr providers.RetryReport) {
		e.emit(Event{Kind: EventRetry, Region: st.Region, Err: rr.Err})
	})
	var reads []int
	for i, rr := range out {
		switch {
		case rr.res.Status == state.StatusPending && rr.res.ID == "":
			finder, ok := drv.(providers.Finder)
			if !ok {
				continue
			}
			g.Go(func() error { return e.findPending(gctx, drv, finder, st, rr, lim) })
		case rr.res.ID != "":
			reads = append(reads, i)
		}
	}
	if _, ok := drv.(providers.Lister); ok && fleet != nil && len(reads) > 0 {
		reqs := make([]providers.ReadRequest, len(reads))
		for j, i := range reads {
			reqs[j] = providers.ReadRequest{Instance: instanceOf(out[i].res)}
		}
		g.Go(func() error {
			resps, err := fleet.submit(gctx, reqs)
			if err != nil {
				return fmt.Errorf("refresh region %s: %w", st.Region, err)
			}
			for j, i := range reads {
				if err := e.applyRead(st.Region, out[i], resps[j]); err != nil {
					return err
				}
			}
			return nil
		})
	} else if lister, ok := drv.(providers.Lister); ok {
		for start := 0; start < len(reads); start += listBatch {
			batch := reads[start:min(start+listBatch, len(reads))]
			g.Go(func() error {
				reqs := make([]providers.ReadRequest, len(batch))
				for j, i := range batch {
					reqs[j] = providers.ReadRequest{Instance: instanceOf(out[i].res)}
				}
				release, err := lim.acquire(gctx, st.Provider)
				if err != nil {
					return err
				}
				resps, err := lister.ReadMany(gctx, reqs)
				release()
				if err != nil {
					return fmt.Errorf("refresh %d resources of region %s: %w", len(reqs), st.Region, err)
				}
				if len(resps) != len(reqs) {
					return fmt.Errorf("refresh region %s: driver returned %d results for %d resources", st.Region, len(resps), len(reqs))
				}
				for j, i := range batch {
					if err := e.applyRead(st.Region, out[i], resps[j]); err != nil {
						return err
					}
				}
				return nil
			})
		}
	} else {
		for _, i := range reads {
			rr := out[i]
			g.Go(func() error {
				release, err := lim.acquire(gctx, st.Provider)
				if err != nil {
					return err
				}
				resp, err := drv.Read(gctx, providers.ReadRequest{Instance: instanceOf(rr.res)})
				release()
				if err != nil {
					return fmt.Errorf("refresh %s: %w", rr.res.Key(), err)
				}
				return e.applyRead(st.Region, rr, resp)
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// applyRead records what a Read found. A pending create whose ID state
// recorded (the driver returned it with an error) is settled here: an
// object that exists is adopted (and replaced when the cloud reports its
// creation failed); one that is gone is created again under the same key.
func (e *Engine) applyRead(region string, rr *refreshed, resp providers.ReadResponse) error {
	rr.exists = resp.Exists
	rr.createFailed = resp.Exists && resp.CreateFailed
	if rr.res.Status == state.StatusPending && resp.Exists && rr.adoptID == "" {
		rr.adoptID = rr.res.ID
	}
	if resp.Exists {
		if resp.Inputs != nil {
			in, err := normalizeValues(resp.Inputs)
			if err != nil {
				return fmt.Errorf("refresh %s: live inputs: %w", rr.res.Key(), err)
			}
			rr.inputs = in
		}
		if resp.Outputs != nil {
			o, err := normalizeValues(resp.Outputs)
			if err != nil {
				return fmt.Errorf("refresh %s: outputs: %w", rr.res.Key(), err)
			}
			rr.outputs = o
		}
	}
	e.emit(Event{Kind: EventRefresh, Region: region, Address: rr.res.Key()})
	return nil
}

// findPending looks for the object an interrupted create may have made.
func (e *Engine) findPending(ctx context.Context, drv providers.Driver, finder providers.Finder, st *state.State, rr *refreshed, lim *limiter) error {
	release, err := lim.acquire(ctx, st.Provider)
	if err != nil {
		return err
	}
	defer release()
	f, err := finder.Find(ctx, providers.FindRequest{Address: rr.res.Address, Type: rr.res.Type, Inputs: rr.res.Inputs, IdempotencyKey: rr.res.IdempotencyKey})
	if err != nil {
		return fmt.Errorf("refresh %s: find interrupted create: %w", rr.res.Key(), err)
	}
	if !f.Found {
		e.emit(Event{Kind: EventRefresh, Region: st.Region, Address: rr.res.Key()})
		return nil
	}
	rr.adoptID = f.ID
	inst := instanceOf(rr.res)
	inst.ID = f.ID
	resp, err := drv.Read(ctx, providers.ReadRequest{Instance: inst})
	if err != nil {
		return fmt.Errorf("refresh %s: read found object %s: %w", rr.res.Key(), f.ID, err)
	}
	if !resp.Exists { // found, then gone
		rr.adoptID = ""
		return nil
	}
	if resp.Outputs == nil {
		resp.Outputs = f.Outputs
	}
	return e.applyRead(st.Region, rr, resp)
}

// readState reads a region's state; a region without state is nil, not an
// error.
func readState(ctx context.Context, be state.Reader, region string) (*state.State, error) {
	st, err := be.Read(ctx, region)
	if errors.Is(err, state.ErrNoState) {
		return nil, nil
	}
	return st, err
}

func instanceOf(r state.Resource) providers.Instance {
	return providers.Instance{Address: r.Address, Type: r.Type, ID: r.ID, Inputs: r.Inputs, Outputs: r.Outputs, SchemaVersion: r.SchemaVersion}
}

func (e *Engine) emit(ev Event) {
	if e.Observer != nil {
		e.Observer.OnEvent(ev)
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// parallelism is the global bound on concurrent cloud calls; 0 means none
// beyond the drivers' own (see limiter.setDriverLimit).
func (e *Engine) parallelism() int {
	return max(e.Parallelism, 0)
}
