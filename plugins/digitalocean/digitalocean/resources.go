package digitalocean

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/digitalocean/godo"

	"github.com/regionctl/regionctl/plugins/digitalocean/catalog"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
)

// Each resource type is two structs — inputs and outputs, whose kit tags
// are its schema — and a handler with the godo calls.

type vpcIn struct {
	Name    string `kit:"name,replace" why:"the driver finds a VPC by its name"`
	Region  string `kit:"region,replace" why:"a VPC lives in one region"`
	IPRange string `kit:"ip_range,replace" why:"DigitalOcean cannot renumber a VPC"`
}

type vpcOut struct {
	ID  string `kit:"id"`
	URN string `kit:"urn"`
}

// poolIn is a node pool's own settings. Min == Max is a fixed count;
// otherwise the pool autoscales between them.
type poolIn struct {
	Name   string            `kit:"name,replace" why:"a node pool is known by its name"`
	Size   string            `kit:"size,replace" why:"DigitalOcean cannot resize the droplets of a node pool"`
	Min    int               `kit:"min"`
	Max    int               `kit:"max"`
	Labels map[string]string `kit:"labels"`
	Taints []string          `kit:"taints,set"`
}

type nodePoolIn struct {
	ClusterID string `kit:"cluster_id,replace" why:"a node pool cannot move to another cluster"`
	poolIn
}

type idOut struct {
	ID string `kit:"id"`
}

// clusterIn: the cluster with its first node pool, which DOKS creates with
// it and which lives as long as the cluster.
type clusterIn struct {
	Name       string            `kit:"name,replace" why:"the driver finds a cluster by its name"`
	Region     string            `kit:"region,replace" why:"a cluster lives in one region"`
	VPCUUID    string            `kit:"vpc_uuid,replace" why:"a cluster cannot move to another VPC"`
	Version    string            `kit:"version" doc:"the Kubernetes minor; the driver picks the release DOKS offers for it"`
	PoolName   string            `kit:"pool_name,replace" why:"the cluster's first node pool is made with it"`
	PoolSize   string            `kit:"pool_size,replace" why:"DigitalOcean cannot resize the droplets of the cluster's first node pool"`
	PoolMin    int               `kit:"pool_min"`
	PoolMax    int               `kit:"pool_max"`
	PoolLabels map[string]string `kit:"pool_labels"`
	PoolTaints []string          `kit:"pool_taints,set"`
}

func (c clusterIn) pool() poolIn {
	return poolIn{Name: c.PoolName, Size: c.PoolSize, Min: c.PoolMin, Max: c.PoolMax, Labels: c.PoolLabels, Taints: c.PoolTaints}
}

type clusterOut struct {
	ID       string `kit:"id"`
	URN      string `kit:"urn"`
	Endpoint string `kit:"endpoint"`
	// CA is the base64 PEM of the cluster's CA, from its kubeconfig (the
	// kubeconfig's token is never kept).
	CA          string `kit:"ca_certificate"`
	VersionSlug string `kit:"version_slug"`
	PoolID      string `kit:"pool_id"`
}

// types declares the driver's resource types.
func (d *Driver) types() []kit.Declaration {
	return []kit.Declaration{
		kit.Type[kit.None, vpcIn, vpcOut]{Name: TypeVPC, Description: "a VPC (private network) in one region", Handler: vpcs{d}},
		kit.Type[kit.None, clusterIn, clusterOut]{Name: TypeCluster, Description: "a DOKS cluster with its first node pool", Handler: clusters{d}},
		kit.Type[kit.None, nodePoolIn, idOut]{Name: TypeNodePool, Description: "a further DOKS node pool", Handler: nodePools{d}},
	}
}

// Ownership tags. DigitalOcean tags allow letters, digits, ':', '-' and
// '_', so the idempotency key and the address are written as they are
// when they fit and in hex otherwise. VPCs take no tags: their description
// carries the address and the key.
const (
	tagOwner         = "regionctl"
	tagKeyPrefix     = "regionctl-key:"
	tagRegion        = "regionctl-region:"
	tagAddressPrefix = "regionctl-address:"
)

var tagSafe = regexp.MustCompile(`^[A-Za-z0-9:_-]{1,200}$`)

func keyTag(key string) string {
	if tagSafe.MatchString(key) {
		return tagKeyPrefix + key
	}
	return tagKeyPrefix + "x" + hex.EncodeToString([]byte(key))
}

// addressTag names the resource at address: REGION:TYPE:NAME, or the
// address in hex when a part holds other characters (hex has no ':').
func addressTag(address string) string {
	region, typ, name, err := providers.SplitAddress(address)
	if s := region + ":" + typ + ":" + name; err == nil && tagSafe.MatchString(s) && strings.Count(s, ":") == 2 {
		return tagAddressPrefix + s
	}
	return tagAddressPrefix + "x" + hex.EncodeToString([]byte(address))
}

// ownerTags are the tags of everything the driver creates for address
// under key.
func ownerTags(address, key string) []string {
	tags := []string{tagOwner, keyTag(key), addressTag(address)}
	if region, _, _, err := providers.SplitAddress(address); err == nil && tagSafe.MatchString(region) {
		tags = append(tags, tagRegion+region)
	}
	return tags
}

// owned reports whether an object with tags is what Find looks for: the
// object an earlier create with the call's key made or, without a key
// (after `state rm`), the object regionctl made for the call's address —
// never one without regionctl's ownership tags.
func owned(tags []string, m kit.Meta) bool {
	if m.Key != "" {
		return hasTag(tags, keyTag(m.Key))
	}
	return hasTag(tags, tagOwner) && hasTag(tags, addressTag(m.Address))
}

func vpcDescription(address, key string) string {
	return "regionctl " + address + " " + keyTag(key)
}

// ownedVPC is owned for a VPC, by its description.
func ownedVPC(description string, m kit.Meta) bool {
	if m.Key != "" {
		return strings.HasSuffix(description, " "+keyTag(m.Key))
	}
	return strings.HasPrefix(description, "regionctl "+m.Address+" ")
}

type call[In, Out any] = kit.Call[kit.None, In, Out]

// poll waits for a cluster to run or be gone.
var poll = kit.Backoff{Initial: 100 * time.Millisecond, Max: 10 * time.Second, Jitter: 0.2}

// all reads every page of a list.
func all[T any](ctx context.Context, list func(*godo.ListOptions) ([]T, *godo.Response, error)) ([]T, error) {
	var out []T
	opt := &godo.ListOptions{Page: 1, PerPage: 200}
	for {
		items, resp, err := list(opt)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if resp == nil || resp.Links == nil || resp.Links.IsLastPage() {
			return out, nil
		}
		cur, err := resp.Links.CurrentPage()
		if err != nil {
			return nil, fmt.Errorf("list: %w", err)
		}
		opt.Page = cur + 1
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// ---- VPC ----

type vpcs struct{ d *Driver }

func (h vpcs) Create(ctx context.Context, c *call[vpcIn, vpcOut]) (string, error) {
	if id, err := h.Find(ctx, c); err != nil || id != "" {
		return id, err // an earlier create with this key made it
	}
	v, _, err := h.d.api.VPCs.Create(ctx, &godo.VPCCreateRequest{Name: c.In.Name, RegionSlug: c.In.Region,
		IPRange: c.In.IPRange, Description: vpcDescription(c.Address, c.Key)})
	if err != nil {
		return "", err
	}
	return v.ID, nil
}

func (h vpcs) Read(ctx context.Context, c *call[vpcIn, vpcOut]) (*kit.Live[vpcIn, vpcOut], error) {
	v, _, err := h.d.api.VPCs.Get(ctx, c.ID)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.Found(vpcIn{Name: v.Name, Region: v.RegionSlug, IPRange: v.IPRange}, vpcOut{ID: v.ID, URN: v.URN}), nil
}

func (h vpcs) Delete(ctx context.Context, c *call[vpcIn, vpcOut]) error {
	_, err := h.d.api.VPCs.Delete(ctx, c.ID)
	if notFound(err) {
		return nil
	}
	return err
}

// Find looks the key (or, without one, the address) up in the VPCs'
// descriptions.
func (h vpcs) Find(ctx context.Context, c *call[vpcIn, vpcOut]) (string, error) {
	list, err := all(ctx, func(o *godo.ListOptions) ([]*godo.VPC, *godo.Response, error) { return h.d.api.VPCs.List(ctx, o) })
	if err != nil {
		return "", err
	}
	for _, v := range list {
		if ownedVPC(v.Description, c.Meta) {
			return v.ID, nil
		}
	}
	return "", nil
}

// ---- node pools (shared by the cluster's first pool and further pools) ----

// scaling is a pool's count and autoscaling settings for DOKS: a fixed
// count when min == max, else autoscaling from min to max starting at min
// (at least one node).
func (p poolIn) scaling() (count int, auto bool) {
	if p.Min == p.Max {
		return p.Min, false
	}
	return min(max(p.Min, 1), p.Max), true
}

func (p poolIn) taints() ([]godo.Taint, error) {
	out := []godo.Taint{}
	for _, s := range p.Taints {
		t, err := providers.ParseTaint(s)
		if err != nil {
			return nil, err
		}
		out = append(out, godo.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
	}
	return out, nil
}

func (p poolIn) createRequest(tags []string) (*godo.KubernetesNodePoolCreateRequest, error) {
	taints, err := p.taints()
	if err != nil {
		return nil, err
	}
	count, auto := p.scaling()
	req := &godo.KubernetesNodePoolCreateRequest{Name: p.Name, Size: p.Size, Count: count, Tags: tags,
		Labels: p.Labels, Taints: taints, AutoScale: auto}
	if auto {
		req.MinNodes, req.MaxNodes = p.Min, p.Max
	}
	return req, nil
}

func (p poolIn) updateRequest(tags []string, current int) (*godo.KubernetesNodePoolUpdateRequest, error) {
	taints, err := p.taints()
	if err != nil {
		return nil, err
	}
	count, auto := p.scaling()
	if auto { // keep the autoscaler's count within the new bounds
		count = min(max(current, p.Min), p.Max)
	}
	labels := p.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	return &godo.KubernetesNodePoolUpdateRequest{Name: p.Name, Count: &count, Tags: tags, Labels: labels,
		Taints: &taints, AutoScale: &auto, MinNodes: &p.Min, MaxNodes: &p.Max}, nil
}

// livePool is a pool as DOKS reports it, in the shape Expand writes.
func livePool(p *godo.KubernetesNodePool) poolIn {
	in := poolIn{Name: p.Name, Size: p.Size, Min: p.Count, Max: p.Count}
	if p.AutoScale {
		in.Min, in.Max = p.MinNodes, p.MaxNodes
	}
	if len(p.Labels) > 0 {
		in.Labels = p.Labels
	}
	for _, t := range p.Taints {
		in.Taints = append(in.Taints, t.String())
	}
	return in
}

// userTags are a pool's or cluster's tags without those DOKS adds itself.
func userTags(tags []string) []string {
	return slices.DeleteFunc(slices.Clone(tags), func(t string) bool { return t == "k8s" || strings.HasPrefix(t, "k8s:") })
}

func hasTag(tags []string, tag string) bool { return slices.Contains(tags, tag) }

// ---- cluster ----

type clusters struct{ d *Driver }

// versionSlug resolves a minor to the release DOKS offers for it now.
func (d *Driver) versionSlug(ctx context.Context, minor string) (string, error) {
	opts, _, err := d.api.Kubernetes.GetOptions(ctx)
	if err != nil {
		return "", fmt.Errorf("read the Kubernetes versions DOKS offers: %w", err)
	}
	var offered []string
	for _, v := range opts.Versions {
		if catalog.Minor(v.KubernetesVersion) == minor {
			return v.Slug, nil
		}
		offered = append(offered, catalog.Minor(v.KubernetesVersion))
	}
	return "", kit.Classed(fmt.Errorf("DOKS offers no Kubernetes %s (it offers %s)", minor, strings.Join(offered, ", ")), errPermanent)
}

// errPermanent classes an error the driver knows will not pass by retrying.
var errPermanent = errors.New("permanent")

func (h clusters) Create(ctx context.Context, c *call[clusterIn, clusterOut]) (string, error) {
	id, err := h.Find(ctx, c)
	if err != nil {
		return "", err
	}
	if id == "" {
		slug, err := h.d.versionSlug(ctx, c.In.Version)
		if err != nil {
			return "", err
		}
		pool, err := c.In.pool().createRequest(ownerTags(c.Address, c.Key))
		if err != nil {
			return "", err
		}
		cl, _, err := h.d.api.Kubernetes.Create(ctx, &godo.KubernetesClusterCreateRequest{
			Name: c.In.Name, RegionSlug: c.In.Region, VersionSlug: slug, VPCUUID: c.In.VPCUUID,
			Tags: ownerTags(c.Address, c.Key), NodePools: []*godo.KubernetesNodePoolCreateRequest{pool}})
		if err != nil {
			return "", err
		}
		id = cl.ID
	}
	return id, h.Settle(ctx, &call[clusterIn, clusterOut]{Meta: kit.Meta{Address: c.Address, ID: id}})
}

// Settle waits until the cluster is running; a cluster DOKS reports in
// error failed for good.
func (h clusters) Settle(ctx context.Context, c *call[clusterIn, clusterOut]) error {
	return poll.Poll(ctx, func() (bool, error) {
		cl, _, err := h.d.api.Kubernetes.Get(ctx, c.ID)
		if err != nil {
			return false, err
		}
		switch cl.Status.State {
		case godo.KubernetesClusterStatusRunning:
			return true, nil
		case godo.KubernetesClusterStatusError:
			return false, kit.Classed(fmt.Errorf("DOKS cluster %s failed: %s", cl.Name, cl.Status.Message), providers.ErrCreateFailed)
		}
		return false, nil
	})
}

func (h clusters) Read(ctx context.Context, c *call[clusterIn, clusterOut]) (*kit.Live[clusterIn, clusterOut], error) {
	cl, _, err := h.d.api.Kubernetes.Get(ctx, c.ID)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	in := clusterIn{Name: cl.Name, Region: cl.RegionSlug, VPCUUID: cl.VPCUUID, Version: catalog.Minor(cl.VersionSlug)}
	out := clusterOut{ID: cl.ID, URN: cl.URN(), Endpoint: cl.Endpoint, VersionSlug: cl.VersionSlug}
	// The first pool is the one created with the cluster: found by its
	// recorded ID, else (right after a create) by its name.
	for _, p := range cl.NodePools {
		if p.ID == c.Recorded.PoolID || (c.Recorded.PoolID == "" && p.Name == c.Prev.PoolName) {
			lp := livePool(p)
			in.PoolName, in.PoolSize, in.PoolMin, in.PoolMax, in.PoolLabels, in.PoolTaints = lp.Name, lp.Size, lp.Min, lp.Max, lp.Labels, lp.Taints
			out.PoolID = p.ID
		}
	}
	if cl.Status != nil && cl.Status.State == godo.KubernetesClusterStatusRunning {
		endpoint, ca, err := h.d.kubeconfig(ctx, cl.ID)
		if err != nil {
			return nil, err
		}
		out.CA = ca
		if out.Endpoint == "" {
			out.Endpoint = endpoint
		}
	}
	return c.Found(in, out), nil
}

func (h clusters) Update(ctx context.Context, c *call[clusterIn, clusterOut], changed []string) error {
	if slices.Contains(changed, "version") {
		slug, err := h.d.versionSlug(ctx, c.In.Version)
		if err != nil {
			return err
		}
		if _, err := h.d.api.Kubernetes.Upgrade(ctx, c.ID, &godo.KubernetesClusterUpgradeRequest{VersionSlug: slug}); err != nil {
			return err
		}
	}
	if slices.ContainsFunc(changed, func(k string) bool { return strings.HasPrefix(k, "pool_") }) {
		p, _, err := h.d.api.Kubernetes.GetNodePool(ctx, c.ID, c.Recorded.PoolID)
		if err != nil {
			return fmt.Errorf("the cluster's first node pool %s: %w", c.Recorded.PoolID, err)
		}
		req, err := c.In.pool().updateRequest(userTags(p.Tags), p.Count)
		if err != nil {
			return err
		}
		if _, _, err := h.d.api.Kubernetes.UpdateNodePool(ctx, c.ID, p.ID, req); err != nil {
			return err
		}
	}
	return h.Settle(ctx, c)
}

// Delete deletes the cluster (with its node pools) and waits until the
// API no longer knows it.
func (h clusters) Delete(ctx context.Context, c *call[clusterIn, clusterOut]) error {
	_, err := h.d.api.Kubernetes.Delete(ctx, c.ID)
	if notFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return poll.Poll(ctx, func() (bool, error) {
		_, _, err := h.d.api.Kubernetes.Get(ctx, c.ID)
		if notFound(err) {
			return true, nil
		}
		return false, err
	})
}

// Find looks the key tag (or, without a key, the address tag) up among
// the account's clusters.
func (h clusters) Find(ctx context.Context, c *call[clusterIn, clusterOut]) (string, error) {
	list, err := all(ctx, func(o *godo.ListOptions) ([]*godo.KubernetesCluster, *godo.Response, error) {
		return h.d.api.Kubernetes.List(ctx, o)
	})
	if err != nil {
		return "", err
	}
	for _, cl := range list {
		if owned(cl.Tags, c.Meta) {
			return cl.ID, nil
		}
	}
	return "", nil
}

// ---- further node pools ----

type nodePools struct{ d *Driver }

func (h nodePools) Create(ctx context.Context, c *call[nodePoolIn, idOut]) (string, error) {
	if id, err := h.Find(ctx, c); err != nil || id != "" {
		return id, err
	}
	req, err := c.In.createRequest(ownerTags(c.Address, c.Key))
	if err != nil {
		return "", err
	}
	p, _, err := h.d.api.Kubernetes.CreateNodePool(ctx, c.In.ClusterID, req)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

func (h nodePools) Read(ctx context.Context, c *call[nodePoolIn, idOut]) (*kit.Live[nodePoolIn, idOut], error) {
	p, _, err := h.d.api.Kubernetes.GetNodePool(ctx, c.Prev.ClusterID, c.ID)
	if notFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return c.Found(nodePoolIn{ClusterID: c.Prev.ClusterID, poolIn: livePool(p)}, idOut{ID: p.ID}), nil
}

func (h nodePools) Update(ctx context.Context, c *call[nodePoolIn, idOut], _ []string) error {
	p, _, err := h.d.api.Kubernetes.GetNodePool(ctx, c.In.ClusterID, c.ID)
	if err != nil {
		return err
	}
	req, err := c.In.updateRequest(userTags(p.Tags), p.Count)
	if err != nil {
		return err
	}
	_, _, err = h.d.api.Kubernetes.UpdateNodePool(ctx, c.In.ClusterID, c.ID, req)
	return err
}

func (h nodePools) Delete(ctx context.Context, c *call[nodePoolIn, idOut]) error {
	_, err := h.d.api.Kubernetes.DeleteNodePool(ctx, c.Prev.ClusterID, c.ID)
	if notFound(err) {
		return nil
	}
	return err
}

func (h nodePools) Find(ctx context.Context, c *call[nodePoolIn, idOut]) (string, error) {
	list, err := all(ctx, func(o *godo.ListOptions) ([]*godo.KubernetesNodePool, *godo.Response, error) {
		return h.d.api.Kubernetes.ListNodePools(ctx, c.In.ClusterID, o)
	})
	if notFound(err) {
		return "", nil // the cluster is gone, and its pools with it
	}
	if err != nil {
		return "", err
	}
	for _, p := range list {
		if owned(p.Tags, c.Meta) {
			return p.ID, nil
		}
	}
	return "", nil
}

// ---- errors ----

func status(err error) int {
	var e *godo.ErrorResponse
	if errors.As(err, &e) && e.Response != nil {
		return e.Response.StatusCode
	}
	return 0
}

func notFound(err error) bool { return status(err) == http.StatusNotFound }

// classify tells the kit what kind of failure a DigitalOcean error is, by
// the API's status code, so the engine retries what may pass (429, a VPC
// whose cluster is still going away) and stops at what cannot (422).
func classify(err error) providers.ErrorClass {
	if errors.Is(err, errPermanent) {
		return providers.ClassPermanent
	}
	switch s := status(err); {
	case s == http.StatusNotFound:
		return providers.ClassNotFound
	case s == http.StatusTooManyRequests:
		return providers.ClassThrottled
	case s == http.StatusConflict, s == http.StatusForbidden && strings.Contains(err.Error(), "members"):
		return providers.ClassBusy
	case s == http.StatusBadRequest, s == http.StatusUnauthorized, s == http.StatusForbidden, s == http.StatusUnprocessableEntity:
		return providers.ClassPermanent
	}
	return providers.ClassUnknown
}
