package kit

import (
	"context"
	"fmt"
	"reflect"

	"golang.org/x/sync/errgroup"

	"github.com/regionctl/regionctl/providers"
)

// Lister is implemented by handlers that read many resources of their type
// with few cloud calls (a list or describe-by-filter per location rather
// than one get each). ReadMany gets calls whose ID and Env are set, as
// Read would, and returns one result per call, in order: the live
// resource, or nil when it is gone. What it reports for a resource must be
// exactly what Read reports for it; drivertest.ReadManyMatchesRead checks.
type Lister[E, In, Out any] interface {
	ReadMany(ctx context.Context, calls []*Call[E, In, Out]) ([]*Live[In, Out], error)
}

// ReadEach is the fallback of a Lister that cannot batch some calls: it
// reads them one by one through read, a few at a time.
func ReadEach[E, In, Out any](ctx context.Context, calls []*Call[E, In, Out], read func(context.Context, *Call[E, In, Out]) (*Live[In, Out], error)) ([]*Live[In, Out], error) {
	out := make([]*Live[In, Out], len(calls))
	idx := make([]int, len(calls))
	for i := range idx {
		idx[i] = i
	}
	return out, each(ctx, calls, idx, func(ctx context.Context, i int) (err error) {
		out[i], err = read(ctx, calls[i])
		return err
	})
}

// each runs fn for every index of idx, a few at a time (fn may call the
// cloud), wrapping an error with the call it was about.
func each[E, In, Out any](ctx context.Context, calls []*Call[E, In, Out], idx []int, fn func(ctx context.Context, i int) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readEachParallelism)
	for _, i := range idx {
		g.Go(func() error {
			if err := fn(gctx, i); err != nil {
				return fmt.Errorf("%s (%s): %w", calls[i].Address, calls[i].ID, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// readEachParallelism bounds the reads ReadEach runs at once; the cloud's
// rate budget (package providers/budget) paces them further.
const readEachParallelism = 8

// readResult is what reading one resource found.
type readResult struct {
	exists        bool
	live, outputs providers.Values
}

func (b *typed[E, In, Out]) readMany(ctx context.Context, metas []Meta, ins, outs []providers.Values) ([]readResult, error) {
	calls := make([]*Call[E, In, Out], len(metas))
	for i, m := range metas {
		c, err := b.call(ctx, m, ins[i], ins[i], outs[i])
		if err != nil {
			return nil, fmt.Errorf("%s (%s): %w", m.Address, m.ID, err)
		}
		calls[i] = c
	}
	var lives []*Live[In, Out]
	var err error
	if l, ok := b.t.Handler.(Lister[E, In, Out]); ok {
		lives, err = l.ReadMany(ctx, calls)
		if err == nil && len(lives) != len(calls) {
			err = fmt.Errorf("kit: %s ReadMany returned %d results for %d resources", b.s.Type, len(lives), len(calls))
		}
	} else {
		lives, err = ReadEach(ctx, calls, b.t.Handler.Read)
	}
	if err != nil {
		return nil, err
	}
	res := make([]readResult, len(calls))
	for i, live := range lives {
		if live == nil {
			continue
		}
		in, out, err := b.encodeLive(live, ins[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", metas[i].Address, err)
		}
		res[i] = readResult{exists: true, live: in, outputs: out}
	}
	return res, nil
}

// encodeLive encodes what a handler reports, sets normalised like prev.
func (b *typed[E, In, Out]) encodeLive(live *Live[In, Out], prev providers.Values) (providers.Values, providers.Values, error) {
	in, err := encode(&live.In)
	if err != nil {
		return nil, nil, fmt.Errorf("kit: encode live inputs: %w", err)
	}
	out, err := encode(&live.Out)
	if err != nil {
		return nil, nil, fmt.Errorf("kit: encode outputs: %w", err)
	}
	normalizeSets(in, prev, reflect.TypeFor[In]())
	return in, out, nil
}

var _ providers.Lister = (*Router)(nil)

// ReadMany reads many resources, type by type: a type whose handler is a
// Lister reads all of its resources in one ReadMany (its cloud's list
// calls), the others are read one by one. Types are read concurrently.
// Results are in the order of reqs and are exactly what Read would return.
func (r *Router) ReadMany(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	out := make([]providers.ReadResponse, len(reqs))
	type group struct {
		b     binding
		idx   []int
		metas []Meta
		ins   []providers.Values
		outs  []providers.Values
	}
	groups := map[string]*group{}
	var order []string
	for i, req := range reqs {
		inst := req.Instance
		if inst.ID == "" {
			continue // nothing to read: gone
		}
		b, err := r.lookup(inst.Type, inst.Address)
		if err != nil {
			return nil, err
		}
		in, o, err := r.current(b, inst)
		if err != nil {
			return nil, r.fail(err, "read %s (%s)", inst.Address, inst.ID)
		}
		g := groups[inst.Type]
		if g == nil {
			g = &group{b: b}
			groups[inst.Type] = g
			order = append(order, inst.Type)
		}
		g.idx = append(g.idx, i)
		g.metas = append(g.metas, Meta{Address: inst.Address, Type: inst.Type, ID: inst.ID})
		g.ins = append(g.ins, in)
		g.outs = append(g.outs, o)
	}
	eg, gctx := errgroup.WithContext(ctx)
	for _, typ := range order {
		g := groups[typ]
		eg.Go(func() error {
			res, err := g.b.readMany(gctx, g.metas, g.ins, g.outs)
			if err != nil {
				return r.fail(err, "read %d resources of type %s", len(g.idx), typ)
			}
			for j, i := range g.idx {
				if res[j].exists {
					out[i] = providers.ReadResponse{Exists: true, Inputs: res[j].live, Outputs: res[j].outputs}
				}
			}
			return nil
		})
	}
	if err := eg.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// Fill completes a Lister's results from what one list call found: for
// each call at idx it looks up the call's object in found by key and sets
// out[i] to what live (the function Read ends with) reports of it, a few
// at a time (live may call the cloud for what the list lacks); a call
// whose object is not found stays nil (gone).
func Fill[E, In, Out, T any](ctx context.Context, out []*Live[In, Out], calls []*Call[E, In, Out], idx []int, found map[string]T,
	key func(*Call[E, In, Out]) string, live func(context.Context, *Call[E, In, Out], T) (*Live[In, Out], error),
) error {
	var present []int
	for _, i := range idx {
		if _, ok := found[key(calls[i])]; ok {
			present = append(present, i)
		}
	}
	return each(ctx, calls, present, func(ctx context.Context, i int) (err error) {
		out[i], err = live(ctx, calls[i], found[key(calls[i])])
		return err
	})
}
