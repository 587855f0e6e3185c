package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/cli"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/aws"
	"github.com/regionctl/regionctl/providers/azure"
	"github.com/regionctl/regionctl/providers/gcp"
	"github.com/regionctl/regionctl/sandbox"
)

// upgradeFleet is a small region on each cloud and the fleet's rollout:
// the AWS canary (with a load balancer) first, then GCP and Azure.
const upgradeFleet = `
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: canary-use1, labels: {ring: canary}}
spec:
  provider: aws
  location: us-east-1
  zones: 2
  network: {cidr: 10.50.0.0/16}
  cluster:
    kubernetesVersion: "1.32"
    nodePools:
      - {name: general, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, upgrade: {maxUnavailable: 1}}
  loadBalancers:
    - {name: web, scheme: external, ports: [{port: 80}], selector: {app: web}}
---
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: prod-euw4, labels: {ring: prod}}
spec:
  provider: gcp
  location: europe-west4
  zones: 2
  network: {cidr: 10.51.0.0/16}
  cluster:
    kubernetesVersion: "1.32"
    nodePools:
      - {name: general, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, upgrade: {maxSurge: 1, maxUnavailable: 0}}
---
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: prod-weu, labels: {ring: prod}}
spec:
  provider: azure
  location: westeurope
  network: {cidr: 10.52.0.0/16}
  cluster:
    kubernetesVersion: "1.32"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 2, max: 4, upgrade: {maxSurge: 1}}
---
apiVersion: regionctl.dev/v1alpha1
kind: Rollout
metadata: {name: fleet}
spec:
  waves:
    - {name: canary, selector: {ring: canary}}
    - {name: rest}
  pauseBetween: 300ms
  healthGate: {timeout: 90s}
`

// allClouds runs the CLI with the three drivers.
var allClouds = providers.Registry{"aws": aws.New, "gcp": gcp.New, "azure": azure.New}

// poolLabels are the labels each cloud puts on a node pool's nodes.
var poolLabels = map[string]string{"canary-use1": "eks.amazonaws.com/nodegroup", "prod-euw4": "cloud.google.com/gke-nodepool", "prod-weu": "kubernetes.azure.com/agentpool"}

// clientOf is a client-go client for region's cluster, through `regionctl
// kubeconfig` (its exec plugin is this test binary, see TestMain).
func (e *env) clientOf(region string) *k8s.Clientset {
	e.t.Helper()
	kc := filepath.Join(e.t.TempDir(), region+".kubeconfig")
	if err := os.WriteFile(kc, []byte(e.must(0, "kubeconfig", region).stdout), 0o600); err != nil {
		e.t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

// clusterVersion is the Kubernetes minor of region's cluster as state
// records it, on any cloud.
func (e *env) clusterVersion(region string) string {
	for _, r := range e.state(region).Resources {
		switch r.Type {
		case "aws_eks_cluster", "gcp_container_cluster":
			v, _ := r.Inputs["version"].(string)
			return v
		case "azure_kubernetes_cluster":
			v, _ := r.Inputs["kubernetes_version"].(string)
			return v
		}
	}
	return ""
}

// eventsOf reads a --events-file: the type of every event, and the events.
func eventsOf(t *testing.T, path string) (types []string, all []map[string]any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event %q: %v", sc.Text(), err)
		}
		all = append(all, ev)
		types = append(types, ev["type"].(string))
	}
	return types, all
}

// nodeWatch records, while a pool's nodes change, how many there were at
// most and how many of them were Ready at least. It lists and watches
// again at once whenever the watch ends, as it does when the API server
// restarts for a control plane upgrade (a reflector would back off for
// seconds and could miss a whole batch of the node group's roll).
type nodeWatch struct {
	mu                 sync.Mutex
	maxNodes, minReady int
	names              map[string]bool
	nodes              map[string]corev1.Node
	stop               func()
}

// record folds the nodes as they are now into the figures.
func (w *nodeWatch) record() {
	ready := 0
	for _, n := range w.nodes {
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready++
			}
		}
	}
	w.maxNodes = max(w.maxNodes, len(w.nodes))
	w.minReady = min(w.minReady, ready)
}

// relist replaces the nodes with a fresh list and returns its
// resourceVersion.
func (w *nodeWatch) relist(ctx context.Context, cs *k8s.Clientset, selector string) (string, error) {
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nodes = map[string]corev1.Node{}
	for _, n := range list.Items {
		w.nodes[n.Name] = n
		w.names[n.Name] = true
	}
	w.record()
	return list.ResourceVersion, nil
}

func watchNodes(t *testing.T, cs *k8s.Clientset, selector string) *nodeWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &nodeWatch{names: map[string]bool{}, maxNodes: 0, minReady: 1 << 30}
	rv, err := w.relist(ctx, cs, selector)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			if rv == "" {
				if rv, err = w.relist(ctx, cs, selector); err != nil {
					select { // the API server is restarting
					case <-ctx.Done():
					case <-time.After(50 * time.Millisecond):
					}
					continue
				}
			}
			wi, err := cs.CoreV1().Nodes().Watch(ctx, metav1.ListOptions{LabelSelector: selector, ResourceVersion: rv})
			rv = ""
			if err != nil {
				continue
			}
			for ev := range wi.ResultChan() {
				n, ok := ev.Object.(*corev1.Node)
				if !ok {
					break // an error (410 Gone after a restart): list again
				}
				w.mu.Lock()
				if ev.Type == watch.Deleted {
					delete(w.nodes, n.Name)
				} else {
					w.nodes[n.Name] = *n
					w.names[n.Name] = true
				}
				w.record()
				w.mu.Unlock()
			}
			wi.Stop()
		}
	}()
	w.stop = func() { cancel(); <-done }
	return w
}

// TestUpgradeRolloutInWaves: a fleet of one region per cloud with a
// rollout (the AWS canary, then GCP and Azure) goes from Kubernetes 1.32 to
// 1.33.
//   - A plan that skips a minor (1.34) is refused, naming the next step.
//   - The plan shows the waves; an injected failure of the canary's node
//     group upgrade (after its control plane's) stops the rollout: the rest
//     is not started and stays at 1.32.
//   - Applied again, the canary's node group is replaced one node at a time
//     with one node of surge (new kwok nodes Ready before old ones go), the
//     canary passes the health gate (API server, nodes Ready at 1.33, the
//     load balancer's addresses kept), the rollout pauses, then upgrades GKE
//     and AKS (control plane, then pools with their surge settings) and
//     gates them the same way.
//   - A node left at the old version makes the canary's gate fail after its
//     timeout, and the rest is not started.
func TestUpgradeRolloutInWaves(t *testing.T) {
	e := newSpecEnv(t, "fleet.yaml", upgradeFleet, allClouds, sandbox.Options{}, true)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	rest := []string{"prod-euw4", "prod-weu"}

	t.Run("minor skip refused", func(t *testing.T) {
		e.editSpec(`kubernetesVersion: "1.32"
    nodePools:
      - {name: general, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, upgrade: {maxUnavailable: 1}}`, `kubernetesVersion: "1.34"
    nodePools:
      - {name: general, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, upgrade: {maxUnavailable: 1}}`)
		r := e.must(cli.ExitSpecInvalid, "plan", "-f", e.spec)
		for _, want := range []string{"fleet.yaml:11:5: error: spec.cluster.kubernetesVersion: region canary-use1: Kubernetes 1.32 → 1.34 cannot be applied", `set kubernetesVersion: "1.33" and apply`} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("refused plan does not say %q:\n%s", want, r.stderr)
			}
		}
		e.editSpec(`kubernetesVersion: "1.34"`, `kubernetesVersion: "1.32"`)
	})

	b, _ := os.ReadFile(e.spec)
	if err := os.WriteFile(e.spec, []byte(strings.ReplaceAll(string(b), `kubernetesVersion: "1.32"`, `kubernetesVersion: "1.33"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := e.must(0, "plan", "-f", e.spec).stdout
	for _, want := range []string{"Rollout fleet: 2 waves", "wave 1 canary: canary-use1 (", "wave 2 rest: prod-euw4 (2 changes), prod-weu (1 change)", "pause of 300ms"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan does not show %q:\n%s", want, plan)
		}
	}
	var pj struct {
		Rollout struct{ Waves []struct{ Name string } }
	}
	if err := json.Unmarshal([]byte(e.must(0, "plan", "-f", e.spec, "--json").stdout), &pj); err != nil || len(pj.Rollout.Waves) != 2 {
		t.Errorf("plan --json rollout %+v (%v)", pj.Rollout, err)
	}

	t.Run("failing canary stops the rollout", func(t *testing.T) {
		e.restartSandbox(sandbox.Options{Faults: []sandbox.Fault{{Op: "eks:UpdateNodegroupVersion", Kind: sandbox.FaultFail, Nth: 1}}})
		r := e.must(cli.ExitCloud, "apply", "-f", e.spec, "--auto-approve")
		for _, region := range rest {
			if !strings.Contains(r.stdout, region+"/") || !strings.Contains(r.stdout, "Skipped: not started: wave canary failed in region canary-use1") {
				t.Errorf("%s was not reported skipped:\n%s\n%s", region, r.stdout, r.stderr)
			}
			if v := e.clusterVersion(region); v != "1.32" {
				t.Errorf("%s is at %s; its wave must not have started", region, v)
			}
		}
		if v := e.clusterVersion("canary-use1"); v != "1.33" {
			t.Errorf("the canary's control plane is at %s, want 1.33 (upgraded before its node group failed)", v)
		}
	})

	t.Run("two waves", func(t *testing.T) {
		e.restartSandbox(sandbox.Options{})
		watches := map[string]*nodeWatch{}
		for region, label := range poolLabels {
			watches[region] = watchNodes(t, e.clientOf(region), label)
		}
		events := filepath.Join(t.TempDir(), "events.jsonl")
		r := e.must(0, "apply", "-f", e.spec, "--auto-approve", "--events-file", events)
		for _, w := range watches {
			w.stop()
		}
		for _, want := range []string{
			"Wave canary: canary-use1: healthy: API server: answers, serving Kubernetes 1.33; node pool general-",
			": 2 nodes Ready at 1.33; Service default/web: keeps its 2 address(es) [", // the NLB's DNS name and address
			"Wave canary: healthy after", "Wave canary: done; pausing 300ms",
			"Wave rest: prod-euw4: healthy: API server: answers, serving Kubernetes 1.33; node pool general-",
			"Wave rest: prod-weu: healthy: API server: answers, serving Kubernetes 1.33; node pool system",
			"Wave rest: healthy after",
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("apply output lacks %q:\n%s", want, r.stdout)
			}
		}
		types, all := eventsOf(t, events)
		var rollout []string
		for i, typ := range types {
			switch typ {
			case "wave-start", "gate-pass", "pause":
				rollout = append(rollout, typ+":"+all[i]["wave"].(string))
			}
		}
		if got := strings.Join(rollout, " "); got != "wave-start:canary gate-pass:canary pause:canary wave-start:rest gate-pass:rest" {
			t.Errorf("rollout events: %s", got)
		}
		for region, label := range poolLabels {
			if v := e.clusterVersion(region); v != "1.33" {
				t.Errorf("%s at %s after the rollout", region, v)
			}
			nodes, err := e.clientOf(region).CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: label})
			if err != nil {
				t.Fatal(err)
			}
			if len(nodes.Items) < 2 {
				t.Errorf("%s has %d nodes, want at least 2", region, len(nodes.Items))
			}
			for _, n := range nodes.Items {
				if !strings.HasPrefix(n.Status.NodeInfo.KubeletVersion, "v1.33.") {
					t.Errorf("%s: node %s runs %s", region, n.Name, n.Status.NodeInfo.KubeletVersion)
				}
			}
		}
		// Each pool has 2 nodes and one node of surge, none unavailable
		// beyond it (EKS: maxUnavailable 1, which it reaches by launching a
		// node first; GKE: maxSurge 1, maxUnavailable 0; AKS: maxSurge 1): a
		// new node joins and is Ready, then an old one is drained and goes,
		// twice. The GKE and AKS API servers restart at 1.33 in between;
		// the watch lists again.
		for region, w := range watches {
			w.mu.Lock()
			if w.maxNodes != 3 || w.minReady < 2 || len(w.names) != 4 {
				t.Errorf("%s: the pool went up to %d nodes (want 3), down to %d Ready (want ≥ 2), %d names (want 2 old + 2 new)", region, w.maxNodes, w.minReady, len(w.names))
			}
			w.mu.Unlock()
		}
	})

	t.Run("unhealthy canary stops the rollout", func(t *testing.T) {
		cs := e.clientOf("canary-use1")
		nodes, err := cs.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{LabelSelector: poolLabels["canary-use1"]})
		if err != nil || len(nodes.Items) == 0 {
			t.Fatalf("canary nodes: %v", err)
		}
		// A node the upgrade left behind at the old version.
		stale := nodes.Items[0].DeepCopy()
		stale.ObjectMeta = metav1.ObjectMeta{Name: "ip-10-50-9-9.ec2.internal", Labels: stale.Labels,
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"}}
		stale.Status.NodeInfo.KubeletVersion = "v1.32.9-eks-1234567"
		if _, err := cs.CoreV1().Nodes().Create(context.Background(), stale, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		serials := map[string]uint64{}
		for _, region := range rest {
			serials[region] = e.state(region).Serial
		}
		e.editSpec("healthGate: {timeout: 90s}", "healthGate: {timeout: 3s}")
		b, _ := os.ReadFile(e.spec)
		if err := os.WriteFile(e.spec, []byte(strings.ReplaceAll(string(b), "max: 4", "max: 6")), 0o600); err != nil {
			t.Fatal(err)
		}
		r := e.run("apply", "-f", e.spec, "--auto-approve")
		if r.code != cli.ExitCloud || !strings.Contains(r.stderr, "wave canary failed its health gate") || !strings.Contains(r.stderr, "ip-10-50-9-9.ec2.internal runs v1.32.9-eks-1234567, not 1.33") {
			t.Errorf("exit %d; want %d and the canary's gate to fail:\n%s\n%s", r.code, cli.ExitCloud, r.stdout, r.stderr)
		}
		for _, region := range rest {
			if !strings.Contains(r.stdout, region+"/") || !strings.Contains(r.stdout, "Skipped: not started: wave canary failed its health gate") {
				t.Errorf("%s was not reported skipped:\n%s", region, r.stdout)
			}
			if got := e.state(region).Serial; got != serials[region] {
				t.Errorf("%s's state moved (serial %d → %d) although its wave never started", region, serials[region], got)
			}
		}
	})
}

// TestMachineChangeKeepsPodsServing: changing a pool's machine replaces its
// node group create-before-destroy; the old group's nodes are drained
// through the Eviction API only once the new group's nodes are Ready, so a
// Deployment whose PodDisruptionBudget keeps 2 of its 3 pods available
// never has fewer than 2 Ready pods, and ends up on the new nodes.
func TestMachineChangeKeepsPodsServing(t *testing.T) {
	e := newSpecEnv(t, "fleet.yaml", `
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: web-use1}
spec:
  provider: aws
  location: us-east-1
  zones: 2
  network: {cidr: 10.60.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: web, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, labels: {pool: web}}
`, awsRegistry, sandbox.Options{}, true)
	e.must(0, "apply", "-f", e.spec, "--auto-approve")
	cs := e.clientOf("web-use1")
	ctx := context.Background()
	replicas, labels := int32(3), map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{
				NodeSelector: map[string]string{"pool": "web"},
				Containers:   []corev1.Container{{Name: "web", Image: "nginx"}}}}}}
	if _, err := cs.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	minAvailable := intstr.FromInt32(2)
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &minAvailable, Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	if _, err := cs.PolicyV1().PodDisruptionBudgets("default").Create(ctx, pdb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readyPods := func() (n int, nodes []string) {
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue && p.DeletionTimestamp == nil {
					n++
					nodes = append(nodes, p.Spec.NodeName)
				}
			}
		}
		return n, nodes
	}
	waitFor(t, "3 Ready pods and a PDB that allows 1 disruption", func() bool {
		n, _ := readyPods()
		p, err := cs.PolicyV1().PodDisruptionBudgets("default").Get(ctx, "web", metav1.GetOptions{})
		return n == 3 && err == nil && p.Status.DisruptionsAllowed == 1
	})
	_, before := readyPods()

	e.editSpec("machine: {cpu: 2, memoryGiB: 4}", "machine: {cpu: 4, memoryGiB: 16}")
	plan := e.must(0, "plan", "-f", e.spec).stdout
	if lines := changeLines(plan, "web-use1", "+/-"); len(lines) != 1 || !strings.Contains(lines[0], "aws_eks_node_group.web") {
		t.Fatalf("plan does not replace the node group create-before-destroy:\n%s", plan)
	}
	// Sample the pods throughout the apply: at least 2 Ready at all times.
	stop := make(chan struct{})
	lowest := make(chan int)
	go func() {
		low := 3
		for {
			select {
			case <-stop:
				lowest <- low
				return
			case <-time.After(20 * time.Millisecond):
				n, _ := readyPods()
				low = min(low, n)
			}
		}
	}()
	r := e.must(0, "apply", "-f", e.spec, "--auto-approve")
	close(stop)
	if low := <-lowest; low < 2 {
		t.Errorf("only %d Ready pods at one point of the replacement; the PDB asks for 2", low)
	}
	created := strings.Index(r.stdout, "aws_eks_node_group.web: Creation complete")
	destroying := strings.Index(r.stdout, "aws_eks_node_group.web: Destroying")
	if created < 0 || destroying < created {
		t.Errorf("the old node group was not deleted after the new one was ready:\n%s", r.stdout)
	}
	waitFor(t, "3 Ready pods on the new nodes", func() bool {
		n, nodes := readyPods()
		if n != 3 {
			return false
		}
		for _, name := range nodes {
			for _, old := range before {
				if name == old {
					return false
				}
			}
		}
		return true
	})
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: "pool=web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes.Items {
		if slices.Contains(before, n.Name) || n.Spec.Unschedulable {
			t.Errorf("node %s (cordoned %v) of the old group is still there", n.Name, n.Spec.Unschedulable)
		}
	}
}

// waitFor polls cond until it holds, for at most a minute (a bound for a
// broken build, not a timing assumption).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// upgradeSettings is one region per cloud, each node pool with upgrade
// settings its cloud refuses.
const upgradeSettings = `
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: up-aws}
spec:
  provider: aws
  location: us-east-1
  zones: 2
  network: {cidr: 10.70.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: a, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 3, upgrade: {maxSurge: 2}}
      - {name: b, machine: {cpu: 2, memoryGiB: 4}, min: 1, max: 3, upgrade: {maxUnavailable: 0}}
---
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: up-gcp}
spec:
  provider: gcp
  location: europe-west4
  zones: 2
  network: {cidr: 10.71.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: a, machine: {cpu: 2, memoryGiB: 4}, min: 2, max: 4, upgrade: {maxSurge: 2, maxUnavailable: 0}}
---
apiVersion: regionctl.dev/v1alpha1
kind: Region
metadata: {name: up-azure}
spec:
  provider: azure
  location: westeurope
  network: {cidr: 10.72.0.0/16}
  cluster:
    kubernetesVersion: "1.33"
    nodePools:
      - {name: system, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3, upgrade: {maxSurge: 0}}
      - {name: b, machine: {cpu: 2, memoryGiB: 8}, min: 1, max: 3, upgrade: {maxUnavailable: 1}}
`

// TestUpgradeSettingsPerCloud: the neutral upgrade settings map onto each
// cloud's node pool (EKS updateConfig.maxUnavailable, GKE upgradeSettings,
// AKS upgradeSettings.maxSurge, the System pool's too), and what a cloud
// cannot set is refused at plan time at its field, with the reason — not
// as an unknown driver input.
func TestUpgradeSettingsPerCloud(t *testing.T) {
	e := newSpecEnv(t, "fleet.yaml", upgradeSettings, providers.Registry{"aws": aws.New, "gcp": gcp.New, "azure": azure.New}, sandbox.Options{}, false)
	r := e.must(cli.ExitSpecInvalid, "plan", "-f", e.spec)
	for _, want := range []string{
		"fleet.yaml:13:78: error: spec.cluster.nodePools[0].upgrade.maxSurge: EKS does not let you set a node group's surge",
		"fleet.yaml:14:78: error: spec.cluster.nodePools[1].upgrade.maxUnavailable: maxUnavailable 0: this cloud takes at least 1",
		"fleet.yaml:39:83: error: spec.cluster.nodePools[0].upgrade.maxSurge: maxSurge 0: this cloud adds at least 1 node(s) at a time",
		"fleet.yaml:40:78: error: spec.cluster.nodePools[1].upgrade.maxUnavailable: AKS has no maxUnavailable",
	} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("plan does not say %q:\n%s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "not an attribute") || strings.Contains(r.stderr, "warning") || strings.Count(r.stderr, "error: spec.") != 4 {
		t.Errorf("plan reports more than the refused settings:\n%s", r.stderr)
	}

	e.editSpec("upgrade: {maxSurge: 2}}", "upgrade: {maxUnavailable: 2}}")
	e.editSpec("upgrade: {maxUnavailable: 0}}", "}")
	e.editSpec("upgrade: {maxSurge: 0}}", "upgrade: {maxSurge: 3}}")
	e.editSpec("memoryGiB: 8}, min: 1, max: 3, upgrade: {maxUnavailable: 1}}", "memoryGiB: 8}, min: 1, max: 3, upgrade: {maxSurge: 1, maxUnavailable: 0}}")
	var pj struct {
		Regions []struct {
			Region  string
			Changes []struct {
				Address string
				After   map[string]any
			}
		}
	}
	if err := json.Unmarshal([]byte(e.must(0, "plan", "-f", e.spec, "--json").stdout), &pj); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rp := range pj.Regions {
		for _, ch := range rp.Changes {
			var parts []string
			if sp, ok := ch.After["system_pool"].(map[string]any); ok {
				parts = append(parts, fmt.Sprintf("system_pool.max_surge=%v", sp["max_surge"]))
			}
			for _, k := range []string{"max_surge", "max_unavailable"} {
				if v, ok := ch.After[k]; ok {
					parts = append(parts, fmt.Sprintf("%s=%v", k, v))
				}
			}
			if len(parts) > 0 {
				got[ch.Address] = strings.Join(parts, " ")
			}
		}
	}
	want := map[string]string{
		"up-aws/aws_eks_node_group.a":            "max_unavailable=2",
		"up-gcp/gcp_container_node_pool.a":       "max_surge=2 max_unavailable=0",
		"up-azure/azure_kubernetes_cluster.main": "system_pool.max_surge=3",
		"up-azure/azure_kubernetes_node_pool.b":  "max_surge=1",
	}
	if !maps.Equal(got, want) {
		t.Errorf("upgrade inputs in the plan:\n got %v\nwant %v", got, want)
	}
}
