// Package toy is a minimal driver built on regionctl's resource kit: one
// resource type, a bucket per region, kept in memory.
package toy

import (
	"context"
	"sync"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

type bucketIn struct {
	Name string `kit:"name,replace" why:"a bucket is known by its name"`
	Size int    `kit:"size"`
}

type bucketOut struct {
	ID string `kit:"id"`
}

type call = kit.Call[kit.None, bucketIn, bucketOut]

// buckets is the toy cloud.
type buckets struct {
	mu sync.Mutex
	m  map[string]bucketIn
}

func (b *buckets) Create(_ context.Context, c *call) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[c.In.Name] = c.In
	return c.In.Name, nil
}

func (b *buckets) Read(_ context.Context, c *call) (*kit.Live[bucketIn, bucketOut], error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.m[c.ID]
	if !ok {
		return nil, nil
	}
	return c.Found(in, bucketOut{ID: c.ID}), nil
}

func (b *buckets) Update(_ context.Context, c *call, _ []string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m[c.ID] = c.In
	return nil
}

func (b *buckets) Delete(_ context.Context, c *call) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, c.ID)
	return nil
}

// Driver is the toy providers.Driver.
type Driver struct{ *kit.Router }

// New is the registry factory.
func New(context.Context, providers.Options) (providers.Driver, error) {
	r, err := kit.New(kit.Options{Name: "toy"},
		kit.Type[kit.None, bucketIn, bucketOut]{Name: "toy_bucket", Handler: &buckets{m: map[string]bucketIn{}}})
	if err != nil {
		return nil, err
	}
	return &Driver{Router: r}, nil
}

// Capabilities names the driver and publishes its schemas.
func (d *Driver) Capabilities() providers.Capabilities {
	return providers.Capabilities{Name: "toy", Description: "a toy cloud of buckets, built outside regionctl", Resources: d.Schemas()}
}

// Expand gives every region one bucket.
func (d *Driver) Expand(_ context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	res := []providers.Resource{{
		Address: providers.Address(r.Metadata.Name, "toy_bucket", "main"), Type: "toy_bucket",
		Inputs: providers.Values{"name": r.Metadata.Name, "size": len(r.Spec.Cluster.NodePools)},
	}}
	return providers.ExpandResponse{Resources: res}, d.Finish(res)
}
