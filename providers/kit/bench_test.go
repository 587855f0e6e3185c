package kit_test

import (
	"context"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// BenchmarkRouterRead measures what the kit adds to one Read: decoding the
// recorded values into the input and output structs, connecting, encoding
// what the handler reports and keeping sets in recorded order. "handler"
// calls the same handler on a ready typed call, without the kit; the
// difference is the kit's cost per cloud call, to set against the cloud
// call itself (milliseconds).
func BenchmarkRouterRead(b *testing.B) {
	cl := newCloud()
	cl.disks["disk-1"] = diskIn{Zone: "z1", SizeGB: 10, Tags: []string{"b", "a"}, Labels: map[string]string{"team": "x"},
		Spec: diskSpec{Kind: "ssd", Zones: []string{"z2", "z1"}}}
	r, err := kit.New(kit.Options{Name: "toy"}, kit.Type[env, diskIn, diskOut]{Name: "toy_disk", Handler: diskHandler{},
		Connect: func(context.Context, kit.Target) (env, error) { return env{cloud: cl}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	inst := providers.Instance{Address: "r/toy_disk.a", Type: "toy_disk", ID: "disk-1", Inputs: diskInputs(),
		Outputs: providers.Values{"id": "disk-1", "serial": "s-disk-1"}}
	ctx := context.Background()
	var perCall [2]time.Duration
	b.Run("router", func(b *testing.B) {
		b.ReportAllocs()
		start := time.Now()
		for range b.N {
			if resp, err := r.Read(ctx, providers.ReadRequest{Instance: inst}); err != nil || !resp.Exists {
				b.Fatal(resp, err)
			}
		}
		perCall[0] = time.Since(start) / time.Duration(b.N)
	})
	b.Run("handler", func(b *testing.B) {
		b.ReportAllocs()
		c := &kit.Call[env, diskIn, diskOut]{Meta: kit.Meta{ID: "disk-1"}, Env: env{cloud: cl}}
		start := time.Now()
		for range b.N {
			if live, err := (diskHandler{}).Read(ctx, c); err != nil || live == nil {
				b.Fatal(live, err)
			}
		}
		perCall[1] = time.Since(start) / time.Duration(b.N)
	})
	b.Logf("kit overhead per Read: %v (router %v, handler alone %v)", perCall[0]-perCall[1], perCall[0], perCall[1])
}
