package drivertest

import (
	"context"
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// WithoutInCluster wraps d so that Expand leaves out the in-cluster
// resources (types kubernetes_*): what a region can be applied with when
// the sandbox runs no Kubernetes API servers. The cloud resources they
// would use (load balancer addresses) stay. Only Expand changes; the
// wrapper refreshes through d's Lister (one Read each when d has none).
func WithoutInCluster(d providers.Driver) providers.Driver { return cloudOnly{d} }

type cloudOnly struct{ providers.Driver }

var _ providers.Lister = cloudOnly{}

func (c cloudOnly) ReadMany(ctx context.Context, reqs []providers.ReadRequest) ([]providers.ReadResponse, error) {
	if l, ok := c.Driver.(providers.Lister); ok {
		return l.ReadMany(ctx, reqs)
	}
	out := make([]providers.ReadResponse, len(reqs))
	for i, r := range reqs {
		var err error
		if out[i], err = c.Driver.Read(ctx, r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (c cloudOnly) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	resp, err := c.Driver.Expand(ctx, req)
	kept := resp.Resources[:0]
	for _, r := range resp.Resources {
		if !strings.HasPrefix(r.Type, "kubernetes_") {
			kept = append(kept, r)
		}
	}
	resp.Resources = kept
	return resp, err
}
