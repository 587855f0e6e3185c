package plan

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// ImportRequest names an existing cloud object to bring under management
// at once (`regionctl import`), without a plan.
type ImportRequest struct {
	// To is where it goes: an address of the region ("REGION/TYPE.NAME"
	// or "TYPE.NAME") or a spec element ("cluster.nodePools.system").
	To string
	// ID is the cloud's identifier of the object, as the user gave it.
	ID string
}

// ImportResult is what Import recorded.
type ImportResult struct {
	Region, Address, Type string
	// ID is the ID recorded (the driver's form of the one given).
	ID string
	// Already is true when state already managed this object at Address:
	// nothing was written.
	Already bool
	// Inputs and Outputs are the object as the cloud reports it.
	Inputs, Outputs map[string]any
	// Target is where the object lives (the sandbox, or the account).
	Target state.Target
	// Serial is the region's state serial after the write.
	Serial uint64
}

// Import reads the object req names through the region's driver and
// records it in the region's state as created, with the inputs the cloud
// reports: the next plan shows how it differs from the spec. It refuses a
// place the region's driver has no resource for, a place state already
// manages another object at, an ID that does not exist, and an object
// state already manages anywhere (any region of the backend, same target).
// The caller holds the region's lock. Nothing in the cloud changes.
func (e *Engine) Import(ctx context.Context, region *spec.Region, req ImportRequest) (*ImportResult, diag.Diagnostics) {
	in := regionInput{name: region.Metadata.Name, provider: region.Spec.Provider, spec: region}
	fail := func(src diag.Source, fix, format string, args ...any) (*ImportResult, diag.Diagnostics) {
		d := regionDiag(in, "", format, args...)
		d.Source, d.Fix = src, fix
		return nil, diag.Diagnostics{d}
	}
	drivers := &driverSet{e: e}
	ent, err := drivers.get(ctx, in.provider)
	if err != nil {
		return fail(diag.SourceCloud, "", "%v", err)
	}
	lim := newLimiter(e.parallelism())
	lim.setDriverLimit(in.provider, ent.caps, 0)
	desired, _, ds := expandRegion(ctx, in, ent)
	if ds.HasErrors() {
		return nil, ds
	}
	st, err := readState(ctx, e.State, in.name)
	if err != nil {
		return fail(diag.SourceState, "", "read state: %v", err)
	}
	if st != nil && st.Provider != "" && st.Provider != in.provider {
		return fail(diag.SourceSpec, "", "state says the region is managed by provider %q, the spec says %q", st.Provider, in.provider)
	}
	target, err := e.regionTarget(ctx, ent.drv, in.name, identityResources(derefResources(desired), st))
	if err != nil {
		return fail(diag.SourceCloud, "", "%v", err)
	}
	if err := checkStateTarget(in.name, st, target); err != nil {
		return fail(diag.SourceTarget, "", "%v", err)
	}
	// State's own outputs resolve the inputs (a node pool's cluster): no
	// refresh, only the object imported is read.
	recorded, err := e.refresh(ctx, ent.drv, st, lim, true, nil)
	if err != nil {
		return fail(diag.SourceState, "", "%v", err)
	}
	schemas := indexSchemas(ent.caps)
	objs := newRegionObjects(in, desired, recorded, schemas)
	addrs, err := resolveTo(in.name, req.To, desired)
	switch {
	case err != nil:
		return fail(diag.SourceArgs, "", "%v", err)
	case len(addrs) == 0:
		return fail(diag.SourceArgs, "import into a region of this spec, or give its spec with -f", "%s is not an address of region %s", req.To, in.name)
	case len(addrs) > 1:
		return fail(diag.SourceArgs, "import to one of them by its address", "%s is realised by %d resources on driver %s: %v", req.To, len(addrs), in.provider, addrs)
	}
	addr := addrs[0]
	d := objs.byAddr[addr]
	if d == nil {
		fix := "import to a resource `regionctl plan` shows for this region (the spec must have it)"
		if sug, near := spec.DidYouMean(addr, addrsOf(desired)); near {
			fix = fmt.Sprintf("did you mean %q?", sug)
		}
		return fail(diag.SourceArgs, fix, "region %s has no resource %s", in.name, addr)
	}
	rr, src, fix, err := e.readImport(ctx, ent, lim, objs, &target, &stateIndex{e: e}, d, req.ID)
	if err != nil {
		if src == diag.SourceSpec {
			src = diag.SourceArgs // the ID and the address came from the command line
		}
		return fail(src, fix, "import %s: %v", addr, err)
	}
	res := &ImportResult{Region: in.name, Address: addr, Type: d.Type, Target: target}
	if rr == nil {
		cur := objs.current[addr]
		res.ID, res.Already, res.Inputs, res.Outputs, res.Serial = cur.res.ID, true, cur.inputs, cur.outputs, st.Serial
		return res, ds
	}
	obj := state.Resource{Address: addr, Type: d.Type, ID: rr.adoptID, Status: state.StatusCreated,
		Inputs: rr.inputs, Outputs: rr.outputs, Dependencies: resourceDeps(d), Stateful: d.Stateful,
		SchemaVersion: schemas[d.Type].Version}
	if rr.createFailed {
		obj.Status = state.StatusTainted // the cloud says it failed: the next plan replaces it
	}
	next, prev := state.New(in.name, in.provider, e.newLineage()), uint64(0)
	next.Protect = region.Spec.Protect
	if st != nil {
		next, prev = st.Clone(), st.Serial
		if _, pending := st.Find(addr); pending {
			next.Remove(addr) // a pending create without an object: the import takes its place
		}
	}
	next.Put(obj)
	next.Target, next.Serial = &target, prev+1
	if err := e.State.Write(context.WithoutCancel(ctx), next, prev); err != nil {
		return fail(diag.SourceState, "", "import %s: read %s, but could not record it: write state serial %d: %v", addr, rr.adoptID, next.Serial, err)
	}
	res.ID, res.Inputs, res.Outputs, res.Serial = rr.adoptID, obj.Inputs, obj.Outputs, next.Serial
	return res, ds
}

// newLineage is the lineage of a region's first state: Engine.NewLineage,
// else a random UUID.
func (e *Engine) newLineage() string {
	if e.NewLineage != nil {
		if l := e.NewLineage(); l != "" {
			return l
		}
	}
	return uuid.NewString()
}
