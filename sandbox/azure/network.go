package azure

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/netip"
	"regexp"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/google/uuid"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

var netNameRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9_.-]{0,78}[a-zA-Z0-9_])?$`)

// netState maps a provisioning state to the network provider's: it says
// Updating while creating.
func netState(st string) *armnetwork.ProvisioningState {
	if st == stCreating {
		st = stUpdating
	}
	return ptr(armnetwork.ProvisioningState(st))
}

func netID(rt route, typ, name string) string {
	return "/subscriptions/" + rt.sub + "/resourceGroups/" + rt.group + "/providers/Microsoft.Network/" + typ + "/" + name
}

func etag() *string { return ptr(`W/"` + uuid.NewString() + `"`) }

func notFound(rt route, typ, name string) *armErr {
	return errf(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Network/%s/%s' under resource group '%s' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix", typ, name, rt.group)
}

// busy refuses a write while another operation runs on the resource.
func (e *Emulator) busy(k, id string) *armErr {
	o := e.pending(k)
	if o == nil {
		return nil
	}
	if o.Delete {
		return errf(http.StatusConflict, "Conflict", "The resource '%s' is being deleted.", id)
	}
	return errf(http.StatusConflict, "AnotherOperationInProgress", "Another operation on this or dependent resource is in progress. To retrieve status of the operation use uri: operations/%s.", o.ID)
}

func parsePrefix(s, field string) (netip.Prefix, *armErr) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Masked() != p {
		return netip.Prefix{}, errf(http.StatusBadRequest, "InvalidAddressPrefixFormat", "Address prefix %q of %s is not a valid IPv4 CIDR (for example 10.0.0.0/16).", s, field)
	}
	return p, nil
}

func within(inner netip.Prefix, outer []netip.Prefix) bool {
	for _, o := range outer {
		if o.Bits() <= inner.Bits() && o.Contains(inner.Addr()) {
			return true
		}
	}
	return false
}

// inUseBy names the agent pool whose nodes use a subnet, if any.
func (e *Emulator) inUseBy(subnetKey string) string {
	var users []string
	for _, p := range e.st.Pools {
		if key(deref(p.V.Properties.VnetSubnetID)) == subnetKey || key(deref(p.V.Properties.PodSubnetID)) == subnetKey {
			users = append(users, deref(p.V.ID))
		}
	}
	sort.Strings(users)
	if len(users) == 0 {
		return ""
	}
	return users[0]
}

func (e *Emulator) subnetInUse(sn *subnetRec) *armErr {
	if by := e.inUseBy(key(deref(sn.V.ID))); by != "" {
		return errf(http.StatusBadRequest, "InUseSubnetCannotBeDeleted", "Subnet %s is in use by %s and cannot be deleted. In order to delete the subnet, delete all the resources within the subnet. See aka.ms/deletesubnet.", deref(sn.V.Name), by)
	}
	return nil
}

// vnetView is a virtual network as ARM returns it, with its subnets.
func (e *Emulator) vnetView(v *vnetRec) armnetwork.VirtualNetwork {
	out := v.V
	props := *v.V.Properties
	if props.EnableVMProtection == nil {
		props.EnableVMProtection = ptr(false) // ARM reports it; az's vnet table reads it
	}
	props.Subnets = []*armnetwork.Subnet{}
	for _, sn := range e.subnetsOf(key(deref(v.V.ID))) {
		props.Subnets = append(props.Subnets, ptr(e.subnetView(sn)))
	}
	out.Properties = &props
	return out
}

func (e *Emulator) subnetsOf(vk string) []*subnetRec {
	var out []*subnetRec
	for _, sn := range e.st.Subnets {
		if sn.VNet == vk {
			out = append(out, sn)
		}
	}
	sort.Slice(out, func(i, j int) bool { return key(*out[i].V.ID) < key(*out[j].V.ID) })
	return out
}

func (e *Emulator) subnetView(sn *subnetRec) armnetwork.Subnet { return sn.V }

// checkSubnet validates one subnet of a VNet against the address space and
// the VNet's other subnets.
func (e *Emulator) checkSubnet(in *armnetwork.Subnet, space []netip.Prefix, others map[string]netip.Prefix, vnetName string) (netip.Prefix, *armErr) {
	name := deref(in.Name)
	if !netNameRE.MatchString(name) {
		return netip.Prefix{}, badParam("Subnet name '%s' is invalid: use 1-80 letters, digits, underscores, periods and hyphens.", name)
	}
	if in.Properties == nil {
		return netip.Prefix{}, badParam("Subnet '%s': properties.addressPrefix is required.", name)
	}
	cidr := deref(in.Properties.AddressPrefix)
	if cidr == "" && len(in.Properties.AddressPrefixes) > 0 {
		cidr = deref(in.Properties.AddressPrefixes[0])
	}
	if cidr == "" {
		return netip.Prefix{}, badParam("Subnet '%s': properties.addressPrefix is required.", name)
	}
	p, aerr := parsePrefix(cidr, "subnet "+name)
	if aerr != nil {
		return p, aerr
	}
	if !within(p, space) {
		return p, errf(http.StatusBadRequest, "NetcfgInvalidSubnet", "Subnet '%s' is not valid in virtual network '%s': its prefix %s is not within the address space.", name, vnetName, cidr)
	}
	names := make([]string, 0, len(others))
	for n := range others {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if o := others[n]; strings.ToLower(n) != strings.ToLower(name) && o.Overlaps(p) {
			return p, errf(http.StatusBadRequest, "NetcfgSubnetRangesOverlap", "Subnet '%s' is not valid because its IP address range %s overlaps with that of an existing subnet '%s' (%s) in virtual network '%s'.", name, cidr, n, o, vnetName)
		}
	}
	if ng := in.Properties.NatGateway; ng != nil {
		if _, ok := e.st.NATs[key(deref(ng.ID))]; !ok {
			return p, errf(http.StatusBadRequest, "InvalidResourceReference", "Resource %s referenced by subnet '%s' was not found.", deref(ng.ID), name)
		}
	}
	return p, nil
}

func newSubnet(vnetID, name string, in *armnetwork.SubnetPropertiesFormat, p netip.Prefix, st string) armnetwork.Subnet {
	props := armnetwork.SubnetPropertiesFormat{AddressPrefix: ptr(p.String()), NatGateway: in.NatGateway,
		NetworkSecurityGroup: in.NetworkSecurityGroup, RouteTable: in.RouteTable, ServiceEndpoints: in.ServiceEndpoints,
		Delegations: in.Delegations, DefaultOutboundAccess: in.DefaultOutboundAccess,
		PrivateEndpointNetworkPolicies: in.PrivateEndpointNetworkPolicies, PrivateLinkServiceNetworkPolicies: in.PrivateLinkServiceNetworkPolicies,
		ProvisioningState: netState(st)}
	if props.PrivateEndpointNetworkPolicies == nil {
		props.PrivateEndpointNetworkPolicies = ptr(armnetwork.VirtualNetworkPrivateEndpointNetworkPoliciesDisabled)
	}
	if props.PrivateLinkServiceNetworkPolicies == nil {
		props.PrivateLinkServiceNetworkPolicies = ptr(armnetwork.VirtualNetworkPrivateLinkServiceNetworkPoliciesEnabled)
	}
	return armnetwork.Subnet{ID: ptr(vnetID + "/subnets/" + name), Name: ptr(name), Type: ptr("Microsoft.Network/virtualNetworks/subnets"),
		Etag: etag(), Properties: &props}
}

func (e *Emulator) serveVNet(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	if rt.op == "virtualNetworks.list" {
		_, gk, aerr := e.groupFor(rt, false)
		if aerr != nil {
			return false, aerr
		}
		out := armnetwork.VirtualNetworkListResult{Value: []*armnetwork.VirtualNetwork{}}
		for _, v := range sortedBy(s.VNets, func(v *vnetRec) string { return v.Group }, gk) {
			out.Value = append(out.Value, ptr(e.vnetView(v)))
		}
		return false, writePage(w, r, out.Value, vnetPage)
	}
	id := netID(rt, "virtualNetworks", rt.name)
	vk := key(id)
	_, gk, aerr := e.groupFor(rt, rt.op == "virtualNetworks.createOrUpdate")
	if aerr != nil {
		return false, aerr
	}
	v, exists := s.VNets[vk]
	switch rt.op {
	case "virtualNetworks.get":
		if !exists {
			return false, notFound(rt, "virtualNetworks", rt.name)
		}
		writeJSON(w, http.StatusOK, e.vnetView(v))
		return false, nil
	case "virtualNetworks.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		if o := e.pending(vk); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(v.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		for _, sn := range e.subnetsOf(vk) {
			if aerr := e.subnetInUse(sn); aerr != nil {
				return false, aerr
			}
		}
		v.V.Properties.ProvisioningState = netState(stDeleting)
		for _, sn := range e.subnetsOf(vk) {
			sn.V.Properties.ProvisioningState = netState(stDeleting)
		}
		o := e.startOp("azure:virtualNetworks.delete", kindVNet, vk, true, c.Fail)
		e.writeLRO(w, r, rt, deref(v.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	case "virtualNetworks.createOrUpdate":
	default:
		return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
	}
	var in armnetwork.VirtualNetwork
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	if !netNameRE.MatchString(rt.name) {
		return false, badParam("Virtual network name '%s' is invalid: use 1-80 letters, digits, underscores, periods and hyphens.", rt.name)
	}
	loc := normLocation(deref(in.Location))
	if loc == "" {
		return false, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if exists {
		if aerr := e.busy(vk, id); aerr != nil {
			return false, aerr
		}
		if loc != deref(v.V.Location) {
			return false, errf(http.StatusBadRequest, "InvalidResourceLocation", "The resource '%s' already exists in location '%s'; it cannot be moved to '%s'.", rt.name, deref(v.V.Location), loc)
		}
	}
	if in.Properties == nil || in.Properties.AddressSpace == nil || len(in.Properties.AddressSpace.AddressPrefixes) == 0 {
		return false, badParam("Virtual network '%s': properties.addressSpace.addressPrefixes is required.", rt.name)
	}
	var space []netip.Prefix
	for _, a := range in.Properties.AddressSpace.AddressPrefixes {
		p, aerr := parsePrefix(deref(a), "virtual network "+rt.name)
		if aerr != nil {
			return false, aerr
		}
		space = append(space, p)
	}
	// The PUT body's subnets are the VNet's whole set, as in ARM: subnets
	// left out are deleted (refused while in use).
	desired := map[string]netip.Prefix{}
	for _, sn := range in.Properties.Subnets {
		if sn == nil || sn.Properties == nil {
			continue
		}
		cidr := deref(sn.Properties.AddressPrefix)
		if cidr == "" && len(sn.Properties.AddressPrefixes) > 0 {
			cidr = deref(sn.Properties.AddressPrefixes[0])
		}
		if p, err := netip.ParsePrefix(cidr); err == nil {
			desired[deref(sn.Name)] = p
		}
	}
	seen := map[string]bool{}
	var news []armnetwork.Subnet
	for _, sn := range in.Properties.Subnets {
		if sn == nil {
			continue
		}
		if seen[key(deref(sn.Name))] {
			return false, badParam("Subnet '%s' appears twice in virtual network '%s'.", deref(sn.Name), rt.name)
		}
		seen[key(deref(sn.Name))] = true
		p, aerr := e.checkSubnet(sn, space, desired, rt.name)
		if aerr != nil {
			return false, aerr
		}
		news = append(news, newSubnet(id, deref(sn.Name), sn.Properties, p, stCreating))
	}
	for _, old := range e.subnetsOf(vk) {
		if !seen[key(deref(old.V.Name))] {
			if aerr := e.subnetInUse(old); aerr != nil {
				return false, aerr
			}
		}
	}
	status := http.StatusCreated
	st := stCreating
	if exists {
		status, st = http.StatusOK, stUpdating
		for _, old := range e.subnetsOf(vk) {
			delete(s.Subnets, key(deref(old.V.ID)))
		}
		v.V.Tags = in.Tags
		v.V.Etag = etag()
		v.V.Properties.AddressSpace = &armnetwork.AddressSpace{AddressPrefixes: in.Properties.AddressSpace.AddressPrefixes}
		v.V.Properties.DhcpOptions = in.Properties.DhcpOptions
		v.V.Properties.ProvisioningState = netState(st)
	} else {
		v = &vnetRec{Group: gk, V: armnetwork.VirtualNetwork{ID: ptr(id), Name: ptr(rt.name), Type: ptr("Microsoft.Network/virtualNetworks"),
			Location: ptr(loc), Tags: in.Tags, Etag: etag(),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{
				AddressSpace:         &armnetwork.AddressSpace{AddressPrefixes: in.Properties.AddressSpace.AddressPrefixes},
				DhcpOptions:          in.Properties.DhcpOptions,
				EnableDdosProtection: ptr(false), ResourceGUID: ptr(uuid.NewString()), ProvisioningState: netState(st),
				PrivateEndpointVNetPolicies: ptr(armnetwork.PrivateEndpointVNetPoliciesDisabled),
			}}}
		s.VNets[vk] = v
	}
	for _, sn := range news {
		s.Subnets[key(*sn.ID)] = &subnetRec{V: sn, VNet: vk}
	}
	o := e.startOp("azure:virtualNetworks.createOrUpdate", kindVNet, vk, false, c.Fail)
	e.writeLRO(w, r, rt, loc, o, status, e.vnetView(v))
	return true, nil
}

func (e *Emulator) serveSubnet(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	_, _, aerr := e.groupFor(rt, rt.op == "subnets.createOrUpdate")
	if aerr != nil {
		return false, aerr
	}
	vnetID := netID(rt, "virtualNetworks", rt.name)
	vk := key(vnetID)
	v, ok := s.VNets[vk]
	if !ok {
		return false, notFound(rt, "virtualNetworks", rt.name)
	}
	if rt.op == "subnets.list" {
		out := armnetwork.SubnetListResult{Value: []*armnetwork.Subnet{}}
		for _, sn := range e.subnetsOf(vk) {
			out.Value = append(out.Value, ptr(e.subnetView(sn)))
		}
		return false, writePage(w, r, out.Value, func(v []*armnetwork.Subnet, next *string) any {
			return armnetwork.SubnetListResult{Value: v, NextLink: next}
		})
	}
	id := vnetID + "/subnets/" + rt.child
	sk := key(id)
	sn, exists := s.Subnets[sk]
	switch rt.op {
	case "subnets.get":
		if !exists {
			return false, errf(http.StatusNotFound, "NotFound", "Resource %s not found.", id)
		}
		writeJSON(w, http.StatusOK, e.subnetView(sn))
		return false, nil
	case "subnets.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		if o := e.pending(sk); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(v.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		if aerr := e.subnetInUse(sn); aerr != nil {
			return false, aerr
		}
		sn.V.Properties.ProvisioningState = netState(stDeleting)
		o := e.startOp("azure:subnets.delete", kindSubnet, sk, true, c.Fail)
		e.writeLRO(w, r, rt, deref(v.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	case "subnets.createOrUpdate":
	default:
		return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
	}
	var in armnetwork.Subnet
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	in.Name = ptr(rt.child)
	if aerr := e.busy(vk, vnetID); aerr != nil {
		return false, aerr
	}
	if exists {
		if aerr := e.busy(sk, id); aerr != nil {
			return false, aerr
		}
	}
	var space []netip.Prefix
	for _, a := range v.V.Properties.AddressSpace.AddressPrefixes {
		p, _ := netip.ParsePrefix(deref(a)) // validated when the VNet was written
		space = append(space, p)
	}
	others := map[string]netip.Prefix{}
	for _, o := range e.subnetsOf(vk) {
		if p, err := netip.ParsePrefix(deref(o.V.Properties.AddressPrefix)); err == nil {
			others[deref(o.V.Name)] = p
		}
	}
	p, aerr := e.checkSubnet(&in, space, others, deref(v.V.Name))
	if aerr != nil {
		return false, aerr
	}
	status, st := http.StatusCreated, stCreating
	name := rt.child
	if exists {
		status, st = http.StatusOK, stUpdating
		name = deref(sn.V.Name)
		if by := e.inUseBy(sk); by != "" && deref(sn.V.Properties.AddressPrefix) != p.String() {
			return false, errf(http.StatusBadRequest, "InUseSubnetCannotBeUpdated", "Subnet %s is in use by %s; its address prefix cannot be changed.", name, by)
		}
	}
	nsn := newSubnet(deref(v.V.ID), name, in.Properties, p, st)
	s.Subnets[sk] = &subnetRec{V: nsn, VNet: vk}
	o := e.startOp("azure:subnets.createOrUpdate", kindSubnet, sk, false, c.Fail)
	e.writeLRO(w, r, rt, deref(v.V.Location), o, status, e.subnetView(s.Subnets[sk]))
	return true, nil
}

// sortedBy returns the records of m whose group(rec) is gk, by key.
func sortedBy[T any](m map[string]*T, group func(*T) string, gk string) []*T {
	return sortedWhere(m, func(_ string, v *T) bool { return group(v) == gk })
}

// sortedWhere returns the records of m for which keep holds, by key.
func sortedWhere[T any](m map[string]*T, keep func(k string, v *T) bool) []*T {
	keys := make([]string, 0, len(m))
	for k, v := range m {
		if keep(k, v) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// publicIP derives a stable address in 20.0.0.0/8 from the resource id.
func publicIP(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key(id))) // hash writes never fail
	v := h.Sum32()
	return fmt.Sprintf("20.%d.%d.%d", (v>>16)&0xff, (v>>8)&0xff, max(v&0xff, 1))
}

var validZones = map[string]bool{"1": true, "2": true, "3": true}

func checkZones(zones []*string, what string) *armErr {
	for _, z := range zones {
		if !validZones[deref(z)] {
			return badParam("%s: zone '%s' is not valid; use 1, 2 or 3.", what, deref(z))
		}
	}
	return nil
}

func sameZones(a, b []*string) bool {
	as, bs := make([]string, 0, len(a)), make([]string, 0, len(b))
	for _, z := range a {
		as = append(as, deref(z))
	}
	for _, z := range b {
		bs = append(bs, deref(z))
	}
	sort.Strings(as)
	sort.Strings(bs)
	return strings.Join(as, ",") == strings.Join(bs, ",")
}

// pipView adds the NAT gateway back-reference ARM reports.
func (e *Emulator) pipView(p *pipRec) armnetwork.PublicIPAddress {
	out := p.V
	props := *p.V.Properties
	props.NatGateway = nil
	if nk := e.natUsing(key(deref(p.V.ID))); nk != "" {
		props.NatGateway = &armnetwork.NatGateway{ID: e.st.NATs[nk].V.ID}
	}
	out.Properties = &props
	return out
}

func (e *Emulator) natUsing(pipKey string) string {
	for nk, n := range e.st.NATs {
		for _, ref := range n.V.Properties.PublicIPAddresses {
			if ref != nil && key(deref(ref.ID)) == pipKey {
				return nk
			}
		}
	}
	return ""
}

func (e *Emulator) servePIP(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	_, gk, aerr := e.groupFor(rt, rt.op == "publicIPAddresses.createOrUpdate")
	if aerr != nil {
		return false, aerr
	}
	if rt.op == "publicIPAddresses.list" {
		out := armnetwork.PublicIPAddressListResult{Value: []*armnetwork.PublicIPAddress{}}
		for _, p := range sortedBy(s.PIPs, func(p *pipRec) string { return p.Group }, gk) {
			out.Value = append(out.Value, ptr(e.pipView(p)))
		}
		for _, g := range e.nodeGroups("", gk) { // AKS's outbound IP in a node resource group
			out.Value = append(out.Value, g.pips()...)
		}
		sortByID(out.Value, func(p *armnetwork.PublicIPAddress) *string { return p.ID })
		return false, writePage(w, r, out.Value, pipPage)
	}
	id := netID(rt, "publicIPAddresses", rt.name)
	pk := key(id)
	p, exists := s.PIPs[pk]
	switch rt.op {
	case "publicIPAddresses.get":
		if !exists {
			for _, g := range e.nodeGroups("", gk) {
				for _, mp := range g.pips() {
					if strings.EqualFold(deref(mp.Name), rt.name) {
						writeJSON(w, http.StatusOK, mp)
						return false, nil
					}
				}
			}
			return false, notFound(rt, "publicIPAddresses", rt.name)
		}
		writeJSON(w, http.StatusOK, e.pipView(p))
		return false, nil
	case "publicIPAddresses.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		if o := e.pending(pk); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(p.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		if nk := e.natUsing(pk); nk != "" {
			return false, errf(http.StatusBadRequest, "PublicIPAddressInUse", "Public IP address %s can not be deleted since it is still allocated to resource %s. In order to delete the public IP, disassociate/detach the Public IP address from the resource.", id, deref(s.NATs[nk].V.ID))
		}
		p.V.Properties.ProvisioningState = netState(stDeleting)
		o := e.startOp("azure:publicIPAddresses.delete", kindPIP, pk, true, c.Fail)
		e.writeLRO(w, r, rt, deref(p.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	case "publicIPAddresses.createOrUpdate":
	default:
		return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
	}
	var in armnetwork.PublicIPAddress
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	if !netNameRE.MatchString(rt.name) {
		return false, badParam("Public IP address name '%s' is invalid: use 1-80 letters, digits, underscores, periods and hyphens.", rt.name)
	}
	loc := normLocation(deref(in.Location))
	if loc == "" {
		return false, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	sku := armnetwork.PublicIPAddressSKUNameStandard
	if in.SKU != nil && in.SKU.Name != nil {
		sku = *in.SKU.Name
	}
	if sku != armnetwork.PublicIPAddressSKUNameStandard {
		return false, badParam("Public IP address '%s': SKU '%s' is not supported; Basic SKU public IPs are retired, use Standard.", rt.name, sku)
	}
	props := in.Properties
	if props == nil {
		props = &armnetwork.PublicIPAddressPropertiesFormat{}
	}
	alloc := armnetwork.IPAllocationMethodStatic
	if props.PublicIPAllocationMethod != nil {
		alloc = *props.PublicIPAllocationMethod
	}
	if alloc != armnetwork.IPAllocationMethodStatic {
		return false, badParam("Standard sku publicIp /subscriptions/%s/resourceGroups/%s/providers/Microsoft.Network/publicIPAddresses/%s must have AllocationMethod set to Static.", rt.sub, rt.group, rt.name)
	}
	if aerr := checkZones(in.Zones, "Public IP address "+rt.name); aerr != nil {
		return false, aerr
	}
	status, st := http.StatusCreated, stCreating
	if exists {
		if aerr := e.busy(pk, id); aerr != nil {
			return false, aerr
		}
		if loc != deref(p.V.Location) {
			return false, errf(http.StatusBadRequest, "InvalidResourceLocation", "The resource '%s' already exists in location '%s'; it cannot be moved to '%s'.", rt.name, deref(p.V.Location), loc)
		}
		if !sameZones(in.Zones, p.V.Zones) {
			return false, badParam("Public IP address %s: zones cannot be changed after creation.", rt.name)
		}
		status, st = http.StatusOK, stUpdating
		p.V.Tags, p.V.Etag = in.Tags, etag()
		if props.IdleTimeoutInMinutes != nil {
			p.V.Properties.IdleTimeoutInMinutes = props.IdleTimeoutInMinutes
		}
		p.V.Properties.DNSSettings = props.DNSSettings
		p.V.Properties.ProvisioningState = netState(st)
	} else {
		idle := props.IdleTimeoutInMinutes
		if idle == nil {
			idle = ptr[int32](4)
		}
		p = &pipRec{Group: gk, V: armnetwork.PublicIPAddress{ID: ptr(id), Name: ptr(rt.name), Type: ptr("Microsoft.Network/publicIPAddresses"),
			Location: ptr(loc), Tags: in.Tags, Zones: in.Zones, Etag: etag(),
			SKU: &armnetwork.PublicIPAddressSKU{Name: ptr(sku), Tier: ptr(armnetwork.PublicIPAddressSKUTierRegional)},
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{
				PublicIPAllocationMethod: ptr(alloc), PublicIPAddressVersion: ptr(armnetwork.IPVersionIPv4),
				IPAddress: ptr(publicIP(id)), IdleTimeoutInMinutes: idle, DNSSettings: props.DNSSettings, IPTags: []*armnetwork.IPTag{},
				ResourceGUID: ptr(uuid.NewString()), ProvisioningState: netState(st),
			}}}
		s.PIPs[pk] = p
	}
	o := e.startOp("azure:publicIPAddresses.createOrUpdate", kindPIP, pk, false, c.Fail)
	e.writeLRO(w, r, rt, loc, o, status, e.pipView(p))
	return true, nil
}

// natView adds the subnet back-references ARM reports.
func (e *Emulator) natView(n *natRec) armnetwork.NatGateway {
	out := n.V
	props := *n.V.Properties
	props.Subnets = nil
	nk := key(deref(n.V.ID))
	keys := make([]string, 0)
	for k, sn := range e.st.Subnets {
		if sn.V.Properties.NatGateway != nil && key(deref(sn.V.Properties.NatGateway.ID)) == nk {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		props.Subnets = append(props.Subnets, &armnetwork.SubResource{ID: e.st.Subnets[k].V.ID})
	}
	out.Properties = &props
	return out
}

func (e *Emulator) serveNAT(w http.ResponseWriter, r *http.Request, rt route, c emu.Call) (bool, *armErr) {
	s := e.st
	_, gk, aerr := e.groupFor(rt, rt.op == "natGateways.createOrUpdate")
	if aerr != nil {
		return false, aerr
	}
	if rt.op == "natGateways.list" {
		out := armnetwork.NatGatewayListResult{Value: []*armnetwork.NatGateway{}}
		for _, n := range sortedBy(s.NATs, func(n *natRec) string { return n.Group }, gk) {
			out.Value = append(out.Value, ptr(e.natView(n)))
		}
		return false, writePage(w, r, out.Value, natPage)
	}
	id := netID(rt, "natGateways", rt.name)
	nk := key(id)
	n, exists := s.NATs[nk]
	switch rt.op {
	case "natGateways.get":
		if !exists {
			return false, notFound(rt, "natGateways", rt.name)
		}
		writeJSON(w, http.StatusOK, e.natView(n))
		return false, nil
	case "natGateways.delete":
		if !exists {
			w.WriteHeader(http.StatusNoContent)
			return false, nil
		}
		if o := e.pending(nk); o != nil && o.Delete {
			e.writeLRO(w, r, rt, deref(n.V.Location), o, http.StatusAccepted, nil)
			return false, nil
		}
		if view := e.natView(n); len(view.Properties.Subnets) > 0 {
			return false, errf(http.StatusBadRequest, "InUseNatGatewayCannotBeDeleted", "Nat Gateway %s is in use by subnet %s and cannot be deleted. Disassociate the subnets first.", id, deref(view.Properties.Subnets[0].ID))
		}
		n.V.Properties.ProvisioningState = netState(stDeleting)
		o := e.startOp("azure:natGateways.delete", kindNAT, nk, true, c.Fail)
		e.writeLRO(w, r, rt, deref(n.V.Location), o, http.StatusAccepted, nil)
		return true, nil
	case "natGateways.createOrUpdate":
	default:
		return false, errf(http.StatusMethodNotAllowed, "MethodNotAllowed", "The requested method %s is not allowed.", r.Method)
	}
	var in armnetwork.NatGateway
	if aerr := decode(c.Body, &in); aerr != nil {
		return false, aerr
	}
	if !netNameRE.MatchString(rt.name) {
		return false, badParam("NAT gateway name '%s' is invalid: use 1-80 letters, digits, underscores, periods and hyphens.", rt.name)
	}
	loc := normLocation(deref(in.Location))
	if loc == "" {
		return false, errf(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
	}
	if in.SKU != nil && in.SKU.Name != nil && *in.SKU.Name != armnetwork.NatGatewaySKUNameStandard {
		return false, badParam("NAT gateway '%s': SKU '%s' is not supported here; use Standard.", rt.name, *in.SKU.Name)
	}
	if len(in.Zones) > 1 {
		return false, badParam("NAT gateway '%s': at most one zone may be given.", rt.name)
	}
	if aerr := checkZones(in.Zones, "NAT gateway "+rt.name); aerr != nil {
		return false, aerr
	}
	props := in.Properties
	if props == nil {
		props = &armnetwork.NatGatewayPropertiesFormat{}
	}
	for _, ref := range props.PublicIPAddresses {
		p, ok := s.PIPs[key(deref(ref.ID))]
		if !ok {
			return false, errf(http.StatusBadRequest, "InvalidResourceReference", "Resource %s referenced by resource %s was not found. Please make sure that the referenced resource exists, and that both resources are in the same region.", deref(ref.ID), id)
		}
		if other := e.natUsing(key(deref(ref.ID))); other != "" && other != nk {
			return false, errf(http.StatusBadRequest, "PublicIPAddressInUse", "Public IP address %s is already in use by %s.", deref(ref.ID), deref(s.NATs[other].V.ID))
		}
		if deref(p.V.Location) != loc {
			return false, errf(http.StatusBadRequest, "InvalidResourceReference", "Resource %s referenced by resource %s was not found in location '%s'.", deref(ref.ID), id, loc)
		}
	}
	idle := props.IdleTimeoutInMinutes
	if idle == nil {
		idle = ptr[int32](4)
	}
	status, st := http.StatusCreated, stCreating
	if exists {
		if aerr := e.busy(nk, id); aerr != nil {
			return false, aerr
		}
		if loc != deref(n.V.Location) {
			return false, errf(http.StatusBadRequest, "InvalidResourceLocation", "The resource '%s' already exists in location '%s'; it cannot be moved to '%s'.", rt.name, deref(n.V.Location), loc)
		}
		status, st = http.StatusOK, stUpdating
		n.V.Tags, n.V.Etag = in.Tags, etag()
		n.V.Properties.PublicIPAddresses = props.PublicIPAddresses
		n.V.Properties.IdleTimeoutInMinutes = idle
		n.V.Properties.ProvisioningState = netState(st)
	} else {
		n = &natRec{Group: gk, V: armnetwork.NatGateway{ID: ptr(id), Name: ptr(rt.name), Type: ptr("Microsoft.Network/natGateways"),
			Location: ptr(loc), Tags: in.Tags, Zones: in.Zones, Etag: etag(),
			SKU: &armnetwork.NatGatewaySKU{Name: ptr(armnetwork.NatGatewaySKUNameStandard)},
			Properties: &armnetwork.NatGatewayPropertiesFormat{PublicIPAddresses: props.PublicIPAddresses, IdleTimeoutInMinutes: idle,
				ResourceGUID: ptr(uuid.NewString()), ProvisioningState: netState(st)}}}
		s.NATs[nk] = n
	}
	o := e.startOp("azure:natGateways.createOrUpdate", kindNAT, nk, false, c.Fail)
	e.writeLRO(w, r, rt, loc, o, status, e.natView(n))
	return true, nil
}
