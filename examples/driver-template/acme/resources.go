package acme

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"example.com/regionctl-driver-acme/acme/api"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// Each resource type is declared once: a struct of its inputs and one of
// its outputs (the kit tags are its schema: "replace" marks an input the
// cloud cannot change in place, and `why` says why), and a handler.

type networkIn struct {
	Name string `kit:"name,replace" why:"a network is known by its name"`
	CIDR string `kit:"cidr,replace" why:"Acme cannot renumber a network"`
}

type clusterIn struct {
	Name      string `kit:"name,replace" why:"a cluster is known by its name"`
	NetworkID string `kit:"network_id,replace" why:"a cluster cannot move to another network"`
	Version   string `kit:"version"`
}

type nodePoolIn struct {
	Name      string `kit:"name,replace" why:"a node pool is known by its name"`
	ClusterID string `kit:"cluster_id,replace" why:"a node pool cannot move to another cluster"`
	Size      string `kit:"size,replace" why:"Acme cannot resize the machines of a pool"`
	Min       int    `kit:"min"`
	Max       int    `kit:"max"`
}

type idOut struct {
	ID string `kit:"id"`
}

type clusterOut struct {
	ID       string `kit:"id"`
	Endpoint string `kit:"endpoint"`
}

// types declares the driver's resource types over one API client.
func types(c *api.Client) []kit.Declaration {
	return []kit.Declaration{
		kit.Type[kit.None, networkIn, idOut]{Name: "acme_network", Description: "a private network",
			Handler: &objects[networkIn, idOut]{api: c, kind: api.Networks,
				spec: func(in networkIn) any { return api.NetworkSpec{Name: in.Name, CIDR: in.CIDR} },
				live: func(o api.Object) (networkIn, idOut, error) {
					var s api.NetworkSpec
					err := json.Unmarshal(o.Spec, &s)
					return networkIn{Name: s.Name, CIDR: s.CIDR}, idOut{ID: o.ID}, err
				}}},
		kit.Type[kit.None, clusterIn, clusterOut]{Name: "acme_cluster", Description: "a managed Kubernetes cluster",
			Handler: &objects[clusterIn, clusterOut]{api: c, kind: api.Clusters,
				spec: func(in clusterIn) any {
					return api.ClusterSpec{Name: in.Name, NetworkID: in.NetworkID, Version: in.Version}
				},
				live: func(o api.Object) (clusterIn, clusterOut, error) {
					var s api.ClusterSpec
					err := json.Unmarshal(o.Spec, &s)
					return clusterIn{Name: s.Name, NetworkID: s.NetworkID, Version: s.Version}, clusterOut{ID: o.ID, Endpoint: o.Endpoint}, err
				}}},
		kit.Type[kit.None, nodePoolIn, idOut]{Name: "acme_node_pool", Description: "a group of identical nodes",
			Handler: &objects[nodePoolIn, idOut]{api: c, kind: api.NodePools,
				spec: func(in nodePoolIn) any {
					return api.NodePoolSpec{Name: in.Name, ClusterID: in.ClusterID, Size: in.Size, Min: in.Min, Max: in.Max}
				},
				live: func(o api.Object) (nodePoolIn, idOut, error) {
					var s api.NodePoolSpec
					err := json.Unmarshal(o.Spec, &s)
					return nodePoolIn{Name: s.Name, ClusterID: s.ClusterID, Size: s.Size, Min: s.Min, Max: s.Max}, idOut{ID: o.ID}, err
				}}},
	}
}

// Tags every object carries, so Find can adopt what an interrupted create
// made.
const (
	tagAddress = "regionctl/address"
	tagKey     = "regionctl/idempotency-key"
)

// objects handles one kind of Acme object. Acme's kinds all work alike,
// so one generic handler serves them, told how to write a kind's spec and
// how to read one back.
type objects[In, Out any] struct {
	api  *api.Client
	kind string
	spec func(In) any
	live func(api.Object) (In, Out, error)
}

type call[In, Out any] = kit.Call[kit.None, In, Out]

// poll waits for a new cluster to be running.
var poll = kit.Backoff{Initial: 50 * time.Millisecond, Max: 5 * time.Second, Jitter: 0.2}

// Create makes the object, passing the idempotency key as Acme's client
// token (a retried create returns the same object) and as a tag (for
// Find), then waits until it is running.
func (h *objects[In, Out]) Create(ctx context.Context, c *call[In, Out]) (string, error) {
	obj, err := h.api.Create(ctx, h.kind, api.CreateRequest{ClientToken: c.Key, Spec: h.spec(c.In),
		Tags: map[string]string{tagAddress: c.Address, tagKey: c.Key}})
	if err != nil {
		return "", err
	}
	err = poll.Poll(ctx, func() (bool, error) {
		o, err := h.api.Get(ctx, h.kind, obj.ID)
		return o.Status == "running", err
	})
	return obj.ID, err // with the ID even on failure: the object exists
}

// Read reports the object as the cloud has it, or nil when it is gone.
func (h *objects[In, Out]) Read(ctx context.Context, c *call[In, Out]) (*kit.Live[In, Out], error) {
	obj, err := h.api.Get(ctx, h.kind, c.ID)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	in, out, err := h.live(obj)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", h.kind, c.ID, err)
	}
	return c.Found(in, out), nil
}

// Update changes what can change in place (the kit never passes an input
// tagged "replace").
func (h *objects[In, Out]) Update(ctx context.Context, c *call[In, Out], _ []string) error {
	_, err := h.api.Update(ctx, h.kind, c.ID, h.spec(c.In))
	return err
}

// Delete removes the object; one already gone is fine.
func (h *objects[In, Out]) Delete(ctx context.Context, c *call[In, Out]) error {
	if err := h.api.Delete(ctx, h.kind, c.ID); err != nil && !notFound(err) {
		return err
	}
	return nil
}

// Find returns the object an earlier create with the same key made, if any.
func (h *objects[In, Out]) Find(ctx context.Context, c *call[In, Out]) (string, error) {
	objs, err := h.api.List(ctx, h.kind, tagKey, c.Key)
	if err != nil || len(objs) == 0 {
		return "", err
	}
	return objs[0].ID, nil
}

func notFound(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.Code == "not_found"
}

// classify tells the kit what kind of failure an Acme error is, so the
// engine retries what may pass and stops at what cannot.
func classify(err error) providers.ErrorClass {
	var e *api.Error
	if !errors.As(err, &e) {
		return providers.ClassUnknown
	}
	switch e.Code {
	case "not_found":
		return providers.ClassNotFound
	case "throttled":
		return providers.ClassThrottled
	case "conflict":
		return providers.ClassBusy
	case "invalid":
		return providers.ClassPermanent
	}
	return providers.ClassUnknown
}
