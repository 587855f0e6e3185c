package gcp

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

const containerBase = "https://container.googleapis.com/v1/"

var clusterNameRE = regexp.MustCompile(`^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$`)

func networkName(s string) string {
	_, _, n, _ := ref(s, "", "", "networks")
	return n
}

func subnetName(s string) string {
	_, _, n, _ := ref(s, "", "", "subnetworks")
	return n
}

type clusterServer struct {
	containerpb.UnimplementedClusterManagerServer
	e *Emulator
}

// RegisterGRPC registers google.container.v1.ClusterManager; every call
// needs an access token the sandbox issued.
func (e *Emulator) RegisterGRPC(s *grpc.Server) {
	s.RegisterService(e.authorizedServiceDesc(containerpb.ClusterManager_ServiceDesc), &clusterServer{e: e})
}

// GRPCOperation names a container call "container:CreateCluster".
func (e *Emulator) GRPCOperation(fullMethod string) string {
	svc, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/")
	if !ok || svc != "google.container.v1.ClusterManager" {
		return "container:Unknown"
	}
	return "container:" + method
}

// GRPCFault is GKE's RESOURCE_EXHAUSTED quota error for a throttle and
// UNAVAILABLE for an internal error.
func (e *Emulator) GRPCFault(op string, kind emu.FaultKind) error {
	if kind == emu.FaultThrottle {
		return status.Error(codes.ResourceExhausted, "Quota exceeded for quota metric 'Requests' and limit 'Requests per minute' of service 'container.googleapis.com'.")
	}
	return status.Error(codes.Unavailable, "The service is currently unavailable.")
}

// names

type clusterRef struct{ project, location, cluster, pool string }

func (r clusterRef) key() string {
	return "projects/" + r.project + "/locations/" + r.location + "/clusters/" + r.cluster
}

func (r clusterRef) poolKey() string { return r.key() + "/nodePools/" + r.pool }

// parseName parses projects/P/locations/L[/clusters/C[/nodePools/N]], or
// the deprecated project_id/zone/cluster_id/node_pool_id fields.
func parseName(name string, legacy [4]string, depth int) (clusterRef, error) {
	var r clusterRef
	if name == "" {
		r = clusterRef{legacy[0], legacy[1], legacy[2], legacy[3]}
	} else {
		p := strings.Split(name, "/")
		want := []string{"projects", "locations", "clusters", "nodePools"}[:depth]
		if len(p) != 2*depth {
			return r, status.Errorf(codes.InvalidArgument, "name %q: want %s", name, namePattern(depth))
		}
		for i, w := range want {
			if p[2*i] != w || p[2*i+1] == "" {
				return r, status.Errorf(codes.InvalidArgument, "name %q: want %s", name, namePattern(depth))
			}
		}
		r.project, r.location = p[1], p[3]
		if depth > 2 {
			r.cluster = p[5]
		}
		if depth > 3 {
			r.pool = p[7]
		}
	}
	if r.project == "" || r.location == "" || (depth > 2 && r.cluster == "") || (depth > 3 && r.pool == "") {
		return r, status.Errorf(codes.InvalidArgument, "name is required: %s", namePattern(depth))
	}
	if r.location != "-" && !knownLocation(r.location) {
		return r, status.Errorf(codes.InvalidArgument, "Location %q does not exist.", r.location)
	}
	return r, nil
}

func namePattern(depth int) string {
	return []string{"", "", "projects/P/locations/L", "projects/P/locations/L/clusters/C", "projects/P/locations/L/clusters/C/nodePools/N"}[depth]
}

func clusterNotFound(r clusterRef) error {
	return status.Errorf(codes.NotFound, "Not found: %s.", r.key())
}

// lookups (under e.mu, after settle)

func (e *Emulator) cluster(r clusterRef) (*clusterRec, error) {
	c := e.st.Clusters[r.key()]
	if c == nil {
		return nil, clusterNotFound(r)
	}
	return c, nil
}

func (c *clusterRec) pool(name string) *poolRec {
	for _, p := range c.Pools {
		if p.P.V.GetName() == name {
			return p
		}
	}
	return nil
}

func (e *Emulator) nodePool(r clusterRef) (*clusterRec, *poolRec, error) {
	c, err := e.cluster(r)
	if err != nil {
		return nil, nil, err
	}
	p := c.pool(r.pool)
	if p == nil {
		return nil, nil, status.Errorf(codes.NotFound, "Not found: %s.", r.poolKey())
	}
	return c, p, nil
}

// busy refuses a change while another operation runs on the cluster, or
// while the cluster is in ERROR (only deleting it is allowed then).
func (e *Emulator) busy(key string, c *clusterRec, deleting bool) error {
	for _, op := range e.st.GKEOps {
		if op.Cluster == key && !op.Applied {
			return status.Errorf(codes.FailedPrecondition, "Operation %s is currently %s cluster %s. Please wait and try again once it is done.",
				op.V.V.GetName(), opVerb(op.V.V.GetOperationType()), c.C.V.GetName())
		}
	}
	if !deleting && c.C.V.GetStatus() == containerpb.Cluster_ERROR {
		return status.Errorf(codes.FailedPrecondition, "Cluster %s is in ERROR state; it can only be deleted.", c.C.V.GetName())
	}
	return nil
}

func opVerb(t containerpb.Operation_Type) string {
	switch t {
	case containerpb.Operation_CREATE_CLUSTER:
		return "creating"
	case containerpb.Operation_DELETE_CLUSTER:
		return "deleting"
	case containerpb.Operation_UPGRADE_MASTER, containerpb.Operation_UPGRADE_NODES:
		return "upgrading"
	case containerpb.Operation_CREATE_NODE_POOL:
		return "creating a node pool in"
	case containerpb.Operation_DELETE_NODE_POOL:
		return "deleting a node pool in"
	}
	return "updating"
}

// startGKEOp records an operation on cluster key (and pool) that completes
// after the call's latency; settle applies it then.
func (e *Emulator) startGKEOp(ctx context.Context, r clusterRef, typ containerpb.Operation_Type, now time.Time) *gkeOpRec {
	c := emu.CallFrom(ctx)
	c.Changed = true
	name := fmt.Sprintf("operation-%d-%s", now.UnixMilli(), randHex(8))
	num := projectNumber(r.project)
	target := containerBase + "projects/" + num + "/locations/" + r.location + "/clusters/" + r.cluster
	if r.pool != "" {
		target += "/nodePools/" + r.pool
	}
	op := &containerpb.Operation{
		Name:          name,
		Zone:          r.location,
		Location:      r.location,
		OperationType: typ,
		SelfLink:      containerBase + "projects/" + num + "/locations/" + r.location + "/operations/" + name,
		TargetLink:    target,
		StartTime:     now.Format(time.RFC3339Nano),
	}
	rec := &gkeOpRec{Project: r.project, Location: r.location, V: wrap(op), Cluster: r.key(), Pool: r.pool,
		StartAt: now, DoneAt: now.Add(e.env.Latency(c.Op)), Fail: c.Fail}
	e.st.GKEOps["projects/"+r.project+"/locations/"+r.location+"/operations/"+name] = rec
	return rec
}

// renderGKEOp is the operation as of now: PENDING for the first fifth of
// its time, RUNNING, then DONE (with error when it failed).
func renderGKEOp(rec *gkeOpRec, now time.Time) *containerpb.Operation {
	op := clone(rec.V.V)
	switch {
	case rec.Applied:
		op.Status = containerpb.Operation_DONE
		op.EndTime = rec.DoneAt.Format(time.RFC3339Nano)
		switch {
		case rec.ErrMessage != "":
			op.Error = &rpcstatus.Status{Code: int32(code.Code_INTERNAL), Message: rec.ErrMessage}
			op.StatusMessage = op.Error.Message
		case rec.Fail:
			op.Error = &rpcstatus.Status{Code: int32(code.Code_INTERNAL), Message: "sandbox: injected failure: the operation failed"}
			op.StatusMessage = op.Error.Message
		}
	case now.Before(rec.StartAt.Add(rec.DoneAt.Sub(rec.StartAt) / 5)):
		op.Status = containerpb.Operation_PENDING
	default:
		op.Status = containerpb.Operation_RUNNING
	}
	return op
}

// settle applies every GKE operation whose time has come, in order, and
// drops Compute resources whose life ended. It is the only place
// asynchronous state changes, so it is deterministic in the clock.
func (e *Emulator) settle(now time.Time) {
	var due []*gkeOpRec
	for _, op := range e.st.GKEOps {
		if !op.Applied && !now.Before(op.DoneAt) && e.opReady(op) {
			due = append(due, op)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		if !due[i].DoneAt.Equal(due[j].DoneAt) {
			return due[i].DoneAt.Before(due[j].DoneAt)
		}
		return due[i].StartAt.Before(due[j].StartAt)
	})
	for _, op := range due {
		op.Applied = true
		e.apply(op)
	}
	for k, op := range e.st.GKEOps {
		if op.Applied && now.Sub(op.DoneAt) > 24*time.Hour {
			delete(e.st.GKEOps, k)
		}
	}
	e.gc(now)
}

// opReady reports whether an operation whose time has come may finish: a
// cluster create waits (RUNNING) until the cluster's API server answers, a
// master upgrade until it answers at the new version.
func (e *Emulator) opReady(op *gkeOpRec) bool {
	if op.Fail {
		return true
	}
	c := e.st.Clusters[op.Cluster]
	switch op.V.V.GetOperationType() {
	case containerpb.Operation_CREATE_CLUSTER:
		return c == nil || e.kubeReady(c) && e.nodesReady(c)
	case containerpb.Operation_UPGRADE_MASTER:
		return c == nil || !e.kubeUpgrading(c)
	case containerpb.Operation_CREATE_NODE_POOL, containerpb.Operation_DELETE_NODE_POOL:
		return c == nil || e.nodesReady(c) // the instances joined, or left, the cluster
	case containerpb.Operation_UPGRADE_NODES:
		if c == nil || op.Roll == nil || c.pool(op.Pool) == nil {
			return true
		}
		p := c.pool(op.Pool)
		if !e.nodesReady(c) {
			return false
		}
		if n := int(sumSizes(p.Sizes)); !op.Roll.Done(n) {
			op.Roll.Step++ // the next batch of the surge upgrade
			e.syncPool(c, op.Pool, p)
			return false
		}
	}
	return true
}

func sumSizes(sizes map[string]int32) int32 {
	var n int32
	for _, s := range sizes {
		n += s
	}
	return n
}

func (e *Emulator) apply(op *gkeOpRec) {
	c := e.st.Clusters[op.Cluster]
	if c == nil {
		return
	}
	defer e.opNodes(c, op) // the pools' nodes follow what the operation did
	fail := op.Fail
	failCond := []*containerpb.StatusCondition{{Message: "sandbox: injected failure", CanonicalCode: code.Code_INTERNAL}}
	switch op.V.V.GetOperationType() {
	case containerpb.Operation_CREATE_CLUSTER:
		if !fail {
			if err := e.clusterRunning(c); err != nil {
				fail = true
				failCond[0].Message = err.Error()
				op.ErrMessage = err.Error()
			}
		}
		st, pst := containerpb.Cluster_RUNNING, containerpb.NodePool_RUNNING
		if fail {
			st, pst = containerpb.Cluster_ERROR, containerpb.NodePool_ERROR
			c.C.V.Conditions = failCond
			c.C.V.StatusMessage = failCond[0].Message
			e.clusterFailed(c)
		}
		c.C.V.Status = st
		for _, p := range c.Pools {
			p.P.V.Status = pst
		}
		return
	case containerpb.Operation_DELETE_CLUSTER:
		if fail {
			c.C.V.Status = containerpb.Cluster_ERROR
			c.C.V.Conditions = failCond
			return
		}
		e.clusterDeleted(c)
		delete(e.st.Clusters, op.Cluster)
		return
	}
	p := c.pool(op.Pool)
	switch op.V.V.GetOperationType() {
	case containerpb.Operation_CREATE_NODE_POOL:
		if p != nil {
			p.P.V.Status = containerpb.NodePool_RUNNING
			if fail {
				p.P.V.Status = containerpb.NodePool_ERROR
				p.P.V.Conditions = failCond
			}
		}
		return
	case containerpb.Operation_DELETE_NODE_POOL:
		if p == nil {
			return
		}
		if fail {
			p.P.V.Status = containerpb.NodePool_ERROR
			p.P.V.Conditions = failCond
			return
		}
		for i, x := range c.Pools {
			if x == p {
				c.Pools = append(c.Pools[:i], c.Pools[i+1:]...)
				break
			}
		}
		return
	}
	// Updates: the target replaces the object unless the operation failed.
	c.C.V.Status = containerpb.Cluster_RUNNING
	if op.TargetCluster.V != nil && !fail {
		t := clone(op.TargetCluster.V)
		t.Status = containerpb.Cluster_RUNNING
		old := c.C.V.GetLocations()
		c.C = wrap(t)
		// Pools that ran in the cluster's locations follow them, as GKE
		// moves the default node locations.
		if !sameZones(old, t.GetLocations()) {
			for _, x := range c.Pools {
				if sameZones(x.P.V.GetLocations(), old) {
					movePool(c, x, t.GetLocations())
				}
			}
		}
	}
	if p != nil {
		p.P.V.Status = containerpb.NodePool_RUNNING
		if op.Roll != nil && !fail {
			p.Gen++ // the upgrade's new instances are the pool's now
		}
		if op.TargetPool.V != nil && !fail {
			t := clone(op.TargetPool.V)
			t.Status = containerpb.NodePool_RUNNING
			p.P = wrap(t)
			if op.TargetSizes != nil {
				p.Sizes = op.TargetSizes
			}
		}
	}
}

// movePool puts a pool in new zones: zones it keeps keep their size, new
// ones start at the pool's initial node count.
func movePool(c *clusterRec, p *poolRec, zones []string) {
	sizes := map[string]int32{}
	pv := p.P.V
	pv.InstanceGroupUrls = nil
	for _, z := range zones {
		n, ok := p.Sizes[z]
		if !ok {
			n = pv.GetInitialNodeCount()
		}
		sizes[z] = n
		pv.InstanceGroupUrls = append(pv.InstanceGroupUrls, computeBase+"projects/"+c.Project+"/zones/"+z+"/instanceGroupManagers/"+migName(c.C.V.GetName(), pv.GetName(), z))
	}
	pv.Locations = append([]string(nil), zones...)
	p.Sizes = clampSizes(sizes, pv.GetAutoscaling())
}

func sameZones(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	x := append([]string(nil), a...)
	y := append([]string(nil), b...)
	sort.Strings(x)
	sort.Strings(y)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// render assembles the cluster with its node pools as GetCluster returns it.
func (c *clusterRec) render() *containerpb.Cluster {
	out := clone(c.C.V)
	out.NodePools = nil
	for _, p := range c.Pools {
		out.NodePools = append(out.NodePools, renderPool(p))
	}
	var nodes int32
	for _, p := range c.Pools {
		for _, n := range p.Sizes {
			nodes += n
		}
	}
	out.CurrentNodeCount = nodes
	return out
}

func renderPool(p *poolRec) *containerpb.NodePool { return clone(p.P.V) }

// lock runs f under the emulator's lock after settling.
func (s *clusterServer) lock(f func(now time.Time) error) error {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.now()
	e.settle(now)
	return f(now)
}

// ---- clusters ----

func (s *clusterServer) CreateCluster(ctx context.Context, req *containerpb.CreateClusterRequest) (*containerpb.Operation, error) {
	parent, err := parseName(req.GetParent(), [4]string{req.GetProjectId(), req.GetZone()}, 2)
	if err != nil {
		return nil, err
	}
	if parent.location == "-" {
		return nil, status.Error(codes.InvalidArgument, "Location \"-\" is only valid for listing; give a region or zone.")
	}
	if req.GetCluster() == nil {
		return nil, status.Error(codes.InvalidArgument, "Cluster is required.")
	}
	clearOutputOnly(req.GetCluster())
	var out *containerpb.Operation
	err = s.lock(func(now time.Time) error {
		c := clone(req.GetCluster())
		r := parent
		r.cluster = c.GetName()
		rec, err := s.e.newCluster(r, c, now)
		if err != nil {
			return err
		}
		s.e.st.Clusters[r.key()] = rec
		s.e.startKube(rec)
		s.e.syncNodes(rec) // the pools' instances join while the cluster is provisioned
		op := s.e.startGKEOp(ctx, r, containerpb.Operation_CREATE_CLUSTER, now)
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

// newCluster validates a CreateCluster request and builds the record.
func (e *Emulator) newCluster(r clusterRef, c *containerpb.Cluster, now time.Time) (*clusterRec, error) {
	inv := func(format string, args ...any) error { return status.Errorf(codes.InvalidArgument, format, args...) }
	if !clusterNameRE.MatchString(c.GetName()) {
		return nil, inv("Invalid cluster name %q: it must start with a lowercase letter, hold up to 40 lowercase letters, digits or hyphens, and not end with a hyphen.", c.GetName())
	}
	if e.st.Clusters[r.key()] != nil {
		return nil, status.Errorf(codes.AlreadyExists, "Already exists: %s.", r.key())
	}
	if c.GetAutopilot().GetEnabled() {
		return nil, inv("The sandbox does not emulate Autopilot clusters.")
	}
	if err := checkSecurityGroup(c.GetAuthenticatorGroupsConfig()); err != nil {
		return nil, err
	}
	region := regionOf(r.location)
	zonal := region != r.location
	if zonal && !validZone(r.location) {
		return nil, inv("Location %q is not a zone of %s (zones: %s).", r.location, region, strings.Join(zonesOf(region), ", "))
	}
	// Network and subnetwork: they must exist in Compute.
	netw := c.GetNetwork()
	if netw == "" {
		netw = "default"
	}
	np, _, nname, ok := ref(netw, r.project, "", "networks")
	if !ok || np != r.project {
		return nil, inv("Network %q is not a network of project %s.", netw, r.project)
	}
	if _, g := e.network(np, nname, now); g != nil {
		return nil, inv("Network %q does not exist.", nname)
	}
	if c.GetSubnetwork() == "" {
		return nil, inv("Subnetwork must be set: network %q is a custom-mode network.", nname)
	}
	sp, sreg, sname, ok := ref(c.GetSubnetwork(), r.project, region, "subnetworks")
	if !ok || sp != r.project || sreg != region {
		return nil, inv("Subnetwork %q must be a subnetwork of project %s in region %s.", c.GetSubnetwork(), r.project, region)
	}
	sub, g := e.subnet(sp, region, sname, now)
	if g != nil {
		return nil, inv("Subnetwork \"projects/%s/regions/%s/subnetworks/%s\" does not exist.", sp, region, sname)
	}
	if sub.Network != nname {
		return nil, inv("Subnetwork %q is not in network %q.", sname, nname)
	}
	c.Network, c.Subnetwork = nname, sname
	// VPC-native: pods and services come from the subnetwork's secondary ranges.
	ip := c.GetIpAllocationPolicy()
	if ip == nil || !ip.GetUseIpAliases() {
		return nil, inv("The sandbox emulates VPC-native clusters only: set ipAllocationPolicy.useIpAliases with clusterSecondaryRangeName and servicesSecondaryRangeName.")
	}
	ranges := map[string]string{}
	for _, sr := range sub.V.V.GetSecondaryIpRanges() {
		ranges[sr.GetRangeName()] = sr.GetIpCidrRange()
	}
	for _, n := range []struct{ field, name string }{{"clusterSecondaryRangeName", ip.GetClusterSecondaryRangeName()}, {"servicesSecondaryRangeName", ip.GetServicesSecondaryRangeName()}} {
		if n.name == "" {
			return nil, inv("ipAllocationPolicy.%s is required (the sandbox does not create secondary ranges).", n.field)
		}
		if ranges[n.name] == "" {
			return nil, inv("Retry budget exhausted: secondary range %q (%s) does not exist in subnetwork %q.", n.name, n.field, sname)
		}
	}
	if ip.GetClusterSecondaryRangeName() == ip.GetServicesSecondaryRangeName() {
		return nil, inv("Pods and services must use different secondary ranges, both are %q.", ip.GetClusterSecondaryRangeName())
	}
	for key, o := range e.st.Clusters {
		oip := o.C.V.GetIpAllocationPolicy()
		if clusterUsesSubnet(o, r.project, region, sname) && (oip.GetClusterSecondaryRangeName() == ip.GetClusterSecondaryRangeName() || oip.GetServicesSecondaryRangeName() == ip.GetServicesSecondaryRangeName()) {
			return nil, inv("Secondary ranges of subnetwork %q are already used by cluster %s.", sname, key)
		}
	}
	ip.ClusterIpv4CidrBlock = ranges[ip.GetClusterSecondaryRangeName()]
	ip.ServicesIpv4CidrBlock = ranges[ip.GetServicesSecondaryRangeName()]
	ip.ClusterIpv4Cidr, ip.ServicesIpv4Cidr = ip.ClusterIpv4CidrBlock, ip.ServicesIpv4CidrBlock
	ip.SubnetworkName = sname
	if ip.StackType == containerpb.StackType_STACK_TYPE_UNSPECIFIED {
		ip.StackType = containerpb.StackType_IPV4
	}
	c.ClusterIpv4Cidr, c.ServicesIpv4Cidr = ip.ClusterIpv4CidrBlock, ip.ServicesIpv4CidrBlock
	// Release channel (REGULAR by default, as GKE enrolls new clusters) and version.
	if c.ReleaseChannel == nil {
		c.ReleaseChannel = &containerpb.ReleaseChannel{Channel: containerpb.ReleaseChannel_REGULAR}
	}
	ch := c.GetReleaseChannel().GetChannel()
	v, err := resolveVersion(c.GetInitialClusterVersion(), ch)
	if err != nil {
		return nil, inv("Master %v", err)
	}
	c.InitialClusterVersion, c.CurrentMasterVersion, c.CurrentNodeVersion = v, v, v //nolint:staticcheck // GKE still fills the deprecated field
	// Node locations.
	if len(c.GetLocations()) == 0 {
		if zonal {
			c.Locations = []string{r.location}
		} else {
			c.Locations = zonesOf(region)[:3]
		}
	}
	if err := checkZones("locations", c.GetLocations(), region); err != nil {
		return nil, err
	}
	if zonal && !contains(c.GetLocations(), r.location) {
		return nil, inv("locations of a zonal cluster must include its zone %s.", r.location)
	}
	if wp := c.GetWorkloadIdentityConfig().GetWorkloadPool(); wp != "" && wp != r.project+".svc.id.goog" {
		return nil, inv("Workload pool %q is invalid: it must be %s.svc.id.goog.", wp, r.project)
	}
	if pc := c.GetPrivateClusterConfig(); pc.GetEnablePrivateNodes() || pc.GetEnablePrivateEndpoint() {
		if b := pc.GetMasterIpv4CidrBlock(); b != "" {
			p, err := netip.ParsePrefix(b)
			if err != nil || !p.Addr().Is4() || p.Bits() != 28 || p.Masked() != p {
				return nil, inv("privateClusterConfig.masterIpv4CidrBlock %q must be an IPv4 /28 network.", b)
			}
		}
	}
	if err := labelsErr("resourceLabels", c.GetResourceLabels()); err != nil {
		return nil, err
	}
	// Node pools.
	switch {
	case len(c.GetNodePools()) > 0 && c.GetInitialNodeCount() > 0: //nolint:staticcheck // read for validation only
		return nil, inv("Cannot specify both node_pools and initial_node_count.")
	case len(c.GetNodePools()) == 0 && c.GetInitialNodeCount() <= 0: //nolint:staticcheck
		return nil, inv("Cluster.initial_node_count must be greater than zero (or give node_pools).")
	case len(c.GetNodePools()) == 0:
		c.NodePools = []*containerpb.NodePool{{Name: "default-pool", Config: c.GetNodeConfig(), InitialNodeCount: c.GetInitialNodeCount()}} //nolint:staticcheck
	}
	rec := &clusterRec{Project: r.project, Location: r.location}
	names := map[string]bool{}
	for _, p := range c.GetNodePools() {
		if names[p.GetName()] {
			return nil, inv("Node pool %q is given twice.", p.GetName())
		}
		names[p.GetName()] = true
		pr, err := e.newPool(r, c, p, now)
		if err != nil {
			return nil, err
		}
		rec.Pools = append(rec.Pools, pr)
	}
	for _, p := range rec.Pools {
		if err := checkLinuxPool(p.P.V, c.GetNodePools()); err != nil {
			return nil, err
		}
	}
	c.NodePools, c.InitialNodeCount, c.NodeConfig = nil, 0, nil //nolint:staticcheck // pools carry them
	c.SelfLink = containerBase + "projects/" + r.project + "/locations/" + r.location + "/clusters/" + c.GetName()
	c.Zone, c.Location = r.location, r.location //nolint:staticcheck
	c.CreateTime = now.Format(time.RFC3339)
	c.Status = containerpb.Cluster_PROVISIONING
	c.Id = randHex(32)
	c.Etag = randHex(8)
	c.LabelFingerprint = randHex(8)
	if c.LoggingService == "" {
		c.LoggingService = "logging.googleapis.com/kubernetes"
	}
	if c.MonitoringService == "" {
		c.MonitoringService = "monitoring.googleapis.com/kubernetes"
	}
	c.NodeIpv4CidrSize = 24
	c.Endpoint, c.MasterAuth = "", &containerpb.MasterAuth{}
	rec.C = wrap(c)
	return rec, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func checkZones(field string, zones []string, region string) error {
	seen := map[string]bool{}
	for _, z := range zones {
		if regionOf(z) != region || !validZone(z) {
			return status.Errorf(codes.InvalidArgument, "%s: %q is not a zone of %s (zones: %s).", field, z, region, strings.Join(zonesOf(region), ", "))
		}
		if seen[z] {
			return status.Errorf(codes.InvalidArgument, "%s: zone %q is given twice.", field, z)
		}
		seen[z] = true
	}
	return nil
}

func labelsErr(field string, labels map[string]string) error {
	if g := validateLabels(field, labels); g != nil {
		return status.Error(codes.InvalidArgument, g.msg)
	}
	return nil
}

func (s *clusterServer) GetCluster(ctx context.Context, req *containerpb.GetClusterRequest) (*containerpb.Cluster, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId()}, 3)
	if err != nil {
		return nil, err
	}
	var out *containerpb.Cluster
	err = s.lock(func(now time.Time) error {
		c, err := s.e.cluster(r)
		if err != nil {
			return err
		}
		out = c.render()
		return nil
	})
	return out, err
}

func (s *clusterServer) ListClusters(ctx context.Context, req *containerpb.ListClustersRequest) (*containerpb.ListClustersResponse, error) {
	r, err := parseName(req.GetParent(), [4]string{req.GetProjectId(), req.GetZone()}, 2)
	if err != nil {
		return nil, err
	}
	out := &containerpb.ListClustersResponse{}
	err = s.lock(func(now time.Time) error {
		for _, c := range s.e.st.Clusters {
			if c.Project == r.project && (r.location == "-" || c.Location == r.location) {
				out.Clusters = append(out.Clusters, c.render())
			}
		}
		return nil
	})
	sort.Slice(out.Clusters, func(i, j int) bool {
		return out.Clusters[i].GetLocation()+"/"+out.Clusters[i].GetName() < out.Clusters[j].GetLocation()+"/"+out.Clusters[j].GetName()
	})
	return out, err
}

func (s *clusterServer) DeleteCluster(ctx context.Context, req *containerpb.DeleteClusterRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId()}, 3)
	if err != nil {
		return nil, err
	}
	var out *containerpb.Operation
	err = s.lock(func(now time.Time) error {
		c, err := s.e.cluster(r)
		if err != nil {
			return err
		}
		if err := s.e.busy(r.key(), c, true); err != nil {
			return err
		}
		c.C.V.Status = containerpb.Cluster_STOPPING
		for _, p := range c.Pools {
			p.P.V.Status = containerpb.NodePool_STOPPING
		}
		op := s.e.startGKEOp(ctx, r, containerpb.Operation_DELETE_CLUSTER, now)
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

// clusterUpdateFields are the ClusterUpdate members the sandbox applies.
var clusterUpdateFields = map[protoreflect.Name]bool{
	"desired_master_version": true, "desired_node_version": true, "desired_image_type": true,
	"desired_node_pool_autoscaling": true, "desired_locations": true, "desired_release_channel": true,
	"desired_workload_identity_config": true, "desired_private_cluster_config": true,
	"desired_master_authorized_networks_config": true, "desired_logging_service": true,
	"desired_monitoring_service": true, "desired_enable_private_endpoint": true,
	"desired_logging_config": true, "desired_monitoring_config": true,
	"desired_vertical_pod_autoscaling": true, "desired_addons_config": true,
	"desired_authenticator_groups_config": true,
}

func (s *clusterServer) UpdateCluster(ctx context.Context, req *containerpb.UpdateClusterRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId()}, 3)
	if err != nil {
		return nil, err
	}
	u := req.GetUpdate()
	var set []string
	var bad error
	u.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if fd.Name() == "desired_node_pool_id" {
			return true
		}
		if !clusterUpdateFields[fd.Name()] {
			bad = status.Errorf(codes.InvalidArgument, "The sandbox does not emulate ClusterUpdate.%s.", fd.Name())
			return false
		}
		set = append(set, string(fd.Name()))
		return true
	})
	if bad != nil {
		return nil, bad
	}
	if len(set) == 0 {
		return nil, status.Error(codes.InvalidArgument, "Update is empty: set one desired_* field.")
	}
	if len(set) > 1 {
		sort.Strings(set)
		return nil, status.Errorf(codes.InvalidArgument, "Exactly one update can be applied to a cluster with each request; got %s.", strings.Join(set, ", "))
	}
	var out *containerpb.Operation
	err = s.lock(func(now time.Time) error {
		c, err := s.e.cluster(r)
		if err != nil {
			return err
		}
		if err := s.e.busy(r.key(), c, false); err != nil {
			return err
		}
		op, err := s.e.updateCluster(ctx, r, c, u, now)
		if err != nil {
			return err
		}
		if op.V.V.GetOperationType() == containerpb.Operation_UPGRADE_MASTER {
			s.e.upgradeKube(c) // the API server restarts at the new version while the operation runs
		}
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

func (e *Emulator) updateCluster(ctx context.Context, r clusterRef, c *clusterRec, u *containerpb.ClusterUpdate, now time.Time) (*gkeOpRec, error) {
	inv := func(format string, args ...any) error { return status.Errorf(codes.InvalidArgument, format, args...) }
	t := clone(c.C.V)
	typ := containerpb.Operation_UPDATE_CLUSTER
	var pool *poolRec
	var tp *containerpb.NodePool
	var sizes map[string]int32
	needPool := func() error {
		if u.GetDesiredNodePoolId() == "" {
			if len(c.Pools) != 1 {
				return inv("desired_node_pool_id is required: the cluster has %d node pools.", len(c.Pools))
			}
			pool = c.Pools[0]
		} else if pool = c.pool(u.GetDesiredNodePoolId()); pool == nil {
			return status.Errorf(codes.NotFound, "Not found: %s/nodePools/%s.", r.key(), u.GetDesiredNodePoolId())
		}
		tp = clone(pool.P.V)
		return nil
	}
	switch {
	case u.GetDesiredMasterVersion() != "":
		v, err := resolveVersion(u.GetDesiredMasterVersion(), t.GetReleaseChannel().GetChannel())
		if err != nil {
			return nil, inv("Master %v", err)
		}
		cur, next := minorOf(t.GetCurrentMasterVersion()), minorOf(v)
		if next < cur {
			return nil, inv("Master cannot be downgraded from %s to %s.", t.GetCurrentMasterVersion(), v)
		}
		if next > cur+1 {
			return nil, inv("Master cannot be upgraded from %s to %s: upgrade one minor version at a time (next: 1.%d).", t.GetCurrentMasterVersion(), v, cur+1)
		}
		for _, p := range c.Pools {
			if minorOf(p.P.V.GetVersion()) < next-2 {
				return nil, status.Errorf(codes.FailedPrecondition, "Node pool %s at %s would be more than two minor versions behind master %s; upgrade it first.", p.P.V.GetName(), p.P.V.GetVersion(), v)
			}
		}
		t.CurrentMasterVersion = v
		typ = containerpb.Operation_UPGRADE_MASTER
	case u.GetDesiredNodeVersion() != "":
		if err := needPool(); err != nil {
			return nil, err
		}
		v, err := e.nodeVersion(u.GetDesiredNodeVersion(), t, pool.P.V.GetVersion())
		if err != nil {
			return nil, err
		}
		tp.Version = v
		typ = containerpb.Operation_UPGRADE_NODES
	case u.GetDesiredImageType() != "":
		if err := needPool(); err != nil {
			return nil, err
		}
		if !contains(serverConfig().GetValidImageTypes(), u.GetDesiredImageType()) {
			return nil, inv("Image type %q is not valid: %s.", u.GetDesiredImageType(), strings.Join(serverConfig().GetValidImageTypes(), ", "))
		}
		tp.Config.ImageType = u.GetDesiredImageType()
		typ = containerpb.Operation_UPGRADE_NODES
	case u.GetDesiredNodePoolAutoscaling() != nil:
		if err := needPool(); err != nil {
			return nil, err
		}
		if err := checkAutoscaling(u.GetDesiredNodePoolAutoscaling()); err != nil {
			return nil, err
		}
		tp.Autoscaling = clone(u.GetDesiredNodePoolAutoscaling())
		sizes = clampSizes(pool.Sizes, tp.Autoscaling)
	case len(u.GetDesiredLocations()) > 0:
		if err := checkZones("desired_locations", u.GetDesiredLocations(), regionOf(r.location)); err != nil {
			return nil, err
		}
		if regionOf(r.location) != r.location && !contains(u.GetDesiredLocations(), r.location) {
			return nil, inv("desired_locations of a zonal cluster must include its zone %s.", r.location)
		}
		t.Locations = append([]string(nil), u.GetDesiredLocations()...)
	case u.GetDesiredReleaseChannel() != nil:
		ch := u.GetDesiredReleaseChannel().GetChannel()
		if _, err := resolveVersion(t.GetCurrentMasterVersion(), ch); err != nil && ch != containerpb.ReleaseChannel_UNSPECIFIED {
			return nil, status.Errorf(codes.FailedPrecondition, "Cannot move to the %s channel: master version %s is not offered there.", ch, t.GetCurrentMasterVersion())
		}
		t.ReleaseChannel = clone(u.GetDesiredReleaseChannel())
	case u.GetDesiredWorkloadIdentityConfig() != nil:
		if wp := u.GetDesiredWorkloadIdentityConfig().GetWorkloadPool(); wp != "" && wp != r.project+".svc.id.goog" {
			return nil, inv("Workload pool %q is invalid: it must be %s.svc.id.goog.", wp, r.project)
		}
		t.WorkloadIdentityConfig = clone(u.GetDesiredWorkloadIdentityConfig())
	case u.GetDesiredPrivateClusterConfig() != nil:
		t.PrivateClusterConfig = clone(u.GetDesiredPrivateClusterConfig())
	case u.DesiredEnablePrivateEndpoint != nil:
		if t.PrivateClusterConfig == nil {
			t.PrivateClusterConfig = &containerpb.PrivateClusterConfig{}
		}
		t.PrivateClusterConfig.EnablePrivateEndpoint = u.GetDesiredEnablePrivateEndpoint()
	case u.GetDesiredAuthenticatorGroupsConfig() != nil:
		if err := checkSecurityGroup(u.GetDesiredAuthenticatorGroupsConfig()); err != nil {
			return nil, err
		}
		t.AuthenticatorGroupsConfig = clone(u.GetDesiredAuthenticatorGroupsConfig())
	case u.GetDesiredMasterAuthorizedNetworksConfig() != nil:
		t.MasterAuthorizedNetworksConfig = clone(u.GetDesiredMasterAuthorizedNetworksConfig())
	case u.GetDesiredLoggingService() != "":
		t.LoggingService = u.GetDesiredLoggingService()
	case u.GetDesiredMonitoringService() != "":
		t.MonitoringService = u.GetDesiredMonitoringService()
	case u.GetDesiredLoggingConfig() != nil:
		t.LoggingConfig = clone(u.GetDesiredLoggingConfig())
	case u.GetDesiredMonitoringConfig() != nil:
		t.MonitoringConfig = clone(u.GetDesiredMonitoringConfig())
	case u.GetDesiredVerticalPodAutoscaling() != nil:
		t.VerticalPodAutoscaling = clone(u.GetDesiredVerticalPodAutoscaling())
	case u.GetDesiredAddonsConfig() != nil:
		t.AddonsConfig = clone(u.GetDesiredAddonsConfig())
	default:
		return nil, inv("Update is empty: set one desired_* field.")
	}
	opRef := r
	if pool != nil {
		opRef.pool = pool.P.V.GetName()
		pool.P.V.Status = containerpb.NodePool_RECONCILING
	} else {
		c.C.V.Status = containerpb.Cluster_RECONCILING
	}
	op := e.startGKEOp(ctx, opRef, typ, now)
	if pool != nil {
		op.TargetPool = wrap(tp)
		op.TargetSizes = sizes
	} else {
		t.Etag = randHex(8)
		op.TargetCluster = wrap(t)
	}
	return op, nil
}

// nodeVersion resolves a node version: "-" is the master's, and nodes may
// not be newer than the master nor downgraded a minor.
func (e *Emulator) nodeVersion(want string, c *containerpb.Cluster, current string) (string, error) {
	master := c.GetCurrentMasterVersion()
	if want == "-" {
		return master, nil
	}
	v, err := resolveVersion(want, containerpb.ReleaseChannel_UNSPECIFIED)
	if err != nil {
		return "", status.Errorf(codes.InvalidArgument, "Node %v", err)
	}
	mv, _ := parseVersion(master)
	nv, _ := parseVersion(v)
	if nv.minor > mv.minor || (nv.minor == mv.minor && (nv.patch > mv.patch || (nv.patch == mv.patch && nv.build > mv.build))) {
		return "", status.Errorf(codes.InvalidArgument, "Node version %s cannot be newer than the master version %s.", v, master)
	}
	if nv.minor < mv.minor-2 {
		return "", status.Errorf(codes.InvalidArgument, "Node version %s is more than two minor versions behind the master version %s.", v, master)
	}
	if current != "" && nv.minor < minorOf(current) {
		return "", status.Errorf(codes.InvalidArgument, "Node version cannot be downgraded from %s to %s.", current, v)
	}
	return v, nil
}

func (s *clusterServer) SetLabels(ctx context.Context, req *containerpb.SetLabelsRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId()}, 3)
	if err != nil {
		return nil, err
	}
	if err := labelsErr("resourceLabels", req.GetResourceLabels()); err != nil {
		return nil, err
	}
	var out *containerpb.Operation
	err = s.lock(func(now time.Time) error {
		c, err := s.e.cluster(r)
		if err != nil {
			return err
		}
		if err := s.e.busy(r.key(), c, false); err != nil {
			return err
		}
		if req.GetLabelFingerprint() != c.C.V.GetLabelFingerprint() {
			return status.Errorf(codes.FailedPrecondition, "Labels could not be set due to fingerprint mismatch: got %q, current is %q.", req.GetLabelFingerprint(), c.C.V.GetLabelFingerprint())
		}
		t := clone(c.C.V)
		t.ResourceLabels = req.GetResourceLabels()
		t.LabelFingerprint = randHex(8)
		op := s.e.startGKEOp(ctx, r, containerpb.Operation_SET_LABELS, now)
		op.TargetCluster = wrap(t)
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

// ---- node pools ----

var (
	k8sLabelName   = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$`)
	k8sLabelPrefix = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
	k8sLabelValue  = regexp.MustCompile(`^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$`)
)

func checkK8sLabel(field, k, v string) error {
	name := k
	if prefix, n, ok := strings.Cut(k, "/"); ok {
		if !k8sLabelPrefix.MatchString(prefix) {
			return status.Errorf(codes.InvalidArgument, "%s: label key %q has an invalid prefix.", field, k)
		}
		name = n
	}
	if !k8sLabelName.MatchString(name) {
		return status.Errorf(codes.InvalidArgument, "%s: label key %q is not a valid Kubernetes label key.", field, k)
	}
	if !k8sLabelValue.MatchString(v) {
		return status.Errorf(codes.InvalidArgument, "%s: label value %q of %q is not a valid Kubernetes label value.", field, v, k)
	}
	return nil
}

func checkTaints(field string, taints []*containerpb.NodeTaint) error {
	for i, t := range taints {
		if err := checkK8sLabel(fmt.Sprintf("%s[%d]", field, i), t.GetKey(), t.GetValue()); err != nil {
			return err
		}
		if t.GetEffect() == containerpb.NodeTaint_EFFECT_UNSPECIFIED {
			return status.Errorf(codes.InvalidArgument, "%s[%d]: effect is required (NO_SCHEDULE, PREFER_NO_SCHEDULE or NO_EXECUTE).", field, i)
		}
	}
	return nil
}

func checkAutoscaling(a *containerpb.NodePoolAutoscaling) error {
	inv := func(format string, args ...any) error { return status.Errorf(codes.InvalidArgument, format, args...) }
	if !a.GetEnabled() {
		return nil
	}
	perZone := a.GetMinNodeCount() != 0 || a.GetMaxNodeCount() != 0
	total := a.GetTotalMinNodeCount() != 0 || a.GetTotalMaxNodeCount() != 0
	switch {
	case perZone && total:
		return inv("Autoscaling limits are either per zone (min/max_node_count) or total (total_min/max_node_count), not both.")
	case a.GetMinNodeCount() < 0 || a.GetTotalMinNodeCount() < 0:
		return inv("Autoscaling minimum cannot be negative.")
	case perZone && (a.GetMaxNodeCount() < 1 || a.GetMinNodeCount() > a.GetMaxNodeCount()):
		return inv("Autoscaling per-zone limits min %d, max %d: want 0 <= min <= max and max >= 1.", a.GetMinNodeCount(), a.GetMaxNodeCount())
	case total && (a.GetTotalMaxNodeCount() < 1 || a.GetTotalMinNodeCount() > a.GetTotalMaxNodeCount()):
		return inv("Autoscaling total limits min %d, max %d: want 0 <= min <= max and max >= 1.", a.GetTotalMinNodeCount(), a.GetTotalMaxNodeCount())
	case !perZone && !total:
		return inv("Autoscaling is enabled but has no limits: set max_node_count (per zone) or total_max_node_count.")
	case a.GetMaxNodeCount() > 1000 || a.GetTotalMaxNodeCount() > 1000*3:
		return inv("Autoscaling maximum is too large.")
	}
	return nil
}

// clampSizes is what the autoscaler makes of per-zone sizes under per-zone
// limits (total limits are kept as asked; the sandbox does not spread them).
func clampSizes(sizes map[string]int32, a *containerpb.NodePoolAutoscaling) map[string]int32 {
	out := map[string]int32{}
	for z, n := range sizes {
		if a.GetEnabled() && (a.GetMinNodeCount() != 0 || a.GetMaxNodeCount() != 0) {
			n = max(a.GetMinNodeCount(), min(n, a.GetMaxNodeCount()))
		}
		out[z] = n
	}
	return out
}

var defaultScopes = []string{
	"https://www.googleapis.com/auth/devstorage.read_only",
	"https://www.googleapis.com/auth/logging.write",
	"https://www.googleapis.com/auth/monitoring",
	"https://www.googleapis.com/auth/service.management.readonly",
	"https://www.googleapis.com/auth/servicecontrol",
	"https://www.googleapis.com/auth/trace.append",
}

// migName is the managed instance group GKE creates for a pool in a zone.
func migName(cluster, pool, zone string) string {
	trunc := func(s string, n int) string {
		if len(s) > n {
			return s[:n]
		}
		return s
	}
	return "gke-" + trunc(cluster, 20) + "-" + trunc(pool, 15) + "-" + fnvHex(cluster+"/"+pool+"/"+zone) + "-grp"
}

// newPool validates a node pool of cluster c and builds its record.
func (e *Emulator) newPool(r clusterRef, c *containerpb.Cluster, p *containerpb.NodePool, now time.Time) (*poolRec, error) {
	inv := func(format string, args ...any) error { return status.Errorf(codes.InvalidArgument, format, args...) }
	p = clone(p)
	if !clusterNameRE.MatchString(p.GetName()) {
		return nil, inv("Invalid node pool name %q: it must start with a lowercase letter, hold up to 40 lowercase letters, digits or hyphens, and not end with a hyphen.", p.GetName())
	}
	if p.GetInitialNodeCount() < 0 {
		return nil, inv("Node pool %s: initial_node_count must be >= 0.", p.GetName())
	}
	if p.GetInitialNodeCount() == 0 && !p.GetAutoscaling().GetEnabled() {
		return nil, inv("Node pool %s: initial_node_count must be greater than zero unless autoscaling is enabled.", p.GetName())
	}
	if err := checkAutoscaling(p.GetAutoscaling()); err != nil {
		return nil, err
	}
	if p.Config == nil {
		p.Config = &containerpb.NodeConfig{}
	}
	cfg := p.Config
	if cfg.MachineType == "" {
		cfg.MachineType = "e2-medium"
	}
	if cfg.ImageType == "" {
		cfg.ImageType = "COS_CONTAINERD"
	}
	if !contains(serverConfig().GetValidImageTypes(), cfg.ImageType) {
		return nil, inv("Node pool %s: image type %q is not valid: %s.", p.GetName(), cfg.ImageType, strings.Join(serverConfig().GetValidImageTypes(), ", "))
	}
	if err := checkNodeOptions(p); err != nil {
		return nil, err
	}
	if cfg.ServiceAccount == "" {
		cfg.ServiceAccount = "default"
	}
	if len(cfg.OauthScopes) == 0 {
		cfg.OauthScopes = defaultScopes
	}
	if cfg.Metadata == nil {
		cfg.Metadata = map[string]string{"disable-legacy-endpoints": "true"}
	}
	for k, v := range cfg.GetLabels() {
		if err := checkK8sLabel("config.labels", k, v); err != nil {
			return nil, err
		}
	}
	if err := checkTaints("config.taints", cfg.GetTaints()); err != nil {
		return nil, err
	}
	if err := labelsErr("config.resourceLabels", cfg.GetResourceLabels()); err != nil {
		return nil, err
	}
	v, err := e.nodeVersion(p.GetVersion(), c, "")
	if err != nil {
		return nil, err
	}
	if p.GetVersion() == "" {
		v = c.GetCurrentMasterVersion()
	}
	p.Version = v
	if len(p.Locations) == 0 {
		p.Locations = append([]string(nil), c.GetLocations()...)
	}
	if err := checkZones("nodePool.locations", p.GetLocations(), regionOf(r.location)); err != nil {
		return nil, err
	}
	if p.Management == nil {
		p.Management = &containerpb.NodeManagement{AutoUpgrade: true, AutoRepair: true}
	}
	if ch := c.GetReleaseChannel().GetChannel(); ch != containerpb.ReleaseChannel_UNSPECIFIED && !p.Management.GetAutoUpgrade() {
		return nil, inv("Node pool %s: auto-upgrade must be enabled for node pools of clusters in the %s release channel.", p.GetName(), ch)
	}
	if p.UpgradeSettings == nil {
		p.UpgradeSettings = &containerpb.NodePool_UpgradeSettings{MaxSurge: 1, Strategy: containerpb.NodePoolUpdateStrategy_SURGE.Enum()}
	}
	if p.Autoscaling != nil && p.Autoscaling.GetEnabled() && p.Autoscaling.LocationPolicy == containerpb.NodePoolAutoscaling_LOCATION_POLICY_UNSPECIFIED {
		p.Autoscaling.LocationPolicy = containerpb.NodePoolAutoscaling_BALANCED
	}
	p.SelfLink = containerBase + "projects/" + r.project + "/locations/" + r.location + "/clusters/" + c.GetName() + "/nodePools/" + p.GetName()
	p.Status = containerpb.NodePool_PROVISIONING
	p.Etag = randHex(8)
	p.InstanceGroupUrls = nil
	sizes := map[string]int32{}
	for _, z := range p.GetLocations() {
		p.InstanceGroupUrls = append(p.InstanceGroupUrls, computeBase+"projects/"+r.project+"/zones/"+z+"/instanceGroupManagers/"+migName(c.GetName(), p.GetName(), z))
		sizes[z] = p.GetInitialNodeCount()
	}
	return &poolRec{P: wrap(p), Sizes: clampSizes(sizes, p.GetAutoscaling())}, nil
}

func (s *clusterServer) CreateNodePool(ctx context.Context, req *containerpb.CreateNodePoolRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetParent(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId()}, 3)
	if err != nil {
		return nil, err
	}
	if req.GetNodePool() == nil {
		return nil, status.Error(codes.InvalidArgument, "NodePool is required.")
	}
	clearOutputOnly(req.GetNodePool())
	var out *containerpb.Operation
	err = s.lock(func(now time.Time) error {
		c, err := s.e.cluster(r)
		if err != nil {
			return err
		}
		r.pool = req.GetNodePool().GetName()
		if c.pool(r.pool) != nil {
			return status.Errorf(codes.AlreadyExists, "Already exists: %s.", r.poolKey())
		}
		if err := s.e.busy(r.key(), c, false); err != nil {
			return err
		}
		p, err := s.e.newPool(r, c.C.V, req.GetNodePool(), now)
		if err != nil {
			return err
		}
		var others []*containerpb.NodePool
		for _, o := range c.Pools {
			others = append(others, o.P.V)
		}
		if err := checkLinuxPool(p.P.V, others); err != nil {
			return err
		}
		c.Pools = append(c.Pools, p)
		s.e.syncPool(c, r.pool, p) // its instances join while it is provisioned
		op := s.e.startGKEOp(ctx, r, containerpb.Operation_CREATE_NODE_POOL, now)
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

func (s *clusterServer) GetNodePool(ctx context.Context, req *containerpb.GetNodePoolRequest) (*containerpb.NodePool, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId(), req.GetNodePoolId()}, 4)
	if err != nil {
		return nil, err
	}
	var out *containerpb.NodePool
	err = s.lock(func(now time.Time) error {
		_, p, err := s.e.nodePool(r)
		if err != nil {
			return err
		}
		out = renderPool(p)
		return nil
	})
	return out, err
}

func (s *clusterServer) ListNodePools(ctx context.Context, req *containerpb.ListNodePoolsRequest) (*containerpb.ListNodePoolsResponse, error) {
	r, err := parseName(req.GetParent(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId()}, 3)
	if err != nil {
		return nil, err
	}
	out := &containerpb.ListNodePoolsResponse{}
	err = s.lock(func(now time.Time) error {
		c, err := s.e.cluster(r)
		if err != nil {
			return err
		}
		for _, p := range c.Pools {
			out.NodePools = append(out.NodePools, renderPool(p))
		}
		return nil
	})
	return out, err
}

// poolOp runs a node pool change: it finds the pool, checks no operation
// runs on the cluster, lets change build the target and starts the
// operation.
func (s *clusterServer) poolOp(ctx context.Context, r clusterRef, typ containerpb.Operation_Type,
	change func(c *clusterRec, p *poolRec, t *containerpb.NodePool) (map[string]int32, error)) (*containerpb.Operation, error) {
	var out *containerpb.Operation
	err := s.lock(func(now time.Time) error {
		c, p, err := s.e.nodePool(r)
		if err != nil {
			return err
		}
		if err := s.e.busy(r.key(), c, false); err != nil {
			return err
		}
		if p.P.V.GetStatus() == containerpb.NodePool_ERROR {
			return status.Errorf(codes.FailedPrecondition, "Node pool %s is in ERROR state; it can only be deleted.", r.pool)
		}
		t := clone(p.P.V)
		sizes, err := change(c, p, t)
		if err != nil {
			return err
		}
		t.Etag = randHex(8)
		p.P.V.Status = containerpb.NodePool_RECONCILING
		op := s.e.startGKEOp(ctx, r, typ, now)
		op.TargetPool, op.TargetSizes = wrap(t), sizes
		if typ == containerpb.Operation_UPGRADE_NODES && t.GetVersion() != p.P.V.GetVersion() && !op.Fail {
			// A surge upgrade: new nodes join, old ones are drained and go,
			// maxSurge and maxUnavailable at a time.
			us := t.GetUpgradeSettings()
			op.Roll = &emu.Roll{MaxSurge: int(us.GetMaxSurge()), MaxUnavailable: int(us.GetMaxUnavailable())}
		}
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

func (s *clusterServer) DeleteNodePool(ctx context.Context, req *containerpb.DeleteNodePoolRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId(), req.GetNodePoolId()}, 4)
	if err != nil {
		return nil, err
	}
	var out *containerpb.Operation
	err = s.lock(func(now time.Time) error {
		c, p, err := s.e.nodePool(r)
		if err != nil {
			return err
		}
		if err := s.e.busy(r.key(), c, false); err != nil && c.C.V.GetStatus() != containerpb.Cluster_ERROR {
			return err
		}
		p.P.V.Status = containerpb.NodePool_STOPPING
		s.e.syncPool(c, r.pool, p) // its instances are drained and deleted while it stops
		op := s.e.startGKEOp(ctx, r, containerpb.Operation_DELETE_NODE_POOL, now)
		s.e.settle(now)
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

func (s *clusterServer) SetNodePoolAutoscaling(ctx context.Context, req *containerpb.SetNodePoolAutoscalingRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId(), req.GetNodePoolId()}, 4)
	if err != nil {
		return nil, err
	}
	if req.GetAutoscaling() == nil {
		return nil, status.Error(codes.InvalidArgument, "Autoscaling is required.")
	}
	if err := checkAutoscaling(req.GetAutoscaling()); err != nil {
		return nil, err
	}
	return s.poolOp(ctx, r, containerpb.Operation_UPDATE_CLUSTER, func(c *clusterRec, p *poolRec, t *containerpb.NodePool) (map[string]int32, error) {
		t.Autoscaling = clone(req.GetAutoscaling())
		if t.Autoscaling.GetEnabled() && t.Autoscaling.LocationPolicy == containerpb.NodePoolAutoscaling_LOCATION_POLICY_UNSPECIFIED {
			t.Autoscaling.LocationPolicy = containerpb.NodePoolAutoscaling_BALANCED
		}
		return clampSizes(p.Sizes, t.Autoscaling), nil
	})
}

func (s *clusterServer) SetNodePoolSize(ctx context.Context, req *containerpb.SetNodePoolSizeRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId(), req.GetNodePoolId()}, 4)
	if err != nil {
		return nil, err
	}
	if req.GetNodeCount() < 0 {
		return nil, status.Errorf(codes.InvalidArgument, "node_count %d must be >= 0.", req.GetNodeCount())
	}
	return s.poolOp(ctx, r, containerpb.Operation_SET_NODE_POOL_SIZE, func(c *clusterRec, p *poolRec, t *containerpb.NodePool) (map[string]int32, error) {
		sizes := map[string]int32{}
		for _, z := range t.GetLocations() {
			sizes[z] = req.GetNodeCount()
		}
		return sizes, nil
	})
}

// updateNodePoolFields are the UpdateNodePoolRequest members the sandbox applies.
var updateNodePoolFields = map[protoreflect.Name]bool{
	"project_id": true, "zone": true, "cluster_id": true, "node_pool_id": true, "name": true, "etag": true,
	"node_version": true, "image_type": true, "locations": true, "upgrade_settings": true, "tags": true,
	"taints": true, "labels": true, "resource_labels": true, "machine_type": true, "disk_type": true, "disk_size_gb": true,
}

func (s *clusterServer) UpdateNodePool(ctx context.Context, req *containerpb.UpdateNodePoolRequest) (*containerpb.Operation, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone(), req.GetClusterId(), req.GetNodePoolId()}, 4)
	if err != nil {
		return nil, err
	}
	var bad error
	req.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		if !updateNodePoolFields[fd.Name()] {
			bad = status.Errorf(codes.InvalidArgument, "The sandbox does not emulate UpdateNodePoolRequest.%s.", fd.Name())
			return false
		}
		return true
	})
	if bad != nil {
		return nil, bad
	}
	typ := containerpb.Operation_UPDATE_CLUSTER
	if req.GetNodeVersion() != "" || req.GetImageType() != "" {
		typ = containerpb.Operation_UPGRADE_NODES
	}
	return s.poolOp(ctx, r, typ, func(c *clusterRec, p *poolRec, t *containerpb.NodePool) (map[string]int32, error) {
		if req.GetEtag() != "" && req.GetEtag() != p.P.V.GetEtag() {
			return nil, status.Errorf(codes.Aborted, "Node pool %s was changed since etag %q was read (now %q).", r.pool, req.GetEtag(), p.P.V.GetEtag())
		}
		if req.GetNodeVersion() != "" {
			v, err := s.e.nodeVersion(req.GetNodeVersion(), c.C.V, p.P.V.GetVersion())
			if err != nil {
				return nil, err
			}
			t.Version = v
		}
		if it := req.GetImageType(); it != "" {
			if !contains(serverConfig().GetValidImageTypes(), it) {
				return nil, status.Errorf(codes.InvalidArgument, "Image type %q is not valid: %s.", it, strings.Join(serverConfig().GetValidImageTypes(), ", "))
			}
			if windowsImage(it) != windowsImage(t.Config.GetImageType()) {
				return nil, status.Errorf(codes.InvalidArgument, "Node pool %s: image type cannot change between Linux and Windows Server (%s to %s); create a new node pool.", r.pool, t.Config.GetImageType(), it)
			}
			t.Config.ImageType = it
		}
		if req.Labels != nil {
			for k, v := range req.GetLabels().GetLabels() {
				if err := checkK8sLabel("labels", k, v); err != nil {
					return nil, err
				}
			}
			t.Config.Labels = req.GetLabels().GetLabels()
		}
		if req.Taints != nil {
			if err := checkTaints("taints", req.GetTaints().GetTaints()); err != nil {
				return nil, err
			}
			t.Config.Taints = req.GetTaints().GetTaints()
		}
		if req.ResourceLabels != nil {
			if err := labelsErr("resourceLabels", req.GetResourceLabels().GetLabels()); err != nil {
				return nil, err
			}
			t.Config.ResourceLabels = req.GetResourceLabels().GetLabels()
		}
		if req.Tags != nil {
			t.Config.Tags = req.GetTags().GetTags()
		}
		if req.UpgradeSettings != nil {
			t.UpgradeSettings = clone(req.GetUpgradeSettings())
		}
		if req.GetMachineType() != "" {
			t.Config.MachineType = req.GetMachineType()
		}
		if req.GetDiskType() != "" {
			t.Config.DiskType = req.GetDiskType()
		}
		if req.GetDiskSizeGb() != 0 {
			t.Config.DiskSizeGb = int32(req.GetDiskSizeGb())
		}
		if err := checkNodeOptions(t); err != nil {
			return nil, err
		}
		var sizes map[string]int32
		if len(req.GetLocations()) > 0 {
			if err := checkZones("locations", req.GetLocations(), regionOf(r.location)); err != nil {
				return nil, err
			}
			sizes = map[string]int32{}
			for _, z := range req.GetLocations() {
				n, ok := p.Sizes[z]
				if !ok {
					n = t.GetInitialNodeCount()
				}
				sizes[z] = n
			}
			t.Locations = append([]string(nil), req.GetLocations()...)
			t.InstanceGroupUrls = nil
			for _, z := range t.Locations {
				t.InstanceGroupUrls = append(t.InstanceGroupUrls, computeBase+"projects/"+r.project+"/zones/"+z+"/instanceGroupManagers/"+migName(r.cluster, r.pool, z))
			}
		}
		return sizes, nil
	})
}

// ---- operations and server config ----

func (s *clusterServer) GetOperation(ctx context.Context, req *containerpb.GetOperationRequest) (*containerpb.Operation, error) {
	name := req.GetName()
	if name == "" {
		name = "projects/" + req.GetProjectId() + "/locations/" + req.GetZone() + "/operations/" + req.GetOperationId()
	}
	p := strings.Split(name, "/")
	if len(p) != 6 || p[0] != "projects" || p[2] != "locations" || p[4] != "operations" || p[5] == "" {
		return nil, status.Errorf(codes.InvalidArgument, "name %q: want projects/P/locations/L/operations/OPERATION", name)
	}
	var out *containerpb.Operation
	err := s.lock(func(now time.Time) error {
		op := s.e.st.GKEOps[name]
		if op == nil {
			return status.Errorf(codes.NotFound, "Not found: %s.", name)
		}
		out = renderGKEOp(op, now)
		return nil
	})
	return out, err
}

func (s *clusterServer) ListOperations(ctx context.Context, req *containerpb.ListOperationsRequest) (*containerpb.ListOperationsResponse, error) {
	r, err := parseName(req.GetParent(), [4]string{req.GetProjectId(), req.GetZone()}, 2)
	if err != nil {
		return nil, err
	}
	out := &containerpb.ListOperationsResponse{}
	err = s.lock(func(now time.Time) error {
		for _, op := range s.e.st.GKEOps {
			if op.Project == r.project && (r.location == "-" || op.Location == r.location) {
				out.Operations = append(out.Operations, renderGKEOp(op, now))
			}
		}
		return nil
	})
	sort.Slice(out.Operations, func(i, j int) bool { return out.Operations[i].GetName() < out.Operations[j].GetName() })
	return out, err
}

func (s *clusterServer) GetServerConfig(ctx context.Context, req *containerpb.GetServerConfigRequest) (*containerpb.ServerConfig, error) {
	r, err := parseName(req.GetName(), [4]string{req.GetProjectId(), req.GetZone()}, 2)
	if err != nil {
		return nil, err
	}
	if r.location == "-" || (regionOf(r.location) != r.location && !validZone(r.location)) {
		return nil, status.Errorf(codes.InvalidArgument, "Location %q is not a valid region or zone.", r.location)
	}
	return serverConfig(), nil
}

// CancelOperation is not emulated: GKE operations run to completion here.
func (s *clusterServer) CancelOperation(ctx context.Context, req *containerpb.CancelOperationRequest) (*emptypb.Empty, error) {
	return nil, status.Error(codes.Unimplemented, "The sandbox does not emulate CancelOperation.")
}

// checkSecurityGroup refuses Google Groups for RBAC without its group, or
// with a group not named gke-security-groups@DOMAIN, as GKE does.
func checkSecurityGroup(g *containerpb.AuthenticatorGroupsConfig) error {
	if !g.GetEnabled() {
		return nil
	}
	name, domain, ok := strings.Cut(g.GetSecurityGroup(), "@")
	if !ok || name != "gke-security-groups" || !strings.Contains(domain, ".") || strings.Contains(domain, "@") {
		return status.Errorf(codes.InvalidArgument, "Invalid value for authenticator_groups_config.security_group %q: Google Groups for RBAC needs a group named gke-security-groups@YOUR-DOMAIN.", g.GetSecurityGroup())
	}
	return nil
}
