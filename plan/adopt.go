package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state"
)

// Adoption of objects state does not know. Two kinds are planned here,
// after refresh and before the diff (the third, a pending create's object,
// is refresh's job):
//
//   - imports: the spec's import blocks name an object by its cloud ID;
//   - tagged: a desired resource missing from state whose object exists,
//     carrying this region's ownership tags for its address (after `state
//     rm`, or a state write that was lost), is found with Finder.Find
//     without an idempotency key — the driver then matches the address;
//   - forgotten: failing that, the object `state rm` dropped at the
//     address (state.Forgotten) is read by its recorded ID — an object
//     whose tags name no address or another one (imported, or moved with
//     `state mv`) is adopted too.
//
// Either becomes a refreshed object with adoptID set that the diff treats
// like a found pending create: Update (or a replacement) with AdoptID, and
// apply records it before changing it. An object that state already
// manages — in this region at another address, or in another region of
// the same backend and target — is never adopted a second time.

// regionObjects is what the adoption of one region knows: its desired
// resources, the objects its state holds (refreshed), and those adopted so
// far.
type regionObjects struct {
	in      regionInput
	desired []*providers.Resource
	byAddr  map[string]*providers.Resource
	current map[string]*refreshed // state's objects, not deposed
	adopted map[string]*refreshed
	schemas map[string]providers.ResourceSchema
	// forgotten is what `state rm` dropped from the region's state.
	forgotten *state.State
}

func newRegionObjects(in regionInput, desired []*providers.Resource, refreshedList []*refreshed, schemas map[string]providers.ResourceSchema) *regionObjects {
	o := &regionObjects{in: in, desired: desired, byAddr: map[string]*providers.Resource{}, current: map[string]*refreshed{}, adopted: map[string]*refreshed{}, schemas: schemas}
	for _, d := range desired {
		o.byAddr[d.Address] = d
	}
	for _, rr := range refreshedList {
		if rr.res.Status != state.StatusDeposed {
			o.current[rr.res.Address] = rr
		}
	}
	return o
}

// output is an output known now: of an object adopted in this plan, or of
// one state holds as created that refresh found.
func (o *regionObjects) output(addr, output string) (any, bool) {
	rr := o.adopted[addr]
	if rr == nil {
		rr = o.current[addr]
		if rr == nil || !rr.exists || rr.res.Status != state.StatusCreated || rr.createFailed {
			return nil, false
		}
	}
	v, ok := rr.outputs[output]
	return v, ok
}

// inputs are d's inputs with every reference resolved, or the first
// reference that cannot be.
func (o *regionObjects) inputs(d *providers.Resource) (providers.Values, string, bool) {
	v, ok, missing := resolveRefs(map[string]any(d.Inputs), o.output)
	if !ok {
		return nil, missing, false
	}
	m, _ := v.(map[string]any)
	return providers.Values(m), "", true
}

// partialInputs are d's inputs for reading an object by ID: references
// resolved where the output is known; a key whose value needs an output
// not known yet is left out (a cluster is read by its name and location,
// not by the subnets it was given). missing lists what was left out.
func (o *regionObjects) partialInputs(d *providers.Resource) (providers.Values, []string) {
	in := providers.Values{}
	var missing []string
	for k, v := range d.Inputs {
		r, ok, ref := resolveRefs(v, o.output)
		if !ok {
			missing = append(missing, ref)
			continue
		}
		in[k] = r
	}
	slices.Sort(missing)
	return in, missing
}

// stateIndex knows which object every region's state manages, read once
// per plan when first asked (only plans that import or find an untracked
// object ask).
type stateIndex struct {
	e    *Engine
	once sync.Once
	// states are every region's state; err is why they could not be read.
	states []*state.State
	err    error
}

// owner returns the state key that manages the object typ/id in a state
// of the same target as target ("" when none does), ignoring the key
// except.
func (x *stateIndex) owner(ctx context.Context, target *state.Target, typ, id, except string) (string, error) {
	x.once.Do(func() {
		names, err := x.e.State.Regions(ctx)
		if err != nil {
			x.err = fmt.Errorf("list the regions in state: %w", err)
			return
		}
		for _, n := range names {
			st, err := readState(ctx, x.e.State, n)
			if err != nil {
				x.err = fmt.Errorf("read the state of region %s: %w", n, err)
				return
			}
			if st != nil {
				x.states = append(x.states, st)
			}
		}
	})
	if x.err != nil {
		return "", x.err
	}
	for _, st := range x.states {
		if target != nil && st.Target != nil && !st.Target.Same(*target) {
			continue // another account or sandbox: another object
		}
		for _, r := range st.Resources {
			if r.Type == typ && r.ID == id && r.Key() != except {
				return r.Key(), nil
			}
		}
	}
	return "", nil
}

// resolveTo returns the addresses in region that s names: an address
// "REGION/TYPE.NAME" (of this region) or "TYPE.NAME", or a spec element —
// every desired resource the driver marks with it. An element no
// resource realises is an error naming the elements that are there.
func resolveTo(region, s string, desired []*providers.Resource) ([]string, error) {
	if !spec.IsElement(s) {
		if r, _, ok := strings.Cut(s, "/"); ok {
			if r != region {
				return nil, nil
			}
			return []string{s}, nil
		}
		return []string{region + "/" + s}, nil
	}
	var out []string
	var have []string
	for _, d := range desired {
		if d.Element == s {
			out = append(out, d.Address)
		}
		if d.Element != "" && !slices.Contains(have, d.Element) {
			have = append(have, d.Element)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no resource of region %s realises %s (elements it has: %s); name a resource by its address instead", region, s, strings.Join(have, ", "))
	}
	return out, nil
}

// importDiag is an error about import block i of the region's spec.
func importDiag(in regionInput, i int, field string, src diag.Source, fix, format string, args ...any) diag.Diagnostic {
	d := regionDiag(in, fmt.Sprintf("spec.import[%d].%s", i, field), format, args...)
	d.Source, d.Fix = src, fix
	return d
}

// importReq is one object to import: where it goes and its cloud ID as
// the user wrote it.
type importReq struct {
	index int // of the import block; -1 for `regionctl import`
	addr  string
	id    string
}

// readImport reads the object a user named for the desired resource d: the
// driver turns the ID into the one it records (providers.Importer), the
// object must exist and must not be managed anywhere in state already.
// Errors say what to do; src is the stage that failed.
func (e *Engine) readImport(ctx context.Context, ent driverEntry, lim *limiter, o *regionObjects, target *state.Target, idx *stateIndex, d *providers.Resource, userID string) (*refreshed, diag.Source, string, error) {
	in, missing := o.partialInputs(d)
	needs := func(err error) (*refreshed, diag.Source, string, error) {
		if len(missing) == 0 {
			return nil, diag.SourceSpec, "check the ID (and the region's location, project or subscription, which the driver looks in)", err
		}
		dep, _, _ := strings.Cut(missing[0], "#")
		return nil, diag.SourceSpec, fmt.Sprintf("import %s first (an import block for it, or `regionctl import`), or apply so it exists", dep),
			fmt.Errorf("%w (the driver may need %s, which is not in state yet)", err, strings.Join(missing, ", "))
	}
	release, err := lim.acquire(ctx, o.in.provider)
	if err != nil {
		return nil, diag.SourceRefresh, "", err
	}
	defer release()
	id := userID
	if im, ok := ent.drv.(providers.Importer); ok {
		resp, err := im.ImportID(ctx, providers.ImportIDRequest{Address: d.Address, Type: d.Type, ID: userID, Inputs: in})
		if err != nil {
			if providers.Classify(err) == providers.ClassPermanent || len(missing) > 0 {
				return needs(err)
			}
			return nil, diag.SourceRefresh, "", err
		}
		id = resp.ID
	}
	if cur := o.current[d.Address]; cur != nil && cur.res.ID != "" {
		if cur.res.ID == id {
			return nil, "", "", nil // imported already: the block stays in the spec after apply
		}
		return nil, diag.SourceSpec, fmt.Sprintf("remove the import, or run `regionctl state rm %s` first to manage %s there instead (the object %s stays in the cloud, unmanaged)", d.Address, id, cur.res.ID),
			fmt.Errorf("%s is already managed (ID %s)", d.Address, cur.res.ID)
	}
	if owner, err := idx.owner(ctx, target, d.Type, id, ""); err != nil {
		return nil, diag.SourceState, "", err
	} else if owner != "" {
		return nil, diag.SourceSpec, fmt.Sprintf("an object is managed at one address only: use `regionctl state mv %s %s` to move it", owner, d.Address),
			fmt.Errorf("%s %s is already managed as %s", d.Type, id, owner)
	}
	for addr, rr := range o.adopted {
		if rr.res.Type == d.Type && rr.adoptID == id {
			return nil, diag.SourceSpec, "import each object once", fmt.Errorf("%s %s is also imported to %s", d.Type, id, addr)
		}
	}
	rr, err := e.readAdopted(ctx, ent.drv, o, d, in, id)
	switch {
	case err != nil && len(missing) > 0:
		return needs(fmt.Errorf("read %s %s: %w", d.Type, id, err))
	case err != nil:
		return nil, diag.SourceRefresh, "", fmt.Errorf("read %s %s: %w", d.Type, id, err)
	case rr == nil:
		return needs(fmt.Errorf("no %s with ID %q exists", d.Type, userID))
	}
	rr.adoption = AdoptImport
	return rr, "", "", nil
}

// readAdopted reads object id for the desired resource d (inputs resolved)
// and returns it as a refreshed object to adopt, or nil when it does not
// exist.
func (e *Engine) readAdopted(ctx context.Context, drv providers.Driver, o *regionObjects, d *providers.Resource, in providers.Values, id string) (*refreshed, error) {
	inst := providers.Instance{Address: d.Address, Type: d.Type, ID: id, Inputs: in, SchemaVersion: o.schemas[d.Type].Version}
	resp, err := drv.Read(ctx, providers.ReadRequest{Instance: inst})
	if err != nil || !resp.Exists {
		return nil, err
	}
	rr := &refreshed{
		res:    state.Resource{Address: d.Address, Type: d.Type, ID: id, Status: state.StatusCreated, SchemaVersion: inst.SchemaVersion},
		exists: true, adoptID: id, inputs: map[string]any(in),
	}
	if err := e.applyRead(o.in.name, rr, resp); err != nil {
		return nil, err
	}
	rr.res.Inputs, rr.res.Outputs = nil, nil // state knows nothing of it: the diff compares the desired inputs only
	return rr, nil
}

// planImports reads the objects the spec's import blocks name, in the
// order of the desired graph (a node pool after its cluster), into
// o.adopted.
func (e *Engine) planImports(ctx context.Context, ent driverEntry, lim *limiter, o *regionObjects, target *state.Target, idx *stateIndex) diag.Diagnostics {
	if o.in.spec == nil {
		return nil
	}
	var ds diag.Diagnostics
	order := map[string]int{}
	for i, d := range o.desired {
		order[d.Address] = i
	}
	var reqs []importReq
	for i, im := range o.in.spec.Spec.Import {
		addrs, err := resolveTo(o.in.name, im.To, o.desired)
		switch {
		case err != nil:
			ds = append(ds, importDiag(o.in, i, "to", diag.SourceSpec, "", "%v", err))
			continue
		case len(addrs) > 1:
			ds = append(ds, importDiag(o.in, i, "to", diag.SourceSpec, "import to one of them by its address",
				"%s is realised by %d resources on driver %s: %s", im.To, len(addrs), o.in.provider, strings.Join(addrs, ", ")))
			continue
		case len(addrs) == 0 || o.byAddr[addrs[0]] == nil:
			what := im.To
			if len(addrs) == 1 {
				what = addrs[0]
			}
			fix := "import to a resource `regionctl plan` shows for this region"
			if sug, near := spec.DidYouMean(what, addrsOf(o.desired)); near {
				fix = fmt.Sprintf("did you mean %q?", sug)
			}
			ds = append(ds, importDiag(o.in, i, "to", diag.SourceSpec, fix, "region %s has no resource %s", o.in.name, what))
			continue
		}
		reqs = append(reqs, importReq{index: i, addr: addrs[0], id: im.ID})
	}
	slices.SortStableFunc(reqs, func(a, b importReq) int { return order[a.addr] - order[b.addr] })
	for _, r := range reqs {
		rr, src, fix, err := e.readImport(ctx, ent, lim, o, target, idx, o.byAddr[r.addr], r.id)
		if err != nil {
			ds = append(ds, importDiag(o.in, r.index, "id", src, fix, "import %s: %v", r.addr, err))
			continue
		}
		if rr != nil {
			o.adopted[r.addr] = rr
		}
	}
	return ds
}

// findUntracked looks for the objects of desired resources state does not
// know, by their ownership tags (Finder.Find without a key), in waves: a
// resource is looked for once every output its inputs need is known — its
// dependencies are in state or were found — so a subnet is looked for
// only after its network. Found objects managed elsewhere in state are not
// adopted (a warning says where they are).
func (e *Engine) findUntracked(ctx context.Context, ent driverEntry, lim *limiter, o *regionObjects, target *state.Target, idx *stateIndex) (diag.Diagnostics, error) {
	finder, _ := ent.drv.(providers.Finder)
	if finder == nil && (o.forgotten == nil || len(o.forgotten.Forgotten) == 0) {
		return nil, nil
	}
	var ds diag.Diagnostics
	var mu sync.Mutex
	tried := map[string]bool{}
	for {
		type job struct {
			d  *providers.Resource
			in providers.Values
		}
		var jobs []job
		for _, d := range o.desired {
			if o.current[d.Address] != nil || o.adopted[d.Address] != nil || tried[d.Address] {
				continue
			}
			if in, _, ok := o.inputs(d); ok {
				tried[d.Address] = true
				jobs = append(jobs, job{d, in})
			}
		}
		if len(jobs) == 0 {
			return ds, nil
		}
		found := map[string]*refreshed{}
		g, gctx := errgroup.WithContext(ctx)
		for _, j := range jobs {
			g.Go(func() error {
				rr, warn, err := e.findOne(gctx, ent.drv, finder, lim, o, target, idx, j.d, j.in)
				mu.Lock()
				defer mu.Unlock()
				if warn != nil {
					ds = append(ds, *warn)
				}
				if rr != nil {
					found[j.d.Address] = rr
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return ds, err
		}
		if len(found) == 0 {
			return ds, nil // nothing new is known: no further resource can be looked for
		}
		for a, rr := range found {
			o.adopted[a] = rr
		}
	}
}

// findOne looks for the untracked object of d by its tags, then by the ID
// `state rm` remembered at its address.
func (e *Engine) findOne(ctx context.Context, drv providers.Driver, finder providers.Finder, lim *limiter, o *regionObjects, target *state.Target, idx *stateIndex, d *providers.Resource, in providers.Values) (*refreshed, *diag.Diagnostic, error) {
	release, err := lim.acquire(ctx, o.in.provider)
	if err != nil {
		return nil, nil, err
	}
	defer release()
	var f providers.FindResponse
	if finder != nil {
		f, err = finder.Find(ctx, providers.FindRequest{Address: d.Address, Type: d.Type, Inputs: in})
		if err != nil {
			return nil, nil, fmt.Errorf("look for %s by its tags (state does not know it): %w", d.Address, err)
		}
	}
	how := AdoptTagged
	if !f.Found {
		fg, ok := o.forgotten.ForgottenAt(d.Address, d.Type)
		if !ok {
			return nil, nil, nil
		}
		how, f = AdoptForgotten, providers.FindResponse{Found: true, ID: fg.ID}
	}
	owner, err := idx.owner(ctx, target, d.Type, f.ID, "")
	if err != nil {
		return nil, nil, err
	}
	if owner != "" {
		w := regionDiag(o.in, "", "%s %s carries the tags of %s, but state manages it as %s: not adopting it; the plan creates a new one", d.Type, f.ID, d.Address, owner)
		if how == AdoptForgotten {
			w = regionDiag(o.in, "", "%s %s, which `state rm` dropped from %s, is managed as %s now: not adopting it; the plan creates a new one", d.Type, f.ID, d.Address, owner)
		}
		w.Severity = diag.Warning
		w.Fix = "if the object belongs at " + d.Address + ", run `regionctl state mv " + owner + " " + d.Address + "`"
		return nil, &w, nil
	}
	rr, err := e.readAdopted(ctx, drv, o, d, in, f.ID)
	if err != nil {
		if how == AdoptForgotten {
			return nil, nil, fmt.Errorf("read %s, which `state rm` dropped from %s: %w", f.ID, d.Address, err)
		}
		return nil, nil, fmt.Errorf("read %s, found by its tags: %w", f.ID, err)
	}
	if rr != nil {
		rr.adoption = how
		if rr.outputs == nil {
			rr.outputs, _ = normalizeValues(f.Outputs)
		}
	}
	return rr, nil, nil
}
