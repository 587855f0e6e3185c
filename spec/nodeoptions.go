package spec

import "fmt"

// Disk is a node's boot disk. Zero values leave the cloud's default, so a
// pool without a disk block keeps the disk it has.
type Disk struct {
	// SizeGiB is the boot disk size; 0 for the cloud's default.
	SizeGiB int `json:"sizeGiB,omitempty"`
	// Tier is standard or ssd (the same tiers as StorageClasses); empty
	// for the cloud's default.
	Tier string `json:"tier,omitempty"`
}

// OS is the operating system of a pool's nodes.
type OS struct {
	// Family is linux (default) or windows.
	Family string `json:"family,omitempty"`
	// Image is default (the cloud's own image for the family) or ubuntu.
	Image string `json:"image,omitempty"`
}

// OS families and images.
const (
	OSLinux      = "linux"
	OSWindows    = "windows"
	ImageDefault = "default"
	ImageUbuntu  = "ubuntu"
)

// Allowed values and bounds of the node options.
var (
	OSFamilyValues = []string{OSLinux, OSWindows}
	OSImageValues  = []string{ImageDefault, ImageUbuntu}
)

// Bounds of the node options every cloud accepts; drivers may narrow them
// (AKS boot disks start at 30 GiB).
const (
	MinDiskGiB = 10
	MaxDiskGiB = 16384
	MinMaxPods = 8
	MaxMaxPods = 250
)

// nodeOptions checks a pool's disk, maxPods and os.
func (v *validator) nodeOptions(path string, p *NodePool) {
	if s := p.Disk.SizeGiB; s != 0 && (s < MinDiskGiB || s > MaxDiskGiB) {
		v.errf(path+".disk.sizeGiB", fmt.Sprintf("use %d to %d GiB, or leave it out for the cloud's default", MinDiskGiB, MaxDiskGiB),
			"sizeGiB is %d; a boot disk is %d to %d GiB", s, MinDiskGiB, MaxDiskGiB)
	}
	if p.Disk.Tier != "" {
		v.enum(path+".disk.tier", p.Disk.Tier, TierValues)
	}
	if m := p.MaxPods; m != 0 && (m < MinMaxPods || m > MaxMaxPods) {
		v.errf(path+".maxPods", fmt.Sprintf("use %d to %d, or leave it out for the cloud's default", MinMaxPods, MaxMaxPods),
			"maxPods is %d; every cloud accepts %d to %d", m, MinMaxPods, MaxMaxPods)
	}
	v.enum(path+".os.family", p.OS.Family, OSFamilyValues)
	v.enum(path+".os.image", p.OS.Image, OSImageValues)
	if p.OS.Family == OSWindows && p.OS.Image == ImageUbuntu {
		v.errf(path+".os.image", "use image: default with family: windows", "image ubuntu is a Linux image; the pool's family is windows")
	}
}
