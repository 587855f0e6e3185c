package gcp_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/regionctl/regionctl/providers"
	gcpdriver "github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	"github.com/regionctl/regionctl/spec"
)

// nodeOptionsRegion is a GKE region whose second pool sets opts (YAML
// lines of the pool's mapping, indented to it), loaded from a file so
// diagnostics carry lines.
func nodeOptionsRegion(t *testing.T, machine, opts string) *spec.Region {
	t.Helper()
	src := fmt.Sprintf(`apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: eu1}
spec:
  provider: gcp
  location: europe-west1
  network: {cidr: 10.20.0.0/16}
  cluster:
    kubernetesVersion: "1.32"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 3, max: 6}
      - name: work
        machine: %s
        min: 0
        max: 6
%s`, machine, opts)
	rs, ds := spec.LoadBytes("regions/eu1.yaml", []byte(src), spec.LoadOptions{})
	if ds.HasErrors() || len(rs) != 1 {
		t.Fatalf("load: %v", ds)
	}
	return rs[0]
}

// TestNodeOptionsMapToGKE: disk, maxPods and os become the node pool's
// inputs, and each one is part of what forces a replacement (its name).
func TestNodeOptionsMapToGKE(t *testing.T) {
	d := newOffline(t)
	pool := func(opts string) providers.Resource {
		return byAddress(expand(t, d, nodeOptionsRegion(t, "{cpu: 4, memoryGiB: 16}", opts)), gcpdriver.TypeNodePool+".work")
	}
	def := pool("")
	for _, k := range []string{"disk_size_gb", "disk_type", "max_pods"} {
		if _, ok := def.Inputs[k]; ok {
			t.Errorf("a pool without node options sends %s = %v; GKE's default should stay", k, def.Inputs[k])
		}
	}
	if def.Inputs["image_type"] != "COS_CONTAINERD" {
		t.Errorf("default image %v", def.Inputs["image_type"])
	}
	tests := []struct {
		opts string
		want map[string]any
	}{
		{"        disk: {sizeGiB: 200, tier: ssd}\n", map[string]any{"disk_size_gb": 200, "disk_type": "pd-ssd", "image_type": "COS_CONTAINERD"}},
		{"        disk: {tier: standard}\n", map[string]any{"disk_type": "pd-balanced"}},
		{"        maxPods: 32\n", map[string]any{"max_pods": 32}},
		{"        os: {image: ubuntu}\n", map[string]any{"image_type": "UBUNTU_CONTAINERD"}},
		{"        os: {family: windows}\n", map[string]any{"image_type": "WINDOWS_LTSC_CONTAINERD"}},
	}
	names := map[string]string{def.Inputs["name"].(string): "defaults"}
	for _, tc := range tests {
		p := pool(tc.opts)
		for k, v := range tc.want {
			if p.Inputs[k] != v {
				t.Errorf("%q: %s = %v; want %v", tc.opts, k, p.Inputs[k], v)
			}
		}
		if !p.CreateBeforeDestroy {
			t.Errorf("%q: the pool is not replaced create-before-destroy", tc.opts)
		}
		for k := range tc.want {
			found := false
			for _, f := range p.ForceNew {
				found = found || f == k
			}
			if !found {
				t.Errorf("%q: %s does not force a replacement (ForceNew %v)", tc.opts, k, p.ForceNew)
			}
		}
		n := p.Inputs["name"].(string)
		if other, dup := names[n]; dup {
			t.Errorf("%q and %s give the pool the same name %s; a create-before-destroy replacement needs a new one", tc.opts, other, n)
		}
		names[n] = tc.opts
	}
	win := expand(t, d, nodeOptionsRegion(t, "{cpu: 4, memoryGiB: 16}", "        os: {family: windows}\n"))
	if w := byAddress(win, gcpdriver.TypeNodePool+".work"); len(w.DependsOn) == 0 || !strings.HasSuffix(w.DependsOn[0], gcpdriver.TypeNodePool+".system") {
		t.Errorf("the Windows pool does not wait for the first (Linux) pool: depends on %v", w.DependsOn)
	}
}

// TestNodeOptionsGKECannotHave: what GKE would refuse is refused at plan
// time, at the field's file and line.
func TestNodeOptionsGKECannotHave(t *testing.T) {
	d := newOffline(t)
	tests := []struct {
		name, machine, opts, path string
		line                      int
		says                      string
	}{
		{"Windows on Arm", "{cpu: 4, memoryGiB: 16, arch: arm64}", "        os: {family: windows}\n", "spec.cluster.nodePools[1].os.family", 16, "x86_64"},
		{"pod ranges beyond the pods' range", "{cpu: 4, memoryGiB: 16}", "        maxPods: 250\n", "spec.cluster.nodePools[1].maxPods", 16, "holds 64 such ranges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := nodeOptionsRegion(t, tc.machine, tc.opts)
			r.Spec.Cluster.NodePools[1].Max = 100
			resp, err := d.Expand(context.Background(), providers.ExpandRequest{Region: r})
			if err != nil {
				t.Fatal(err)
			}
			x, ok := resp.Diagnostics.At(tc.path)
			if !ok {
				t.Fatalf("no diagnostic at %s: %v", tc.path, resp.Diagnostics)
			}
			if x.Pos.File != "regions/eu1.yaml" || x.Pos.Line != tc.line || !strings.Contains(x.Summary, tc.says) {
				t.Errorf("diagnostic %s:%d %q; want regions/eu1.yaml:%d saying %q", x.Pos.File, x.Pos.Line, x.Summary, tc.line, tc.says)
			}
		})
	}
}

// TestNodeOptionsReadBack: the options a pool was made with come back from
// GKE (no drift), a value that differs from the recorded one shows as
// drift, and a pool without options reports none (GKE's defaults are no
// drift).
func TestNodeOptionsReadBack(t *testing.T) {
	_, d := startSandbox(t, sandbox.Options{})
	r := smallRegion()
	r.Spec.Cluster.NodePools[0].Disk, r.Spec.Cluster.NodePools[0].MaxPods = spec.Disk{SizeGiB: 50, Tier: spec.TierSSD}, 64
	r.Spec.Cluster.NodePools[0].OS.Image = spec.ImageUbuntu
	r.Spec.Cluster.NodePools = append(r.Spec.Cluster.NodePools,
		spec.NodePool{Name: "win", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 0, Max: 3, OS: spec.OS{Family: spec.OSWindows, Image: spec.ImageDefault}},
		spec.NodePool{Name: "plain", Machine: spec.Machine{CPU: 4, MemoryGiB: 16}, Min: 0, Max: 3})
	a := applyAll(t, d, r)
	ctx := context.Background()
	for _, name := range []string{"system", "win", "plain"} {
		in := a.inst["eu1/"+gcpdriver.TypeNodePool+"."+name]
		live := a.mustRead(t, in)
		for _, k := range []string{"disk_size_gb", "disk_type", "max_pods", "image_type"} {
			if fmt.Sprint(live.Inputs[k]) != fmt.Sprint(in.Inputs[k]) {
				t.Errorf("%s: Read %s = %v; recorded %v", name, k, live.Inputs[k], in.Inputs[k])
			}
		}
	}
	sys := a.inst["eu1/"+gcpdriver.TypeNodePool+".system"]
	stale := *sys
	stale.Inputs = withInputs(sys, "disk_size_gb", 80)
	if live, err := d.Read(ctx, providers.ReadRequest{Instance: stale}); err != nil || live.Inputs["disk_size_gb"] != 50 {
		t.Errorf("Read with disk_size_gb recorded 80: %v, %v; want the live 50", live.Inputs["disk_size_gb"], err)
	}
}
