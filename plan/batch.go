package plan

import (
	"context"
	"fmt"
	"sync"

	"github.com/regionctl/regionctl/providers"
)

// fleetBatchSize bounds how many resources one cross-region ReadMany
// call refreshes.
const fleetBatchSize = 1000

// fleetRefresh gathers the batched reads of every region of one provider
// in a Plan, so the driver's ReadMany sees the whole fleet at once: a
// driver that lists by location (one DescribeSubnets per AWS region, one
// aggregated list per project) then makes one call for all the fleet's
// regions there, not one per region. Each region of the provider either
// submits its reads or leaves (it has none, or failed earlier); when all
// have, the reads are sent, in calls of at most fleetBatchSize.
type fleetRefresh struct {
	mu       sync.Mutex
	expected int
	arrived  int
	reqs     []providers.ReadRequest
	done     chan struct{}
	resps    []providers.ReadResponse
	err      error
	run      func(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error)
	ctx      context.Context
}

func newFleetRefresh(ctx context.Context, regions int, run func(context.Context, []providers.ReadRequest) ([]providers.ReadResponse, error)) *fleetRefresh {
	return &fleetRefresh{expected: regions, done: make(chan struct{}), run: run, ctx: ctx}
}

// submit adds a region's reads and waits for their responses (in order).
func (f *fleetRefresh) submit(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	f.mu.Lock()
	start := len(f.reqs)
	f.reqs = append(f.reqs, reqs...)
	f.arrive()
	f.mu.Unlock()
	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.err != nil {
		return nil, f.err
	}
	return f.resps[start : start+len(reqs)], nil
}

// leave counts a region that submits nothing.
func (f *fleetRefresh) leave() {
	f.mu.Lock()
	f.arrive()
	f.mu.Unlock()
}

// arrive counts a region in; the last one sends the reads. Callers hold
// f.mu.
func (f *fleetRefresh) arrive() {
	f.arrived++
	if f.arrived == f.expected {
		go f.send()
	}
}

func (f *fleetRefresh) send() {
	defer close(f.done)
	f.resps = make([]providers.ReadResponse, 0, len(f.reqs))
	for start := 0; start < len(f.reqs); start += fleetBatchSize {
		batch := f.reqs[start:min(start+fleetBatchSize, len(f.reqs))]
		resps, err := f.run(f.ctx, batch)
		if err == nil && len(resps) != len(batch) {
			err = fmt.Errorf("driver returned %d results for %d resources", len(resps), len(batch))
		}
		if err != nil {
			f.err = fmt.Errorf("refresh %d resources: %w", len(batch), err)
			return
		}
		f.resps = append(f.resps, resps...)
	}
}

// fleetMember is one region's handle on its provider's fleetRefresh: it
// submits once or leaves once, whatever path planRegion takes.
type fleetMember struct {
	f    *fleetRefresh
	once sync.Once
}

func (m *fleetMember) submit(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	var resps []providers.ReadResponse
	var err error
	first := false
	m.once.Do(func() {
		first = true
		resps, err = m.f.submit(ctx, reqs)
	})
	if !first {
		return nil, fmt.Errorf("plan: a region refreshed twice in one plan")
	}
	return resps, err
}

func (m *fleetMember) leave() {
	if m != nil {
		m.once.Do(m.f.leave)
	}
}
