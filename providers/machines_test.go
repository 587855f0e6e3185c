package providers

import (
	"strings"
	"testing"

	"github.com/regionctl/regionctl/spec"
)

var testCatalog = []MachineType{
	{Name: "m.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"},
	{Name: "m.large", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: "general"},
	{Name: "m.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: "general"},
	{Name: "a.xlarge", CPU: 4, MemoryGiB: 16, Arch: "amd64", Family: "general"}, // same size as m.xlarge: name decides
	{Name: "c.2xlarge", CPU: 8, MemoryGiB: 16, Arch: "amd64", Family: "compute"},
	{Name: "r.xlarge", CPU: 4, MemoryGiB: 32, Arch: "amd64", Family: "memory"},
	{Name: "m.xlarge.mem", CPU: 4, MemoryGiB: 17.5, Arch: "amd64", Family: "general"},
	{Name: "g.xlarge", CPU: 4, MemoryGiB: 16, Arch: "arm64", Family: "general"},
	{Name: "g.2xlarge", CPU: 8, MemoryGiB: 32, Arch: "arm64", Family: "general"},
	{Name: "p.2xlarge", CPU: 8, MemoryGiB: 61, Arch: "amd64", GPU: 1, Family: "gpu"},
	{Name: "p.8xlarge", CPU: 32, MemoryGiB: 244, Arch: "amd64", GPU: 4, Family: "gpu"},
}

func TestPickMachine(t *testing.T) {
	tests := []struct {
		name    string
		catalog []MachineType
		want    spec.Machine
		wantT   string
		wantErr string
	}{
		{name: "exact fit", want: spec.Machine{CPU: 2, MemoryGiB: 8, Arch: "amd64"}, wantT: "m.large"},
		{name: "arch defaults to amd64", want: spec.Machine{CPU: 2, MemoryGiB: 8}, wantT: "m.large"},
		{name: "rounds up, ties by name", want: spec.Machine{CPU: 3, MemoryGiB: 12}, wantT: "a.xlarge"},
		{name: "memory drives the choice", want: spec.Machine{CPU: 4, MemoryGiB: 17}, wantT: "m.xlarge.mem"},
		{name: "only general family", want: spec.Machine{CPU: 8, MemoryGiB: 16}, wantT: "m.2xlarge"},
		{name: "arm64", want: spec.Machine{CPU: 2, MemoryGiB: 4, Arch: "arm64"}, wantT: "g.xlarge"},
		{name: "gpu", want: spec.Machine{CPU: 4, MemoryGiB: 16, GPU: 1}, wantT: "p.2xlarge"},
		{name: "gpu count", want: spec.Machine{CPU: 4, MemoryGiB: 16, GPU: 2}, wantT: "p.8xlarge"},
		{name: "too big names the largest", want: spec.Machine{CPU: 64, MemoryGiB: 256},
			wantErr: "no general amd64 machine type has 64 CPU and 256 GiB; the largest is m.2xlarge with 8 CPU and 32 GiB"},
		{name: "too big arm names the largest arm", want: spec.Machine{CPU: 16, MemoryGiB: 8, Arch: "arm64"},
			wantErr: "the largest is g.2xlarge"},
		{name: "gpu too many", want: spec.Machine{CPU: 1, MemoryGiB: 1, GPU: 8},
			wantErr: "the catalog has no gpu amd64 machine type with 8 GPU(s)"},
		{name: "empty catalog", catalog: []MachineType{}, want: spec.Machine{CPU: 1, MemoryGiB: 1}, wantErr: "the catalog has no general amd64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			catalog := tt.catalog
			if catalog == nil {
				catalog = testCatalog
			}
			got, err := PickMachine(catalog, tt.want)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got.Name, err, tt.wantErr)
				}
				return
			}
			if err != nil || got.Name != tt.wantT {
				t.Fatalf("got %q, %v; want %q", got.Name, err, tt.wantT)
			}
		})
	}
}

func TestChooseMachine(t *testing.T) {
	catalog := []MachineType{
		{Name: "small", CPU: 2, MemoryGiB: 8, Arch: "amd64", Family: FamilyGeneral},
		{Name: "big", CPU: 8, MemoryGiB: 32, Arch: "amd64", Family: FamilyGeneral},
	}
	pool := spec.NodePool{Name: "apps", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}}
	m, how, err := ChooseMachine(catalog, pool, "", "spec.overrides.x.nodePools.apps.size", "X size")
	if err != nil || m.Name != "big" || how != "machine {cpu 4, memory 16 GiB, amd64}" {
		t.Errorf("picked: %v %q %v", m.Name, how, err)
	}
	m, how, err = ChooseMachine(catalog, pool, "small", "spec.overrides.x.nodePools.apps.size", "X size")
	if err != nil || m.Name != "small" || how != "override spec.overrides.x.nodePools.apps.size" {
		t.Errorf("override: %v %q %v", m.Name, how, err)
	}
	if _, _, err := ChooseMachine(catalog, pool, "huge", "p", "X size"); err == nil || err.Error() != `X size "huge" is not in the catalog` {
		t.Errorf("unknown override: %v", err)
	}
}
