package plan

import (
	"context"
	"fmt"
	"hash/fnv"
	"runtime"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// readOnlyDriver hides the mem driver's Lister, so refresh makes one Read
// per resource (the worst case a driver without batching gives).
type readOnlyDriver struct {
	providers.Driver
	providers.Finder
}

func fleet(n int) []*spec.Region {
	out := make([]*spec.Region, n)
	for i := range out {
		out[i] = region(fmt.Sprintf("r%03d", i))
	}
	return out
}

func benchEngine(cloud *memcloud.Cloud, drv providers.Driver, store *statetest.Memory) *Engine {
	return &Engine{
		Drivers: func(ctx context.Context, provider string) (providers.Driver, error) { return drv, nil },
		State:   store,
	}
}

// peakHeap samples HeapInuse until stop is closed and returns the maximum.
func peakHeap(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var ms runtime.MemStats
		var peak uint64
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkPlanFleet plans 200 typical regions (15 resources each) from a
// full state, with 5 ms of simulated latency on every cloud read, at the
// default parallelism. "read" refreshes with one Read per resource; "list"
// lets the driver batch them (Lister).
func BenchmarkPlanFleet(b *testing.B) {
	for _, mode := range []string{"read", "list"} {
		b.Run(mode, func(b *testing.B) {
			cloud, store := memcloud.New(), statetest.NewMemory()
			md := memcloud.NewDriver(cloud)
			regions := fleet(200)
			eng := benchEngine(cloud, md, store)
			eng.Parallelism = 1000 // fast setup
			p, ds := eng.Plan(context.Background(), regions, PlanOptions{})
			if ds.HasErrors() {
				b.Fatal(ds)
			}
			if _, err := eng.Apply(context.Background(), p, ApplyOptions{}); err != nil {
				b.Fatal(err)
			}
			cloud.Latency = func(op, typ, address string) time.Duration {
				if op == memcloud.OpRead || op == memcloud.OpList || op == memcloud.OpFind {
					return 5 * time.Millisecond
				}
				return 0
			}
			var drv providers.Driver = md
			if mode == "read" {
				drv = readOnlyDriver{md, md}
			}
			eng = benchEngine(cloud, drv, store)
			runtime.GC()
			b.ResetTimer()
			var peak uint64
			var wall time.Duration
			for b.Loop() {
				stop := make(chan struct{})
				peakc := peakHeap(stop)
				start := time.Now()
				p, ds := eng.Plan(context.Background(), regions, PlanOptions{})
				wall += time.Since(start)
				close(stop)
				peak = max(peak, <-peakc)
				if ds.HasErrors() || p.HasChanges() {
					b.Fatalf("plan of a converged fleet: %s, changes %v", ds, p != nil && p.HasChanges())
				}
			}
			b.ReportMetric(float64(wall.Milliseconds())/float64(b.N), "ms/plan")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(cloud.Calls(memcloud.OpRead)+cloud.Calls(memcloud.OpList))/float64(b.N), "calls/plan")
		})
	}
}

// opLatency is the simulated latency of creating the resource at address:
// 20–200 ms, fixed by a hash of the address and seed.
func opLatency(seed uint32, address string) time.Duration {
	h := fnv.New32a()
	fmt.Fprintf(h, "%d/%s", seed, address)
	return time.Duration(20+h.Sum32()%181) * time.Millisecond
}

// criticalPath is the longest chain of summed create latencies through the
// plan's dependency graphs (regions are independent, so the fleet's is the
// longest region's), and the total of all latencies.
func criticalPath(p *Plan, lat func(string) time.Duration) (longest, total time.Duration) {
	for _, rp := range p.Regions {
		finish := map[string]time.Duration{}
		for _, d := range rp.Desired { // dependency order
			var start time.Duration
			for _, dep := range resourceDeps(&d) {
				start = max(start, finish[dep])
			}
			finish[d.Address] = start + lat(d.Address)
			longest = max(longest, finish[d.Address])
			total += lat(d.Address)
		}
	}
	return longest, total
}

// BenchmarkApplyFleet creates 50 typical regions from nothing with 20–200
// ms of seeded latency per create, and reports wall time against the
// critical path. "unbounded" gives the walker enough parallelism for every
// ready operation, so the critical path is the lower bound and the ratio
// measures scheduling overhead; "parallelism-10" is the default, where the
// lower bound is the total work divided by 10 ("x-work-bound").
func BenchmarkApplyFleet(b *testing.B) {
	const seed = 42
	for _, tc := range []struct {
		name string
		par  int
	}{{"unbounded", 50 * 15}, {"parallelism-10", 10}} {
		b.Run(tc.name, func(b *testing.B) {
			regions := fleet(50)
			lat := func(a string) time.Duration { return opLatency(seed, a) }
			var wall, cp, total time.Duration
			for b.Loop() {
				b.StopTimer()
				cloud, store := memcloud.New(), statetest.NewMemory()
				eng := benchEngine(cloud, memcloud.NewDriver(cloud), store)
				eng.Parallelism = tc.par
				p, ds := eng.Plan(context.Background(), regions, PlanOptions{})
				if ds.HasErrors() {
					b.Fatal(ds)
				}
				cp, total = criticalPath(p, lat)
				cloud.Latency = func(op, typ, address string) time.Duration {
					if op == memcloud.OpCreate {
						return lat(address)
					}
					return 0
				}
				b.StartTimer()
				start := time.Now()
				res, err := eng.Apply(context.Background(), p, ApplyOptions{})
				wall += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if n := len(cloud.Objects()); n != 50*15 || res.Regions[0].Added != 15 {
					b.Fatalf("created %d objects", n)
				}
			}
			per := wall / time.Duration(b.N)
			bound := max(cp, total/time.Duration(tc.par))
			b.ReportMetric(float64(per.Milliseconds()), "ms/apply")
			b.ReportMetric(float64(cp.Milliseconds()), "critical-path-ms")
			b.ReportMetric(float64(per)/float64(cp), "x-critical-path")
			b.ReportMetric(float64(per)/float64(bound), "x-work-bound")
		})
	}
}
