package gcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestNodePoolNodeOptions: a node pool's boot disk, max pods and image are
// stored, defaulted and returned as GKE does (gRPC and REST), and what GKE
// refuses is refused, with INVALID_ARGUMENT or FAILED_PRECONDITION.
func TestNodePoolNodeOptions(t *testing.T) {
	e := gkeEnv(t, t.TempDir())
	network(t, e)
	ctx := context.Background()
	// A cluster needs a Linux pool before a Windows one.
	c := demoCluster()
	c.Name = "winonly"
	c.PrivateClusterConfig = nil
	c.NodePools[0].Config.ImageType = "WINDOWS_LTSC_CONTAINERD"
	_, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: c})
	if st := status.Convert(err); st.Code() != codes.FailedPrecondition || !strings.Contains(st.Message(), "at least one Linux node pool") {
		t.Errorf("a cluster of Windows pools only: %v", err)
	}
	op, err := e.gke.CreateCluster(ctx, &containerpb.CreateClusterRequest{Parent: loc, Cluster: demoCluster()})
	if err != nil {
		t.Fatal(err)
	}
	waitOp(t, e, op)
	sys, err := e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: clusterKey + "/nodePools/system"})
	if err != nil {
		t.Fatal(err)
	}
	if c := sys.GetConfig(); c.GetDiskSizeGb() != 100 || c.GetDiskType() != "pd-balanced" || c.GetImageType() != "COS_CONTAINERD" ||
		sys.GetMaxPodsConstraint().GetMaxPodsPerNode() != 110 || sys.GetPodIpv4CidrSize() != 24 {
		t.Errorf("defaults: disk %d GB %s, image %s, max pods %d, pod range /%d; want 100 GB pd-balanced, COS_CONTAINERD, 110, /24",
			c.GetDiskSizeGb(), c.GetDiskType(), c.GetImageType(), sys.GetMaxPodsConstraint().GetMaxPodsPerNode(), sys.GetPodIpv4CidrSize())
	}

	pool := func(name, machine, image string, disk int32, diskType string, pods int64) *containerpb.NodePool {
		p := &containerpb.NodePool{Name: name, InitialNodeCount: 1,
			Config: &containerpb.NodeConfig{MachineType: machine, ImageType: image, DiskSizeGb: disk, DiskType: diskType}}
		if pods != 0 {
			p.MaxPodsConstraint = &containerpb.MaxPodsConstraint{MaxPodsPerNode: pods}
		}
		return p
	}
	create := func(p *containerpb.NodePool) error {
		op, err := e.gke.CreateNodePool(ctx, &containerpb.CreateNodePoolRequest{Parent: clusterKey, NodePool: p})
		if err == nil {
			waitOp(t, e, op)
		}
		return err
	}
	if err := create(pool("win", "e2-standard-4", "WINDOWS_LTSC_CONTAINERD", 200, "pd-ssd", 32)); err != nil {
		t.Fatal(err)
	}
	got, err := e.gke.GetNodePool(ctx, &containerpb.GetNodePoolRequest{Name: clusterKey + "/nodePools/win"})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.GetConfig(); c.GetDiskSizeGb() != 200 || c.GetDiskType() != "pd-ssd" || c.GetImageType() != "WINDOWS_LTSC_CONTAINERD" ||
		got.GetMaxPodsConstraint().GetMaxPodsPerNode() != 32 || got.GetPodIpv4CidrSize() != 26 {
		t.Errorf("gRPC: disk %d GB %s, image %s, max pods %d, pod range /%d; want 200 GB pd-ssd, Windows, 32, /26",
			c.GetDiskSizeGb(), c.GetDiskType(), c.GetImageType(), got.GetMaxPodsConstraint().GetMaxPodsPerNode(), got.GetPodIpv4CidrSize())
	}
	r := restDo(t, e, http.MethodGet, "/v1/"+clusterKey+"/nodePools/win", "", true)
	var rp struct {
		Config struct {
			DiskSizeGb int    `json:"diskSizeGb"`
			DiskType   string `json:"diskType"`
			ImageType  string `json:"imageType"`
		} `json:"config"`
		MaxPodsConstraint struct {
			MaxPodsPerNode string `json:"maxPodsPerNode"` // int64 travels as a string
		} `json:"maxPodsConstraint"`
		PodIpv4CidrSize int `json:"podIpv4CidrSize"`
	}
	if err := json.Unmarshal([]byte(r.raw), &rp); err != nil || r.code != 200 || rp.Config.DiskSizeGb != 200 || rp.Config.DiskType != "pd-ssd" ||
		rp.Config.ImageType != "WINDOWS_LTSC_CONTAINERD" || rp.MaxPodsConstraint.MaxPodsPerNode != "32" || rp.PodIpv4CidrSize != 26 {
		t.Errorf("REST: %d %s (%v)", r.code, r.raw, err)
	}

	refused := []struct {
		name string
		pool *containerpb.NodePool
		code codes.Code
		says string
	}{
		{"disk under 10 GB", pool("small", "e2-standard-4", "", 8, "", 0), codes.InvalidArgument, "between 10 and 65536"},
		{"unknown disk type", pool("hdd", "e2-standard-4", "", 0, "pd-hdd", 0), codes.InvalidArgument, "not supported by machine type"},
		{"pd-standard on T2A", pool("arm", "t2a-standard-4", "", 0, "pd-standard", 0), codes.InvalidArgument, "not supported by machine type t2a-standard-4"},
		{"7 pods per node", pool("few", "e2-standard-4", "", 0, "", 7), codes.InvalidArgument, "between 8 and 256"},
		{"257 pods per node", pool("many", "e2-standard-4", "", 0, "", 257), codes.InvalidArgument, "between 8 and 256"},
		{"Windows on Arm", pool("warm", "t2a-standard-4", "WINDOWS_LTSC_CONTAINERD", 0, "", 0), codes.InvalidArgument, "Arm"},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			err := create(tc.pool)
			if st := status.Convert(err); st.Code() != tc.code || !strings.Contains(st.Message(), tc.says) {
				t.Errorf("create: %v; want %v saying %q", err, tc.code, tc.says)
			}
		})
	}
	// The image cannot switch between Linux and Windows in place.
	_, err = e.gke.UpdateNodePool(ctx, &containerpb.UpdateNodePoolRequest{Name: clusterKey + "/nodePools/system", NodeVersion: "-", ImageType: "WINDOWS_LTSC_CONTAINERD"})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "between Linux and Windows") {
		t.Errorf("Linux → Windows in place: %v", err)
	}

}
