package gcp

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/providers/kubernetes"
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

// CheckUpgrade returns an error unless moving a cluster from Kubernetes
// minor from to minor to is one step forward (or no change): GKE upgrades
// one minor at a time and never downgrades.
func CheckUpgrade(from, to string) error {
	return providers.CheckMinorUpgrade("GKE", from, to)
}

// serverConfig returns what GKE offers in the call's location.
func (e *env) serverConfig(ctx context.Context) (*containerpb.ServerConfig, error) {
	var sc *containerpb.ServerConfig
	err := e.d.retry(ctx, func() (err error) {
		sc, err = e.cl.gke.GetServerConfig(ctx, &containerpb.GetServerConfigRequest{Name: fmt.Sprintf("projects/%s/locations/%s", e.project, e.loc)})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get GKE server config of %s: %w", e.loc, err)
	}
	return sc, nil
}

// masterVersion resolves a minor to the newest version the location offers
// in the release channel (or among all master versions when the server
// config lists no such channel).
func (e *env) masterVersion(ctx context.Context, minor, channel string) (string, error) {
	sc, err := e.serverConfig(ctx)
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
	return "", fmt.Errorf("GKE in %s has no Kubernetes %s version %s (%s)", e.loc, minor, from, minorsOf(offered))
}

// nodeVersion resolves a node pool's minor: the cluster's own version when
// the minors agree (always valid for nodes), else the newest node version
// of that minor. Nodes never run a newer minor than the control plane.
func (e *env) nodeVersion(ctx context.Context, cl *containerpb.Cluster, minor string) (string, error) {
	master := cl.GetCurrentMasterVersion()
	if MinorOf(master) == minor {
		return master, nil
	}
	if compareVersions(minor, MinorOf(master)) > 0 {
		return "", fmt.Errorf("node pools cannot run Kubernetes %s while cluster %s runs %s: upgrade the cluster first", minor, cl.GetName(), master)
	}
	sc, err := e.serverConfig(ctx)
	if err != nil {
		return "", err
	}
	if v, ok := ResolveVersion(sc.GetValidNodeVersions(), minor); ok {
		return v, nil
	}
	return "", fmt.Errorf("GKE in %s has no Kubernetes %s node version (%s)", e.loc, minor, minorsOf(sc.GetValidNodeVersions()))
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
func (e *env) waitOp(ctx context.Context, op *containerpb.Operation) error {
	if op == nil {
		return nil
	}
	name := op.GetName()
	if !strings.Contains(name, "/") {
		name = fmt.Sprintf("projects/%s/locations/%s/operations/%s", e.project, e.loc, name)
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
	return e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		if ok, err := done(); ok {
			return true, err
		}
		err := e.d.retry(ctx, func() error {
			next, err := e.cl.gke.GetOperation(ctx, &containerpb.GetOperationRequest{Name: name})
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

// mutate runs a GKE call that starts an operation on cluster, and waits
// for it, in the cluster's queue: GKE runs one operation per cluster at a
// time, so the driver's own operations on a cluster wait for each other
// instead of colliding. It still retries while another operation (one
// GKE or someone else started) runs on the cluster.
func (e *env) mutate(ctx context.Context, cluster string, fn func() (*containerpb.Operation, error)) error {
	return e.inQueue(ctx, cluster, func() error {
		var op *containerpb.Operation
		err := e.d.retryWhile(ctx, isBusy, func() (err error) { op, err = fn(); return err })
		if err != nil {
			return err
		}
		return e.waitOp(ctx, op)
	})
}

// inQueue runs fn when no other operation of this driver on the cluster
// runs (kit.Queues).
func (e *env) inQueue(ctx context.Context, cluster string, fn func() error) error {
	return e.d.clusterOps.Do(ctx, clusterPath(e.project, e.loc, cluster), fn)
}

// ---- gcp_container_cluster ----
//
// A cluster's ID is its name; its output "uid" is GKE's unique cluster ID.

type clusterIn struct {
	Project                  string   `kit:"project,replace" why:"a cluster lives in one project"`
	Location                 string   `kit:"location,replace" why:"a cluster lives in one location"`
	Name                     string   `kit:"name,replace" why:"GKE cannot rename a cluster"`
	Network                  string   `kit:"network,replace" why:"GKE cannot move a cluster to another network"`
	Subnetwork               string   `kit:"subnetwork,replace" why:"GKE cannot move a cluster to another subnetwork"`
	NodeLocations            []string `kit:"node_locations,set"`
	PodsRangeName            string   `kit:"pods_range_name,replace" why:"GKE cannot change a cluster's pod range"`
	ServicesRangeName        string   `kit:"services_range_name,replace" why:"GKE cannot change a cluster's service range"`
	Version                  string   `kit:"version"`
	ReleaseChannel           string   `kit:"release_channel"`
	WorkloadPool             string   `kit:"workload_pool,replace" why:"regionctl sets Workload Identity only when it creates the cluster"`
	PrivateNodes             bool     `kit:"private_nodes,replace" why:"GKE cannot switch an existing cluster to or from private nodes"`
	PrivateEndpoint          bool     `kit:"private_endpoint"`
	MasterAuthorizedNetworks []string `kit:"master_authorized_networks,set"`
	// MasterIPv4CIDRBlock is the private control plane's range (private
	// nodes only).
	MasterIPv4CIDRBlock *string `kit:"master_ipv4_cidr_block,omitempty,replace" why:"GKE cannot move a private control plane to another range"`
	// SecurityGroup is the group of Google Groups for RBAC
	// (gke-security-groups@DOMAIN), nil when it is off.
	SecurityGroup *string `kit:"security_group,omitempty"`
}

type clusterOut struct {
	ID  string `kit:"id"`
	UID string `kit:"uid"`
	// Endpoint is the API server's address; Server its URL, as gcloud
	// writes it in a kubeconfig.
	Endpoint string `kit:"endpoint"`
	Server   string `kit:"server"`
	// The CA certificate is public (every kubeconfig holds it); no token,
	// password or client key is ever an output.
	CACertificate string `kit:"ca_certificate"`
	SelfLink      string `kit:"self_link"`
	MasterVersion string `kit:"master_version"`
	Status        string `kit:"status"`
}

type clusterCall = call[clusterIn, clusterOut]

type clusterHandler struct{}

func clusterPath(project, loc, name string) string {
	return fmt.Sprintf("projects/%s/locations/%s/clusters/%s", project, loc, name)
}

// getCluster returns the cluster called name, or nil.
func (e *env) getCluster(ctx context.Context, name string) (*containerpb.Cluster, error) {
	var cl *containerpb.Cluster
	err := e.d.retry(ctx, func() (err error) {
		cl, err = e.cl.gke.GetCluster(ctx, &containerpb.GetClusterRequest{Name: clusterPath(e.project, e.loc, name)})
		return err
	})
	if isNotFound(err) {
		return nil, nil
	}
	return cl, err
}

// usableCluster reports whether a cluster an earlier create made may be
// adopted.
func usableCluster(cl *containerpb.Cluster) bool {
	s := cl.GetStatus()
	return s != containerpb.Cluster_ERROR && s != containerpb.Cluster_STOPPING
}

func (h clusterHandler) Find(ctx context.Context, c *clusterCall) (string, error) {
	cl, err := c.Env.getCluster(ctx, c.In.Name)
	if err != nil || cl == nil || !usableCluster(cl) || !matchLabels(c.Meta, cl.GetResourceLabels()) {
		return "", err
	}
	return cl.GetName(), nil
}

func releaseChannel(name string) *containerpb.ReleaseChannel {
	return &containerpb.ReleaseChannel{Channel: containerpb.ReleaseChannel_Channel(containerpb.ReleaseChannel_Channel_value[name])}
}

// groupsConfig turns Google Groups for RBAC on with group, or off (nil).
func groupsConfig(group *string) *containerpb.AuthenticatorGroupsConfig {
	if deref(group) == "" {
		return &containerpb.AuthenticatorGroupsConfig{}
	}
	return &containerpb.AuthenticatorGroupsConfig{Enabled: true, SecurityGroup: *group}
}

func authorizedNetworks(cidrs []string) *containerpb.MasterAuthorizedNetworksConfig {
	cfg := &containerpb.MasterAuthorizedNetworksConfig{Enabled: len(cidrs) > 0}
	for _, cidr := range cidrs {
		cfg.CidrBlocks = append(cfg.CidrBlocks, &containerpb.MasterAuthorizedNetworksConfig_CidrBlock{DisplayName: "regionctl", CidrBlock: cidr})
	}
	return cfg
}

func (h clusterHandler) Create(ctx context.Context, c *clusterCall) (string, error) {
	e, in, name := c.Env, c.In, c.In.Name
	cl, err := e.getCluster(ctx, name)
	if err != nil {
		return "", err
	}
	if cl != nil {
		mine := matchLabels(c.Meta, cl.GetResourceLabels())
		switch {
		case !usableCluster(cl) && (mine || sameAddressLabels(c.Meta, cl.GetResourceLabels())):
			// A failed create of ours left it broken: replace it.
			if err := e.deleteCluster(ctx, name); err != nil {
				return "", fmt.Errorf("remove GKE cluster %s left in %s by a failed create: %w", name, cl.GetStatus(), err)
			}
			cl = nil
		case !mine:
			return "", fmt.Errorf("GKE cluster %s already exists in %s and was not made by this create (its %s label is %q)", name, e.loc, LabelAddress, cl.GetResourceLabels()[LabelAddress])
		}
	}
	if cl == nil {
		version, err := e.masterVersion(ctx, in.Version, in.ReleaseChannel)
		if err != nil {
			return "", err
		}
		spec := &containerpb.Cluster{
			Name: name, Description: "Managed by regionctl: " + c.Address,
			Network: in.Network, Subnetwork: in.Subnetwork,
			Locations:              in.NodeLocations,
			InitialClusterVersion:  version,
			ReleaseChannel:         releaseChannel(in.ReleaseChannel),
			WorkloadIdentityConfig: &containerpb.WorkloadIdentityConfig{WorkloadPool: in.WorkloadPool},
			IpAllocationPolicy: &containerpb.IPAllocationPolicy{
				UseIpAliases:               true,
				ClusterSecondaryRangeName:  in.PodsRangeName,
				ServicesSecondaryRangeName: in.ServicesRangeName,
			},
			MasterAuthorizedNetworksConfig: authorizedNetworks(in.MasterAuthorizedNetworks),
			ResourceLabels:                 labels(c.Meta),
			AddonsConfig: &containerpb.AddonsConfig{
				GcePersistentDiskCsiDriverConfig: &containerpb.GcePersistentDiskCsiDriverConfig{Enabled: true},
			},
			// GKE needs a node pool at create; this one is removed below so
			// every spec pool is its own resource.
			NodePools: []*containerpb.NodePool{{
				Name: bootstrapPool, InitialNodeCount: 1, Version: version,
				Config: &containerpb.NodeConfig{
					MachineType: bootstrapMachine, ImageType: imageCOS, ResourceLabels: labels(c.Meta),
					WorkloadMetadataConfig: &containerpb.WorkloadMetadataConfig{Mode: containerpb.WorkloadMetadataConfig_GKE_METADATA},
				},
			}},
		}
		if in.SecurityGroup != nil {
			spec.AuthenticatorGroupsConfig = groupsConfig(in.SecurityGroup)
		}
		if in.PrivateNodes {
			spec.PrivateClusterConfig = &containerpb.PrivateClusterConfig{
				EnablePrivateNodes:    true,
				EnablePrivateEndpoint: in.PrivateEndpoint,
				MasterIpv4CidrBlock:   deref(in.MasterIPv4CIDRBlock),
			}
		}
		var op *containerpb.Operation
		err = e.d.retry(ctx, func() (err error) {
			op, err = e.cl.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: fmt.Sprintf("projects/%s/locations/%s", e.project, e.loc), Cluster: spec})
			return err
		})
		if isAlreadyExists(err) {
			if got, gerr := e.getCluster(ctx, name); gerr == nil && got != nil && matchLabels(c.Meta, got.GetResourceLabels()) {
				err, op = nil, nil // an earlier attempt of ours made it
			}
		}
		if err != nil {
			return "", fmt.Errorf("create GKE cluster %s: %w", name, err)
		}
		if err := e.waitOp(ctx, op); err != nil {
			return "", h.cleanUpFailed(ctx, e, name, err)
		}
	}
	if _, err := e.waitClusterRunning(ctx, name); err != nil {
		return "", h.cleanUpFailed(ctx, e, name, err)
	}
	if err := e.removeBootstrapPool(ctx, name); err != nil {
		return "", err
	}
	return name, nil
}

// cleanUpFailed deletes a cluster a failed create left in ERROR, so a
// failed apply leaks nothing; the next create makes it again.
func (clusterHandler) cleanUpFailed(ctx context.Context, e *env, name string, cause error) error {
	if ctx.Err() != nil {
		return cause // interrupted, not failed: Find adopts it later
	}
	cl, err := e.getCluster(ctx, name)
	if err != nil || cl == nil || usableCluster(cl) {
		return cause
	}
	cause = kit.Classed(cause, providers.ErrCreateFailed)
	if derr := e.deleteCluster(ctx, name); derr != nil {
		return fmt.Errorf("%w (and deleting the broken cluster failed: %v)", cause, derr)
	}
	return fmt.Errorf("%w (the broken cluster was deleted; the next apply creates it again)", cause)
}

// waitClusterRunning polls a cluster until it serves.
func (e *env) waitClusterRunning(ctx context.Context, name string) (*containerpb.Cluster, error) {
	var cl *containerpb.Cluster
	err := e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		var err error
		if cl, err = e.getCluster(ctx, name); err != nil {
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
func (e *env) removeBootstrapPool(ctx context.Context, cluster string) error {
	np, err := e.getPool(ctx, cluster, bootstrapPool)
	if err != nil || np == nil {
		return err
	}
	err = e.mutate(ctx, cluster, func() (*containerpb.Operation, error) {
		return e.cl.gke.DeleteNodePool(ctx, &containerpb.DeleteNodePoolRequest{Name: poolPath(e.project, e.loc, cluster, bootstrapPool)})
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("remove the bootstrap node pool %s of cluster %s: %w", bootstrapPool, cluster, err)
	}
	return nil
}

func (h clusterHandler) Read(ctx context.Context, c *clusterCall) (*kit.Live[clusterIn, clusterOut], error) {
	cl, err := c.Env.getCluster(ctx, c.ID)
	if err != nil || cl == nil {
		return nil, err
	}
	return h.live(c, cl), nil
}

func (clusterHandler) live(c *clusterCall, cl *containerpb.Cluster) *kit.Live[clusterIn, clusterOut] {
	e := c.Env
	version := cmp.Or(cl.GetCurrentMasterVersion(), cl.GetInitialClusterVersion())
	pcc := cl.GetPrivateClusterConfig()
	in := clusterIn{
		Project: e.project, Location: cmp.Or(cl.GetLocation(), e.loc), Name: cl.GetName(),
		Network: lastSegment(cl.GetNetwork()), Subnetwork: lastSegment(cl.GetSubnetwork()),
		NodeLocations:     cl.GetLocations(),
		PodsRangeName:     cl.GetIpAllocationPolicy().GetClusterSecondaryRangeName(),
		ServicesRangeName: cl.GetIpAllocationPolicy().GetServicesSecondaryRangeName(),
		Version:           MinorOf(version), ReleaseChannel: cl.GetReleaseChannel().GetChannel().String(),
		WorkloadPool:    cl.GetWorkloadIdentityConfig().GetWorkloadPool(),
		PrivateNodes:    pcc.GetEnablePrivateNodes(),
		PrivateEndpoint: pcc.GetEnablePrivateEndpoint(),
	}
	if man := cl.GetMasterAuthorizedNetworksConfig(); man.GetEnabled() {
		for _, b := range man.GetCidrBlocks() {
			in.MasterAuthorizedNetworks = append(in.MasterAuthorizedNetworks, b.GetCidrBlock())
		}
	}
	if g := cl.GetAuthenticatorGroupsConfig(); g.GetEnabled() {
		in.SecurityGroup = proto.String(g.GetSecurityGroup())
	}
	if pcc.GetEnablePrivateNodes() && pcc.GetMasterIpv4CidrBlock() != "" {
		in.MasterIPv4CIDRBlock = proto.String(pcc.GetMasterIpv4CidrBlock())
	}
	out := clusterOut{
		ID: cl.GetName(), UID: cl.GetId(), Endpoint: cl.GetEndpoint(),
		CACertificate: cl.GetMasterAuth().GetClusterCaCertificate(), SelfLink: cl.GetSelfLink(),
		MasterVersion: cl.GetCurrentMasterVersion(), Status: cl.GetStatus().String(),
	}
	if ep := cl.GetEndpoint(); ep != "" {
		out.Server = "https://" + ep
	}
	if cl.GetStatus() == containerpb.Cluster_ERROR {
		return c.FoundFailed(in, out)
	}
	return c.Found(in, out)
}

// Settle finishes an adopted cluster: it waits until GKE serves it with its
// endpoint and CA (a cluster adopted PROVISIONING has neither yet), then
// removes the bootstrap node pool the interrupted create would have
// removed. A cluster in ERROR, or gone, is left for Read to report.
func (clusterHandler) Settle(ctx context.Context, c *clusterCall) error {
	e := c.Env
	var cl *containerpb.Cluster
	err := e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		var err error
		if cl, err = e.getCluster(ctx, c.ID); err != nil || cl == nil {
			return cl == nil, err
		}
		switch cl.GetStatus() {
		case containerpb.Cluster_ERROR:
			return true, nil
		case containerpb.Cluster_RUNNING, containerpb.Cluster_RECONCILING, containerpb.Cluster_DEGRADED:
			return cl.GetEndpoint() != "" && cl.GetMasterAuth().GetClusterCaCertificate() != "", nil
		}
		return false, nil // PROVISIONING, STOPPING
	})
	if err != nil {
		return fmt.Errorf("wait for GKE cluster %s: %w", c.ID, err)
	}
	if cl == nil || cl.GetStatus() == containerpb.Cluster_ERROR {
		return nil
	}
	return e.removeBootstrapPool(ctx, c.ID)
}

// Update changes, each with its own operation: the release channel, the
// node locations, the private endpoint, the authorized networks, then the
// Kubernetes version (one minor up, to the newest patch the channel offers).
func (h clusterHandler) Update(ctx context.Context, c *clusterCall, _ []string) error {
	e, in := c.Env, c.In
	cl, err := e.getCluster(ctx, c.ID)
	if err != nil {
		return err
	}
	if cl == nil {
		return fmt.Errorf("GKE cluster %s: %w", c.ID, providers.ErrNotFound)
	}
	updateWith := func(what string, u *containerpb.ClusterUpdate) error {
		err := e.mutate(ctx, c.ID, func() (*containerpb.Operation, error) {
			return e.cl.gke.UpdateCluster(ctx, &containerpb.UpdateClusterRequest{Name: clusterPath(e.project, e.loc, c.ID), Update: u})
		})
		if err != nil {
			return fmt.Errorf("set %s: %w", what, err)
		}
		return nil
	}
	if want := in.ReleaseChannel; want != cl.GetReleaseChannel().GetChannel().String() {
		if err := updateWith("release channel "+want, &containerpb.ClusterUpdate{DesiredReleaseChannel: releaseChannel(want)}); err != nil {
			return err
		}
	}
	if want := in.NodeLocations; !kit.SameSet(want, cl.GetLocations()) {
		if err := updateWith("node locations "+strings.Join(want, ", "), &containerpb.ClusterUpdate{DesiredLocations: want}); err != nil {
			return err
		}
	}
	if want := in.PrivateEndpoint; want != cl.GetPrivateClusterConfig().GetEnablePrivateEndpoint() {
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
	if want := in.MasterAuthorizedNetworks; !kit.SameSet(want, have) {
		if err := updateWith("master authorized networks", &containerpb.ClusterUpdate{DesiredMasterAuthorizedNetworksConfig: authorizedNetworks(want)}); err != nil {
			return err
		}
	}
	if want, have := deref(in.SecurityGroup), cl.GetAuthenticatorGroupsConfig(); want != have.GetSecurityGroup() || (want != "") != have.GetEnabled() {
		if err := updateWith("security group "+want, &containerpb.ClusterUpdate{DesiredAuthenticatorGroupsConfig: groupsConfig(in.SecurityGroup)}); err != nil {
			return err
		}
	}
	if want, have := in.Version, MinorOf(cl.GetCurrentMasterVersion()); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("GKE cluster %s: %w", c.ID, err)
		}
		v, err := e.masterVersion(ctx, want, in.ReleaseChannel)
		if err != nil {
			return err
		}
		if err := updateWith("Kubernetes version "+v, &containerpb.ClusterUpdate{DesiredMasterVersion: v}); err != nil {
			return err
		}
	}
	return nil
}

func (h clusterHandler) Delete(ctx context.Context, c *clusterCall) error {
	return c.Env.deleteCluster(ctx, c.ID)
}

// deleteCluster deletes a cluster (with its node pools) and waits until
// it is gone; gone already is success.
func (e *env) deleteCluster(ctx context.Context, name string) error {
	err := e.mutate(ctx, name, func() (*containerpb.Operation, error) {
		return e.cl.gke.DeleteCluster(ctx, &containerpb.DeleteClusterRequest{Name: clusterPath(e.project, e.loc, name)})
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete GKE cluster %s: %w", name, err)
	}
	return e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		cl, err := e.getCluster(ctx, name)
		return cl == nil && err == nil, err
	})
}

// ---- gcp_container_node_pool ----
//
// A node pool's ID is "<pool name>@<cluster uid>": the cluster's name comes
// from the cluster input, and the uid tells a pool of a replaced cluster
// (gone with it) from a same-named pool of the new one.

type nodePoolIn struct {
	Project      string        `kit:"project,replace" why:"a node pool lives in one project"`
	Location     string        `kit:"location,replace" why:"a node pool lives in its cluster's location"`
	Cluster      string        `kit:"cluster,replace" why:"a node pool belongs to one cluster"`
	Name         string        `kit:"name,replace" why:"GKE cannot rename a node pool"`
	MachineType  string        `kit:"machine_type,replace" why:"GKE cannot change a node pool's machine type in place"`
	Spot         bool          `kit:"spot,replace" why:"GKE cannot switch a node pool to or from Spot VMs"`
	Accelerators []accelerator `kit:"accelerators,replace" why:"GKE cannot change a node pool's GPUs in place"`
	ImageType    string        `kit:"image_type,replace" why:"regionctl replaces a pool for a new node image, create-before-destroy"`
	// DiskSizeGB, DiskType and MaxPods are nil for GKE's defaults (100 GB,
	// pd-balanced, 110), which Read then does not report either.
	DiskSizeGB    *int              `kit:"disk_size_gb,omitempty,replace" why:"regionctl replaces a pool for a new boot disk, create-before-destroy"`
	DiskType      *string           `kit:"disk_type,omitempty,replace" why:"regionctl replaces a pool for a new boot disk, create-before-destroy"`
	MaxPods       *int              `kit:"max_pods,omitempty,replace" why:"GKE cannot change a node pool's max pods per node"`
	Version       string            `kit:"version"`
	NodeLocations []string          `kit:"node_locations,set"`
	MinNodeCount  int               `kit:"min_node_count"`
	MaxNodeCount  int               `kit:"max_node_count"`
	Labels        map[string]string `kit:"labels"`
	Taints        []gkeTaint        `kit:"taints,set"`
	// MaxSurge and MaxUnavailable are the pool's surge upgrade settings;
	// nil leaves GKE's (surge 1, unavailable 0).
	MaxSurge       *int `kit:"max_surge,omitempty"`
	MaxUnavailable *int `kit:"max_unavailable,omitempty"`
}

// upgradeSettings are the pool's surge upgrade settings, nil when the spec
// sets none; an unset one takes GKE's default.
func (in nodePoolIn) upgradeSettings() *containerpb.NodePool_UpgradeSettings {
	if in.MaxSurge == nil && in.MaxUnavailable == nil {
		return nil
	}
	u := &containerpb.NodePool_UpgradeSettings{MaxSurge: 1, Strategy: containerpb.NodePoolUpdateStrategy_SURGE.Enum()}
	if in.MaxSurge != nil {
		u.MaxSurge = int32(*in.MaxSurge)
	}
	if in.MaxUnavailable != nil {
		u.MaxUnavailable = int32(*in.MaxUnavailable)
	}
	return u
}

// accelerator is a node pool's GPU: its type and how many per node.
type accelerator struct {
	Type  string `kit:"type"`
	Count int    `kit:"count"`
}

// gkeTaint is one node taint, with GKE's effect names (NO_SCHEDULE).
type gkeTaint struct {
	Key    string `kit:"key"`
	Value  string `kit:"value"`
	Effect string `kit:"effect"`
}

type nodePoolOut struct {
	ID          string `kit:"id"`
	SelfLink    string `kit:"self_link"`
	Status      string `kit:"status"`
	NodeVersion string `kit:"node_version"`
}

type nodePoolCall = call[nodePoolIn, nodePoolOut]

type nodePoolHandler struct{}

func poolPath(project, loc, cluster, pool string) string {
	return clusterPath(project, loc, cluster) + "/nodePools/" + pool
}

// poolCluster is the pool's cluster name: the desired one, else the
// recorded one.
func poolCluster(c *nodePoolCall) string {
	return cmp.Or(c.In.Cluster, c.Prev.Cluster)
}

func splitPoolID(id string) (name, uid string) {
	name, uid, _ = strings.Cut(id, "@")
	return name, uid
}

// getPool returns node pool name of cluster, or nil.
func (e *env) getPool(ctx context.Context, cluster, name string) (*containerpb.NodePool, error) {
	var np *containerpb.NodePool
	err := e.d.retry(ctx, func() (err error) {
		np, err = e.cl.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: poolPath(e.project, e.loc, cluster, name)})
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
func (nodePoolHandler) cluster(ctx context.Context, c *nodePoolCall, uid string) (*containerpb.Cluster, error) {
	if poolCluster(c) == "" {
		return nil, nil
	}
	cl, err := c.Env.getCluster(ctx, poolCluster(c))
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

func (h nodePoolHandler) Find(ctx context.Context, c *nodePoolCall) (string, error) {
	cl, err := h.cluster(ctx, c, "")
	if err != nil || cl == nil {
		return "", err
	}
	np, err := c.Env.getPool(ctx, poolCluster(c), c.In.Name)
	if err != nil || np == nil || !usablePool(np) || !matchLabels(c.Meta, np.GetConfig().GetResourceLabels()) {
		return "", err
	}
	return poolID(np.GetName(), cl), nil
}

func sdkTaints(ts []gkeTaint) []*containerpb.NodeTaint {
	var out []*containerpb.NodeTaint
	for _, t := range ts {
		out = append(out, &containerpb.NodeTaint{
			Key: t.Key, Value: t.Value, Effect: containerpb.NodeTaint_Effect(containerpb.NodeTaint_Effect_value[t.Effect]),
		})
	}
	return out
}

func taintID(t *containerpb.NodeTaint) string {
	return t.GetKey() + "=" + t.GetValue() + ":" + t.GetEffect().String()
}

func sdkAccelerators(as []accelerator) []*containerpb.AcceleratorConfig {
	var out []*containerpb.AcceleratorConfig
	for _, a := range as {
		out = append(out, &containerpb.AcceleratorConfig{
			AcceleratorType: a.Type, AcceleratorCount: int64(a.Count),
			GpuDriverInstallationConfig: &containerpb.GPUDriverInstallationConfig{
				GpuDriverVersion: containerpb.GPUDriverInstallationConfig_LATEST.Enum(),
			},
		})
	}
	return out
}

func autoscaling(in nodePoolIn) *containerpb.NodePoolAutoscaling {
	return &containerpb.NodePoolAutoscaling{
		Enabled: true, MinNodeCount: int32(in.MinNodeCount), MaxNodeCount: int32(in.MaxNodeCount),
		LocationPolicy: containerpb.NodePoolAutoscaling_BALANCED,
	}
}

func (h nodePoolHandler) Create(ctx context.Context, c *nodePoolCall) (string, error) {
	e, in, name, cluster := c.Env, c.In, c.In.Name, c.In.Cluster
	cl, err := h.cluster(ctx, c, "")
	if err != nil {
		return "", err
	}
	if cl == nil {
		return "", fmt.Errorf("GKE cluster %s does not exist", cluster)
	}
	np, err := e.getPool(ctx, cluster, name)
	if err != nil {
		return "", err
	}
	if np != nil {
		l := np.GetConfig().GetResourceLabels()
		mine := matchLabels(c.Meta, l)
		switch {
		case !usablePool(np) && (mine || sameAddressLabels(c.Meta, l)):
			if err := e.deletePool(ctx, cluster, name); err != nil {
				return "", fmt.Errorf("remove node pool %s left in %s by a failed create: %w", name, np.GetStatus(), err)
			}
			np = nil
		case !mine:
			return "", fmt.Errorf("node pool %s already exists in cluster %s and was not made by this create (its %s label is %q)", name, cluster, LabelAddress, l[LabelAddress])
		}
	}
	if np == nil {
		version, err := e.nodeVersion(ctx, cl, in.Version)
		if err != nil {
			return "", err
		}
		as := autoscaling(in)
		pool := &containerpb.NodePool{
			Name: name, Version: version, Locations: in.NodeLocations,
			InitialNodeCount: max(as.MinNodeCount, 1),
			Autoscaling:      as,
			UpgradeSettings:  in.upgradeSettings(),
			Management:       &containerpb.NodeManagement{AutoRepair: true, AutoUpgrade: true},
			Config: &containerpb.NodeConfig{
				MachineType: in.MachineType, Spot: in.Spot, ImageType: in.ImageType,
				DiskType: deref(in.DiskType),
				Labels:   in.Labels, Taints: sdkTaints(in.Taints), ResourceLabels: labels(c.Meta),
				Accelerators:           sdkAccelerators(in.Accelerators),
				WorkloadMetadataConfig: &containerpb.WorkloadMetadataConfig{Mode: containerpb.WorkloadMetadataConfig_GKE_METADATA},
			},
		}
		if in.DiskSizeGB != nil {
			pool.Config.DiskSizeGb = int32(*in.DiskSizeGB)
		}
		if in.MaxPods != nil {
			pool.MaxPodsConstraint = &containerpb.MaxPodsConstraint{MaxPodsPerNode: int64(*in.MaxPods)}
		}
		if as.MinNodeCount == 0 {
			// Start empty when the pool may scale to zero; GKE needs ≥ 1
			// only without autoscaling.
			pool.InitialNodeCount = 0
		}
		err = e.inQueue(ctx, cluster, func() error {
			return e.d.retryWhile(ctx, isBusy, func() error {
				op, err := e.cl.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterPath(e.project, e.loc, cluster), NodePool: pool})
				if isAlreadyExists(err) {
					if got, gerr := e.getPool(ctx, cluster, name); gerr == nil && got != nil && matchLabels(c.Meta, got.GetConfig().GetResourceLabels()) {
						return nil // an earlier attempt of ours made it
					}
				}
				if err != nil {
					return err
				}
				return e.waitOp(ctx, op)
			})
		})
		if err != nil {
			return "", h.cleanUpFailed(ctx, e, cluster, name, fmt.Errorf("create node pool %s: %w", name, err))
		}
	}
	if err := h.waitRunning(ctx, e, cluster, name); err != nil {
		return "", h.cleanUpFailed(ctx, e, cluster, name, err)
	}
	if err := e.removeBootstrapPool(ctx, cluster); err != nil {
		return "", err
	}
	return poolID(name, cl), nil
}

// cleanUpFailed deletes a pool a failed create left in ERROR.
func (nodePoolHandler) cleanUpFailed(ctx context.Context, e *env, cluster, name string, cause error) error {
	if ctx.Err() != nil {
		return cause
	}
	np, err := e.getPool(ctx, cluster, name)
	if err != nil || np == nil || usablePool(np) {
		return cause
	}
	cause = kit.Classed(cause, providers.ErrCreateFailed)
	if derr := e.deletePool(ctx, cluster, name); derr != nil {
		return fmt.Errorf("%w (and deleting the broken node pool failed: %v)", cause, derr)
	}
	return fmt.Errorf("%w (the broken node pool was deleted; the next apply creates it again)", cause)
}

func (nodePoolHandler) waitRunning(ctx context.Context, e *env, cluster, name string) error {
	return e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		np, err := e.getPool(ctx, cluster, name)
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

func (h nodePoolHandler) Read(ctx context.Context, c *nodePoolCall) (*kit.Live[nodePoolIn, nodePoolOut], error) {
	name, uid := splitPoolID(c.ID)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil || cl == nil {
		return nil, err
	}
	np, err := c.Env.getPool(ctx, poolCluster(c), name)
	if err != nil || np == nil {
		return nil, err
	}
	return h.live(c, cl, np), nil
}

func (nodePoolHandler) live(c *nodePoolCall, cl *containerpb.Cluster, np *containerpb.NodePool) *kit.Live[nodePoolIn, nodePoolOut] {
	cfg := np.GetConfig()
	in := nodePoolIn{
		Project: c.Env.project, Location: c.Env.loc, Cluster: cl.GetName(), Name: np.GetName(),
		MachineType: cfg.GetMachineType(), Spot: cfg.GetSpot(), ImageType: cfg.GetImageType(),
		Version: MinorOf(np.GetVersion()), NodeLocations: np.GetLocations(),
		MinNodeCount: int(np.GetAutoscaling().GetMinNodeCount()), MaxNodeCount: int(np.GetAutoscaling().GetMaxNodeCount()),
		Labels: cfg.GetLabels(),
	}
	// A default is no drift: reported only when asked for or recorded.
	if c.In.DiskSizeGB != nil || c.Prev.DiskSizeGB != nil {
		size := int(cfg.GetDiskSizeGb())
		in.DiskSizeGB = &size
	}
	if c.In.DiskType != nil || c.Prev.DiskType != nil {
		typ := cfg.GetDiskType()
		in.DiskType = &typ
	}
	if c.In.MaxPods != nil || c.Prev.MaxPods != nil {
		pods := int(np.GetMaxPodsConstraint().GetMaxPodsPerNode())
		in.MaxPods = &pods
	}
	for _, a := range cfg.GetAccelerators() {
		in.Accelerators = append(in.Accelerators, accelerator{Type: a.GetAcceleratorType(), Count: int(a.GetAcceleratorCount())})
	}
	for _, t := range cfg.GetTaints() {
		in.Taints = append(in.Taints, gkeTaint{Key: t.GetKey(), Value: t.GetValue(), Effect: t.GetEffect().String()})
	}
	if u := np.GetUpgradeSettings(); u != nil && (c.Prev.MaxSurge != nil || c.Prev.MaxUnavailable != nil) {
		surge, unavailable := int(u.GetMaxSurge()), int(u.GetMaxUnavailable())
		in.MaxSurge, in.MaxUnavailable = &surge, &unavailable
		if c.Prev.MaxSurge == nil {
			in.MaxSurge = nil
		}
		if c.Prev.MaxUnavailable == nil {
			in.MaxUnavailable = nil
		}
	}
	out := nodePoolOut{ID: np.GetName(), SelfLink: np.GetSelfLink(), Status: np.GetStatus().String(), NodeVersion: np.GetVersion()}
	if np.GetStatus() == containerpb.NodePool_ERROR {
		return c.FoundFailed(in, out)
	}
	return c.Found(in, out)
}

// Settle finishes an adopted pool: it waits until GKE has provisioned it
// (or reports it failed, or it is gone), then removes the cluster's
// bootstrap pool, as the interrupted create would have.
func (h nodePoolHandler) Settle(ctx context.Context, c *nodePoolCall) error {
	name, uid := splitPoolID(c.ID)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil || cl == nil {
		return err
	}
	e, cluster := c.Env, poolCluster(c)
	var np *containerpb.NodePool
	err = e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		var err error
		if np, err = e.getPool(ctx, cluster, name); err != nil || np == nil {
			return np == nil, err
		}
		s := np.GetStatus()
		return s != containerpb.NodePool_PROVISIONING && s != containerpb.NodePool_STATUS_UNSPECIFIED, nil
	})
	if err != nil {
		return fmt.Errorf("wait for node pool %s: %w", name, err)
	}
	if np == nil || !usablePool(np) {
		return nil
	}
	return e.removeBootstrapPool(ctx, cluster)
}

// Update upgrades the pool's Kubernetes version (to the cluster's), then
// sets node locations, autoscaling limits, labels and taints, each with its
// own operation.
func (h nodePoolHandler) Update(ctx context.Context, c *nodePoolCall, _ []string) error {
	e, in := c.Env, c.In
	name, uid := splitPoolID(c.ID)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil {
		return err
	}
	var np *containerpb.NodePool
	if cl != nil {
		if np, err = e.getPool(ctx, poolCluster(c), name); err != nil {
			return err
		}
	}
	if np == nil {
		return fmt.Errorf("node pool %s: %w", name, providers.ErrNotFound)
	}
	path := poolPath(e.project, e.loc, poolCluster(c), name)
	updatePool := func(what string, req *containerpb.UpdateNodePoolRequest) error {
		req.Name = path
		if err := e.mutate(ctx, poolCluster(c), func() (*containerpb.Operation, error) { return e.cl.gke.UpdateNodePool(ctx, req) }); err != nil {
			return fmt.Errorf("set %s: %w", what, err)
		}
		return nil
	}
	if want, have := in.upgradeSettings(), np.GetUpgradeSettings(); want != nil && (want.GetMaxSurge() != have.GetMaxSurge() || want.GetMaxUnavailable() != have.GetMaxUnavailable()) {
		// First, so a version upgrade below replaces nodes as asked.
		if err := updatePool("upgrade settings", &containerpb.UpdateNodePoolRequest{UpgradeSettings: want}); err != nil {
			return err
		}
	}
	if want, have := in.Version, MinorOf(np.GetVersion()); want != have {
		if err := CheckUpgrade(have, want); err != nil {
			return fmt.Errorf("node pool %s: %w", name, err)
		}
		v, err := e.nodeVersion(ctx, cl, want)
		if err != nil {
			return err
		}
		if err := updatePool("Kubernetes version "+v, &containerpb.UpdateNodePoolRequest{NodeVersion: v, ImageType: np.GetConfig().GetImageType()}); err != nil {
			return err
		}
	}
	if want := in.NodeLocations; !kit.SameSet(want, np.GetLocations()) {
		if err := updatePool("node locations", &containerpb.UpdateNodePoolRequest{Locations: want}); err != nil {
			return err
		}
	}
	if as := np.GetAutoscaling(); !as.GetEnabled() || int(as.GetMinNodeCount()) != in.MinNodeCount || int(as.GetMaxNodeCount()) != in.MaxNodeCount {
		err := e.mutate(ctx, poolCluster(c), func() (*containerpb.Operation, error) {
			return e.cl.gke.SetNodePoolAutoscaling(ctx, &containerpb.SetNodePoolAutoscalingRequest{Name: path, Autoscaling: autoscaling(in)})
		})
		if err != nil {
			return fmt.Errorf("set autoscaling %d..%d nodes per zone: %w", in.MinNodeCount, in.MaxNodeCount, err)
		}
	}
	if want := in.Labels; !maps.Equal(want, np.GetConfig().GetLabels()) && (len(want) > 0 || len(np.GetConfig().GetLabels()) > 0) {
		if err := updatePool("labels", &containerpb.UpdateNodePoolRequest{Labels: &containerpb.NodeLabels{Labels: want}}); err != nil {
			return err
		}
	}
	want := sdkTaints(in.Taints)
	var wantIDs, haveIDs []string
	for _, t := range want {
		wantIDs = append(wantIDs, taintID(t))
	}
	for _, t := range np.GetConfig().GetTaints() {
		haveIDs = append(haveIDs, taintID(t))
	}
	if !kit.SameSet(wantIDs, haveIDs) {
		if err := updatePool("taints", &containerpb.UpdateNodePoolRequest{Taints: &containerpb.NodeTaints{Taints: want}}); err != nil {
			return err
		}
	}
	return nil
}

func (h nodePoolHandler) Delete(ctx context.Context, c *nodePoolCall) error {
	name, uid := splitPoolID(c.ID)
	cl, err := h.cluster(ctx, c, uid)
	if err != nil || cl == nil {
		return err // the cluster, and the pool with it, is gone
	}
	if c.DeleteReason.Drains() && cl.GetEndpoint() != "" {
		opts := c.Env.d.drain
		opts.Label, opts.Value = poolLabel, name
		in := kubernetes.ClusterInputs{Endpoint: "https://" + cl.GetEndpoint(), CA: cl.GetMasterAuth().GetClusterCaCertificate(), Cluster: cl.GetSelfLink(), Location: c.Env.loc}
		if err := c.Env.d.kube.DrainPool(ctx, in, opts); err != nil {
			return fmt.Errorf("node pool %s: %w", name, err)
		}
	}
	return c.Env.deletePool(ctx, poolCluster(c), name)
}

// deletePool deletes node pool name of cluster and waits until it is gone.
func (e *env) deletePool(ctx context.Context, cluster, name string) error {
	err := e.mutate(ctx, cluster, func() (*containerpb.Operation, error) {
		return e.cl.gke.DeleteNodePool(ctx, &containerpb.DeleteNodePoolRequest{Name: poolPath(e.project, e.loc, cluster, name)})
	})
	if err != nil && !isNotFound(err) {
		return fmt.Errorf("delete node pool %s: %w", name, err)
	}
	return e.d.pollBackoff().Poll(ctx, func() (bool, error) {
		np, err := e.getPool(ctx, cluster, name)
		return np == nil && err == nil, err
	})
}
