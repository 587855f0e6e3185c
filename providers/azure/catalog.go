package azure

import (
	"slices"

	"github.com/regionctl/regionctl/providers"
)

// KubernetesVersions are the AKS minors the driver offers, oldest first.
// AKS resolves a minor to its newest supported patch in the location.
var KubernetesVersions = []string{"1.31", "1.32", "1.33", "1.34"}

// machines is the shipped VM-size catalog neutral machine sizes map onto
// (see providers.PickMachine). CPU is vCPUs, as Azure counts them.
var machines = []providers.MachineType{
	// General purpose, Intel (Dsv5).
	{Name: "Standard_D2s_v5", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
	{Name: "Standard_D4s_v5", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "Standard_D8s_v5", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	{Name: "Standard_D16s_v5", CPU: 16, MemoryGiB: 64, Arch: "amd64", Family: "general"},
	{Name: "Standard_D32s_v5", CPU: 32, MemoryGiB: 128, Arch: "amd64", Family: "general"},
	{Name: "Standard_D48s_v5", CPU: 48, MemoryGiB: 192, Arch: "amd64", Family: "general"},
	{Name: "Standard_D64s_v5", CPU: 64, MemoryGiB: 256, Arch: "amd64", Family: "general"},
	{Name: "Standard_D96s_v5", CPU: 96, MemoryGiB: 384, Arch: "amd64", Family: "general"},
	// General purpose, Ampere Altra (Dpsv5).
	{Name: "Standard_D2ps_v5", CPU: 2, MemoryGiB: 8, Arch: "arm64", Family: "general"},
	{Name: "Standard_D4ps_v5", CPU: 4, MemoryGiB: 16, Arch: "arm64", Family: "general"},
	{Name: "Standard_D8ps_v5", CPU: 8, MemoryGiB: 32, Arch: "arm64", Family: "general"},
	{Name: "Standard_D16ps_v5", CPU: 16, MemoryGiB: 64, Arch: "arm64", Family: "general"},
	{Name: "Standard_D32ps_v5", CPU: 32, MemoryGiB: 128, Arch: "arm64", Family: "general"},
	{Name: "Standard_D48ps_v5", CPU: 48, MemoryGiB: 192, Arch: "arm64", Family: "general"},
	{Name: "Standard_D64ps_v5", CPU: 64, MemoryGiB: 208, Arch: "arm64", Family: "general"},
	// Memory optimised (Esv5), reachable through a vmSize override only.
	{Name: "Standard_E2s_v5", CPU: 2, MemoryGiB: 16, Arch: "amd64", Family: "memory"},
	{Name: "Standard_E4s_v5", CPU: 4, MemoryGiB: 32, Arch: "amd64", Family: "memory"},
	{Name: "Standard_E8s_v5", CPU: 8, MemoryGiB: 64, Arch: "amd64", Family: "memory"},
	{Name: "Standard_E16s_v5", CPU: 16, MemoryGiB: 128, Arch: "amd64", Family: "memory"},
	{Name: "Standard_E32s_v5", CPU: 32, MemoryGiB: 256, Arch: "amd64", Family: "memory"},
	// NVIDIA GPUs: T4 (NCasT4_v3) and A100 (NC A100 v4).
	{Name: "Standard_NC4as_T4_v3", CPU: 4, MemoryGiB: 28, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "Standard_NC8as_T4_v3", CPU: 8, MemoryGiB: 56, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "Standard_NC16as_T4_v3", CPU: 16, MemoryGiB: 110, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "Standard_NC64as_T4_v3", CPU: 64, MemoryGiB: 440, Arch: "amd64", GPU: 4, Family: "gpu"},
	{Name: "Standard_NC24ads_A100_v4", CPU: 24, MemoryGiB: 220, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "Standard_NC48ads_A100_v4", CPU: 48, MemoryGiB: 440, Arch: "amd64", GPU: 2, Family: "gpu"},
	{Name: "Standard_NC96ads_A100_v4", CPU: 96, MemoryGiB: 880, Arch: "amd64", GPU: 4, Family: "gpu"},
}

// Machines returns a copy of the VM-size catalog.
func Machines() []providers.MachineType { return slices.Clone(machines) }

// locations are the Azure regions with availability zones the driver knows,
// with their zone counts. Regions without zones are left out: every region
// spreads its node pools over at least one zone.
var locations = map[string]int{
	"australiaeast":      3,
	"brazilsouth":        3,
	"canadacentral":      3,
	"centralindia":       3,
	"centralus":          3,
	"eastasia":           3,
	"eastus":             3,
	"eastus2":            3,
	"francecentral":      3,
	"germanywestcentral": 3,
	"italynorth":         3,
	"japaneast":          3,
	"koreacentral":       3,
	"northeurope":        3,
	"norwayeast":         3,
	"polandcentral":      3,
	"southafricanorth":   3,
	"southcentralus":     3,
	"southeastasia":      3,
	"swedencentral":      3,
	"switzerlandnorth":   3,
	"uaenorth":           3,
	"uksouth":            3,
	"westeurope":         3,
	"westus2":            3,
	"westus3":            3,
}

// Locations returns each known Azure region with its zone count.
func Locations() map[string]int {
	out := make(map[string]int, len(locations))
	for k, v := range locations {
		out[k] = v
	}
	return out
}

// zoneNumbers returns Azure's logical zone names "1" … "n".
func zoneNumbers(n int) []string {
	out := make([]string, n)
	for i := range n {
		out[i] = string(rune('1' + i))
	}
	return out
}
