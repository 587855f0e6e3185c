package gcp

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"net/netip"
	"sort"
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
// listens; a failure is kept in c.KubeErr.
func (e *Emulator) ensureKube(c *clusterRec) {
	info, err := e.env.Kube.Ensure(kubeID(c), e.authenticator(), gkeBootstrap)
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
			if c.EndpointIP != "" {
				e.restartFront(c)
			}
		}
	}
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
