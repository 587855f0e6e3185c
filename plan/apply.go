package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/state"
)

// Apply carries out p. It first checks every region's state is still the
// one the plan was made from; if any moved on it returns a *StaleError for
// each (joined) and does nothing anywhere. Then regions are applied in
// parallel, each by walking its dependency graph: an operation starts as
// soon as the operations it depends on finished, bounded by the global
// parallelism and the per-driver limit. State is written after every cloud
// operation. When an operation fails, the operations depending on it are
// skipped and independent ones go on. When ctx is cancelled no new
// operation starts; in-flight ones finish (their context is detached from
// ctx, bounded by DrainTimeout) and are recorded, then Apply returns an
// error wrapping ctx.Err(). The result is returned even with an error.
func (e *Engine) Apply(ctx context.Context, p *Plan, opts ApplyOptions) (*ApplyResult, error) {
	if p == nil {
		return nil, errors.New("apply: no plan")
	}
	if p.FormatVersion > FormatVersion {
		return nil, fmt.Errorf("apply: plan format version %d is newer than this regionctl understands (%d)", p.FormatVersion, FormatVersion)
	}
	par := opts.Parallelism
	if par <= 0 {
		par = e.parallelism()
	}
	lim := newLimiter(par)
	drivers := &driverSet{e: e}
	for _, rp := range p.Regions {
		ent, err := drivers.get(ctx, rp.Provider)
		if err != nil {
			return nil, fmt.Errorf("apply region %s: %w", rp.Region, err)
		}
		if err := e.checkDriverVersion(rp, ent.caps); err != nil {
			return nil, err
		}
		if _, set := lim.perDriver[rp.Provider]; set {
			continue
		}
		lim.setDriverLimit(rp.Provider, ent.caps, opts.PerDriverLimit[rp.Provider])
	}

	// Refuse a plan made for another target, or a stale one, before
	// touching anything. Regions without changes are not applied at all.
	states := make([]*state.State, len(p.Regions))
	targets := make([]state.Target, len(p.Regions))
	notes := make([]string, len(p.Regions))
	var refused []error
	for i, rp := range p.Regions {
		if !rp.hasChanges() {
			continue
		}
		st, err := readState(ctx, e.State, rp.Region)
		if err != nil {
			return nil, &StateError{Region: rp.Region, Err: fmt.Errorf("read state: %w", err)}
		}
		states[i] = st
		ent, _ := drivers.get(ctx, rp.Provider)
		t, err := e.regionTarget(ctx, ent.drv, rp.Region, identityResources(rp.Desired, st))
		if err != nil {
			return nil, fmt.Errorf("apply region %s: %w", rp.Region, err)
		}
		targets[i] = t
		if rp.Target == nil || !rp.Target.Same(t) {
			refused = append(refused, &TargetError{Region: rp.Region, Of: "plan", Recorded: rp.Target, Current: t})
			continue
		}
		if err := checkStateTarget(rp.Region, st, t); err != nil {
			refused = append(refused, err)
			continue
		}
		note, stale, err := e.staleness(ctx, &p.Regions[i], st, ent, lim)
		if err != nil {
			return nil, err
		}
		if stale != nil {
			refused = append(refused, stale)
		}
		notes[i] = note
	}
	if len(refused) > 0 {
		return nil, errors.Join(refused...)
	}

	res := &ApplyResult{Regions: make([]RegionResult, len(p.Regions))}
	errs := make([]error, len(p.Regions))
	run := func(idx []int) {
		var wg sync.WaitGroup
		for _, i := range idx {
			wg.Go(func() {
				if !p.Regions[i].hasChanges() {
					res.Regions[i] = RegionResult{Region: p.Regions[i].Region, Skipped: map[string]string{}, Outputs: map[string]map[string]any{}}
					return
				}
				ent, _ := drivers.get(ctx, p.Regions[i].Provider)
				res.Regions[i], errs[i] = e.applyRegion(ctx, &p.Regions[i], states[i], targets[i], ent.drv, lim, opts.Abort, p.Destroy)
				if notes[i] != "" {
					res.Regions[i].Notes = append(res.Regions[i].Notes, notes[i])
				}
			})
		}
		wg.Wait()
	}
	var all []error
	if p.Rollout == nil || p.Destroy {
		every := make([]int, len(p.Regions))
		for i := range every {
			every[i] = i
		}
		run(every)
	} else if err := e.applyWaves(ctx, p, res, errs, states, drivers, run); err != nil {
		all = append(all, err)
	}
	for i, err := range errs {
		if err != nil {
			all = append(all, fmt.Errorf("region %s: %w", p.Regions[i].Region, err))
		}
	}
	if ctx.Err() != nil {
		all = append(all, fmt.Errorf("apply interrupted: %w", ctx.Err()))
	}
	return res, errors.Join(all...)
}

// opKind is one cloud operation of the walk.
type opKind int

const (
	opCreate opKind = iota
	opUpdate
	opDelete
)

// node is one operation of a region's walk.
type node struct {
	ch *Change
	op opKind
	// adopt: record ch.AdoptID in state before the operation (first node of
	// the change only).
	adopt bool
	// deposeFirst: the create half of a create-then-delete; the current
	// object is marked deposed before the new one is created.
	deposeFirst bool
	// deleteID is the object a delete removes when known at plan time
	// (deposed objects, adopted ones), or, for the delete half of a
	// create-then-delete, the object its create half deposed.
	deleteID string
	// deposes is, on the create half of a create-then-delete, its delete
	// half.
	deposes *node

	deps, dependents []*node
	remaining        int
	status           nodeStatus
}

type nodeStatus int

const (
	nodeWaiting nodeStatus = iota
	nodeRunning
	nodeDone
	nodeFailed
	nodeSkipped
)

func (n *node) action() Action {
	switch n.op {
	case opCreate:
		return Create
	case opUpdate:
		return Update
	}
	return Delete
}

func (n *node) name() string {
	if n.ch.DeposedID != "" {
		return n.ch.Address + " (deposed " + n.ch.DeposedID + ")"
	}
	return n.ch.Address
}

// buildGraph turns a region's changes into operations and their ordering.
func buildGraph(rp *RegionPlan, st *state.State) ([]*node, error) {
	desired := map[string]*providers.Resource{}
	for i := range rp.Desired {
		desired[rp.Desired[i].Address] = &rp.Desired[i]
	}
	stateDeps := map[string][]string{} // key → dependency addresses
	if st != nil {
		for _, r := range st.Resources {
			stateDeps[r.Key()] = r.Dependencies
		}
	}
	var nodes []*node
	applyNode := map[string]*node{}     // address → create/update node
	deleteNodes := map[string][]*node{} // address → deletes of old objects there
	dependOn := func(n, dep *node) {
		if n == nil || dep == nil || n == dep || slices.Contains(n.deps, dep) {
			return
		}
		n.deps = append(n.deps, dep)
		dep.dependents = append(dep.dependents, n)
	}
	for i := range rp.Changes {
		ch := &rp.Changes[i]
		adopt := ch.AdoptID != ""
		switch ch.Action {
		case NoOp:
		case Create, Update:
			op := opCreate
			if ch.Action == Update {
				op = opUpdate
			}
			n := &node{ch: ch, op: op, adopt: adopt}
			nodes = append(nodes, n)
			applyNode[ch.Address] = n
		case DeleteThenCreate:
			del := &node{ch: ch, op: opDelete, adopt: adopt, deleteID: ch.AdoptID}
			cr := &node{ch: ch, op: opCreate}
			dependOn(cr, del)
			nodes = append(nodes, del, cr)
			applyNode[ch.Address] = cr
			deleteNodes[ch.Address] = append(deleteNodes[ch.Address], del)
		case CreateThenDelete:
			del := &node{ch: ch, op: opDelete}
			cr := &node{ch: ch, op: opCreate, adopt: adopt, deposeFirst: true, deposes: del}
			dependOn(del, cr)
			nodes = append(nodes, cr, del)
			applyNode[ch.Address] = cr
			deleteNodes[ch.Address] = append(deleteNodes[ch.Address], del)
		case Delete:
			del := &node{ch: ch, op: opDelete, adopt: adopt, deleteID: ch.DeposedID}
			if ch.AdoptID != "" {
				del.deleteID = ch.AdoptID
			}
			nodes = append(nodes, del)
			deleteNodes[ch.Address] = append(deleteNodes[ch.Address], del)
		default:
			return nil, fmt.Errorf("%s: unknown action %v", ch.Address, ch.Action)
		}
	}
	depsOfDesired := func(addr string) []string {
		if d := desired[addr]; d != nil {
			return resourceDeps(d)
		}
		return nil
	}
	// Creates and updates wait for what they depend on.
	for addr, n := range applyNode {
		for _, dep := range depsOfDesired(addr) {
			dependOn(n, applyNode[dep])
		}
	}
	// Deleting an old object waits until nothing uses it any more: the old
	// objects that depended on it are deleted, and (except when it must go
	// before its replacement) the resources that used it have moved on.
	for _, dels := range deleteNodes {
		for _, del := range dels {
			x := del.ch.Address
			for key, deps := range stateDeps {
				if !slices.Contains(deps, x) {
					continue
				}
				addr := addressOfKey(st, key)
				if addr == x {
					continue
				}
				for _, other := range deleteNodes[addr] {
					dependOn(del, other)
				}
			}
			if del.ch.Action == DeleteThenCreate {
				continue
			}
			if del.ch.DeposedID != "" {
				// The old half of a create-before-destroy goes once its
				// replacement is usable — also when an interrupted run
				// left the replacement to adopt (a separate change).
				dependOn(del, applyNode[x])
			}
			for addr, n := range applyNode {
				if addr == x {
					continue
				}
				uses := slices.Contains(depsOfDesired(addr), x)
				if cur, ok := stateDepsOf(st, addr); ok && slices.Contains(cur, x) {
					uses = true
				}
				if uses {
					dependOn(del, n)
				}
			}
		}
	}
	// Refuse a cycle rather than deadlock.
	ids := map[*node]string{}
	var keys []string
	for i, n := range nodes {
		ids[n] = fmt.Sprintf("%d", i)
		keys = append(keys, ids[n])
	}
	byID := map[string]*node{}
	for n, id := range ids {
		byID[id] = n
	}
	if _, err := topoOrder(keys, func(id string) []string {
		var out []string
		for _, d := range byID[id].deps {
			out = append(out, ids[d])
		}
		return out
	}); err != nil {
		return nil, fmt.Errorf("the plan's operations depend on each other in a cycle; plan again")
	}
	for _, n := range nodes {
		n.remaining = len(n.deps)
	}
	return nodes, nil
}

func addressOfKey(st *state.State, key string) string {
	for _, r := range st.Resources {
		if r.Key() == key {
			return r.Address
		}
	}
	return ""
}

func stateDepsOf(st *state.State, addr string) ([]string, bool) {
	if st == nil {
		return nil, false
	}
	r, ok := st.Find(addr)
	return r.Dependencies, ok
}

// regionRun is the mutable state of one region's apply.
type regionRun struct {
	e      *Engine
	rp     *RegionPlan
	drv    providers.Driver
	lim    *limiter
	wctx   context.Context // for state writes: not cancelled by the user
	result *RegionResult
	// target is recorded in every state write.
	target state.Target
	// abort cancels operations in flight (ApplyOptions.Abort).
	abort <-chan struct{}

	mu      sync.Mutex // guards st, outputs, result counters
	st      *state.State
	outputs map[string]map[string]any
	// fatal is set when state could not be written: nothing new starts.
	fatal error
	// schemas are the driver's resource schemas (versions to record).
	schemas schemaIndex
	// destroy is set for a destroy plan (DeleteRequest.Reason).
	destroy bool
}

// deleteReason tells the driver why target goes: with everything it
// depends on (a destroy, or a dependency deleted or replaced by this plan),
// as the old half of a replacement, or because the spec dropped it.
func (r *regionRun) deleteReason(ch *Change, target state.Resource) providers.DeleteReason {
	if r.destroy {
		return providers.DeleteDestroyed
	}
	for _, other := range r.rp.Changes {
		if (other.Action == Delete || other.Action.IsReplace()) && other.DeposedID == "" && slices.Contains(target.Dependencies, other.Address) {
			return providers.DeleteDestroyed
		}
	}
	if ch.Action.IsReplace() || target.Status == state.StatusDeposed {
		return providers.DeleteReplaced
	}
	return providers.DeleteRemoved
}

type nodeResult struct {
	n          *node
	err        error
	notStarted bool
}

func (e *Engine) applyRegion(ctx context.Context, rp *RegionPlan, st *state.State, target state.Target, drv providers.Driver, lim *limiter, abort <-chan struct{}, destroy bool) (RegionResult, error) {
	res := RegionResult{Region: rp.Region, Skipped: map[string]string{}, Outputs: map[string]map[string]any{}}
	if st != nil {
		res.Serial = st.Serial
	}
	if rp.RefreshOnly {
		return e.applyRefreshOnly(ctx, rp, st, target, drv, res)
	}
	nodes, err := buildGraph(rp, st)
	if err != nil {
		return res, err
	}
	run := &regionRun{e: e, rp: rp, drv: drv, lim: lim, wctx: context.WithoutCancel(ctx), result: &res, st: st, target: target, abort: abort, outputs: map[string]map[string]any{}, destroy: destroy}
	if st != nil {
		for _, r := range st.Resources {
			if r.Status == state.StatusCreated {
				run.outputs[r.Address] = r.Outputs
			}
		}
	}
	if len(nodes) > 0 && (st == nil || st.Protect != rp.Protect || st.Target == nil || *st.Target != target) {
		// Record protect (and, for a new region, the lineage) up front.
		if err := run.writeState(func(s *state.State) {}); err != nil {
			return res, err
		}
	}
	if err := run.recordRefreshedOutputs(); err != nil {
		return res, err
	}

	results := make(chan nodeResult)
	running := 0
	launch := func(n *node) {
		n.status = nodeRunning
		running++
		go func() { results <- run.runNode(ctx, n) }()
	}
	skip := func(n *node, cause string) {
		n.status = nodeSkipped
		res.Skipped[n.name()] = cause
		e.emit(Event{Kind: EventSkip, Region: rp.Region, Address: n.name(), Action: n.action(), Cause: cause})
	}
	var skipDependents func(n *node, root string)
	skipDependents = func(n *node, root string) {
		for _, d := range n.dependents {
			if d.status == nodeWaiting {
				skip(d, "depends on "+root)
				skipDependents(d, root)
			}
		}
	}
	var errs []error
	for {
		run.mu.Lock()
		fatal := run.fatal
		run.mu.Unlock()
		if ctx.Err() == nil && fatal == nil {
			for _, n := range nodes {
				if n.status == nodeWaiting && n.remaining == 0 {
					launch(n)
				}
			}
		}
		if running == 0 {
			break
		}
		r := <-results
		running--
		switch {
		case r.notStarted:
			r.n.status = nodeWaiting // reported below as cancelled
		case r.err != nil:
			r.n.status = nodeFailed
			rerr := &ResourceError{Region: rp.Region, Address: r.n.name(), Action: r.n.action(), Err: r.err}
			res.Errors = append(res.Errors, rerr)
			errs = append(errs, rerr)
			skipDependents(r.n, r.n.name())
		default:
			r.n.status = nodeDone
			for _, d := range r.n.dependents {
				d.remaining--
			}
		}
	}
	for _, n := range nodes {
		if n.status == nodeWaiting {
			cause := "cancelled"
			if run.fatal != nil {
				cause = "not started: state could not be written"
			}
			skip(n, cause)
		}
	}
	if run.fatal != nil {
		errs = append(errs, run.fatal)
	}
	run.mu.Lock()
	if run.st != nil {
		res.Serial = run.st.Serial
		for _, r := range run.st.Resources {
			if r.Status == state.StatusCreated {
				res.Outputs[r.Address] = r.Outputs
			}
		}
	}
	run.mu.Unlock()
	return res, errors.Join(errs...)
}

// recordRefreshedOutputs writes the outputs refresh found (the plan's
// Outputs) over those state records, for objects still as planned, and
// resolves references to them from now on.
func (r *regionRun) recordRefreshedOutputs() error {
	if r.st == nil || len(r.rp.Outputs) == 0 {
		return nil
	}
	return r.writeState(func(s *state.State) {
		for addr, out := range r.rp.Outputs {
			res, ok := s.Find(addr)
			if !ok || res.Status != state.StatusCreated {
				continue
			}
			res.Outputs = out
			s.Put(res)
			r.outputs[addr] = out
		}
	})
}

// writeState applies fn to a copy of the region's state and writes it with
// compare-and-swap. Writes of one region are serialized.
func (r *regionRun) writeState(fn func(s *state.State)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writeLocked(fn)
}

func (r *regionRun) writeLocked(fn func(s *state.State)) error {
	if r.fatal != nil {
		return r.fatal
	}
	var next *state.State
	var prev uint64
	if r.st == nil {
		next = state.New(r.rp.Region, r.rp.Provider, r.e.newLineage())
	} else {
		next = r.st.Clone()
		prev = r.st.Serial
	}
	fn(next)
	next.Protect = r.rp.Protect
	next.Provider = r.rp.Provider
	next.DriverVersion = r.e.driverVersion(r.drv.Capabilities())
	target := r.target
	next.Target = &target
	next.Serial = prev + 1
	if err := r.e.State.Write(r.wctx, next, prev); err != nil {
		r.fatal = &StateError{Region: r.rp.Region, Err: fmt.Errorf("write serial %d: %w", next.Serial, err)}
		return r.fatal
	}
	r.st = next
	r.result.Serial = next.Serial
	return nil
}

// runNode waits for capacity, runs one operation and records it.
func (r *regionRun) runNode(ctx context.Context, n *node) nodeResult {
	release, err := r.lim.acquire(ctx, r.rp.Provider)
	if err != nil {
		return nodeResult{n: n, notStarted: true}
	}
	defer release()
	r.mu.Lock()
	fatal := r.fatal
	r.mu.Unlock()
	if fatal != nil {
		return nodeResult{n: n, notStarted: true}
	}

	// The cloud call must outlive the user's cancellation so its result is
	// recorded; DrainTimeout bounds how long it may go on after that.
	opCtx, cancelOp := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelOp()
	opCtx = providers.WithRetryReporter(opCtx, func(rr providers.RetryReport) {
		r.e.emit(Event{Kind: EventRetry, Region: r.rp.Region, Address: n.name(), Action: n.action(), Err: rr.Err})
	})
	drain := r.e.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	stop := context.AfterFunc(ctx, func() {
		t := time.NewTimer(drain)
		defer t.Stop()
		select {
		case <-t.C:
			cancelOp()
		case <-r.abort:
			cancelOp()
		case <-opCtx.Done():
		}
	})
	defer stop()

	start := time.Now()
	ev := Event{Region: r.rp.Region, Address: n.name(), Action: n.action()}
	ev.Kind = EventStart
	r.e.emit(ev)
	tick := r.e.TickInterval
	if tick <= 0 {
		tick = DefaultTickInterval
	}
	done, tickerGone := make(chan struct{}), make(chan struct{})
	go func(te Event) {
		defer close(tickerGone)
		t := time.NewTicker(tick)
		defer t.Stop()
		te.Kind = EventTick
		for {
			select {
			case <-done:
				return
			case <-t.C:
				te.Elapsed = time.Since(start)
				r.e.emit(te)
			}
		}
	}(ev)
	err = r.do(opCtx, n)
	close(done)
	<-tickerGone // no tick after the finish event
	ev.Elapsed = time.Since(start)
	if err != nil {
		ev.Kind, ev.Err = EventFail, err
		r.e.emit(ev)
		return nodeResult{n: n, err: err}
	}
	ev.Kind = EventFinish
	r.e.emit(ev)
	return nodeResult{n: n}
}

func (r *regionRun) do(ctx context.Context, n *node) error {
	if n.adopt {
		if err := r.adopt(ctx, n.ch); err != nil {
			return err
		}
	}
	switch n.op {
	case opCreate:
		return r.create(ctx, n)
	case opUpdate:
		return r.update(ctx, n)
	default:
		return r.delete(ctx, n)
	}
}

// adopt records the object the plan adopts: one an interrupted create
// made, one an import names, or one found by its tags. An object state
// does not know is read with the desired inputs (resolved now), which give
// the driver its context (location, project, parent).
// The read settles: the driver first waits until the object is usable (a
// cluster ACTIVE, its endpoint and CA known), so what is recorded as
// created is complete before any dependent starts.
func (r *regionRun) adopt(ctx context.Context, ch *Change) error {
	cur, ok := r.find(ch.Address)
	inst := instanceOf(cur)
	if !ok {
		cur = state.Resource{Address: ch.Address, Type: ch.Type}
		inst = instanceOf(cur)
		if in, err := r.resolve(ch); err == nil {
			inst.Inputs = in
		} else {
			inst.Inputs = ch.Before
		}
		inst.SchemaVersion = r.schemas.of(r.drv)[ch.Type].Version
	}
	inst.ID = ch.AdoptID
	resp, err := r.drv.Read(ctx, providers.ReadRequest{Instance: inst, Settle: true})
	if err != nil {
		return fmt.Errorf("adopt %s: %w", ch.AdoptID, err)
	}
	if !resp.Exists {
		return fmt.Errorf("adopt %s: the object found at plan time is gone; plan again", ch.AdoptID)
	}
	cur.ID, cur.Status = ch.AdoptID, state.StatusCreated
	if resp.CreateFailed {
		cur.Status = state.StatusTainted // a replacement replaces it
	}
	if resp.Inputs != nil {
		cur.Inputs = resp.Inputs
	}
	if resp.Outputs != nil {
		cur.Outputs = resp.Outputs
	}
	if err := r.record(ch.Address, cur); err != nil {
		return err
	}
	if resp.CreateFailed && !ch.Action.IsReplace() && ch.Action != Delete {
		// It failed while it settled: updating it would record a broken
		// object as created.
		return fmt.Errorf("adopt %s: %s; it is now tainted: plan again to replace it", ch.AdoptID, reasonFailed)
	}
	return nil
}

// record puts res in state (normalized, at the current schema version of
// its type: the driver just wrote or read it) and remembers its outputs.
func (r *regionRun) record(addr string, res state.Resource) error {
	res.SchemaVersion = r.schemas.of(r.drv)[res.Type].Version
	var err error
	if res.Inputs, err = normalizeValues(res.Inputs); err != nil {
		return err
	}
	if res.Outputs, err = normalizeValues(res.Outputs); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.writeLocked(func(s *state.State) { s.Put(res) }); err != nil {
		return err
	}
	if res.Status == state.StatusCreated {
		r.outputs[addr] = res.Outputs
	}
	return nil
}

// resolve returns the change's inputs with every reference replaced by the
// outputs known now (state's, and those produced so far in this run). The
// references come from the desired graph: the plan's After shows values
// that were known at plan time already resolved, but apply takes them from
// the freshest outputs. A plan without the resource in Desired falls back
// to After.
func (r *regionRun) resolve(ch *Change) (providers.Values, error) {
	in := map[string]any(ch.After)
	if d := r.desired(ch.Address); d != nil {
		in = map[string]any(d.Inputs)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok, missing := resolveRefs(in, func(addr, output string) (any, bool) {
		o, ok := r.outputs[addr]
		if !ok {
			return nil, false
		}
		val, ok := o[output]
		return val, ok
	})
	if !ok {
		return nil, fmt.Errorf("input refers to %s, which is not known", missing)
	}
	m, _ := v.(map[string]any)
	return providers.Values(m), nil
}

// find returns the current state resource at addr.
func (r *regionRun) find(addr string) (state.Resource, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.st == nil {
		return state.Resource{}, false
	}
	return r.st.Find(addr)
}

func (r *regionRun) desired(addr string) *providers.Resource {
	for i := range r.rp.Desired {
		if r.rp.Desired[i].Address == addr {
			return &r.rp.Desired[i]
		}
	}
	return nil
}

func (r *regionRun) create(ctx context.Context, n *node) error {
	ch := n.ch
	inputs, err := r.resolve(ch)
	if err != nil {
		return err
	}
	var deps []string
	stateful := ch.Stateful
	if d := r.desired(ch.Address); d != nil {
		deps = resourceDeps(d)
		stateful = d.Stateful
	}
	key := ch.IdempotencyKey
	if key == "" {
		key = uuid.NewString()
	}

	// A create that state says is pending under the same key may have
	// happened since the plan: look before creating again.
	prior, hadPrior := r.find(ch.Address)
	if hadPrior && prior.Status == state.StatusPending && prior.IdempotencyKey == key {
		if prior.ID != "" {
			// The driver returned this ID with an error last time; a plan
			// made without refresh has not looked at it yet.
			live, err := r.drv.Read(ctx, providers.ReadRequest{Instance: instanceOf(prior), Settle: true})
			if err != nil {
				return fmt.Errorf("read %s, made by an interrupted create: %w", prior.ID, err)
			}
			if live.Exists && live.CreateFailed {
				prior.Status = state.StatusTainted
				if werr := r.record(ch.Address, prior); werr != nil {
					return werr
				}
				return fmt.Errorf("%s, made by an interrupted create, %s: it is now tainted; plan again to replace it", prior.ID, reasonFailed)
			}
			if live.Exists {
				out := live.Outputs
				if out == nil {
					out = prior.Outputs
				}
				return r.recordCreated(ch, key, inputs, deps, stateful, prior.ID, out)
			}
		}
		if finder, ok := r.drv.(providers.Finder); ok {
			f, err := finder.Find(ctx, providers.FindRequest{Address: ch.Address, Type: ch.Type, Inputs: inputs, IdempotencyKey: key, Settle: true})
			if err != nil {
				return fmt.Errorf("look for interrupted create: %w", err)
			}
			if f.Found {
				return r.recordCreated(ch, key, inputs, deps, stateful, f.ID, f.Outputs)
			}
		}
	}

	pending := state.Resource{Address: ch.Address, Type: ch.Type, Status: state.StatusPending, IdempotencyKey: key, Inputs: inputs, Dependencies: deps, Stateful: stateful,
		SchemaVersion: r.schemas.of(r.drv)[ch.Type].Version}
	if pending.Inputs, err = normalizeValues(inputs); err != nil {
		return err
	}
	err = r.writeState(func(s *state.State) {
		if n.deposeFirst {
			if old, ok := s.Find(ch.Address); ok && old.ID != "" {
				s.Remove(old.Key())
				old.Status = state.StatusDeposed
				s.Put(old)
				n.deposes.deleteID = old.ID
			}
		}
		s.Put(pending)
	})
	if err != nil {
		return err
	}
	resp, err := r.drv.Create(ctx, providers.CreateRequest{Address: ch.Address, Type: ch.Type, Inputs: inputs, IdempotencyKey: key})
	if err != nil {
		if resp.ID != "" {
			// The cloud assigned an ID. Only when the cloud itself says the
			// creation failed is the object tainted (the next plan replaces
			// it). Any other error — a lost reply, a timeout, throttled or
			// failing polls — says nothing about the object: it stays
			// pending with its ID, and the next refresh reads it to find
			// out (adopt it, replace it, or create it again).
			rec := pending
			rec.ID, rec.Outputs = resp.ID, resp.Outputs
			if providers.Classify(err) == providers.ClassCreateFailed {
				rec.Status = state.StatusTainted
			}
			if werr := r.record(ch.Address, rec); werr != nil {
				return errors.Join(err, werr)
			}
		}
		// Without an ID it stays pending too: the next plan finds it by
		// its key or creates it again under the same key.
		return err
	}
	if resp.ID == "" {
		return fmt.Errorf("driver created %s but returned no ID", ch.Address)
	}
	return r.recordCreated(ch, key, inputs, deps, stateful, resp.ID, resp.Outputs)
}

func (r *regionRun) recordCreated(ch *Change, key string, inputs providers.Values, deps []string, stateful bool, id string, outputs providers.Values) error {
	res := state.Resource{Address: ch.Address, Type: ch.Type, ID: id, Status: state.StatusCreated, IdempotencyKey: key,
		Inputs: inputs, Outputs: outputs, Dependencies: deps, Stateful: stateful}
	if err := r.record(ch.Address, res); err != nil {
		return fmt.Errorf("created %s (ID %s) but could not record it: %w", ch.Address, id, err)
	}
	r.mu.Lock()
	r.result.Added++
	r.mu.Unlock()
	return nil
}

func (r *regionRun) update(ctx context.Context, n *node) error {
	ch := n.ch
	inputs, err := r.resolve(ch)
	if err != nil {
		return err
	}
	if inputs, err = normalizeValues(inputs); err != nil {
		return err
	}
	cur, ok := r.find(ch.Address)
	if !ok || cur.ID == "" {
		return fmt.Errorf("state has no object to update; plan again")
	}
	if cur, err = upgradeResource(ctx, r.drv, r.schemas.of(r.drv), cur); err != nil {
		return err
	}
	var changed []string
	keys := map[string]bool{}
	for k := range inputs {
		keys[k] = true
	}
	for k := range cur.Inputs {
		keys[k] = true
	}
	// A key differs when it differs from what state recorded or from what
	// refresh saw live at plan time (drift to repair) — a wanted key the
	// cloud no longer reported included, as the plan counts it.
	live, _ := normalizeValues(ch.Before)
	for k := range live {
		keys[k] = true
	}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		_, wasLive := live[k]
		_, wanted := inputs[k]
		if !equalValues(inputs[k], cur.Inputs[k]) || ((wasLive || wanted && ch.Before != nil) && !equalValues(inputs[k], live[k])) {
			changed = append(changed, k)
		}
	}
	outputs := cur.Outputs
	if len(changed) > 0 {
		resp, err := r.drv.Update(ctx, providers.UpdateRequest{Instance: instanceOf(cur), Inputs: inputs, Changed: changed})
		if err != nil {
			// State keeps the inputs it had; the next plan shows the
			// difference again (and any partial change as drift).
			return err
		}
		if resp.Outputs != nil {
			outputs = resp.Outputs
		}
	}
	cur.Inputs, cur.Outputs, cur.Status = inputs, outputs, state.StatusCreated
	if d := r.desired(ch.Address); d != nil {
		cur.Dependencies, cur.Stateful = resourceDeps(d), d.Stateful
	}
	if err := r.record(ch.Address, cur); err != nil {
		return fmt.Errorf("updated %s but could not record it: %w", ch.Address, err)
	}
	if len(changed) > 0 {
		r.mu.Lock()
		r.result.Changed++
		r.mu.Unlock()
	}
	return nil
}

func (r *regionRun) delete(ctx context.Context, n *node) error {
	ch := n.ch
	r.mu.Lock()
	var target state.Resource
	found := false
	if r.st != nil {
		for _, res := range r.st.Resources {
			if res.Address != ch.Address {
				continue
			}
			switch {
			case n.deleteID != "":
				if res.ID == n.deleteID {
					target, found = res, true
				}
			case ch.Action != CreateThenDelete && res.Status != state.StatusDeposed:
				target, found = res, true
			}
		}
	}
	r.mu.Unlock()
	if !found {
		return nil // already gone from state: nothing to do
	}
	if target.ID != "" {
		inst, err := upgradeResource(ctx, r.drv, r.schemas.of(r.drv), target)
		if err != nil {
			return err
		}
		req := providers.DeleteRequest{Instance: instanceOf(inst), Reason: r.deleteReason(ch, target)}
		if _, err := r.drv.Delete(ctx, req); err != nil && !errors.Is(err, providers.ErrNotFound) {
			return err
		}
	}
	err := r.writeState(func(s *state.State) { s.Remove(target.Key()) })
	if err != nil {
		return fmt.Errorf("deleted %s but could not record it: %w", target.Key(), err)
	}
	r.mu.Lock()
	delete(r.outputs, ch.Address)
	if target.ID != "" {
		r.result.Destroyed++
	}
	r.mu.Unlock()
	return nil
}
