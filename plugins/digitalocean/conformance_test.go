package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/digitalocean/godo"

	"github.com/regionctl/regionctl/plugins/digitalocean/emulator"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/budget"
	"github.com/regionctl/regionctl/providers/drivertest"
	"github.com/regionctl/regionctl/providers/plugin"
	"github.com/regionctl/regionctl/sandbox/kube"
	"github.com/regionctl/regionctl/spec"
)

// testRegion is a region on DigitalOcean with two node pools (the first is
// created with the cluster), a StorageClass and a load balancer, so the
// suite applies in-cluster objects through the cluster's real API server.
func testRegion() *spec.Region {
	return &spec.Region{
		APIVersion: spec.APIVersion, Kind: spec.KindRegion, Metadata: spec.Metadata{Name: "east"},
		Spec: spec.RegionSpec{Provider: "digitalocean", Location: "fra1", Zones: 1, Network: spec.Network{CIDR: "10.10.0.0/16"},
			Cluster: spec.Cluster{KubernetesVersion: "1.34", NodePools: []spec.NodePool{
				{Name: "system", Machine: spec.Machine{CPU: 2, MemoryGiB: 4}, Min: 1, Max: 3},
				{Name: "apps", Machine: spec.Machine{CPU: 2, MemoryGiB: 4}, Min: 1, Max: 2,
					Labels: map[string]string{"workload": "apps"}, Taints: []string{"workload=apps:NoSchedule"}}}},
			StorageClasses: []spec.StorageClass{{Name: "fast", Tier: "ssd", Default: true, Expandable: true}},
			LoadBalancers: []spec.LoadBalancer{{Name: "web", Scheme: "external",
				Ports: []spec.Port{{Port: 80, TargetPort: 8080}}, Selector: map[string]string{"app": "web"}}},
		},
	}
}

// binDir holds the binaries the tests build once: the plugin, and
// regionctl from the checkout this plugin lives in.
var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// TestMain removes the binaries after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds regionctl and the plugin (as regionctl finds it) once,
// and returns their folder.
func binaries(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "regionctl-do-bin-"); binErr != nil {
			return
		}
		for _, b := range []struct{ dir, out, pkg string }{
			{".", plugin.ExecutablePrefix + "digitalocean", "."},
			{filepath.Join("..", ".."), "regionctl", "./cmd/regionctl"},
		} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, b.out), b.pkg)
			cmd.Dir = b.dir
			if out, err := cmd.CombinedOutput(); err != nil {
				binErr = fmt.Errorf("go build %s: %v\n%s", b.out, err, out)
				return
			}
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// TestConformance builds this plugin, starts the DigitalOcean emulator
// (with a real kube-apiserver per cluster), and runs regionctl's
// conformance suite against the driver through the plugin boundary,
// exactly as regionctl will call it.
func TestConformance(t *testing.T) {
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatal(err) // CI must run the clusters' API servers
	}
	ctx := context.Background()
	bin := filepath.Join(binaries(t), plugin.ExecutablePrefix+"digitalocean")
	em, err := emulator.New(ctx, emulator.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	// The suite's 120 or so requests fit DigitalOcean's minute; paced by
	// the budget that also keeps to the hour (digitalocean.budgets), they
	// would take a quarter of a minute longer. The override is what a
	// user's --rate-budget digitalocean:api=... sends.
	minute := budget.Overrides{"digitalocean:api": {Burst: 250, Rate: 250.0 / 60}}
	drv, err := plugin.Plugin{Name: "digitalocean", Path: bin}.Launch(ctx, providers.Options{Sandbox: true, SandboxEndpoints: em.Endpoints(), RateBudgets: minute})
	if err != nil {
		t.Fatal(err)
	}
	defer drv.(io.Closer).Close()

	cloud := sandboxClient(t, em.URL())
	drivertest.Run(t, drivertest.Config{
		Driver: drv,
		Region: testRegion(),
		UpdateInPlace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Max = 5
			c.Spec.Cluster.NodePools[1].Labels = map[string]string{"workload": "apps", "tier": "2"}
			return c
		},
		Replace: func(r *spec.Region) *spec.Region {
			c := drivertest.CloneRegion(r)
			c.Spec.Cluster.NodePools[1].Machine = spec.Machine{CPU: 4, MemoryGiB: 8}
			return c
		},
		CloudCalls: em.Requests,
		Inventory: func(ctx context.Context) ([]string, error) {
			return inventory(ctx, cloud)
		},
	})
}

// sandboxClient is a godo client of the emulator, with a token of its own.
func sandboxClient(t *testing.T, base string) *godo.Client {
	t.Helper()
	c := godo.NewFromToken("inventory")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

// inventory lists the IDs of every VPC, cluster and node pool of the
// emulated account — except each cluster's first pool, which is part of
// the cluster resource.
func inventory(ctx context.Context, c *godo.Client) ([]string, error) {
	var ids []string
	vpcs, _, err := c.VPCs.List(ctx, &godo.ListOptions{PerPage: 200})
	if err != nil {
		return nil, err
	}
	for _, v := range vpcs {
		ids = append(ids, v.ID)
	}
	clusters, _, err := c.Kubernetes.List(ctx, &godo.ListOptions{PerPage: 200})
	if err != nil {
		return nil, err
	}
	for _, cl := range clusters {
		ids = append(ids, cl.ID)
		for _, p := range cl.NodePools[1:] {
			ids = append(ids, p.ID)
		}
	}
	return ids, nil
}
