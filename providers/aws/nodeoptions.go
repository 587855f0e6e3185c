package aws

import (
	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// How a pool's disk, maxPods and os map onto an EKS managed node group
// without a launch template (regionctl manages none): the root volume's
// size is the group's diskSize; its type is gp2, an SSD, so tier ssd is
// what every group has and standard cannot be had; the nodes' max pods
// come from the instance type (the VPC CNI's ENI limits), so maxPods
// cannot be set; family windows is the Windows Server 2022 Core AMI (on
// x86_64 only), and image ubuntu is no EKS AMI type. What cannot be had is
// refused at plan time rather than ignored.

// nodeOptionDiags refuses the node options EKS managed node groups cannot
// have.
func nodeOptionDiags(r *spec.Region, path string, p spec.NodePool, mt providers.MachineType) diag.Diagnostics {
	var ds diag.Diagnostics
	if p.Disk.Tier == spec.TierStandard {
		ds = ds.Errorf(r.Pos(path+".disk.tier"), path+".disk.tier",
			"EKS managed node groups boot from gp2 SSD volumes; tier standard needs a launch template, which regionctl does not manage (use ssd, or leave tier out)")
	}
	if p.MaxPods != 0 {
		ds = ds.Errorf(r.Pos(path+".maxPods"), path+".maxPods",
			"EKS sets max pods from the instance type (the VPC CNI's ENI limits); a fixed maxPods needs a launch template, which regionctl does not manage (leave maxPods out)")
	}
	if p.OS.Image == spec.ImageUbuntu {
		ds = ds.Errorf(r.Pos(path+".os.image"), path+".os.image",
			"EKS managed node groups offer Amazon Linux, Bottlerocket and Windows AMIs, not Ubuntu (use image: default)")
	}
	if p.OS.Family == spec.OSWindows && (mt.Arch != spec.ArchAMD64 || mt.GPU > 0) {
		ds = ds.Errorf(r.Pos(path+".os.family"), path+".os.family",
			"EKS Windows nodes are x86_64 without GPUs; %s is not (pick an amd64 machine without GPUs)", mt.Name)
	}
	return ds
}
