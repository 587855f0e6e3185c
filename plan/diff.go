package plan

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// regionInput is one region to plan: from a spec, or (destroy) from state.
type regionInput struct {
	name, provider string
	spec           *spec.Region // nil when planned from state alone
}

// driverSet builds each provider's driver once per Plan or Apply.
type driverSet struct {
	e  *Engine
	mu sync.Mutex
	m  map[string]driverEntry
}

type driverEntry struct {
	drv  providers.Driver
	caps providers.Capabilities
	err  error
}

func (s *driverSet) get(ctx context.Context, provider string) (driverEntry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ent, ok := s.m[provider]; ok {
		return ent, ent.err
	}
	var ent driverEntry
	if s.e.Drivers == nil {
		ent.err = errors.New("engine has no driver source")
	} else {
		ent.drv, ent.err = s.e.Drivers(ctx, provider)
		if ent.err == nil && ent.drv == nil {
			ent.err = fmt.Errorf("no driver for provider %q", provider)
		}
		if ent.err == nil {
			ent.caps = ent.drv.Capabilities()
		}
	}
	if s.m == nil {
		s.m = map[string]driverEntry{}
	}
	s.m[provider] = ent
	return ent, ent.err
}

// Plan expands each region through its driver, refreshes what state records
// (in parallel, bounded by Parallelism and the drivers' limits), and
// diffs desired against refreshed into one RegionPlan per region, changes in
// dependency order. Problems in any region are returned as diagnostics, all
// regions' together; the Plan is nil when any is an error. With
// opts.Destroy the desired graph is empty and every resource in state is
// deleted in reverse dependency order.
func (e *Engine) Plan(ctx context.Context, regions []*spec.Region, opts PlanOptions) (*Plan, diag.Diagnostics) {
	var ds diag.Diagnostics
	seen := map[string]bool{}
	inputs := make([]regionInput, 0, len(regions))
	for _, r := range regions {
		if r == nil {
			continue
		}
		if seen[r.Metadata.Name] {
			ds = ds.Errorf(r.Pos("metadata.name"), "metadata.name", "region %q is defined twice", r.Metadata.Name)
			continue
		}
		seen[r.Metadata.Name] = true
		inputs = append(inputs, regionInput{name: r.Metadata.Name, provider: r.Spec.Provider, spec: r})
	}
	if ds.HasErrors() {
		return nil, ds
	}
	return e.plan(ctx, inputs, opts)
}

// PlanDestroyFromState plans the deletion of regions known only from state
// (their spec is gone): each region's provider and protect flag are read
// from its state. A region without state is an error.
func (e *Engine) PlanDestroyFromState(ctx context.Context, regionNames []string, opts PlanOptions) (*Plan, diag.Diagnostics) {
	var ds diag.Diagnostics
	var inputs []regionInput
	for _, name := range regionNames {
		st, err := e.State.Read(ctx, name)
		switch {
		case errors.Is(err, state.ErrNoState):
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf("region %q has no state: nothing to destroy", name)})
			continue
		case err != nil:
			ds = append(ds, diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf("read state of region %s: %v", name, err)})
			continue
		}
		inputs = append(inputs, regionInput{name: name, provider: st.Provider})
	}
	if ds.HasErrors() {
		return nil, ds
	}
	opts.Destroy = true
	return e.plan(ctx, inputs, opts)
}

func (e *Engine) plan(ctx context.Context, inputs []regionInput, opts PlanOptions) (*Plan, diag.Diagnostics) {
	if ds := checkOptions(opts); ds.HasErrors() {
		return nil, ds
	}
	drivers := &driverSet{e: e}
	lim := newLimiter(e.parallelism())
	// Per-driver limits need the drivers' capabilities before any call.
	var ds diag.Diagnostics
	for _, in := range inputs {
		ent, err := drivers.get(ctx, in.provider)
		if err != nil {
			d := diag.Diagnostic{Severity: diag.Error, Source: diag.SourceCloud, Summary: fmt.Sprintf("region %s: %v", in.name, err), Path: "spec.provider"}
			if IsWrongTarget(err) {
				d.Source = diag.SourceTarget
			}
			if in.spec != nil {
				d.Pos = in.spec.Pos("spec.provider")
			}
			ds = append(ds, d)
			continue
		}
		if _, set := lim.perDriver[in.provider]; !set {
			lim.setDriverLimit(in.provider, ent.caps, 0)
		}
	}
	if ds.HasErrors() {
		return nil, ds
	}

	// The batched reads of each provider's regions go out together.
	fleets := map[string]*fleetRefresh{}
	for _, in := range inputs {
		if f := fleets[in.provider]; f != nil {
			f.expected++
			continue
		}
		ent, _ := drivers.get(ctx, in.provider)
		if _, ok := ent.drv.(providers.Lister); !ok {
			continue
		}
		fleets[in.provider] = newFleetRefresh(ctx, 1, func(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
			release, err := lim.acquire(ctx, in.provider)
			if err != nil {
				return nil, err
			}
			defer release()
			return ent.drv.(providers.Lister).ReadMany(ctx, reqs)
		})
	}

	plans := make([]RegionPlan, len(inputs))
	diags := make([]diag.Diagnostics, len(inputs))
	sh := &planShared{idx: &stateIndex{e: e}, targets: newPatterns(opts.Targets), replace: newPatterns(opts.Replace)}
	var wg sync.WaitGroup
	for i, in := range inputs {
		var member *fleetMember
		if f := fleets[in.provider]; f != nil {
			member = &fleetMember{f: f}
		}
		wg.Go(func() {
			defer member.leave() // a region that failed before its refresh
			ent, _ := drivers.get(ctx, in.provider)
			plans[i], diags[i] = e.planRegion(ctx, in, ent, lim, opts, sh, member)
		})
	}
	wg.Wait()
	for _, d := range diags {
		ds = append(ds, d...)
	}
	if !ds.HasErrors() {
		ds = append(ds, sh.unmatched(opts)...)
	}
	if ds.HasErrors() {
		ds.Sort()
		return nil, ds
	}
	p := &Plan{FormatVersion: baseFormatVersion, Created: e.now().UTC(), Destroy: opts.Destroy, RefreshOnly: opts.RefreshOnly,
		Targets: slices.Clone(opts.Targets), Replace: slices.Clone(opts.Replace), Regions: plans}
	if opts.Rollout != nil && !opts.Destroy {
		var rds diag.Diagnostics
		p.Rollout, rds = planRollout(opts.Rollout, plans)
		if ds = append(ds, rds...); ds.HasErrors() {
			ds.Sort()
			return nil, ds
		}
		p.FormatVersion = rolloutFormatVersion
	}
	return p, ds
}

// planShared is what the regions of one Plan share: the index of every
// region's state (read only when an adoption needs it) and which
// --target and --replace patterns matched something.
type planShared struct {
	idx              *stateIndex
	targets, replace *patterns
}

// regionDiag makes an error diagnostic about a region, placed in its spec
// when there is one.
func regionDiag(in regionInput, path, format string, args ...any) diag.Diagnostic {
	d := diag.Diagnostic{Severity: diag.Error, Summary: fmt.Sprintf("region %s: ", in.name) + fmt.Sprintf(format, args...), Path: path}
	if in.spec != nil {
		d.Pos = in.spec.Pos(path)
		if in.spec.Source != nil && d.Pos.File == "" {
			d.Pos.File = in.spec.Source.File
		}
	}
	return d
}

// expandRegion checks a region's spec against its driver and expands it
// into the desired graph, in dependency order.
func expandRegion(ctx context.Context, in regionInput, ent driverEntry) ([]*providers.Resource, []string, diag.Diagnostics) {
	ds := providers.CheckRegion(in.spec, ent.caps)
	if v, ok := ent.drv.(providers.Validator); ok {
		ds = append(ds, v.Validate(ctx, in.spec)...)
	}
	if ds.HasErrors() {
		return nil, nil, ds
	}
	resp, err := ent.drv.Expand(ctx, providers.ExpandRequest{Region: in.spec})
	if err != nil {
		return nil, nil, append(ds, regionDiag(in, "", "driver %s could not expand the region: %v", in.provider, err))
	}
	ds = append(ds, resp.Diagnostics...)
	desired, gds := checkGraph(in, resp.Resources)
	return desired, resp.Notes, append(ds, gds...)
}

func (e *Engine) planRegion(ctx context.Context, in regionInput, ent driverEntry, lim *limiter, opts PlanOptions, sh *planShared, fleet *fleetMember) (RegionPlan, diag.Diagnostics) {
	rp := RegionPlan{Region: in.name, Provider: in.provider, RefreshOnly: opts.RefreshOnly, DriverVersion: e.driverVersion(ent.caps)}
	var ds diag.Diagnostics

	// 1. Check and expand the spec.
	var desired []*providers.Resource
	if in.spec != nil && !opts.Destroy {
		var eds diag.Diagnostics
		desired, rp.Notes, eds = expandRegion(ctx, in, ent)
		ds = append(ds, eds...)
		if ds.HasErrors() {
			return rp, ds
		}
	}

	// 2. Read state and refresh it.
	st, err := readState(ctx, e.State, in.name)
	if err != nil {
		return rp, append(ds, sourced(diag.SourceState, regionDiag(in, "", "read state: %v", err)))
	}
	if st != nil {
		rp.Lineage, rp.Serial = st.Lineage, st.Serial
		if st.Provider != "" && st.Provider != in.provider {
			return rp, append(ds, regionDiag(in, "spec.provider",
				"state says the region is managed by provider %q, the spec says %q: destroy it with the old provider first, or move its state", st.Provider, in.provider))
		}
	}
	rp.Protect = st != nil && st.Protect
	if in.spec != nil {
		rp.Protect = in.spec.Spec.Protect
	}
	target, err := e.regionTarget(ctx, ent.drv, in.name, identityResources(derefResources(desired), st))
	if err != nil {
		src := diag.SourceCloud
		if IsWrongTarget(err) {
			src = diag.SourceTarget
		}
		return rp, append(ds, sourced(src, regionDiag(in, "", "%v", err)))
	}
	if err := checkStateTarget(in.name, st, target); err != nil {
		return rp, append(ds, sourced(diag.SourceTarget, regionDiag(in, "", "%v", err)))
	}
	rp.Target = &target
	refreshedList, err := e.refresh(ctx, ent.drv, st, lim, opts.SkipRefresh, fleet)
	if err != nil {
		return rp, append(ds, sourced(diag.SourceRefresh, regionDiag(in, "", "%v", err)))
	}
	if len(refreshedList) > 0 {
		rp.Fingerprints = map[string]string{}
	}
	for _, rr := range refreshedList {
		rp.Fingerprints[rr.res.Key()] = fingerprint(rr)
		if d, ok := driftOf(rr); ok {
			rp.Drift = append(rp.Drift, d)
		}
	}

	for _, r := range desired {
		rp.Desired = append(rp.Desired, *r)
	}
	if opts.RefreshOnly {
		// No change: apply records the drift and the refreshed outputs.
		rp.Outputs = repairOutputs(nil, refreshedList)
		return rp, ds
	}

	// 3. Adopt what state does not know: the spec's imports, then objects
	// found by their tags.
	schemas := indexSchemas(ent.caps)
	objs := newRegionObjects(in, desired, refreshedList, schemas)
	objs.forgotten = st
	if !opts.Destroy {
		ds = append(ds, e.planImports(ctx, ent, lim, objs, rp.Target, sh.idx)...)
		if ds.HasErrors() {
			return rp, ds
		}
		if !opts.SkipRefresh {
			fds, err := e.findUntracked(ctx, ent, lim, objs, rp.Target, sh.idx)
			ds = append(ds, fds...)
			if err != nil {
				return rp, append(ds, sourced(diag.SourceRefresh, regionDiag(in, "", "%v", err)))
			}
		}
	}

	// 4. Diff, with the resources --replace names replaced.
	replace := sh.replace.match(in.name, desired, st)
	rp.Changes, err = diffRegion(desired, refreshedList, objs.adopted, schemas, replace)
	if err != nil {
		return rp, append(ds, regionDiag(in, "", "%v", err))
	}
	ds = append(ds, replaceWarnings(in, rp.Changes, replace)...)
	rp.Outputs = repairOutputs(rp.Changes, refreshedList)
	if len(opts.Targets) > 0 {
		rp.Changes = targetChanges(rp.Changes, desired, st, sh.targets.match(in.name, desired, st))
	}
	ds = append(ds, checkUpdates(ctx, in, ent.drv, rp.Changes)...)

	// 5. Protect.
	if rp.Protect && !opts.AllowDestroy {
		for _, ch := range rp.Changes {
			if !ch.Stateful || ch.DeposedID != "" || !(ch.Action == Delete || ch.Action.IsReplace()) || strings.HasPrefix(ch.Reason, reasonGone) || ch.Reason == reasonForget {
				continue
			}
			verb := "destroy"
			if ch.Action.IsReplace() {
				verb = "replace"
			}
			d := regionDiag(in, "spec.protect", "refusing to %s stateful resource %s: the region is protected", verb, ch.Address)
			if ch.Reason != "" {
				d.Detail = "Why: " + ch.Reason
			}
			d.Fix = "if losing it is intended, run again with --allow-destroy (or set spec.protect: false)"
			ds = append(ds, d)
		}
	}
	return rp, ds
}

// sourced sets the stage that found a problem.
func sourced(src diag.Source, d diag.Diagnostic) diag.Diagnostic {
	d.Source = src
	return d
}

func derefResources(rs []*providers.Resource) []providers.Resource {
	out := make([]providers.Resource, len(rs))
	for i, r := range rs {
		out[i] = *r
	}
	return out
}

// checkGraph normalizes the driver's resources and checks they form a
// graph: unique addresses in the region, references to known resources, no
// cycles. Problems are driver bugs but are reported, not panicked on.
func checkGraph(in regionInput, rs []providers.Resource) ([]*providers.Resource, diag.Diagnostics) {
	var ds diag.Diagnostics
	byAddr := map[string]*providers.Resource{}
	out := make([]*providers.Resource, 0, len(rs))
	for _, r := range rs {
		r := r
		if region, _, _, err := providers.SplitAddress(r.Address); err != nil || region != in.name {
			ds = append(ds, regionDiag(in, "", "driver %s produced resource address %q outside the region", in.provider, r.Address))
			continue
		}
		if byAddr[r.Address] != nil {
			ds = append(ds, regionDiag(in, "", "driver %s produced %s twice", in.provider, r.Address))
			continue
		}
		norm, err := normalizeValues(r.Inputs)
		if err != nil {
			ds = append(ds, regionDiag(in, "", "driver %s: %s: %v", in.provider, r.Address, err))
			continue
		}
		r.Inputs = norm
		byAddr[r.Address] = &r
		out = append(out, &r)
	}
	for _, r := range out {
		for _, d := range resourceDeps(r) {
			if byAddr[d] == nil {
				ds = append(ds, regionDiag(in, "", "driver %s: %s depends on %s, which the region does not have", in.provider, r.Address, d))
			}
		}
	}
	if ds.HasErrors() {
		return nil, ds
	}
	order, err := topoOrder(addrsOf(out), func(a string) []string { return resourceDeps(byAddr[a]) })
	if err != nil {
		return nil, append(ds, regionDiag(in, "", "driver %s: %v", in.provider, err))
	}
	sorted := make([]*providers.Resource, len(order))
	for i, a := range order {
		sorted[i] = byAddr[a]
	}
	return sorted, ds
}

func addrsOf(rs []*providers.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Address
	}
	return out
}

// driftOf compares what state recorded with what refresh found.
func driftOf(rr *refreshed) (Drift, bool) {
	if rr.res.Status == state.StatusPending || rr.res.ID == "" {
		return Drift{}, false
	}
	if !rr.exists {
		return Drift{Address: rr.res.Key(), Deleted: true, Before: rr.res.Inputs}, true
	}
	before, _ := normalizeValues(rr.res.Inputs)
	if !equalValues(before, rr.inputs) {
		return Drift{Address: rr.res.Key(), Before: before, After: rr.inputs}, true
	}
	return Drift{}, false
}

// Reasons the engine gives (apply never reads them).
const (
	reasonGone       = "already gone from the cloud"
	reasonAdopt      = "adopting interrupted create"
	reasonRetry      = "retrying interrupted create: not found in the cloud"
	reasonForget     = "forgetting interrupted create: not found in the cloud"
	reasonTainted    = "tainted by a failed operation"
	reasonFailed     = "the cloud reports that its creation failed"
	reasonOutputs    = "recording outputs state lacks: "
	reasonDeletedOOB = "deleted outside regionctl"
	reasonDeposed    = "deposed by a create-before-destroy replacement"
	reasonNotInSpec  = "no longer in the spec"
	// reasonTagged: %s is the object's ID.
	reasonTagged = "adopting %s: state does not know it, but it carries this region's tags for the address"
	// reasonForgotten: %s is the object's ID.
	reasonForgotten    = "adopting %s: `state rm` dropped it from this address and it still exists"
	reasonReplaceAsked = "replacement requested with --replace"
)

// diffRegion turns desired resources (in dependency order) and refreshed
// state into changes in dependency order: creates, updates and
// replacements first in dependency order, then deletions in reverse
// dependency order.
func diffRegion(desired []*providers.Resource, refreshedList []*refreshed, adopted map[string]*refreshed, schemas map[string]providers.ResourceSchema, replace map[string]bool) ([]Change, error) {
	current := map[string]*refreshed{}
	var deposed []*refreshed
	for _, rr := range refreshedList {
		if rr.res.Status == state.StatusDeposed {
			deposed = append(deposed, rr)
		} else {
			current[rr.res.Address] = rr
		}
	}
	for a, rr := range adopted {
		current[a] = rr // not in state: never deleted below
	}
	desiredBy := map[string]*providers.Resource{}
	for _, d := range desired {
		desiredBy[d.Address] = d
	}

	changes := map[string]*Change{}
	var order []string
	for _, d := range desired {
		ch := diffResource(d, current[d.Address], changes, current, schemas, replace[d.Address])
		changes[d.Address] = ch
		order = append(order, d.Address)
	}

	// A replaced resource whose dependent is created before the old one is
	// destroyed must itself be created first, or the dependent's old half
	// would outlive the dependency it points at.
	for i := len(desired) - 1; i >= 0; i-- {
		d := desired[i]
		if changes[d.Address].Action != CreateThenDelete {
			continue
		}
		for _, dep := range resourceDeps(d) {
			if c := changes[dep]; c != nil && c.Action == DeleteThenCreate {
				c.Action = CreateThenDelete
				c.Reason += fmt.Sprintf("; created before the old one is destroyed because %s is", d.Address)
			}
		}
	}

	out := make([]Change, 0, len(order)+len(deposed))
	for _, a := range order {
		out = append(out, *changes[a])
	}

	// Deletions: state resources no longer desired, and deposed objects.
	var gone []*refreshed
	for _, rr := range refreshedList {
		if rr.res.Status == state.StatusDeposed || desiredBy[rr.res.Address] == nil {
			gone = append(gone, rr)
		}
	}
	keys := make([]string, len(gone))
	byKey := map[string]*refreshed{}
	for i, rr := range gone {
		keys[i] = rr.res.Key()
		byKey[keys[i]] = rr
	}
	// Dependencies among state resources, by key: a deposed object depends
	// on what its address depended on.
	keysOfAddr := map[string][]string{}
	for _, k := range keys {
		a := byKey[k].res.Address
		keysOfAddr[a] = append(keysOfAddr[a], k)
	}
	delOrder, err := topoOrder(keys, func(k string) []string {
		var ks []string
		for _, a := range byKey[k].res.Dependencies {
			ks = append(ks, keysOfAddr[a]...)
		}
		return ks
	})
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	slices.Reverse(delOrder)
	for _, k := range delOrder {
		rr := byKey[k]
		ch := Change{Address: rr.res.Address, Type: rr.res.Type, Action: Delete, Before: rr.inputs, Stateful: rr.res.Stateful}
		switch {
		case rr.res.Status == state.StatusDeposed:
			ch.DeposedID = rr.res.ID
			ch.Reason = reasonDeposed
			if !rr.exists {
				ch.Reason = reasonDeposed + "; " + reasonGone
			}
		case rr.res.Status == state.StatusPending && rr.adoptID != "":
			ch.AdoptID = rr.adoptID
			ch.Reason = reasonNotInSpec + "; " + reasonAdopt
		case rr.res.Status == state.StatusPending:
			ch.Reason = reasonForget
			ch.Before = nil
		case !rr.exists:
			ch.Reason = reasonGone
		default:
			ch.Reason = reasonNotInSpec
		}
		out = append(out, ch)
	}
	return out, nil
}

// replaceAsIs plans a replacement nothing in the spec asked for (taint,
// --replace). When none of the inputs that force a replacement changes,
// the new object has the old one's name (drivers derive names from those
// inputs, and clouds refuse a second node group, node pool or Kubernetes
// object of one name), so it cannot be made beside the old one: it is
// deleted first, even for a create-before-destroy resource, rather than
// planned as a create that apply would see refused.
func replaceAsIs(ch *Change, d *providers.Resource, cur *refreshed, schemas map[string]providers.ResourceSchema, knownOutput func(addr, output string) (any, bool), replace func(string), reason string) {
	replace(reason)
	if ch.Action != CreateThenDelete {
		return
	}
	forceNew, _ := replaceRules(d, schemas)
	for k := range forceNew {
		want, ok := d.Inputs[k]
		if !ok {
			continue
		}
		resolved, known, _ := resolveRefs(want, knownOutput)
		if have, hasHave := cur.inputs[k]; !known || !hasHave || !equalValues(resolved, have) {
			return // a changed name: the new object can exist beside the old one
		}
	}
	ch.Action = DeleteThenCreate
	ch.Reason = reason + "; the old one is deleted first, as the new one takes its name"
}

// diffResource decides the change for one desired resource. changes holds
// the decisions for its dependencies (made first, in dependency order).
func diffResource(d *providers.Resource, cur *refreshed, changes map[string]*Change, current map[string]*refreshed, schemas map[string]providers.ResourceSchema, forceReplace bool) *Change {
	// knownOutput finds an output that is known at plan time: that of a
	// resource that is not being created or replaced, as refreshed. An
	// adopted object may still be in the making (a cluster without its
	// endpoint yet): apply waits for it, so an output it lacks now is
	// known only after apply.
	knownOutput := func(addr, output string) (any, bool) {
		dc := changes[addr]
		if dc == nil || (dc.Action != NoOp && dc.Action != Update) {
			return nil, false
		}
		c := current[addr]
		if c == nil {
			return nil, false
		}
		v, ok := c.outputs[output]
		if dc.AdoptID != "" && isEmptyValue(v) {
			return nil, false
		}
		return v, ok
	}
	// After shows the known values; a reference stays only where the value
	// is known after apply. Apply resolves the desired inputs again from
	// the outputs it has then (see regionRun.resolve).
	after, _ := resolveKnownRefs(map[string]any(d.Inputs), knownOutput).(map[string]any)
	ch := &Change{Address: d.Address, Type: d.Type, After: after, Stateful: d.Stateful}
	replace := func(reason string) {
		ch.Action = DeleteThenCreate
		if d.CreateBeforeDestroy {
			ch.Action = CreateThenDelete
		}
		ch.Reason = reason
		ch.IdempotencyKey = uuid.NewString()
	}
	switch {
	case cur == nil:
		ch.Action = Create
		ch.IdempotencyKey = uuid.NewString()
		return ch
	case cur.res.Status == state.StatusPending && cur.adoptID == "":
		ch.Action = Create
		ch.Reason = reasonRetry
		ch.IdempotencyKey = cur.res.IdempotencyKey
		if ch.IdempotencyKey == "" {
			ch.IdempotencyKey = uuid.NewString()
		}
		return ch
	case !cur.exists && cur.res.Status != state.StatusPending:
		ch.Action = Create
		ch.Reason = reasonDeletedOOB
		ch.IdempotencyKey = uuid.NewString()
		return ch
	}
	ch.Before = cur.inputs
	ch.AdoptID, ch.Adoption = cur.adoptID, cur.adoption
	adoptReason := adoptionReason(cur)
	switch {
	case cur.createFailed && cur.adoption == AdoptPending:
		replace(reasonFailed)
		return ch
	case cur.createFailed:
		replace(joinReasons(adoptReason, reasonFailed))
		return ch
	case cur.res.Status == state.StatusTainted:
		replaceAsIs(ch, d, cur, schemas, knownOutput, replace, reasonTainted)
		return ch
	case forceReplace:
		replaceAsIs(ch, d, cur, schemas, knownOutput, replace, joinReasons(adoptReason, reasonReplaceAsked))
		return ch
	}

	// Compare every key desired or recorded; keys only the cloud reports
	// are the cloud's business.
	keys := map[string]bool{}
	for k := range d.Inputs {
		keys[k] = true
	}
	for k := range cur.res.Inputs {
		keys[k] = true
	}
	// What forces a replacement: the resource's ForceNew and its type's
	// schema; the schema also says why, for people.
	forceNew, reasons := replaceRules(d, schemas)
	forces := func(k string) string {
		if r := reasons[k]; r != "" {
			return k + " forces replacement (" + r + ")"
		}
		return k + " forces replacement"
	}
	var changed, replacePaths, why []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		want, hasWant := d.Inputs[k]
		have, hasHave := cur.inputs[k]
		if !hasWant {
			if hasHave {
				changed = append(changed, k)
				if forceNew[k] {
					replacePaths = append(replacePaths, k)
					why = append(why, forces(k))
				}
			}
			continue
		}
		resolved, known, via := resolveRefs(want, knownOutput)
		switch {
		case !known:
			changed = append(changed, k)
			if forceNew[k] {
				replacePaths = append(replacePaths, k)
				depAddr, _, _ := strings.Cut(via, "#")
				why = append(why, fmt.Sprintf("%s: %s is %s, so %s is known only after apply", forces(k), depAddr, describe(changes[depAddr]), via))
			}
		case !hasHave || !equalValues(resolved, have):
			changed = append(changed, k)
			if forceNew[k] {
				replacePaths = append(replacePaths, k)
				why = append(why, forces(k))
			}
		}
	}
	switch {
	case len(replacePaths) > 0:
		replace(strings.Join(why, "; "))
		ch.ReplacePaths = replacePaths
	case len(changed) > 0:
		ch.Action = Update
	case cur.adoptID != "":
		// Nothing to change, but state must learn the object's ID.
		ch.Action = Update
	default:
		ch.Action = NoOp
	}
	ch.Reason = joinReasons(adoptReason, ch.Reason)
	return ch
}

// adoptionReason says which object a change adopts, "" when none.
func adoptionReason(cur *refreshed) string {
	switch {
	case cur.adoptID == "":
		return ""
	case cur.adoption == AdoptImport:
		return "importing " + cur.adoptID
	case cur.adoption == AdoptTagged:
		return fmt.Sprintf(reasonTagged, cur.adoptID)
	case cur.adoption == AdoptForgotten:
		return fmt.Sprintf(reasonForgotten, cur.adoptID)
	}
	return reasonAdopt
}

// joinReasons joins the non-empty reasons with "; ".
func joinReasons(rs ...string) string {
	var out []string
	for _, r := range rs {
		if r != "" {
			out = append(out, r)
		}
	}
	return strings.Join(out, "; ")
}

// repairOutputs returns the refreshed outputs of created objects that
// differ from what state records, for apply to record. When state lacks an
// output refresh found (missing or empty: recorded before the cloud filled
// it in), an unchanged resource's change becomes an Update that records it,
// so the plan shows the repair and apply runs; other differences (a status
// that moved on) are recorded by whatever apply runs next.
func repairOutputs(changes []Change, refreshedList []*refreshed) map[string]map[string]any {
	var out map[string]map[string]any
	for _, rr := range refreshedList {
		if rr.res.Status != state.StatusCreated || !rr.exists || rr.createFailed {
			continue
		}
		recorded, _ := normalizeValues(rr.res.Outputs)
		if equalValues(recorded, rr.outputs) {
			continue
		}
		if out == nil {
			out = map[string]map[string]any{}
		}
		out[rr.res.Address] = rr.outputs
		var filled []string
		for _, k := range slices.Sorted(maps.Keys(rr.outputs)) {
			if isEmptyValue(recorded[k]) && !isEmptyValue(rr.outputs[k]) {
				filled = append(filled, k)
			}
		}
		i := slices.IndexFunc(changes, func(c Change) bool { return c.Address == rr.res.Address && c.DeposedID == "" })
		if len(filled) > 0 && i >= 0 && changes[i].Action == NoOp {
			changes[i].Action = Update
			changes[i].Reason = reasonOutputs + strings.Join(filled, ", ")
		}
	}
	return out
}

// isEmptyValue: nil, "", or an empty list or map.
func isEmptyValue(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case string:
		return t == ""
	case []any:
		return len(t) == 0
	case map[string]any:
		return len(t) == 0
	}
	return false
}

func describe(c *Change) string {
	if c == nil {
		return "unknown"
	}
	if c.AdoptID != "" && (c.Action == Update || c.Action == NoOp) {
		return "adopted from an interrupted create"
	}
	switch c.Action {
	case Create:
		return "created"
	case DeleteThenCreate, CreateThenDelete:
		return "replaced"
	}
	return c.Action.String()
}

// checkUpdates asks the driver (providers.UpdateChecker) whether each
// planned in-place update can be made, and places its diagnostics in the
// region's spec.
func checkUpdates(ctx context.Context, in regionInput, drv providers.Driver, changes []Change) diag.Diagnostics {
	uc, ok := drv.(providers.UpdateChecker)
	if !ok {
		return nil
	}
	var ds diag.Diagnostics
	for _, ch := range changes {
		if ch.Action != Update {
			continue
		}
		for _, d := range uc.CheckUpdate(ctx, providers.CheckUpdateRequest{Address: ch.Address, Type: ch.Type, Before: ch.Before, After: ch.After}) {
			if d.Pos == (diag.Pos{}) && in.spec != nil {
				d.Pos = in.spec.Pos(d.Path)
			}
			d.Summary = fmt.Sprintf("region %s: %s", in.name, d.Summary)
			ds = append(ds, d)
		}
	}
	return ds.Dedupe()
}
