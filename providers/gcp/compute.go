package gcp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/providers"
)

// computeOpError turns a finished Compute Engine operation's errors into an
// error, or nil when it succeeded.
func computeOpError(op *compute.Operation) error {
	p := op.Proto()
	if p == nil || p.GetError() == nil || len(p.GetError().GetErrors()) == 0 {
		return nil
	}
	var msgs []string
	for _, e := range p.GetError().GetErrors() {
		msgs = append(msgs, fmt.Sprintf("%s: %s", e.GetCode(), e.GetMessage()))
	}
	return fmt.Errorf("operation %s (%s) failed: %s", p.GetName(), p.GetOperationType(), strings.Join(msgs, "; "))
}

// waitCompute polls a Compute Engine operation until it is DONE (the SDK's
// op.Wait backs off to a minute; this honours the driver's polling bounds)
// and returns its error.
func (d *Driver) waitCompute(ctx context.Context, op *compute.Operation) error {
	if op == nil {
		return nil
	}
	return d.poll(ctx, func() (bool, error) {
		if op.Done() {
			return true, computeOpError(op)
		}
		if err := d.retry(ctx, func() error { return op.Poll(ctx) }); err != nil {
			return false, fmt.Errorf("operation %s: %w", op.Name(), err)
		}
		if op.Done() {
			return true, computeOpError(op)
		}
		return false, nil
	})
}

// computeCreate is the create flow every Compute Engine resource shares:
// look the name up first (a retried create finds what the first one made,
// by the key in its labels or description), insert with the key's
// requestId, and treat "already exists" as the first attempt's success
// when the object carries the key.
func (c *call) computeCreate(ctx context.Context, what, name string,
	get func() (labels map[string]string, found bool, err error),
	insert func() (*compute.Operation, error),
) (string, error) {
	mine := func() (bool, error) {
		l, found, err := get()
		if err != nil || !found {
			return false, err
		}
		if !c.matchLabels(l) {
			return true, fmt.Errorf("%s %s already exists in project %s and was not made by this create (its %s is %q); delete it or pick another region name",
				what, name, c.project, LabelAddress, l[LabelAddress])
		}
		return true, nil
	}
	found, err := mine()
	if err != nil || found {
		return name, err
	}
	var op *compute.Operation
	err = c.d.retry(ctx, func() (err error) { op, err = insert(); return err })
	if isAlreadyExists(err) {
		// An earlier attempt whose reply was lost may still be creating
		// it (not yet visible to Get): wait until it shows, then check it
		// carries our key.
		deadline := time.Now().Add(c.d.busyWait)
		var found bool
		var merr error
		perr := c.d.poll(ctx, func() (bool, error) {
			found, merr = mine()
			return found || merr != nil || time.Now().After(deadline), nil
		})
		if perr != nil {
			return "", errors.Join(err, perr)
		}
		if found || merr != nil {
			return name, merr
		}
	}
	if err != nil {
		return "", fmt.Errorf("insert %s %s: %w", what, name, err)
	}
	if err := c.d.waitCompute(ctx, op); err != nil {
		return "", fmt.Errorf("insert %s %s: %w", what, name, err)
	}
	return name, nil
}

// computeDelete deletes and waits; gone already is success. With
// waitInUse it retries while another resource still uses the object (GKE
// releases a deleted cluster's hold on the subnetwork a little later).
func (c *call) computeDelete(ctx context.Context, what string, waitInUse bool, del func() (*compute.Operation, error)) error {
	busy := func(error) bool { return false }
	if waitInUse {
		busy = isInUse
	}
	err := c.d.retryWhile(ctx, busy, func() error {
		op, err := del()
		if err != nil {
			return err
		}
		return c.d.waitCompute(ctx, op)
	})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", what, c.id, err)
	}
	return nil
}

// getOrNil runs a Compute Engine Get, mapping "not found" to nil.
func getOrNil[T any](ctx context.Context, d *Driver, get func() (*T, error)) (*T, error) {
	var out *T
	err := d.retry(ctx, func() (err error) { out, err = get(); return err })
	if isNotFound(err) {
		return nil, nil
	}
	return out, err
}

func selfLinkOr(live, kind, project, region, name string) string {
	if live != "" {
		return live
	}
	if region == "" {
		return fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/global/%s/%s", project, kind, name)
	}
	return fmt.Sprintf("https://www.googleapis.com/compute/v1/projects/%s/regions/%s/%s/%s", project, region, kind, name)
}

// ---- gcp_compute_network ----
//
// A network's ID is its name.

type networkHandler struct{}

func (networkHandler) get(ctx context.Context, c *call, name string) (*computepb.Network, error) {
	return getOrNil(ctx, c.d, func() (*computepb.Network, error) {
		return c.cl.networks.Get(ctx, &computepb.GetNetworkRequest{Project: c.project, Network: name})
	})
}

func (h networkHandler) find(ctx context.Context, c *call) (string, error) {
	n, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || n == nil || !c.matchLabels(descriptionLabels(n.GetDescription())) {
		return "", err
	}
	return n.GetName(), nil
}

func (h networkHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	return c.computeCreate(ctx, "network", name,
		func() (map[string]string, bool, error) {
			n, err := h.get(ctx, c, name)
			return descriptionLabels(n.GetDescription()), n != nil, err
		},
		func() (*compute.Operation, error) {
			return c.cl.networks.Insert(ctx, &computepb.InsertNetworkRequest{
				Project: c.project, RequestId: c.requestID(),
				NetworkResource: &computepb.Network{
					Name: proto.String(name), Description: proto.String(c.description()),
					AutoCreateSubnetworks: proto.Bool(boolean(c.in, "auto_create_subnetworks")),
					RoutingConfig:         &computepb.NetworkRoutingConfig{RoutingMode: proto.String(str(c.in, "routing_mode"))},
				},
			})
		})
}

func (h networkHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	n, err := h.get(ctx, c, c.id)
	if err != nil || n == nil {
		return false, nil, nil, err
	}
	mode := n.GetRoutingConfig().GetRoutingMode()
	if n.GetRoutingConfig() == nil { // not reported: keep the recorded value
		mode = str(c.prev, "routing_mode")
	}
	in := providers.Values{
		"project": c.project, "name": n.GetName(),
		"auto_create_subnetworks": n.GetAutoCreateSubnetworks(), "routing_mode": mode,
	}
	out := providers.Values{"id": n.GetName(), "self_link": selfLinkOr(n.GetSelfLink(), "networks", c.project, "", n.GetName())}
	return true, in, out, nil
}

func (networkHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (networkHandler) delete(ctx context.Context, c *call) error {
	return c.computeDelete(ctx, "network", true, func() (*compute.Operation, error) {
		return c.cl.networks.Delete(ctx, &computepb.DeleteNetworkRequest{Project: c.project, Network: c.id})
	})
}

// ---- gcp_compute_subnetwork ----
//
// A subnetwork's ID is its name; its region comes from the region input.

type subnetHandler struct{}

func (subnetHandler) get(ctx context.Context, c *call, name string) (*computepb.Subnetwork, error) {
	return getOrNil(ctx, c.d, func() (*computepb.Subnetwork, error) {
		return c.cl.subnets.Get(ctx, &computepb.GetSubnetworkRequest{Project: c.project, Region: c.loc, Subnetwork: name})
	})
}

func (h subnetHandler) find(ctx context.Context, c *call) (string, error) {
	s, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || s == nil || !c.matchLabels(descriptionLabels(s.GetDescription())) {
		return "", err
	}
	return s.GetName(), nil
}

func secondaryRanges(v any) []*computepb.SubnetworkSecondaryRange {
	var out []*computepb.SubnetworkSecondaryRange
	l, _ := v.([]any)
	for _, e := range l {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, &computepb.SubnetworkSecondaryRange{
			RangeName: proto.String(str(m, "range_name")), IpCidrRange: proto.String(str(m, "ip_cidr_range")),
		})
	}
	return out
}

func (h subnetHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	return c.computeCreate(ctx, "subnetwork", name,
		func() (map[string]string, bool, error) {
			s, err := h.get(ctx, c, name)
			return descriptionLabels(s.GetDescription()), s != nil, err
		},
		func() (*compute.Operation, error) {
			return c.cl.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{
				Project: c.project, Region: c.loc, RequestId: c.requestID(),
				SubnetworkResource: &computepb.Subnetwork{
					Name: proto.String(name), Description: proto.String(c.description()),
					Network: proto.String(str(c.in, "network")), IpCidrRange: proto.String(str(c.in, "ip_cidr_range")),
					SecondaryIpRanges:     secondaryRanges(c.in["secondary_ranges"]),
					PrivateIpGoogleAccess: proto.Bool(boolean(c.in, "private_ip_google_access")),
				},
			})
		})
}

func (h subnetHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	s, err := h.get(ctx, c, c.id)
	if err != nil || s == nil {
		return false, nil, nil, err
	}
	ranges := s.GetSecondaryIpRanges()
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].GetRangeName() < ranges[j].GetRangeName() })
	sec := make([]any, 0, len(ranges))
	for _, r := range ranges {
		sec = append(sec, map[string]any{"range_name": r.GetRangeName(), "ip_cidr_range": r.GetIpCidrRange()})
	}
	in := providers.Values{
		"project": c.project, "region": first(lastSegment(s.GetRegion()), c.loc), "name": s.GetName(),
		"network": sameLink(s.GetNetwork(), str(c.prev, "network")), "ip_cidr_range": s.GetIpCidrRange(),
		"secondary_ranges": sec, "private_ip_google_access": s.GetPrivateIpGoogleAccess(),
	}
	out := providers.Values{"id": s.GetName(), "self_link": selfLinkOr(s.GetSelfLink(), "subnetworks", c.project, c.loc, s.GetName())}
	return true, in, out, nil
}

func (subnetHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (subnetHandler) delete(ctx context.Context, c *call) error {
	return c.computeDelete(ctx, "subnetwork", true, func() (*compute.Operation, error) {
		return c.cl.subnets.Delete(ctx, &computepb.DeleteSubnetworkRequest{Project: c.project, Region: c.loc, Subnetwork: c.id})
	})
}

// ---- gcp_compute_router (with its Cloud NAT) ----
//
// A router's ID is its name. Cloud NAT is part of the router object in the
// Compute API (router.nats), so one resource holds both.

type routerHandler struct{}

func (routerHandler) get(ctx context.Context, c *call, name string) (*computepb.Router, error) {
	return getOrNil(ctx, c.d, func() (*computepb.Router, error) {
		return c.cl.routers.Get(ctx, &computepb.GetRouterRequest{Project: c.project, Region: c.loc, Router: name})
	})
}

func (h routerHandler) find(ctx context.Context, c *call) (string, error) {
	r, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || r == nil || !c.matchLabels(descriptionLabels(r.GetDescription())) {
		return "", err
	}
	return r.GetName(), nil
}

func (h routerHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	return c.computeCreate(ctx, "router", name,
		func() (map[string]string, bool, error) {
			r, err := h.get(ctx, c, name)
			return descriptionLabels(r.GetDescription()), r != nil, err
		},
		func() (*compute.Operation, error) {
			return c.cl.routers.Insert(ctx, &computepb.InsertRouterRequest{
				Project: c.project, Region: c.loc, RequestId: c.requestID(),
				RouterResource: &computepb.Router{
					Name: proto.String(name), Description: proto.String(c.description()),
					Network: proto.String(str(c.in, "network")),
					Nats: []*computepb.RouterNat{{
						Name:                          proto.String(str(c.in, "nat_name")),
						NatIpAllocateOption:           proto.String(str(c.in, "nat_ip_allocate_option")),
						SourceSubnetworkIpRangesToNat: proto.String(str(c.in, "nat_source_ranges")),
					}},
				},
			})
		})
}

func (h routerHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	r, err := h.get(ctx, c, c.id)
	if err != nil || r == nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"project": c.project, "region": first(lastSegment(r.GetRegion()), c.loc), "name": r.GetName(),
		"network":  sameLink(r.GetNetwork(), str(c.prev, "network")),
		"nat_name": "", "nat_ip_allocate_option": "", "nat_source_ranges": "",
	}
	for _, n := range r.GetNats() { // regionctl makes exactly one
		in["nat_name"], in["nat_ip_allocate_option"], in["nat_source_ranges"] = n.GetName(), n.GetNatIpAllocateOption(), n.GetSourceSubnetworkIpRangesToNat()
		break
	}
	out := providers.Values{"id": r.GetName(), "self_link": selfLinkOr(r.GetSelfLink(), "routers", c.project, c.loc, r.GetName())}
	return true, in, out, nil
}

func (routerHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (routerHandler) delete(ctx context.Context, c *call) error {
	return c.computeDelete(ctx, "router", false, func() (*compute.Operation, error) {
		return c.cl.routers.Delete(ctx, &computepb.DeleteRouterRequest{Project: c.project, Region: c.loc, Router: c.id})
	})
}

// ---- gcp_compute_address ----
//
// A regional static address; its ID is its name.

type addressHandler struct{}

func (addressHandler) get(ctx context.Context, c *call, name string) (*computepb.Address, error) {
	return getOrNil(ctx, c.d, func() (*computepb.Address, error) {
		return c.cl.addresses.Get(ctx, &computepb.GetAddressRequest{Project: c.project, Region: c.loc, Address: name})
	})
}

func (h addressHandler) find(ctx context.Context, c *call) (string, error) {
	a, err := h.get(ctx, c, str(c.in, "name"))
	if err != nil || a == nil || !c.matchLabels(a.GetLabels()) {
		return "", err
	}
	return a.GetName(), nil
}

func (h addressHandler) create(ctx context.Context, c *call) (string, error) {
	name := str(c.in, "name")
	return c.computeCreate(ctx, "address", name,
		func() (map[string]string, bool, error) {
			a, err := h.get(ctx, c, name)
			return a.GetLabels(), a != nil, err
		},
		func() (*compute.Operation, error) {
			res := &computepb.Address{
				Name: proto.String(name), Description: proto.String(c.description()), Labels: c.labels(),
				AddressType: proto.String(str(c.in, "address_type")),
			}
			if t := str(c.in, "network_tier"); t != "" {
				res.NetworkTier = proto.String(t)
			}
			if s := str(c.in, "subnetwork"); s != "" {
				res.Subnetwork = proto.String(s)
			}
			return c.cl.addresses.Insert(ctx, &computepb.InsertAddressRequest{Project: c.project, Region: c.loc, RequestId: c.requestID(), AddressResource: res})
		})
}

func (h addressHandler) read(ctx context.Context, c *call) (bool, providers.Values, providers.Values, error) {
	a, err := h.get(ctx, c, c.id)
	if err != nil || a == nil {
		return false, nil, nil, err
	}
	in := providers.Values{
		"project": c.project, "region": first(lastSegment(a.GetRegion()), c.loc), "name": a.GetName(),
		"address_type": a.GetAddressType(),
	}
	if a.GetAddressType() == "INTERNAL" {
		in["subnetwork"] = sameLink(a.GetSubnetwork(), str(c.prev, "subnetwork"))
	} else {
		in["network_tier"] = first(a.GetNetworkTier(), "PREMIUM") // PREMIUM is the API's default
	}
	out := providers.Values{
		"id": a.GetName(), "address": a.GetAddress(), "status": a.GetStatus(),
		"self_link": selfLinkOr(a.GetSelfLink(), "addresses", c.project, c.loc, a.GetName()),
	}
	return true, in, out, nil
}

func (addressHandler) update(ctx context.Context, c *call, changed []string) error {
	return fmt.Errorf("%v: %w", changed, errNoUpdate)
}

func (addressHandler) delete(ctx context.Context, c *call) error {
	return c.computeDelete(ctx, "address", false, func() (*compute.Operation, error) {
		return c.cl.addresses.Delete(ctx, &computepb.DeleteAddressRequest{Project: c.project, Region: c.loc, Address: c.id})
	})
}
