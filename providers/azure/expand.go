package azure

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

// Resource types of the Azure driver.
const (
	TypeResourceGroup  = "azure_resource_group"
	TypeVirtualNetwork = "azure_virtual_network"
	TypeSubnet         = "azure_subnet"
	TypeCluster        = "azure_kubernetes_cluster"
	TypeNodePool       = "azure_kubernetes_node_pool"
	TypePublicIP       = "azure_public_ip"
)

// Fixed choices of the mapping (docs/providers/azure.md).
const (
	networkPlugin     = "azure"
	networkPluginMode = "overlay"
	loadBalancerSKU   = "standard"
	outboundType      = "loadBalancer"
	priorityRegular   = "Regular"
	prioritySpot      = "Spot"
	evictionDelete    = "Delete"
	// spotMaxPrice -1 pays up to the on-demand price: nodes are evicted
	// for capacity, never for price.
	spotMaxPrice     = -1
	defaultSKUTier   = "Free"
	nodeSubnetName   = "snet-nodes"
	maxPoolNameLen   = 12
	maxClusterName   = 63
	maxDNSPrefix     = 54
	maxGroupName     = 90
	pipAnnotation    = "service.beta.kubernetes.io/azure-pip-name"
	internalLBAnnot  = "service.beta.kubernetes.io/azure-load-balancer-internal"
	systemPoolTaint  = "CriticalAddonsOnly=true:NoSchedule"
	systemPoolMinCPU = 2
	systemPoolMinGiB = 4
)

// Candidate pod and service ranges: the first that overlaps neither the
// network nor the other is used (AKS's own defaults come first).
var (
	podCIDRs     = []string{"10.244.0.0/16", "172.28.0.0/16", "192.168.0.0/17"}
	serviceCIDRs = []string{"10.0.0.0/16", "172.20.0.0/16", "192.168.128.0/20"}
)

func shortHash(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// poolName is an AKS agent pool name (lowercase letters and digits, a
// letter first, at most 12 characters): up to 6 characters of the spec
// pool's name and 6 hex digits of a hash of the pool's name and of what
// forces a replacement, so a create-before-destroy replacement gets a new
// name and lives beside the pool it replaces.
func poolName(pool string, forceNew ...string) string {
	return fitPoolName(pool, maxPoolNameLen, 6, forceNew)
}

// windowsPoolName is poolName for a Windows pool, whose name AKS limits to
// 6 characters: up to 2 of the spec pool's name and 4 hex digits.
func windowsPoolName(pool string, forceNew ...string) string {
	return fitPoolName(pool, maxWinPoolName, 4, forceNew)
}

// fitPoolName keeps up to limit-hexDigits characters of pool's name and
// appends hexDigits of the hash.
func fitPoolName(pool string, limit, hexDigits int, forceNew []string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(pool) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' && b.Len() > 0 {
			b.WriteRune(r)
		}
	}
	p := b.String()
	if p == "" {
		p = "pool"
	}
	if len(p) > limit-hexDigits {
		p = p[:limit-hexDigits]
	}
	return p + shortHash(append([]string{pool}, forceNew...)...)[:hexDigits]
}

// shorten keeps s when it fits in n characters, else cuts it and appends a
// hash of the whole, so distinct long names stay distinct.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	h := shortHash(s)[:8]
	return strings.TrimRight(s[:n-9], "-") + "-" + h
}

// networkPlan is how the network CIDR is used: the node subnet is its
// first half (pods live in the overlay), and pod and service ranges are
// picked outside it.
type networkPlan struct {
	nodes, pods, services, dns string
}

func planNetwork(cidr string) (networkPlan, error) {
	p, err := netip.ParsePrefix(cidr)
	if err != nil || !p.Addr().Is4() {
		return networkPlan{}, fmt.Errorf("network CIDR %q is not an IPv4 prefix like 10.20.0.0/16", cidr)
	}
	if p.Masked() != p {
		return networkPlan{}, fmt.Errorf("network CIDR %s has host bits set; did you mean %s?", cidr, p.Masked())
	}
	if p.Bits() < 8 || p.Bits() > 24 {
		return networkPlan{}, fmt.Errorf("network CIDR %s: the Azure driver needs a prefix between /8 and /24 (the node subnet is its first half)", cidr)
	}
	out := networkPlan{nodes: netip.PrefixFrom(p.Addr(), p.Bits()+1).String()}
	pick := func(cands []string, avoid ...netip.Prefix) (netip.Prefix, bool) {
		for _, c := range cands {
			q := netip.MustParsePrefix(c)
			clash := false
			for _, a := range avoid {
				if q.Overlaps(a) {
					clash = true
				}
			}
			if !clash {
				return q, true
			}
		}
		return netip.Prefix{}, false
	}
	pods, ok := pick(podCIDRs, p)
	if !ok {
		return networkPlan{}, fmt.Errorf("network CIDR %s overlaps every pod range the driver can pick (%s); use a smaller network", cidr, strings.Join(podCIDRs, ", "))
	}
	svc, ok := pick(serviceCIDRs, p, pods)
	if !ok {
		return networkPlan{}, fmt.Errorf("network CIDR %s overlaps every service range the driver can pick (%s); use a smaller network", cidr, strings.Join(serviceCIDRs, ", "))
	}
	dns := svc.Addr().As4()
	dns[3] += 10
	out.pods, out.services, out.dns = pods.String(), svc.String(), netip.AddrFrom4(dns).String()
	return out, nil
}

// names are the Azure names of a region's objects.
type names struct {
	group, nodeGroup, vnet, cluster, dnsPrefix string
}

func regionNames(region string, ov overrides) names {
	n := names{group: "rg-" + region}
	if ov.ResourceGroup != "" {
		n.group = ov.ResourceGroup
	}
	n.nodeGroup = shorten(n.group+"-nodes", maxGroupName)
	n.vnet = "vnet-" + region
	n.cluster = shorten("aks-"+region, maxClusterName)
	n.dnsPrefix = shorten(region, maxDNSPrefix)
	return n
}

// Expand translates a region into its Azure resources; see
// docs/providers/azure.md for the full mapping. It makes no cloud call.
func (d *Driver) Expand(ctx context.Context, req providers.ExpandRequest) (providers.ExpandResponse, error) {
	r := req.Region
	if r == nil {
		return providers.ExpandResponse{}, errors.New("azure: expand: no region")
	}
	var resp providers.ExpandResponse
	ov, ds := parseOverrides(r)
	for _, x := range ds {
		if x.Severity == diag.Error { // Validate reports the warnings
			resp.Diagnostics = append(resp.Diagnostics, x)
		}
	}
	name := r.Metadata.Name
	loc := r.Spec.Location
	addr := func(typ, n string) string { return providers.Address(name, typ, n) }
	add := func(res providers.Resource) { resp.Resources = append(resp.Resources, res) }
	nm := regionNames(name, ov)

	zoneCount := r.Spec.Zones
	if zoneCount <= 0 {
		zoneCount = spec.DefaultZones
	}
	if have, known := locations[loc]; known && zoneCount > have {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.zones"), "spec.zones", "%d zones requested but %s has %d", zoneCount, loc, have)
		return resp, nil
	}
	zones := zoneNumbers(zoneCount)
	net, err := planNetwork(r.Spec.Network.CIDR)
	if err != nil {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.network.cidr"), "spec.network.cidr", "%v", err)
		return resp, nil
	}
	if len(r.Spec.Cluster.NodePools) == 0 {
		resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos("spec.cluster.nodePools"), "spec.cluster.nodePools", "AKS needs at least one node pool (the first becomes the System pool)")
		return resp, nil
	}

	rg := addr(TypeResourceGroup, "main")
	rgIn := providers.Values{"location": loc, "name": nm.group}
	if ov.SubscriptionID != "" {
		rgIn["subscription_id"] = ov.SubscriptionID
	}
	add(providers.Resource{Address: rg, Type: TypeResourceGroup, Inputs: rgIn})
	rgID := providers.Ref(rg, "id")

	vnet := addr(TypeVirtualNetwork, "main")
	add(providers.Resource{
		Address: vnet, Type: TypeVirtualNetwork, Element: spec.ElementNetwork,
		Inputs: providers.Values{
			"resource_group_id": rgID, "location": loc, "name": nm.vnet,
			"address_space": []any{r.Spec.Network.CIDR},
		},
	})
	subnet := addr(TypeSubnet, "nodes")
	add(providers.Resource{
		Address: subnet, Type: TypeSubnet,
		Inputs: providers.Values{"virtual_network_id": providers.Ref(vnet, "id"), "name": nodeSubnetName, "cidr": net.nodes},
	})
	subnetID := providers.Ref(subnet, "id")

	if r.Spec.Network.SingleNATGateway {
		resp.Notes = append(resp.Notes, "network: singleNatGateway has no effect on Azure: nodes reach the internet through the cluster's Standard load balancer (outbound type loadBalancer), which spans all zones")
	}
	private := r.Spec.Cluster.EndpointAccess == spec.EndpointPrivate
	switch r.Spec.Cluster.EndpointAccess {
	case spec.EndpointPrivate:
		resp.Notes = append(resp.Notes, "cluster: endpointAccess private → AKS private cluster: the API server has only a private endpoint in the node resource group, reachable from the VNet")
	case spec.EndpointBoth:
		resp.Notes = append(resp.Notes, "cluster: endpointAccess both → a public AKS API server (AKS has no separate private endpoint for a public cluster; nodes reach it through the cluster's outbound IP)")
	}
	ipRanges := kit.List(ov.AuthorizedIPRanges)
	if len(ov.AuthorizedIPRanges) > 0 {
		resp.Notes = append(resp.Notes, "cluster: API server reachable only from "+strings.Join(ov.AuthorizedIPRanges, ", ")+" (spec.overrides.azure.authorizedIpRanges) and the cluster's own outbound IP")
	}
	tier := ov.SKUTier
	if tier == "" {
		tier = defaultSKUTier
	}

	cluster := addr(TypeCluster, "main")
	var systemPool map[string]any
	var userPools []providers.Resource
	for i, p := range r.Spec.Cluster.NodePools {
		path := fmt.Sprintf("spec.cluster.nodePools[%d]", i)
		mt, how, err := poolMachine(p, ov)
		if err != nil {
			resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(path+".machine"), path+".machine", "node pool %q: %v", p.Name, err)
			continue
		}
		taints := []any{}
		for j, t := range p.Taints {
			if _, err := providers.ParseTaint(t); err != nil {
				tp := fmt.Sprintf("%s.taints[%d]", path, j)
				resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(tp), tp, "%v", err)
				continue
			}
			taints = append(taints, t)
		}
		labels := map[string]any{}
		for k, v := range p.Labels {
			labels[k] = v
		}
		resp.Diagnostics = append(resp.Diagnostics, providers.CheckPoolUpgrade(r, i, upgradeRules)...)
		opts, ods := nodeOptions(r, path, p, mt, i == 0)
		resp.Diagnostics = append(resp.Diagnostics, ods...)
		if i == 0 {
			if p.Spot {
				resp.Diagnostics = append(resp.Diagnostics, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path + ".spot"), Path: path + ".spot",
					Summary: fmt.Sprintf("node pool %q is the first pool, which becomes the AKS System pool, and AKS System pools cannot be Spot", p.Name),
					Fix:     "put an on-demand pool first, or remove spot: true"})
			}
			if p.Min < 1 {
				resp.Diagnostics = append(resp.Diagnostics, diag.Diagnostic{Severity: diag.Error, Pos: r.Pos(path + ".min"), Path: path + ".min",
					Summary: fmt.Sprintf("node pool %q is the first pool, which becomes the AKS System pool, and a System pool needs at least 1 node", p.Name),
					Fix:     "set min: 1 or more, or put a pool with nodes first"})
			}
			if mt.CPU < systemPoolMinCPU || mt.MemoryGiB < systemPoolMinGiB {
				resp.Diagnostics = resp.Diagnostics.Errorf(r.Pos(path+".machine"), path+".machine",
					"AKS System pools need at least %d vCPU and %d GiB; %s has %d and %g", systemPoolMinCPU, systemPoolMinGiB, mt.Name, mt.CPU, mt.MemoryGiB)
			}
			pn := poolName(p.Name, append(append([]string{mt.Name, net.nodes}, zones...), opts.forceNew()...)...)
			systemPool = map[string]any{
				"name": pn, "vm_size": mt.Name, "zones": kit.List(zones),
				"min": p.Min, "max": p.Max, "labels": labels, "taints": taints,
			}
			opts.inputs(systemPool)
			maps.Copy(systemPool, providers.UpgradeInputs(p, upgradeRules))
			resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: %s → %s (%d vCPU, %g GiB%s); AKS requires a System pool, so this first pool is defined inline in %s (system_pool, AKS pool %s)",
				p.Name, how, mt.Name, mt.CPU, mt.MemoryGiB, gpuNote(mt), cluster, pn))
			continue
		}
		priority := priorityRegular
		if p.Spot {
			priority = prioritySpot
		}
		forceNew := append(append([]string{mt.Name, priority, net.nodes}, zones...), opts.forceNew()...)
		pn := poolName(p.Name, forceNew...)
		if opts.windows() {
			pn = windowsPoolName(p.Name, forceNew...)
		}
		in := providers.Values{
			"cluster_id": providers.Ref(cluster, "id"), "name": pn, "vm_size": mt.Name, "zones": kit.List(zones),
			"subnet_id": subnetID, "priority": priority,
			"min": p.Min, "max": p.Max, "labels": labels, "taints": taints,
			"kubernetes_version": r.Spec.Cluster.KubernetesVersion,
		}
		maps.Copy(in, providers.UpgradeInputs(p, upgradeRules))
		opts.inputs(in)
		spot := ""
		if p.Spot {
			in["eviction_policy"], in["spot_max_price"] = evictionDelete, spotMaxPrice
			spot = ", Spot (eviction Delete, max price -1: up to the on-demand price)"
		}
		resp.Notes = append(resp.Notes, fmt.Sprintf("node pool %s: %s → %s (%d vCPU, %g GiB%s); AKS User pool %s%s",
			p.Name, how, mt.Name, mt.CPU, mt.MemoryGiB, gpuNote(mt), pn, spot))
		userPools = append(userPools, providers.Resource{
			Address: addr(TypeNodePool, p.Name), Type: TypeNodePool, Element: spec.NodePoolElement(p.Name), Inputs: in,
			CreateBeforeDestroy: true,
		})
	}
	if systemPool == nil { // the first pool's machine did not map
		return resp, nil
	}
	clusterAt := len(resp.Resources)
	add(providers.Resource{
		Address: cluster, Type: TypeCluster, Element: spec.ElementCluster,
		Inputs: providers.Values{
			"resource_group_id": rgID, "location": loc, "name": nm.cluster, "dns_prefix": nm.dnsPrefix,
			"node_resource_group": nm.nodeGroup, "kubernetes_version": r.Spec.Cluster.KubernetesVersion,
			"sku_tier": tier, "subnet_id": subnetID,
			"network_profile": map[string]any{
				"network_plugin": networkPlugin, "network_plugin_mode": networkPluginMode,
				"pod_cidr": net.pods, "service_cidr": net.services, "dns_service_ip": net.dns,
				"load_balancer_sku": loadBalancerSKU, "outbound_type": outboundType,
			},
			"private_cluster": private, "authorized_ip_ranges": ipRanges,
			"system_pool": systemPool, "workload_identity": r.Spec.Cluster.WorkloadIdentity,
		},
		Stateful: true,
	})
	entra, ds := expandAccess(r, cluster, add, nil)
	resp.Diagnostics = append(resp.Diagnostics, ds...)
	if entra {
		resp.Resources[clusterAt].Inputs["entra_rbac"] = true
		resp.Notes = append(resp.Notes, "access: AKS-managed Microsoft Entra ID integration with Azure RBAC for Kubernetes authorization; each principal gets role assignments at the cluster's scope (docs/providers/azure.md). AKS cannot turn Entra ID integration off again: removing access later turns Azure RBAC off and keeps Entra ID sign-in")
	}
	resp.Resources = append(resp.Resources, userPools...)
	pools := []string{cluster} // the System pool is inline in the cluster
	for _, p := range userPools {
		pools = append(pools, p.Address)
	}

	pips := map[string]string{}
	for _, lb := range r.Spec.LoadBalancers {
		if lb.Scheme != spec.SchemeExternal {
			resp.Notes = append(resp.Notes, fmt.Sprintf("load balancer %s: internal; its Service carries %s: \"true\" (no Azure resource of its own)", lb.Name, internalLBAnnot))
			continue
		}
		pipZones := zoneNumbers(locations[loc])
		if zoneCount == 1 || locations[loc] == 0 {
			pipZones = zoneNumbers(1)
		}
		pip := pipName(lb.Name)
		pips[lb.Name] = addr(TypePublicIP, lb.Name)
		add(providers.Resource{
			Address: addr(TypePublicIP, lb.Name), Type: TypePublicIP, Element: spec.LoadBalancerAddressElement(lb.Name),
			Inputs: providers.Values{
				"resource_group_id": providers.Ref(cluster, "node_resource_group_id"), "location": loc, "name": pip,
				"sku": "Standard", "allocation": "Static", "zones": kit.List(pipZones),
			},
			Stateful: true,
		})
		resp.Notes = append(resp.Notes, fmt.Sprintf("load balancer %s: static Standard public IP %s in the cluster's node resource group %s; its Service binds it with %s: %s and %s: %s",
			lb.Name, pip, nm.nodeGroup, pipAnnotation, pip, annPIPResourceGroup, nm.nodeGroup))
	}
	resp.Resources = append(resp.Resources, expandInCluster(r, cluster, nm.nodeGroup, pools, pips)...)
	// What forces a replacement comes from the resource types' schemas.
	if err := d.Finish(resp.Resources); err != nil {
		return providers.ExpandResponse{}, err
	}
	return resp, nil
}

func gpuNote(m providers.MachineType) string {
	if m.GPU > 0 {
		return fmt.Sprintf(", %d GPU", m.GPU)
	}
	return ""
}

// poolMachine returns the VM size of a pool: the override when there is
// one, else PickMachine over the catalog; how says which.
func poolMachine(p spec.NodePool, ov overrides) (providers.MachineType, string, error) {
	return providers.ChooseMachine(machines, p, ov.NodePools[p.Name].VMSize,
		"spec.overrides.azure.nodePools."+p.Name+".vmSize", "Azure VM size")
}
