package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// Annotations on the Node objects the sandbox makes.
const (
	// kwokAnnotation=fake marks the nodes kwok simulates (its documented
	// --manage-nodes-with-annotation-selector convention).
	kwokAnnotation = "kwok.x-k8s.io/node"
	// PoolAnnotation names the pool a node belongs to, so a pool's nodes
	// can be found again after a restart.
	PoolAnnotation = "sandbox.regionctl.dev/node-pool"
	// managedLabelsAnnotation lists the label keys the pool set, so a label
	// removed from the pool is removed from its nodes and labels added by
	// hand are left alone.
	managedLabelsAnnotation = "sandbox.regionctl.dev/managed-labels"
)

// SetNodePool makes pool's nodes in cluster id exactly nodes (none deletes
// the pool's nodes). It returns at once; the Node objects follow in the
// background once the API server is ready (WaitNodes waits for them), and
// the first nodes start the cluster's controllers and kwok. Nodes of pools
// never set are left alone.
func (m *Manager) SetNodePool(id, pool string, nodes []emu.KubeNode) error {
	if pool == "" {
		return errors.New("sandbox: SetNodePool needs a pool name")
	}
	seen := map[string]bool{}
	for _, n := range nodes {
		if n.Name == "" || seen[n.Name] {
			return fmt.Errorf("sandbox: pool %s of %s: node name %q is empty or repeated", pool, id, n.Name)
		}
		seen[n.Name] = true
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.clusters[id]
	if !ok {
		return fmt.Errorf("sandbox: cluster %s has no API server", id)
	}
	c.pools[pool] = slices.Clone(nodes)
	c.gen++
	c.wake()
	return nil
}

// WaitNodes blocks until the nodes of every SetNodePool call made before it
// are in cluster id's API server, or ctx ends. It returns the last sync
// error while it waits in vain.
func (m *Manager) WaitNodes(ctx context.Context, id string) error {
	m.mu.Lock()
	c, ok := m.clusters[id]
	if !ok {
		m.mu.Unlock()
		return fmt.Errorf("sandbox: cluster %s has no API server", id)
	}
	want := c.gen
	m.mu.Unlock()
	for {
		m.mu.Lock()
		applied, synced, err, failed := c.applied, c.synced, c.nodeErr, c.err
		m.mu.Unlock()
		if applied >= want {
			return nil
		}
		if failed != nil {
			return failed
		}
		select {
		case <-ctx.Done():
			if err != nil {
				return fmt.Errorf("%w (last node sync: %v)", ctx.Err(), err)
			}
			return ctx.Err()
		case <-synced:
		}
	}
}

// syncNodes makes the Node objects of c's pools what SetNodePool asked
// for: creates the missing ones, updates labels and taints, deletes the
// ones a pool no longer has, and waits until they are Ready. It starts the
// controllers and kwok first when any pool has nodes.
func (m *Manager) syncNodes(ctx context.Context, c *cluster) error {
	if err := m.controllersForNodes(c); err != nil {
		return err
	}
	m.mu.Lock()
	gen, applied := c.gen, c.applied
	pools := maps.Clone(c.pools)
	m.mu.Unlock()
	if gen == applied {
		return nil
	}
	err := m.applyNodes(ctx, c, pools)
	if err == nil {
		err = m.nodesReady(ctx, c, pools)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c.nodeErr = err
	if err == nil {
		c.applied = gen
	}
	close(c.synced)
	c.synced = make(chan struct{})
	return err
}

// controllersForNodes starts the controllers and kwok (again, after a
// restart) when any pool of c has nodes: nodes need their kubelets, and
// pods the scheduler and controllers.
func (m *Manager) controllersForNodes(c *cluster) error {
	m.mu.Lock()
	has := false
	for _, nodes := range c.pools {
		has = has || len(nodes) > 0
	}
	m.mu.Unlock()
	if !has {
		return nil
	}
	return m.ensureControllers(c)
}

func (m *Manager) applyNodes(ctx context.Context, c *cluster, pools map[string][]emu.KubeNode) error {
	cs, err := m.adminClient(c)
	if err != nil {
		return err
	}
	have, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("sandbox: list nodes of %s: %w", c.id, err)
	}
	existing := map[string]*corev1.Node{}
	for i := range have.Items {
		existing[have.Items[i].Name] = &have.Items[i]
	}
	owner := map[string]string{}
	for _, pool := range slices.Sorted(maps.Keys(pools)) {
		for _, n := range pools[pool] {
			if other, ok := owner[n.Name]; ok {
				return fmt.Errorf("sandbox: cluster %s: node %s is in pools %s and %s", c.id, n.Name, other, pool)
			}
			owner[n.Name] = pool
		}
	}
	var errs []error
	var gone []string
	for _, pool := range slices.Sorted(maps.Keys(pools)) {
		want := map[string]bool{}
		for _, n := range pools[pool] {
			want[n.Name] = true
			if err := applyNode(ctx, cs, pool, n, existing[n.Name]); err != nil {
				errs = append(errs, fmt.Errorf("sandbox: node %s of %s: %w", n.Name, c.id, err))
			}
		}
		for name, node := range existing {
			if node.Annotations[PoolAnnotation] == pool && !want[name] {
				gone = append(gone, name)
			}
		}
	}
	// As the clouds do, nodes are drained before their instances go.
	drainNodes(ctx, cs, gone, nodeDrainGrace)
	for _, name := range gone {
		err := cs.CoreV1().Nodes().Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("sandbox: delete node %s of %s: %w", name, c.id, err))
		}
	}
	return errors.Join(errs...)
}

// nodeDrainGrace is how long the sandbox waits for PodDisruptionBudgets to
// let a leaving node's pods be evicted before it deletes them (GKE waits
// an hour, then does the same).
const nodeDrainGrace = 5 * time.Second

// drainNodes cordons the nodes and evicts their pods through the Eviction
// API, trying again those a PodDisruptionBudget holds back until grace has
// passed; pods still there then are deleted, as a cloud's forced drain
// does. DaemonSet pods go with their node.
func drainNodes(ctx context.Context, cs kubernetes.Interface, names []string, grace time.Duration) {
	if len(names) == 0 {
		return
	}
	on := map[string]bool{}
	for _, n := range names {
		on[n] = true
		_, _ = cs.CoreV1().Nodes().Patch(ctx, n, types.StrategicMergePatchType, []byte(`{"spec":{"unschedulable":true}}`), metav1.PatchOptions{})
	}
	deadline := time.Now().Add(grace)
	for {
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		left := 0
		for _, p := range pods.Items {
			if !on[p.Spec.NodeName] || p.DeletionTimestamp != nil || slices.ContainsFunc(p.OwnerReferences, func(o metav1.OwnerReference) bool { return o.Kind == "DaemonSet" }) {
				continue
			}
			left++
			if time.Now().After(deadline) {
				_ = cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{})
				continue
			}
			_ = cs.CoreV1().Pods(p.Namespace).EvictV1(ctx, &policyv1.Eviction{ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace}})
		}
		if left == 0 || time.Now().After(deadline) {
			return
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nodesReady waits (a minute at most) until every node of pools is Ready,
// which kwok makes it within moments of its creation, and schedulable: the
// node lifecycle controller has lifted the not-ready taint it puts on a
// new node.
func (m *Manager) nodesReady(ctx context.Context, c *cluster, pools map[string][]emu.KubeNode) error {
	want := map[string]bool{}
	for _, nodes := range pools {
		for _, n := range nodes {
			want[n.Name] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	cs, err := m.adminClient(c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	nodes := cs.CoreV1().Nodes()
	err = until(ctx, func(ctx context.Context) (bool, string, error) {
		l, err := nodes.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		ready := 0
		for _, n := range l.Items {
			if want[n.Name] && NodeReady(n) && !slices.ContainsFunc(n.Spec.Taints, func(t corev1.Taint) bool { return t.Key == corev1.TaintNodeNotReady }) {
				ready++
			}
		}
		return ready == len(want), l.ResourceVersion, nil
	}, func(ctx context.Context, rv string) (watch.Interface, error) {
		return nodes.Watch(ctx, metav1.ListOptions{ResourceVersion: rv})
	})
	if err != nil {
		return fmt.Errorf("sandbox: nodes of %s not Ready: %w", c.id, err)
	}
	return nil
}

// applyNode creates node n of pool, or brings an existing one's labels and
// taints in line.
func applyNode(ctx context.Context, cs kubernetes.Interface, pool string, n emu.KubeNode, have *corev1.Node) error {
	want := nodeObject(pool, n)
	if have == nil {
		_, err := cs.CoreV1().Nodes().Create(ctx, want, metav1.CreateOptions{FieldManager: "regionctl-sandbox"})
		return err
	}
	upd := have.DeepCopy()
	if upd.Labels == nil {
		upd.Labels = map[string]string{}
	}
	if upd.Annotations == nil {
		upd.Annotations = map[string]string{}
	}
	for _, k := range strings.Split(have.Annotations[managedLabelsAnnotation], ",") {
		if _, keep := want.Labels[k]; !keep {
			delete(upd.Labels, k)
		}
	}
	maps.Copy(upd.Labels, want.Labels)
	maps.Copy(upd.Annotations, want.Annotations)
	upd.Spec.Taints = want.Spec.Taints
	if maps.Equal(upd.Labels, have.Labels) && maps.Equal(upd.Annotations, have.Annotations) && sameTaints(upd.Spec.Taints, have.Spec.Taints) {
		return nil
	}
	_, err := cs.CoreV1().Nodes().Update(ctx, upd, metav1.UpdateOptions{FieldManager: "regionctl-sandbox"})
	return err
}

func sameTaints(a, b []corev1.Taint) bool {
	return slices.EqualFunc(a, b, func(x, y corev1.Taint) bool {
		return x.Key == y.Key && x.Value == y.Value && x.Effect == y.Effect
	})
}

// nodeObject is the Node a pool's node registers as: the labels the kubelet
// and the cloud controller set, the pool's own labels and taints, and the
// status a kubelet reports (kwok fills in the conditions).
func nodeObject(pool string, n emu.KubeNode) *corev1.Node {
	arch := n.Arch
	if arch == "" {
		arch = "amd64"
	}
	os := n.OS
	if os == "" {
		os = "linux"
	}
	labels := map[string]string{
		"kubernetes.io/hostname":  n.Name,
		"kubernetes.io/os":        os,
		"kubernetes.io/arch":      arch,
		"beta.kubernetes.io/os":   os,
		"beta.kubernetes.io/arch": arch,
	}
	for k, v := range map[string]string{
		"node.kubernetes.io/instance-type":         n.InstanceType,
		"beta.kubernetes.io/instance-type":         n.InstanceType,
		"topology.kubernetes.io/region":            n.Region,
		"failure-domain.beta.kubernetes.io/region": n.Region,
		"topology.kubernetes.io/zone":              n.Zone,
		"failure-domain.beta.kubernetes.io/zone":   n.Zone,
	} {
		if v != "" {
			labels[k] = v
		}
	}
	maps.Copy(labels, n.Labels)
	var taints []corev1.Taint
	for _, t := range n.Taints {
		taints = append(taints, corev1.Taint{Key: t.Key, Value: t.Value, Effect: corev1.TaintEffect(t.Effect)})
	}
	// Capacity needs CPU and memory both (kwok fills in all three when
	// none is set); pods default to the kubelet's 110.
	capacity := corev1.ResourceList{}
	pods := n.Pods
	if pods == "" {
		pods = "110"
	}
	for name, v := range map[corev1.ResourceName]string{corev1.ResourceCPU: n.CPU, corev1.ResourceMemory: n.Memory, corev1.ResourcePods: pods} {
		if q, err := resource.ParseQuantity(v); err == nil {
			capacity[name] = q
		}
	}
	if n.CPU == "" || n.Memory == "" || len(capacity) != 3 {
		capacity = nil
	}
	var addrs []corev1.NodeAddress
	if n.InternalIP != "" {
		addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.InternalIP})
	}
	addrs = append(addrs, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:   n.Name,
			Labels: labels,
			Annotations: map[string]string{
				kwokAnnotation:          "fake",
				PoolAnnotation:          pool,
				managedLabelsAnnotation: strings.Join(slices.Sorted(maps.Keys(labels)), ","),
			},
		},
		Spec: corev1.NodeSpec{ProviderID: n.ProviderID, Taints: taints},
		Status: corev1.NodeStatus{
			Addresses: addrs,
			NodeInfo: corev1.NodeSystemInfo{
				Architecture: arch, OperatingSystem: os, OSImage: n.OSImage,
				KubeletVersion: n.KubeletVersion, ContainerRuntimeVersion: n.ContainerRuntime,
			},
		},
	}
	if len(capacity) > 0 {
		node.Status.Capacity, node.Status.Allocatable = capacity, capacity.DeepCopy()
	}
	return node
}
