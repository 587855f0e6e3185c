package aws

import (
	"slices"

	"github.com/regionctl/regionctl/providers"
)

// KubernetesVersions are the EKS minors the driver offers, oldest first.
var KubernetesVersions = []string{"1.31", "1.32", "1.33", "1.34"}

// machines is the shipped instance-type catalog neutral machine sizes map
// onto (see providers.PickMachine). CPU is vCPUs, as AWS counts them.
var machines = []providers.MachineType{
	// Burstable, for small pools.
	{Name: "t3.medium", CPU: 2, MemoryGiB: 4, Arch: "amd64", Family: "general"},
	{Name: "t3.large", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
	{Name: "t3.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "t3.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	// General purpose, Intel.
	{Name: "m6i.large", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
	{Name: "m6i.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "m6i.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	{Name: "m6i.4xlarge", CPU: 16, MemoryGiB: 64, Arch: "amd64", Family: "general"},
	{Name: "m6i.8xlarge", CPU: 32, MemoryGiB: 128, Arch: "amd64", Family: "general"},
	{Name: "m7i.large", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
	{Name: "m7i.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "m7i.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	{Name: "m7i.4xlarge", CPU: 16, MemoryGiB: 64, Arch: "amd64", Family: "general"},
	{Name: "m7i.8xlarge", CPU: 32, MemoryGiB: 128, Arch: "amd64", Family: "general"},
	{Name: "m7i.12xlarge", CPU: 48, MemoryGiB: 192, Arch: "amd64", Family: "general"},
	{Name: "m7i.16xlarge", CPU: 64, MemoryGiB: 256, Arch: "amd64", Family: "general"},
	// General purpose, Graviton.
	{Name: "m7g.medium", CPU: 1, MemoryGiB: 4, Arch: "arm64", Family: "general"},
	{Name: "m7g.large", CPU: 2, MemoryGiB: 8, Arch: "arm64", Family: "general"},
	{Name: "m7g.xlarge", CPU: 4, MemoryGiB: 16, Arch: "arm64", Family: "general"},
	{Name: "m7g.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "arm64", Family: "general"},
	{Name: "m7g.4xlarge", CPU: 16, MemoryGiB: 64, Arch: "arm64", Family: "general"},
	{Name: "m7g.8xlarge", CPU: 32, MemoryGiB: 128, Arch: "arm64", Family: "general"},
	{Name: "m7g.16xlarge", CPU: 64, MemoryGiB: 256, Arch: "arm64", Family: "general"},
	// Compute optimised, reachable through an instanceType override only.
	{Name: "c7i.xlarge", CPU: 4, MemoryGiB: 8, Arch: "amd64", Family: "compute"},
	{Name: "c7i.2xlarge", CPU: 8, MemoryGiB: 16, Arch: "amd64", Family: "compute"},
	{Name: "c7g.xlarge", CPU: 4, MemoryGiB: 8, Arch: "arm64", Family: "compute"},
	// Memory optimised, reachable through an instanceType override only.
	{Name: "r7i.xlarge", CPU: 4, MemoryGiB: 32, Arch: "amd64", Family: "memory"},
	{Name: "r7g.xlarge", CPU: 4, MemoryGiB: 32, Arch: "arm64", Family: "memory"},
	// NVIDIA GPUs: A10G (g5) and L4 (g6).
	{Name: "g5.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "g5.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "g5.12xlarge", CPU: 48, MemoryGiB: 192, Arch: "amd64", GPU: 4, Family: "gpu"},
	{Name: "g5.48xlarge", CPU: 192, MemoryGiB: 768, Arch: "amd64", GPU: 8, Family: "gpu"},
	{Name: "g6.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "g6.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "g6.12xlarge", CPU: 48, MemoryGiB: 192, Arch: "amd64", GPU: 4, Family: "gpu"},
}

// Machines returns a copy of the instance-type catalog.
func Machines() []providers.MachineType { return slices.Clone(machines) }

// zoneLetters lists, per AWS region, the availability-zone suffixes the
// driver spreads over, in the order it uses them. Some regions skip letters
// (ap-northeast-1 has no "b" for new accounts), and us-east-1e cannot host
// an EKS control plane, so it comes last and is left out of the cluster's
// subnets (see controlPlaneExcluded).
var zoneLetters = map[string]string{
	"us-east-1":      "abcdfe",
	"us-east-2":      "abc",
	"us-west-1":      "ac",
	"us-west-2":      "abcd",
	"ca-central-1":   "abd",
	"sa-east-1":      "abc",
	"eu-west-1":      "abc",
	"eu-west-2":      "abc",
	"eu-west-3":      "abc",
	"eu-central-1":   "abc",
	"eu-north-1":     "abc",
	"eu-south-1":     "abc",
	"ap-south-1":     "abc",
	"ap-southeast-1": "abc",
	"ap-southeast-2": "abc",
	"ap-northeast-1": "acd",
	"ap-northeast-2": "abcd",
	"ap-northeast-3": "abc",
}

// controlPlaneExcluded are zones where EKS refuses to place a control plane
// (CreateCluster fails with UnsupportedAvailabilityZoneException).
var controlPlaneExcluded = map[string]bool{"us-east-1e": true}

// Locations returns each known AWS region with its zone count.
func Locations() map[string]int {
	out := make(map[string]int, len(zoneLetters))
	for loc, l := range zoneLetters {
		out[loc] = len(l)
	}
	return out
}

// zoneNames returns the first n zone names of location; unknown locations
// use a, b, c, … (CheckRegion reports them before any apply).
func zoneNames(location string, n int) []string {
	letters, ok := zoneLetters[location]
	if !ok {
		letters = "abcdefghij"
	}
	out := make([]string, 0, n)
	for i := 0; i < n && i < len(letters); i++ {
		out = append(out, location+letters[i:i+1])
	}
	return out
}
