package plugin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/regionctl/regionctl/internal/memcloud"
	"github.com/regionctl/regionctl/plan"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/spec"
	"github.com/regionctl/regionctl/state/statetest"
)

// memoryPlugin launches the test plugin over a cloud in its own memory,
// with lat on every cloud read; noLister hides its driver's batched read.
func memoryPlugin(b testing.TB, lat time.Duration, noLister bool) providers.Driver {
	b.Helper()
	p, _, _ := memPlugin(b)
	b.Setenv(envMemory, "1")
	b.Setenv(envReadLatency, lat.String())
	if noLister {
		b.Setenv(envNoLister, "1")
	}
	d, err := p.Launch(context.Background(), providers.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.(interface{ Close() error }).Close() })
	return d
}

// BenchmarkReadCall measures one Read of an existing resource, in process
// and through the plugin boundary (gRPC over a local socket, values as
// JSON), with no cloud latency: the difference is what the plugin adds to
// every operation.
func BenchmarkReadCall(b *testing.B) {
	read := func(b *testing.B, d providers.Driver) float64 {
		ctx := context.Background()
		in := providers.Values{"name": "eu1", "cidr": "10.0.0.0/16"}
		c, err := d.Create(ctx, providers.CreateRequest{Address: "eu1/mem_network.main", Type: memcloud.TypeNetwork, Inputs: in, IdempotencyKey: "k"})
		if err != nil {
			b.Fatal(err)
		}
		req := providers.ReadRequest{Instance: providers.Instance{Address: "eu1/mem_network.main", Type: memcloud.TypeNetwork, ID: c.ID, Inputs: in, Outputs: c.Outputs}}
		b.ResetTimer()
		start := time.Now()
		for b.Loop() {
			if r, err := d.Read(ctx, req); err != nil || !r.Exists {
				b.Fatalf("read: %+v %v", r, err)
			}
		}
		return float64(time.Since(start).Nanoseconds()) / float64(b.N)
	}
	var inProcess float64
	b.Run("in-process", func(b *testing.B) {
		inProcess = read(b, memcloud.NewDriver(memcloud.New()))
	})
	b.Run("plugin", func(b *testing.B) {
		ns := read(b, memoryPlugin(b, 0, false))
		if inProcess > 0 {
			b.ReportMetric((ns-inProcess)/1e3, "added-µs/op")
		}
	})
}

// BenchmarkReadManyCall measures one batched read of a whole region (14
// resources, as refresh sends it) in process and through the plugin, with
// no cloud latency.
func BenchmarkReadManyCall(b *testing.B) {
	var inProcess float64
	for _, where := range []string{"in-process", "plugin"} {
		b.Run(where, func(b *testing.B) {
			var d providers.Driver
			if where == "plugin" {
				d = memoryPlugin(b, 0, false)
			} else {
				d = memcloud.NewDriver(memcloud.New())
			}
			store := statetest.NewMemory()
			eng := &plan.Engine{State: store, Drivers: func(context.Context, string) (providers.Driver, error) { return d, nil }}
			r := memcloud.Conformance(nil, nil).Region
			p, ds := eng.Plan(context.Background(), []*spec.Region{r}, plan.PlanOptions{})
			if ds.HasErrors() {
				b.Fatal(ds)
			}
			if _, err := eng.Apply(context.Background(), p, plan.ApplyOptions{}); err != nil {
				b.Fatal(err)
			}
			st, err := store.Read(context.Background(), r.Metadata.Name)
			if err != nil {
				b.Fatal(err)
			}
			var reqs []providers.ReadRequest
			for _, res := range st.Resources {
				reqs = append(reqs, providers.ReadRequest{Instance: providers.Instance{Address: res.Address, Type: res.Type, ID: res.ID, Inputs: res.Inputs, Outputs: res.Outputs}})
			}
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				if _, err := d.(providers.Lister).ReadMany(context.Background(), reqs); err != nil {
					b.Fatal(err)
				}
			}
			us := float64(time.Since(start).Nanoseconds()) / 1e3 / float64(b.N)
			b.ReportMetric(float64(len(reqs)), "resources")
			if where == "in-process" {
				inProcess = us
			} else if inProcess > 0 {
				b.ReportMetric(us-inProcess, "added-µs/op")
			}
		})
	}
}

// BenchmarkPlanFleetThroughPlugin plans 200 regions (14 resources each,
// 2800 in all) from full state with 5 ms of latency on every cloud read, at
// the default parallelism, with the same driver in process and through a
// plugin, as plan.BenchmarkPlanFleet does. "read": a driver without a
// batched read — in process the engine makes one Read per resource;
// through the plugin, one ReadMany RPC per region, which the plugin answers
// with one Read after another. "list": a driver with ReadMany, one call per
// region either way.
func BenchmarkPlanFleetThroughPlugin(b *testing.B) {
	regions := make([]*spec.Region, 200)
	base := memcloud.Conformance(nil, nil).Region
	for i := range regions {
		regions[i] = drivertest.CloneRegion(base)
		regions[i].Metadata.Name = fmt.Sprintf("r%03d", i)
	}
	for _, mode := range []string{"read", "list"} {
		var inProcess float64
		for _, where := range []string{"in-process", "plugin"} {
			b.Run(mode+"/"+where, func(b *testing.B) {
				var d providers.Driver
				if where == "plugin" {
					d = memoryPlugin(b, 5*time.Millisecond, mode == "read")
				} else {
					cloud := memcloud.New()
					cloud.Latency = readLatency(5 * time.Millisecond)
					d = memcloud.NewDriver(cloud)
				}
				store := statetest.NewMemory()
				eng := &plan.Engine{State: store, Parallelism: 1000,
					Drivers: func(context.Context, string) (providers.Driver, error) { return d, nil }}
				p, ds := eng.Plan(context.Background(), regions, plan.PlanOptions{})
				if ds.HasErrors() {
					b.Fatal(ds)
				}
				if _, err := eng.Apply(context.Background(), p, plan.ApplyOptions{}); err != nil {
					b.Fatal(err)
				}
				if mode == "read" && where == "in-process" {
					d = readOnly{d, d.(providers.Finder)}
				}
				eng = &plan.Engine{State: store, Drivers: func(context.Context, string) (providers.Driver, error) { return d, nil }}
				b.ResetTimer()
				start := time.Now()
				for b.Loop() {
					p, ds := eng.Plan(context.Background(), regions, plan.PlanOptions{})
					if ds.HasErrors() || p.HasChanges() {
						b.Fatalf("plan of a converged fleet: %s", ds)
					}
				}
				ms := float64(time.Since(start).Milliseconds()) / float64(b.N)
				b.ReportMetric(ms, "ms/plan")
				if where == "in-process" {
					inProcess = ms
				} else if inProcess > 0 {
					b.ReportMetric(ms/inProcess, "x-in-process")
				}
			})
		}
	}
}

// readOnly hides a driver's Lister (and everything else optional but Find).
type readOnly struct {
	providers.Driver
	providers.Finder
}
