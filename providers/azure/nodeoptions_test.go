package azure_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	azdriver "github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

// nodeOptionsRegion is an AKS region whose first (System) pool sets
// systemOpts and second (User) pool userOpts (YAML lines indented to the
// pool's mapping), loaded from a file so diagnostics carry lines.
func nodeOptionsRegion(t *testing.T, userMachine, systemOpts, userOpts string) *spec.Region {
	t.Helper()
	src := fmt.Sprintf(`apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: weu1}
spec:
  provider: azure
  location: westeurope
  zones: 2
  network: {cidr: 10.30.0.0/16}
  cluster:
    kubernetesVersion: "1.32"
    nodePools:
      - name: system
        machine: {cpu: 2, memoryGiB: 8}
        min: 1
        max: 3
%s      - name: work
        machine: %s
        min: 0
        max: 4
%s`, systemOpts, userMachine, userOpts)
	rs, ds := spec.LoadBytes("regions/weu1.yaml", []byte(src), spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load: %v", ds)
	}
	return rs[0]
}

func expandOK(t *testing.T, d providers.Driver, r *spec.Region) providers.ExpandResponse {
	t.Helper()
	resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
	if err != nil || resp.Diagnostics.HasErrors() {
		t.Fatalf("Expand: %v\n%v", err, resp.Diagnostics)
	}
	return resp
}

// TestNodeOptionsMapToAKS: disk, maxPods and os become agent pool inputs,
// what AKS cannot change in place forces a replacement (and a new name),
// and a Windows pool's name fits AKS's 6 characters.
func TestNodeOptionsMapToAKS(t *testing.T) {
	d := newOffline(t)
	const machine = "{cpu: 4, memoryGiB: 16}"
	user := func(opts string) providers.Resource {
		return byType(expandOK(t, d, nodeOptionsRegion(t, machine, "", opts)).Resources, azdriver.TypeNodePool)[0]
	}
	def := user("")
	for _, k := range []string{"os_disk_size_gb", "os_disk_type", "max_pods", "os_type", "os_sku"} {
		if _, ok := def.Inputs[k]; ok {
			t.Errorf("a pool without node options sends %s = %v; AKS's default should stay", k, def.Inputs[k])
		}
	}
	tests := []struct {
		opts    string
		want    map[string]any
		replace bool
	}{
		{"        disk: {sizeGiB: 64, tier: ssd}\n", map[string]any{"os_disk_size_gb": 64, "os_disk_type": "Managed"}, true},
		{"        maxPods: 60\n", map[string]any{"max_pods": 60}, true},
		{"        os: {family: windows}\n", map[string]any{"os_type": "Windows", "os_sku": "Windows2022"}, true},
		{"        os: {image: ubuntu}\n", map[string]any{"os_sku": "Ubuntu"}, false},
	}
	for _, tc := range tests {
		p := user(tc.opts)
		for k, v := range tc.want {
			if p.Inputs[k] != v {
				t.Errorf("%q: %s = %v; want %v", tc.opts, k, p.Inputs[k], v)
			}
			if forces := slices.Contains(p.ForceNew, k); forces != (tc.replace && k != "os_sku") {
				t.Errorf("%q: %s forces a replacement: %v (ForceNew %v)", tc.opts, k, forces, p.ForceNew)
			}
		}
		if renamed := p.Inputs["name"] != def.Inputs["name"]; renamed != tc.replace {
			t.Errorf("%q: name %v (defaults: %v); a replacement needs a new name, an in-place change keeps it", tc.opts, p.Inputs["name"], def.Inputs["name"])
		}
	}
	if n := user("        os: {family: windows}\n").Inputs["name"].(string); len(n) > 6 || !strings.HasPrefix(n, "wo") {
		t.Errorf("Windows pool name %q; AKS allows at most 6 characters", n)
	}
	// The System pool carries its options inline; a new disk renames (and
	// so rotates) it.
	resp := expandOK(t, d, nodeOptionsRegion(t, machine, "        disk: {sizeGiB: 100}\n        maxPods: 30\n", ""))
	sp := byType(resp.Resources, azdriver.TypeCluster)[0].Inputs["system_pool"].(map[string]any)
	plain := byType(expandOK(t, d, nodeOptionsRegion(t, machine, "", "")).Resources, azdriver.TypeCluster)[0].Inputs["system_pool"].(map[string]any)
	if sp["os_disk_size_gb"] != 100 || sp["max_pods"] != 30 || sp["name"] == plain["name"] {
		t.Errorf("system pool %v (without options: name %v)", sp, plain["name"])
	}
}

// TestNodeOptionsAKSCannotHave: what AKS would refuse is refused at plan
// time, at the field's file and line.
func TestNodeOptionsAKSCannotHave(t *testing.T) {
	d := newOffline(t)
	tests := []struct {
		name, machine, systemOpts, userOpts, path string
		line                                      int
		says                                      string
	}{
		{"standard disk", "{cpu: 4, memoryGiB: 16}", "", "        disk: {tier: standard}\n", "spec.cluster.nodePools[1].disk.tier", 20, "cannot ask for a standard disk"},
		{"small disk", "{cpu: 4, memoryGiB: 16}", "", "        disk: {sizeGiB: 20}\n", "spec.cluster.nodePools[1].disk.sizeGiB", 20, "30 to 2048 GB"},
		{"few pods", "{cpu: 4, memoryGiB: 16}", "", "        maxPods: 8\n", "spec.cluster.nodePools[1].maxPods", 20, "10 to 250"},
		{"System pool pods", "{cpu: 4, memoryGiB: 16}", "        maxPods: 20\n", "", "spec.cluster.nodePools[0].maxPods", 16, "at least 30"},
		{"Windows on Arm", "{cpu: 4, memoryGiB: 16, arch: arm64}", "", "        os: {family: windows}\n", "spec.cluster.nodePools[1].os.family", 20, "x86_64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := nodeOptionsRegion(t, tc.machine, tc.systemOpts, tc.userOpts)
			resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
			if err != nil {
				t.Fatal(err)
			}
			x, ok := resp.Diagnostics.At(tc.path)
			if !ok {
				t.Fatalf("no diagnostic at %s: %v", tc.path, resp.Diagnostics)
			}
			if x.Pos.File != "regions/weu1.yaml" || x.Pos.Line != tc.line || !strings.Contains(x.Summary, tc.says) {
				t.Errorf("diagnostic %s:%d %q; want regions/weu1.yaml:%d saying %q", x.Pos.File, x.Pos.Line, x.Summary, tc.line, tc.says)
			}
		})
	}
}

// TestNodeOptionsReadBack: the options a pool was made with come back from
// AKS (no drift), a value that differs from the recorded one shows as
// drift, a pool without options reports none (AKS's defaults are no
// drift), and a new System pool disk rotates the System pool.
func TestNodeOptionsReadBack(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	r := smallRegion()
	r.Spec.Cluster.NodePools[0].MaxPods, r.Spec.Cluster.NodePools[0].OS.Image = 60, spec.ImageUbuntu
	r.Spec.Cluster.NodePools[1].Disk, r.Spec.Cluster.NodePools[1].MaxPods = spec.Disk{SizeGiB: 64, Tier: spec.TierSSD}, 40
	r.Spec.Cluster.NodePools = append(r.Spec.Cluster.NodePools,
		spec.NodePool{Name: "win", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 1, Max: 1, OS: spec.OS{Family: spec.OSWindows, Image: spec.ImageDefault}},
		spec.NodePool{Name: "plain", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 0, Max: 1})
	a := applyAll(t, d, r)
	ctx := context.Background()
	read := func(addr string) providers.ReadResponse {
		t.Helper()
		live, err := d.Read(ctx, providers.ReadRequest{Instance: *a.inst[addr]})
		if err != nil || !live.Exists {
			t.Fatalf("Read %s: %v", addr, err)
		}
		return live
	}
	pool := func(name string) string { return providers.Address("weu1", azdriver.TypeNodePool, name) }
	cluster := providers.Address("weu1", azdriver.TypeCluster, "main")
	for _, addr := range []string{pool("apps"), pool("win"), pool("plain")} {
		live := read(addr)
		for _, k := range []string{"os_disk_size_gb", "os_disk_type", "max_pods", "os_type", "os_sku"} {
			if show(live.Inputs[k]) != show(a.inst[addr].Inputs[k]) {
				t.Errorf("%s: Read %s = %v; recorded %v", addr, k, live.Inputs[k], a.inst[addr].Inputs[k])
			}
		}
	}
	if sp := read(cluster).Inputs["system_pool"].(map[string]any); sp["max_pods"] != 60 || sp["os_sku"] != "Ubuntu" {
		t.Errorf("system_pool read back %v; want max_pods 60, os_sku Ubuntu", sp)
	}
	// Recorded 50, live 40: the plan shows the difference.
	apps := a.inst[pool("apps")]
	stale := *apps
	stale.Inputs = withRecorded(apps.Inputs, "max_pods", 50)
	if live, err := d.Read(ctx, providers.ReadRequest{Instance: stale}); err != nil || live.Inputs["max_pods"] != 40 {
		t.Errorf("Read with max_pods recorded 50: %v, %v; want the live 40", live.Inputs["max_pods"], err)
	}

	r.Spec.Cluster.NodePools[0].Disk.SizeGiB = 100
	oldName := a.inst[cluster].Inputs["system_pool"].(map[string]any)["name"]
	if err := a.updateTo(t, r, cluster); err != nil {
		t.Fatalf("Update with a new System pool disk: %v", err)
	}
	if sp := read(cluster).Inputs["system_pool"].(map[string]any); sp["name"] == oldName || sp["os_disk_size_gb"] != 100 || sp["max_pods"] != 60 {
		t.Errorf("after rotation system_pool %v; want a new pool (not %v) with a 100 GB disk and max_pods 60", sp, oldName)
	}
}

// withRecorded is in with key set to v.
func withRecorded(in providers.Values, key string, v any) providers.Values {
	out := providers.Values{}
	for k, x := range in {
		out[k] = x
	}
	out[key] = v
	return out
}
