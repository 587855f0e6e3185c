package kube_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/regionctl/regionctl/sandbox/kube"
)

func adminAuth(token string) (kube.User, error) {
	if token != "admin-token" {
		return kube.User{}, errors.New("unknown token")
	}
	return kube.User{Name: "admin", Groups: []string{"system:masters"}}, nil
}

// pool makes n nodes named <pool>-<i>, spread over two zones.
func pool(name string, n int, labels map[string]string, taints ...kube.Taint) []kube.Node {
	var out []kube.Node
	for i := range n {
		out = append(out, kube.Node{
			Name: fmt.Sprintf("%s-%d", name, i), InstanceType: "m5.large", Region: "us-east-1",
			Zone: []string{"us-east-1a", "us-east-1b"}[i%2], InternalIP: fmt.Sprintf("10.0.%d.%d", len(name), 10+i),
			Labels: labels, Taints: taints, KubeletVersion: "v1.33.5-eks-ba74326", CPU: "2", Memory: "8Gi",
		})
	}
	return out
}

// newManager starts a Manager in dir (a temporary one when empty), closed
// when the test ends, with a context that bounds the test.
func newManager(t *testing.T, dir string) (context.Context, *kube.Manager) {
	t.Helper()
	requireBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	if dir == "" {
		dir = t.TempDir()
	}
	m := kube.New(kube.Options{Dir: dir})
	t.Cleanup(func() { m.Close() })
	return ctx, m
}

func nodeNames(ns []corev1.Node) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out
}

// TestNodePools: a cluster's pools become Ready Node objects with their
// labels and taints (kwok); a pod whose nodeSelector and toleration pick the
// spot pool is scheduled there (kube-scheduler) and runs; scaling a pool
// changes its nodes and deleting it removes them; removing the cluster
// stops every process it ran.
func TestNodePools(t *testing.T) {
	dir := t.TempDir()
	ctx, m := newManager(t, dir)
	const id = "nodes-test"
	info, err := m.Ensure(id, kube.Spec{Auth: adminAuth, Version: "1.33", ServiceCIDR: "10.100.0.0/16", PodCIDR: "192.168.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	// Pools may be set before the API server is ready.
	spotTaint := kube.Taint{Key: "kubernetes.azure.com/scalesetpriority", Value: "spot", Effect: "NoSchedule"}
	spotLabels := map[string]string{"pool": "spot", "kubernetes.azure.com/scalesetpriority": "spot"}
	if err := m.SetNodePool(id, "spot", pool("spot", 2, spotLabels, spotTaint)); err != nil {
		t.Fatal(err)
	}
	if err := m.SetNodePool(id, "general", pool("general", 1, map[string]string{"pool": "general"})); err != nil {
		t.Fatal(err)
	}
	if err := m.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	cs := client(t, info, "admin-token")
	got, err := kube.ReadyNodes(ctx, cs, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range got {
		want := map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
			"node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/region": "us-east-1", "pool": strings.Split(n.Name, "-")[0]}
		for k, v := range want {
			if n.Labels[k] != v {
				t.Errorf("node %s: label %s = %q, want %q", n.Name, k, n.Labels[k], v)
			}
		}
		if z := n.Labels["topology.kubernetes.io/zone"]; z != "us-east-1a" && z != "us-east-1b" {
			t.Errorf("node %s: zone %q", n.Name, z)
		}
		if n.Status.NodeInfo.KubeletVersion != "v1.33.5-eks-ba74326" || n.Status.Capacity.Cpu().String() != "2" {
			t.Errorf("node %s: kubelet %q, cpu %s", n.Name, n.Status.NodeInfo.KubeletVersion, n.Status.Capacity.Cpu())
		}
		spot := strings.HasPrefix(n.Name, "spot-")
		if kube.HasTaint(n, spotTaint.Key, spotTaint.Value, corev1.TaintEffectNoSchedule) != spot {
			t.Errorf("node %s: taints %v", n.Name, n.Spec.Taints)
		}
	}

	// A pod for the spot pool lands there and runs; one that does not
	// tolerate the taint lands on the general pool, or nowhere.
	toleration := corev1.Toleration{Key: spotTaint.Key, Operator: corev1.TolerationOpEqual, Value: "spot", Effect: corev1.TaintEffectNoSchedule}
	p, err := kube.RunPod(ctx, cs, "on-spot", map[string]string{"kubernetes.azure.com/scalesetpriority": "spot"}, toleration)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Spec.NodeName, "spot-") || !strings.HasPrefix(p.Status.PodIP, "192.168.") {
		t.Errorf("pod on-spot runs on %q with IP %q, want a spot node and an address of the pod CIDR", p.Spec.NodeName, p.Status.PodIP)
	}
	if p, err := kube.RunPod(ctx, cs, "anywhere", nil); err != nil || p.Spec.NodeName != "general-0" {
		t.Errorf("pod anywhere: %v, %v; want it on general-0 (the spot nodes are tainted)", p, err)
	}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "no-toleration"}, Spec: corev1.PodSpec{
		NodeSelector: map[string]string{"pool": "spot"}, Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	unschedulable, err := kube.PodWhen(ctx, cs, "default", "no-toleration", func(p *corev1.Pod) bool {
		return slices.ContainsFunc(p.Status.Conditions, func(c corev1.PodCondition) bool {
			return c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonUnschedulable
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if unschedulable.Spec.NodeName != "" {
		t.Errorf("pod without the toleration was placed on %s", unschedulable.Spec.NodeName)
	}

	// Scale the spot pool up, relabel it, then delete the general pool.
	spotLabels2 := map[string]string{"pool": "spot", "kubernetes.azure.com/scalesetpriority": "spot", "team": "batch"}
	if err := m.SetNodePool(id, "spot", pool("spot", 3, spotLabels2, spotTaint)); err != nil {
		t.Fatal(err)
	}
	if err := m.SetNodePool(id, "general", nil); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	got, err = kube.ReadyNodes(ctx, cs, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	if names := nodeNames(got); !slices.Equal(names, []string{"spot-0", "spot-1", "spot-2"}) {
		t.Errorf("nodes after scaling spot to 3 and deleting general = %v", names)
	}
	for _, n := range got {
		if n.Labels["team"] != "batch" {
			t.Errorf("node %s after relabel: labels %v", n.Name, n.Labels)
		}
	}

	// A restart (a new sandbox on the same directory): the emulator sets
	// the pools again, and the controllers and kwok come back with them.
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, m = newManager(t, dir)
	spec := kube.Spec{Auth: adminAuth, Version: "1.33", ServiceCIDR: "10.100.0.0/16", PodCIDR: "192.168.0.0/16"}
	if _, err := m.Ensure(id, spec); err != nil {
		t.Fatal(err)
	}
	if err := m.SetNodePool(id, "spot", pool("spot", 3, spotLabels2, spotTaint)); err != nil {
		t.Fatal(err)
	}
	if err := m.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := m.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	if p, err := kube.RunPod(ctx, cs, "after-restart", nil, toleration); err != nil || !strings.HasPrefix(p.Spec.NodeName, "spot-") {
		t.Errorf("pod after a restart: %v, %v", p, err)
	}

	// A label the pool drops leaves its nodes; one added by hand stays.
	n0, err := cs.CoreV1().Nodes().Get(ctx, "spot-0", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n0.Labels["by-hand"] = "yes"
	if _, err := cs.CoreV1().Nodes().Update(ctx, n0, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := m.SetNodePool(id, "spot", pool("spot", 3, spotLabels, spotTaint)); err != nil { // without "team"
		t.Fatal(err)
	}
	if err := m.WaitNodes(ctx, id); err != nil {
		t.Fatal(err)
	}
	if n0, err = cs.CoreV1().Nodes().Get(ctx, "spot-0", metav1.GetOptions{}); err != nil || n0.Labels["team"] != "" || n0.Labels["by-hand"] != "yes" || n0.Labels["pool"] != "spot" {
		t.Errorf("spot-0 after the pool dropped label team: %v, %v; want team gone, by-hand and pool kept", n0.Labels, err)
	}
	procs := m.Processes(id)
	for _, name := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"} {
		if procs[name] == 0 {
			t.Errorf("Processes = %v: no %s", procs, name)
		}
	}
	if err := m.Remove(id); err != nil {
		t.Fatal(err)
	}
	for name, pid := range procs {
		if kube.Alive(pid) {
			t.Errorf("%s (pid %d) still runs after Remove", name, pid)
		}
	}
}

// TestVersionAndServiceCIDR: the API server serves the cluster's minor
// (emulated) and its service CIDR; /version names the binary truthfully;
// an Ensure with the next minor (an upgrade) restarts it at that minor.
func TestVersionAndServiceCIDR(t *testing.T) {
	ctx, m := newManager(t, "")
	const id = "version-test"
	spec := kube.Spec{Auth: adminAuth, Version: "1.33", ServiceCIDR: "172.20.0.0/16"}
	info, err := m.Ensure(id, spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Wait(ctx, id); err != nil {
		t.Fatal(err)
	}
	cs := client(t, info, "admin-token")
	check := func(minor string, hasDRA bool) {
		t.Helper()
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != kube.Version || v.Minor != "34" || v.EmulationMajor != "1" || v.EmulationMinor != minor {
			t.Errorf("/version = %+v, want gitVersion %s emulating 1.%s", v, kube.Version, minor)
		}
		_, err = cs.Discovery().ServerResourcesForGroupVersion("resource.k8s.io/v1")
		if got := err == nil; got != hasDRA {
			t.Errorf("1.%s: discovery serves resource.k8s.io/v1 = %v (%v), want %v", minor, got, err, hasDRA)
		}
		l, err := cs.Discovery().ServerResourcesForGroupVersion("networking.k8s.io/v1")
		if err != nil || !slices.ContainsFunc(l.APIResources, func(r metav1.APIResource) bool { return r.Kind == "ServiceCIDR" }) {
			t.Errorf("1.%s: networking.k8s.io/v1 lacks ServiceCIDR (GA in 1.33): %v", minor, err)
		}
	}
	check("33", false)
	svc, err := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP != "172.20.0.1" {
		t.Fatalf("kubernetes Service = %v, %v; want 172.20.0.1", svc.Spec.ClusterIP, err)
	}

	spec.Version = "1.34"
	if _, err := m.Ensure(id, spec); err != nil {
		t.Fatal(err)
	}
	if st := m.State(id); st.Ready {
		t.Fatalf("State right after an upgrade = %+v, want not ready until the new API server answers", st)
	}
	if err := m.Wait(ctx, id); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}
	check("34", true)
}

// TestServedMinor pins which minors the API server serves for a cluster.
func TestServedMinor(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		exact    bool
	}{
		{"", "1.34", true}, {"1.31", "1.31", true}, {"1.33", "1.33", true}, {"1.33.5-gke.1308000", "1.33", true},
		{"v1.32.9", "1.32", true}, {"1.34.1", "1.34", true}, {"1.30", "1.31", false}, {"1.35", "1.34", false},
	} {
		got, exact, err := kube.ServedMinor(tc.in)
		if err != nil || got != tc.want || exact != tc.exact {
			t.Errorf("ServedMinor(%q) = %q, %v, %v; want %q, %v", tc.in, got, exact, err, tc.want, tc.exact)
		}
	}
	for _, bad := range []string{"latest", "2.1", "1.x"} {
		if _, _, err := kube.ServedMinor(bad); err == nil {
			t.Errorf("ServedMinor(%q) accepted", bad)
		}
	}
}
