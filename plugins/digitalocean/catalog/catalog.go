// Package catalog is what DigitalOcean Kubernetes (DOKS) offers, as the
// API's /v2/kubernetes/options answers it: regions, node sizes and
// Kubernetes versions. The driver's Capabilities and the emulator's
// options endpoint are both made from it, so a plan checked against the
// capabilities is one the emulated API accepts.
package catalog

import (
	"strings"
)

// Size is a droplet size a node pool can use.
type Size struct {
	Slug      string
	Name      string
	CPU       int
	MemoryGiB int
	// Family is regionctl's family: general (Basic and General Purpose
	// droplets), compute (CPU-Optimized) or memory (Memory-Optimized).
	Family string
}

// Sizes are the droplet sizes DOKS node pools accept (all amd64: DigitalOcean
// has no arm64 droplets).
var Sizes = []Size{
	{Slug: "s-1vcpu-2gb", Name: "s-1vcpu-2gb", CPU: 1, MemoryGiB: 2, Family: "general"},
	{Slug: "s-2vcpu-2gb", Name: "s-2vcpu-2gb", CPU: 2, MemoryGiB: 2, Family: "general"},
	{Slug: "s-2vcpu-4gb", Name: "s-2vcpu-4gb", CPU: 2, MemoryGiB: 4, Family: "general"},
	{Slug: "s-4vcpu-8gb", Name: "s-4vcpu-8gb", CPU: 4, MemoryGiB: 8, Family: "general"},
	{Slug: "s-8vcpu-16gb", Name: "s-8vcpu-16gb", CPU: 8, MemoryGiB: 16, Family: "general"},
	{Slug: "g-2vcpu-8gb", Name: "g-2vcpu-8gb", CPU: 2, MemoryGiB: 8, Family: "general"},
	{Slug: "g-4vcpu-16gb", Name: "g-4vcpu-16gb", CPU: 4, MemoryGiB: 16, Family: "general"},
	{Slug: "g-8vcpu-32gb", Name: "g-8vcpu-32gb", CPU: 8, MemoryGiB: 32, Family: "general"},
	{Slug: "g-16vcpu-64gb", Name: "g-16vcpu-64gb", CPU: 16, MemoryGiB: 64, Family: "general"},
	{Slug: "c-2", Name: "c-2", CPU: 2, MemoryGiB: 4, Family: "compute"},
	{Slug: "c-4", Name: "c-4", CPU: 4, MemoryGiB: 8, Family: "compute"},
	{Slug: "c-8", Name: "c-8", CPU: 8, MemoryGiB: 16, Family: "compute"},
	{Slug: "m-2vcpu-16gb", Name: "m-2vcpu-16gb", CPU: 2, MemoryGiB: 16, Family: "memory"},
	{Slug: "m-4vcpu-32gb", Name: "m-4vcpu-32gb", CPU: 4, MemoryGiB: 32, Family: "memory"},
	{Slug: "m-8vcpu-64gb", Name: "m-8vcpu-64gb", CPU: 8, MemoryGiB: 64, Family: "memory"},
}

// Region is a datacenter region that runs DOKS. Every DigitalOcean region
// is a single zone.
type Region struct {
	Slug string
	Name string
}

// Regions are the regions that run DOKS.
var Regions = []Region{
	{"ams3", "Amsterdam 3"}, {"blr1", "Bangalore 1"}, {"fra1", "Frankfurt 1"},
	{"lon1", "London 1"}, {"nyc1", "New York 1"}, {"nyc3", "New York 3"},
	{"sfo3", "San Francisco 3"}, {"sgp1", "Singapore 1"}, {"syd1", "Sydney 1"},
	{"tor1", "Toronto 1"},
}

// Version is a DOKS release: its slug ("1.33.6-do.1") and the upstream
// Kubernetes version it runs.
type Version struct {
	Slug       string
	Kubernetes string
}

// Versions are the releases DOKS offers, newest first, one per minor (the
// API offers the newest patch of each supported minor).
var Versions = []Version{
	{Slug: "1.34.1-do.0", Kubernetes: "1.34.1"},
	{Slug: "1.33.6-do.1", Kubernetes: "1.33.6"},
	{Slug: "1.32.10-do.0", Kubernetes: "1.32.10"},
}

// Minor is the minor ("1.33") of a version ("1.33.6") or slug
// ("1.33.6-do.1").
func Minor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// SizeBySlug finds a size.
func SizeBySlug(slug string) (Size, bool) {
	for _, s := range Sizes {
		if s.Slug == slug {
			return s, true
		}
	}
	return Size{}, false
}
