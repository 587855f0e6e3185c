package spec

import (
	"fmt"
	"strings"
)

// Elements are the neutral names of the parts of a region a user can point
// at without knowing any driver's resource types: an import block's `to`,
// `regionctl import`, --target and --replace accept them on every cloud,
// and each driver marks the resource that realises one
// (providers.Resource.Element).
const (
	ElementNetwork = "network"
	ElementCluster = "cluster"
)

// NodePoolElement is the element of node pool name.
func NodePoolElement(name string) string { return "cluster.nodePools." + name }

// StorageClassElement is the element of storage class name.
func StorageClassElement(name string) string { return "storageClasses." + name }

// LoadBalancerElement is the element of load balancer name: the object
// that balances (a Kubernetes Service of type LoadBalancer).
func LoadBalancerElement(name string) string { return "loadBalancers." + name }

// LoadBalancerAddressElement is the element of the static address a load
// balancer keeps across replacements (an Elastic IP, a reserved regional
// address, a public IP).
func LoadBalancerAddressElement(name string) string {
	return "loadBalancers." + name + ".address"
}

// IsElement reports whether s is written as an element (it starts with one
// of the element roots and names no region) rather than as a resource
// address.
func IsElement(s string) bool {
	root, _, _ := strings.Cut(s, ".")
	switch root {
	case ElementNetwork, ElementCluster, "storageClasses", "loadBalancers":
		return !strings.Contains(s, "/")
	}
	return false
}

// Elements lists the elements of the region, in spec order.
func (r *Region) Elements() []string {
	out := []string{ElementNetwork, ElementCluster}
	for _, p := range r.Spec.Cluster.NodePools {
		out = append(out, NodePoolElement(p.Name))
	}
	for _, sc := range r.Spec.StorageClasses {
		out = append(out, StorageClassElement(sc.Name))
	}
	for _, lb := range r.Spec.LoadBalancers {
		out = append(out, LoadBalancerElement(lb.Name), LoadBalancerAddressElement(lb.Name))
	}
	return out
}

// CheckTarget says what is wrong with s as a pointer at a part of region r
// — an element of r, a resource address "REGION/TYPE.NAME" in r, or
// "TYPE.NAME" — and how to fix it; "" when nothing is. It needs no driver:
// whether a driver has a resource there is checked at plan time.
func (r *Region) CheckTarget(s string) (problem, fix string) {
	if s == "" {
		return "must not be empty", "name a spec element (" + strings.Join(r.Elements(), ", ") + ") or a resource address"
	}
	if IsElement(s) {
		elems := r.Elements()
		for _, e := range elems {
			if e == s {
				return "", ""
			}
		}
		fix = "use one of " + strings.Join(elems, ", ")
		if sug, near := DidYouMean(s, elems); near {
			fix = fmt.Sprintf("did you mean %q?", sug)
		}
		return fmt.Sprintf("%q is not an element of region %s", s, r.Metadata.Name), fix
	}
	rest := s
	if region, after, ok := strings.Cut(s, "/"); ok {
		if region != r.Metadata.Name {
			return fmt.Sprintf("address %q is in region %q, not %q", s, region, r.Metadata.Name),
				fmt.Sprintf("write %q, or move the block to region %s's spec", after, region)
		}
		rest = after
	}
	typ, name, ok := strings.Cut(rest, ".")
	if !ok || typ == "" || name == "" || strings.ContainsAny(rest, " \t/") {
		return fmt.Sprintf("%q is neither a spec element nor a resource address", s),
			"write an element (" + strings.Join(r.Elements(), ", ") + ") or an address TYPE.NAME as `regionctl state list` or `plan` shows it"
	}
	return "", ""
}
