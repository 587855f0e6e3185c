package drivertest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// newKey returns a fresh idempotency key, short enough for any cloud's
// client-token field (64 characters is the usual limit).
func newKey() string {
	return "dt-" + strings.ToLower(rand.Text())
}

type actionKind int

const (
	actNoOp actionKind = iota
	actCreate
	actUpdate
	actReplaceCBD // create the new object, then delete the old
	actReplaceDTC // delete the old object, then create the new
	actDelete
)

func (a actionKind) String() string {
	return [...]string{"no-op", "create", "update", "create-then-delete", "delete-then-create", "delete"}[a]
}

// step is what the suite's small converger does to one address.
type step struct {
	action  actionKind
	res     providers.Resource // desired; for a delete, the resource as last applied
	changed []string           // top-level keys that differ
	forced  []string           // changed keys the driver lists in ForceNew
}

func (s step) String() string {
	switch s.action {
	case actUpdate:
		return fmt.Sprintf("%s %s (changed: %s)", s.action, s.res.Address, strings.Join(s.changed, ", "))
	case actReplaceCBD, actReplaceDTC:
		return fmt.Sprintf("%s %s (forced by: %s)", s.action, s.res.Address, strings.Join(s.forced, ", "))
	}
	return fmt.Sprintf("%s %s", s.action, s.res.Address)
}

// world is what the suite has made in the cloud. It is a deliberately
// small stand-in for the engine, so the suite does not depend on it.
type world struct {
	s *suite
	// graph is the desired graph last applied, in dependency order.
	graph []providers.Resource
	// applying is the graph being applied, so cleanup can order objects
	// created by a step that failed half way.
	applying []providers.Resource
	// inst holds the live object at each address.
	inst map[string]*providers.Instance
	// deposed are old halves of create-before-destroy replacements.
	deposed []*providers.Instance
	// gone are objects the suite deleted, for the read-after-delete checks.
	gone []providers.Instance
}

func newWorld(s *suite) *world {
	return &world{s: s, inst: map[string]*providers.Instance{}}
}

func (w *world) outputs(addr string) (providers.Values, bool) {
	in, ok := w.inst[addr]
	if !ok {
		return nil, false
	}
	return in.Outputs, true
}

// diff compares a dependency-ordered desired graph with what exists, the
// way the engine does: a changed ForceNew key replaces, any other change
// updates, and a reference to a resource being created or replaced is
// unknown, hence changed.
func (w *world) diff(desired []providers.Resource) ([]step, error) {
	pending := map[string]bool{}
	want := map[string]bool{}
	var steps []step
	for _, r := range desired {
		want[r.Address] = true
		in, ok := w.inst[r.Address]
		if !ok {
			pending[r.Address] = true
			steps = append(steps, step{action: actCreate, res: r})
			continue
		}
		after, err := resolveValues(r.Inputs, w.outputs, pending)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", r.Address, err)
		}
		st := step{action: actNoOp, res: r, changed: changedKeys(in.Inputs, after)}
		for _, k := range st.changed {
			if slices.Contains(r.ForceNew, k) {
				st.forced = append(st.forced, k)
			}
		}
		switch {
		case len(st.forced) > 0 && r.CreateBeforeDestroy:
			st.action = actReplaceCBD
		case len(st.forced) > 0:
			st.action = actReplaceDTC
		case len(st.changed) > 0:
			st.action = actUpdate
		}
		if st.action == actReplaceCBD || st.action == actReplaceDTC {
			pending[r.Address] = true
		}
		steps = append(steps, st)
	}
	for _, r := range slices.Backward(w.graph) {
		if _, ok := w.inst[r.Address]; ok && !want[r.Address] {
			steps = append(steps, step{action: actDelete, res: r})
		}
	}
	return steps, nil
}

// apply carries out steps (from diff of desired) in the engine's order:
// delete-then-create replacements are deleted first, dependents first;
// then creates, replacements and updates in dependency order; then the old
// halves of create-before-destroy replacements and removed resources are
// deleted, dependents first.
func (w *world) apply(t *st, desired []providers.Resource, steps []step) {
	t.Helper()
	w.applying = desired
	for _, st := range slices.Backward(steps) {
		if st.action == actReplaceDTC {
			w.delete(t, w.inst[st.res.Address])
		}
	}
	for _, st := range steps {
		switch st.action {
		case actCreate, actReplaceDTC:
			w.create(t, st.res)
		case actReplaceCBD:
			old := *w.inst[st.res.Address]
			w.create(t, st.res)
			// Create-before-destroy exists so capacity never drops: the new
			// object must not have taken the old one's place.
			if w.inst[st.res.Address].ID == old.ID {
				t.Fatalf("replacing %s (create-before-destroy): Create returned the old object's ID %q; a replacement must be a new object", st.res.Address, old.ID)
			}
			if live := w.read(t, old); !live.Exists {
				t.Errorf("replacing %s (create-before-destroy): the old object %s is gone right after the new one was created; Create must not touch it", st.res.Address, old.ID)
			}
		case actUpdate:
			w.update(t, st.res)
		}
	}
	for len(w.deposed) > 0 {
		w.deleteDeposed(t, 0)
	}
	for _, st := range steps {
		if st.action == actDelete {
			w.delete(t, w.inst[st.res.Address])
		}
	}
	w.graph = desired
	w.applying = nil
}

func (w *world) create(t *st, r providers.Resource) {
	t.Helper()
	inputs, err := resolveValues(r.Inputs, w.outputs, nil)
	if err != nil {
		t.Fatalf("creating %s: %v", r.Address, err)
	}
	key := newKey()
	ctx, cancel := w.s.ctx()
	defer cancel()
	var resp providers.CreateResponse
	err = guard(func() (err error) {
		resp, err = w.s.d.Create(ctx, providers.CreateRequest{Address: r.Address, Type: r.Type, Inputs: inputs, IdempotencyKey: key})
		return err
	})
	if err != nil {
		w.adopt(t, r, inputs, key)
		t.Fatalf("Create %s: %v", r.Address, err)
	}
	if resp.ID == "" {
		w.adopt(t, r, inputs, key)
		t.Fatalf("Create %s returned an empty ID; every later call needs it", r.Address)
	}
	if old, ok := w.inst[r.Address]; ok {
		w.deposed = append(w.deposed, old)
	}
	w.inst[r.Address] = &providers.Instance{Address: r.Address, Type: r.Type, ID: resp.ID, Inputs: inputs, Outputs: resp.Outputs}
}

// adopt records an object a failed create may have left, if the driver can
// find it, so cleanup deletes it.
func (w *world) adopt(t *st, r providers.Resource, inputs providers.Values, key string) {
	t.Helper()
	f, ok := w.s.d.(providers.Finder)
	if !ok {
		return
	}
	var resp providers.FindResponse
	err := w.s.withCtx(func(ctx context.Context) (err error) {
		resp, err = f.Find(ctx, providers.FindRequest{Address: r.Address, Type: r.Type, Inputs: inputs, IdempotencyKey: key})
		return err
	})
	if err != nil || !resp.Found {
		return
	}
	if old, ok := w.inst[r.Address]; ok {
		w.deposed = append(w.deposed, old)
	}
	w.inst[r.Address] = &providers.Instance{Address: r.Address, Type: r.Type, ID: resp.ID, Inputs: inputs, Outputs: resp.Outputs}
}

func (w *world) update(t *st, r providers.Resource) {
	t.Helper()
	in := w.inst[r.Address]
	inputs, err := resolveValues(r.Inputs, w.outputs, nil)
	if err != nil {
		t.Fatalf("updating %s: %v", r.Address, err)
	}
	changed := changedKeys(in.Inputs, inputs)
	ctx, cancel := w.s.ctx()
	defer cancel()
	var resp providers.UpdateResponse
	err = guard(func() (err error) {
		resp, err = w.s.d.Update(ctx, providers.UpdateRequest{Instance: *in, Inputs: inputs, Changed: changed})
		return err
	})
	if err != nil {
		t.Fatalf("Update %s (changed: %s): %v", r.Address, strings.Join(changed, ", "), err)
	}
	in.Inputs = inputs
	if resp.Outputs != nil {
		in.Outputs = resp.Outputs
	}
}

func (w *world) delete(t *st, in *providers.Instance) {
	t.Helper()
	if err := w.s.deleteInstance(*in); err != nil {
		t.Fatalf("%v", err)
	}
	delete(w.inst, in.Address)
	w.gone = append(w.gone, *in)
}

func (w *world) deleteDeposed(t *st, i int) {
	t.Helper()
	in := w.deposed[i]
	if err := w.s.deleteInstance(*in); err != nil {
		t.Fatalf("deleting the old half of %s: %v", in.Address, err)
	}
	w.deposed = slices.Delete(w.deposed, i, i+1)
	w.gone = append(w.gone, *in)
}

func (s *suite) deleteInstance(in providers.Instance) error {
	err := s.withCtx(func(ctx context.Context) error {
		_, err := s.d.Delete(ctx, providers.DeleteRequest{Instance: in})
		return err
	})
	if err != nil {
		return fmt.Errorf("Delete %s (ID %s): %w", in.Address, in.ID, err)
	}
	return nil
}

func (w *world) read(t *st, in providers.Instance) providers.ReadResponse {
	t.Helper()
	var resp providers.ReadResponse
	err := w.s.withCtx(func(ctx context.Context) (err error) {
		resp, err = w.s.d.Read(ctx, providers.ReadRequest{Instance: in})
		return err
	})
	if err != nil {
		t.Fatalf("Read %s (ID %s): %v", in.Address, in.ID, err)
	}
	return resp
}

// verify reads every resource of a dependency-ordered desired graph and
// checks that it exists, that every input the driver reports equals the
// desired value (otherwise the engine would plan a change that is not
// needed, or miss one that is), and that every output another resource
// references is reported.
func (w *world) verify(t *st, desired []providers.Resource) {
	t.Helper()
	referenced := referencedOutputs(desired)
	for _, r := range desired {
		in, ok := w.inst[r.Address]
		if !ok {
			t.Errorf("%s was not created", r.Address)
			continue
		}
		want, err := resolveValues(r.Inputs, w.outputs, nil)
		if err != nil {
			t.Errorf("%s: %v", r.Address, err)
			continue
		}
		live := w.read(t, *in)
		if !live.Exists {
			t.Errorf("Read %s (ID %s) reports it does not exist right after it was created or updated", r.Address, in.ID)
			continue
		}
		if live.Inputs == nil {
			t.Logf("Read %s reports no inputs: the engine cannot detect drift on it", r.Address)
		}
		// Refresh replaces the recorded inputs with what Read reports, so a
		// desired input Read leaves out would be planned again every run.
		for _, k := range slices.Sorted(maps.Keys(want)) {
			if _, reported := live.Inputs[k]; live.Inputs != nil && !reported && want[k] != nil {
				t.Errorf("Read %s reports inputs but leaves out %q (desired %s): refresh replaces the recorded inputs with Read's, so the engine would plan to set it on every run", r.Address, k, show(want[k]))
			}
		}
		for _, k := range slices.Sorted(maps.Keys(live.Inputs)) {
			if _, desiredKey := want[k]; !desiredKey && live.Inputs[k] != nil {
				t.Errorf("Read %s reports input %q = %s, which is not a desired input: the engine would plan to remove it on every run", r.Address, k, show(live.Inputs[k]))
				continue
			}
			if !sameValue(live.Inputs[k], want[k]) {
				t.Errorf("Read %s reports %s = %s but the desired value is %s: the engine would plan a spurious update on every run", r.Address, k, show(live.Inputs[k]), show(want[k]))
			}
		}
		if caps, err := w.s.capabilities(); err == nil {
			for _, p := range outputSchemaProblems(caps, r, live.Outputs) {
				t.Errorf("Read %s", p)
			}
		}
		for _, out := range referenced[r.Address] {
			if _, ok := live.Outputs[out]; !ok {
				t.Errorf("Read %s reports no output %q, which other resources reference; refresh would lose it (outputs: %v)", r.Address, out, slices.Sorted(maps.Keys(live.Outputs)))
			}
		}
	}
}

// referencedOutputs maps each address to the outputs others reference.
func referencedOutputs(rs []providers.Resource) map[string][]string {
	out := map[string][]string{}
	var walk func(v any)
	walk = func(v any) {
		if addr, o, ok := providers.AsRef(v); ok {
			if !slices.Contains(out[addr], o) {
				out[addr] = append(out[addr], o)
			}
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for _, e := range t {
				walk(e)
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	for _, r := range rs {
		walk(map[string]any(r.Inputs))
	}
	return out
}

// cleanup deletes whatever the world still holds, dependents first, and
// reports what it could not delete: in a real cloud that costs money.
func (w *world) cleanup(t *st) {
	t.Helper()
	for _, in := range w.deposed {
		if err := w.s.deleteInstance(*in); err != nil {
			t.Errorf("cleanup: %v — the object may be left in the cloud", err)
		}
	}
	w.deposed = nil
	// Order by the graph being applied, then the last applied one.
	var rs []providers.Resource
	seen := map[string]bool{}
	for _, r := range slices.Concat(w.applying, w.graph) {
		if !seen[r.Address] {
			seen[r.Address] = true
			rs = append(rs, r)
		}
	}
	order, err := topoSort(rs)
	if err != nil {
		order = rs
	}
	var addrs []string
	for _, r := range slices.Backward(order) {
		addrs = append(addrs, r.Address)
	}
	for _, a := range slices.Sorted(maps.Keys(w.inst)) {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	for _, a := range addrs {
		in, ok := w.inst[a]
		if !ok {
			continue
		}
		if err := w.s.deleteInstance(*in); err != nil {
			t.Errorf("cleanup: %v — the object may be left in the cloud", err)
			continue
		}
		delete(w.inst, a)
	}
}

// inventory returns the cloud's object IDs, or nil when Config.Inventory
// is not set.
func (s *suite) inventory(t *st) map[string]bool {
	t.Helper()
	if s.cfg.Inventory == nil {
		return nil
	}
	var ids []string
	err := s.withCtx(func(ctx context.Context) (err error) {
		ids, err = s.cfg.Inventory(ctx)
		return err
	})
	if err != nil {
		t.Fatalf("Config.Inventory: %v", err)
	}
	set := make(map[string]bool, len(ids))
	for _, id := range ids {
		set[id] = true
	}
	return set
}

// added returns the IDs in now that are not in before, sorted.
func added(before, now map[string]bool) []string {
	var out []string
	for id := range now {
		if !before[id] {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

func (s *suite) testLifecycle(t *st) {
	cases := s.regionCases(t)
	w := newWorld(s)
	baseline := s.inventory(t)
	defer w.cleanup(t)

	failed := false
	step := func(name string, f func(t *st)) {
		if failed {
			t.run(name, func(t *st) { t.Skipf("skipped: an earlier lifecycle step failed") })
			return
		}
		if !t.run(name, f) {
			failed = true
		}
	}
	var first []providers.Resource
	step("Create", func(t *st) {
		first = s.sortedGraph(t, cases[0].name, cases[0].region)
		steps, err := w.diff(first)
		if err != nil {
			t.Fatalf("%v", err)
		}
		w.apply(t, first, steps)
	})
	step("ReadMatchesDesired", func(t *st) {
		w.verify(t, first)
	})
	step("Health", func(t *st) {
		s.testHealth(t, w, cases[0].region.Metadata.Name)
	})
	step("ReadMany", func(t *st) {
		l, ok := s.d.(providers.Lister)
		if !ok {
			t.Skipf("driver does not implement providers.Lister")
		}
		var reqs []providers.ReadRequest
		for _, r := range w.graph {
			reqs = append(reqs, providers.ReadRequest{Instance: *w.inst[r.Address]})
		}
		var resps []providers.ReadResponse
		err := s.withCtx(func(ctx context.Context) (err error) {
			resps, err = l.ReadMany(ctx, reqs)
			return err
		})
		if err != nil {
			t.Fatalf("ReadMany: %v", err)
		}
		if len(resps) != len(reqs) {
			t.Fatalf("ReadMany of %d resources returned %d responses; want one per request, in order", len(reqs), len(resps))
		}
		for i, req := range reqs {
			one := w.read(t, req.Instance)
			if resps[i].Exists != one.Exists || !sameValue(map[string]any(resps[i].Inputs), map[string]any(one.Inputs)) {
				t.Errorf("ReadMany[%d] (%s) = exists %v, inputs %s; Read says exists %v, inputs %s", i, req.Instance.Address, resps[i].Exists, show(resps[i].Inputs), one.Exists, show(one.Inputs))
			}
		}
	})
	step("ReadUnknownID", func(t *st) {
		seenType := map[string]bool{}
		for _, r := range w.graph {
			if seenType[r.Type] {
				continue
			}
			seenType[r.Type] = true
			in := *w.inst[r.Address]
			in.ID = "drivertest-no-such-object-" + newKey()
			var resp providers.ReadResponse
			err := s.withCtx(func(ctx context.Context) (err error) {
				resp, err = s.d.Read(ctx, providers.ReadRequest{Instance: in})
				return err
			})
			var p *panicError
			switch {
			case errors.As(err, &p):
				t.Errorf("Read of %s with a nonsense ID: %v", r.Type, err)
			case err != nil:
				t.Logf("Read of %s with a nonsense ID returns an error (accepted; Exists false is better): %v", r.Type, err)
			case resp.Exists:
				t.Errorf("Read of %s with the nonsense ID %q reports that it exists", r.Type, in.ID)
			}
		}
	})
	step("ImportID", func(t *st) {
		s.testImportID(t, w)
	})
	step("CheckUpdate", func(t *st) {
		s.testCheckUpdate(t, w, s.sortedGraph(t, cases[1].name, cases[1].region))
	})
	var updated []providers.Resource
	step("UpdateInPlace", func(t *st) {
		updated = s.sortedGraph(t, cases[1].name, cases[1].region)
		steps, err := w.diff(updated)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if count(steps, actUpdate) == 0 {
			t.Fatalf("%s updates no resource in place; changes: %v\nEither Config.UpdateInPlace changes nothing that can be updated, or the driver lists the changed keys in ForceNew", cases[1].name, describe(steps))
		}
		t.Logf("applying %v", describe(steps))
		w.apply(t, updated, steps)
		w.verify(t, updated)
	})
	step("Replace", func(t *st) {
		replaced := s.sortedGraph(t, cases[2].name, cases[2].region)
		steps, err := w.diff(replaced)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if count(steps, actReplaceCBD)+count(steps, actReplaceDTC) == 0 {
			t.Fatalf("%s replaces no resource: no ForceNew input changed; changes: %v\nEither Config.Replace does not change what forces a replacement, or the driver's ForceNew misses the key (then the engine would try an update the cloud cannot make)", cases[2].name, describe(steps))
		}
		old := map[string]providers.Instance{}
		for _, st := range steps {
			if st.action == actReplaceCBD || st.action == actReplaceDTC {
				old[st.res.Address] = *w.inst[st.res.Address]
			}
		}
		t.Logf("applying %v", describe(steps))
		w.apply(t, replaced, steps)
		w.verify(t, replaced)
		for _, addr := range slices.Sorted(maps.Keys(old)) {
			o := old[addr]
			if w.inst[addr] != nil && w.inst[addr].ID == o.ID {
				t.Errorf("replacing %s: the new object has the old one's ID %q", addr, o.ID)
				continue
			}
			if live := w.read(t, o); live.Exists {
				t.Errorf("replacing %s: the old object %s still exists after Delete", addr, o.ID)
			}
		}
	})
	step("Delete", func(t *st) {
		steps, err := w.diff(nil)
		if err != nil {
			t.Fatalf("%v", err)
		}
		w.apply(t, nil, steps)
		if len(w.inst) != 0 {
			t.Fatalf("objects left after deleting everything: %v", slices.Sorted(maps.Keys(w.inst)))
		}
		if baseline != nil {
			if extra := added(baseline, s.inventory(t)); len(extra) > 0 {
				t.Errorf("the cloud holds objects the suite created and deleted everything of: %v", extra)
			}
		}
	})
	step("ReadDeleted", func(t *st) {
		for _, in := range w.gone {
			var resp providers.ReadResponse
			err := s.withCtx(func(ctx context.Context) (err error) {
				resp, err = s.d.Read(ctx, providers.ReadRequest{Instance: in})
				return err
			})
			if err != nil {
				t.Errorf("Read of deleted %s (ID %s) returns an error; it must return Exists false: %v", in.Address, in.ID, err)
			} else if resp.Exists {
				t.Errorf("Read of deleted %s (ID %s) reports it exists", in.Address, in.ID)
			}
		}
	})
	step("DeleteDeleted", func(t *st) {
		for _, in := range w.gone {
			if err := s.deleteInstance(in); err != nil {
				hint := ""
				if errors.Is(err, providers.ErrNotFound) {
					hint = " (it wraps providers.ErrNotFound, but Delete of a gone resource must succeed)"
				}
				t.Errorf("deleting an already deleted resource must succeed: %v%s", err, hint)
			}
		}
	})
}

func count(steps []step, a actionKind) int {
	n := 0
	for _, s := range steps {
		if s.action == a {
			n++
		}
	}
	return n
}

// describe lists the steps that do something.
func describe(steps []step) []string {
	var out []string
	for _, s := range steps {
		if s.action != actNoOp {
			out = append(out, s.String())
		}
	}
	if len(out) == 0 {
		out = []string{"none"}
	}
	return out
}

// rootResource is the first resource of the region's graph in dependency
// order: it references nothing, so it can be created on its own.
func (s *suite) rootResource(t *st) (providers.Resource, providers.Values) {
	t.Helper()
	graph := s.sortedGraph(t, "Region", s.cfg.Region)
	r := graph[0]
	inputs, err := resolveValues(r.Inputs, func(string) (providers.Values, bool) { return nil, false }, nil)
	if err != nil {
		t.Fatalf("%s, first in dependency order, cannot be created on its own: %v", r.Address, err)
	}
	return r, inputs
}

func (s *suite) create(r providers.Resource, inputs providers.Values, key string) (providers.CreateResponse, error) {
	var resp providers.CreateResponse
	err := s.withCtx(func(ctx context.Context) (err error) {
		resp, err = s.d.Create(ctx, providers.CreateRequest{Address: r.Address, Type: r.Type, Inputs: inputs, IdempotencyKey: key})
		return err
	})
	return resp, err
}

func (s *suite) find(f providers.Finder, r providers.Resource, inputs providers.Values, key string) (providers.FindResponse, error) {
	var resp providers.FindResponse
	err := s.withCtx(func(ctx context.Context) (err error) {
		resp, err = f.Find(ctx, providers.FindRequest{Address: r.Address, Type: r.Type, Inputs: inputs, IdempotencyKey: key})
		return err
	})
	return resp, err
}

func (s *suite) testIdempotency(t *st) {
	t.run("CreateTwice", func(t *st) {
		r, inputs := s.rootResource(t)
		w := newWorld(s)
		defer w.cleanup(t)
		baseline := s.inventory(t)
		key := newKey()

		first, err := s.create(r, inputs, key)
		if err != nil {
			t.Fatalf("Create %s: %v", r.Address, err)
		}
		w.inst[r.Address] = &providers.Instance{Address: r.Address, Type: r.Type, ID: first.ID, Inputs: inputs, Outputs: first.Outputs}
		second, err := s.create(r, inputs, key)
		if err != nil {
			t.Fatalf("Create %s again with the same IdempotencyKey (a retry): %v", r.Address, err)
		}
		if second.ID != first.ID {
			w.deposed = append(w.deposed, &providers.Instance{Address: r.Address, Type: r.Type, ID: second.ID, Inputs: inputs})
			t.Errorf("Create %s twice with the same IdempotencyKey returned IDs %q and %q: a retried create would leave a duplicate", r.Address, first.ID, second.ID)
		}
		live := w.read(t, *w.inst[r.Address])
		if !live.Exists {
			t.Errorf("Read %s (ID %s) right after Create reports it does not exist", r.Address, first.ID)
		}
		// The engine adopts with a settled read (ReadRequest.Settle): for
		// an object Create already waited for it must return at once with
		// the same object, usable, not failed.
		var settled providers.ReadResponse
		err = s.withCtx(func(ctx context.Context) (err error) {
			settled, err = s.d.Read(ctx, providers.ReadRequest{Instance: *w.inst[r.Address], Settle: true})
			return err
		})
		switch {
		case err != nil:
			t.Errorf("Read %s with Settle (how the engine adopts an interrupted create): %v", r.Address, err)
		case !settled.Exists || settled.CreateFailed:
			t.Errorf("Read %s with Settle right after Create = exists %v, create failed %v; want a usable object", r.Address, settled.Exists, settled.CreateFailed)
		case live.Exists && !sameValue(map[string]any(settled.Outputs), map[string]any(live.Outputs)):
			t.Errorf("Read %s with Settle reports outputs %v; a plain Read reports %v", r.Address, settled.Outputs, live.Outputs)
		}
		if baseline != nil {
			if extra := added(baseline, s.inventory(t)); len(extra) != 1 {
				t.Errorf("two Creates with the same IdempotencyKey made %d objects (%v); want exactly 1", len(extra), extra)
			}
		} else {
			t.Logf("Config.Inventory is not set: the object count after two creates is checked through the returned IDs only")
		}
		f, isFinder := s.d.(providers.Finder)
		if isFinder {
			found, err := s.find(f, r, inputs, key)
			switch {
			case err != nil:
				t.Errorf("Find %s by its IdempotencyKey: %v", r.Address, err)
			case !found.Found:
				t.Errorf("Find %s by its IdempotencyKey does not find the object %s; the engine could not adopt an interrupted create", r.Address, first.ID)
			case found.ID != first.ID:
				t.Errorf("Find %s by its IdempotencyKey returns ID %q; want %q", r.Address, found.ID, first.ID)
			}
		}
		w.graph = []providers.Resource{r}
		w.cleanup(t)
		if t.Failed() {
			return
		}
		if isFinder {
			found, err := s.find(f, r, inputs, key)
			if err != nil {
				t.Errorf("Find %s after Delete: %v", r.Address, err)
			} else if found.Found {
				t.Errorf("Find %s by its IdempotencyKey still finds %s after the object was deleted: a duplicate was made, or Find reports deleted objects", r.Address, found.ID)
			}
		}
	})
	t.run("FindUnknownKey", func(t *st) {
		f, ok := s.d.(providers.Finder)
		if !ok {
			t.Skipf("driver does not implement providers.Finder")
		}
		r, inputs := s.rootResource(t)
		found, err := s.find(f, r, inputs, newKey())
		if err != nil {
			t.Fatalf("Find %s with a key never used: %v; want Found false and no error", r.Address, err)
		}
		if found.Found {
			t.Errorf("Find %s with a key never used found %q", r.Address, found.ID)
		}
	})
}

func (s *suite) testCancellation(t *st) {
	r, inputs := s.rootResource(t)
	w := newWorld(s)
	defer w.cleanup(t)
	baseline := s.inventory(t)
	key := newKey()

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	type result struct {
		resp providers.CreateResponse
		err  error
	}
	done := make(chan result, 1)
	go func() {
		var res result
		res.err = guard(func() (err error) {
			res.resp, err = s.d.Create(ctx, providers.CreateRequest{Address: r.Address, Type: r.Type, Inputs: inputs, IdempotencyKey: key})
			return err
		})
		done <- res
	}()
	// The timeout only keeps a hung driver from hanging the suite.
	guardCtx, stop := s.ctx()
	defer stop()
	var res result
	select {
	case res = <-done:
	case <-guardCtx.Done():
		t.Fatalf("Create with a cancelled context had not returned after the operation timeout (%v)", s.timeout)
	}
	var p *panicError
	switch {
	case errors.As(res.err, &p):
		t.Fatalf("Create with a cancelled context: %v", res.err)
	case res.err == nil:
		t.Errorf("Create %s with an already cancelled context succeeded (ID %q); it must return an error", r.Address, res.resp.ID)
		if res.resp.ID != "" {
			w.inst[r.Address] = &providers.Instance{Address: r.Address, Type: r.Type, ID: res.resp.ID, Inputs: inputs, Outputs: res.resp.Outputs}
		}
	case !errors.Is(res.err, context.Canceled):
		t.Logf("Create with a cancelled context returns an error that does not wrap context.Canceled (accepted): %v", res.err)
	}

	checked := false
	if f, ok := s.d.(providers.Finder); ok && res.err != nil {
		checked = true
		found, err := s.find(f, r, inputs, key)
		if err != nil {
			t.Errorf("Find after a cancelled Create: %v", err)
		} else if found.Found {
			t.Logf("the cancelled Create left object %s, which Find adopts (accepted); deleting it", found.ID)
			w.inst[r.Address] = &providers.Instance{Address: r.Address, Type: r.Type, ID: found.ID, Inputs: inputs, Outputs: found.Outputs}
		}
	}
	if baseline != nil {
		checked = true
		var adopted string
		if in, ok := w.inst[r.Address]; ok {
			adopted = in.ID
		}
		for _, id := range added(baseline, s.inventory(t)) {
			if id != adopted {
				t.Errorf("the cancelled Create left object %s behind, and Find does not report it: nothing could ever delete it", id)
			}
		}
	}
	if !checked {
		t.Logf("driver has no Finder and Config.Inventory is not set: cannot tell whether the cancelled Create left anything behind")
	}
}

// testImportID checks a providers.Importer against the objects the
// lifecycle created: the ID the driver recorded is an accepted form that
// comes back unchanged, a nonsense ID is refused or names nothing, and
// nothing in the cloud changes.
func (s *suite) testImportID(t *st, w *world) {
	im, ok := s.d.(providers.Importer)
	if !ok {
		t.Skipf("driver does not implement providers.Importer: regionctl import records IDs as the user gives them")
	}
	before := s.inventory(t)
	importID := func(in providers.Instance, id string) (string, error) {
		var resp providers.ImportIDResponse
		err := s.withCtx(func(ctx context.Context) (err error) {
			resp, err = im.ImportID(ctx, providers.ImportIDRequest{Address: in.Address, Type: in.Type, ID: id, Inputs: in.Inputs})
			return err
		})
		return resp.ID, err
	}
	seenType := map[string]bool{}
	for _, r := range w.graph {
		in := *w.inst[r.Address]
		if got, err := importID(in, in.ID); err != nil || got != in.ID {
			t.Errorf("ImportID of %s with the ID the driver recorded (%q) = %q, %v; want that ID back", r.Address, in.ID, got, err)
		}
		if seenType[r.Type] {
			continue
		}
		seenType[r.Type] = true
		nonsense := "drivertest-no-such-object-" + newKey()
		got, err := importID(in, nonsense)
		var p *panicError
		switch {
		case errors.As(err, &p):
			t.Errorf("ImportID of %s with a nonsense ID: %v", r.Type, err)
		case err != nil:
			continue // refused: the user sees why
		}
		in.ID = got
		var resp providers.ReadResponse
		err = s.withCtx(func(ctx context.Context) (err error) {
			resp, err = s.d.Read(ctx, providers.ReadRequest{Instance: in})
			return err
		})
		if err == nil && resp.Exists {
			t.Errorf("ImportID of %s turned the nonsense ID %q into %q, which Read says exists", r.Type, nonsense, got)
		}
	}
	if before != nil {
		if now := s.inventory(t); len(added(before, now))+len(added(now, before)) > 0 {
			t.Errorf("ImportID changed the cloud: added %v, removed %v", added(before, now), added(now, before))
		}
	}
}
