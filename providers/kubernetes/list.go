package kubernetes

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/regionctl/regionctl/providers/kit"
)

// Batched refresh (kit.Lister): the StorageClasses of a cluster are read
// with one List, its Services with one List per namespace, instead of one
// Get each. What each reports is built by the function Read uses.

// listed reads calls grouped by key (cluster, or cluster and namespace):
// list returns the group's objects by name, or found false when the
// cluster is gone (every object of it is gone then).
func listed[In, Out, T any](ctx context.Context, calls []*kit.Call[kit.None, In, Out], key func(c *kit.Call[kit.None, In, Out]) string,
	list func(ctx context.Context, c *kit.Call[kit.None, In, Out]) (map[string]T, error),
	name func(c *kit.Call[kit.None, In, Out]) string,
	live func(context.Context, *kit.Call[kit.None, In, Out], T) (*kit.Live[In, Out], error),
) ([]*kit.Live[In, Out], error) {
	groups := map[string][]int{}
	var order []string
	for i, c := range calls {
		k := key(c)
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	out := make([]*kit.Live[In, Out], len(calls))
	for _, k := range order {
		idx := groups[k]
		objs, err := list(ctx, calls[idx[0]])
		if err != nil {
			return nil, err
		}
		if err := kit.Fill(ctx, out, calls, idx, objs, name, live); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func clusterKey(in ClusterInputs) string { return in.Cluster + "@" + in.Endpoint }

func (s storageClasses) ReadMany(ctx context.Context, calls []*scCall) ([]*kit.Live[StorageClassInputs, StorageClassOutputs], error) {
	return listed(ctx, calls, func(c *scCall) string { return clusterKey(c.Prev.ClusterInputs) },
		func(ctx context.Context, c *scCall) (map[string]*storagev1.StorageClass, error) {
			in := c.Prev.ClusterInputs
			cs, err := s.h.client(in)
			if err != nil {
				return nil, err
			}
			list, err := cs.StorageV1().StorageClasses().List(ctx, metav1.ListOptions{})
			if s.h.gone(ctx, in, err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("list StorageClasses: %w", err)
			}
			out := make(map[string]*storagev1.StorageClass, len(list.Items))
			for i := range list.Items {
				out[list.Items[i].Name] = &list.Items[i]
			}
			return out, nil
		},
		func(c *scCall) string { return c.ID }, s.live)
}

func (s services) ReadMany(ctx context.Context, calls []*svcCall) ([]*kit.Live[ServiceInputs, ServiceOutputs], error) {
	return listed(ctx, calls, func(c *svcCall) string {
		ns, _ := splitID(c.ID)
		return clusterKey(c.Prev.ClusterInputs) + "/" + ns
	},
		func(ctx context.Context, c *svcCall) (map[string]*corev1.Service, error) {
			in := c.Prev.ClusterInputs
			cs, err := s.h.client(in)
			if err != nil {
				return nil, err
			}
			ns, _ := splitID(c.ID)
			list, err := cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
			if s.h.gone(ctx, in, err) {
				return nil, nil
			}
			if err != nil {
				return nil, fmt.Errorf("list Services in %s: %w", ns, err)
			}
			out := make(map[string]*corev1.Service, len(list.Items))
			for i := range list.Items {
				out[list.Items[i].Name] = &list.Items[i]
			}
			return out, nil
		},
		func(c *svcCall) string { _, name := splitID(c.ID); return name }, s.live)
}
