package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// cli runs regionctl as a user would: in a folder of its own, with an
// empty HOME, no DigitalOcean token, and the plugin on PATH.
type cli struct {
	t         *testing.T
	dir, bins string
	env       []string
}

func (c *cli) run(want int, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(c.bins, "regionctl"), args...)
	cmd.Dir, cmd.Env = c.dir, c.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		c.t.Fatalf("regionctl %s: %v", strings.Join(args, " "), err)
	}
	if code != want {
		c.t.Fatalf("regionctl %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out.String())
	}
	return out.String()
}

func (c *cli) kubectl(kubeconfig string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Dir, cmd.Env = c.dir, c.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newCLI puts regionctl (built from the checkout this plugin lives in)
// and the plugin in one folder, first on PATH.
func newCLI(t *testing.T) *cli {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		t.Fatalf("kubectl: %v", err)
	}
	bins := binaries(t)
	c := &cli{t: t, dir: t.TempDir(), bins: bins}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "DIGITALOCEAN_") || k == "HOME" || k == "PATH" ||
			strings.HasPrefix(k, "REGIONCTL_") && k != kube.EnvAPIServer && k != kube.EnvEtcd {
			continue
		}
		c.env = append(c.env, kv)
	}
	c.env = append(c.env, "HOME="+t.TempDir(), "PATH="+bins+string(os.PathListSeparator)+os.Getenv("PATH"),
		// The clusters' API servers, built once by scripts/kube-apiserver.sh.
		kube.EnvCache+"="+filepath.Dir(filepath.Dir(kube.CacheDir())))
	return c
}

// TestSandboxE2E is the done-criterion, through the real CLI:
// `regionctl apply --sandbox -f examples/plugins/digitalocean.yaml` with the plugin
// on PATH creates everything, a second plan is empty, kubectl sees the
// StorageClasses and Services in the cluster's API server, no token lands
// in state, and destroy leaves the emulated cloud empty.
func TestSandboxE2E(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds regionctl and runs a kube-apiserver")
	}
	if _, err := kube.FindBinaries(); err != nil {
		t.Fatal(err)
	}
	c := newCLI(t)
	spec, err := os.ReadFile(filepath.Join("..", "..", "examples", "plugins", "digitalocean.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, "digitalocean.yaml"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.run(0, "sandbox", "down") })

	if out := c.run(0, "drivers"); !strings.Contains(out, "digitalocean  0.1.0") {
		t.Errorf("drivers does not list the plugin:\n%s", out)
	}
	out := c.run(0, "apply", "--sandbox", "-f", "digitalocean.yaml", "--auto-approve")
	if !strings.Contains(out, "Resources: 7 added") {
		t.Fatalf("apply:\n%s", out)
	}
	// The plugin declares DigitalOcean's rate budget, so a user may
	// override it; a bucket it does not declare is refused, naming its own.
	c.run(0, "plan", "--sandbox", "-f", "digitalocean.yaml", "--detailed-exitcode", "--rate-budget", "digitalocean:api=4/s,250")
	if out := c.run(1, "plan", "--sandbox", "-f", "digitalocean.yaml", "--rate-budget", "digitalocean:droplets=1/s,10"); !strings.Contains(out, `digitalocean has no budget "droplets" (it has api)`) {
		t.Errorf("a budget DigitalOcean does not declare:\n%s", out)
	}

	// After state rm of the VPC and a node pool that still exist, the plan
	// adopts them by their ownership (the VPC's description, the pool's
	// tags) instead of making them twice, as the built-in drivers do.
	objects := c.run(0, "sandbox", "ls")
	vpc, pool := "prod-fra1/do_vpc.main", "prod-fra1/do_kubernetes_node_pool.apps"
	c.run(0, "state", "rm", "--sandbox", vpc, pool)
	out = c.run(2, "plan", "--sandbox", "-f", "digitalocean.yaml", "--detailed-exitcode")
	if !strings.Contains(out, "<= "+vpc+" (adopting") || !strings.Contains(out, "<= "+pool+" (adopting") ||
		!strings.Contains(out, "2 to import, 0 to add, 0 to change, 0 to destroy") {
		t.Fatalf("the plan after state rm does not adopt the VPC and the pool:\n%s", out)
	}
	c.run(0, "apply", "--sandbox", "-f", "digitalocean.yaml", "--auto-approve")
	c.run(0, "plan", "--sandbox", "-f", "digitalocean.yaml", "--detailed-exitcode")
	if ls := c.run(0, "sandbox", "ls"); ls != objects {
		t.Errorf("adopting changed the emulated cloud:\n%s\nwas:\n%s", ls, objects)
	}

	kc := filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(kc, []byte(c.run(0, "kubeconfig", "--sandbox", "prod-fra1")), 0o600); err != nil {
		t.Fatal(err)
	}
	classes := c.kubectl(kc, "get", "storageclass", "-o", `jsonpath={range .items[*]}{.metadata.name}={.provisioner} {end}`)
	for _, want := range []string{"fast=dobs.csi.digitalocean.com", "bulk=dobs.csi.digitalocean.com", "do-block-storage=dobs.csi.digitalocean.com"} {
		if !strings.Contains(classes, want) {
			t.Errorf("StorageClasses %q lack %s", classes, want)
		}
	}
	svcs := c.kubectl(kc, "get", "service", "-o",
		`jsonpath={range .items[*]}{.metadata.name}={.spec.type}/{.metadata.annotations.service\.beta\.kubernetes\.io/do-loadbalancer-network} {end}`)
	for _, want := range []string{"api=LoadBalancer/EXTERNAL", "internal=LoadBalancer/INTERNAL"} {
		if !strings.Contains(svcs, want) {
			t.Errorf("Services %q lack %s", svcs, want)
		}
	}

	// The node pools' droplets are Nodes with DOKS's labels and the pools'
	// labels and taints (kwok keeps them Ready).
	nodes := func(pool string) string {
		return c.kubectl(kc, "get", "nodes", "-l", "doks.digitalocean.com/node-pool="+pool, "-o",
			`jsonpath={range .items[*]}{.metadata.labels.node\.kubernetes\.io/instance-type}/{.spec.taints[*].key}/{.metadata.labels.workload} {end}`)
	}
	var system, apps string
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err = kit.Backoff{Initial: 100 * time.Millisecond, Max: 2 * time.Second}.Poll(ctx, func() (bool, error) {
		system, apps = nodes("system"), nodes("apps")
		return strings.Count(system, "g-4vcpu-16gb/CriticalAddonsOnly/") == 2 && strings.Count(apps, "g-8vcpu-32gb//apps") == 1, nil
	})
	if err != nil {
		t.Errorf("nodes: system %q, apps %q; want 2 g-4vcpu-16gb tainted CriticalAddonsOnly and 1 g-8vcpu-32gb labelled workload=apps", system, apps)
	}

	// The kubeconfig's token stays out of everything regionctl writes.
	filepath.WalkDir(filepath.Join(c.dir, ".regionctl", "state"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte("doks-sandbox-")) {
				t.Errorf("%s holds a cluster token", p)
			}
		}
		return nil
	})

	c.run(0, "destroy", "--sandbox", "-f", "digitalocean.yaml", "--auto-approve")
	if ls := c.run(0, "sandbox", "ls"); !strings.Contains(ls, "The sandbox is empty.") {
		t.Errorf("after destroy the sandbox holds:\n%s", ls)
	}
}

// TestRefusedAtPlan: spot pools and several zones are refused before any
// API call, at the line of the spec that asks for them.
func TestRefusedAtPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds regionctl")
	}
	c := newCLI(t)
	spec := `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata:
  name: spotty
spec:
  provider: digitalocean
  location: nyc1
  zones: 3
  network:
    cidr: 10.9.0.0/16
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - name: cheap
        machine: {cpu: 2, memoryGiB: 4}
        spot: true
        min: 1
        max: 3
`
	if err := os.WriteFile(filepath.Join(c.dir, "spot.yaml"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	out := c.run(3, "validate", "-f", "spot.yaml") // 3: the spec has errors (cli.ExitSpecInvalid)
	for _, want := range []string{"spot.yaml:16:", "no spot", "spot.yaml:8:", "nyc1 has 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
}

// TestFleetRegion: examples/fleet.jsonnet gains its DigitalOcean region with
// --tla-str plugins=digitalocean, and that region passes the driver's checks
// (one zone, no spot) and expands.
func TestFleetRegion(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: builds regionctl")
	}
	c := newCLI(t)
	fleet, err := filepath.Abs(filepath.Join("..", "..", "examples", "fleet.jsonnet"))
	if err != nil {
		t.Fatal(err)
	}
	// The GCP regions need a project, which the GCP driver finds offline
	// in GOOGLE_CLOUD_PROJECT.
	cmd := exec.Command(filepath.Join(c.bins, "regionctl"), "validate", "-f", fleet, "--tla-str", "plugins=digitalocean")
	cmd.Dir, cmd.Env = c.dir, append(c.env, "GOOGLE_CLOUD_PROJECT=fleet-test")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "7 region(s) valid") || !strings.Contains(string(out), "prod-do-fra1") {
		t.Errorf("validate the fleet with its DigitalOcean region: %v\n%s", err, out)
	}
}
