// Package spec is the region spec: the types a user writes (one Region per
// cloud region), loading them from YAML, JSON or Jsonnet with strict decoding
// and source positions, defaults, and validation that needs no driver.
package spec

import (
	"encoding/json"

	"github.com/regionctl/regionctl/diag"
)

// APIVersion and Kind identify a Region document.
const (
	APIVersion = "regionctl.dev/v1alpha1"
	KindRegion = "Region"
)

// Region is one document: a region of the product on one cloud.
type Region struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   Metadata   `json:"metadata"`
	Spec       RegionSpec `json:"spec"`

	// Source maps field paths to where they were written. It is filled by the
	// loader and never serialized.
	Source *SourceMap `json:"-"`
}

// Metadata names a region.
type Metadata struct {
	// Name is the region's DNS-1123 name, unique across a fleet.
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
}

// RegionSpec is what a region contains.
type RegionSpec struct {
	// Provider is the driver name: aws, gcp, azure or any registered driver.
	Provider string `json:"provider"`
	// Location is the cloud's own region name (us-east-1, europe-west4, westeurope).
	Location string `json:"location"`
	// Zones is how many availability zones to spread across.
	Zones int `json:"zones,omitempty"`
	// Protect refuses destroy or replacement of stateful resources unless
	// --allow-destroy is given.
	Protect        bool           `json:"protect,omitempty"`
	Network        Network        `json:"network"`
	Cluster        Cluster        `json:"cluster"`
	StorageClasses []StorageClass `json:"storageClasses,omitempty"`
	LoadBalancers  []LoadBalancer `json:"loadBalancers,omitempty"`
	// Overrides is a provider-specific escape hatch keyed by provider name;
	// each driver validates its own entry.
	Overrides map[string]json.RawMessage `json:"overrides,omitempty"`
	// Import brings existing cloud objects under management: plan shows
	// each as an import, and apply records it in state before changing it
	// to match the spec.
	Import []Import `json:"import,omitempty"`
}

// Import names an existing cloud object to adopt into the region's state.
type Import struct {
	// To is where the object goes: a spec element ("network", "cluster",
	// "cluster.nodePools.NAME", "storageClasses.NAME", "loadBalancers.NAME",
	// "loadBalancers.NAME.address"), or a resource address of the region
	// ("REGION/TYPE.NAME", or "TYPE.NAME").
	To string `json:"to"`
	// ID is the cloud's identifier of the object, as its console or CLI
	// shows it (a VPC ID, a cluster name or ARN, an ARM resource ID).
	ID string `json:"id"`
}

// Network is the region's private network.
type Network struct {
	// CIDR is the IPv4 range of the whole network, e.g. 10.20.0.0/16.
	CIDR string `json:"cidr"`
	// SingleNATGateway trades availability for cost: one NAT for all zones.
	SingleNATGateway bool `json:"singleNatGateway,omitempty"`
}

// Endpoint access modes of the cluster's API server.
const (
	EndpointPublic  = "public"
	EndpointPrivate = "private"
	EndpointBoth    = "both"
)

// Cluster is the managed Kubernetes cluster.
type Cluster struct {
	// KubernetesVersion is a minor ("1.33"); the driver resolves the patch.
	KubernetesVersion string `json:"kubernetesVersion"`
	// EndpointAccess is public, private or both (default public).
	EndpointAccess string     `json:"endpointAccess,omitempty"`
	NodePools      []NodePool `json:"nodePools"`
}

// NodePool is a group of identical nodes.
type NodePool struct {
	Name    string  `json:"name"`
	Machine Machine `json:"machine"`
	Spot    bool    `json:"spot,omitempty"`
	// Min and Max are total node counts for the pool across all zones.
	Min    int               `json:"min"`
	Max    int               `json:"max"`
	Labels map[string]string `json:"labels,omitempty"`
	// Taints are "key=value:Effect" or "key:Effect".
	Taints []string `json:"taints,omitempty"`
}

// Machine is a neutral machine size that each driver maps onto the smallest
// general-purpose instance type of its catalog that meets it.
type Machine struct {
	CPU       int `json:"cpu"`
	MemoryGiB int `json:"memoryGiB"`
	// Arch is amd64 (default) or arm64.
	Arch string `json:"arch,omitempty"`
	// GPU is the number of GPUs; 0 for none.
	GPU int `json:"gpu,omitempty"`
}

// Storage tiers.
const (
	TierStandard = "standard"
	TierSSD      = "ssd"
)

// StorageClass is a Kubernetes StorageClass in the cluster.
type StorageClass struct {
	Name string `json:"name"`
	// Tier is standard or ssd.
	Tier    string `json:"tier"`
	Default bool   `json:"default,omitempty"`
	// ReclaimPolicy is Delete (default) or Retain.
	ReclaimPolicy string `json:"reclaimPolicy,omitempty"`
	Expandable    bool   `json:"expandable,omitempty"`
}

// Load balancer schemes.
const (
	SchemeExternal = "external"
	SchemeInternal = "internal"
)

// LoadBalancer is an L4 load balancer in front of pods chosen by a selector.
type LoadBalancer struct {
	Name string `json:"name"`
	// Scheme is external or internal.
	Scheme   string            `json:"scheme"`
	Ports    []Port            `json:"ports"`
	Selector map[string]string `json:"selector"`
}

// Port maps a load balancer port to a pod port.
type Port struct {
	Port       int `json:"port"`
	TargetPort int `json:"targetPort,omitempty"`
	// Protocol is TCP (default) or UDP.
	Protocol string `json:"protocol,omitempty"`
}

// SourceMap records where each field of a Region was written, keyed by field
// path ("spec.cluster.nodePools[1].min").
type SourceMap struct {
	// File is the file the region came from.
	File string
	// Positions maps field paths to positions in File. Paths join field
	// names with ".", list items as "[i]", and map keys as ".key", or
	// ["key"] when the key is not a plain word (e.g. a label key with a dot
	// or slash): metadata.labels["app.kubernetes.io/name"].
	Positions map[string]diag.Pos
	// Invalid holds the paths whose value could not be decoded (wrong kind,
	// unknown field, missing required field). The error was reported then;
	// Validate skips these paths and everything under them, so one mistake
	// is reported once.
	Invalid map[string]bool
}

// skip reports whether path is at or under a path that failed to decode.
func (m *SourceMap) skip(path string) bool {
	if m == nil || len(m.Invalid) == 0 {
		return false
	}
	for p := path; ; {
		if m.Invalid[p] {
			return true
		}
		cut := lastSep(p)
		if cut < 0 {
			return false
		}
		p = p[:cut]
	}
}

// Pos returns where path was written. It falls back to the nearest enclosing
// path that has a position, then to the file alone; a nil SourceMap gives the
// zero Pos.
func (m *SourceMap) Pos(path string) diag.Pos {
	if m == nil {
		return diag.Pos{}
	}
	for p := path; ; {
		if pos, ok := m.Positions[p]; ok {
			return pos
		}
		cut := lastSep(p)
		if cut < 0 {
			return diag.Pos{File: m.File}
		}
		p = p[:cut]
	}
}

// lastSep finds the last '.' or '[' that starts the final path element.
func lastSep(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '.' || p[i] == '[' {
			return i
		}
	}
	return -1
}

// Pos returns where path was written in this region's source; see SourceMap.Pos.
func (r *Region) Pos(path string) diag.Pos { return r.Source.Pos(path) }
