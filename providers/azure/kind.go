package azure

import "github.com/regionctl/regionctl/providers"

var _ providers.Kinder = (*Driver)(nil)

var kinds = providers.Kinds{TypeCluster: providers.KindCluster, TypeNodePool: providers.KindNodePool}

// Kind says which resource types are the cluster and its node pools.
func (d *Driver) Kind(resourceType string) providers.Kind { return kinds[resourceType] }
