package gcp

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/container/apiv1/containerpb"

	"github.com/regionctl/regionctl/providers"
)

// ---- versions ----

var versionNumbers = regexp.MustCompile(`[0-9]+`)

// compareVersions orders GKE versions ("1.33.4-gke.1200") by their
// numbers: major, minor, patch, then the GKE build.
func compareVersions(a, b string) int {
	x, y := versionNumbers.FindAllString(a, -1), versionNumbers.FindAllString(b, -1)
	for i := 0; i < len(x) && i < len(y); i++ {
		p, _ := strconv.Atoi(x[i])
		q, _ := strconv.Atoi(y[i])
		if p != q {
			if p < q {
				return -1
			}
			return 1
		}
	}
	return len(x) - len(y)
}

// MinorOf returns the Kubernetes minor of a GKE version: "1.33.4-gke.1200"
// → "1.33"; "" when v is not a version.
func MinorOf(v string) string {
	n := versionNumbers.FindAllString(v, 3)
	if len(n) < 2 || !strings.HasPrefix(v, n[0]+"."+n[1]) {
		return ""
	}
	return n[0] + "." + n[1]
}

// ResolveVersion picks the newest version of a Kubernetes minor ("1.33")
// among the versions GKE offers ("1.33.2-gke.1111", "1.33.4-gke.1200", …).
func ResolveVersion(offered []string, minor string) (string, bool) {
	best := ""
	for _, v := range offered {
		if MinorOf(v) == minor && (best == "" || compareVersions(v, best) > 0) {
			best = v
		}
	}
	return best, best != ""
}

func minorParts(v string) (int, int, bool) {
	var a, b int
	if _, err := fmt.Sscanf(v, "%d.%d", &a, &b); err != nil {
		return 0, 0, false
	}
	return a, b, true
}

// CheckUpgrade returns an error unless moving from Kubernetes minor from to
// minor to is one step forward (or no change): GKE upgrades a control
// plane one minor at a time and never downgrades one.
func CheckUpgrade(from, to string) error {
	if from == to {
		return nil
	}
	fa, fb, ok1 := minorParts(from)
	ta, tb, ok2 := minorParts(to)
	switch {
	case !ok1 || !ok2:
		return fmt.Errorf("cannot compare Kubernetes versions %q and %q", from, to)
	case ta < fa || ta == fa && tb < fb:
		return fmt.Errorf("cannot downgrade Kubernetes %s to %s: GKE does not downgrade; set kubernetesVersion back to %s", from, to, from)
	case ta != fa || tb != fb+1:
		return fmt.Errorf("cannot upgrade Kubernetes %s to %s in one step: GKE upgrades one minor version at a time; set kubernetesVersion to %d.%d, apply, then continue", from, to, fa, fb+1)
	}
	return nil
}

// serverConfig returns what GKE offers in the call's location.
func (c *call) serverConfig(ctx context.Context) (*containerpb.ServerConfig, error) {
	var sc *containerpb.ServerConfig
	err := c.d.retry(ctx, func() (err error) {
		sc, err = c.cl.gke.GetServerConfig(ctx, &containerpb.GetServerConfigRequest{Name: fmt.Sprintf("projects/%s/locations/%s", c.project, c.loc)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get GKE server config of %s: %w", c.loc, err)
	}
	return sc, nil
}

// masterVersion resolves a minor to the newest version the location offers
// in the release channel (or among all master versions when the server
// config lists no such channel).
func (c *call) masterVersion(ctx context.Context, minor, channel string) (string, error) {
	sc, err := c.serverConfig(ctx)
	if err != nil {
		return "", err
	}
	offered, from := sc.GetValidMasterVersions(), "offered"
	for _, ch := range sc.GetChannels() {
		if ch.GetChannel().String() == channel {
			offered, from = ch.GetValidVersions(), "offered in the "+channel+" release channel"
		}
	}
	if v, ok := ResolveVersion(offered, minor); ok {
		return v, nil
	}
	return "", fmt.Errorf("GKE in %s has no Kubernetes %s version %s (%s)", c.loc, minor, from, minorsOf(offered))
}

// nodeVersion resolves a node pool's minor: the cluster's own version when
// the minors agree (always valid for nodes), else the newest node version
// of that minor. Nodes never run a newer minor than the control plane.
func (c *call) nodeVersion(ctx context.Context, cl *containerpb.Cluster, minor string) (string, error) {
	master := cl.GetCurrentMasterVersion()
	if MinorOf(master) == minor {
		return master, nil
	}
	if compareVersions(minor, MinorOf(master)) > 0 {
		return "", fmt.Errorf("node pools cannot run Kubernetes %s while cluster %s runs %s: upgrade the cluster first", minor, cl.GetName(), master)
	}
	sc, err := c.serverConfig(ctx)
	if err != nil {
		return "", err
	}
	if v, ok := ResolveVersion(sc.GetValidNodeVersions(), minor); ok {
		return v, nil
	}
	return "", fmt.Errorf("GKE in %s has no Kubernetes %s node version (%s)", c.loc, minor, minorsOf(sc.GetValidNodeVersions()))
}

func minorsOf(vs []string) string {
	seen := map[string]bool{}
	for _, v := range vs {
		if m := MinorOf(v); m != "" {
			seen[m] = true
		}
	}
	if len(seen) == 0 {
		return "none"
	}
	ms := slices.SortedFunc(maps.Keys(seen), compareVersions)
	return "minors: " + strings.Join(ms, ", ")
}

// ---- operations ----

// waitOp polls a GKE operation until it is DONE and returns its error.
func (c *call) waitOp(ctx context.Context, op *containerpb.Operation) error {
	if op == nil {
		return nil
	}
	name := op.GetName()
	if !strings.Contains(name, "/") {
		name = fmt.Sprintf("projects/%s/locations/%s/operations/%s", c.project, c.loc, name)
	}
	done := func() (bool, error) {
		if op.GetStatus() != containerpb.Operation_DONE {
			return false, nil
		}
		if e := op.GetError(); e != nil && e.GetCode() != 0 {
			return true, fmt.Errorf("GKE operation %s (%s) failed: %s", lastSegment(name), op.GetOperationType(), e.GetMessage())
		}
		return true, nil
	}
	return c.d.poll(ctx, func() (bool, error) {
		if ok, err := done(); ok {
			return true, err
		}
		err := c.d.retry(ctx, func() error {
			next, err := c.cl.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: name})
			if err == nil {
				op = next
			}
			return err
		})
		if err != nil {
			return false, fmt.Errorf("GKE operation %s: %w", lastSegment(name), err)
		}
		return done()
	})
}

// mutate runs a GKE call that starts an operation, retrying while another
// operation runs on the cluster, and waits for it.
func (c *call) mutate(ctx context.Context, fn func() (*containerpb.Operation, error)) error {
	var op *containerpb.Operation
	err := c.d.retryWhile(ctx, isBusy, func() (err error) { op, err = fn(); return err })
	if err != nil {
		return err
	}
	return c.waitOp(ctx, op)
}

// ---- gcp_container_cluster ----
//
// A cluster's ID is its name; its output "uid" is GKE's unique cluster ID.

type clusterHandler struct{}

func clusterPath(project, loc, name string) string {
	return fmt.Sprintf("projects/%s/locations/%s/clusters/%s", project, loc, name)
}

func (clusterHandler) get(ctx context.Context, c *call, name string) (*containerpb.Cluster, error) {
	var cl *containerpb.Cluster
	err := c.d.retry(ctx, func() (err error) {
		cl, err = c.cl.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterPath(c.project, c.loc, name)})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return cl, err
}

// usable reports whether a cluster an earlier create made may be adopted.
func usableCluster(cl *containerpb.Cluster) bool {
	s := cl.GetStatus()
	return s != containerpb.Cluster_ERROR && s != containerpb.Cluster_STOPPING
}

func (h clusterHandler) find(ctx context.Context, c *call) (string, error) {
	cl, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || cl == nil || !usableCluster(cl) || !c.matchLabels(cl.GetResourceLabels()) {
		return "", err
	}
	return cl.GetName(), nil
}

func releaseChannel(name string) *containerpb.ReleaseChannel {
	return &containerpb.ReleaseChannel{Channel: containerpb.ReleaseChannel_Channel(containerpb.ReleaseChannel_Channel_value[name])}
}

func authorizedNetworks(cidrs []string) *containerpb.MasterAuthorizedNetworksConfig {
	cfg := &containerpb.MasterAuthorizedNetworksConfig{Enabled: len(cidrs) > 0}
	for _, cidr := range cidrs {
		cfg.CidrBlocks = append(cfg.CidrBlocks, &containerpb.MasterAuthorizedNetworksConfig_CidrBlock{DisplayName: "regionctl", CidrBlock: cidr})
	}
	return cfg
}

func (h clusterHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	cl, err := h.get(ctx, c, name)
	if err != nil {
		return "", err
	}
	if cl != nil {
		mine := c.matchLabels(cl.GetResourceLabels())
		switch {
		case !usableCluster(cl) && (mine || c.sameAddressLabels(cl.GetResourceLabels())):
			// A failed create of ours left it broken: replace it.
			if err := h.deleteByName(ctx, c, name); err != nil {
				return "", fmt.Errorf("remove GKE cluster %s left in %s by a failed create: %w", name, cl.GetStatus(), err)
			}
			cl = nil
		case !mine:
			return "", fmt.Errorf("GKE cluster %s already exists in %s and was not made by this create (its %s label is %q)", name, c.loc, LabelAddress, cl.GetResourceLabels()[LabelAddress])
		}
	}
	if cl == nil {
		version, err := c.masterVersion(ctx, str(c.in, "version"), str(c.in, "release_channel"))
		if err != nil {
			return "", err
		}
		spec := &containerpb.Cluster{
			Name: name, Description: "Managed by regionctl: " + c.address,
			Network: str(c.in, "network"), Subnetwork: str(c.in, "subnetwork"),
			Locations:              strList(c.in, "node_locations"),
			InitialClusterVersion:  version,
			ReleaseChannel:         releaseChannel(str(c.in, "release_channel")),
			WorkloadIdentityConfig: &containerpb.WorkloadIdentityConfig{WorkloadPool: str(c.in, "workload_pool")},
			IpAllocationPolicy: &containerpb.IPAllocationPolicy{
				UseIpAliases:               true,
				ClusterSecondaryRangeName:  str(c.in, "pods_range_name"),
				ServicesSecondaryRangeName: str(c.in, "services_range_name"),
			},
			MasterAuthorizedNetworksConfig: authorizedNetworks(strList(c.in, "master_authorized_networks")),
			ResourceLabels:                 c.labels(),
			AddonsConfig: &containerpb.AddonsConfig{
				GcePersistentDiskCsiDriverConfig: &containerpb.GcePersistentDiskCsiDriverConfig{Enabled: true},
			},
			// GKE needs a node pool at create; this one is removed below so
			// every spec pool is its own resource.
			NodePools: []*containerpb.NodePool{{
				Name: bootstrapPool, InitialNodeCount: 1, Version: version,
				Config: &containerpb.NodeConfig{
					MachineType: bootstrapMachine, ImageType: imageType, ResourceLabels: c.labels(),
					WorkloadMetadataConfig: &containerpb.WorkloadMetadataConfig{Mode: containerpb.WorkloadMetadataConfig_GKE_METADATA},
				},
			}},
		}
		if boolean(c.in, "private_nodes") {
			spec.PrivateClusterConfig = &containerpb.PrivateClusterConfig{
				EnablePrivateNodes:    true,
				EnablePrivateEndpoint: boolean(c.in, "private_endpoint"),
				MasterIpv4CidrBlock:   str(c.in, "master_ipv4_cidr_block"),
			}
		}
		var op *containerpb.Operation
		err = c.d.retry(ctx, func() (err error) {
			op, err = c.cl.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: fmt.Sprintf("projects/%s/locations/%s", c.project, c.loc), Cluster: spec})
			return err
		})
		if isAlreadyExists(err) {
			if got, gerr := h.get(ctx, c, name); gerr == nil && got != nil && c.matchLabels(got.GetResourceLabels()) {
				err, op = nil, nil // an earlier attempt of ours made it
			}
		}
		if err != nil {
			return "", fmt.Errorf("create GKE cluster %s: %w", name, err)
		}
		if err := c.waitOp(ctx, op); err != nil {
			return "", h.cleanUpFailed(ctx, c, name, err)
		}
	}
	if _, err := h.waitRunning(ctx, c, name); err != nil {
		return "", h.cleanUpFailed(ctx, c, name, err)
	}
	if err := c.removeBootstrapPool(ctx, name); err != nil {
		return "", err
	}
	return name, nil
}

// cleanUpFailed deletes a cluster a failed create left in ERROR, so a
// failed apply leaks nothing; the next create makes it again.
func (h clusterHandler) cleanUpFailed(ctx context.Context, c *call, name string, cause error) error {
	if ctx.Err() != nil {
		return cause // interrupted, not failed: Find adopts it later
	}
	cl, err := h.get(ctx, c, name)
	if err != nil || cl == nil || usableCluster(cl) {
		return cause
	}
	cause = fmt.Errorf("%w: %w", providers.ErrCreateFailed, cause)
	if derr := h.deleteByName(ctx, c, name); derr != nil {
		return fmt.Errorf("%w (and deleting the broken cluster failed: %v)", cause, derr)
	}
	return fmt.Errorf("%w (the broken cluster was deleted; the next apply creates it again)", cause)
}

// waitRunning polls a cluster until it serves.
func (h clusterHandler) waitRunning(ctx context.Context, c *call, name string) (*containerpb.Cluster, error) {
	var cl *containerpb.Cluster
	err := c.d.poll(ctx, func() (bool, error) {
		var err error
		if cl, err = h.get(ctx, c, name); err != nil {
			return false, err
		}
		if cl == nil {
			return false, fmt.Errorf("GKE cluster %s disappeared while it was being created", name)
		}
		switch cl.GetStatus() {
		case containerpb.Cluster_RUNNING, containerpb.Cluster_RECONCILING, containerpb.Cluster_DEGRADED:
			return true, nil
		case containerpb.Cluster_ERROR, containerpb.Cluster_STOPPING:
			return false, fmt.Errorf("GKE cluster %s is %s: %s", name, cl.GetStatus(), cl.GetStatusMessage())
		}
		return false, nil
	})
	return cl, err
}

// removeBootstrapPool deletes the node pool a cluster was created with,
// if it is still there (also after an interrupted create was adopted).
func (c *call) removeBootstrapPool(ctx context.Context, cluster string) error {
	pc := *c
	pc.in = providers.Values{"cluster": cluster}
	np, err := nodePoolHandler{}.get(ctx, &pc, bootstrapPool)
	if err != nil || np == nil {
		return err
	}
	err = c.mutate(ctx, func() (*containerpb.Operation, error) {
		return c.cl.gke.DeleteNodePool(ctx, &containerpb.DeleteNodePoolRequest{Name: poolPath(c.project, c.loc, cluster, bootstrapPool)})
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove the bootstrap node pool %s of cluster %s: %w", bootstrapPool, cluster, err)
	}
	return nil
}

func (h clusterHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	cl, err := h.get(ctx, c, c.id)
	if err != nil || cl == nil {
		return false, nil, nil, err
	}
	version := cl.GetCurrentMasterVersion()
	if version == "" {
		version = cl.GetInitialClusterVersion()
	}
	var cidrs []string
	if man := cl.GetMasterAuthorizedNetworksConfig(); man.GetEnabled() {
		for _, b := range man.GetCidrBlocks() {
			cidrs = append(cidrs, b.GetCidrBlock())
		}
	}
	pcc := cl.GetPrivateClusterConfig()
	in := providers.Values{
		"project": c.project, "location": first(cl.GetLocation(), c.loc), "name": cl.GetName(),
		"network": lastSegment(cl.GetNetwork()), "subnetwork": lastSegment(cl.GetSubnetwork()),
		"node_locations":      orderLike(cl.GetLocations(), strList(c.prev, "node_locations")),
		"pods_range_name":     cl.GetIpAllocationPolicy().GetClusterSecondaryRangeName(),
		"services_range_name": cl.GetIpAllocationPolicy().GetServicesSecondaryRangeName(),
		"version":             MinorOf(version), "release_channel": cl.GetReleaseChannel().GetChannel().String(),
		"workload_pool":              cl.GetWorkloadIdentityConfig().GetWorkloadPool(),
		"private_nodes":              pcc.GetEnablePrivateNodes(),
		"private_endpoint":           pcc.GetEnablePrivateEndpoint(),
		"master_authorized_networks": orderLike(cidrs, strList(c.prev, "master_authorized_networks")),
	}
	if pcc.GetEnablePrivateNodes() && pcc.GetMasterIpv4CidrBlock() != "" {
		in["master_ipv4_cidr_block"] = pcc.GetMasterIpv4CidrBlock()
	}
	// The CA certificate is public (every kubeconfig holds it); no token,
	// password or client key is ever an output.
	out := providers.Values{
		"id": cl.GetName(), "uid": cl.GetId(), "endpoint": cl.GetEndpoint(),
		"ca_certificate": cl.GetMasterAuth().GetClusterCaCertificate(), "self_link": cl.GetSelfLink(),
		"master_version": cl.GetCurrentMasterVersion(), "status": cl.GetStatus().String(),
		"server": "",
	}
	if ep := cl.GetEndpoint(); ep != "" {
		out["server"] = "https://" + ep // the API server's URL, as gcloud writes it in a kubeconfig
	}
	return true, in, out, nil
}

// update changes, each with its own operation: the release channel, the
// node locations, the private endpoint, the authorized networks, then the
// Kubernetes version (one minor up, to the newest patch the channel offers).
func (h clusterHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		switch k {
		case "version", "release_channel", "node_locations", "private_endpoint", "master_authorized_networks":
		default:
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	cl, err := h.get(ctx, c, c.id)
	if err != nil {
		return err
	}
	if cl == nil {
		return fmt.Errorf("GKE cluster %s: %w", c.id, providers.ErrNotFound)
	}
	updateWith := func(what string, u *containerpb.ClusterUpdate) error {
		err := c.mutate(ctx, func() (*containerpb.Operation, error) {
			return c.cl.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterPath(c.project, c.loc, c.id), Update: u})
		})
		if err != nil {
			return fmt.Errorf("set %s: %w", what, err)
		}
		return nil
	}
	if want := str(c.in, "release_channel"); want != cl.GetReleaseChannel().GetChannel().String() {
		if err := updateWith("release channel "+want, &containerpb.ClusterUpdate{DesiredReleaseChannel: releaseChannel(want)}); err != nil {
			return err
		}
	}
	if want := strList(c.in, "node_locations"); !sameSet(want, cl.GetLocations()) {
		if err := updateWith("node locations "+strings.Join(want, ", "), &containerpb.ClusterUpdate{DesiredLocations: want}); err != nil {
			return err
		}
	}
	if want := boolean(c.in, "private_endpoint"); want != cl.GetPrivateClusterConfig().GetEnablePrivateEndpoint() {
		if err := updateWith(fmt.Sprintf("private endpoint %v", want), &containerpb.ClusterUpdate{DesiredEnablePrivateEndpoint: &want}); err != nil {
			return err
		}
	}
	var have []string
	if man := cl.GetMasterAuthorizedNetworksConfig(); man.GetEnabled() {
		for _, b := range man.GetCidrBlocks() {
			have = append(have, b.GetCidrBlock())
		}
	}
	if want := strList(c.in, "master_authorized_networks"); !sameSet(want, have) {
		if err := updateWith("master authorized networks", &containerpb.ClusterUpdate{DesiredMasterAuthorizedNetworksConfig: authorizedNetworks(want)}); err != nil {
			return err
		}
	}
	if want, have := str(c.in, "version"), MinorOf(cl.GetCurrentMasterVersion()); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("GKE cluster %s: %w", c.id, err)
		}
		v, err := c.masterVersion(ctx, want, str(c.in, "release_channel"))
		if err != nil {
			return err
		}
		if err := updateWith("Kubernetes version "+v, &containerpb.ClusterUpdate{DesiredMasterVersion: v}); err != nil {
			return err
		}
	}
	return nil
}

func (h clusterHandler) delete(ctx context.Context, c *call) error {
	return h.deleteByName(ctx, c, c.id)
}

// deleteByName deletes a cluster (with its node pools) and waits until it
// is gone; gone already is success.
func (h clusterHandler) deleteByName(ctx context.Context, c *call, name string) error {
	err := c.mutate(ctx, func() (*containerpb.Operation, error) {
		return c.cl.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterPath(c.project, c.loc, name)})
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete GKE cluster %s: %w", name, err)
	}
	return c.d.poll(ctx, func() (bool, error) {
		cl, err := h.get(ctx, c, name)
		return cl == nil && err == nil, err
	})
}

// ---- gcp_container_node_pool ----
//
// A node pool's ID is "<pool name>@<cluster uid>": the cluster's name comes
// from the cluster input, and the uid tells a pool of a replaced cluster
// (gone with it) from a same-named pool of the new one.

type nodePoolHandler struct{}

func poolPath(project, loc, cluster, pool string) string {
	return clusterPath(project, loc, cluster) + "/nodePools/" + pool
}

func clusterOf(c *call) string {
	return first(str(c.in, "cluster"), str(c.prev, "cluster"))
}

func splitPoolID(id string) (name, uid string) {
	name, uid, _ = strings.Cut(id, "@")
	return name, uid
}

func (nodePoolHandler) get(ctx context.Context, c *call, name string) (*containerpb.NodePool, error) {
	var np *containerpb.NodePool
	err := c.d.retry(ctx, func() (err error) {
		np, err = c.cl.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: poolPath(c.project, c.loc, clusterOf(c), name)})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return np, err
}

func usablePool(np *containerpb.NodePool) bool {
	s := np.GetStatus()
	return s != containerpb.NodePool_ERROR && s != containerpb.NodePool_STOPPING
}

// cluster returns the pool's cluster, or nil when it is gone or (with a
// uid) has been replaced by another of the same name.
func (nodePoolHandler) cluster(ctx context.Context, c *call, uid string) (*containerpb.Cluster, error) {
	if clusterOf(c) == "" {
		return nil, nil
	}
	cl, err := clusterHandler{}.get(ctx, c, clusterOf(c))
	if err != nil || cl == nil {
		return nil, err
	}
	if uid != "" && cl.GetId() != "" && cl.GetId() != uid {
		return nil, nil
	}
	return cl, nil
}

func poolID(name string, cl *containerpb.Cluster) string {
	if cl.GetId() == "" {
		return name
	}
	return name + "@" + cl.GetId()
}

func (h nodePoolHandler) find(ctx context.Context, c *call) (string, error) {
	cl, err := h.cluster(ctx, c, "")
	if err != nil || cl == nil {
		return "", err
	}
	np, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || np == nil || !usablePool(np) || !c.matchLabels(np.GetConfig().GetResourceLabels()) {
		return "", err
	}
	return poolID(np.GetName(), cl), nil
}

func gkeTaints(v any) []*containerpb.NodeTaint {
	var out []*containerpb.NodeTaint
	l, _ := v.([]any)
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, &containerpb.NodeTaint{
			Key: str(m, "key"), Value: str(m, "value"),
			Effect: containerpb.NodeTaint_Effect(containerpb.NodeTaint_Effect_value[str(m, "effect")]),
		})
	}
	return out
}

func taintID(t *containerpb.NodeTaint) string {
	return t.GetKey() + "=" + t.GetValue() + ":" + t.GetEffect().String()
}

// taintValues renders taints as inputs, in the order of prev when both hold
// the same set.
func taintValues(live []*containerpb.NodeTaint, prev any) []any {
	ids := make([]string, len(live))
	byID := map[string]*containerpb.NodeTaint{}
	for i, t := range live {
		ids[i] = taintID(t)
		byID[ids[i]] = t
	}
	var want []string
	for _, t := range gkeTaints(prev) {
		want = append(want, taintID(t))
	}
	out := []any{}
	for _, id := range orderLike(ids, want) {
		t := byID[id.(string)]
		out = append(out, map[string]any{"key": t.GetKey(), "value": t.GetValue(), "effect": t.GetEffect().String()})
	}
	return out
}

func accelerators(v any) []*containerpb.AcceleratorConfig {
	var out []*containerpb.AcceleratorConfig
	l, _ := v.([]any)
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, &containerpb.AcceleratorConfig{
				AcceleratorType: str(m, "type"), AcceleratorCount: int64(integer(m, "count")),
				GpuDriverInstallationConfig: &containerpb.GPUDriverInstallationConfig{
					GpuDriverVersion: containerpb.GPUDriverInstallationConfig_LATEST.Enum(),
				},
			})
		}
	}
	return out
}

func autoscaling(in providers.Values) *containerpb.NodePoolAutoscaling {
	return &containerpb.NodePoolAutoscaling{
		Enabled: true, MinNodeCount: int32(integer(in, "min_node_count")), MaxNodeCount: int32(integer(in, "max_node_count")),
		LocationPolicy: containerpb.NodePoolAutoscaling_BALANCED,
	}
}

func (h nodePoolHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	cl, err := h.cluster(ctx, c, "")
	if err != nil {
		return "", err
	}
	if cl == nil {
		return "", fmt.Errorf("GKE cluster %s does not exist", clusterOf(c))
	}
	np, err := h.get(ctx, c, name)
	if err != nil {
		return "", err
	}
	if np != nil {
		l := np.GetConfig().GetResourceLabels()
		mine := c.matchLabels(l)
		switch {
		case !usablePool(np) && (mine || c.sameAddressLabels(l)):
			if err := h.deleteByName(ctx, c, name); err != nil {
				return "", fmt.Errorf("remove node pool %s left in %s by a failed create: %w", name, np.GetStatus(), err)
			}
			np = nil
		case !mine:
			return "", fmt.Errorf("node pool %s already exists in cluster %s and was not made by this create (its %s label is %q)", name, clusterOf(c), LabelAddress, l[LabelAddress])
		}
	}
	if np == nil {
		version, err := c.nodeVersion(ctx, cl, str(c.in, "version"))
		if err != nil {
			return "", err
		}
		as := autoscaling(c.in)
		pool := &containerpb.NodePool{
			Name: name, Version: version, Locations: strList(c.in, "node_locations"),
			InitialNodeCount: max(as.MinNodeCount, 1),
			Autoscaling:      as,
			Management:       &containerpb.NodeManagement{AutoRepair: true, AutoUpgrade: true},
			Config: &containerpb.NodeConfig{
				MachineType: str(c.in, "machine_type"), Spot: boolean(c.in, "spot"), ImageType: str(c.in, "image_type"),
				Labels: strMap(c.in, "labels"), Taints: gkeTaints(c.in["taints"]), ResourceLabels: c.labels(),
				Accelerators:           accelerators(c.in["accelerators"]),
				WorkloadMetadataConfig: &containerpb.WorkloadMetadataConfig{Mode: containerpb.WorkloadMetadataConfig_GKE_METADATA},
			},
		}
		if as.MinNodeCount == 0 {
			// Start empty when the pool may scale to zero; GKE needs ≥ 1
			// only without autoscaling.
			pool.InitialNodeCount = 0
		}
		err = c.d.retryWhile(ctx, isBusy, func() error {
			op, err := c.cl.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterPath(c.project, c.loc, clusterOf(c)), NodePool: pool})
			if isAlreadyExists(err) {
				if got, gerr := h.get(ctx, c, name); gerr == nil && got != nil && c.matchLabels(got.GetConfig().GetResourceLabels()) {
					return nil // an earlier attempt of ours made it
				}
			}
			if err != nil {
				return err
			}
			return c.waitOp(ctx, op)
		})
		if err != nil {
			return "", h.cleanUpFailed(ctx, c, name, fmt.Errorf("create node pool %s: %w", name, err))
		}
	}
	if err := h.waitRunning(ctx, c, name); err != nil {
		return "", h.cleanUpFailed(ctx, c, name, err)
	}
	if err := c.removeBootstrapPool(ctx, clusterOf(c)); err != nil {
		return "", err
	}
	return poolID(name, cl), nil
}

// cleanUpFailed deletes a pool a failed create left in ERROR.
func (h nodePoolHandler) cleanUpFailed(ctx context.Context, c *call, name string, cause error) error {
	if ctx.Err() != nil {
		return cause
	}
	np, err := h.get(ctx, c, name)
	if err != nil || np == nil || usablePool(np) {
		return cause
	}
	cause = fmt.Errorf("%w: %w", providers.ErrCreateFailed, cause)
	if derr := h.deleteByName(ctx, c, name); derr != nil {
		return fmt.Errorf("%w (and deleting the broken node pool failed: %v)", cause, derr)
	}
	return fmt.Errorf("%w (the broken node pool was deleted; the next apply creates it again)", cause)
}

func (h nodePoolHandler) waitRunning(ctx context.Context, c *call, name string) error {
	return c.d.poll(ctx, func() (bool, error) {
		np, err := h.get(ctx, c, name)
		if err != nil {
			return false, err
		}
		if np == nil {
			return false, fmt.Errorf("node pool %s disappeared while it was being created", name)
		}
		switch np.GetStatus() {
		case containerpb.NodePool_RUNNING, containerpb.NodePool_RUNNING_WITH_ERROR, containerpb.NodePool_RECONCILING:
			return true, nil
		case containerpb.NodePool_ERROR, containerpb.NodePool_STOPPING:
			return false, fmt.Errorf("node pool %s is %s: %s", name, np.GetStatus(), np.GetStatusMessage())
		}
		return false, nil
	})
}

func (h nodePoolHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	name, uid := splitPoolID(c.id)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil || cl == nil {
		return false, nil, nil, err
	}
	np, err := h.get(ctx, c, name)
	if err != nil || np == nil {
		return false, nil, nil, err
	}
	cfg := np.GetConfig()
	accels := []any{}
	for _, a := range cfg.GetAccelerators() {
		accels = append(accels, map[string]any{"type": a.GetAcceleratorType(), "count": int(a.GetAcceleratorCount())})
	}
	labels := map[string]any{}
	for k, v := range cfg.GetLabels() {
		labels[k] = v
	}
	in := providers.Values{
		"project": c.project, "location": c.loc, "cluster": cl.GetName(), "name": np.GetName(),
		"machine_type": cfg.GetMachineType(), "spot": cfg.GetSpot(), "accelerators": accels, "image_type": cfg.GetImageType(),
		"version": MinorOf(np.GetVersion()), "node_locations": orderLike(np.GetLocations(), strList(c.prev, "node_locations")),
		"min_node_count": int(np.GetAutoscaling().GetMinNodeCount()), "max_node_count": int(np.GetAutoscaling().GetMaxNodeCount()),
		"labels": labels, "taints": taintValues(cfg.GetTaints(), c.prev["taints"]),
	}
	out := providers.Values{
		"id": np.GetName(), "self_link": np.GetSelfLink(), "status": np.GetStatus().String(), "node_version": np.GetVersion(),
	}
	return true, in, out, nil
}

// update upgrades the pool's Kubernetes version (to the cluster's), then
// sets node locations, autoscaling limits, labels and taints, each with its
// own operation.
func (h nodePoolHandler) update(ctx context.Context, c *call, changed []string) error {
	for _, k := range changed {
		switch k {
		case "version", "node_locations", "min_node_count", "max_node_count", "labels", "taints":
		default:
			return fmt.Errorf("%s: %w", k, errNoUpdate)
		}
	}
	name, uid := splitPoolID(c.id)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil {
		return err
	}
	var np *containerpb.NodePool
	if cl != nil {
		if np, err = h.get(ctx, c, name); err != nil {
			return err
		}
	}
	if np == nil {
		return fmt.Errorf("node pool %s: %w", name, providers.ErrNotFound)
	}
	path := poolPath(c.project, c.loc, clusterOf(c), name)
	updatePool := func(what string, req *containerpb.UpdateNodePoolRequest) error {
		req.Name = path
		if err := c.mutate(ctx, func() (*containerpb.Operation, error) { return c.cl.gke.UpdateNodePool(ctx, req) }); err != nil {
			return fmt.Errorf("set %s: %w", what, err)
		}
		return nil
	}
	if want, have := str(c.in, "version"), MinorOf(np.GetVersion()); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("node pool %s: %w", name, err)
		}
		v, err := c.nodeVersion(ctx, cl, want)
		if err != nil {
			return err
		}
		if err := updatePool("Kubernetes version "+v, &containerpb.UpdateNodePoolRequest{NodeVersion: v, ImageType: np.GetConfig().GetImageType()}); err != nil {
			return err
		}
	}
	if want := strList(c.in, "node_locations"); !sameSet(want, np.GetLocations()) {
		if err := updatePool("node locations", &containerpb.UpdateNodePoolRequest{Locations: want}); err != nil {
			return err
		}
	}
	if as := np.GetAutoscaling(); !as.GetEnabled() || int(as.GetMinNodeCount()) != integer(c.in, "min_node_count") || int(as.GetMaxNodeCount()) != integer(c.in, "max_node_count") {
		err := c.mutate(ctx, func() (*containerpb.Operation, error) {
			return c.cl.gke.SetNodePoolAutoscaling(ctx, &containerpb.SetNodePoolAutoscalingRequest{Name: path, Autoscaling: autoscaling(c.in)})
		})
		if err != nil {
			return fmt.Errorf("set autoscaling %d..%d nodes per zone: %w", integer(c.in, "min_node_count"), integer(c.in, "max_node_count"), err)
		}
	}
	if want := strMap(c.in, "labels"); !maps.Equal(want, np.GetConfig().GetLabels()) && (len(want) > 0 || len(np.GetConfig().GetLabels()) > 0) {
		if err := updatePool("labels", &containerpb.UpdateNodePoolRequest{Labels: &containerpb.NodeLabels{Labels: want}}); err != nil {
			return err
		}
	}
	want := gkeTaints(c.in["taints"])
	var wantIDs, haveIDs []string
	for _, t := range want {
		wantIDs = append(wantIDs, taintID(t))
	}
	for _, t := range np.GetConfig().GetTaints() {
		haveIDs = append(haveIDs, taintID(t))
	}
	if !sameSet(wantIDs, haveIDs) {
		if err := updatePool("taints", &containerpb.UpdateNodePoolRequest{Taints: &containerpb.NodeTaints{Taints: want}}); err != nil {
			return err
		}
	}
	return nil
}

func (h nodePoolHandler) delete(ctx context.Context, c *call) error {
	name, uid := splitPoolID(c.id)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil || cl == nil {
		return err // the cluster, and the pool with it, is gone
	}
	return h.deleteByName(ctx, c, name)
}

func (h nodePoolHandler) deleteByName(ctx context.Context, c *call, name string) error {
	err := c.mutate(ctx, func() (*containerpb.Operation, error) {
		return c.cl.gke.DeleteNodePool(ctx, &containerpb.DeleteNodePoolRequest{Name: poolPath(c.project, c.loc, clusterOf(c), name)})
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete node pool %s: %w", name, err)
	}
	return c.d.poll(ctx, func() (bool, error) {
		np, err := h.get(ctx, c, name)
		return np == nil && err == nil, err
	})
}
