package providers

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Resource is one cloud object a driver asks the engine to manage.
type Resource struct {
	// Address is unique in a region: "REGION/TYPE.NAME", built with Address.
	Address string `json:"address"`
	// Type is the driver's resource type, e.g. "aws_eks_cluster".
	Type string `json:"type"`
	// Inputs are the desired arguments. Values are JSON-compatible (string,
	// bool, float64 or int, []any, map[string]any) and may contain references
	// to other resources' outputs made with Ref.
	Inputs Values `json:"inputs"`
	// DependsOn lists addresses this resource needs beyond those it
	// references through Ref (the engine adds those itself).
	DependsOn []string `json:"dependsOn,omitempty"`
	// ForceNew lists the top-level input keys whose change cannot be made in
	// place: changing one replaces the resource.
	ForceNew []string `json:"forceNew,omitempty"`
	// CreateBeforeDestroy replaces by creating the new resource first, so
	// capacity never drops (node groups); otherwise the old one is deleted
	// first (resources with unique names).
	CreateBeforeDestroy bool `json:"createBeforeDestroy,omitempty"`
	// Stateful marks resources whose loss loses data or identity (cluster,
	// volumes, addresses): spec.protect refuses to destroy or replace them.
	Stateful bool `json:"stateful,omitempty"`
	// Element names the spec element this resource is the main cloud
	// object of, in the neutral form an import block's `to`, `regionctl
	// import` and --target/--replace accept on every cloud: "network",
	// "cluster", "cluster.nodePools.NAME", "storageClasses.NAME",
	// "loadBalancers.NAME" (the Service) or "loadBalancers.NAME.address"
	// (its static address). Build it with spec.ElementNetwork,
	// spec.ElementCluster, spec.NodePoolElement and their siblings.
	// Several resources may share one (AWS reserves an address per zone);
	// a user then names one by its address. Empty for the supporting
	// objects (subnets, routes, roles).
	Element string `json:"element,omitempty"`
}

// Address builds a resource address "REGION/TYPE.NAME".
func Address(region, typ, name string) string {
	return region + "/" + typ + "." + name
}

// SplitAddress splits "REGION/TYPE.NAME" into its parts.
func SplitAddress(addr string) (region, typ, name string, err error) {
	region, rest, ok := strings.Cut(addr, "/")
	if !ok {
		return "", "", "", fmt.Errorf("address %q: want REGION/TYPE.NAME", addr)
	}
	typ, name, ok = strings.Cut(rest, ".")
	if !ok || region == "" || typ == "" || name == "" {
		return "", "", "", fmt.Errorf("address %q: want REGION/TYPE.NAME", addr)
	}
	return region, typ, name, nil
}

// Values are a resource's inputs or outputs: JSON-compatible values by key.
type Values map[string]any

// refKey is the single key of a map that stands for a reference. A
// reference is plain data so that it survives a trip through a plan file.
const refKey = "$ref"

// Ref returns a value that stands for output `output` of the resource at
// `address`; the engine replaces it with the output's value once that
// resource has been applied. Before then the plan shows it as
// "(known after apply)".
func Ref(address, output string) map[string]any {
	return map[string]any{refKey: address + "#" + output}
}

// AsRef reports whether v is a reference made by Ref, and to what.
func AsRef(v any) (address, output string, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", "", false
	}
	s, isString := m[refKey].(string)
	if !isString {
		return "", "", false
	}
	address, output, ok = strings.Cut(s, "#")
	return address, output, ok
}

// Refs returns the addresses referenced anywhere inside v, in order of
// appearance, each once.
func Refs(v any) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(any)
	walk = func(v any) {
		if addr, _, ok := AsRef(v); ok {
			if !seen[addr] {
				seen[addr] = true
				out = append(out, addr)
			}
			return
		}
		switch t := v.(type) {
		case map[string]any:
			for _, k := range sortedKeys(t) {
				walk(t[k])
			}
		case Values:
			for _, k := range sortedKeys(t) {
				walk(t[k])
			}
		case []any:
			for _, e := range t {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func sortedKeys[M ~map[string]V, V any](m M) []string {
	return slices.Sorted(maps.Keys(m))
}
