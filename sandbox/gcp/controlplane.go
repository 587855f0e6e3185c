package gcp

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/protobuf/proto"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// kubeID names a cluster's API server in sandbox/kube:
// gcp-<project>-<location>-<name>, unique across clouds.
func kubeID(c *clusterRec) string {
	return "gcp-" + c.Project + "-" + c.Location + "-" + c.C.V.GetName()
}

// startKube is called at CreateCluster: with Kubernetes (env.Kube) it
// starts the cluster's API server in the background and keeps its endpoint
// and CA in the record until the cluster is RUNNING. Missing binaries do
// not refuse the create: the cluster is accepted and ends in ERROR with a
// message naming scripts/kube-apiserver.sh, as a GKE create that fails.
func (e *Emulator) startKube(c *clusterRec) {
	if e.env.Kube == nil {
		return
	}
	if err := e.env.Kube.Check(); err != nil {
		c.KubeErr = err.Error()
		return
	}
	e.ensureKube(c)
}

// ensureKube starts (or finds) the API server of c and records where it
// listens; a failure is kept in c.KubeErr. It serves the master's version
// (or the one an upgrade in progress moves it to), the cluster's services
// range, and gives pods addresses of its pods range.
func (e *Emulator) ensureKube(c *clusterRec) {
	info, err := e.env.Kube.Ensure(kubeID(c), emu.KubeSpec{
		Auth: e.authenticator(), Bootstrap: gkeBootstrap, Version: e.servedVersion(c),
		ServiceCIDR: c.C.V.GetServicesIpv4Cidr(), PodCIDR: c.C.V.GetClusterIpv4Cidr(),
	})
	if err != nil {
		c.KubeErr = err.Error()
		return
	}
	c.KubeEndpoint = strings.TrimPrefix(info.Endpoint, "https://")
	c.KubeCA = string(info.CAPEM)
}

// restartKube restarts the API servers of the clusters a loaded state holds
// (after a sandbox restart, at the same endpoint with the same CA).
func (e *Emulator) restartKube() {
	if e.env.Kube == nil {
		return
	}
	for _, c := range e.st.Clusters {
		if c.KubeErr == "" && c.KubeEndpoint != "" {
			e.ensureKube(c)
			e.syncNodes(c)
			if c.EndpointIP != "" {
				e.restartFront(c)
			}
		}
	}
}

// servedVersion is the version c's API server serves: the master's, or
// the one an UPGRADE_MASTER operation in progress moves it to.
func (e *Emulator) servedVersion(c *clusterRec) string {
	key := clusterRef{project: c.Project, location: c.Location, cluster: c.C.V.GetName()}.key()
	for _, op := range e.st.GKEOps {
		if op.Cluster == key && !op.Applied && !op.Fail && op.V.V.GetOperationType() == containerpb.Operation_UPGRADE_MASTER && op.TargetCluster.V != nil {
			return op.TargetCluster.V.GetCurrentMasterVersion()
		}
	}
	return c.C.V.GetCurrentMasterVersion()
}

// upgradeKube restarts c's API server at the version of a master upgrade
// just accepted; the operation stays RUNNING until it answers again
// (opReady asks kubeUpgrading).
func (e *Emulator) upgradeKube(c *clusterRec) {
	if e.env.Kube != nil && c.KubeErr == "" && c.KubeEndpoint != "" {
		e.ensureKube(c)
	}
}

// kubeUpgrading reports whether c's API server is still restarting at a
// new version.
func (e *Emulator) kubeUpgrading(c *clusterRec) bool {
	if e.env.Kube == nil || c.KubeErr != "" || c.KubeEndpoint == "" {
		return false
	}
	st := e.env.Kube.State(kubeID(c))
	return !st.Ready && st.Err == nil
}

// nodesReady reports whether c's nodes are what its pools last said
// (always without Kubernetes).
func (e *Emulator) nodesReady(c *clusterRec) bool {
	if e.env.Kube == nil || c.KubeErr != "" || c.KubeEndpoint == "" {
		return true
	}
	st := e.env.Kube.State(kubeID(c))
	return st.NodesReady || st.Err != nil
}

// rolling returns the operation upgrading pool's nodes by surge, if one
// is in progress.
func (e *Emulator) rolling(c *clusterRec, pool string) *gkeOpRec {
	for _, op := range e.st.GKEOps {
		if op.Roll != nil && !op.Applied && op.Pool == pool && e.st.Clusters[op.Cluster] == c && op.TargetPool.V != nil {
			return op
		}
	}
	return nil
}

// syncNodes tells the cluster's API server what nodes each node pool has
// (after an operation on the cluster or a pool completed, and at restart).
func (e *Emulator) syncNodes(c *clusterRec) {
	for _, p := range c.Pools {
		e.syncPool(c, p.P.V.GetName(), p)
	}
}

// opNodes syncs the nodes of c's pools after op was applied (a deleted
// pool loses its nodes; a deleted cluster's went with its API server).
func (e *Emulator) opNodes(c *clusterRec, op *gkeOpRec) {
	if e.st.Clusters[op.Cluster] != c {
		return
	}
	if op.Pool != "" && c.pool(op.Pool) == nil {
		e.syncPool(c, op.Pool, nil)
	}
	e.syncNodes(c)
}

// syncPool sets one pool's nodes: its per-zone sizes while it is
// PROVISIONING (they join then), RUNNING or RECONCILING; none while it is
// STOPPING, in ERROR or gone (p nil). opReady holds pool creates and
// deletes (and the cluster create) until the nodes are there.
func (e *Emulator) syncPool(c *clusterRec, name string, p *poolRec) {
	if e.env.Kube == nil || c.KubeErr != "" || c.KubeEndpoint == "" {
		return
	}
	var nodes []emu.KubeNode
	if p != nil {
		switch p.P.V.GetStatus() {
		case containerpb.NodePool_PROVISIONING, containerpb.NodePool_RUNNING, containerpb.NodePool_RECONCILING:
			nodes = e.poolNodes(c, p.P.V, p.Sizes, p.Gen)
			if op := e.rolling(c, name); op != nil {
				nodes = emu.RollNodes(nodes, e.poolNodes(c, op.TargetPool.V, p.Sizes, p.Gen+1), *op.Roll)
			}
		}
	}
	_ = e.env.Kube.SetNodePool(kubeID(c), name, nodes) // only fails for a cluster without an API server
}

// poolNodes are a node pool's nodes as GKE registers them: per zone, the
// instances of the pool's managed instance group (named after it), with
// the labels and taints GKE sets and the pool's own.
//
// Each generation (gen: an upgrade's surge instances) has its own names.
func (e *Emulator) poolNodes(c *clusterRec, pv *containerpb.NodePool, sizes map[string]int32, gen int) []emu.KubeNode {
	cfg := pv.GetConfig()
	machine := cfg.GetMachineType()
	if machine == "" {
		machine = "e2-medium"
	}
	family, _, _ := strings.Cut(machine, "-")
	arch := "amd64"
	if family == "t2a" || family == "c4a" || family == "n4a" {
		arch = "arm64"
	}
	provisioning := "standard"
	img := nodeImages[cfg.GetImageType()]
	if img.os == "" {
		img = nodeImages["COS_CONTAINERD"]
	}
	pods := strconv.FormatInt(cmp.Or(pv.GetMaxPodsConstraint().GetMaxPodsPerNode(), defaultPods), 10)
	labels := map[string]string{
		"cloud.google.com/gke-nodepool":          pv.GetName(),
		"cloud.google.com/machine-family":        family,
		"cloud.google.com/gke-os-distribution":   img.distribution,
		"cloud.google.com/gke-container-runtime": "containerd",
		"cloud.google.com/gke-boot-disk":         cmp.Or(cfg.GetDiskType(), "pd-balanced"),
		"cloud.google.com/gke-max-pods-per-node": pods,
		"cloud.google.com/gke-stack-type":        "IPV4",
		"cloud.google.com/gke-logging-variant":   "DEFAULT",
		"cloud.google.com/private-node":          strconv.FormatBool(c.C.V.GetPrivateClusterConfig().GetEnablePrivateNodes()),
	}
	if cfg.GetWorkloadMetadataConfig().GetMode() == containerpb.WorkloadMetadataConfig_GKE_METADATA {
		labels["iam.gke.io/gke-metadata-server-enabled"] = "true"
	}
	switch {
	case cfg.GetSpot():
		provisioning = "spot"
		labels["cloud.google.com/gke-spot"] = "true"
	case cfg.GetPreemptible():
		provisioning = "preemptible"
		labels["cloud.google.com/gke-preemptible"] = "true"
	}
	labels["cloud.google.com/gke-provisioning"] = provisioning
	for k, v := range cfg.GetLabels() {
		labels[k] = v
	}
	var taints []emu.KubeTaint
	for _, t := range cfg.GetTaints() {
		taints = append(taints, emu.KubeTaint{Key: t.GetKey(), Value: t.GetValue(), Effect: gkeTaintEffect[t.GetEffect()]})
	}
	if arch == "arm64" { // GKE taints Arm nodes so only workloads that ask for arm64 land there
		taints = append(taints, emu.KubeTaint{Key: "kubernetes.io/arch", Value: "arm64", Effect: "NoSchedule"})
	}
	if len(cfg.GetAccelerators()) > 0 {
		taints = append(taints, emu.KubeTaint{Key: "nvidia.com/gpu", Value: "present", Effect: "NoSchedule"})
	}
	if img.os == "windows" { // GKE taints Windows nodes so only Windows workloads land there
		labels["node.kubernetes.io/windows-build"] = img.windowsBuild
		taints = append(taints, emu.KubeTaint{Key: "node.kubernetes.io/os", Value: "windows", Effect: "NoSchedule"})
	}
	cpu, mem := machineCapacity(machine)
	region := regionOf(c.Location)
	var base netip.Addr
	if sn := e.st.Subnets[regKey(c.Project, region, c.C.V.GetSubnetwork())]; sn != nil {
		if pfx, err := netip.ParsePrefix(sn.V.V.GetIpCidrRange()); err == nil {
			base = pfx.Addr()
		}
	}
	var out []emu.KubeNode
	// Each pool takes its own block of 64 addresses of the subnet, after
	// the network and gateway addresses GCE keeps (the names are unique
	// anyway: they carry the instance group's hash).
	host := 2 + 64*int(fnvSum(pv.GetName())%32) + 32*(gen%2)
	for _, z := range slices.Sorted(maps.Keys(sizes)) {
		group := strings.TrimSuffix(migName(c.C.V.GetName(), pv.GetName(), z), "-grp")
		for i := range int(sizes[z]) {
			name := group + "-" + instanceSuffix(group, i+1000*gen)
			var ip string
			if base.IsValid() {
				a := base.As4()
				a[2] += byte(host >> 8)
				a[3] += byte(host)
				ip = netip.AddrFrom4(a).String()
			}
			host++
			out = append(out, emu.KubeNode{
				Name: name, ProviderID: "gce://" + c.Project + "/" + z + "/" + name, InternalIP: ip,
				InstanceType: machine, Region: region, Zone: z, Arch: arch,
				Labels: labels, Taints: taints, KubeletVersion: "v" + pv.GetVersion(),
				OS: img.os, OSImage: img.image, ContainerRuntime: "containerd://2.0.6",
				CPU: cpu, Memory: mem, Pods: pods,
			})
		}
	}
	return out
}

// nodeImage is what a node of an image type shows: its kubernetes.io/os,
// status.nodeInfo.osImage, cloud.google.com/gke-os-distribution and, on
// Windows, node.kubernetes.io/windows-build.
type nodeImage struct{ os, image, distribution, windowsBuild string }

var nodeImages = map[string]nodeImage{
	"COS_CONTAINERD":    {os: "linux", image: "Container-Optimized OS from Google", distribution: "cos"},
	"UBUNTU_CONTAINERD": {os: "linux", image: "Ubuntu 22.04.5 LTS", distribution: "ubuntu"},
	imageWindows:        {os: "windows", image: "Windows Server 2022 Datacenter", distribution: "windows_ltsc", windowsBuild: "10.0.20348"},
}

// gkeTaintEffect maps GKE's taint effects to Kubernetes'.
var gkeTaintEffect = map[containerpb.NodeTaint_Effect]string{
	containerpb.NodeTaint_NO_SCHEDULE:        "NoSchedule",
	containerpb.NodeTaint_PREFER_NO_SCHEDULE: "PreferNoSchedule",
	containerpb.NodeTaint_NO_EXECUTE:         "NoExecute",
}

// instanceSuffix is the four characters GCE appends to a managed instance
// group's base name, stable per group and index.
func instanceSuffix(group string, i int) string {
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789"
	h := fnvSum(fmt.Sprintf("%s/%d", group, i))
	var b [4]byte
	for j := range b {
		b[j] = chars[h%uint32(len(chars))]
		h /= uint32(len(chars))
	}
	return string(b[:])
}

// machineCapacity is the capacity of a Compute Engine machine type from its
// name ("e2-standard-4": 4 vCPUs, 16 GB); empty for a name it cannot read
// (the node then gets kwok's defaults).
func machineCapacity(machine string) (cpu, memory string) {
	switch machine {
	case "e2-micro":
		return "2", "1Gi"
	case "e2-small":
		return "2", "2Gi"
	case "e2-medium":
		return "2", "4Gi"
	}
	parts := strings.Split(machine, "-")
	if len(parts) != 3 {
		return "", ""
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n <= 0 {
		return "", ""
	}
	perCPU := map[string]int{"standard": 4, "highmem": 8, "highcpu": 1}[parts[1]]
	if perCPU == 0 {
		return "", ""
	}
	return strconv.Itoa(n), strconv.Itoa(n*perCPU) + "Gi"
}

// restartFront serves a running cluster's endpoint again after a restart;
// when its address cannot be served any more the cluster publishes its
// API server's own endpoint and CA instead.
func (e *Emulator) restartFront(c *clusterRec) {
	if _, _, err := e.startFront(c); err == nil {
		return
	}
	c.EndpointIP, c.Front = "", nil
	if c.C.V.GetEndpoint() != "" {
		c.C.V.Endpoint = c.KubeEndpoint
		c.C.V.MasterAuth = &containerpb.MasterAuth{ClusterCaCertificate: base64.StdEncoding.EncodeToString([]byte(c.KubeCA))}
	}
}

// kubeReady reports whether a cluster's create may finish: without
// Kubernetes at once; with it once its API server answers (or failed,
// which clusterRunning turns into ERROR).
func (e *Emulator) kubeReady(c *clusterRec) bool {
	if e.env.Kube == nil || c.KubeErr != "" {
		return true
	}
	st := e.env.Kube.State(kubeID(c))
	return st.Ready || st.Err != nil
}

// clusterRunning is the one place a cluster becomes RUNNING: it records
// the endpoint and CA of its API server — the real one with Kubernetes, a
// made-up public IP and self-signed CA without. An error leaves the
// cluster in ERROR with the error as its message.
func (e *Emulator) clusterRunning(c *clusterRec) error {
	var endpoint string
	var ca []byte
	if e.env.Kube != nil {
		kerr := c.KubeErr
		if kerr == "" {
			if st := e.env.Kube.State(kubeID(c)); st.Err != nil {
				kerr = st.Err.Error()
			}
		}
		if kerr != "" {
			_ = e.env.Kube.Remove(kubeID(c)) // best effort: nothing to keep of a server that never served
			return fmt.Errorf("the cluster's Kubernetes API server did not start: %s", kerr)
		}
		endpoint, ca = c.KubeEndpoint, []byte(c.KubeCA)
		if ip, fca, err := e.startFront(c); err == nil {
			endpoint, ca = ip, fca // GKE's shape: a bare IP, port 443
		} else {
			c.EndpointIP, c.Front = "", nil // where port 443 cannot be served
		}
	} else {
		var err error
		if endpoint, ca, err = fakeEndpoint(c.C.V); err != nil {
			return fmt.Errorf("start control plane: %w", err)
		}
	}
	cl := c.C.V
	cl.Endpoint = endpoint
	cl.MasterAuth = &containerpb.MasterAuth{ClusterCaCertificate: base64.StdEncoding.EncodeToString(ca)}
	if pc := cl.GetPrivateClusterConfig(); pc != nil {
		pc.PublicEndpoint = endpoint
		if b, err := netip.ParsePrefix(pc.GetMasterIpv4CidrBlock()); err == nil {
			pc.PrivateEndpoint = b.Addr().Next().Next().String()
			// The sandbox has no VPC to reach a private endpoint from: with
			// a real API server the endpoint stays the loopback one.
			if pc.GetEnablePrivateEndpoint() && e.env.Kube == nil {
				cl.Endpoint = pc.PrivateEndpoint
			}
		}
	}
	return nil
}

// clusterFailed is called when a cluster's create ends in ERROR: its API
// server is not kept running.
func (e *Emulator) clusterFailed(c *clusterRec) {
	e.stopFront(c)
	if e.env.Kube != nil && c.KubeEndpoint != "" {
		_ = e.env.Kube.Remove(kubeID(c)) // best effort: the delete removes it again
	}
}

// clusterDeleted is the one place a cluster goes away: its API server is
// stopped and its data removed.
func (e *Emulator) clusterDeleted(c *clusterRec) {
	e.stopFront(c)
	if e.env.Kube != nil {
		_ = e.env.Kube.Remove(kubeID(c)) // best effort: a leftover directory is removed by the next Remove
	}
}

// fakeEndpoint is the endpoint of a cluster without Kubernetes: a made-up
// public IP (stable per cluster) and a self-signed CA.
func fakeEndpoint(c *containerpb.Cluster) (string, []byte, error) {
	h := fnv.New32a()
	h.Write([]byte(c.GetSelfLink()))
	n := h.Sum32()
	ip := netip.AddrFrom4([4]byte{35, byte(180 + n%20), byte(n >> 8), byte(n>>16%250 + 2)})
	ca, err := selfSignedCA(c.GetName())
	if err != nil {
		return "", nil, err
	}
	return ip.String(), ca, nil
}

// GKE's built-in StorageClasses, as a new cluster has them (the PD CSI
// driver is on by default; standard-rwo is the default class).
func gkeBootstrap(ctx context.Context, cs kubernetes.Interface) error {
	del := corev1.PersistentVolumeReclaimDelete
	wait, now := storagev1.VolumeBindingWaitForFirstConsumer, storagev1.VolumeBindingImmediate
	yes := true
	classes := []*storagev1.StorageClass{
		{
			ObjectMeta: metav1.ObjectMeta{Name: "standard-rwo", Annotations: map[string]string{
				"storageclass.kubernetes.io/is-default-class": "true",
			}, Labels: map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists"}},
			Provisioner: "pd.csi.storage.gke.io", Parameters: map[string]string{"type": "pd-balanced"},
			ReclaimPolicy: &del, VolumeBindingMode: &wait, AllowVolumeExpansion: &yes,
		},
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "premium-rwo", Labels: map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists"}},
			Provisioner: "pd.csi.storage.gke.io", Parameters: map[string]string{"type": "pd-ssd"},
			ReclaimPolicy: &del, VolumeBindingMode: &wait, AllowVolumeExpansion: &yes,
		},
		{
			ObjectMeta:  metav1.ObjectMeta{Name: "standard", Labels: map[string]string{"addonmanager.kubernetes.io/mode": "EnsureExists"}},
			Provisioner: "kubernetes.io/gce-pd", Parameters: map[string]string{"type": "pd-standard"},
			ReclaimPolicy: &del, VolumeBindingMode: &now, AllowVolumeExpansion: &yes,
		},
	}
	for _, sc := range classes {
		_, err := cs.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{FieldManager: "addon-manager"})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create GKE StorageClass %s: %w", sc.Name, err)
		}
	}
	return nil
}

// selfSignedCA makes a CA certificate PEM like the one GKE returns.
func selfSignedCA(name string) ([]byte, error) {
	ca, err := newFrontCA(name)
	if err != nil {
		return nil, err
	}
	return []byte(ca.CertPEM), nil
}

func fnvHex(s string) string {
	h := fnv.New32a()
	h.Write([]byte(s))
	return fmt.Sprintf("%08x", h.Sum32())
}

// mig is the managed instance group behind a node pool in one zone.
type mig struct {
	c          *clusterRec
	p          *poolRec
	zone, name string
	size       int32
}

// migs lists the node pools' managed instance groups of a project, by
// zone and name.
func (e *Emulator) migs(project string) []mig {
	var out []mig
	for _, c := range e.st.Clusters {
		if c.Project != project {
			continue
		}
		for _, p := range c.Pools {
			for z, n := range p.Sizes {
				out = append(out, mig{c: c, p: p, zone: z, name: migName(c.C.V.GetName(), p.P.V.GetName(), z), size: n})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].zone+"/"+out[i].name < out[j].zone+"/"+out[j].name })
	return out
}

// render is the group as Compute shows it: targetSize is the pool's node
// count in that zone.
func (m mig) render() *computepb.InstanceGroupManager {
	zonePath := "projects/" + m.c.Project + "/zones/" + m.zone
	return &computepb.InstanceGroupManager{
		Kind:              proto.String("compute#instanceGroupManager"),
		Id:                proto.Uint64(uint64(fnvSum(m.name))),
		Name:              proto.String(m.name),
		Zone:              proto.String(computeBase + zonePath),
		BaseInstanceName:  proto.String(m.name[:len(m.name)-len("-grp")]),
		InstanceGroup:     proto.String(computeBase + zonePath + "/instanceGroups/" + m.name),
		SelfLink:          proto.String(computeBase + zonePath + "/instanceGroupManagers/" + m.name),
		TargetSize:        proto.Int32(m.size),
		CreationTimestamp: proto.String(m.c.C.V.GetCreateTime()),
		Status:            &computepb.InstanceGroupManagerStatus{IsStable: proto.Bool(m.p.P.V.GetStatus() == containerpb.NodePool_RUNNING)},
	}
}

// group is the instance group a managed group keeps its instances in.
func (m mig) group() *computepb.InstanceGroup {
	zonePath := "projects/" + m.c.Project + "/zones/" + m.zone
	return &computepb.InstanceGroup{
		Kind:              proto.String("compute#instanceGroup"),
		Id:                proto.Uint64(uint64(fnvSum(m.name + "/group"))),
		Name:              proto.String(m.name),
		Zone:              proto.String(computeBase + zonePath),
		Size:              proto.Int32(m.size),
		Network:           proto.String(computeBase + netPath(m.c.Project, networkName(m.c.C.V.GetNetwork()))),
		Subnetwork:        proto.String(computeBase + regionalPath(m.c.Project, regionOf(m.zone), "subnetworks", subnetName(m.c.C.V.GetSubnetwork()))),
		SelfLink:          proto.String(computeBase + zonePath + "/instanceGroups/" + m.name),
		CreationTimestamp: proto.String(m.c.C.V.GetCreateTime()),
		Fingerprint:       proto.String("42WmSpB8rSM="),
	}
}

// migGet finds a group of the zone by name and renders it; a miss is
// notFound in the request's collection.
func (e *Emulator) migGet(rt croute, render func(mig) proto.Message) (proto.Message, *gerr, bool) {
	for _, m := range e.migs(rt.project) {
		if m.zone == rt.loc && m.name == rt.name {
			return render(m), nil, false
		}
	}
	return nil, notFound("projects/" + rt.project + "/zones/" + rt.loc + "/" + rt.coll + "/" + rt.name), false
}

// migList lists the groups of a zone.
func migList[T proto.Message](e *Emulator, rt croute, render func(mig) T) []T {
	var out []T
	for _, m := range e.migs(rt.project) {
		if m.zone == rt.loc {
			out = append(out, render(m))
		}
	}
	return out
}

func zoneListHeader(rt croute) (kind, id, self *string) {
	base := "projects/" + rt.project + "/zones/" + rt.loc + "/" + rt.coll
	return proto.String("compute#" + strings.TrimSuffix(lowerFirst(rt.coll), "s") + "List"), proto.String(base), proto.String(computeBase + base)
}

func lowerFirst(s string) string { return strings.ToLower(s[:1]) + s[1:] }

// getInstanceGroup, listInstanceGroups, getIGM and listIGMs serve
// instanceGroups and instanceGroupManagers get and list: the node pools'
// groups (targetSize is the pool's node count in that zone).
func (e *Emulator) getInstanceGroup(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	return e.migGet(rt, func(m mig) proto.Message { return m.group() })
}

func (e *Emulator) listInstanceGroups(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	kind, id, self := zoneListHeader(rt)
	return &computepb.InstanceGroupList{Kind: kind, Id: id, SelfLink: self, Items: migList(e, rt, mig.group)}, nil, false
}

func (e *Emulator) getIGM(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	return e.migGet(rt, func(m mig) proto.Message { return m.render() })
}

func (e *Emulator) listIGMs(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	kind, id, self := zoneListHeader(rt)
	return &computepb.InstanceGroupManagerList{Kind: kind, Id: id, SelfLink: self, Items: migList(e, rt, mig.render)}, nil, false
}

func fnvSum(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
