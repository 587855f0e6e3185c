package providers

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/regionctl/regionctl/spec"
)

// Machine families PickMachine maps onto.
const (
	FamilyGeneral = "general"
	FamilyGPU     = "gpu"
)

// PickMachine maps a neutral machine size onto a catalog: the smallest type
// (by CPU, then memory, then name, so the choice is deterministic) of family
// "general" — or "gpu" when want.GPU > 0, with at least want.GPU GPUs — of
// the wanted architecture (amd64 when empty) whose CPU and memory are at
// least what is asked. When nothing fits, the error names the largest type
// that was a candidate.
func PickMachine(catalog []MachineType, want spec.Machine) (MachineType, error) {
	family := FamilyGeneral
	if want.GPU > 0 {
		family = FamilyGPU
	}
	arch := want.Arch
	if arch == "" {
		arch = spec.ArchAMD64
	}
	var candidates []MachineType
	for _, m := range catalog {
		if m.Family == family && m.Arch == arch && m.GPU >= want.GPU {
			candidates = append(candidates, m)
		}
	}
	slices.SortFunc(candidates, func(a, b MachineType) int {
		return cmp.Or(cmp.Compare(a.CPU, b.CPU), cmp.Compare(a.MemoryGiB, b.MemoryGiB), cmp.Compare(a.Name, b.Name))
	})
	for _, m := range candidates {
		if m.CPU >= want.CPU && m.MemoryGiB >= float64(want.MemoryGiB) {
			return m, nil
		}
	}
	what := fmt.Sprintf("%s %s machine type", family, arch)
	if want.GPU > 0 {
		what = fmt.Sprintf("%s %s machine type with %d GPU(s)", family, arch, want.GPU)
	}
	if len(candidates) == 0 {
		return MachineType{}, fmt.Errorf("the catalog has no %s", what)
	}
	largest := slices.MaxFunc(candidates, func(a, b MachineType) int {
		return cmp.Or(cmp.Compare(a.CPU, b.CPU), cmp.Compare(a.MemoryGiB, b.MemoryGiB), cmp.Compare(b.Name, a.Name))
	})
	return MachineType{}, fmt.Errorf("no %s has %d CPU and %d GiB; the largest is %s with %d CPU and %g GiB",
		what, want.CPU, want.MemoryGiB, largest.Name, largest.CPU, largest.MemoryGiB)
}
