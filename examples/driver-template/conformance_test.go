package main

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"testing"

	"example.com/regionctl-driver-acme/acme/api"
	"example.com/regionctl-driver-acme/emulator"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/spec"
)

// TestConformance builds this plugin, starts the Acme emulator, and runs
// regionctl's conformance suite against the driver through the plugin
// boundary, exactly as regionctl will call it.
func TestConformance(t *testing.T) {
	ctx := context.Background()
	bin := filepath.Join(t.TempDir(), plugin.ExecutablePrefix+"acme")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	em, err := emulator.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	drv, err := plugin.Plugin{Name: "acme", Path: bin}.Launch(ctx, providers.Options{Sandbox: true, SandboxEndpoints: em.Endpoints()})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.(io.Closer).Close()

	cloud := &api.Client{BaseURL: em.Endpoints()["acme"]}
	drivertest.Run(t, drivertest.Config{
		Driver: drv,
		Region: &spec.Region{
			APIVersion: spec.APIVersion, Kind: spec.KindRegion, Metadata: spec.Metadata{Name: "east"},
			Spec: spec.RegionSpec{Provider: "acme", Location: "acme-east", Zones: 3, Network: spec.Network{CIDR: "10.10.0.0/16"},
				Cluster: spec.Cluster{KubernetesVersion: "1.34", NodePools: []spec.NodePool{
					{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 4}, Min: 1, Max: 3}}}},
		},
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Max = 5
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[0].Machine.CPU = 4
			c.Spec.Cluster.NodePools[0].Machine.MemoryGiB = 16
			return c
		},
		CloudCalls: em.(*emulator.Emulator).Requests,
		// Acme's clusters and pools run once created: the health check
		// (acme/upgrades.go) must find the region healthy.
		Healthy: true,
		Inventory: func(ctx context.Context) ([]string, error) {
			var ids []string
			for _, kind := range []string{api.Networks, api.Clusters, api.NodePools} {
				objs, err := cloud.List(ctx, kind, "", "")
				if err != nil {
					return nil, err
				}
				for _, o := range objs {
					ids = append(ids, o.ID)
				}
			}
			return ids, nil
		},
	})
}
