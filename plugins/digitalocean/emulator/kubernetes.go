package emulator

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/plugins/digitalocean/catalog"
	"github.com/regionctl/regionctl/sandbox/kube"
)

// Cluster states, as the API writes status.state.
const (
	stateProvisioning = "provisioning"
	stateRunning      = "running"
	stateUpgrading    = "upgrading"
	stateError        = "error"
)

// Default pod and service ranges of a DOKS cluster.
const (
	defaultClusterSubnet = "10.244.0.0/16"
	defaultServiceSubnet = "10.245.0.0/16"
)

// cluster is a DOKS cluster as the API writes it, plus what the emulator
// keeps to itself (json "-" fields are not answered; Token, CreatedAt and
// ReadyAt are persisted under their own keys).
type cluster struct {
	ID            string      `json:"id"`
	Name          string      `json:"name"`
	Region        string      `json:"region"`
	Version       string      `json:"version"`
	ClusterSubnet string      `json:"cluster_subnet"`
	ServiceSubnet string      `json:"service_subnet"`
	VPCUUID       string      `json:"vpc_uuid"`
	IPv4          string      `json:"ipv4"`
	Endpoint      string      `json:"endpoint"`
	Tags          []string    `json:"tags"`
	NodePools     []*nodePool `json:"node_pools"`
	AutoUpgrade   bool        `json:"auto_upgrade"`
	SurgeUpgrade  bool        `json:"surge_upgrade"`
	HA            bool        `json:"ha"`
	Status        status      `json:"status"`
	CreatedAt     string      `json:"created_at"`
	UpdatedAt     string      `json:"updated_at"`

	// Token is the bearer token of the cluster's kubeconfig (the admin
	// credential), persisted so a restarted emulator accepts it still.
	Token   string    `json:"sandbox_token"`
	CAPEM   []byte    `json:"sandbox_ca,omitempty"`
	ReadyAt time.Time `json:"sandbox_ready_at"`
}

type status struct {
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
}

// nodePool is a DOKS node pool as the API writes it.
type nodePool struct {
	ID        string            `json:"id"`
	Name      string            `json:"name"`
	Size      string            `json:"size"`
	Count     int               `json:"count"`
	Tags      []string          `json:"tags"`
	Labels    map[string]string `json:"labels"`
	Taints    []taint           `json:"taints"`
	AutoScale bool              `json:"auto_scale"`
	MinNodes  int               `json:"min_nodes"`
	MaxNodes  int               `json:"max_nodes"`
	Nodes     []node            `json:"nodes"`
}

type taint struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Effect string `json:"effect"`
}

type node struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Status    status `json:"status"`
	DropletID string `json:"droplet_id"`
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

// nodePoolRequest is the body of a node pool create or update (and an
// entry of a cluster create's node_pools). godo writes taints with
// capitalised keys; JSON decoding ignores the case, as the API does.
type nodePoolRequest struct {
	Name      *string           `json:"name"`
	Size      string            `json:"size"`
	Count     *int              `json:"count"`
	Tags      []string          `json:"tags"`
	Labels    map[string]string `json:"labels"`
	Taints    *[]taint          `json:"taints"`
	AutoScale *bool             `json:"auto_scale"`
	MinNodes  *int              `json:"min_nodes"`
	MaxNodes  *int              `json:"max_nodes"`
}

func (e *Emulator) options(w *writer, _ *http.Request, _ []string) {
	type named struct {
		Name string `json:"name"`
		Slug string `json:"slug"`
	}
	type version struct {
		Slug              string   `json:"slug"`
		KubernetesVersion string   `json:"kubernetes_version"`
		SupportedFeatures []string `json:"supported_features"`
	}
	var out struct {
		Versions []version `json:"versions"`
		Regions  []named   `json:"regions"`
		Sizes    []named   `json:"sizes"`
	}
	for _, v := range catalog.Versions {
		out.Versions = append(out.Versions, version{Slug: v.Slug, KubernetesVersion: v.Kubernetes,
			SupportedFeatures: []string{"cluster-autoscaler", "docr-integration", "token-authentication"}})
	}
	for _, r := range catalog.Regions {
		out.Regions = append(out.Regions, named{Name: r.Name, Slug: r.Slug})
	}
	for _, s := range catalog.Sizes {
		out.Sizes = append(out.Sizes, named{Name: s.Name, Slug: s.Slug})
	}
	w.json(http.StatusOK, map[string]any{"options": out})
}

// versionSlug resolves a requested version ("1.33.6-do.1" or "latest").
func versionSlug(v string) (string, bool) {
	if v == "latest" {
		return catalog.Versions[0].Slug, true
	}
	ok := slices.ContainsFunc(catalog.Versions, func(x catalog.Version) bool { return x.Slug == v })
	return v, ok
}

func (e *Emulator) createCluster(w *writer, r *http.Request, _ []string) {
	var req struct {
		Name          string            `json:"name"`
		Region        string            `json:"region"`
		Version       string            `json:"version"`
		VPCUUID       string            `json:"vpc_uuid"`
		ClusterSubnet string            `json:"cluster_subnet"`
		ServiceSubnet string            `json:"service_subnet"`
		Tags          []string          `json:"tags"`
		NodePools     []nodePoolRequest `json:"node_pools"`
		AutoUpgrade   bool              `json:"auto_upgrade"`
		SurgeUpgrade  bool              `json:"surge_upgrade"`
		HA            *bool             `json:"ha"`
	}
	if !w.decode(r, &req) {
		return
	}
	c := &cluster{ID: newID(), Name: req.Name, Region: req.Region, VPCUUID: req.VPCUUID,
		ClusterSubnet: cmpOr(req.ClusterSubnet, defaultClusterSubnet), ServiceSubnet: cmpOr(req.ServiceSubnet, defaultServiceSubnet),
		AutoUpgrade: req.AutoUpgrade, SurgeUpgrade: req.SurgeUpgrade, HA: req.HA != nil && *req.HA,
		CreatedAt: now(), UpdatedAt: now()}
	slug, ok := versionSlug(req.Version)
	if msg := e.checkCluster(c, req.Version, ok, len(req.NodePools)); msg != "" {
		w.fail(http.StatusUnprocessableEntity, "%s", msg)
		return
	}
	c.Version = slug
	c.Tags = clusterTags(c.ID, req.Tags)
	for i, pr := range req.NodePools {
		p, msg := newNodePool(c, pr)
		if msg != "" {
			w.fail(http.StatusUnprocessableEntity, "node_pools[%d]: %s", i, msg)
			return
		}
		c.NodePools = append(c.NodePools, p)
	}
	if c.VPCUUID == "" { // the region's default VPC, made on first use
		c.VPCUUID = e.defaultVPC(c.Region).ID
	}
	c.Token = "doks-sandbox-" + strings.ReplaceAll(newID(), "-", "")
	c.Status = status{State: stateProvisioning, Message: "provisioning"}
	c.ReadyAt = time.Now().Add(e.cfg.Provisioning)
	c.IPv4 = "127.0.0.1"
	if e.kube != nil {
		if err := e.kube.Check(); err != nil {
			w.fail(http.StatusInternalServerError, "the emulator cannot give the cluster a Kubernetes API: %v", err)
			return
		}
		if _, err := e.ensureAPIServer(c); err != nil {
			w.fail(http.StatusInternalServerError, "start the cluster's Kubernetes API: %v", err)
			return
		}
	} else {
		c.Endpoint = "https://" + c.ID + ".k8s.ondigitalocean.test"
	}
	e.cloud.Clusters[c.ID] = c
	if e.save(w) {
		w.json(http.StatusCreated, map[string]any{"kubernetes_cluster": e.view(c)})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// clusterTags are the user's tags plus the two DOKS adds to every cluster.
func clusterTags(id string, user []string) []string {
	tags := []string{"k8s", "k8s:" + id}
	for _, t := range user {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// checkCluster is the API's validation of a new cluster.
func (e *Emulator) checkCluster(c *cluster, version string, versionOK bool, pools int) string {
	switch {
	case c.Name == "":
		return "name is required"
	case !knownRegion(c.Region):
		return fmt.Sprintf("region %q is not a valid region for Kubernetes clusters", c.Region)
	case !versionOK:
		return fmt.Sprintf("version %q is not a supported Kubernetes version slug (see /v2/kubernetes/options)", version)
	case pools == 0:
		return "a cluster needs at least one node pool"
	}
	for _, o := range e.cloud.Clusters {
		if o.Name == c.Name {
			return fmt.Sprintf("a cluster with the name %q already exists", c.Name)
		}
	}
	if c.VPCUUID != "" {
		v := e.cloud.VPCs[c.VPCUUID]
		if v == nil {
			return fmt.Sprintf("vpc_uuid %s does not exist", c.VPCUUID)
		}
		if v.Region != c.Region {
			return fmt.Sprintf("VPC %s is in %s, not in the cluster's region %s", v.Name, v.Region, c.Region)
		}
		vr, _ := netip.ParsePrefix(v.IPRange)
		for _, s := range []string{c.ClusterSubnet, c.ServiceSubnet} {
			if p, err := netip.ParsePrefix(s); err != nil {
				return fmt.Sprintf("subnet %q is not a valid CIDR block", s)
			} else if vr.IsValid() && p.Overlaps(vr) {
				return fmt.Sprintf("subnet %s overlaps the VPC's range %s", s, v.IPRange)
			}
		}
	}
	return ""
}

// defaultVPC is the region's default VPC, created when first needed.
func (e *Emulator) defaultVPC(region string) *vpc {
	for _, v := range e.cloud.VPCs {
		if v.Region == region && v.Default {
			return v
		}
	}
	id := newID()
	v := &vpc{ID: id, URN: "do:vpc:" + id, Name: "default-" + region, Region: region, Default: true, CreatedAt: now()}
	e.cloud.VPCs[id] = v
	return v
}

// newNodePool checks a pool of a create request and makes it.
func newNodePool(c *cluster, pr nodePoolRequest) (*nodePool, string) {
	p := &nodePool{ID: newID(), Size: pr.Size, Labels: pr.Labels, Taints: []taint{}}
	if pr.Name != nil {
		p.Name = *pr.Name
	}
	switch {
	case p.Name == "":
		return nil, "name is required"
	case slices.ContainsFunc(c.NodePools, func(o *nodePool) bool { return o.Name == p.Name }):
		return nil, fmt.Sprintf("a node pool with the name %q already exists in this cluster", p.Name)
	}
	if _, ok := catalog.SizeBySlug(pr.Size); !ok {
		return nil, fmt.Sprintf("size %q is not a valid node size (see /v2/kubernetes/options)", pr.Size)
	}
	p.Tags = poolTags(c.ID, pr.Tags)
	if msg := p.apply(pr); msg != "" {
		return nil, msg
	}
	return p, ""
}

func poolTags(clusterID string, user []string) []string {
	tags := []string{"k8s", "k8s:" + clusterID, "k8s:worker"}
	for _, t := range user {
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	return tags
}

// apply sets what a create or update may change: count, autoscaling,
// labels, taints; and the nodes to match the count.
func (p *nodePool) apply(pr nodePoolRequest) string {
	if pr.AutoScale != nil {
		p.AutoScale = *pr.AutoScale
	}
	if pr.MinNodes != nil {
		p.MinNodes = *pr.MinNodes
	}
	if pr.MaxNodes != nil {
		p.MaxNodes = *pr.MaxNodes
	}
	if pr.Count != nil {
		p.Count = *pr.Count
	}
	if pr.Labels != nil {
		p.Labels = pr.Labels
	}
	if pr.Taints != nil {
		p.Taints = *pr.Taints
	}
	for _, t := range p.Taints {
		if t.Key == "" || !slices.Contains([]string{"NoSchedule", "PreferNoSchedule", "NoExecute"}, t.Effect) {
			return fmt.Sprintf("taint %q: want a key and an effect of NoSchedule, PreferNoSchedule or NoExecute", t.Key+"="+t.Value+":"+t.Effect)
		}
	}
	if p.AutoScale {
		if p.MinNodes < 0 || p.MaxNodes < 1 || p.MinNodes > p.MaxNodes {
			return fmt.Sprintf("autoscaling needs 0 <= min_nodes <= max_nodes and max_nodes >= 1 (got %d and %d)", p.MinNodes, p.MaxNodes)
		}
		if p.Count < p.MinNodes || p.Count > p.MaxNodes {
			p.Count = max(p.MinNodes, min(p.Count, p.MaxNodes))
		}
	} else {
		p.MinNodes, p.MaxNodes = 0, 0
		if p.Count < 1 {
			return "count must be at least 1 without autoscaling"
		}
	}
	for len(p.Nodes) > p.Count {
		p.Nodes = p.Nodes[:len(p.Nodes)-1]
	}
	for i := len(p.Nodes); i < p.Count; i++ {
		id := newID()
		p.Nodes = append(p.Nodes, node{ID: id, Name: fmt.Sprintf("%s-%s", p.Name, id[:5]),
			Status: status{State: stateRunning}, DropletID: dropletID(id), CreatedAt: now(), UpdatedAt: now()})
	}
	return ""
}

// dropletID makes a droplet's numeric id from a node's UUID.
func dropletID(nodeID string) string {
	n, _ := strconv.ParseUint(strings.ReplaceAll(nodeID, "-", "")[:7], 16, 64)
	return strconv.FormatUint(300000000+n, 10)
}

// state moves a provisioning (or upgrading) cluster on: running once its
// time has come and its API server is ready, error if the API server
// failed.
func (e *Emulator) state(c *cluster) string {
	if c.Status.State != stateProvisioning && c.Status.State != stateUpgrading || time.Now().Before(c.ReadyAt) {
		return c.Status.State
	}
	if e.kube != nil {
		st := e.kube.State(kubeID(c))
		switch {
		case st.Err != nil:
			c.Status = status{State: stateError, Message: "the control plane failed to start: " + st.Err.Error()}
			return c.Status.State
		case !st.Ready:
			return c.Status.State
		}
	}
	c.Status = status{State: stateRunning, Message: ""}
	return c.Status.State
}

// view is the cluster as the API answers it, its state brought up to date.
func (e *Emulator) view(c *cluster) *cluster {
	e.state(c)
	return c
}

func (e *Emulator) listClusters(w *writer, r *http.Request, _ []string) {
	out := []*cluster{}
	for _, id := range slices.Sorted(maps.Keys(e.cloud.Clusters)) {
		out = append(out, e.view(e.cloud.Clusters[id]))
	}
	slices.SortStableFunc(out, func(a, b *cluster) int { return strings.Compare(a.CreatedAt, b.CreatedAt) })
	page(e, w, r, "kubernetes_clusters", out)
}

func (e *Emulator) cluster(w *writer, id string) *cluster {
	c := e.cloud.Clusters[id]
	if c == nil {
		w.fail(http.StatusNotFound, "The resource you were accessing could not be found.")
	}
	return c
}

func (e *Emulator) getCluster(w *writer, _ *http.Request, args []string) {
	if c := e.cluster(w, args[0]); c != nil {
		w.json(http.StatusOK, map[string]any{"kubernetes_cluster": e.view(c)})
	}
}

// updateCluster changes name, tags, auto and surge upgrade, and HA (which
// can only be turned on).
func (e *Emulator) updateCluster(w *writer, r *http.Request, args []string) {
	c := e.cluster(w, args[0])
	if c == nil {
		return
	}
	var req struct {
		Name         string   `json:"name"`
		Tags         []string `json:"tags"`
		AutoUpgrade  *bool    `json:"auto_upgrade"`
		SurgeUpgrade bool     `json:"surge_upgrade"`
		HA           *bool    `json:"ha"`
	}
	if !w.decode(r, &req) {
		return
	}
	if req.Name == "" {
		w.fail(http.StatusUnprocessableEntity, "name is required")
		return
	}
	if req.HA != nil && !*req.HA && c.HA {
		w.fail(http.StatusUnprocessableEntity, "a highly available control plane cannot be turned off")
		return
	}
	c.Name = req.Name
	c.Tags = clusterTags(c.ID, req.Tags)
	if req.AutoUpgrade != nil {
		c.AutoUpgrade = *req.AutoUpgrade
	}
	c.SurgeUpgrade = req.SurgeUpgrade
	if req.HA != nil {
		c.HA = *req.HA
	}
	c.UpdatedAt = now()
	if e.save(w) {
		w.json(http.StatusAccepted, map[string]any{"kubernetes_cluster": e.view(c)})
	}
}

// upgradeCluster moves the cluster to a newer version slug; downgrades are
// refused.
func (e *Emulator) upgradeCluster(w *writer, r *http.Request, args []string) {
	c := e.cluster(w, args[0])
	if c == nil {
		return
	}
	var req struct {
		Version string `json:"version"`
	}
	if !w.decode(r, &req) {
		return
	}
	slug, ok := versionSlug(req.Version)
	if !ok {
		w.fail(http.StatusUnprocessableEntity, "version %q is not a supported Kubernetes version slug", req.Version)
		return
	}
	if compareMinor(catalog.Minor(slug), catalog.Minor(c.Version)) < 0 {
		w.fail(http.StatusUnprocessableEntity, "cannot downgrade the cluster from %s to %s", c.Version, slug)
		return
	}
	c.Version = slug
	c.UpdatedAt = now()
	c.Status, c.ReadyAt = status{State: stateUpgrading, Message: "upgrading to " + slug}, time.Now()
	if e.kube != nil {
		if _, err := e.ensureAPIServer(c); err != nil { // the API server at the new minor
			w.fail(http.StatusInternalServerError, "upgrade the cluster's control plane: %v", err)
			return
		}
	}
	if e.save(w) {
		w.WriteHeader(http.StatusAccepted)
	}
}

// compareMinor compares "1.33" and "1.34" numerically.
func compareMinor(a, b string) int {
	var am, an, bm, bn int
	_, _ = fmt.Sscanf(a, "%d.%d", &am, &an)
	_, _ = fmt.Sscanf(b, "%d.%d", &bm, &bn)
	if am != bm {
		return am - bm
	}
	return an - bn
}

func (e *Emulator) deleteCluster(w *writer, _ *http.Request, args []string) {
	c := e.cluster(w, args[0])
	if c == nil {
		return
	}
	if e.kube != nil {
		if err := e.kube.Remove(kubeID(c)); err != nil {
			w.fail(http.StatusInternalServerError, "delete the cluster's control plane: %v", err)
			return
		}
	}
	delete(e.cloud.Clusters, c.ID)
	if e.save(w) {
		w.WriteHeader(http.StatusNoContent)
	}
}

// kubeconfig answers the cluster's kubeconfig (YAML, as the API does), with
// the admin token in it.
func (e *Emulator) kubeconfig(w *writer, _ *http.Request, args []string) {
	c := e.cluster(w, args[0])
	if c == nil {
		return
	}
	name := "do-" + c.Region + "-" + c.Name
	w.Header().Set("Content-Type", "application/yaml")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, `apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: %s
contexts:
- context:
    cluster: %s
    user: %s-admin
  name: %s
current-context: %s
users:
- name: %s-admin
  user:
    token: %s
`, base64.StdEncoding.EncodeToString(c.CAPEM), c.Endpoint, name, name, name, name, name, name, c.Token)
}

// credentials answers the cluster's endpoint, CA and token as JSON.
func (e *Emulator) credentials(w *writer, _ *http.Request, args []string) {
	c := e.cluster(w, args[0])
	if c == nil {
		return
	}
	w.json(http.StatusOK, map[string]any{"server": c.Endpoint, "certificate_authority_data": c.CAPEM,
		"token": c.Token, "expires_at": time.Now().Add(7 * 24 * time.Hour).UTC().Format(time.RFC3339)})
}

func (e *Emulator) listNodePools(w *writer, r *http.Request, args []string) {
	if c := e.cluster(w, args[0]); c != nil {
		page(e, w, r, "node_pools", c.NodePools)
	}
}

func (e *Emulator) createNodePool(w *writer, r *http.Request, args []string) {
	c := e.cluster(w, args[0])
	if c == nil {
		return
	}
	var req nodePoolRequest
	if !w.decode(r, &req) {
		return
	}
	p, msg := newNodePool(c, req)
	if msg != "" {
		w.fail(http.StatusUnprocessableEntity, "%s", msg)
		return
	}
	c.NodePools = append(c.NodePools, p)
	if e.save(w) {
		e.registerNodes(c, p)
		w.json(http.StatusCreated, map[string]any{"node_pool": p})
	}
}

func (e *Emulator) nodePool(w *writer, args []string) (*cluster, *nodePool) {
	c := e.cluster(w, args[0])
	if c == nil {
		return nil, nil
	}
	for _, p := range c.NodePools {
		if p.ID == args[1] {
			return c, p
		}
	}
	w.fail(http.StatusNotFound, "The resource you were accessing could not be found.")
	return nil, nil
}

func (e *Emulator) getNodePool(w *writer, _ *http.Request, args []string) {
	if _, p := e.nodePool(w, args); p != nil {
		w.json(http.StatusOK, map[string]any{"node_pool": p})
	}
}

// updateNodePool changes name, count, autoscaling, tags, labels and taints
// (the size cannot change).
func (e *Emulator) updateNodePool(w *writer, r *http.Request, args []string) {
	c, p := e.nodePool(w, args)
	if p == nil {
		return
	}
	var req nodePoolRequest
	if !w.decode(r, &req) {
		return
	}
	if req.Size != "" && req.Size != p.Size {
		w.fail(http.StatusUnprocessableEntity, "the size of a node pool cannot be changed")
		return
	}
	next := *p
	next.Nodes = slices.Clone(p.Nodes)
	if req.Name != nil && *req.Name != "" && *req.Name != p.Name {
		if slices.ContainsFunc(c.NodePools, func(o *nodePool) bool { return o.Name == *req.Name }) {
			w.fail(http.StatusUnprocessableEntity, "a node pool with the name %q already exists in this cluster", *req.Name)
			return
		}
		next.Name = *req.Name
	}
	if req.Tags != nil {
		next.Tags = poolTags(c.ID, req.Tags)
	}
	if msg := next.apply(req); msg != "" {
		w.fail(http.StatusUnprocessableEntity, "%s", msg)
		return
	}
	renamed := p.Name != next.Name
	old := *p
	*p = next
	if e.save(w) {
		if renamed {
			e.unregisterNodes(c, &old)
		}
		e.registerNodes(c, p)
		w.json(http.StatusAccepted, map[string]any{"node_pool": p})
	}
}

// deleteNodePool refuses the cluster's last pool, as DOKS does.
func (e *Emulator) deleteNodePool(w *writer, _ *http.Request, args []string) {
	c, p := e.nodePool(w, args)
	if p == nil {
		return
	}
	if len(c.NodePools) == 1 {
		w.fail(http.StatusUnprocessableEntity, "a cluster must have at least one node pool: delete the cluster instead")
		return
	}
	c.NodePools = slices.DeleteFunc(c.NodePools, func(o *nodePool) bool { return o == p })
	if e.save(w) {
		e.unregisterNodes(c, p)
		w.WriteHeader(http.StatusNoContent)
	}
}

// unregisterNodes removes the pool's Node objects.
func (e *Emulator) unregisterNodes(c *cluster, p *nodePool) {
	if e.kube != nil {
		_ = e.kube.SetNodePool(kubeID(c), p.Name, nil)
	}
}

// kubeID is the cluster's id among the emulator's API servers.
func kubeID(c *cluster) string { return "do-" + c.ID }

// ensureAPIServer starts (or finds) the cluster's kube-apiserver, which
// accepts the cluster's kubeconfig token, and records its endpoint and CA.
func (e *Emulator) ensureAPIServer(c *cluster) (kube.Cluster, error) {
	token := c.Token
	auth := func(got string) (kube.User, error) {
		if got != token {
			return kube.User{}, fmt.Errorf("not the token of cluster %s", c.ID)
		}
		return kube.User{Name: "doks-admin", UID: "doks-admin-" + c.ID, Groups: []string{"system:masters", "system:authenticated"}}, nil
	}
	kc, err := e.kube.Ensure(kubeID(c), kube.Spec{Auth: auth, Bootstrap: bootstrap, Version: catalog.Minor(c.Version),
		ServiceCIDR: c.ServiceSubnet, PodCIDR: c.ClusterSubnet})
	if err != nil {
		return kube.Cluster{}, err
	}
	c.Endpoint, c.CAPEM = kc.Endpoint, kc.CAPEM
	for _, p := range c.NodePools {
		e.registerNodes(c, p)
	}
	return kc, nil
}

// registerNodes makes the pool's nodes Node objects in the cluster's API
// server (kept Ready by kwok), with the labels and taints DOKS gives them.
func (e *Emulator) registerNodes(c *cluster, p *nodePool) {
	if e.kube == nil {
		return
	}
	size, _ := catalog.SizeBySlug(p.Size)
	var nodes []kube.Node
	for _, n := range p.Nodes {
		labels := map[string]string{
			"doks.digitalocean.com/node-pool":    p.Name,
			"doks.digitalocean.com/node-pool-id": p.ID,
			"doks.digitalocean.com/node-id":      n.ID,
			"doks.digitalocean.com/version":      c.Version,
		}
		maps.Copy(labels, p.Labels)
		var taints []kube.Taint
		for _, t := range p.Taints {
			taints = append(taints, kube.Taint{Key: t.Key, Value: t.Value, Effect: t.Effect})
		}
		nodes = append(nodes, kube.Node{Name: n.Name, ProviderID: "digitalocean://" + n.DropletID, InstanceType: p.Size,
			Region: c.Region, Labels: labels, Taints: taints, KubeletVersion: "v" + strings.SplitN(c.Version, "-", 2)[0],
			CPU: fmt.Sprint(size.CPU), Memory: fmt.Sprintf("%dGi", size.MemoryGiB)})
	}
	_ = e.kube.SetNodePool(kubeID(c), p.Name, nodes) // fails only for a cluster without an API server
}

// bootstrap creates what DOKS puts in every new cluster: the default
// StorageClass do-block-storage on DigitalOcean's block storage CSI driver.
func bootstrap(ctx context.Context, cs kubernetes.Interface) error {
	expand, bind, reclaim := true, storagev1.VolumeBindingImmediate, corev1.PersistentVolumeReclaimDelete
	sc := &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{Name: "do-block-storage",
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}},
		Provisioner: "dobs.csi.digitalocean.com", AllowVolumeExpansion: &expand, VolumeBindingMode: &bind,
	}
	sc.ReclaimPolicy = &reclaim
	_, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
