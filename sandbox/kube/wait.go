package kube

import (
	"context"
	"fmt"

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
