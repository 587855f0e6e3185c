package gcp

import (
	"fmt"
	"net/netip"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// How a pool's disk, maxPods and os map onto a GKE node pool
// (docs/providers/gcp.md):
//   - disk.sizeGiB is nodeConfig.diskSizeGb; tier standard is pd-balanced
//     (GKE's own default, and the same tier StorageClasses get), ssd is
//     pd-ssd. pd-standard is not used: T2A, C3 and G2 machines cannot boot
//     from it.
//   - maxPods is maxPodsConstraint.maxPodsPerNode (the cluster is
//     VPC-native); GKE gives each node a pod range of twice that, rounded
//     up to a power of two, so the pool's most nodes must fit the pods'
//     secondary range.
//   - os linux/default is COS_CONTAINERD, linux/ubuntu UBUNTU_CONTAINERD,
//     windows WINDOWS_LTSC_CONTAINERD (x86_64 only; the first pool, which
//     the spec keeps Linux, runs GKE's system pods).
//
// Every one of them forces a replacement of the pool, create-before-destroy,
// and goes into its name's hash (only when set, so pools without them keep
// their names). GKE could change the disk and image in place, recreating
// the nodes one surge at a time; replacing the pool instead has the new
// nodes Ready before the old ones are drained, as for a machine change.

// Image types of GKE node pools.
const (
	imageCOS     = "COS_CONTAINERD"
	imageUbuntu  = "UBUNTU_CONTAINERD"
	imageWindows = "WINDOWS_LTSC_CONTAINERD"
)

// maxPodsPerNode is GKE Standard's bound on maxPodsPerNode; the spec's own
// bound (250) is lower.
const maxPodsPerNode = 256

// poolOptions are a pool's mapped node options; zero values are GKE's
// defaults and are not sent.
type poolOptions struct {
	ImageType  string
	DiskSizeGB int
	DiskType   string
	MaxPods    int
}

// inputs adds the options to a node pool's inputs.
func (o poolOptions) inputs(in providers.Values) {
	in["image_type"] = o.ImageType
	if o.DiskSizeGB != 0 {
		in["disk_size_gb"] = o.DiskSizeGB
	}
	if o.DiskType != "" {
		in["disk_type"] = o.DiskType
	}
	if o.MaxPods != 0 {
		in["max_pods"] = o.MaxPods
	}
}

// forceNew are the options' parts of the pool name's hash: none for the
// defaults, so pools made before these options were mapped keep their
// names.
func (o poolOptions) forceNew() []string {
	var out []string
	if o.DiskSizeGB != 0 {
		out = append(out, fmt.Sprintf("disk=%d", o.DiskSizeGB))
	}
	if o.DiskType != "" {
		out = append(out, "disk-type="+o.DiskType)
	}
	if o.MaxPods != 0 {
		out = append(out, fmt.Sprintf("max-pods=%d", o.MaxPods))
	}
	return out
}

// podBlock is the size of the pod range GKE gives a node of a pool with
// maxPods pods: twice maxPods rounded up to a power of two (/24 for 110).
func podBlock(maxPods int) int {
	n := 1
	for n < 2*maxPods {
		n *= 2
	}
	return n
}

// nodeOptions maps pool p's disk, maxPods and os, and refuses at plan time
// what GKE would refuse. podsRange is the cluster's pod secondary range.
func nodeOptions(r *spec.Region, path string, p spec.NodePool, mt machine, podsRange string) (poolOptions, diag.Diagnostics) {
	var ds diag.Diagnostics
	o := poolOptions{ImageType: imageCOS, DiskSizeGB: p.Disk.SizeGiB, DiskType: pdType[p.Disk.Tier], MaxPods: p.MaxPods}
	switch {
	case p.OS.Family == spec.OSWindows:
		o.ImageType = imageWindows
		if mt.Arch != spec.ArchAMD64 {
			ds = ds.Errorf(r.Pos(path+".os.family"), path+".os.family",
				"GKE Windows Server nodes are x86_64; %s is %s (pick an amd64 machine)", mt.Name, mt.Arch)
		}
	case p.OS.Image == spec.ImageUbuntu:
		o.ImageType = imageUbuntu
	}
	if o.MaxPods > maxPodsPerNode {
		ds = ds.Errorf(r.Pos(path+".maxPods"), path+".maxPods", "GKE allows at most %d pods per node; maxPods is %d", maxPodsPerNode, o.MaxPods)
	}
	if o.MaxPods != 0 {
		if pods, err := netip.ParsePrefix(podsRange); err == nil {
			block := podBlock(o.MaxPods)
			room := 1 << (32 - pods.Bits()) / block
			if p.Max > room {
				ds = ds.Errorf(r.Pos(path+".maxPods"), path+".maxPods",
					"GKE gives each node of this pool a pod range of %d addresses (twice maxPods %d, rounded up to a power of two); the cluster's pod range %s holds %d such ranges, fewer than the pool's max of %d nodes (lower maxPods or max, or use a larger spec.network.cidr)",
					block, o.MaxPods, podsRange, room, p.Max)
			}
		}
	}
	return o, ds
}
