package aws

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/regionctl/regionctl/sandbox/internal/emu"
	"github.com/regionctl/regionctl/sandbox/internal/wire"
)

func writeEC2Error(w http.ResponseWriter, reqID string, a *apiErr) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(a.status)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Response><Errors><Error><Code>")
	b.WriteString(xmlEscape(a.code) + "</Code><Message>" + xmlEscape(a.msg) + "</Message></Error></Errors><RequestID>")
	b.WriteString(reqID + "</RequestID></Response>")
	_, _ = w.Write([]byte(b.String())) // client went away: nothing to do
}

func xmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

// form wraps the query parameters of an ec2Query/awsQuery request.
type form url.Values

func (f form) get(k string) string { return url.Values(f).Get(k) }

// list returns K.1, K.2, … in index order.
func (f form) list(k string) []string {
	type iv struct {
		i int
		v string
	}
	var items []iv
	for key, vals := range f {
		rest, ok := strings.CutPrefix(key, k+".")
		if !ok || len(vals) == 0 {
			continue
		}
		if n, ok := atoi(rest); ok {
			items = append(items, iv{n, vals[0]})
		}
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// groups returns the sub-forms K.1.*, K.2.*, … in index order.
func (f form) groups(k string) []form {
	byIdx := map[int]form{}
	for key, vals := range f {
		rest, ok := strings.CutPrefix(key, k+".")
		if !ok {
			continue
		}
		idx, sub, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		n, ok := atoi(idx)
		if !ok {
			continue
		}
		if byIdx[n] == nil {
			byIdx[n] = form{}
		}
		byIdx[n][sub] = vals
	}
	var idxs []int
	for n := range byIdx {
		idxs = append(idxs, n)
	}
	sort.Ints(idxs)
	out := make([]form, len(idxs))
	for i, n := range idxs {
		out[i] = byIdx[n]
	}
	return out
}

func (f form) digest(skip ...string) string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keep := true
		for _, s := range skip {
			keep = keep && k != s
		}
		if keep {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%v\n", k, f[k])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func ec2Name(tags []ec2types.Tag) string {
	for _, t := range tags {
		if deref(t.Key) == "Name" {
			return deref(t.Value)
		}
	}
	return ""
}

// tagSpecs returns the tags a TagSpecification list sets on resource type rt.
func tagSpecs(f form, rt string) ([]ec2types.Tag, *apiErr) {
	var tags []ec2types.Tag
	for _, ts := range f.groups("TagSpecification") {
		if ts.get("ResourceType") != rt {
			return nil, errf(400, "InvalidParameterValue", "'%s' is not a valid taggable resource type for this operation.", ts.get("ResourceType"))
		}
		for _, t := range ts.groups("Tag") {
			tags = append(tags, ec2types.Tag{Key: ptr(t.get("Key")), Value: ptr(t.get("Value"))})
		}
	}
	if aerr := checkTags("ec2:TagSpecification", nil, ec2TagMap(tags)); aerr != nil {
		return nil, aerr
	}
	return tags, nil
}

func required(f form, keys ...string) *apiErr {
	for _, k := range keys {
		if f.get(k) == "" {
			return errf(400, "MissingParameter", "The request must contain the parameter %s", k)
		}
	}
	return nil
}

var idRE = map[string]*regexp.Regexp{}

// checkID validates an EC2 id (prefix-8 or 17 hex digits).
func checkID(id, prefix, code string) *apiErr {
	re, ok := idRE[prefix]
	if !ok {
		re = regexp.MustCompile(`^` + prefix + `-([0-9a-f]{8}|[0-9a-f]{17})$`)
		idRE[prefix] = re
	}
	if !re.MatchString(id) {
		return errf(400, code, "Invalid id: \"%s\"", id)
	}
	return nil
}

// zoneLetters are the availability-zone letters AWS offers new accounts per
// region, as providers/aws's zone table lists them (ap-northeast-1 has no b,
// us-west-1 no b). Zone ids follow the letter's position in the table.
// Regions not listed get a, b and c.
var zoneLetters = map[string]string{
	"us-east-1":      "abcdef",
	"us-east-2":      "abc",
	"us-west-1":      "ac",
	"us-west-2":      "abcd",
	"ca-central-1":   "abd",
	"sa-east-1":      "abc",
	"eu-west-1":      "abc",
	"eu-west-2":      "abc",
	"eu-west-3":      "abc",
	"eu-central-1":   "abc",
	"eu-north-1":     "abc",
	"eu-south-1":     "abc",
	"ap-south-1":     "abc",
	"ap-southeast-1": "abc",
	"ap-southeast-2": "abc",
	"ap-northeast-1": "acd",
	"ap-northeast-2": "abcd",
	"ap-northeast-3": "abc",
}

// zoneIDPrefix shortens a region for zone ids, as AWS does for the regions
// it documents (use1-az1); others drop their dashes.
var zoneIDPrefix = map[string]string{
	"us-east-1": "use1", "us-east-2": "use2", "us-west-1": "usw1", "us-west-2": "usw2",
	"ca-central-1": "cac1", "sa-east-1": "sae1",
	"eu-west-1": "euw1", "eu-west-2": "euw2", "eu-west-3": "euw3", "eu-central-1": "euc1",
	"eu-north-1": "eun1", "eu-south-1": "eus1",
	"ap-south-1": "aps1", "ap-southeast-1": "apse1", "ap-southeast-2": "apse2",
	"ap-northeast-1": "apne1", "ap-northeast-2": "apne2", "ap-northeast-3": "apne3",
}

func (e *Emulator) zones(region string) []ec2types.AvailabilityZone {
	short := zoneIDPrefix[region]
	if short == "" {
		short = strings.ReplaceAll(region, "-", "")
	}
	letters := zoneLetters[region]
	if letters == "" {
		letters = "abc"
	}
	var out []ec2types.AvailabilityZone
	for i, l := range letters {
		out = append(out, ec2types.AvailabilityZone{
			ZoneName: ptr(region + string(l)), ZoneId: ptr(fmt.Sprintf("%s-az%d", short, i+1)), RegionName: ptr(region),
			State: ec2types.AvailabilityZoneStateAvailable, ZoneType: ptr("availability-zone"),
			OptInStatus: ec2types.AvailabilityZoneOptInStatusOptInNotRequired, GroupName: ptr(region + "-zg-1"),
			NetworkBorderGroup: ptr(region), Messages: []ec2types.AvailabilityZoneMessage{},
		})
	}
	return out
}

func (e *Emulator) serveEC2(w http.ResponseWriter, f form, region string, c emu.Call, reqID string) bool {
	op := strings.TrimPrefix(c.Op, "ec2:")
	out, changed, aerr := e.ec2Op(op, f, region, c)
	if aerr != nil {
		writeEC2Error(w, reqID, aerr)
		return changed
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = w.Write(wire.MarshalEC2(op, out, reqID))
	return changed
}

// filterFn returns the values a resource has for a filter name, and whether
// the name is known.
type filterFn func(name string) ([]string, bool)

func tagFilter(tags []ec2types.Tag, name string) ([]string, bool) {
	if k, ok := strings.CutPrefix(name, "tag:"); ok {
		for _, t := range tags {
			if deref(t.Key) == k {
				return []string{deref(t.Value)}, true
			}
		}
		return nil, true
	}
	if name == "tag-key" {
		var ks []string
		for _, t := range tags {
			ks = append(ks, deref(t.Key))
		}
		return ks, true
	}
	return nil, false
}

// matchFilters applies Filter.N to one resource.
func matchFilters(filters []form, fn filterFn) (bool, *apiErr) {
	for _, fl := range filters {
		name := fl.get("Name")
		have, ok := fn(name)
		if !ok {
			return false, errf(400, "InvalidParameterValue", "The filter '%s' is invalid", name)
		}
		want := fl.list("Value")
		hit := false
		for _, h := range have {
			for _, v := range want {
				if globMatch(v, h) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// globMatch matches EC2 filter values, where * and ? are wildcards.
func globMatch(pattern, s string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == s
	}
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	ok, _ := regexp.MatchString(re, s)
	return ok
}

func values(vs ...*string) []string {
	var out []string
	for _, v := range vs {
		if v != nil {
			out = append(out, *v)
		}
	}
	return out
}

func (e *Emulator) settleEC2() bool {
	changed := false
	for id, n := range e.st.NATs {
		switch {
		case n.V.State == ec2types.NatGatewayStatePending && e.due(n.ReadyAt):
			changed = true
			if n.Fail {
				n.V.State = ec2types.NatGatewayStateFailed
				n.V.FailureCode = ptr("InternalError")
				n.V.FailureMessage = ptr("Internal error occurred while creating NAT gateway. Please try again.")
				n.V.NatGatewayAddresses = nil
				n.PurgeAt = n.ReadyAt.Add(time.Hour)
				continue
			}
			n.V.State = ec2types.NatGatewayStateAvailable
			for i := range n.V.NatGatewayAddresses {
				a := &n.V.NatGatewayAddresses[i]
				a.Status = ec2types.NatGatewayAddressStatusSucceeded
				if ad, ok := e.st.Addresses[deref(a.AllocationId)]; ok {
					ad.V.AssociationId = ptr(hexID("eipassoc"))
					ad.V.NetworkInterfaceId = a.NetworkInterfaceId
					ad.V.PrivateIpAddress = a.PrivateIp
				}
			}
		case n.V.State == ec2types.NatGatewayStateDeleting && e.due(n.ReadyAt):
			changed = true
			n.V.State = ec2types.NatGatewayStateDeleted
			n.V.DeleteTime = ptr(n.ReadyAt)
			for _, a := range n.V.NatGatewayAddresses {
				if ad, ok := e.st.Addresses[deref(a.AllocationId)]; ok {
					ad.V.AssociationId, ad.V.NetworkInterfaceId, ad.V.PrivateIpAddress = nil, nil, nil
				}
			}
			n.PurgeAt = n.ReadyAt.Add(time.Hour)
		case !n.PurgeAt.IsZero() && e.due(n.PurgeAt):
			changed = true
			delete(e.st.NATs, id)
		}
	}
	return changed
}

func (e *Emulator) ec2Op(op string, f form, region string, c emu.Call) (out any, changed bool, aerr *apiErr) {
	s := e.st
	now := e.env.Now().UTC()
	switch op {
	case "DescribeAvailabilityZones":
		var zs []ec2types.AvailabilityZone
		names := f.list("ZoneName")
		for _, z := range e.zones(region) {
			if len(names) > 0 && !contains(names, deref(z.ZoneName)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "zone-name":
					return values(z.ZoneName), true
				case "zone-id":
					return values(z.ZoneId), true
				case "state":
					return []string{string(z.State)}, true
				case "region-name":
					return values(z.RegionName), true
				}
				return nil, false
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				zs = append(zs, z)
			}
		}
		for _, n := range names {
			if !containsZone(zs, n) {
				return nil, false, errf(400, "InvalidParameterValue", "The zone '%s' does not exist.", n)
			}
		}
		return &ec2.DescribeAvailabilityZonesOutput{AvailabilityZones: zs}, false, nil

	case "CreateVpc":
		if aerr := required(f, "CidrBlock"); aerr != nil {
			return nil, false, aerr
		}
		p, err := netip.ParsePrefix(f.get("CidrBlock"))
		if err != nil || !p.Addr().Is4() || p.Masked() != p {
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", f.get("CidrBlock"))
		}
		if p.Bits() < 16 || p.Bits() > 28 {
			return nil, false, errf(400, "InvalidVpc.Range", "The CIDR '%s' is invalid.", f.get("CidrBlock"))
		}
		tags, aerr := tagSpecs(f, "vpc")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("vpc")
		v := ec2types.Vpc{
			VpcId: ptr(id), CidrBlock: ptr(p.String()), State: ec2types.VpcStatePending, OwnerId: ptr(e.acct),
			DhcpOptionsId: ptr("dopt-0a1b2c3d4e5f60718"), InstanceTenancy: ec2types.TenancyDefault, IsDefault: ptr(false),
			CidrBlockAssociationSet: []ec2types.VpcCidrBlockAssociation{{AssociationId: ptr(hexID("vpc-cidr-assoc")), CidrBlock: ptr(p.String()),
				CidrBlockState: &ec2types.VpcCidrBlockState{State: ec2types.VpcCidrBlockStateCodeAssociated}}},
			Tags: tags,
		}
		s.Vpcs[id] = &vpcRec{Region: region, V: v, DNSSupport: true}
		// A VPC comes with a main route table and a default security group.
		rtb := hexID("rtb")
		s.RouteTables[rtb] = &rtbRec{Region: region, V: ec2types.RouteTable{
			RouteTableId: ptr(rtb), VpcId: ptr(id), OwnerId: ptr(e.acct),
			Routes:       []ec2types.Route{{DestinationCidrBlock: ptr(p.String()), GatewayId: ptr("local"), State: ec2types.RouteStateActive, Origin: ec2types.RouteOriginCreateRouteTable}},
			Associations: []ec2types.RouteTableAssociation{{Main: ptr(true), RouteTableAssociationId: ptr(hexID("rtbassoc")), RouteTableId: ptr(rtb), AssociationState: &ec2types.RouteTableAssociationState{State: ec2types.RouteTableAssociationStateCodeAssociated}}},
			Tags:         []ec2types.Tag{}, PropagatingVgws: []ec2types.PropagatingVgw{},
		}}
		sg := hexID("sg")
		s.SGs[sg] = &sgRec{Region: region, V: ec2types.SecurityGroup{
			GroupId: ptr(sg), GroupName: ptr("default"), Description: ptr("default VPC security group"), VpcId: ptr(id), OwnerId: ptr(e.acct),
			IpPermissions:       []ec2types.IpPermission{{IpProtocol: ptr("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: ptr(sg), UserId: ptr(e.acct)}}}},
			IpPermissionsEgress: []ec2types.IpPermission{allEgress()},
			SecurityGroupArn:    ptr(fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, e.acct, sg)),
		}}
		out := &ec2.CreateVpcOutput{Vpc: ptr(v)}
		s.Vpcs[id].V.State = ec2types.VpcStateAvailable // pending only in the create reply, as in EC2
		return out, true, nil

	case "DescribeVpcs":
		ids := f.list("VpcId")
		var vs []ec2types.Vpc
		for _, id := range ids {
			if v, ok := s.Vpcs[id]; !ok || v.Region != region {
				return nil, false, errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
			}
		}
		for _, id := range sortedKeys(s.Vpcs) {
			v := s.Vpcs[id]
			if v.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "vpc-id":
					return []string{id}, true
				case "cidr", "cidr-block", "cidr-block-association.cidr-block":
					return values(v.V.CidrBlock), true
				case "state":
					return []string{string(v.V.State)}, true
				case "is-default":
					return []string{"false"}, true
				case "owner-id":
					return []string{e.acct}, true
				}
				return tagFilter(v.V.Tags, n)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				vs = append(vs, v.V)
			}
		}
		return &ec2.DescribeVpcsOutput{Vpcs: vs}, false, nil

	case "DescribeVpcAttribute":
		v, aerr := e.vpc(f.get("VpcId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		o := &ec2.DescribeVpcAttributeOutput{VpcId: v.V.VpcId}
		switch f.get("Attribute") {
		case "enableDnsSupport":
			o.EnableDnsSupport = &ec2types.AttributeBooleanValue{Value: ptr(v.DNSSupport)}
		case "enableDnsHostnames":
			o.EnableDnsHostnames = &ec2types.AttributeBooleanValue{Value: ptr(v.DNSHostnames)}
		default:
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter attribute is invalid. Unknown attribute.", f.get("Attribute"))
		}
		return o, false, nil

	case "ModifyVpcAttribute":
		v, aerr := e.vpc(f.get("VpcId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		sup, host := f.get("EnableDnsSupport.Value"), f.get("EnableDnsHostnames.Value")
		if (sup == "") == (host == "") {
			return nil, false, errf(400, "InvalidParameterCombination", "Exactly one attribute may be modified at a time.")
		}
		if sup != "" {
			v.DNSSupport = sup == "true"
		}
		if host != "" {
			if host == "true" && !v.DNSSupport {
				return nil, false, errf(400, "InvalidParameterValue", "Cannot enable DNS hostnames without DNS support.")
			}
			v.DNSHostnames = host == "true"
		}
		return &ec2.ModifyVpcAttributeOutput{}, true, nil

	case "DeleteVpc":
		id := f.get("VpcId")
		if _, aerr := e.vpc(id, region); aerr != nil {
			return nil, false, aerr
		}
		dep := func() bool {
			for _, sn := range s.Subnets {
				if deref(sn.V.VpcId) == id {
					return true
				}
			}
			for _, g := range s.IGWs {
				for _, a := range g.V.Attachments {
					if deref(a.VpcId) == id {
						return true
					}
				}
			}
			for _, g := range s.SGs {
				if deref(g.V.VpcId) == id && deref(g.V.GroupName) != "default" {
					return true
				}
			}
			for _, r := range s.RouteTables {
				if deref(r.V.VpcId) == id && !isMain(r.V) {
					return true
				}
			}
			return false
		}
		if dep() {
			return nil, false, errf(400, "DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", id)
		}
		for k, r := range s.RouteTables {
			if deref(r.V.VpcId) == id {
				delete(s.RouteTables, k)
			}
		}
		for k, g := range s.SGs {
			if deref(g.V.VpcId) == id {
				delete(s.SGs, k)
			}
		}
		delete(s.Vpcs, id)
		return &ec2.DeleteVpcOutput{}, true, nil

	case "CreateSubnet":
		if aerr := required(f, "VpcId", "CidrBlock"); aerr != nil {
			return nil, false, aerr
		}
		v, aerr := e.vpc(f.get("VpcId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		p, err := netip.ParsePrefix(f.get("CidrBlock"))
		if err != nil || !p.Addr().Is4() || p.Masked() != p {
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", f.get("CidrBlock"))
		}
		vp := netip.MustParsePrefix(deref(v.V.CidrBlock))
		if p.Bits() < vp.Bits() || !vp.Contains(p.Addr()) || p.Bits() > 28 {
			return nil, false, errf(400, "InvalidSubnet.Range", "The CIDR '%s' is invalid.", p)
		}
		for _, sn := range s.Subnets {
			if deref(sn.V.VpcId) == deref(v.V.VpcId) && netip.MustParsePrefix(deref(sn.V.CidrBlock)).Overlaps(p) {
				return nil, false, errf(400, "InvalidSubnet.Conflict", "The CIDR '%s' conflicts with another subnet", p)
			}
		}
		az := f.get("AvailabilityZone")
		zs := e.zones(region)
		var zone *ec2types.AvailabilityZone
		for i := range zs {
			if az == "" || deref(zs[i].ZoneName) == az || deref(zs[i].ZoneId) == f.get("AvailabilityZoneId") && az == "" {
				zone = &zs[i]
				break
			}
		}
		if zone == nil {
			var names []string
			for _, z := range zs {
				names = append(names, deref(z.ZoneName))
			}
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: %s.", az, strings.Join(names, ", "))
		}
		tags, aerr := tagSpecs(f, "subnet")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("subnet")
		sn := ec2types.Subnet{
			SubnetId: ptr(id), VpcId: v.V.VpcId, CidrBlock: ptr(p.String()), AvailabilityZone: zone.ZoneName, AvailabilityZoneId: zone.ZoneId,
			AvailableIpAddressCount: ptr(int32(1<<(32-p.Bits()) - 5)), State: ec2types.SubnetStateAvailable, OwnerId: ptr(e.acct),
			SubnetArn:    ptr(fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", region, e.acct, id)),
			DefaultForAz: ptr(false), MapPublicIpOnLaunch: ptr(false), AssignIpv6AddressOnCreation: ptr(false), Ipv6Native: ptr(false),
			Ipv6CidrBlockAssociationSet: []ec2types.SubnetIpv6CidrBlockAssociation{}, Tags: tags,
		}
		s.Subnets[id] = &subnetRec{Region: region, V: sn}
		return &ec2.CreateSubnetOutput{Subnet: ptr(sn)}, true, nil

	case "DescribeSubnets":
		ids := f.list("SubnetId")
		for _, id := range ids {
			if sn, ok := s.Subnets[id]; !ok || sn.Region != region {
				return nil, false, errf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
			}
		}
		var out []ec2types.Subnet
		for _, id := range sortedKeys(s.Subnets) {
			sn := s.Subnets[id]
			if sn.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "subnet-id":
					return []string{id}, true
				case "vpc-id":
					return values(sn.V.VpcId), true
				case "availability-zone":
					return values(sn.V.AvailabilityZone), true
				case "availability-zone-id":
					return values(sn.V.AvailabilityZoneId), true
				case "cidr-block", "cidr":
					return values(sn.V.CidrBlock), true
				case "state":
					return []string{string(sn.V.State)}, true
				}
				return tagFilter(sn.V.Tags, n)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				out = append(out, sn.V)
			}
		}
		return &ec2.DescribeSubnetsOutput{Subnets: out}, false, nil

	case "DeleteSubnet":
		id := f.get("SubnetId")
		if _, aerr := e.subnet(id, region); aerr != nil {
			return nil, false, aerr
		}
		for _, n := range s.NATs {
			if deref(n.V.SubnetId) == id && n.V.State != ec2types.NatGatewayStateDeleted && n.V.State != ec2types.NatGatewayStateFailed {
				return nil, false, errf(400, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", id)
			}
		}
		for _, cl := range s.Clusters {
			if contains(cl.V.ResourcesVpcConfig.SubnetIds, id) {
				return nil, false, errf(400, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", id)
			}
			for _, ng := range cl.Nodegroups {
				if contains(ng.V.Subnets, id) {
					return nil, false, errf(400, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", id)
				}
			}
		}
		for _, r := range s.RouteTables {
			kept := r.V.Associations[:0]
			for _, a := range r.V.Associations {
				if deref(a.SubnetId) != id {
					kept = append(kept, a)
				}
			}
			r.V.Associations = kept
		}
		delete(s.Subnets, id)
		return &ec2.DeleteSubnetOutput{}, true, nil

	case "CreateInternetGateway":
		tags, aerr := tagSpecs(f, "internet-gateway")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("igw")
		g := ec2types.InternetGateway{InternetGatewayId: ptr(id), OwnerId: ptr(e.acct), Attachments: []ec2types.InternetGatewayAttachment{}, Tags: tags}
		s.IGWs[id] = &igwRec{Region: region, V: g}
		return &ec2.CreateInternetGatewayOutput{InternetGateway: ptr(g)}, true, nil

	case "AttachInternetGateway":
		g, aerr := e.igw(f.get("InternetGatewayId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		v, aerr := e.vpc(f.get("VpcId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if len(g.V.Attachments) > 0 {
			return nil, false, errf(400, "Resource.AlreadyAssociated", "resource %s is already attached to network %s", deref(g.V.InternetGatewayId), deref(g.V.Attachments[0].VpcId))
		}
		for _, o := range s.IGWs {
			for _, a := range o.V.Attachments {
				if deref(a.VpcId) == deref(v.V.VpcId) {
					return nil, false, errf(400, "Resource.AlreadyAssociated", "Network %s already has an internet gateway attached", deref(v.V.VpcId))
				}
			}
		}
		g.V.Attachments = []ec2types.InternetGatewayAttachment{{VpcId: v.V.VpcId, State: ec2types.AttachmentStatus("available")}}
		return &ec2.AttachInternetGatewayOutput{}, true, nil

	case "DetachInternetGateway":
		g, aerr := e.igw(f.get("InternetGatewayId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if len(g.V.Attachments) == 0 || deref(g.V.Attachments[0].VpcId) != f.get("VpcId") {
			return nil, false, errf(400, "Gateway.NotAttached", "resource %s is not attached to network %s", f.get("InternetGatewayId"), f.get("VpcId"))
		}
		g.V.Attachments = []ec2types.InternetGatewayAttachment{}
		return &ec2.DetachInternetGatewayOutput{}, true, nil

	case "DeleteInternetGateway":
		g, aerr := e.igw(f.get("InternetGatewayId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if len(g.V.Attachments) > 0 {
			return nil, false, errf(400, "DependencyViolation", "The internetGateway '%s' has dependencies and cannot be deleted.", f.get("InternetGatewayId"))
		}
		delete(s.IGWs, f.get("InternetGatewayId"))
		return &ec2.DeleteInternetGatewayOutput{}, true, nil

	case "DescribeInternetGateways":
		ids := f.list("InternetGatewayId")
		for _, id := range ids {
			if g, ok := s.IGWs[id]; !ok || g.Region != region {
				return nil, false, errf(400, "InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", id)
			}
		}
		var out []ec2types.InternetGateway
		for _, id := range sortedKeys(s.IGWs) {
			g := s.IGWs[id]
			if g.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "internet-gateway-id":
					return []string{id}, true
				case "attachment.vpc-id":
					var vs []string
					for _, a := range g.V.Attachments {
						vs = append(vs, deref(a.VpcId))
					}
					return vs, true
				}
				return tagFilter(g.V.Tags, n)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				out = append(out, g.V)
			}
		}
		return &ec2.DescribeInternetGatewaysOutput{InternetGateways: out}, false, nil

	case "AllocateAddress":
		if d := f.get("Domain"); d != "" && d != "vpc" {
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter domain is invalid.", d)
		}
		tags, aerr := tagSpecs(f, "elastic-ip")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("eipalloc")
		ip := fmt.Sprintf("198.51.100.%d", 1+rand.IntN(254))
		a := ec2types.Address{AllocationId: ptr(id), PublicIp: ptr(ip), Domain: ec2types.DomainTypeVpc, PublicIpv4Pool: ptr("amazon"), NetworkBorderGroup: ptr(region), Tags: tags}
		s.Addresses[id] = &addrRec{Region: region, V: a}
		return &ec2.AllocateAddressOutput{AllocationId: ptr(id), PublicIp: ptr(ip), Domain: ec2types.DomainTypeVpc, PublicIpv4Pool: ptr("amazon"), NetworkBorderGroup: ptr(region)}, true, nil

	case "DescribeAddresses":
		ids := f.list("AllocationId")
		for _, id := range ids {
			if a, ok := s.Addresses[id]; !ok || a.Region != region {
				return nil, false, errf(400, "InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
			}
		}
		var out []ec2types.Address
		for _, id := range sortedKeys(s.Addresses) {
			a := s.Addresses[id]
			if a.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "allocation-id":
					return []string{id}, true
				case "domain":
					return []string{string(a.V.Domain)}, true
				case "public-ip":
					return values(a.V.PublicIp), true
				case "association-id":
					return values(a.V.AssociationId), true
				}
				return tagFilter(a.V.Tags, n)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				out = append(out, a.V)
			}
		}
		return &ec2.DescribeAddressesOutput{Addresses: out}, false, nil

	case "ReleaseAddress":
		id := f.get("AllocationId")
		if aerr := required(f, "AllocationId"); aerr != nil {
			return nil, false, aerr
		}
		a, ok := s.Addresses[id]
		if !ok || a.Region != region {
			return nil, false, errf(400, "InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
		}
		if a.V.AssociationId != nil || e.natUsing(id) != "" {
			return nil, false, errf(400, "InvalidIPAddress.InUse", "Address %s is in use.", deref(a.V.PublicIp))
		}
		delete(s.Addresses, id)
		return &ec2.ReleaseAddressOutput{}, true, nil

	case "CreateNatGateway":
		if aerr := required(f, "SubnetId"); aerr != nil {
			return nil, false, aerr
		}
		if tok := f.get("ClientToken"); tok != "" {
			if t, ok := s.Tokens["ec2:CreateNatGateway:"+tok]; ok {
				if t.Digest != f.digest("ClientToken") {
					return nil, false, errf(400, "IdempotentParameterMismatch", "Client token %s was used with different parameters.", tok)
				}
				if n, ok := s.NATs[t.ID]; ok {
					return &ec2.CreateNatGatewayOutput{NatGateway: ptr(n.V), ClientToken: ptr(tok)}, false, nil
				}
			}
		}
		sn, aerr := e.subnet(f.get("SubnetId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		conn := f.get("ConnectivityType")
		if conn == "" {
			conn = "public"
		}
		alloc := f.get("AllocationId")
		var addrs []ec2types.NatGatewayAddress
		privIP := fmt.Sprintf("%s", netip.MustParsePrefix(deref(sn.V.CidrBlock)).Addr().Next().Next().Next().Next().Next())
		eni := hexID("eni")
		if conn == "public" {
			if alloc == "" {
				return nil, false, errf(400, "MissingParameter", "The request must contain the parameter AllocationId")
			}
			a, ok := s.Addresses[alloc]
			if !ok || a.Region != region {
				return nil, false, errf(400, "InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", alloc)
			}
			if other := e.natUsing(alloc); other != "" || a.V.AssociationId != nil {
				return nil, false, errf(400, "Resource.AlreadyAssociated", "Elastic IP address [%s] is already associated", alloc)
			}
			addrs = append(addrs, ec2types.NatGatewayAddress{AllocationId: ptr(alloc), PublicIp: a.V.PublicIp, PrivateIp: ptr(privIP),
				NetworkInterfaceId: ptr(eni), IsPrimary: ptr(true), Status: ec2types.NatGatewayAddressStatusAssociating})
		} else {
			addrs = append(addrs, ec2types.NatGatewayAddress{PrivateIp: ptr(privIP), NetworkInterfaceId: ptr(eni), IsPrimary: ptr(true), Status: ec2types.NatGatewayAddressStatusSucceeded})
		}
		tags, aerr := tagSpecs(f, "natgateway")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("nat")
		n := ec2types.NatGateway{NatGatewayId: ptr(id), SubnetId: sn.V.SubnetId, VpcId: sn.V.VpcId, State: ec2types.NatGatewayStatePending,
			ConnectivityType: ec2types.ConnectivityType(conn), CreateTime: ptr(now), NatGatewayAddresses: addrs, Tags: tags}
		s.NATs[id] = &natRec{Region: region, V: n, ReadyAt: e.after("ec2:CreateNatGateway"), Fail: c.Fail}
		tok := f.get("ClientToken")
		if tok != "" {
			s.Tokens["ec2:CreateNatGateway:"+tok] = tokenRec{ID: id, Digest: f.digest("ClientToken")}
		}
		return &ec2.CreateNatGatewayOutput{NatGateway: ptr(n), ClientToken: optional(tok)}, true, nil

	case "DescribeNatGateways":
		ids := f.list("NatGatewayId")
		for _, id := range ids {
			if n, ok := s.NATs[id]; !ok || n.Region != region {
				return nil, false, errf(400, "NatGatewayNotFound", "The Nat Gateway %s was not found", id)
			}
		}
		var out []ec2types.NatGateway
		for _, id := range sortedKeys(s.NATs) {
			n := s.NATs[id]
			if n.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(name string) ([]string, bool) {
				switch name {
				case "nat-gateway-id":
					return []string{id}, true
				case "state":
					return []string{string(n.V.State)}, true
				case "subnet-id":
					return values(n.V.SubnetId), true
				case "vpc-id":
					return values(n.V.VpcId), true
				}
				return tagFilter(n.V.Tags, name)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				out = append(out, n.V)
			}
		}
		return &ec2.DescribeNatGatewaysOutput{NatGateways: out}, false, nil

	case "DeleteNatGateway":
		id := f.get("NatGatewayId")
		if aerr := checkID(id, "nat", "InvalidParameter"); aerr != nil {
			return nil, false, aerr
		}
		n, ok := s.NATs[id]
		if !ok || n.Region != region || n.V.State == ec2types.NatGatewayStateDeleted {
			return nil, false, errf(400, "NatGatewayNotFound", "The Nat Gateway %s was not found", id)
		}
		if n.V.State != ec2types.NatGatewayStateDeleting {
			n.V.State = ec2types.NatGatewayStateDeleting
			n.ReadyAt = e.after("ec2:DeleteNatGateway")
		}
		return &ec2.DeleteNatGatewayOutput{NatGatewayId: ptr(id)}, true, nil

	case "CreateRouteTable":
		v, aerr := e.vpc(f.get("VpcId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		tok := f.get("ClientToken")
		if tok != "" {
			if t, ok := s.Tokens["ec2:CreateRouteTable:"+tok]; ok {
				if t.Digest != f.digest("ClientToken") {
					return nil, false, errf(400, "IdempotentParameterMismatch", "Client token %s was used with different parameters.", tok)
				}
				if r, ok := s.RouteTables[t.ID]; ok {
					return &ec2.CreateRouteTableOutput{RouteTable: ptr(r.V), ClientToken: ptr(tok)}, false, nil
				}
			}
		}
		tags, aerr := tagSpecs(f, "route-table")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("rtb")
		r := ec2types.RouteTable{RouteTableId: ptr(id), VpcId: v.V.VpcId, OwnerId: ptr(e.acct),
			Routes:       []ec2types.Route{{DestinationCidrBlock: v.V.CidrBlock, GatewayId: ptr("local"), State: ec2types.RouteStateActive, Origin: ec2types.RouteOriginCreateRouteTable}},
			Associations: []ec2types.RouteTableAssociation{}, PropagatingVgws: []ec2types.PropagatingVgw{}, Tags: tags}
		s.RouteTables[id] = &rtbRec{Region: region, V: r}
		if tok != "" {
			s.Tokens["ec2:CreateRouteTable:"+tok] = tokenRec{ID: id, Digest: f.digest("ClientToken")}
		}
		return &ec2.CreateRouteTableOutput{RouteTable: ptr(r), ClientToken: optional(tok)}, true, nil

	case "CreateRoute":
		r, aerr := e.rtb(f.get("RouteTableId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if aerr := required(f, "DestinationCidrBlock"); aerr != nil {
			return nil, false, aerr
		}
		dst := f.get("DestinationCidrBlock")
		if _, err := netip.ParsePrefix(dst); err != nil {
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", dst)
		}
		route, aerr := e.routeTarget(f, r, region)
		if aerr != nil {
			return nil, false, aerr
		}
		route.DestinationCidrBlock = ptr(dst)
		for _, x := range r.V.Routes {
			if deref(x.DestinationCidrBlock) == dst {
				return nil, false, errf(400, "RouteAlreadyExists", "The route identified by %s already exists.", dst)
			}
		}
		r.V.Routes = append(r.V.Routes, route)
		return &ec2.CreateRouteOutput{Return: ptr(true)}, true, nil

	case "ReplaceRoute":
		r, aerr := e.rtb(f.get("RouteTableId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if aerr := required(f, "DestinationCidrBlock"); aerr != nil {
			return nil, false, aerr
		}
		dst := f.get("DestinationCidrBlock")
		if _, err := netip.ParsePrefix(dst); err != nil {
			return nil, false, errf(400, "InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", dst)
		}
		i := slices.IndexFunc(r.V.Routes, func(x ec2types.Route) bool { return deref(x.DestinationCidrBlock) == dst })
		if i < 0 {
			return nil, false, errf(400, "InvalidRoute.NotFound", "There is no route defined for '%s' in the route table. Use CreateRoute instead.", dst)
		}
		if r.V.Routes[i].Origin == ec2types.RouteOriginCreateRouteTable {
			return nil, false, errf(400, "InvalidParameterValue", "cannot replace local route %s in route table %s", dst, deref(r.V.RouteTableId))
		}
		route, aerr := e.routeTarget(f, r, region)
		if aerr != nil {
			return nil, false, aerr
		}
		route.DestinationCidrBlock = ptr(dst)
		r.V.Routes[i] = route
		return &ec2.ReplaceRouteOutput{}, true, nil

	case "AssociateRouteTable":
		r, aerr := e.rtb(f.get("RouteTableId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		sn, aerr := e.subnet(f.get("SubnetId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if deref(sn.V.VpcId) != deref(r.V.VpcId) {
			return nil, false, errf(400, "InvalidParameterValue", "Route table %s and subnet %s belong to different networks", deref(r.V.RouteTableId), deref(sn.V.SubnetId))
		}
		for _, o := range s.RouteTables {
			for _, a := range o.V.Associations {
				if deref(a.SubnetId) == deref(sn.V.SubnetId) {
					return nil, false, errf(400, "Resource.AlreadyAssociated", "the specified association for route table %s conflicts with an existing association", deref(o.V.RouteTableId))
				}
			}
		}
		aid := hexID("rtbassoc")
		st := &ec2types.RouteTableAssociationState{State: ec2types.RouteTableAssociationStateCodeAssociated}
		r.V.Associations = append(r.V.Associations, ec2types.RouteTableAssociation{RouteTableAssociationId: ptr(aid), RouteTableId: r.V.RouteTableId,
			SubnetId: sn.V.SubnetId, Main: ptr(false), AssociationState: st})
		return &ec2.AssociateRouteTableOutput{AssociationId: ptr(aid), AssociationState: st}, true, nil

	case "DisassociateRouteTable":
		aid := f.get("AssociationId")
		for _, r := range s.RouteTables {
			for i, a := range r.V.Associations {
				if deref(a.RouteTableAssociationId) == aid && r.Region == region {
					if deref(a.Main) {
						return nil, false, errf(400, "InvalidParameterValue", "cannot disassociate the main route table association %s", aid)
					}
					r.V.Associations = append(r.V.Associations[:i], r.V.Associations[i+1:]...)
					return &ec2.DisassociateRouteTableOutput{}, true, nil
				}
			}
		}
		return nil, false, errf(400, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", aid)

	case "DescribeRouteTables":
		ids := f.list("RouteTableId")
		for _, id := range ids {
			if r, ok := s.RouteTables[id]; !ok || r.Region != region {
				return nil, false, errf(400, "InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
			}
		}
		var out []ec2types.RouteTable
		for _, id := range sortedKeys(s.RouteTables) {
			r := s.RouteTables[id]
			if r.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "route-table-id":
					return []string{id}, true
				case "vpc-id":
					return values(r.V.VpcId), true
				case "association.subnet-id":
					var vs []string
					for _, a := range r.V.Associations {
						vs = append(vs, values(a.SubnetId)...)
					}
					return vs, true
				case "association.main":
					return []string{strconv.FormatBool(isMain(r.V))}, true
				}
				return tagFilter(r.V.Tags, n)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				out = append(out, r.V)
			}
		}
		return &ec2.DescribeRouteTablesOutput{RouteTables: out}, false, nil

	case "DeleteRouteTable":
		r, aerr := e.rtb(f.get("RouteTableId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		if len(r.V.Associations) > 0 {
			return nil, false, errf(400, "DependencyViolation", "The routeTable '%s' has dependencies and cannot be deleted.", deref(r.V.RouteTableId))
		}
		delete(s.RouteTables, deref(r.V.RouteTableId))
		return &ec2.DeleteRouteTableOutput{}, true, nil

	case "CreateSecurityGroup":
		if aerr := required(f, "GroupName", "GroupDescription"); aerr != nil {
			return nil, false, aerr
		}
		v, aerr := e.vpc(f.get("VpcId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		name := f.get("GroupName")
		if name == "default" {
			return nil, false, errf(400, "InvalidGroup.Reserved", "The security group 'default' is reserved")
		}
		for _, g := range s.SGs {
			if deref(g.V.VpcId) == deref(v.V.VpcId) && deref(g.V.GroupName) == name {
				return nil, false, errf(400, "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, deref(v.V.VpcId))
			}
		}
		tags, aerr := tagSpecs(f, "security-group")
		if aerr != nil {
			return nil, false, aerr
		}
		id := hexID("sg")
		s.SGs[id] = &sgRec{Region: region, V: ec2types.SecurityGroup{GroupId: ptr(id), GroupName: ptr(name), Description: ptr(f.get("GroupDescription")),
			VpcId: v.V.VpcId, OwnerId: ptr(e.acct), IpPermissions: []ec2types.IpPermission{}, IpPermissionsEgress: []ec2types.IpPermission{allEgress()},
			SecurityGroupArn: ptr(fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, e.acct, id)), Tags: tags}}
		return &ec2.CreateSecurityGroupOutput{GroupId: ptr(id), SecurityGroupArn: s.SGs[id].V.SecurityGroupArn, Tags: tags}, true, nil

	case "AuthorizeSecurityGroupIngress":
		g, aerr := e.sg(f.get("GroupId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		perms, aerr := e.parsePerms(f, region)
		if aerr != nil {
			return nil, false, aerr
		}
		var rules []ec2types.SecurityGroupRule
		for _, p := range perms {
			for _, have := range g.V.IpPermissions {
				if samePerm(have, p) {
					return nil, false, errf(400, "InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, ALLOW\" already exists", permPeer(p), deref(p.IpProtocol))
				}
			}
			rules = append(rules, ec2types.SecurityGroupRule{SecurityGroupRuleId: ptr(hexID("sgr")), GroupId: g.V.GroupId, GroupOwnerId: ptr(e.acct),
				IsEgress: ptr(false), IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, CidrIpv4: firstCidr(p)})
		}
		g.V.IpPermissions = append(g.V.IpPermissions, perms...)
		return &ec2.AuthorizeSecurityGroupIngressOutput{Return: ptr(true), SecurityGroupRules: rules}, true, nil

	case "DescribeSecurityGroups":
		ids := f.list("GroupId")
		for _, id := range ids {
			if g, ok := s.SGs[id]; !ok || g.Region != region {
				return nil, false, errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
			}
		}
		var out []ec2types.SecurityGroup
		for _, id := range sortedKeys(s.SGs) {
			g := s.SGs[id]
			if g.Region != region || (len(ids) > 0 && !contains(ids, id)) {
				continue
			}
			ok, aerr := matchFilters(f.groups("Filter"), func(n string) ([]string, bool) {
				switch n {
				case "group-id":
					return []string{id}, true
				case "group-name":
					return values(g.V.GroupName), true
				case "vpc-id":
					return values(g.V.VpcId), true
				case "description":
					return values(g.V.Description), true
				}
				return tagFilter(g.V.Tags, n)
			})
			if aerr != nil {
				return nil, false, aerr
			}
			if ok {
				out = append(out, g.V)
			}
		}
		return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: out}, false, nil

	case "DeleteSecurityGroup":
		g, aerr := e.sg(f.get("GroupId"), region)
		if aerr != nil {
			return nil, false, aerr
		}
		id := deref(g.V.GroupId)
		if deref(g.V.GroupName) == "default" {
			return nil, false, errf(400, "CannotDelete", "the specified group: \"%s\" name: \"default\" cannot be deleted by a user", id)
		}
		if g.Cluster != "" {
			return nil, false, errf(400, "DependencyViolation", "resource %s has a dependent object", id)
		}
		for oid, o := range s.SGs {
			if oid == id {
				continue
			}
			for _, p := range o.V.IpPermissions {
				for _, pair := range p.UserIdGroupPairs {
					if deref(pair.GroupId) == id {
						return nil, false, errf(400, "DependencyViolation", "resource %s has a dependent object", id)
					}
				}
			}
		}
		for _, cl := range s.Clusters {
			if contains(cl.V.ResourcesVpcConfig.SecurityGroupIds, id) {
				return nil, false, errf(400, "DependencyViolation", "resource %s has a dependent object", id)
			}
		}
		delete(s.SGs, id)
		return &ec2.DeleteSecurityGroupOutput{Return: ptr(true), GroupId: ptr(id)}, true, nil

	case "CreateTags", "DeleteTags":
		ids := f.list("ResourceId")
		if len(ids) == 0 {
			return nil, false, errf(400, "MissingParameter", "The request must contain the parameter resourceIdSet")
		}
		var tags []ec2types.Tag
		for _, t := range f.groups("Tag") {
			tags = append(tags, ec2types.Tag{Key: ptr(t.get("Key")), Value: optional(t.get("Value"))})
		}
		for _, id := range ids {
			have, aerr := e.tagsOf(id, region)
			if aerr != nil {
				return nil, false, aerr
			}
			if op == "CreateTags" {
				aerr = checkTags("ec2:CreateTags", ec2TagMap(*have), ec2TagMap(tags))
			} else {
				aerr = checkReservedKeys("ec2:DeleteTags", slices.Collect(maps.Keys(ec2TagMap(tags))))
			}
			if aerr != nil {
				return nil, false, aerr
			}
		}
		for _, id := range ids {
			tp, _ := e.tagsOf(id, region)
			for _, t := range tags {
				kept := (*tp)[:0]
				for _, have := range *tp {
					drop := deref(have.Key) == deref(t.Key) && (op == "CreateTags" || t.Value == nil || deref(t.Value) == deref(have.Value))
					if !drop {
						kept = append(kept, have)
					}
				}
				*tp = kept
				if op == "CreateTags" {
					*tp = append(*tp, ec2types.Tag{Key: t.Key, Value: ptr(deref(t.Value))})
				}
			}
		}
		if op == "CreateTags" {
			return &ec2.CreateTagsOutput{}, true, nil
		}
		return &ec2.DeleteTagsOutput{}, true, nil
	}
	return nil, false, errf(400, "InvalidAction", "The action %s is not valid for this web service.", op)
}

// routeTarget validates the target of a CreateRoute or ReplaceRoute call
// (exactly one of GatewayId, an internet gateway attached to the table's VPC,
// and NatGatewayId, a live NAT gateway in that VPC) and returns the route
// without its destination.
func (e *Emulator) routeTarget(f form, r *rtbRec, region string) (ec2types.Route, *apiErr) {
	gw, nat := f.get("GatewayId"), f.get("NatGatewayId")
	route := ec2types.Route{State: ec2types.RouteStateActive, Origin: ec2types.RouteOriginCreateRoute}
	switch {
	case gw != "" && nat != "", gw == "" && nat == "":
		return route, errf(400, "InvalidParameterCombination", "The request must contain exactly one of gatewayId, natGatewayId, …")
	case gw != "":
		g, aerr := e.igw(gw, region)
		if aerr != nil {
			return route, errf(400, "InvalidGatewayID.NotFound", "The gateway ID '%s' does not exist", gw)
		}
		if len(g.V.Attachments) == 0 || deref(g.V.Attachments[0].VpcId) != deref(r.V.VpcId) {
			return route, errf(400, "InvalidParameterValue", "route table %s and network gateway %s belong to different networks", deref(r.V.RouteTableId), gw)
		}
		route.GatewayId = ptr(gw)
	default:
		n, ok := e.st.NATs[nat]
		if !ok || n.Region != region || n.V.State == ec2types.NatGatewayStateDeleted {
			return route, errf(400, "InvalidNatGatewayID.NotFound", "The natGateway ID '%s' does not exist", nat)
		}
		if deref(n.V.VpcId) != deref(r.V.VpcId) {
			return route, errf(400, "InvalidParameterValue", "route table %s and NAT gateway %s belong to different networks", deref(r.V.RouteTableId), nat)
		}
		route.NatGatewayId = ptr(nat)
	}
	return route, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func allEgress() ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: ptr("-1"), IpRanges: []ec2types.IpRange{{CidrIp: ptr("0.0.0.0/0")}}}
}

func isMain(r ec2types.RouteTable) bool {
	for _, a := range r.Associations {
		if deref(a.Main) {
			return true
		}
	}
	return false
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func containsZone(zs []ec2types.AvailabilityZone, n string) bool {
	for _, z := range zs {
		if deref(z.ZoneName) == n {
			return true
		}
	}
	return false
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func (e *Emulator) natUsing(alloc string) string {
	for id, n := range e.st.NATs {
		if n.V.State == ec2types.NatGatewayStateDeleted || n.V.State == ec2types.NatGatewayStateFailed {
			continue
		}
		for _, a := range n.V.NatGatewayAddresses {
			if deref(a.AllocationId) == alloc {
				return id
			}
		}
	}
	return ""
}

func (e *Emulator) vpc(id, region string) (*vpcRec, *apiErr) {
	if id == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter vpcId")
	}
	if aerr := checkID(id, "vpc", "InvalidVpcID.Malformed"); aerr != nil {
		return nil, aerr
	}
	v, ok := e.st.Vpcs[id]
	if !ok || v.Region != region {
		return nil, errf(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	return v, nil
}

func (e *Emulator) subnet(id, region string) (*subnetRec, *apiErr) {
	if id == "" {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter subnetId")
	}
	if aerr := checkID(id, "subnet", "InvalidSubnetID.Malformed"); aerr != nil {
		return nil, aerr
	}
	v, ok := e.st.Subnets[id]
	if !ok || v.Region != region {
		return nil, errf(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	}
	return v, nil
}

func (e *Emulator) igw(id, region string) (*igwRec, *apiErr) {
	if aerr := checkID(id, "igw", "InvalidInternetGatewayID.Malformed"); aerr != nil {
		return nil, aerr
	}
	v, ok := e.st.IGWs[id]
	if !ok || v.Region != region {
		return nil, errf(400, "InvalidInternetGatewayID.NotFound", "The internetGateway ID '%s' does not exist", id)
	}
	return v, nil
}

func (e *Emulator) rtb(id, region string) (*rtbRec, *apiErr) {
	if aerr := checkID(id, "rtb", "InvalidRouteTableID.Malformed"); aerr != nil {
		return nil, aerr
	}
	v, ok := e.st.RouteTables[id]
	if !ok || v.Region != region {
		return nil, errf(400, "InvalidRouteTableID.NotFound", "The routeTable ID '%s' does not exist", id)
	}
	return v, nil
}

func (e *Emulator) sg(id, region string) (*sgRec, *apiErr) {
	if aerr := checkID(id, "sg", "InvalidGroupId.Malformed"); aerr != nil {
		return nil, aerr
	}
	v, ok := e.st.SGs[id]
	if !ok || v.Region != region {
		return nil, errf(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	return v, nil
}

// tagsOf finds the tag list of any taggable EC2 resource by id.
func (e *Emulator) tagsOf(id, region string) (*[]ec2types.Tag, *apiErr) {
	s := e.st
	prefix, _, _ := strings.Cut(id, "-")
	notFound := errf(400, "InvalidID", "The ID '%s' is not valid", id)
	switch prefix {
	case "vpc":
		if v, aerr := e.vpc(id, region); aerr == nil {
			return &v.V.Tags, nil
		} else {
			return nil, aerr
		}
	case "subnet":
		if v, aerr := e.subnet(id, region); aerr == nil {
			return &v.V.Tags, nil
		} else {
			return nil, aerr
		}
	case "igw":
		if v, aerr := e.igw(id, region); aerr == nil {
			return &v.V.Tags, nil
		} else {
			return nil, aerr
		}
	case "rtb":
		if v, aerr := e.rtb(id, region); aerr == nil {
			return &v.V.Tags, nil
		} else {
			return nil, aerr
		}
	case "sg":
		if v, aerr := e.sg(id, region); aerr == nil {
			return &v.V.Tags, nil
		} else {
			return nil, aerr
		}
	case "eipalloc":
		if v, ok := s.Addresses[id]; ok && v.Region == region {
			return &v.V.Tags, nil
		}
		return nil, errf(400, "InvalidAllocationID.NotFound", "The allocation ID '%s' does not exist", id)
	case "nat":
		if v, ok := s.NATs[id]; ok && v.Region == region {
			return &v.V.Tags, nil
		}
		return nil, errf(400, "InvalidNatGatewayID.NotFound", "The natGateway ID '%s' does not exist", id)
	}
	return nil, notFound
}

func (e *Emulator) parsePerms(f form, region string) ([]ec2types.IpPermission, *apiErr) {
	var perms []ec2types.IpPermission
	toPerm := func(g form) (ec2types.IpPermission, *apiErr) {
		p := ec2types.IpPermission{IpProtocol: ptr(g.get("IpProtocol"))}
		if p.IpProtocol == nil || *p.IpProtocol == "" {
			return p, errf(400, "MissingParameter", "The request must contain the parameter ipProtocol")
		}
		if n, ok := atoi(g.get("FromPort")); ok {
			p.FromPort = ptr(int32(n))
		}
		if n, ok := atoi(g.get("ToPort")); ok {
			p.ToPort = ptr(int32(n))
		}
		for _, r := range g.groups("IpRanges") {
			if _, err := netip.ParsePrefix(r.get("CidrIp")); err != nil {
				return p, errf(400, "InvalidParameterValue", "CIDR block %s is malformed", r.get("CidrIp"))
			}
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: ptr(r.get("CidrIp")), Description: optional(r.get("Description"))})
		}
		if v := g.get("CidrIp"); v != "" {
			p.IpRanges = append(p.IpRanges, ec2types.IpRange{CidrIp: ptr(v)})
		}
		for _, pair := range g.groups("Groups") {
			if _, aerr := e.sg(pair.get("GroupId"), region); aerr != nil {
				return p, aerr
			}
			p.UserIdGroupPairs = append(p.UserIdGroupPairs, ec2types.UserIdGroupPair{GroupId: ptr(pair.get("GroupId")), UserId: ptr(e.acct), Description: optional(pair.get("Description"))})
		}
		return p, nil
	}
	for _, g := range f.groups("IpPermissions") {
		p, aerr := toPerm(g)
		if aerr != nil {
			return nil, aerr
		}
		perms = append(perms, p)
	}
	if f.get("IpProtocol") != "" {
		p, aerr := toPerm(f)
		if aerr != nil {
			return nil, aerr
		}
		perms = append(perms, p)
	}
	if len(perms) == 0 {
		return nil, errf(400, "MissingParameter", "The request must contain the parameter ipPermissions")
	}
	return perms, nil
}

func samePerm(a, b ec2types.IpPermission) bool {
	return deref(a.IpProtocol) == deref(b.IpProtocol) && deref(a.FromPort) == deref(b.FromPort) && deref(a.ToPort) == deref(b.ToPort) && permPeer(a) == permPeer(b)
}

func permPeer(p ec2types.IpPermission) string {
	var parts []string
	for _, r := range p.IpRanges {
		parts = append(parts, deref(r.CidrIp))
	}
	for _, g := range p.UserIdGroupPairs {
		parts = append(parts, deref(g.GroupId))
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func firstCidr(p ec2types.IpPermission) *string {
	if len(p.IpRanges) > 0 {
		return p.IpRanges[0].CidrIp
	}
	return nil
}

// sgFor is the cluster security group EKS creates in the cluster's VPC.
func sgFor(id, cluster, vpc, account, region string) ec2types.SecurityGroup {
	return ec2types.SecurityGroup{GroupId: ptr(id), GroupName: ptr("eks-cluster-sg-" + cluster + "-" + id[3:13]), VpcId: ptr(vpc), OwnerId: ptr(account),
		Description:         ptr("EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads."),
		IpPermissions:       []ec2types.IpPermission{{IpProtocol: ptr("-1"), UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: ptr(id), UserId: ptr(account)}}}},
		IpPermissionsEgress: []ec2types.IpPermission{allEgress()},
		SecurityGroupArn:    ptr(fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", region, account, id)),
		Tags:                []ec2types.Tag{{Key: ptr("aws:eks:cluster-name"), Value: ptr(cluster)}, {Key: ptr("kubernetes.io/cluster/" + cluster), Value: ptr("owned")}},
	}
}
