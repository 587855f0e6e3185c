package gcp

import (
	"strings"

	"github.com/regionctl/regionctl/providers"
)

// KubernetesVersions are the GKE minors the driver offers, oldest first.
var KubernetesVersions = []string{"1.31", "1.32", "1.33", "1.34"}

// machine is a catalog entry: the neutral size plus the GPU model GKE
// attaches to accelerator-optimised types.
type machine struct {
	providers.MachineType
	// Accelerator is the GPU model (GKE accelerator type) of a gpu type.
	Accelerator string
}

func gen(name string, cpu int, mem float64, arch, family string) machine {
	return machine{MachineType: providers.MachineType{Name: name, CPU: cpu, MemoryGiB: mem, Arch: arch, Family: family}}
}

func gpu(name string, cpu int, mem float64, gpus int, accel string) machine {
	return machine{MachineType: providers.MachineType{Name: name, CPU: cpu, MemoryGiB: mem, Arch: "amd64", GPU: gpus, Family: "gpu"}, Accelerator: accel}
}

// machines is the shipped machine-type catalog neutral sizes map onto (see
// providers.PickMachine; ties go to the alphabetically first name, so e2
// wins over n2 and n2d at equal size). CPU is vCPUs as Compute Engine
// counts them.
var machines = []machine{
	// E2: cost-optimised general purpose (e2-medium is a shared-core 2 vCPU type).
	gen("e2-medium", 2, 4, "amd64", "general"),
	gen("e2-standard-2", 2, 8, "amd64", "general"),
	gen("e2-standard-4", 4, 16, "amd64", "general"),
	gen("e2-standard-8", 8, 32, "amd64", "general"),
	gen("e2-standard-16", 16, 64, "amd64", "general"),
	gen("e2-standard-32", 32, 128, "amd64", "general"),
	// N2 (Intel) and N2D (AMD): general purpose beyond E2's 32 vCPUs.
	gen("n2-standard-2", 2, 8, "amd64", "general"),
	gen("n2-standard-4", 4, 16, "amd64", "general"),
	gen("n2-standard-8", 8, 32, "amd64", "general"),
	gen("n2-standard-16", 16, 64, "amd64", "general"),
	gen("n2-standard-32", 32, 128, "amd64", "general"),
	gen("n2-standard-48", 48, 192, "amd64", "general"),
	gen("n2-standard-64", 64, 256, "amd64", "general"),
	gen("n2-standard-96", 96, 384, "amd64", "general"),
	gen("n2d-standard-2", 2, 8, "amd64", "general"),
	gen("n2d-standard-4", 4, 16, "amd64", "general"),
	gen("n2d-standard-8", 8, 32, "amd64", "general"),
	gen("n2d-standard-16", 16, 64, "amd64", "general"),
	gen("n2d-standard-32", 32, 128, "amd64", "general"),
	gen("n2d-standard-64", 64, 256, "amd64", "general"),
	gen("n2d-standard-96", 96, 384, "amd64", "general"),
	// T2A: Ampere Altra (arm64).
	gen("t2a-standard-1", 1, 4, "arm64", "general"),
	gen("t2a-standard-2", 2, 8, "arm64", "general"),
	gen("t2a-standard-4", 4, 16, "arm64", "general"),
	gen("t2a-standard-8", 8, 32, "arm64", "general"),
	gen("t2a-standard-16", 16, 64, "arm64", "general"),
	gen("t2a-standard-32", 32, 128, "arm64", "general"),
	gen("t2a-standard-48", 48, 192, "arm64", "general"),
	// C3 (Sapphire Rapids). Google files C3 under general purpose, but it
	// costs more than E2/N2 at the same size, so regionctl keeps it out of
	// automatic picks: reach it with a machineType override.
	gen("c3-standard-4", 4, 16, "amd64", "compute"),
	gen("c3-standard-8", 8, 32, "amd64", "compute"),
	gen("c3-standard-22", 22, 88, "amd64", "compute"),
	gen("c3-standard-44", 44, 176, "amd64", "compute"),
	gen("c3-highcpu-4", 4, 8, "amd64", "compute"),
	gen("c3-highcpu-8", 8, 16, "amd64", "compute"),
	// Memory optimised, override only.
	gen("n2-highmem-4", 4, 32, "amd64", "memory"),
	gen("n2-highmem-8", 8, 64, "amd64", "memory"),
	// Accelerator optimised: the GPUs come with the machine type.
	gpu("g2-standard-4", 4, 16, 1, "nvidia-l4"),
	gpu("g2-standard-8", 8, 32, 1, "nvidia-l4"),
	gpu("g2-standard-12", 12, 48, 1, "nvidia-l4"),
	gpu("g2-standard-16", 16, 64, 1, "nvidia-l4"),
	gpu("g2-standard-24", 24, 96, 2, "nvidia-l4"),
	gpu("g2-standard-48", 48, 192, 4, "nvidia-l4"),
	gpu("g2-standard-96", 96, 384, 8, "nvidia-l4"),
	gpu("a2-highgpu-1g", 12, 85, 1, "nvidia-tesla-a100"),
	gpu("a2-highgpu-2g", 24, 170, 2, "nvidia-tesla-a100"),
	gpu("a2-highgpu-4g", 48, 340, 4, "nvidia-tesla-a100"),
	gpu("a2-highgpu-8g", 96, 680, 8, "nvidia-tesla-a100"),
}

// Machines returns a copy of the machine-type catalog.
func Machines() []providers.MachineType {
	out := make([]providers.MachineType, len(machines))
	for i, m := range machines {
		out[i] = m.MachineType
	}
	return out
}

func machineByName(name string) (machine, bool) {
	for _, m := range machines {
		if m.Name == name {
			return m, true
		}
	}
	return machine{}, false
}

// zoneLetters lists, per GCP region, the zone suffixes the driver spreads
// node pools over, in the order it uses them. Not every region has an "a"
// zone (us-east1 is b, c, d; europe-west1 is b, c, d; us-central1 has a
// fourth zone f).
var zoneLetters = map[string]string{
	"us-central1":             "abcf",
	"us-east1":                "bcd",
	"us-east4":                "abc",
	"us-east5":                "abc",
	"us-south1":               "abc",
	"us-west1":                "abc",
	"us-west2":                "abc",
	"us-west3":                "abc",
	"us-west4":                "abc",
	"northamerica-northeast1": "abc",
	"northamerica-northeast2": "abc",
	"southamerica-east1":      "abc",
	"europe-west1":            "bcd",
	"europe-west2":            "abc",
	"europe-west3":            "abc",
	"europe-west4":            "abc",
	"europe-west6":            "abc",
	"europe-west8":            "abc",
	"europe-west9":            "abc",
	"europe-north1":           "abc",
	"europe-central2":         "abc",
	"europe-southwest1":       "abc",
	"asia-east1":              "abc",
	"asia-east2":              "abc",
	"asia-northeast1":         "abc",
	"asia-northeast3":         "abc",
	"asia-south1":             "abc",
	"asia-southeast1":         "abc",
	"asia-southeast2":         "abc",
	"australia-southeast1":    "abc",
	"me-west1":                "abc",
}

// Locations returns each known GCP region with its zone count.
func Locations() map[string]int {
	out := make(map[string]int, len(zoneLetters))
	for loc, l := range zoneLetters {
		out[loc] = len(l)
	}
	return out
}

// zoneNames returns the first n zones of location ("europe-west4-a", …);
// unknown locations use a, b, c, … (CheckRegion reports them before any
// apply).
func zoneNames(location string, n int) []string {
	letters, ok := zoneLetters[location]
	if !ok {
		letters = "abcdefghij"
	}
	out := make([]string, 0, n)
	for i := 0; i < n && i < len(letters); i++ {
		out = append(out, location+"-"+letters[i:i+1])
	}
	return out
}

// releaseChannels are the GKE release channels an override may name,
// lowercase as gcloud writes them.
var releaseChannels = []string{"rapid", "regular", "stable", "extended"}

func channelEnum(name string) string { return strings.ToUpper(name) }
