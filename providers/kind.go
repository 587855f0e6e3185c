package providers

// Kind is what a driver's resource type is in the spec's terms, for tools
// that summarize a region from state without knowing the driver
// (`regionctl output`).
type Kind string

const (
	// KindOther is any resource the spec has no word for (subnets, roles).
	KindOther Kind = ""
	// KindCluster is the region's managed Kubernetes cluster.
	KindCluster Kind = "cluster"
	// KindNodePool is one of spec.cluster.nodePools; the resource's address
	// name is the pool's name.
	KindNodePool Kind = "node-pool"
)

// Kinder is implemented by drivers that say which of their resource types
// are the region's cluster and node pools. StorageClasses and load
// balancers are the neutral kubernetes types every driver shares.
type Kinder interface {
	Kind(resourceType string) Kind
}

// Kinds maps resource types to kinds; a driver's Kind method can be
// `return kinds[resourceType]`.
type Kinds map[string]Kind
