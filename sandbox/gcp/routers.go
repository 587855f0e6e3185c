package gcp

import (
	"fmt"
	"hash/fnv"
	"net/http"
	"net/netip"
	"sort"
	"time"

	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
)

// ---- routers and Cloud NAT ----

// validateRouter checks a router's network, BGP and NATs, normalizing the
// references in its NATs to full links.
func (e *Emulator) validateRouter(rt croute, r *computepb.Router, now time.Time) (network string, g *gerr) {
	if r.GetName() == "" {
		return "", required("resource.name")
	}
	if !nameRE.MatchString(r.GetName()) {
		return "", invalid("resource.name", r.GetName(), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
	}
	if r.GetNetwork() == "" {
		return "", required("resource.network")
	}
	np, _, nname, ok := ref(r.GetNetwork(), rt.project, "", "networks")
	if !ok || np != rt.project {
		return "", invalid("resource.network", r.GetNetwork(), "Expected a network of this project: projects/"+rt.project+"/global/networks/NAME.")
	}
	if _, g := e.network(np, nname, now); g != nil {
		return "", g
	}
	if asn := r.GetBgp().GetAsn(); r.GetBgp() != nil && !(asn >= 64512 && asn <= 65534) && !(asn >= 4200000000 && asn <= 4294967294) {
		return "", invalid("resource.bgp.asn", fmt.Sprint(asn), "The ASN must be a private ASN: 64512-65534 or 4200000000-4294967294.")
	}
	self := regionalPath(rt.project, rt.loc, "routers", r.GetName())
	names := map[string]bool{}
	for i, n := range r.GetNats() {
		f := fmt.Sprintf("resource.nats[%d]", i)
		if !nameRE.MatchString(n.GetName()) {
			return "", invalid(f+".name", n.GetName(), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
		}
		if names[n.GetName()] {
			return "", invalid(f+".name", n.GetName(), "NAT names must be unique within a router.")
		}
		names[n.GetName()] = true
		switch n.GetNatIpAllocateOption() {
		case "AUTO_ONLY":
			if len(n.GetNatIps()) > 0 {
				return "", invalid(f+".natIps", n.GetNatIps()[0], "natIps must be empty when natIpAllocateOption is AUTO_ONLY.")
			}
		case "MANUAL_ONLY":
			if len(n.GetNatIps()) == 0 {
				return "", required(f + ".natIps")
			}
			for j, ip := range n.GetNatIps() {
				ap, reg, an, ok := ref(ip, rt.project, rt.loc, "addresses")
				if !ok || ap != rt.project || reg != rt.loc {
					return "", invalid(fmt.Sprintf("%s.natIps[%d]", f, j), ip, "Expected an address of this project and region.")
				}
				a, g := e.address(ap, reg, an, now)
				if g != nil {
					return "", g
				}
				if a.V.V.GetAddressType() != "EXTERNAL" {
					return "", invalid(fmt.Sprintf("%s.natIps[%d]", f, j), ip, "NAT IPs must be EXTERNAL addresses.")
				}
				if user := e.addressUser(a, now); user != "" && user != computeBase+self {
					return "", inUse("address", regionalPath(ap, reg, "addresses", an), user)
				}
				n.NatIps[j] = a.V.V.GetSelfLink()
			}
		default:
			return "", invalid(f+".natIpAllocateOption", n.GetNatIpAllocateOption(), "Must be AUTO_ONLY or MANUAL_ONLY.")
		}
		switch n.GetSourceSubnetworkIpRangesToNat() {
		case "ALL_SUBNETWORKS_ALL_IP_RANGES", "ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES":
			if len(n.GetSubnetworks()) > 0 {
				return "", invalid(f+".subnetworks", "", "subnetworks must be empty unless sourceSubnetworkIpRangesToNat is LIST_OF_SUBNETWORKS.")
			}
		case "LIST_OF_SUBNETWORKS":
			if len(n.GetSubnetworks()) == 0 {
				return "", required(f + ".subnetworks")
			}
			for j, sn := range n.GetSubnetworks() {
				sp, reg, sname, ok := ref(sn.GetName(), rt.project, rt.loc, "subnetworks")
				if !ok || sp != rt.project || reg != rt.loc {
					return "", invalid(fmt.Sprintf("%s.subnetworks[%d].name", f, j), sn.GetName(), "Expected a subnetwork of this project and region.")
				}
				s, g := e.subnet(sp, reg, sname, now)
				if g != nil {
					return "", g
				}
				if s.Network != nname {
					return "", invalid(fmt.Sprintf("%s.subnetworks[%d].name", f, j), sn.GetName(), "The subnetwork is not in the router's network.")
				}
				sn.Name = proto.String(s.V.V.GetSelfLink())
			}
		default:
			return "", invalid(f+".sourceSubnetworkIpRangesToNat", n.GetSourceSubnetworkIpRangesToNat(), "Must be ALL_SUBNETWORKS_ALL_IP_RANGES, ALL_SUBNETWORKS_ALL_PRIMARY_IP_RANGES or LIST_OF_SUBNETWORKS.")
		}
	}
	return nname, nil
}

func (e *Emulator) insertRouter(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r := &computepb.Router{}
	if g := decode(c, r); g != nil {
		return nil, g, false
	}
	if r.GetName() != "" {
		if x := e.st.Routers[regKey(rt.project, rt.loc, r.GetName())]; x != nil && x.T.present(now) {
			return nil, alreadyExists(regionalPath(rt.project, rt.loc, "routers", r.GetName())), false
		}
	}
	nname, g := e.validateRouter(rt, r, now)
	if g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "routers", r.GetName())
	id := newID()
	r.Id = proto.Uint64(id)
	r.Kind = proto.String("compute#router")
	r.CreationTimestamp = proto.String(ts(now))
	r.Network = proto.String(computeBase + netPath(rt.project, nname))
	r.Region = proto.String(computeBase + "projects/" + rt.project + "/regions/" + rt.loc)
	r.SelfLink = proto.String(computeBase + path)
	op := e.startOp(rt, c, "insert", path, id, now)
	e.st.Routers[regKey(rt.project, rt.loc, r.GetName())] = &routerRec{Project: rt.project, Region: rt.loc, Network: nname, V: wrap(r), T: timing{ReadyAt: op.DoneAt, CreateFail: c.Fail}}
	return renderOp(op, now), nil, true
}

func (e *Emulator) router(project, region, name string, now time.Time) (*routerRec, *gerr) {
	r := e.st.Routers[regKey(project, region, name)]
	if r == nil || !r.T.visible(now) {
		return nil, notFound(regionalPath(project, region, "routers", name))
	}
	return r, nil
}

func (e *Emulator) getRouter(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.router(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	return clone(r.V.V), nil, false
}

func (e *Emulator) listRouters(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	base := "projects/" + rt.project + "/regions/" + rt.loc + "/routers"
	out := &computepb.RouterList{Kind: proto.String("compute#routerList"), Id: proto.String(base), SelfLink: proto.String(computeBase + base)}
	for _, r := range e.st.Routers {
		if r.Project == rt.project && r.Region == rt.loc && r.T.visible(now) {
			out.Items = append(out.Items, clone(r.V.V))
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].GetName() < out.Items[j].GetName() })
	return out, nil, false
}

// patchRouter serves routers.patch (members given replace the current
// ones) and routers.update (the body replaces the router).
func (e *Emulator) patchRouter(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	cur, g := e.router(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	in := &computepb.Router{}
	if g := decode(c, in); g != nil {
		return nil, g, false
	}
	next := clone(cur.V.V)
	if rt.method == "update" {
		next = in
		if next.Name == nil {
			next.Name = proto.String(rt.name)
		}
		if next.Network == nil {
			next.Network = cur.V.V.Network
		}
	} else {
		has := presentFields(c.Body)
		if has["bgp"] {
			next.Bgp = in.Bgp
		}
		if has["nats"] {
			next.Nats = in.Nats
		}
		if has["description"] {
			next.Description = in.Description
		}
		if has["name"] {
			next.Name = in.Name
		}
		if has["network"] {
			next.Network = in.Network
		}
		for f := range has {
			switch f {
			case "bgp", "nats", "description", "name", "network", "kind", "id", "selfLink", "region", "creationTimestamp":
			default:
				return nil, invalid("resource."+f, "", "The sandbox does not emulate this field of a router."), false
			}
		}
	}
	if next.GetName() != rt.name {
		return nil, invalid("resource.name", next.GetName(), "A router cannot be renamed."), false
	}
	nname, g := e.validateRouter(rt, next, now)
	if g != nil {
		return nil, g, false
	}
	if nname != cur.Network {
		return nil, invalid("resource.network", next.GetNetwork(), "A router's network cannot be changed."), false
	}
	path := regionalPath(rt.project, rt.loc, "routers", rt.name)
	old := cur.V.V
	next.Id, next.Kind, next.CreationTimestamp, next.SelfLink = old.Id, old.Kind, old.CreationTimestamp, old.SelfLink
	next.Network, next.Region = old.Network, old.Region
	op := e.startOp(rt, c, "patch", path, old.GetId(), now)
	if !c.Fail {
		cur.V = wrap(next)
	}
	return renderOp(op, now), nil, true
}

func (e *Emulator) deleteRouter(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	r, g := e.router(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "routers", rt.name)
	if g := checkDeletable(r.T, path, now); g != nil {
		return nil, g, false
	}
	return e.deleting(&r.T, rt, c, path, r.V.V.GetId(), now), nil, true
}

// ---- addresses ----

func (e *Emulator) address(project, region, name string, now time.Time) (*addrRec, *gerr) {
	r := e.st.Addresses[regKey(project, region, name)]
	if r == nil || !r.T.visible(now) {
		return nil, notFound(regionalPath(project, region, "addresses", name))
	}
	return r, nil
}

// addressUser is the self link of the router whose NAT uses a, or "".
func (e *Emulator) addressUser(a *addrRec, now time.Time) string {
	for _, r := range e.st.Routers {
		if r.Project != a.Project || r.Region != a.Region || !r.T.present(now) {
			continue
		}
		for _, n := range r.V.V.GetNats() {
			for _, ip := range n.GetNatIps() {
				if ip == a.V.V.GetSelfLink() {
					return r.V.V.GetSelfLink()
				}
			}
		}
	}
	return ""
}

func (e *Emulator) renderAddress(a *addrRec, now time.Time) *computepb.Address {
	out := clone(a.V.V)
	out.Status = proto.String("RESERVED")
	if u := e.addressUser(a, now); u != "" {
		out.Status = proto.String("IN_USE")
		out.Users = []string{u}
	}
	return out
}

// validateLabels applies Google Cloud's label rules (at most 64 labels;
// keys start with a lowercase letter, values may be empty; both hold up to
// 63 lowercase letters, digits, '_' or '-'), refusing with Compute's
// messages. Keys are checked in order, so the error is stable.
func validateLabels(field string, labels map[string]string) *gerr {
	if len(labels) > 64 {
		return invalid(field, "", fmt.Sprintf("Too many labels: %d were given, the maximum is 64.", len(labels)))
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !labelKey.MatchString(k) {
			return invalid(field, "", "Label key '"+k+"' violates format constraints. The key must start with a lowercase character, can only contain lowercase letters, numeric characters, underscores and dashes. The key can be at most 63 characters long. International characters are allowed.")
		}
		if v := labels[k]; !labelVal.MatchString(v) {
			return invalid(field, "", "Label value '"+v+"' violates format constraints. The value can only contain lowercase letters, numeric characters, underscores and dashes. The value can be at most 63 characters long. International characters are allowed.")
		}
	}
	return nil
}

// externalIP picks a stable-looking external address not used in the
// project and region.
func (e *Emulator) externalIP(project, region, name string) string {
	h := fnv.New32a()
	h.Write([]byte(project + "/" + region + "/" + name))
	n := h.Sum32()
	for {
		ip := netip.AddrFrom4([4]byte{34, byte(64 + n>>16%64), byte(n >> 8), byte(n%250 + 2)}).String()
		if !e.ipTaken(project, region, ip) {
			return ip
		}
		n++
	}
}

func (e *Emulator) ipTaken(project, region, ip string) bool {
	for _, a := range e.st.Addresses {
		if a.Project == project && a.Region == region && a.V.V.GetAddress() == ip {
			return true
		}
	}
	return false
}

func (e *Emulator) insertAddress(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	a := &computepb.Address{}
	if g := decode(c, a); g != nil {
		return nil, g, false
	}
	if a.GetName() == "" {
		return nil, required("resource.name"), false
	}
	if !nameRE.MatchString(a.GetName()) {
		return nil, invalid("resource.name", a.GetName(), "Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'"), false
	}
	path := regionalPath(rt.project, rt.loc, "addresses", a.GetName())
	if x := e.st.Addresses[regKey(rt.project, rt.loc, a.GetName())]; x != nil && x.T.present(now) {
		return nil, alreadyExists(path), false
	}
	if g := validateLabels("resource.labels", a.GetLabels()); g != nil {
		return nil, g, false
	}
	if a.AddressType == nil {
		a.AddressType = proto.String("EXTERNAL")
	}
	switch a.GetAddressType() {
	case "EXTERNAL":
		if a.GetSubnetwork() != "" {
			return nil, invalid("resource.subnetwork", a.GetSubnetwork(), "An EXTERNAL address cannot have a subnetwork."), false
		}
		switch a.GetNetworkTier() {
		case "":
			a.NetworkTier = proto.String("PREMIUM")
		case "PREMIUM", "STANDARD":
		default:
			return nil, invalid("resource.networkTier", a.GetNetworkTier(), "Must be PREMIUM or STANDARD."), false
		}
		if a.GetAddress() == "" {
			a.Address = proto.String(e.externalIP(rt.project, rt.loc, a.GetName()))
		} else if ip, err := netip.ParseAddr(a.GetAddress()); err != nil || !ip.Is4() {
			return nil, invalid("resource.address", a.GetAddress(), "Must be an IPv4 address."), false
		}
	case "INTERNAL":
		if a.GetSubnetwork() == "" {
			return nil, required("resource.subnetwork"), false
		}
		sp, reg, sname, ok := ref(a.GetSubnetwork(), rt.project, rt.loc, "subnetworks")
		if !ok || sp != rt.project || reg != rt.loc {
			return nil, invalid("resource.subnetwork", a.GetSubnetwork(), "Expected a subnetwork of this project and region."), false
		}
		s, g := e.subnet(sp, reg, sname, now)
		if g != nil {
			return nil, g, false
		}
		a.Subnetwork = proto.String(s.V.V.GetSelfLink())
		prefix := netip.MustParsePrefix(s.V.V.GetIpCidrRange())
		if a.GetAddress() == "" {
			// The first two and last two addresses of a range are reserved.
			for ip := prefix.Addr().Next().Next(); prefix.Contains(ip); ip = ip.Next() {
				if !e.ipTaken(rt.project, rt.loc, ip.String()) {
					a.Address = proto.String(ip.String())
					break
				}
			}
			if a.GetAddress() == "" {
				return nil, cerr(http.StatusBadRequest, "ipSpaceExhausted", "IP space of '%s' is exhausted.", s.V.V.GetSelfLink()), false
			}
		} else {
			ip, err := netip.ParseAddr(a.GetAddress())
			if err != nil || !prefix.Contains(ip) {
				return nil, invalid("resource.address", a.GetAddress(), "The address is not in the subnetwork's range "+prefix.String()+"."), false
			}
			if e.ipTaken(rt.project, rt.loc, ip.String()) {
				return nil, cerr(http.StatusConflict, "alreadyExists", "IP '%s' is already being used by another resource.", ip), false
			}
		}
		if a.Purpose == nil {
			a.Purpose = proto.String("GCE_ENDPOINT")
		}
		if a.NetworkTier != nil && a.GetNetworkTier() != "PREMIUM" {
			return nil, invalid("resource.networkTier", a.GetNetworkTier(), "INTERNAL addresses are PREMIUM tier."), false
		}
		a.NetworkTier = proto.String("PREMIUM")
	default:
		return nil, invalid("resource.addressType", a.GetAddressType(), "Must be EXTERNAL or INTERNAL."), false
	}
	id := newID()
	a.Id = proto.Uint64(id)
	a.Kind = proto.String("compute#address")
	a.CreationTimestamp = proto.String(ts(now))
	a.Region = proto.String(computeBase + "projects/" + rt.project + "/regions/" + rt.loc)
	a.SelfLink = proto.String(computeBase + path)
	a.LabelFingerprint = proto.String(fingerprint())
	a.Status = proto.String("RESERVED")
	a.Users = nil
	op := e.startOp(rt, c, "insert", path, id, now)
	e.st.Addresses[regKey(rt.project, rt.loc, a.GetName())] = &addrRec{Project: rt.project, Region: rt.loc, V: wrap(a), T: timing{ReadyAt: op.DoneAt, CreateFail: c.Fail}}
	return renderOp(op, now), nil, true
}

func (e *Emulator) getAddress(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	a, g := e.address(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	return e.renderAddress(a, now), nil, false
}

func (e *Emulator) listAddresses(rt croute, _ emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	base := "projects/" + rt.project + "/regions/" + rt.loc + "/addresses"
	out := &computepb.AddressList{Kind: proto.String("compute#addressList"), Id: proto.String(base), SelfLink: proto.String(computeBase + base)}
	for _, a := range e.st.Addresses {
		if a.Project == rt.project && a.Region == rt.loc && a.T.visible(now) {
			out.Items = append(out.Items, e.renderAddress(a, now))
		}
	}
	sort.Slice(out.Items, func(i, j int) bool { return out.Items[i].GetName() < out.Items[j].GetName() })
	return out, nil, false
}

func (e *Emulator) setAddressLabels(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	a, g := e.address(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	in := &computepb.RegionSetLabelsRequest{}
	if g := decode(c, in); g != nil {
		return nil, g, false
	}
	if in.GetLabelFingerprint() != a.V.V.GetLabelFingerprint() {
		return nil, cerr(http.StatusPreconditionFailed, "conditionNotMet", "Labels fingerprint either invalid or resource labels have changed"), false
	}
	if g := validateLabels("labels", in.GetLabels()); g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "addresses", rt.name)
	op := e.startOp(rt, c, "setLabels", path, a.V.V.GetId(), now)
	if !c.Fail {
		a.V.V.Labels = in.GetLabels()
		a.V.V.LabelFingerprint = proto.String(fingerprint())
	}
	return renderOp(op, now), nil, true
}

func (e *Emulator) deleteAddress(rt croute, c emu.Call, now time.Time) (proto.Message, *gerr, bool) {
	a, g := e.address(rt.project, rt.loc, rt.name, now)
	if g != nil {
		return nil, g, false
	}
	path := regionalPath(rt.project, rt.loc, "addresses", rt.name)
	if g := checkDeletable(a.T, path, now); g != nil {
		return nil, g, false
	}
	if u := e.addressUser(a, now); u != "" {
		return nil, inUse("address", path, u), false
	}
	return e.deleting(&a.T, rt, c, path, a.V.V.GetId(), now), nil, true
}
