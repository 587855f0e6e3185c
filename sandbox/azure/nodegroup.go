package azure

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/compute/armcompute/v7"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/google/uuid"
)

// What AKS keeps in a cluster's node resource group (MC_rg_cluster_location,
// or properties.nodeResourceGroup): the cluster's network security group,
// with kubenet its route table, with the loadBalancer outbound type the
// outbound public IP and the "kubernetes" Standard load balancer using it,
// and one virtual machine scale set per agent pool (the pool's VM size and
// node count as its SKU and capacity). They are computed from the cluster
// and its pools on every read, so they follow scaling and go with the
// cluster. They are read-only: a write to one of them, or to the group
// itself, is refused as AKS's deny assignment refuses it. Other resources
// may be created in the group, as AKS allows by default (the driver keeps a
// load balancer's static public IP there), unless the cluster asks for the
// lockdown (nodeResourceGroupProfile.restrictionLevel ReadOnly): then every
// write in the group is refused.

// nodeSuffix is the 8-digit number AKS puts in the names of a cluster's
// node resource group objects ("aks-nodepool1-12345678-vmss").
func nodeSuffix(clusterID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key(clusterID))) // hash writes never fail
	return fmt.Sprintf("%08d", h.Sum32()%100000000)
}

// VMSSName is the name of the scale set AKS makes for agent pool pool of
// the cluster with ARM id clusterID; its nodes are named VMSSName +
// "000000", "000001", …, as AKS names them.
func VMSSName(clusterID, pool string) string {
	return "aks-" + strings.ToLower(pool) + "-" + nodeSuffix(clusterID) + "-vmss"
}

// nodeGroup is the view of one cluster's node resource group.
type nodeGroup struct {
	gk   string // the node resource group's key
	name string // its name
	pip  *armnetwork.PublicIPAddress
	lb   *armnetwork.LoadBalancer
	nsg  *armnetwork.SecurityGroup
	rt   *armnetwork.RouteTable
	vmss []*armcompute.VirtualMachineScaleSet
}

func (g nodeGroup) pips() []*armnetwork.PublicIPAddress {
	if g.pip == nil {
		return nil
	}
	return []*armnetwork.PublicIPAddress{g.pip}
}

func (g nodeGroup) lbs() []*armnetwork.LoadBalancer {
	if g.lb == nil {
		return nil
	}
	return []*armnetwork.LoadBalancer{g.lb}
}

func (g nodeGroup) routeTables() []*armnetwork.RouteTable {
	if g.rt == nil {
		return nil
	}
	return []*armnetwork.RouteTable{g.rt}
}

// nodeGroups returns the node resource groups of subscription sub (all
// subscriptions when sub is ""), or only the one with key gk, by key.
func (e *Emulator) nodeGroups(sub, gk string) []nodeGroup {
	var out []nodeGroup
	for k, g := range e.st.Groups {
		if g.Cluster == "" || (gk != "" && k != gk) || (sub != "" && !inSub(k, sub)) {
			continue
		}
		if c, ok := e.st.Clusters[g.Cluster]; ok {
			out = append(out, e.nodeGroupOf(c, k, deref(g.V.Name)))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].gk < out[j].gk })
	return out
}

// nodeGroupOf builds the objects AKS keeps in cluster c's node resource
// group (key gk, name name).
func (e *Emulator) nodeGroupOf(c *clusterRec, gk, name string) nodeGroup {
	cid := deref(c.V.ID)
	sub := strings.Split(cid, "/")[2]
	loc := c.V.Location
	suffix := nodeSuffix(cid)
	netBase := groupID(sub, name) + "/providers/Microsoft.Network/"
	clusterTags := map[string]*string{"aks-managed-cluster-name": c.V.Name, "aks-managed-cluster-rg": ptr(clusterGroupName(cid))}
	state := deref(c.V.Properties.ProvisioningState)
	netSt := netState(state)
	if state == stSucceeded || state == stFailed || state == stDeleting {
		netSt = ptr(armnetwork.ProvisioningStateSucceeded) // AKS made them before it finished
	}
	g := nodeGroup{gk: gk, name: name}

	nsgName := "aks-agentpool-" + suffix + "-nsg"
	nsgID := netBase + "networkSecurityGroups/" + nsgName
	g.nsg = &armnetwork.SecurityGroup{ID: ptr(nsgID), Name: ptr(nsgName), Type: ptr("Microsoft.Network/networkSecurityGroups"),
		Location: loc, Tags: clusterTags, Etag: ptr(`W/"` + stableUUID(nsgID) + `"`),
		Properties: &armnetwork.SecurityGroupPropertiesFormat{SecurityRules: []*armnetwork.SecurityRule{},
			DefaultSecurityRules: defaultSecurityRules(nsgID), ResourceGUID: ptr(stableUUID(nsgID + "/guid")), ProvisioningState: netSt}}

	np := c.V.Properties.NetworkProfile
	if np != nil && deref(np.NetworkPlugin) == armcontainerservice.NetworkPluginKubenet {
		rtName := "aks-agentpool-" + suffix + "-routetable"
		rtID := netBase + "routeTables/" + rtName
		g.rt = &armnetwork.RouteTable{ID: ptr(rtID), Name: ptr(rtName), Type: ptr("Microsoft.Network/routeTables"), Location: loc,
			Tags: clusterTags, Etag: ptr(`W/"` + stableUUID(rtID) + `"`),
			Properties: &armnetwork.RouteTablePropertiesFormat{Routes: []*armnetwork.Route{}, DisableBgpRoutePropagation: ptr(false),
				ResourceGUID: ptr(stableUUID(rtID + "/guid")), ProvisioningState: netSt}}
	}

	lbID := netBase + "loadBalancers/kubernetes"
	backend := lbID + "/backendAddressPools/kubernetes"
	outbound := lbID + "/backendAddressPools/aksOutboundBackendPool"
	if np == nil || deref(np.OutboundType) == armcontainerservice.OutboundTypeLoadBalancer {
		pipName := stableUUID(cid + "/outbound-ip")
		pipID := netBase + "publicIPAddresses/" + pipName
		feID := lbID + "/frontendIPConfigurations/" + pipName
		ruleID := lbID + "/outboundRules/aksOutboundRule"
		g.pip = &armnetwork.PublicIPAddress{ID: ptr(pipID), Name: ptr(pipName), Type: ptr("Microsoft.Network/publicIPAddresses"), Location: loc,
			Tags:  map[string]*string{"aks-managed-cluster-name": c.V.Name, "aks-managed-cluster-rg": ptr(clusterGroupName(cid)), "aks-managed-type": ptr("aks-slb-managed-outbound-ip")},
			Etag:  ptr(`W/"` + stableUUID(pipID) + `"`),
			SKU:   &armnetwork.PublicIPAddressSKU{Name: ptr(armnetwork.PublicIPAddressSKUNameStandard), Tier: ptr(armnetwork.PublicIPAddressSKUTierRegional)},
			Zones: zonesOfPools(e.poolsOf(key(cid))),
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{PublicIPAllocationMethod: ptr(armnetwork.IPAllocationMethodStatic),
				PublicIPAddressVersion: ptr(armnetwork.IPVersionIPv4), IPAddress: ptr(publicIP(pipID)), IdleTimeoutInMinutes: ptr[int32](4),
				IPTags: []*armnetwork.IPTag{}, IPConfiguration: &armnetwork.IPConfiguration{ID: ptr(feID)},
				ResourceGUID: ptr(stableUUID(pipID + "/guid")), ProvisioningState: netSt}}
		sub := func(id string) *armnetwork.SubResource { return &armnetwork.SubResource{ID: ptr(id)} }
		g.lb = &armnetwork.LoadBalancer{ID: ptr(lbID), Name: ptr("kubernetes"), Type: ptr("Microsoft.Network/loadBalancers"), Location: loc,
			Tags: clusterTags, Etag: ptr(`W/"` + stableUUID(lbID) + `"`),
			SKU: &armnetwork.LoadBalancerSKU{Name: ptr(armnetwork.LoadBalancerSKUNameStandard), Tier: ptr(armnetwork.LoadBalancerSKUTierRegional)},
			Properties: &armnetwork.LoadBalancerPropertiesFormat{
				FrontendIPConfigurations: []*armnetwork.FrontendIPConfiguration{{ID: ptr(feID), Name: ptr(pipName),
					Properties: &armnetwork.FrontendIPConfigurationPropertiesFormat{PublicIPAddress: &armnetwork.PublicIPAddress{ID: ptr(pipID)},
						OutboundRules: []*armnetwork.SubResource{sub(ruleID)}, ProvisioningState: netSt}}},
				BackendAddressPools: []*armnetwork.BackendAddressPool{
					{ID: ptr(backend), Name: ptr("kubernetes"), Properties: &armnetwork.BackendAddressPoolPropertiesFormat{ProvisioningState: netSt}},
					{ID: ptr(outbound), Name: ptr("aksOutboundBackendPool"), Properties: &armnetwork.BackendAddressPoolPropertiesFormat{
						OutboundRules: []*armnetwork.SubResource{sub(ruleID)}, ProvisioningState: netSt}},
				},
				OutboundRules: []*armnetwork.OutboundRule{{ID: ptr(ruleID), Name: ptr("aksOutboundRule"), Properties: &armnetwork.OutboundRulePropertiesFormat{
					AllocatedOutboundPorts: ptr[int32](0), Protocol: ptr(armnetwork.LoadBalancerOutboundRuleProtocolAll), EnableTCPReset: ptr(true),
					IdleTimeoutInMinutes: ptr[int32](30), BackendAddressPool: sub(outbound),
					FrontendIPConfigurations: []*armnetwork.SubResource{sub(feID)}, ProvisioningState: netSt}}},
				LoadBalancingRules: []*armnetwork.LoadBalancingRule{}, Probes: []*armnetwork.Probe{},
				InboundNatRules: []*armnetwork.InboundNatRule{}, InboundNatPools: []*armnetwork.InboundNatPool{},
				ResourceGUID: ptr(stableUUID(lbID + "/guid")), ProvisioningState: netSt}}
	}

	for _, p := range e.poolsOf(key(cid)) {
		g.vmss = append(g.vmss, e.scaleSet(c, p, sub, name, g.lb != nil, backend, outbound))
	}
	return g
}

// scaleSet is the VM scale set of agent pool p.
func (e *Emulator) scaleSet(c *clusterRec, p *poolRec, sub, group string, withLB bool, backend, outbound string) *armcompute.VirtualMachineScaleSet {
	cid := deref(c.V.ID)
	pp := p.V.Properties
	name := VMSSName(cid, deref(p.V.Name))
	id := groupID(sub, group) + "/providers/Microsoft.Compute/virtualMachineScaleSets/" + name
	prio := ptr(armcompute.VirtualMachinePriorityTypesRegular)
	var evict *armcompute.VirtualMachineEvictionPolicyTypes
	var billing *armcompute.BillingProfile
	if deref(pp.ScaleSetPriority) == armcontainerservice.ScaleSetPrioritySpot {
		prio = ptr(armcompute.VirtualMachinePriorityTypesSpot)
		evict = ptr(armcompute.VirtualMachineEvictionPolicyTypesDelete)
		if deref(pp.ScaleSetEvictionPolicy) == armcontainerservice.ScaleSetEvictionPolicyDeallocate {
			evict = ptr(armcompute.VirtualMachineEvictionPolicyTypesDeallocate)
		}
		billing = &armcompute.BillingProfile{MaxPrice: ptr(float64(deref(pp.SpotMaxPrice)))}
	}
	ipc := &armcompute.VirtualMachineScaleSetIPConfigurationProperties{Primary: ptr(true)}
	if pp.VnetSubnetID != nil {
		ipc.Subnet = &armcompute.APIEntityReference{ID: pp.VnetSubnetID}
	}
	if withLB {
		ipc.LoadBalancerBackendAddressPools = []*armcompute.SubResource{{ID: ptr(backend)}, {ID: ptr(outbound)}}
	}
	st := deref(pp.ProvisioningState)
	if st == "" {
		st = stSucceeded
	}
	tags := map[string]*string{
		"aks-managed-poolName":           p.V.Name,
		"aks-managed-orchestrator":       ptr("Kubernetes:" + deref(pp.CurrentOrchestratorVersion)),
		"aks-managed-resourceNameSuffix": ptr(nodeSuffix(cid)),
		"aks-managed-cluster-name":       c.V.Name,
		"aks-managed-cluster-rg":         ptr(clusterGroupName(cid)),
	}
	for k, v := range pp.Tags {
		tags[k] = v
	}
	return &armcompute.VirtualMachineScaleSet{ID: ptr(id), Name: ptr(name), Type: ptr("Microsoft.Compute/virtualMachineScaleSets"),
		Location: c.V.Location, Tags: tags, Zones: pp.AvailabilityZones, Etag: ptr(`"` + stableUUID(id+"/"+deref(pp.ETag)) + `"`),
		SKU: &armcompute.SKU{Name: pp.VMSize, Tier: ptr("Standard"), Capacity: ptr(int64(deref(pp.Count)))},
		Properties: &armcompute.VirtualMachineScaleSetProperties{
			ProvisioningState: ptr(st), UniqueID: ptr(stableUUID(id)),
			OrchestrationMode: ptr(armcompute.OrchestrationModeUniform), Overprovision: ptr(false), SinglePlacementGroup: ptr(false),
			DoNotRunExtensionsOnOverprovisionedVMs: ptr(false),
			UpgradePolicy:                          &armcompute.UpgradePolicy{Mode: ptr(armcompute.UpgradeModeManual)},
			VirtualMachineProfile: &armcompute.VirtualMachineScaleSetVMProfile{
				Priority: prio, EvictionPolicy: evict, BillingProfile: billing,
				OSProfile: vmssOSProfile(name, deref(p.V.Name), pp),
				StorageProfile: &armcompute.VirtualMachineScaleSetStorageProfile{OSDisk: &armcompute.VirtualMachineScaleSetOSDisk{
					CreateOption: ptr(armcompute.DiskCreateOptionTypesFromImage), Caching: ptr(armcompute.CachingTypesReadOnly),
					OSType: ptr(armcompute.OperatingSystemTypes(deref(pp.OSType))), DiskSizeGB: pp.OSDiskSizeGB,
					ManagedDisk: &armcompute.VirtualMachineScaleSetManagedDiskParameters{StorageAccountType: ptr(armcompute.StorageAccountTypes(storageTier(deref(pp.VMSize))))}}},
				NetworkProfile: &armcompute.VirtualMachineScaleSetNetworkProfile{NetworkInterfaceConfigurations: []*armcompute.VirtualMachineScaleSetNetworkConfiguration{{
					Name: ptr(name), Properties: &armcompute.VirtualMachineScaleSetNetworkConfigurationProperties{Primary: ptr(true), EnableIPForwarding: ptr(true),
						IPConfigurations: []*armcompute.VirtualMachineScaleSetIPConfiguration{{Name: ptr("ipconfig1"), Properties: ipc}}}}}},
			}}}
}

// vmssOSProfile is the OS profile of scale set vmss of agent pool pool:
// Linux with SSH keys only, or Windows with AKS's computer names ("aks" and
// the pool's name: Windows allows 15 characters).
func vmssOSProfile(vmss, pool string, pp *armcontainerservice.ManagedClusterAgentPoolProfileProperties) *armcompute.VirtualMachineScaleSetOSProfile {
	if deref(pp.OSType) == armcontainerservice.OSTypeWindows {
		return &armcompute.VirtualMachineScaleSetOSProfile{ComputerNamePrefix: ptr("aks" + pool), AdminUsername: ptr(defaultAdminUser),
			WindowsConfiguration: &armcompute.WindowsConfiguration{ProvisionVMAgent: ptr(true), EnableAutomaticUpdates: ptr(false)}}
	}
	return &armcompute.VirtualMachineScaleSetOSProfile{ComputerNamePrefix: ptr(vmss), AdminUsername: ptr(defaultAdminUser),
		LinuxConfiguration: &armcompute.LinuxConfiguration{DisablePasswordAuthentication: ptr(true), ProvisionVMAgent: ptr(true)}}
}

// defaultSecurityRules are the six rules every network security group has.
func defaultSecurityRules(nsgID string) []*armnetwork.SecurityRule {
	rule := func(name, desc string, prio int32, dir armnetwork.SecurityRuleDirection, access armnetwork.SecurityRuleAccess, src, dst string) *armnetwork.SecurityRule {
		return &armnetwork.SecurityRule{ID: ptr(nsgID + "/defaultSecurityRules/" + name), Name: ptr(name), Type: ptr("Microsoft.Network/networkSecurityGroups/defaultSecurityRules"),
			Properties: &armnetwork.SecurityRulePropertiesFormat{Description: ptr(desc), Protocol: ptr(armnetwork.SecurityRuleProtocolAsterisk),
				SourcePortRange: ptr("*"), DestinationPortRange: ptr("*"), SourceAddressPrefix: ptr(src), DestinationAddressPrefix: ptr(dst),
				Access: ptr(access), Priority: ptr(prio), Direction: ptr(dir), ProvisioningState: ptr(armnetwork.ProvisioningStateSucceeded)}}
	}
	in, out := armnetwork.SecurityRuleDirectionInbound, armnetwork.SecurityRuleDirectionOutbound
	allow, deny := armnetwork.SecurityRuleAccessAllow, armnetwork.SecurityRuleAccessDeny
	return []*armnetwork.SecurityRule{
		rule("AllowVnetInBound", "Allow inbound traffic from all VMs in VNET", 65000, in, allow, "VirtualNetwork", "VirtualNetwork"),
		rule("AllowAzureLoadBalancerInBound", "Allow inbound traffic from azure load balancer", 65001, in, allow, "AzureLoadBalancer", "*"),
		rule("DenyAllInBound", "Deny all inbound traffic", 65500, in, deny, "*", "*"),
		rule("AllowVnetOutBound", "Allow outbound traffic from all VMs to all VMs in VNET", 65000, out, allow, "VirtualNetwork", "VirtualNetwork"),
		rule("AllowInternetOutBound", "Allow outbound traffic from all VMs to Internet", 65001, out, allow, "*", "Internet"),
		rule("DenyAllOutBound", "Deny all outbound traffic", 65500, out, deny, "*", "*"),
	}
}

// zonesOfPools is the union of the pools' zones (the outbound IP is
// zone-redundant across them), nil when none is zonal.
func zonesOfPools(pools []*poolRec) []*string {
	seen := map[string]bool{}
	for _, p := range pools {
		for _, z := range p.V.Properties.AvailabilityZones {
			seen[deref(z)] = true
		}
	}
	var out []*string
	for _, z := range []string{"1", "2", "3"} {
		if seen[z] {
			out = append(out, ptr(z))
		}
	}
	return out
}

// stableUUID is a name-based UUID, the same for the same seed.
func stableUUID(seed string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("regionctl-sandbox:"+key(seed))).String()
}

// clusterGroupName is the resource group of a cluster id.
func clusterGroupName(id string) string {
	parts := strings.Split(id, "/")
	if len(parts) > 4 {
		return parts[4]
	}
	return ""
}

// nodeGroupRefs adds to a cluster's reply what refers to its node
// resource group: the outbound IP among the load balancer profile's
// effectiveOutboundIPs.
func (e *Emulator) nodeGroupRefs(c *clusterRec, props *armcontainerservice.ManagedClusterProperties) {
	np := props.NetworkProfile
	if np == nil || deref(np.OutboundType) != armcontainerservice.OutboundTypeLoadBalancer {
		return
	}
	gk := key(groupID(strings.Split(deref(c.V.ID), "/")[2], deref(props.NodeResourceGroup)))
	g, ok := e.st.Groups[gk]
	if !ok {
		return
	}
	pip := e.nodeGroupOf(c, gk, deref(g.V.Name)).pip
	if pip == nil {
		return
	}
	cp := *np
	lbp := armcontainerservice.ManagedClusterLoadBalancerProfile{}
	if np.LoadBalancerProfile != nil {
		lbp = *np.LoadBalancerProfile
	}
	if lbp.ManagedOutboundIPs == nil && lbp.OutboundIPs == nil && lbp.OutboundIPPrefixes == nil {
		lbp.ManagedOutboundIPs = &armcontainerservice.ManagedClusterLoadBalancerProfileManagedOutboundIPs{Count: ptr[int32](1)}
	}
	lbp.EffectiveOutboundIPs = []*armcontainerservice.ResourceReference{{ID: pip.ID}}
	if lbp.BackendPoolType == nil {
		lbp.BackendPoolType = ptr(armcontainerservice.BackendPoolTypeNodeIPConfiguration)
	}
	cp.LoadBalancerProfile = &lbp
	props.NetworkProfile = &cp
}

// nodeGroupOfRoute returns the node resource group a request addresses.
func (e *Emulator) nodeGroupOfRoute(rt route) (*groupRec, nodeGroup, bool) {
	if rt.group == "" {
		return nil, nodeGroup{}, false
	}
	gk := key(groupID(rt.sub, rt.group))
	g, ok := e.st.Groups[gk]
	if !ok || g.Cluster == "" {
		return nil, nodeGroup{}, false
	}
	gs := e.nodeGroups("", gk)
	if len(gs) != 1 {
		return g, nodeGroup{gk: gk}, true
	}
	return g, gs[0], true
}

// managed reports whether a request addresses an object AKS keeps in node
// group ng.
func (ng nodeGroup) managed(rt route) bool {
	var names []*string
	switch rt.typ {
	case "resourceGroups":
		return true
	case "publicIPAddresses":
		for _, p := range ng.pips() {
			names = append(names, p.Name)
		}
	case "loadBalancers":
		for _, p := range ng.lbs() {
			names = append(names, p.Name)
		}
	case "networkSecurityGroups":
		if ng.nsg != nil {
			names = append(names, ng.nsg.Name)
		}
	case "routeTables":
		for _, p := range ng.routeTables() {
			names = append(names, p.Name)
		}
	case "virtualMachineScaleSets":
		for _, p := range ng.vmss {
			names = append(names, p.Name)
		}
	}
	for _, n := range names {
		if strings.EqualFold(deref(n), rt.name) {
			return true
		}
	}
	return false
}

// denyNodeGroupWrite refuses, as AKS's deny assignment does, a write to an
// object AKS keeps in a node resource group or to the group itself, and
// any write in the group of a cluster with the ReadOnly lockdown.
func (e *Emulator) denyNodeGroupWrite(r *http.Request, rt route) *armErr {
	action := map[string]string{http.MethodPut: "write", http.MethodPatch: "write", http.MethodDelete: "delete", http.MethodPost: "action"}[r.Method]
	if action == "" {
		return nil
	}
	g, ng, ok := e.nodeGroupOfRoute(rt)
	if !ok {
		return nil
	}
	locked := false
	if c, ok := e.st.Clusters[g.Cluster]; ok {
		if p := c.V.Properties.NodeResourceGroupProfile; p != nil && deref(p.RestrictionLevel) == armcontainerservice.RestrictionLevelReadOnly {
			locked = true
		}
	}
	if !locked && !ng.managed(rt) {
		return nil
	}
	typ := rt.ns + "/" + rt.typ
	if rt.typ == "resourceGroups" {
		typ = "Microsoft.Resources/subscriptions/resourceGroups"
	} else if rt.typ == "subnets" {
		typ = "Microsoft.Network/virtualNetworks/subnets"
	}
	objectID := ""
	if e.st.Identity != nil {
		objectID = e.st.Identity.ObjectID
	}
	scope := groupID(rt.sub, deref(g.V.Name))
	return errf(http.StatusForbidden, "DenyAssignmentAuthorizationFailed",
		"The client '%s' with object id '%s' has permission to perform action '%s/%s' on scope '%s'; however, the access is denied because of the deny assignment with name 'AKS Node Resource Group deny assignment for %s' and Id '%s' at scope '%s'.",
		ClientID, objectID, typ, action, r.URL.Path, deref(g.V.ManagedBy), strings.ReplaceAll(stableUUID(scope+"/deny"), "-", ""), scope)
}

// serveNodeObject answers reads of the objects in node resource groups:
// load balancers, network security groups, route tables, VM scale sets
// anywhere (only AKS's exist), and public IPs in node resource groups.
func (e *Emulator) serveNodeObject(w http.ResponseWriter, r *http.Request, rt route) *armErr {
	_, gk, aerr := e.groupFor(rt, false)
	if aerr != nil {
		return aerr
	}
	if !strings.HasSuffix(rt.op, ".get") && !strings.HasSuffix(rt.op, ".list") {
		return errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The sandbox serves %s/%s only as AKS creates them in a cluster's node resource group; creating, changing or deleting one outside it is not emulated.", rt.ns, rt.typ)
	}
	var g nodeGroup
	if gs := e.nodeGroups("", gk); len(gs) == 1 {
		g = gs[0]
	}
	list := strings.HasSuffix(rt.op, ".list")
	notFound := errf(http.StatusNotFound, "ResourceNotFound", "The Resource '%s/%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", rt.ns, rt.typ, rt.name, rt.group)
	switch rt.typ {
	case "publicIPAddresses":
		return serveOne(w, r, list, g.pips(), func(p *armnetwork.PublicIPAddress) *string { return p.Name }, rt.name, notFound, pipPage)
	case "loadBalancers":
		return serveOne(w, r, list, g.lbs(), func(p *armnetwork.LoadBalancer) *string { return p.Name }, rt.name, notFound, lbPage)
	case "networkSecurityGroups":
		var v []*armnetwork.SecurityGroup
		if g.nsg != nil {
			v = append(v, g.nsg)
		}
		return serveOne(w, r, list, v, func(p *armnetwork.SecurityGroup) *string { return p.Name }, rt.name, notFound, nsgPage)
	case "routeTables":
		return serveOne(w, r, list, g.routeTables(), func(p *armnetwork.RouteTable) *string { return p.Name }, rt.name, notFound, routeTablePage)
	case "virtualMachineScaleSets":
		return serveOne(w, r, list, g.vmss, func(p *armcompute.VirtualMachineScaleSet) *string { return p.Name }, rt.name, notFound, vmssPage)
	}
	return errf(http.StatusNotFound, "InvalidResourceType", "The resource type '%s' could not be found.", rt.typ)
}

// serveOne answers a list of items (paged) or the one named name.
func serveOne[T any](w http.ResponseWriter, r *http.Request, list bool, items []*T, nameOf func(*T) *string, name string, notFound *armErr, wrap func([]*T, *string) any) *armErr {
	if list {
		return writePage(w, r, items, wrap)
	}
	for _, it := range items {
		if strings.EqualFold(deref(nameOf(it)), name) {
			writeJSON(w, http.StatusOK, it)
			return nil
		}
	}
	return notFound
}
