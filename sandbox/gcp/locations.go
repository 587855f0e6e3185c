package gcp

import (
	"slices"
	"sort"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// gcpRegions are Google Cloud's regions with the letters of their zones
// (compute.regions.list as of 2026). A regional cluster's default node
// locations are the first three. Every other region or zone does not exist:
// Compute answers 400 "Unknown region." / "Unknown zone.", GKE
// INVALID_ARGUMENT "Location … does not exist.".
var gcpRegions = map[string]string{
	"africa-south1":           "abc",
	"asia-east1":              "abc",
	"asia-east2":              "abc",
	"asia-northeast1":         "abc",
	"asia-northeast2":         "abc",
	"asia-northeast3":         "abc",
	"asia-south1":             "abc",
	"asia-south2":             "abc",
	"asia-southeast1":         "abc",
	"asia-southeast2":         "abc",
	"australia-southeast1":    "abc",
	"australia-southeast2":    "abc",
	"europe-central2":         "abc",
	"europe-north1":           "abc",
	"europe-north2":           "abc",
	"europe-southwest1":       "abc",
	"europe-west1":            "bcd",
	"europe-west2":            "abc",
	"europe-west3":            "abc",
	"europe-west4":            "abc",
	"europe-west6":            "abc",
	"europe-west8":            "abc",
	"europe-west9":            "abc",
	"europe-west10":           "abc",
	"europe-west12":           "abc",
	"me-central1":             "abc",
	"me-central2":             "abc",
	"me-west1":                "abc",
	"northamerica-northeast1": "abc",
	"northamerica-northeast2": "abc",
	"northamerica-south1":     "abc",
	"southamerica-east1":      "abc",
	"southamerica-west1":      "abc",
	"us-central1":             "abcf",
	"us-east1":                "bcd",
	"us-east4":                "abc",
	"us-east5":                "abc",
	"us-south1":               "abc",
	"us-west1":                "abc",
	"us-west2":                "abc",
	"us-west3":                "abc",
	"us-west4":                "abc",
}

// zonesOf lists a region's zones (none for a region that does not exist).
func zonesOf(region string) []string {
	letters := gcpRegions[region]
	out := make([]string, len(letters))
	for i, l := range letters {
		out[i] = region + "-" + string(l)
	}
	return out
}

// regionOf is the region of a region or zone name.
func regionOf(loc string) string {
	if m := zoneRE.FindStringSubmatch(loc); m != nil {
		return m[1]
	}
	return loc
}

func knownRegion(r string) bool { return gcpRegions[r] != "" }

func validZone(z string) bool { return slices.Contains(zonesOf(regionOf(z)), z) }

// knownLocation: a region or zone that exists.
func knownLocation(l string) bool { return knownRegion(l) || validZone(l) }

// regionsCreated is when every region and zone says it was created.
const regionsCreated = "2014-05-30T18:35:16.413-07:00"

func renderRegion(project, r string) *computepb.Region {
	out := &computepb.Region{
		Kind: proto.String("compute#region"), Id: proto.Uint64(uint64(fnvSum(r))), Name: proto.String(r),
		Description: proto.String(r), Status: proto.String("UP"), CreationTimestamp: proto.String(regionsCreated),
		SelfLink: proto.String(computeBase + "projects/" + project + "/regions/" + r), SupportsPzs: proto.Bool(false),
	}
	for _, z := range zonesOf(r) {
		out.Zones = append(out.Zones, computeBase+"projects/"+project+"/zones/"+z)
	}
	return out
}

func renderZone(project, z string) *computepb.Zone {
	return &computepb.Zone{
		Kind: proto.String("compute#zone"), Id: proto.Uint64(uint64(fnvSum(z))), Name: proto.String(z),
		Description: proto.String(z), Status: proto.String("UP"), CreationTimestamp: proto.String(regionsCreated),
		Region:   proto.String(computeBase + "projects/" + project + "/regions/" + regionOf(z)),
		SelfLink: proto.String(computeBase + "projects/" + project + "/zones/" + z), SupportsPzs: proto.Bool(false),
	}
}

func sortedRegions() []string {
	out := make([]string, 0, len(gcpRegions))
	for r := range gcpRegions {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

func (e *Emulator) listRegions(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	base := "projects/" + rt.project + "/regions"
	out := &computepb.RegionList{Kind: proto.String("compute#regionList"), Id: proto.String(base), SelfLink: proto.String(computeBase + base)}
	for _, r := range sortedRegions() {
		out.Items = append(out.Items, renderRegion(rt.project, r))
	}
	return out, nil, false
}

func (e *Emulator) getRegion(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	if !knownRegion(rt.name) {
		return nil, notFound("projects/" + rt.project + "/regions/" + rt.name), false
	}
	return renderRegion(rt.project, rt.name), nil, false
}

func (e *Emulator) listZones(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	base := "projects/" + rt.project + "/zones"
	out := &computepb.ZoneList{Kind: proto.String("compute#zoneList"), Id: proto.String(base), SelfLink: proto.String(computeBase + base)}
	for _, r := range sortedRegions() {
		for _, z := range zonesOf(r) {
			out.Items = append(out.Items, renderZone(rt.project, z))
		}
	}
	return out, nil, false
}

func (e *Emulator) getZone(rt croute, _ emu.Call, _ time.Time) (proto.Message, *gerr, bool) {
	if !validZone(rt.name) {
		return nil, notFound("projects/" + rt.project + "/zones/" + rt.name), false
	}
	return renderZone(rt.project, rt.name), nil, false
}
