package providers

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/spec"
)

// overridesYAML is checkYAML with a GPU pool and an arm64 pool; each test
// case appends its spec.overrides block, starting on line 17.
const overridesYAML = `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: r}
spec:
  provider: test
  location: us-east-1
  network: {cidr: 10.0.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3}
      - {name: big, machine: {cpu: 16, memoryGiB: 64}, min: 1, max: 3}
      - {name: train, machine: {cpu: 8, memoryGiB: 32, gpu: 2}, min: 0, max: 2}
      - {name: arm, machine: {cpu: 2, memoryGiB: 8, arch: arm64}, min: 1, max: 2}
  storageClasses:
    - {name: fast, tier: ssd}
`

var testField = MachineField{
	Key: "machineType", Noun: "machine type", Unit: "type", Example: "m.large", Driver: "Test",
	GPUFix: "pick a g type", Catalog: testCatalog,
}

// decodeTestOverrides is a driver's parser in miniature: spec.overrides.test
// takes "zone" (a string) and nodePools.<pool>.machineType.
func decodeTestOverrides(r *spec.Region) (map[string]string, diag.Diagnostics) {
	got := map[string]string{}
	d := NewOverrideDecoder(r)
	top, ok := d.Entry("test", "Test", []string{"nodePools", "zone"}, "write an object")
	if !ok {
		return got, d.Diagnostics()
	}
	if v, ok := top["zone"]; ok {
		if s, ok := d.String("spec.overrides.test.zone", v, `write a string like "a"`); ok {
			got["zone"] = s
		}
	}
	if v, ok := top["nodePools"]; ok {
		for p := range d.NodePools("spec.overrides.test.nodePools", v, []string{"machineType"}, "write an object, e.g. {machineType: m.large}") {
			if name, ok := d.Machine(p, testField); ok {
				got[p.Name] = name
			}
		}
	}
	return got, d.Diagnostics()
}

func TestOverrideDecoder(t *testing.T) {
	type want struct {
		Sev                diag.Severity
		Line               int
		Path, Summary, Fix string
	}
	tests := []struct {
		name      string
		overrides string // YAML lines appended under spec:
		raw       string // when set, replaces spec.overrides.test after loading
		wantOK    map[string]string
		want      []want // in report order
	}{
		{name: "absent", wantOK: map[string]string{}},
		{name: "JSON null", raw: " null ", wantOK: map[string]string{}},
		{name: "other driver's entry is not read", overrides: "  overrides: {aws: 3}\n", wantOK: map[string]string{}},
		{name: "valid", overrides: "  overrides:\n    test:\n      zone: b\n      nodePools: {system: {machineType: m.large}, arm: {}}\n",
			wantOK: map[string]string{"zone": "b", "system": "m.large", "arm": ""}},
		{name: "entry not an object", overrides: "  overrides:\n    test: [1]\n", wantOK: map[string]string{},
			want: []want{{diag.Error, 18, "spec.overrides.test", "spec.overrides.test must be an object", "write an object"}}},
		{name: "unknown keys sorted, with did-you-mean", overrides: "  overrides:\n    test:\n      zzz: 1\n      nodepools: {}\n      zone: a\n",
			wantOK: map[string]string{"zone": "a"},
			want: []want{
				{diag.Error, 20, "spec.overrides.test.nodepools", `unknown Test override "nodepools" (known: nodePools, zone)`, `did you mean "nodePools"?`},
				{diag.Error, 19, "spec.overrides.test.zzz", `unknown Test override "zzz" (known: nodePools, zone)`, ""},
			}},
		{name: "not a string", overrides: "  overrides:\n    test:\n      zone: [a]\n", wantOK: map[string]string{},
			want: []want{{diag.Error, 19, "spec.overrides.test.zone", "zone must be a string", `write a string like "a"`}}},
		{name: "nodePools not an object", overrides: "  overrides:\n    test:\n      nodePools: [system]\n", wantOK: map[string]string{},
			want: []want{{diag.Error, 19, "spec.overrides.test.nodePools", "spec.overrides.test.nodePools must be an object", "write an object keyed by node pool name"}}},
		{name: "pool problems in name order", overrides: "  overrides:\n    test:\n      nodePools:\n        sytem: {}\n        big: 3\n        arm: {machinetype: m.large}\n",
			wantOK: map[string]string{"arm": ""},
			want: []want{
				{diag.Error, 22, "spec.overrides.test.nodePools.arm.machinetype", `unknown node pool override "machinetype" (known: machineType)`, `did you mean "machineType"?`},
				{diag.Error, 21, "spec.overrides.test.nodePools.big", "spec.overrides.test.nodePools.big must be an object", "write an object, e.g. {machineType: m.large}"},
				{diag.Error, 20, "spec.overrides.test.nodePools.sytem", `node pool "sytem" does not exist (pools: system, big, train, arm)`, `did you mean "system"?`},
			}},
		{name: "machine type not a string", overrides: "  overrides:\n    test:\n      nodePools: {system: {machineType: 4}}\n", wantOK: map[string]string{},
			want: []want{{diag.Error, 19, "spec.overrides.test.nodePools.system.machineType", "machineType must be a string", `write a string like "m.large"`}}},
		{name: "machine type not in catalog", overrides: "  overrides:\n    test:\n      nodePools:\n        system: {machineType: m.larg}\n        big: {machineType: zz}\n",
			wantOK: map[string]string{},
			want: []want{
				{diag.Error, 21, "spec.overrides.test.nodePools.big.machineType", `machine type "zz" is not in the Test driver's catalog`, "use one of the catalog's types (regionctl drivers --json lists them)"},
				{diag.Error, 20, "spec.overrides.test.nodePools.system.machineType", `machine type "m.larg" is not in the Test driver's catalog`, `did you mean "m.large"?`},
			}},
		{name: "wrong arch", overrides: "  overrides:\n    test:\n      nodePools: {arm: {machineType: m.large}}\n", wantOK: map[string]string{"arm": "m.large"},
			want: []want{{diag.Error, 19, "spec.overrides.test.nodePools.arm.machineType", `machine type m.large is amd64 but node pool "arm" asks for arm64`,
				"pick an arm64 type, or set spec.cluster.nodePools[3].machine.arch: amd64"}}},
		{name: "too few GPUs", overrides: "  overrides:\n    test:\n      nodePools: {train: {machineType: m.2xlarge}}\n", wantOK: map[string]string{"train": "m.2xlarge"},
			want: []want{{diag.Error, 19, "spec.overrides.test.nodePools.train.machineType", `machine type m.2xlarge has 0 GPU(s) but node pool "train" asks for 2`, "pick a g type"}}},
		{name: "smaller than the pool warns", overrides: "  overrides:\n    test:\n      nodePools: {big: {machineType: m.xlarge}}\n", wantOK: map[string]string{"big": "m.xlarge"},
			want: []want{{diag.Warning, 19, "spec.overrides.test.nodePools.big.machineType", `machine type m.xlarge (4 vCPU, 16 GiB) is smaller than node pool "big"'s machine (16 CPU, 64 GiB)`, ""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, ds := spec.LoadBytes("r.yaml", []byte(overridesYAML+tc.overrides), spec.LoadOptions{})
			if ds.HasErrors() || len(rs) != 1 {
				t.Fatalf("test region does not load:\n%s", ds)
			}
			if tc.raw != "" {
				rs[0].Spec.Overrides = map[string]json.RawMessage{"test": json.RawMessage(tc.raw)}
			}
			gotOK, ds := decodeTestOverrides(rs[0])
			if diff := cmp.Diff(tc.wantOK, gotOK); diff != "" {
				t.Errorf("decoded values (-want +got):\n%s", diff)
			}
			var got []want
			for _, d := range ds {
				if d.Pos.File != "r.yaml" {
					t.Errorf("%s: position %v does not name the file", d.Path, d.Pos)
				}
				got = append(got, want{d.Severity, d.Pos.Line, d.Path, d.Summary, d.Fix})
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	tests := []struct {
		got        string
		candidates []string
		want       string
	}{
		{"nodepools", []string{"nodePools", "zone"}, `did you mean "nodePools"?`},
		{"zzzzzz", []string{"nodePools", "zone"}, ""},
		{"x", nil, ""},
	}
	for _, tc := range tests {
		if got := Suggest(tc.got, tc.candidates); got != tc.want {
			t.Errorf("Suggest(%q, %q) = %q, want %q", tc.got, tc.candidates, got, tc.want)
		}
	}
}
