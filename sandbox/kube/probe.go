package kube

// Probes of a running cluster: what it serves, its nodes and pods. The
// emulators' tests use them to check a cluster as kubectl would see it;
// they watch rather than poll.

import (
	"context"
	"fmt"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

// ReadyNodes waits until exactly want nodes match labelSelector and all of
// them are Ready (kwok marks them), and returns them; it watches, it does
// not poll. Tests of the emulators use it after a node pool changed.
func ReadyNodes(ctx context.Context, cs kubernetes.Interface, labelSelector string, want int) ([]corev1.Node, error) {
	nodes := cs.CoreV1().Nodes()
	var last []corev1.Node
	err := until(ctx, func(ctx context.Context) (bool, string, error) {
		l, err := nodes.List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
		if err != nil {
			return false, "", err
		}
		last = l.Items
		ok := len(last) == want
		for _, n := range last {
			ok = ok && NodeReady(n)
		}
		return ok, l.ResourceVersion, nil
	}, func(ctx context.Context, rv string) (watch.Interface, error) {
		return nodes.Watch(ctx, metav1.ListOptions{LabelSelector: labelSelector, ResourceVersion: rv})
	})
	if err != nil {
		return last, fmt.Errorf("waiting for %d Ready nodes (%s), have %d: %w", want, labelSelector, len(last), err)
	}
	return last, nil
}

// NodeReady reports whether a node's Ready condition is True.
func NodeReady(n corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// PodWhen waits until pod namespace/name satisfies ok (say, it is Running)
// and returns it; it watches, it does not poll.
func PodWhen(ctx context.Context, cs kubernetes.Interface, namespace, name string, ok func(*corev1.Pod) bool) (*corev1.Pod, error) {
	pods := cs.CoreV1().Pods(namespace)
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	var last *corev1.Pod
	err := until(ctx, func(ctx context.Context) (bool, string, error) {
		l, err := pods.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, "", err
		}
		if len(l.Items) == 0 {
			return false, l.ResourceVersion, nil
		}
		last = &l.Items[0]
		return ok(last), l.ResourceVersion, nil
	}, func(ctx context.Context, rv string) (watch.Interface, error) {
		return pods.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: rv})
	})
	if err != nil {
		return last, fmt.Errorf("waiting for pod %s/%s: %w", namespace, name, err)
	}
	return last, nil
}

// serviceExists waits until Service namespace/name exists.
func serviceExists(ctx context.Context, cs kubernetes.Interface, namespace, name string) error {
	svcs := cs.CoreV1().Services(namespace)
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	return until(ctx, func(ctx context.Context) (bool, string, error) {
		l, err := svcs.List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, "", err
		}
		return len(l.Items) > 0, l.ResourceVersion, nil
	}, func(ctx context.Context, rv string) (watch.Interface, error) {
		return svcs.Watch(ctx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: rv})
	})
}

// until lists (done), and while the list is not what it wants waits for the
// next change after it (a watch from the list's resourceVersion), until
// done is true or ctx ends.
func until(ctx context.Context, done func(context.Context) (bool, string, error), watchFn func(context.Context, string) (watch.Interface, error)) error {
	var lastErr error
	for {
		ok, rv, err := done(ctx)
		if ok {
			return nil
		}
		lastErr = err
		if err != nil {
			return err
		}
		w, err := watchFn(ctx, rv)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("%w (last: %v)", ctx.Err(), lastErr)
			}
			return err
		}
		select {
		case <-ctx.Done():
			w.Stop()
			if lastErr != nil {
				return fmt.Errorf("%w (last: %v)", ctx.Err(), lastErr)
			}
			return ctx.Err()
		case <-w.ResultChan():
		}
		w.Stop()
	}
}

// RunPod creates pod default/name (one pause container) with nodeSelector
// and tolerations, and waits until it is Running; Spec.NodeName says where
// the scheduler put it. Tests of the emulators use it to check that a pool's
// labels and taints place pods as the cloud's would.
func RunPod(ctx context.Context, cs kubernetes.Interface, name string, nodeSelector map[string]string, tolerations ...corev1.Toleration) (*corev1.Pod, error) {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{
		NodeSelector: nodeSelector, Tolerations: tolerations,
		Containers: []corev1.Container{{Name: "pause", Image: "registry.k8s.io/pause:3.10"}},
	}}
	if _, err := cs.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("create pod %s: %w", name, err)
	}
	return PodWhen(ctx, cs, "default", name, func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}

// Alive reports whether process pid exists. Tests use it with Processes to
// prove that deleting a cluster stopped everything it ran (the Manager reaps
// its children, so a stopped one is gone, not a zombie).
func Alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

// Serving reports what a cluster's API server serves: the Kubernetes minor
// it emulates (/version's emulationMinor, "33") and the cluster IP of its
// default/kubernetes Service (the first address of its service CIDR).
func Serving(ctx context.Context, cs kubernetes.Interface) (minor, kubernetesIP string, err error) {
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		return "", "", fmt.Errorf("GET /version: %w", err)
	}
	svc, err := cs.CoreV1().Services("default").Get(ctx, "kubernetes", metav1.GetOptions{})
	if err != nil {
		return v.EmulationMinor, "", fmt.Errorf("get default/kubernetes: %w", err)
	}
	return v.EmulationMinor, svc.Spec.ClusterIP, nil
}

// HasTaint reports whether node n has taint key=value:effect.
func HasTaint(n corev1.Node, key, value string, effect corev1.TaintEffect) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == key && t.Value == value && t.Effect == effect {
			return true
		}
	}
	return false
}

// NodesNow lists the nodes of labelSelector as they are now, and how many of
// them are Ready. After a pool operation completed, its nodes are all there
// and Ready (the emulators hold the operation until they are).
func NodesNow(ctx context.Context, cs kubernetes.Interface, labelSelector string) (nodes []corev1.Node, ready int, err error) {
	l, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
	if err != nil {
		return nil, 0, err
	}
	for _, n := range l.Items {
		if NodeReady(n) {
			ready++
		}
	}
	return l.Items, ready, nil
}
