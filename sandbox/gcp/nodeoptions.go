package gcp

import (
	"math/bits"
	"slices"
	"strings"

	"cloud.google.com/go/container/apiv1/containerpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// A node pool's boot disk, max pods per node and image, as GKE checks and
// defaults them.

// Bounds GKE Standard enforces.
const (
	minDiskGB      = 10
	maxDiskGB      = 65536
	defaultDiskGB  = 100
	minPodsPerNode = 8
	maxPodsPerNode = 256
	defaultPods    = 110
	imageWindows   = "WINDOWS_LTSC_CONTAINERD"
)

// bootDisks are the boot disk types of each machine series; series not
// named take the persistent disks.
var (
	persistentDisks = []string{"pd-standard", "pd-balanced", "pd-ssd"}
	bootDisks       = map[string][]string{
		"t2a": {"pd-balanced", "pd-ssd"},
		"c3":  {"pd-balanced", "pd-ssd", "hyperdisk-balanced"},
		"g2":  {"pd-balanced", "pd-ssd"},
		"c4":  {"hyperdisk-balanced"},
		"n4":  {"hyperdisk-balanced"},
		"c4a": {"hyperdisk-balanced"},
	}
	armSeries = []string{"t2a", "c4a", "n4a"}
)

// windowsImage reports whether a node image type is a Windows Server one.
func windowsImage(imageType string) bool { return strings.HasPrefix(imageType, "WINDOWS_") }

// podRangeSize is the prefix length of the pod range GKE gives each node
// of a pool with maxPods pods per node: twice maxPods rounded up to a
// power of two (/24 for 110, /28 for 8).
func podRangeSize(maxPods int64) int32 {
	return int32(32 - bits.Len64(uint64(2*maxPods-1)))
}

// checkNodeOptions validates and defaults a new node pool's boot disk, max
// pods and image (config already defaulted to a machine type).
func checkNodeOptions(p *containerpb.NodePool) error {
	inv := func(format string, args ...any) error { return status.Errorf(codes.InvalidArgument, format, args...) }
	cfg := p.Config
	if cfg.DiskSizeGb == 0 {
		cfg.DiskSizeGb = defaultDiskGB
	}
	if cfg.DiskSizeGb < minDiskGB || cfg.DiskSizeGb > maxDiskGB {
		return inv("Node pool %s: disk_size_gb %d is out of range: it must be between %d and %d GB.", p.GetName(), cfg.DiskSizeGb, minDiskGB, maxDiskGB)
	}
	series, _, _ := strings.Cut(cfg.GetMachineType(), "-")
	allowed := persistentDisks
	if d, ok := bootDisks[series]; ok {
		allowed = d
	}
	if cfg.DiskType == "" {
		cfg.DiskType = "pd-balanced" // GKE's default, or the series' only disk
		if !slices.Contains(allowed, cfg.DiskType) {
			cfg.DiskType = allowed[0]
		}
	}
	if !slices.Contains(allowed, cfg.DiskType) {
		return inv("Node pool %s: disk type %q is not supported by machine type %s; use one of %s.", p.GetName(), cfg.DiskType, cfg.GetMachineType(), strings.Join(allowed, ", "))
	}
	if windowsImage(cfg.ImageType) && slices.Contains(armSeries, series) {
		return inv("Node pool %s: image type %s does not support Arm machine type %s.", p.GetName(), cfg.ImageType, cfg.GetMachineType())
	}
	if p.MaxPodsConstraint == nil {
		p.MaxPodsConstraint = &containerpb.MaxPodsConstraint{MaxPodsPerNode: defaultPods}
	}
	if n := p.MaxPodsConstraint.GetMaxPodsPerNode(); n < minPodsPerNode || n > maxPodsPerNode {
		return inv("Node pool %s: max_pods_per_node %d is out of range: it must be between %d and %d.", p.GetName(), n, minPodsPerNode, maxPodsPerNode)
	}
	p.PodIpv4CidrSize = podRangeSize(p.MaxPodsConstraint.GetMaxPodsPerNode())
	return nil
}

// checkLinuxPool refuses a Windows node pool in a cluster with no Linux
// pool (others: its pools, or the cluster's initial ones).
func checkLinuxPool(p *containerpb.NodePool, others []*containerpb.NodePool) error {
	if !windowsImage(p.GetConfig().GetImageType()) {
		return nil
	}
	for _, o := range others {
		if !windowsImage(o.GetConfig().GetImageType()) && o.GetStatus() != containerpb.NodePool_STOPPING {
			return nil
		}
	}
	return status.Errorf(codes.FailedPrecondition, "Node pool %s: a cluster needs at least one Linux node pool before it can have Windows Server node pools.", p.GetName())
}
