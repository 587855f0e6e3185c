package azure_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	corev1 "k8s.io/api/core/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/regionctl/regionctl/sandbox/kube"
)

// TestAgentPoolNodes: an AKS cluster's API server serves its minor and the
// default service CIDR (10.0.0.0/16); each agent pool has Ready nodes in its
// zones with the labels AKS gives them, a Spot pool its scalesetpriority
// label and taint besides the pool's own, as kubectl shows them; a pod for
// the Spot pool runs there; scaling and deleting a pool change its nodes;
// an upgrade moves the served minor; deleting the group stops every process.
func TestAgentPoolNodes(t *testing.T) {
	if _, err := kube.FindBinaries(); err != nil {
		if testing.Short() {
			t.Skipf("-short: %v", err)
		}
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	e := startKube(t)
	km := e.sb.Kube()
	const id = "azure-rg-aks"
	group(t, e, "rg")
	subnet := network(t, e, "rg")
	body := clusterBody(subnet, "1.33")
	body.Properties.NetworkProfile.ServiceCidr, body.Properties.NetworkProfile.DNSServiceIP = nil, nil // AKS's default
	p, err := e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", body, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Succeeded once the API server answers and the system pool's nodes
	// joined (real time; the test's clock is stepped).
	if err := km.Wait(wctx, id); err != nil {
		t.Fatal(err)
	}
	if err := km.WaitNodes(wctx, id); err != nil {
		t.Fatal(err)
	}
	cl := mustWait(t, e, mkPoller(p, nil))
	creds, err := e.mc.ListClusterUserCredentials(ctx, "rg", "aks", nil)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kubeconfig, creds.Kubeconfigs[0].Value, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(creds.Kubeconfigs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := k8s.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	minor, ip, err := kube.Serving(ctx, cs)
	if np := cl.Properties.NetworkProfile; minor != "33" || *np.ServiceCidr != "10.0.0.0/16" || *np.DNSServiceIP != "10.0.0.10" || ip != "10.0.0.1" || err != nil {
		t.Errorf("a 1.33 cluster of serviceCidr %s, dnsServiceIP %s serves minor %s and kubernetes at %s (%v); want 1.33 and AKS's defaults", *np.ServiceCidr, *np.DNSServiceIP, minor, ip, err)
	}

	system, err := readyNow(cs, "kubernetes.azure.com/agentpool=system", 2)
	if err != nil {
		t.Fatal(err)
	}
	var zones []string
	for _, n := range system {
		zones = append(zones, n.Labels["topology.kubernetes.io/zone"])
		if n.Labels["kubernetes.azure.com/mode"] != "system" || n.Labels["agentpool"] != "system" || n.Labels["node.kubernetes.io/instance-type"] != "Standard_D4s_v5" ||
			!strings.HasPrefix(n.Name, "aks-system-") || !strings.Contains(n.Name, "-vmss00000") || n.Status.NodeInfo.KubeletVersion != "v"+*cl.Properties.CurrentKubernetesVersion ||
			n.Status.Capacity.Cpu().String() != "4" || n.Status.Capacity.Memory().String() != "16Gi" || n.Status.Capacity.Pods().String() != "250" {
			t.Errorf("system node %s: labels %v, kubelet %s, capacity %v", n.Name, n.Labels, n.Status.NodeInfo.KubeletVersion, n.Status.Capacity)
		}
	}
	if slices.Sort(zones); !slices.Equal(zones, []string{"westeurope-1", "westeurope-2"}) {
		t.Errorf("system nodes in zones %v", zones)
	}

	pool := userPool(subnet)
	pool.Properties.EnableAutoScaling, pool.Properties.MinCount, pool.Properties.MaxCount, pool.Properties.Count = nil, nil, nil, i32(2)
	poolOp := func(p started[armcontainerservice.AgentPoolsClientCreateOrUpdateResponse]) {
		t.Helper()
		if err := km.WaitNodes(wctx, id); err != nil {
			t.Fatal(err)
		}
		mustWait(t, e, p)
	}
	poolOp(mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "spot", pool, nil)))
	spot, err := readyNow(cs, "kubernetes.azure.com/scalesetpriority=spot", 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("kubectl", func(t *testing.T) {
		kubectl, err := exec.LookPath("kubectl")
		if err != nil {
			if testing.Short() {
				t.Skip("-short: kubectl is not on PATH")
			}
			t.Fatalf("kubectl is needed on PATH (CI never skips this check): %v", err) // as e2e's requireKube
		}
		out, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "get", "nodes", "-l", "agentpool=spot", "-o", "json").Output()
		if err != nil {
			t.Fatalf("kubectl get nodes: %v", err)
		}
		var list corev1.NodeList
		if err := json.Unmarshal(out, &list); err != nil || len(list.Items) != 2 {
			t.Fatalf("kubectl get nodes -l agentpool=spot: %d nodes, %v", len(list.Items), err)
		}
		for _, n := range list.Items {
			// The node lifecycle controller may still hold its own
			// node.kubernetes.io/not-ready taint from the node's first
			// seconds, as on a real cluster: look for the pool's two.
			if n.Labels["kubernetes.azure.com/mode"] != "user" || n.Labels["workload"] != "batch" || n.Labels["kubernetes.azure.com/agentpool"] != "spot" ||
				!kube.HasTaint(n, "kubernetes.azure.com/scalesetpriority", "spot", corev1.TaintEffectNoSchedule) || !kube.HasTaint(n, "dedicated", "batch", corev1.TaintEffectNoSchedule) {
				t.Errorf("kubectl shows spot node %s with labels %v, taints %v", n.Name, n.Labels, n.Spec.Taints)
			}
		}
		// kubectl parses /version and reports the binary that serves the
		// cluster (kubectl before 1.33 does not print the emulated minor;
		// client-go's ServerVersion has it, checked above).
		out, err = exec.Command(kubectl, "--kubeconfig", kubeconfig, "version", "-o", "json").Output()
		var v struct {
			ServerVersion struct{ Major, Minor, GitVersion string }
		}
		if err != nil || json.Unmarshal(out, &v) != nil || v.ServerVersion.GitVersion != kube.Version || v.ServerVersion.Major != "1" || v.ServerVersion.Minor != "34" {
			t.Errorf("kubectl version: %s (%v); want server %s", out, err, kube.Version)
		}
	})
	tolerate := []corev1.Toleration{
		{Key: "kubernetes.azure.com/scalesetpriority", Operator: corev1.TolerationOpEqual, Value: "spot", Effect: corev1.TaintEffectNoSchedule},
		{Key: "dedicated", Operator: corev1.TolerationOpExists},
	}
	pod, err := kube.RunPod(wctx, cs, "batch-job", map[string]string{"kubernetes.azure.com/scalesetpriority": "spot"}, tolerate...)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(spot, func(n corev1.Node) bool { return n.Name == pod.Spec.NodeName }) {
		t.Errorf("the spot pod runs on %s, not on a node of the Spot pool", pod.Spec.NodeName)
	}

	pool.Properties.Count = i32(1)
	poolOp(mkPoller(e.ap.BeginCreateOrUpdate(ctx, "rg", "aks", "spot", pool, nil)))
	if _, err := readyNow(cs, "agentpool=spot", 1); err != nil {
		t.Error(err)
	}

	// An upgrade: Succeeded once the API server answers at the new minor.
	up := armcontainerservice.ManagedCluster{Location: cl.Location, Properties: &armcontainerservice.ManagedClusterProperties{KubernetesVersion: s("1.34")}}
	p, err = e.mc.BeginCreateOrUpdate(ctx, "rg", "aks", up, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := km.Wait(wctx, id); err != nil {
		t.Fatal(err)
	}
	if cl := mustWait(t, e, mkPoller(p, nil)); *cl.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("upgrade: %s", *cl.Properties.ProvisioningState)
	}
	if m, _, err := kube.Serving(ctx, cs); m != "34" || err != nil {
		t.Errorf("after the upgrade to 1.34 the API server serves minor %s (%v)", m, err)
	}

	deleted := mkPoller(e.ap.BeginDelete(ctx, "rg", "aks", "spot", nil))
	if err := km.WaitNodes(wctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := wait(t, e, deleted); err != nil {
		t.Fatal(err)
	}
	if _, err := readyNow(cs, "agentpool=spot", 0); err != nil {
		t.Error(err)
	}

	procs := km.Processes(id)
	if len(procs) != 4 {
		t.Errorf("processes of a cluster with nodes: %v, want kube-apiserver, kube-controller-manager, kube-scheduler, kwok", procs)
	}
	mustWait(t, e, mkPoller(e.rg.BeginDelete(ctx, "rg", nil)))
	for name, pid := range procs {
		if kube.Alive(pid) {
			t.Errorf("%s (pid %d) still runs after the cluster's group was deleted", name, pid)
		}
	}
}

// readyNow checks that selector has want nodes, all Ready, already: the
// operation that made them has completed.
func readyNow(cs k8s.Interface, selector string, want int) ([]corev1.Node, error) {
	nodes, ready, err := kube.NodesNow(ctx, cs, selector)
	if err == nil && (len(nodes) != want || ready != want) {
		err = fmt.Errorf("nodes %s: %d, %d Ready; want %d Ready once the operation completed", selector, len(nodes), ready, want)
	}
	return nodes, err
}
