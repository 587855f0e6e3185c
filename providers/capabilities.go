package providers

import "github.com/regionctl/regionctl/providers/budget"

// Capabilities is what a driver's cloud can do, declared as plain data so a
// spec can be checked before any API call (see CheckRegion) and listed by
// `regionctl drivers`.
type Capabilities struct {
	// Name is the driver's registry name, e.g. "aws".
	Name string `json:"name"`
	// Description is one line for `regionctl drivers`.
	Description string `json:"description"`
	// Version is the driver's own version (semver), recorded in plans and
	// state. A driver plugin's comes from its handshake; a driver built into
	// regionctl may leave it empty and is then recorded with regionctl's
	// version.
	Version string `json:"version,omitempty"`
	// KubernetesVersions are the minors the managed service offers ("1.33").
	KubernetesVersions []string `json:"kubernetesVersions"`
	// Machines is the catalog neutral machine sizes are mapped onto.
	Machines []MachineType `json:"machines"`
	// StorageTiers are the spec tiers the driver maps ("standard", "ssd").
	StorageTiers []string `json:"storageTiers"`
	// LoadBalancerSchemes are the spec schemes the driver maps.
	LoadBalancerSchemes []string `json:"loadBalancerSchemes"`
	// Locations maps each location the driver knows to its zone count.
	Locations map[string]int `json:"locations"`
	// MaxParallel caps concurrent operations against this cloud across all
	// of its regions, for a driver that does not pace its own API calls; 0
	// leaves it to the engine default (10 unless RateBudgeted).
	MaxParallel int `json:"maxParallel,omitempty"`
	// RateBudgeted says the driver paces every API call itself with rate
	// budgets keyed the way its cloud meters them (package
	// providers/budget: per account/project/subscription, region and kind
	// of call) and slows down when the cloud throttles it. The engine then
	// puts no concurrency cap of its own on the driver's operations (only
	// the user's --parallelism, when given).
	RateBudgeted bool `json:"rateBudgeted,omitempty"`
	// RateBudgets are the budgets a RateBudgeted driver paces its calls
	// by, by bucket ("api/write"), as its cloud publishes them. The CLI
	// accepts a user's override (--rate-budget NAME:bucket=RATE/s,BURST,
	// regionctl.yaml's rateBudgets) for a driver outside budget.Published
	// only for a bucket declared here; the driver gets it in
	// Options.RateBudgets. Built-in drivers' are budget.Published.
	RateBudgets budget.Table `json:"rateBudgets,omitempty"`
	// Resources are the schemas of the driver's resource types (see
	// ResourceSchema). A driver without them still works: the engine then
	// relies on each Resource's ForceNew alone.
	Resources []ResourceSchema `json:"resources,omitempty"`
}

// MachineType is one instance type of a driver's catalog.
type MachineType struct {
	Name      string  `json:"name"`
	CPU       int     `json:"cpu"`
	MemoryGiB float64 `json:"memoryGiB"`
	// Arch is "amd64" or "arm64".
	Arch string `json:"arch"`
	GPU  int    `json:"gpu,omitempty"`
	// Family is "general", "compute", "memory", "gpu", ...; neutral sizes map
	// only onto general-purpose types unless a GPU is asked for.
	Family string `json:"family"`
}

// Schema returns the schema of resource type typ, if the driver publishes
// one.
func (c Capabilities) Schema(typ string) (ResourceSchema, bool) {
	for _, s := range c.Resources {
		if s.Type == typ {
			return s, true
		}
	}
	return ResourceSchema{}, false
}
