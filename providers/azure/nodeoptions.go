package azure

import (
	"fmt"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/internal/azuresize"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/spec"
)

// How a pool's disk, maxPods and os map onto an AKS agent pool
// (docs/providers/azure.md):
//   - disk.sizeGiB is osDiskSizeGB (AKS: 30–2048 GB).
//   - disk.tier ssd is osDiskType Managed, which AKS backs with a Premium
//     SSD on VM sizes with premium storage (an "s" among the size's
//     features, Standard_D4s_v5); on other sizes it is refused. tier
//     standard is refused: the agent pool API has no field for the OS
//     disk's SKU, so a Standard SSD or HDD cannot be asked for. Without a
//     tier AKS picks (Ephemeral when the size's cache holds the disk, else
//     Managed).
//   - maxPods is maxPods. The driver's network plugin is Azure CNI
//     Overlay, which takes 10–250 (AKS's default is 250); a System pool
//     (the first pool) needs at least 30.
//   - os linux/default leaves osType Linux and osSKU to AKS (Ubuntu);
//     linux/ubuntu asks for osSKU Ubuntu; windows is osType Windows, osSKU
//     Windows2022 (x86_64 only), in an agent pool whose name AKS limits to
//     6 characters (poolName shortens it). AKS gives the clusters regionctl
//     makes (Azure CNI, Standard load balancer, scale sets) the Windows
//     profile such pools need.
//
// AKS changes none of osDiskSizeGB, osDiskType, maxPods or osType of an
// existing pool: they force a replacement, create-before-destroy (for the
// System pool, a rotation), and enter the pool name's hash when set, so
// pools without them keep their names. osSKU moves between Linux SKUs in
// place (AKS's OS SKU migration).

// OS types and SKUs of AKS agent pools.
const (
	osTypeWindows  = "Windows"
	osSKUUbuntu    = "Ubuntu"
	osSKUWindows   = "Windows2022"
	osDiskManaged  = "Managed"
	minOSDiskGB    = 30
	maxOSDiskGB    = 2048
	minMaxPods     = 10
	minSystemPods  = 30
	maxWinPoolName = 6
)

// poolOptions are a pool's mapped node options; nil leaves AKS's default.
type poolOptions struct {
	OSDiskSizeGB *int
	OSDiskType   *string
	MaxPods      *int
	OSType       *string
	OSSKU        *string
}

// windows reports whether the pool runs Windows.
func (o poolOptions) windows() bool { return deref(o.OSType) == osTypeWindows }

// inputs adds the options to a pool's inputs (a User pool's, or the
// cluster's system_pool).
func (o poolOptions) inputs(in map[string]any) {
	for k, v := range map[string]any{"os_disk_size_gb": o.OSDiskSizeGB, "max_pods": o.MaxPods} {
		if p, _ := v.(*int); p != nil {
			in[k] = *p
		}
	}
	for k, v := range map[string]*string{"os_disk_type": o.OSDiskType, "os_type": o.OSType, "os_sku": o.OSSKU} {
		if v != nil {
			in[k] = *v
		}
	}
}

// forceNew are the options' parts of the pool name's hash: what AKS cannot
// change in place, and only when set.
func (o poolOptions) forceNew() []string {
	var out []string
	if o.OSDiskSizeGB != nil {
		out = append(out, fmt.Sprintf("os-disk=%d", *o.OSDiskSizeGB))
	}
	if o.OSDiskType != nil {
		out = append(out, "os-disk-type="+*o.OSDiskType)
	}
	if o.MaxPods != nil {
		out = append(out, fmt.Sprintf("max-pods=%d", *o.MaxPods))
	}
	if o.OSType != nil {
		out = append(out, "os="+*o.OSType)
	}
	return out
}

// nodeOptions maps pool p's disk, maxPods and os onto AKS and refuses at
// plan time what AKS would refuse; system is the first pool (AKS's System
// pool).
func nodeOptions(r *spec.Region, path string, p spec.NodePool, mt providers.MachineType, system bool) (poolOptions, diag.Diagnostics) {
	var ds diag.Diagnostics
	var o poolOptions
	if s := p.Disk.SizeGiB; s != 0 {
		o.OSDiskSizeGB = &s
		if s < minOSDiskGB || s > maxOSDiskGB {
			ds = ds.Errorf(r.Pos(path+".disk.sizeGiB"), path+".disk.sizeGiB",
				"AKS OS disks are %d to %d GB; sizeGiB is %d (pick a size in that range, or leave it out for AKS's default)", minOSDiskGB, maxOSDiskGB, s)
		}
	}
	switch p.Disk.Tier {
	case spec.TierSSD:
		o.OSDiskType = to(osDiskManaged)
		if !azuresize.PremiumStorage(mt.Name) {
			ds = ds.Errorf(r.Pos(path+".disk.tier"), path+".disk.tier",
				"AKS backs a Managed OS disk with a Premium SSD only on VM sizes with premium storage; %s has none (pick a size with an s among its features, like Standard_D4s_v5, or leave tier out)", mt.Name)
		}
	case spec.TierStandard:
		ds = ds.Errorf(r.Pos(path+".disk.tier"), path+".disk.tier",
			"AKS picks the OS disk's SKU itself (a Premium SSD, or a local Ephemeral disk); its agent pool API cannot ask for a standard disk (use ssd, or leave tier out)")
	}
	if m := p.MaxPods; m != 0 {
		o.MaxPods = &m
		switch {
		case m < minMaxPods:
			ds = ds.Errorf(r.Pos(path+".maxPods"), path+".maxPods",
				"AKS with Azure CNI Overlay (the driver's network plugin) takes %d to 250 pods per node; maxPods is %d", minMaxPods, m)
		case system && m < minSystemPods:
			ds = ds.Errorf(r.Pos(path+".maxPods"), path+".maxPods",
				"the first pool becomes the AKS System pool, which needs at least %d pods per node; maxPods is %d (raise it, or put another pool first)", minSystemPods, m)
		}
	}
	switch {
	case p.OS.Family == spec.OSWindows:
		o.OSType, o.OSSKU = to(osTypeWindows), to(osSKUWindows)
		if mt.Arch != spec.ArchAMD64 {
			ds = ds.Errorf(r.Pos(path+".os.family"), path+".os.family",
				"AKS Windows nodes are x86_64; %s is %s (pick an amd64 machine)", mt.Name, mt.Arch)
		}
	case p.OS.Image == spec.ImageUbuntu:
		o.OSSKU = to(osSKUUbuntu)
	}
	return o, ds
}
