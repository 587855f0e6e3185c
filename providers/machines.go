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

// ChooseMachine returns the machine type of a node pool and, for the plan's
// notes, how it was chosen: the override when the driver's overrides name
// one (override, found at overridePath; it must be in the catalog, what
// names the kind, e.g. "AWS instance type"), else PickMachine.
func ChooseMachine(catalog []MachineType, p spec.NodePool, override, overridePath, what string) (MachineType, string, error) {
	if override != "" {
		i := slices.IndexFunc(catalog, func(m MachineType) bool { return m.Name == override })
		if i < 0 {
			return MachineType{}, "", fmt.Errorf("%s %q is not in the catalog", what, override)
		}
		return catalog[i], "override " + overridePath, nil
	}
	mt, err := PickMachine(catalog, p.Machine)
	if err != nil {
		return MachineType{}, "", err
	}
	arch := p.Machine.Arch
	if arch == "" {
		arch = spec.ArchAMD64
	}
	how := fmt.Sprintf("machine {cpu %d, memory %d GiB, %s", p.Machine.CPU, p.Machine.MemoryGiB, arch)
	if p.Machine.GPU > 0 {
		how += fmt.Sprintf(", gpu %d", p.Machine.GPU)
	}
	return mt, how + "}", nil
}
