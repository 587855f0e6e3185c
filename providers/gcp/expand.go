package gcp

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strings"

	"github.com/regionctl/regionctl/diag"
	"github.com/regionctl/regionctl/providers"
	"github.com/regionctl/regionctl/providers/kit"
	"github.com/regionctl/regionctl/spec"
)

// Resource types of the GCP driver.
const (
	TypeNetwork    = "gcp_compute_network"
	TypeSubnetwork = "gcp_compute_subnetwork"
	TypeRouter     = "gcp_compute_router"
	TypeAddress    = "gcp_compute_address"
	TypeCluster    = "gcp_container_cluster"
	TypeNodePool   = "gcp_container_node_pool"
)

// Fixed settings of what the driver makes.
const (
	podsRange     = "pods"
	servicesRange = "services"
	routingMode   = "REGIONAL"
	natIPOption   = "AUTO_ONLY"
	natRanges     = "ALL_SUBNETWORKS_ALL_IP_RANGES"
	// bootstrapPool is the node pool a cluster is created with (GKE needs
	// one) and that Create removes again; see docs/providers/gcp.md.
	bootstrapPool    = "regionctl-bootstrap"
	bootstrapMachine = "e2-medium"
	defaultChannel   = "regular"
	maxNameLen       = 63 // Compute Engine resource names
	maxGKENameLen    = 40 // GKE cluster and node pool names
	minCIDRBits      = 8
	maxCIDRBits      = 20
)

// Carve is how the network CIDR is cut for GKE (VPC-native): the first
// half holds the pods' secondary range, the ninth sixteenth the nodes'
// primary range, the tenth sixteenth the services' secondary range, and
// the last /28 the private control plane (private nodes only). A /16
// gives pods a /17 (128 nodes at GKE's default /24 per node), nodes a
// /20 and services a /20.
type Carve struct {
	Nodes, Pods, Services, Master string
}

// CarveNetwork cuts cidr as Carve describes. The prefix must be between /8
// and /20 and have no host bits.
func CarveNetwork(cidr string) (Carve, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return Carve{}, fmt.Errorf("network CIDR %q is not an IPv4 prefix like 10.20.0.0/16", cidr)
	}
	if p.Masked() != p {
		return Carve{}, fmt.Errorf("network CIDR %s has host bits set; did you mean %s?", cidr, p.Masked())
	}
	if p.Bits() < minCIDRBits || p.Bits() > maxCIDRBits {
		return Carve{}, fmt.Errorf("network CIDR %s: the GCP driver needs a prefix between /%d and /%d (half of it becomes the pods' range, and GKE gives every node a /24 of pod addresses)", cidr, minCIDRBits, maxCIDRBits)
	}
	return Carve{
		Pods:     subPrefix(p, 1, 0).String(),
		Nodes:    subPrefix(p, 4, 8).String(),
		Services: subPrefix(p, 4, 9).String(),
		Master:   subPrefix(p, 28-p.Bits(), 1<<(28-p.Bits())-1).String(),
	}, nil
}

// subPrefix returns the i-th of the 2^extra sub-prefixes of p.
func subPrefix(p netip.Prefix, extra, i int) netip.Prefix {
	bits := p.Bits() + extra
	b := p.Addr().As4()
	base := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	a := base + uint32(i)<<(32-bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits)
}

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])[:8]
}

// fitName makes s a valid GCP resource name of at most max characters:
// lowercase letter first, then letters, digits and '-', no trailing '-'.
// A name that is too long keeps its start and gets a hash of the whole.
func fitName(s string, max int) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "r-" + s
	}
	if len(s) <= max {
		return s
	}
	return strings.TrimRight(s[:max-9], "-") + "-" + shortHash(s)
}

// resourceName is the name of the region's network, subnetwork and router.
func resourceName(region string) string { return fitName("regionctl-"+region, maxNameLen) }

// clusterName is the GKE cluster's name: the region's name when GKE allows
// it (at most 40 characters, starting with a letter).
func clusterName(region string) string { return fitName(region, maxGKENameLen) }

// PoolName is a node pool's GKE name: the spec pool's name plus a short
// hash of the inputs that force a replacement, so a create-before-destroy
// replacement gets a new name and can live beside the pool it replaces.
func PoolName(pool string, forceNew ...string) string {
	return fitName(pool, maxGKENameLen-9) + "-" + shortHash(forceNew...)
}

// PerZone maps a pool's total min and max nodes onto GKE's autoscaling
// limits, which count nodes per zone. A total that is not a multiple of
// the zone count is rounded up (a pool never gets fewer nodes than asked
// as its minimum, nor less room than asked as its maximum), and note says
// what the effective totals are; note is empty when nothing was rounded.
func PerZone(pool string, minTotal, maxTotal, zones int) (perMin, perMax int, note string) {
	if zones < 1 {
		zones = 1
	}
	perMin = (minTotal + zones - 1) / zones
	perMax = (maxTotal + zones - 1) / zones
	if perMin*zones == minTotal && perMax*zones == maxTotal {
		return perMin, perMax, ""
	}
	note = fmt.Sprintf("node pool %s: GKE counts autoscaling limits per zone, and min %d / max %d are not multiples of %d zones: "+
		"each zone gets min %d / max %d, so the pool's effective totals are min %d / max %d (rounded up; make min and max multiples of %d to avoid this)",
		pool, minTotal, maxTotal, zones, perMin, perMax, perMin*zones, perMax*zones, zones)
	return perMin, perMax, note
}

// endpointMode maps spec.cluster.endpointAccess onto private nodes and a
// private endpoint: public has neither, both has private nodes and a
// public endpoint, private has both private.
func endpointMode(mode string) (privateNodes, privateEndpoint bool) {
	switch mode {
	case spec.EndpointPrivate:
		return true, true
	case spec.EndpointBoth:
		return true, false
	default:
		return false, false
	}
}

// Expand translates a region into its GCP resources; see
// docs/providers/gcp.md for the full mapping. It makes no cloud call.
func (d *Driver) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	if r == nil {
		return providers.ExpandResponse{}, errors.New("gcp: expand: no region")
	}
	var resp providers.ExpandResponse
	ov, ds := parseOverrides(r)
	for _, x := range ds {
		if x.Severity == diag.Error { // Validate reports the warnings
			resp.Diagnostics = append(resp.Diagnostics, x)
		}
	}
	if resp.Diagnostics.HasErrors() {
		return resp, nil
	}
	project := ov.Project
	if project == "" {
		project = d.project
	}
	if project == "" {
		resp.Diagnostics = append(resp.Diagnostics, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos("spec.provider"), Path: "spec.overrides.gcp.project",
			Summary: "no GCP project: Application Default Credentials name none" + d.adcHint(),
			Fix:     "set spec.overrides.gcp.project, or GOOGLE_CLOUD_PROJECT, or use ADC credentials that carry a project"})
		return resp, nil
	}

	name := r.Metadata.Name
	loc := r.Spec.Location
	addr := func(typ, n string) string { return providers.Address(name, typ, n) }
	add := func(res providers.Resource) { resp.Resources = append(resp.Resources, res) }

	zoneCount := r.Spec.Zones
	if zoneCount <= 0 {
		zoneCount = spec.DefaultZones
	}
	zones := zoneNames(loc, zoneCount)
	if len(zones) < zoneCount {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.zones"), "spec.zones", "%d zones requested but %s has %d", zoneCount, loc, len(zones))
		return resp, nil
	}
	carve, err := CarveNetwork(r.Spec.Network.CIDR)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.network.cidr"), "spec.network.cidr", "%v", err)
		return resp, nil
	}
	if r.Spec.Network.SingleNATGateway {
		resp.Notes = append(resp.Notes, "spec.network.singleNatGateway changes nothing on GCP: Cloud NAT is one regional, zone-redundant gateway")
	}
	zoneList := kit.List(zones)

	netName := resourceName(name)
	network := addr(TypeNetwork, "main")
	add(providers.Resource{
		Address: network, Type: TypeNetwork, Element: spec.ElementNetwork,
		Inputs: providers.Values{
			"project": project, "name": netName, "auto_create_subnetworks": false, "routing_mode": routingMode,
		},
	})
	subnet := addr(TypeSubnetwork, "main")
	add(providers.Resource{
		Address: subnet, Type: TypeSubnetwork,
		Inputs: providers.Values{
			"project": project, "region": loc, "name": netName, "network": providers.Ref(network, "self_link"),
			"ip_cidr_range": carve.Nodes,
			"secondary_ranges": []any{
				map[string]any{"range_name": podsRange, "ip_cidr_range": carve.Pods},
				map[string]any{"range_name": servicesRange, "ip_cidr_range": carve.Services},
			},
			"private_ip_google_access": true,
		},
	})
	router := addr(TypeRouter, "main")
	add(providers.Resource{
		Address: router, Type: TypeRouter,
		Inputs: providers.Values{
			"project": project, "region": loc, "name": netName, "network": providers.Ref(network, "self_link"),
			"nat_name": fitName("regionctl-"+name+"-nat", maxNameLen), "nat_ip_allocate_option": natIPOption,
			"nat_source_ranges": natRanges,
		},
	})

	privateNodes, privateEndpoint := endpointMode(r.Spec.Cluster.EndpointAccess)
	authorized := kit.List(ov.MasterAuthorizedNetworks)
	if privateEndpoint && len(authorized) == 0 {
		authorized = []any{r.Spec.Network.CIDR}
	}
	channel := ov.ReleaseChannel
	if channel == "" {
		channel = defaultChannel
	}
	cluster := addr(TypeCluster, "main")
	clusterIn := providers.Values{
		"project": project, "location": loc, "name": clusterName(name),
		"network": providers.Ref(network, "id"), "subnetwork": providers.Ref(subnet, "id"),
		"node_locations": zoneList, "pods_range_name": podsRange, "services_range_name": servicesRange,
		"version": r.Spec.Cluster.KubernetesVersion, "release_channel": channelEnum(channel),
		"workload_pool": project + ".svc.id.goog",
		"private_nodes": privateNodes, "private_endpoint": privateEndpoint,
		"master_authorized_networks": authorized,
	}
	if privateNodes {
		clusterIn["master_ipv4_cidr_block"] = carve.Master
	}
	if ov.SecurityGroup != "" {
		clusterIn["security_group"] = ov.SecurityGroup
	}
	add(providers.Resource{
		Address: cluster, Type: TypeCluster, Element: spec.ElementCluster, Inputs: clusterIn,
		// Private nodes reach the internet (images, GKE's own endpoints)
		// through Cloud NAT.
		DependsOn: []string{router},
		Stateful:  true,
	})

	var pools []string
	for i, p := range r.Spec.Cluster.NodePools {
		path := fmt.Sprintf("spec.cluster.nodePools[%d]", i)
		mt, how, err := poolMachine(p, ov)
		if err != nil {
			resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(path+".machine"), path+".machine", "node pool %q: %v", p.Name, err)
			continue
		}
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: %s → %s (%d vCPU, %g GiB%s)",
			p.Name, how, mt.Name, mt.CPU, mt.MemoryGiB, gpuNote(mt)))
		perMin, perMax, note := PerZone(p.Name, p.Min, p.Max, len(zones))
		if note != "" {
			resp.Notes = append(resp.Notes, note)
		}
		labels := map[string]any{}
		for k, v := range p.Labels {
			labels[k] = v
		}
		taints := []any{}
		for j, t := range p.Taints {
			tt, err := providers.ParseTaint(t)
			if err != nil {
				tp := fmt.Sprintf("%s.taints[%d]", path, j)
				resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(tp), tp, "%v", err)
				continue
			}
			taints = append(taints, map[string]any{"key": tt.Key, "value": tt.Value, "effect": tt.EffectConstant()})
		}
		accels := []any{}
		if mt.GPU > 0 {
			accels = append(accels, map[string]any{"type": mt.Accelerator, "count": mt.GPU})
		}
		accelKey := ""
		if mt.GPU > 0 {
			accelKey = fmt.Sprintf("%s×%d", mt.Accelerator, mt.GPU)
		}
		opts, ods := nodeOptions(r, path, p, mt, carve.Pods)
		resp.Diagnostics = append(resp.Diagnostics, ods...)
		var dependsOn []string
		if p.OS.Family == spec.OSWindows && len(pools) > 0 {
			// GKE's system pods run on Linux nodes: the first pool (Linux,
			// as the spec checks) is there before a Windows pool.
			dependsOn = []string{pools[0]}
		}
		pools = append(pools, addr(TypeNodePool, p.Name))
		resp.Diagnostics = append(resp.Diagnostics, providers.CheckPoolUpgrade(r, i, upgradeRules)...)
		inputs := providers.Values{
			"project": project, "location": loc, "cluster": providers.Ref(cluster, "id"),
			"name":         PoolName(p.Name, append([]string{mt.Name, fmt.Sprint(p.Spot), accelKey, opts.ImageType}, opts.forceNew()...)...),
			"machine_type": mt.Name, "spot": p.Spot, "accelerators": accels,
			"version": r.Spec.Cluster.KubernetesVersion, "node_locations": zoneList,
			"min_node_count": perMin, "max_node_count": perMax, "labels": labels, "taints": taints,
		}
		opts.inputs(inputs)
		maps.Copy(inputs, providers.UpgradeInputs(p, upgradeRules))
		add(providers.Resource{
			Address: addr(TypeNodePool, p.Name), Type: TypeNodePool, Element: spec.NodePoolElement(p.Name),
			Inputs:              inputs,
			DependsOn:           dependsOn,
			CreateBeforeDestroy: true,
		})
	}

	lbAddresses := map[string]string{}
	for _, lb := range r.Spec.LoadBalancers {
		lbAddresses[lb.Name] = addr(TypeAddress, "lb-"+lb.Name)
		in := providers.Values{
			"project": project, "region": loc, "name": fitName("regionctl-"+name+"-lb-"+lb.Name, maxNameLen),
		}
		if lb.Scheme == spec.SchemeInternal {
			in["address_type"] = "INTERNAL"
			in["subnetwork"] = providers.Ref(subnet, "self_link")
		} else {
			in["address_type"] = "EXTERNAL"
			in["network_tier"] = "PREMIUM"
		}
		add(providers.Resource{
			Address: addr(TypeAddress, "lb-"+lb.Name), Type: TypeAddress, Element: spec.LoadBalancerAddressElement(lb.Name),
			Inputs: in, Stateful: true,
		})
	}
	for _, res := range expandInCluster(r, cluster, pools, lbAddresses) {
		add(res)
	}
	resp.Diagnostics = expandAccess(r, project, ov.SecurityGroup, cluster, add, resp.Diagnostics)
	// What forces a replacement comes from the resource types' schemas.
	if err := d.Finish(resp.Resources); err != nil {
		return providers.ExpandResponse{}, err
	}
	return resp, nil
}

func gpuNote(m machine) string {
	if m.GPU > 0 {
		return fmt.Sprintf(", %d × %s", m.GPU, m.Accelerator)
	}
	return ""
}

// poolMachine returns the machine type of a pool: the override when there
// is one, else PickMachine over the catalog; how says which.
func poolMachine(p spec.NodePool, ov overrides) (machine, string, error) {
	picked, how, err := providers.ChooseMachine(Machines(), p, ov.NodePools[p.Name].MachineType,
		"spec.overrides.gcp.nodePools."+p.Name+".machineType", "GCP machine type")
	if err != nil {
		return machine{}, "", err
	}
	mt, _ := machineByName(picked.Name)
	return mt, how, nil
}
