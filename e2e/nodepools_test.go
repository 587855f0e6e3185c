package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
	sbgcp "github.com/regionctl/regionctl/sandbox/gcp"
)

// TestAWSNodePoolOptions: a pool's disk.sizeGiB reaches EKS as the node
// group's diskSize and os.family windows as its Windows AMI type; the next
// plan is empty (EKS's default disk on the other pool is no drift), and
// what EKS cannot have (maxPods) is refused at plan time, naming the field.
func TestAWSNodePoolOptions(t *testing.T) {
	t.Parallel()
	e := newSpecEnv(t, "pools.yaml", `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: pools}
spec:
  provider: aws
  location: eu-west-1
  zones: 2
  network: {cidr: 10.50.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2}
      - {name: big, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2, disk: {sizeGiB: 200, tier: ssd}}
      - {name: win, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 2, os: {family: windows}}
`, awsRegistry, sandbox.Options{}, false)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	cfg := e.sandboxAWSConfig("eu-west-1")
	c := eks.NewFromConfig(cfg)
	ctx := context.Background()
	want := map[string]struct {
		disk int32
		ami  string
	}{"system": {20, "AL2023_x86_64_STANDARD"}, "big": {200, "AL2023_x86_64_STANDARD"}, "win": {20, "WINDOWS_CORE_2022_x86_64"}}
	for _, r := range e.state("pools").Resources {
		if r.Type != "aws_eks_node_group" {
			continue
		}
		_, _, pool, _ := providers.SplitAddress(r.Address)
		ng, err := c.DescribeNodegroup(ctx, &eks.DescribeNodegroupInput{ClusterName: awssdk.String("pools"), NodegroupName: awssdk.String(r.ID)})
		if err != nil {
			t.Fatal(err)
		}
		if w := want[pool]; awssdk.ToInt32(ng.Nodegroup.DiskSize) != w.disk || string(ng.Nodegroup.AmiType) != w.ami {
			t.Errorf("%s: diskSize %d, AMI %s; want %d, %s", pool, awssdk.ToInt32(ng.Nodegroup.DiskSize), ng.Nodegroup.AmiType, w.disk, w.ami)
		}
		delete(want, pool)
	}
	if len(want) != 0 {
		t.Errorf("no node group for %v", want)
	}
	e.editSpec("os: {family: windows}}", "os: {family: windows}, maxPods: 30}")
	r := e.run("plan", "-f", e.spec)
	if r.code != cli.ExitSpecInvalid || !strings.Contains(r.stderr, "spec.cluster.nodePools[2].maxPods") {
		t.Errorf("plan with maxPods on EKS: exit %d\n%s", r.code, r.stderr)
	}
	e.editSpec(", maxPods: 30}", "}")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}

// poolNodeWant is what the nodes of one spec pool show kubectl: their
// kubernetes.io/os label, allocatable pods and nodeInfo.osImage. typ is the
// resource type whose state names the cloud's pool, label the node label
// holding that name.
type poolNodeWant struct {
	typ, pool, label, os, pods, image string
}

// nodeOptionsCase is one cloud's run of testNodePoolOptions.
type nodeOptionsCase struct {
	region, spec string
	registry     providers.Registry
	nodes        []poolNodeWant
	// edit changes a pool's disk size; replaced is the resource it
	// replaces.
	edit     [2]string
	replaced string
	// outOfBand, when set, changes the region with the cloud's own tools
	// after the first apply and returns the attribute line the next plan
	// must show as changed outside regionctl ("" when the tool is missing).
	outOfBand func(e *env) string
}

// testNodePoolOptions applies a region whose pools set disk, maxPods and
// os through the CLI; then the next plan is empty (the cloud returns what
// was set), each pool's nodes show kubectl its max pods and OS, and a new
// disk size plans one create-before-destroy replacement, which applies.
func testNodePoolOptions(t *testing.T, c nodeOptionsCase) {
	e := newSpecEnv(t, "pools.yaml", c.spec, c.registry, sandbox.Options{}, true)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(e.must(0, "kubeconfig", c.region).stdout), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, w := range c.nodes {
		selector := w.label + "=" + e.poolName(c.region, w.typ, w.pool)
		out, err := kubectl(t, kubeconfig, "get", "nodes", "-l", selector, "-o",
			`jsonpath={range .items[*]}{.metadata.labels.kubernetes\.io/os}|{.status.allocatable.pods}|{.status.nodeInfo.osImage}{"\n"}{end}`)
		if err != nil {
			t.Fatalf("kubectl get nodes -l %s: %v\n%s", selector, err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if strings.TrimSpace(out) == "" {
			t.Errorf("pool %s: no nodes with %s", w.pool, selector)
		}
		for _, l := range lines {
			if want := w.os + "|" + w.pods + "|" + w.image; l != want {
				t.Errorf("pool %s: a node shows os|pods|image %q; want %q", w.pool, l, want)
			}
		}
	}
	want := ""
	if c.outOfBand != nil {
		want = c.outOfBand(e)
	}
	switch {
	case c.outOfBand != nil && want == "":
		t.Log("the out-of-band change was not made: its tool is not installed")
	case want != "":
		p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode", "--no-color").stdout
		outside, _, _ := strings.Cut(p, "regionctl will make these changes")
		if !strings.Contains(outside, "Objects changed outside regionctl") || !strings.Contains(outside, want) ||
			len(changeLines(p, c.region, "+/-")) != 1 {
			t.Errorf("after an out-of-band change the plan does not show %q outside regionctl and one replacement to undo it:\n%s", want, p)
		}
	}
	e.editSpec(c.edit[0], c.edit[1])
	p := e.must(2, "plan", "-f", e.spec, "--detailed-exitcode").stdout
	if lines := changeLines(p, c.region, "+/-"); len(lines) != 1 || !strings.Contains(lines[0], c.replaced) {
		t.Errorf("a new disk size plans %v; want %s replaced create-before-destroy\n%s", lines, c.replaced, p)
	}
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	e.must(0, "plan", "-f", e.spec, "--detailed-exitcode")
	e.must(0, "destroy", "-f", e.spec, "--auto-approve")
	e.assertEmpty()
}

// poolName is the cloud's name of a spec pool, from state: a node pool's
// name input, or (AKS's System pool) the cluster's system_pool name.
func (e *env) poolName(region, typ, pool string) string {
	e.t.Helper()
	for _, r := range e.state(region).Resources {
		if r.Type != typ {
			continue
		}
		if sp, ok := r.Inputs["system_pool"].(map[string]any); ok {
			n, _ := sp["name"].(string)
			return n
		}
		if _, _, name, _ := providers.SplitAddress(r.Address); name == pool {
			n, _ := r.Inputs["name"].(string)
			return n
		}
	}
	e.t.Fatalf("no %s %s in the state of %s", typ, pool, region)
	return ""
}

// TestGKENodePoolOptions: disk, maxPods and os on GKE node pools (an
// Ubuntu pool and a Windows Server one).
func TestGKENodePoolOptions(t *testing.T) {
	t.Parallel()
	const pool = "cloud.google.com/gke-nodepool"
	testNodePoolOptions(t, nodeOptionsCase{region: "opts-gke", registry: gcpRegistry, spec: `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: opts-gke}
spec:
  provider: gcp
  location: europe-west4
  zones: 2
  network: {cidr: 10.61.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, disk: {sizeGiB: 50, tier: ssd}, maxPods: 64, os: {image: ubuntu}}
      - {name: win, machine: {cpu: 4, memoryGiB: 16}, min: 2, max: 2, os: {family: windows}, maxPods: 32}
`, nodes: []poolNodeWant{
		{gcp.TypeNodePool, "system", pool, "linux", "64", "Ubuntu 22.04.5 LTS"},
		{gcp.TypeNodePool, "win", pool, "windows", "32", "Windows Server 2022 Datacenter"},
	}, edit: [2]string{"sizeGiB: 50", "sizeGiB: 60"}, replaced: "gcp_container_node_pool.system",
		outOfBand: func(e *env) string {
			// Someone grows the boot disk with gcloud (UpdateNodePool over
			// GKE's REST API).
			if _, ok := e.gcloud("container", "node-pools", "update", e.poolName("opts-gke", gcp.TypeNodePool, "system"),
				"--cluster", "opts-gke", "--region", "europe-west4", "--disk-size", "70"); !ok {
				return ""
			}
			return "disk_size_gb: 50 → 70"
		}})
}

// gcloud runs gcloud against the env's sandbox, signed in with the
// sandbox's service account key, in the key's project, and returns its
// output; ok is false when gcloud is not on PATH.
func (e *env) gcloud(args ...string) (out string, ok bool) {
	e.t.Helper()
	bin, err := exec.LookPath("gcloud")
	if err != nil {
		return "", false
	}
	ep := e.sb.Endpoints()
	resp, err := http.Get(ep[sbgcp.ComputeKey] + sbgcp.CredentialsPath)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	key, err := io.ReadAll(resp.Body)
	var k struct {
		ProjectID string `json:"project_id"`
	}
	if err != nil || json.Unmarshal(key, &k) != nil || k.ProjectID == "" {
		e.t.Fatalf("the sandbox's key file: %v\n%s", err, key)
	}
	dir := e.t.TempDir()
	keyPath := filepath.Join(dir, "key.json")
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		e.t.Fatal(err)
	}
	env := append(os.Environ(), "HOME="+dir, "CLOUDSDK_CONFIG="+filepath.Join(dir, "gcloud"),
		"CLOUDSDK_CORE_DISABLE_PROMPTS=1", "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK=1", "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING=1",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_CONTAINER="+ep[sbgcp.ContainerRESTKey]+"/",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE="+ep[sbgcp.ComputeKey]+"/compute/v1/",
		"CLOUDSDK_CORE_PROJECT="+k.ProjectID)
	run := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			e.t.Fatalf("gcloud %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("auth", "activate-service-account", "--key-file", keyPath)
	return run(args...), true
}

// TestAKSNodePoolOptions: disk, maxPods and os on AKS agent pools: the
// System pool (inline in the cluster), a Linux User pool and a Windows one.
func TestAKSNodePoolOptions(t *testing.T) {
	t.Parallel()
	const pool = "kubernetes.azure.com/agentpool"
	testNodePoolOptions(t, nodeOptionsCase{region: "opts-aks", registry: azRegistry, spec: `apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: opts-aks}
spec:
  provider: azure
  location: westeurope
  zones: 2
  network: {cidr: 10.62.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 2, maxPods: 60, os: {image: ubuntu}}
      - {name: apps, machine: {cpu: 4, memoryGiB: 16}, min: 1, max: 2, disk: {sizeGiB: 64, tier: ssd}, maxPods: 40}
      - {name: win, machine: {cpu: 4, memoryGiB: 16}, min: 1, max: 1, os: {family: windows}, maxPods: 30}
`, nodes: []poolNodeWant{
		{azure.TypeCluster, "system", pool, "linux", "60", "Ubuntu 22.04.5 LTS"},
		{azure.TypeNodePool, "apps", pool, "linux", "40", "Ubuntu 22.04.5 LTS"},
		{azure.TypeNodePool, "win", pool, "windows", "30", "Windows Server 2022 Datacenter"},
	}, edit: [2]string{"sizeGiB: 64", "sizeGiB: 80"}, replaced: "azure_kubernetes_node_pool.apps"})
}
