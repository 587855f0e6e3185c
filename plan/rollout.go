package plan

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/state"
)

// Rollout is the order in which Apply changes a plan's regions: wave by
// wave. A wave starts once every region of the previous one applied without
// error and passed the health gate, and PauseBetween has passed; the first
// failure (an operation, or the gate) stops the rollout and the later waves
// are not started. It is a fleet's Rollout document resolved against the
// regions planned (spec.Rollout.Resolve).
type Rollout struct {
	Name  string `json:"name"`
	Waves []Wave `json:"waves"`
	// PauseBetween is waited after a wave passed its gate, before the next
	// one starts (not after a wave that changed nothing).
	PauseBetween time.Duration `json:"pauseBetween,omitempty"`
	// GateTimeout bounds how long the gate polls a wave's regions.
	GateTimeout time.Duration `json:"gateTimeout"`
}

// Wave is one step of a rollout.
type Wave struct {
	Name    string   `json:"name"`
	Regions []string `json:"regions"`
}

// rolloutFormatVersion is the plan file format of a plan with a rollout: a
// regionctl that does not know waves must refuse it rather than apply
// every region at once.
const rolloutFormatVersion = 3

// DefaultGateInterval is the first wait between two health checks of a
// wave; it doubles up to maxGateInterval.
const (
	DefaultGateInterval = 2 * time.Second
	maxGateInterval     = 30 * time.Second
)

// WaveStatus is how far a wave got.
type WaveStatus string

// Wave statuses.
const (
	WaveDone       WaveStatus = "done"
	WaveFailed     WaveStatus = "failed"
	WaveUnhealthy  WaveStatus = "unhealthy"
	WaveNotStarted WaveStatus = "not-started"
)

// WaveResult is what Apply did with one wave.
type WaveResult struct {
	Name    string
	Regions []string
	Status  WaveStatus
	// Health is the last health check of each region the wave changed,
	// by region.
	Health map[string]providers.HealthResponse
	// Err is why an unhealthy wave stopped the rollout (a *GateError, or
	// the interruption); nil otherwise. Apply returns it too.
	Err error
}

// GateError is a wave whose regions did not all pass the health gate
// before its timeout.
type GateError struct {
	Wave string
	// Problems are the failing checks (or check errors), by region.
	Problems map[string][]string
	Timeout  time.Duration
}

func (e *GateError) Error() string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(e.Problems)) {
		parts = append(parts, fmt.Sprintf("%s: %s", r, strings.Join(e.Problems[r], "; ")))
	}
	return fmt.Sprintf("wave %s failed its health gate after %s: %s; the rollout stopped", e.Wave, e.Timeout, strings.Join(parts, " | "))
}

// WaveOf returns the index of the wave region is in, or -1.
func (r *Rollout) WaveOf(region string) int {
	if r == nil {
		return -1
	}
	for i, w := range r.Waves {
		if slices.Contains(w.Regions, region) {
			return i
		}
	}
	return -1
}

// planRollout keeps the waves of opts.Rollout that hold regions of the
// plan, with only those regions, and checks that every planned region is in
// exactly one wave.
func planRollout(r *Rollout, plans []RegionPlan) (*Rollout, diag.Diagnostics) {
	if r == nil {
		return nil, nil
	}
	var ds diag.Diagnostics
	planned := map[string]bool{}
	for _, rp := range plans {
		planned[rp.Region] = true
	}
	out := &Rollout{Name: r.Name, PauseBetween: r.PauseBetween, GateTimeout: r.GateTimeout}
	seen := map[string]string{}
	for _, w := range r.Waves {
		kept := Wave{Name: w.Name}
		for _, name := range w.Regions {
			if prev, dup := seen[name]; dup {
				ds = ds.Errorf(diag.Pos{}, "", "rollout %s: region %s is in waves %s and %s", r.Name, name, prev, w.Name)
				continue
			}
			seen[name] = w.Name
			if planned[name] {
				kept.Regions = append(kept.Regions, name)
			}
		}
		if len(kept.Regions) > 0 {
			out.Waves = append(out.Waves, kept)
		}
	}
	for _, rp := range plans {
		if _, ok := seen[rp.Region]; !ok {
			ds = ds.Errorf(diag.Pos{}, "", "rollout %s: region %s is in no wave", r.Name, rp.Region)
		}
	}
	if out.GateTimeout <= 0 {
		out.GateTimeout = 15 * time.Minute
	}
	return out, ds
}

// applyWaves applies p's regions wave by wave (run applies a set of region
// indices in parallel and fills res and errs), gating and pausing between
// waves. It returns the gate's error, if any; operation errors are in errs.
func (e *Engine) applyWaves(ctx context.Context, p *Plan, res *ApplyResult, errs []error, before []*state.State, drivers *driverSet, run func([]int)) error {
	index := map[string]int{}
	for i, rp := range p.Regions {
		index[rp.Region] = i
	}
	stopped := ""
	var gateErr error
	for wi, w := range p.Rollout.Waves {
		var idx, changed []int
		for _, name := range w.Regions {
			if i, ok := index[name]; ok {
				idx = append(idx, i)
				if p.Regions[i].hasChanges() {
					changed = append(changed, i)
				}
			}
		}
		wr := WaveResult{Name: w.Name, Regions: w.Regions}
		if stopped == "" && ctx.Err() != nil {
			stopped = "cancelled"
		}
		if stopped != "" {
			wr.Status = WaveNotStarted
			for _, i := range idx {
				res.Regions[i] = e.notStarted(&p.Regions[i], w.Name, stopped)
			}
			res.Waves = append(res.Waves, wr)
			continue
		}
		e.emit(Event{Kind: EventWaveStart, Wave: w.Name, Total: len(changed), Cause: strings.Join(w.Regions, ", ")})
		run(idx)
		for _, i := range idx {
			if errs[i] != nil && wr.Status == "" {
				wr.Status = WaveFailed
				stopped = fmt.Sprintf("not started: wave %s failed in region %s", w.Name, p.Regions[i].Region)
			}
		}
		if wr.Status == WaveFailed {
			res.Waves = append(res.Waves, wr)
			continue
		}
		if len(changed) > 0 {
			var err error
			wr.Health, err = e.gate(ctx, p, w.Name, changed, before, drivers)
			if err != nil {
				wr.Status, wr.Err = WaveUnhealthy, err
				gateErr = err
				stopped = fmt.Sprintf("not started: wave %s failed its health gate", w.Name)
				res.Waves = append(res.Waves, wr)
				continue
			}
		}
		wr.Status = WaveDone
		res.Waves = append(res.Waves, wr)
		if pause := p.Rollout.PauseBetween; pause > 0 && len(changed) > 0 && wi < len(p.Rollout.Waves)-1 {
			e.emit(Event{Kind: EventPause, Wave: w.Name, Elapsed: pause})
			if kit.Sleep(ctx, pause) != nil {
				stopped = "cancelled"
			}
		}
	}
	return gateErr
}

// notStarted is the result of a region whose wave never started: every
// change skipped with cause, each reported once.
func (e *Engine) notStarted(rp *RegionPlan, wave, cause string) RegionResult {
	rr := RegionResult{Region: rp.Region, Skipped: map[string]string{}, Outputs: map[string]map[string]any{}, Serial: rp.Serial}
	for _, ch := range rp.Changes {
		if ch.Action == NoOp {
			continue
		}
		name := ch.Address
		if ch.DeposedID != "" {
			name += " (deposed " + ch.DeposedID + ")"
		}
		rr.Skipped[name] = cause
		e.emit(Event{Kind: EventSkip, Region: rp.Region, Address: name, Action: ch.Action, Cause: cause, Wave: wave})
	}
	return rr
}

// gate polls the health of the regions at idx (those the wave changed)
// until every one passes, with a backoff from GateInterval, up to the
// rollout's GateTimeout. A driver without a health check passes at once
// with a check saying so.
func (e *Engine) gate(ctx context.Context, p *Plan, wave string, idx []int, before []*state.State, drivers *driverSet) (map[string]providers.HealthResponse, error) {
	timeout := p.Rollout.GateTimeout
	deadline := e.now().Add(timeout)
	delay := e.GateInterval
	if delay <= 0 {
		delay = DefaultGateInterval
	}
	last := map[string]providers.HealthResponse{}
	problems := map[string][]string{}
	pending := slices.Clone(idx)
	e.emit(Event{Kind: EventGateStart, Wave: wave, Total: len(idx), Elapsed: timeout})
	start := time.Now()
	for {
		var still []int
		for _, i := range pending {
			rp := &p.Regions[i]
			resp, err := e.checkRegion(ctx, rp, before[i], drivers)
			last[rp.Region] = resp
			ev := Event{Kind: EventGateCheck, Wave: wave, Region: rp.Region, Elapsed: time.Since(start)}
			switch {
			case err != nil:
				problems[rp.Region] = []string{err.Error()}
				ev.Err = err
			case !resp.Healthy():
				problems[rp.Region] = nil
				for _, c := range resp.Failing() {
					problems[rp.Region] = append(problems[rp.Region], c.Name+": "+c.Detail)
				}
				ev.Cause = strings.Join(problems[rp.Region], "; ")
			default:
				delete(problems, rp.Region)
				ev.Cause = "healthy"
				if passed := checkSummary(resp.Checks); passed != "" {
					ev.Cause += ": " + passed
				}
			}
			e.emit(ev)
			if err != nil || !resp.Healthy() {
				still = append(still, i)
			}
		}
		pending = still
		if len(pending) == 0 {
			e.emit(Event{Kind: EventGatePass, Wave: wave, Total: len(idx), Elapsed: time.Since(start)})
			return last, nil
		}
		if ctx.Err() != nil || !e.now().Add(delay).Before(deadline) {
			gerr := &GateError{Wave: wave, Problems: problems, Timeout: timeout}
			if ctx.Err() != nil {
				gerr.Timeout = time.Since(start).Round(time.Millisecond)
			}
			e.emit(Event{Kind: EventGateFail, Wave: wave, Total: len(pending), Elapsed: time.Since(start), Err: gerr})
			return last, gerr
		}
		if err := kit.Sleep(ctx, delay); err != nil {
			continue // reported as a gate failure on the next turn
		}
		delay = min(2*delay, maxGateInterval)
	}
}

// checkSummary lists checks as "name: detail; …", for a region that
// passed, so the user sees what the gate looked at.
func checkSummary(checks []providers.HealthCheck) string {
	var parts []string
	for _, c := range checks {
		part := c.Name
		if c.Detail != "" {
			part += ": " + c.Detail
		}
		parts = append(parts, part)
	}
	return strings.Join(parts, "; ")
}

// checkRegion asks the region's driver for its health, from state as it is
// now and as it was before the apply.
func (e *Engine) checkRegion(ctx context.Context, rp *RegionPlan, before *state.State, drivers *driverSet) (providers.HealthResponse, error) {
	ent, err := drivers.get(ctx, rp.Provider)
	if err != nil {
		return providers.HealthResponse{}, err
	}
	hc, ok := ent.drv.(providers.HealthChecker)
	if !ok {
		return providers.NoHealthCheck(fmt.Sprintf("driver %s has no health check", rp.Provider)), nil
	}
	st, err := e.State.Read(ctx, rp.Region)
	if err != nil {
		return providers.HealthResponse{}, fmt.Errorf("read state: %w", err)
	}
	req := providers.HealthRequest{Region: rp.Region, Resources: instancesOf(st)}
	if before != nil {
		req.Before = instancesOf(before)
	}
	resp, err := hc.CheckHealth(ctx, req)
	if err != nil {
		return resp, fmt.Errorf("health check: %w", err)
	}
	return resp, nil
}

// instancesOf lists the created resources of st as the driver sees them.
func instancesOf(st *state.State) []providers.Instance {
	var out []providers.Instance
	for _, r := range st.Resources {
		if r.Status == state.StatusCreated {
			out = append(out, instanceOf(r))
		}
	}
	return out
}
