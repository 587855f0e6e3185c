package gcp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	compute "cloud.google.com/go/compute/apiv1"
	"cloud.google.com/go/compute/apiv1/computepb"
	"google.golang.org/protobuf/proto"

	"github.com/regionctl/regionctl/providers/kit"
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
	return d.pollBackoff().Poll(ctx, func() (bool, error) {
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
func (e *env) computeCreate(ctx context.Context, m kit.Meta, what, name string,
	get func() (labels map[string]string, found bool, err error),
	insert func() (*compute.Operation, error),
) (string, error) {
	mine := func() (bool, error) {
		l, found, err := get()
		if err != nil || !found {
			return false, err
		}
		if !matchLabels(m, l) {
			return true, fmt.Errorf("%s %s already exists in project %s and was not made by this create (its %s is %q); delete it or pick another region name",
				what, name, e.project, LabelAddress, l[LabelAddress])
		}
		return true, nil
	}
	found, err := mine()
	if err != nil {
		return "", err
	}
	if found {
		return name, nil
	}
	var op *compute.Operation
	err = e.d.retry(ctx, func() (err error) { op, err = insert(); return err })
	if isAlreadyExists(err) {
		// An earlier attempt whose reply was lost may still be creating
		// it (not yet visible to Get): wait until it shows, then check it
		// carries our key.
		deadline := time.Now().Add(e.d.busyWait)
		var found bool
		var merr error
		perr := e.d.pollBackoff().Poll(ctx, func() (bool, error) {
			found, merr = mine()
			return found || merr != nil || time.Now().After(deadline), nil
		})
		if perr != nil {
			return "", errors.Join(err, perr)
		}
		if merr != nil {
			return "", merr
		}
		if found {
			return name, nil
		}
	}
	if err != nil {
		return "", fmt.Errorf("insert %s %s: %w", what, name, err)
	}
	if err := e.d.waitCompute(ctx, op); err != nil {
		return "", fmt.Errorf("insert %s %s: %w", what, name, err)
	}
	return name, nil
}

// computeDelete deletes and waits; gone already is success. With
// waitInUse it retries while another resource still uses the object (GKE
// releases a deleted cluster's hold on the subnetwork a little later).
func (e *env) computeDelete(ctx context.Context, what, id string, waitInUse bool, del func() (*compute.Operation, error)) error {
	busy := func(error) bool { return false }
	if waitInUse {
		busy = isInUse
	}
	err := e.d.retryWhile(ctx, busy, func() error {
		op, err := del()
		if err != nil {
			return err
		}
		return e.d.waitCompute(ctx, op)
	})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", what, id, err)
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

// linkOut are the outputs of networks, subnetworks and routers.
type linkOut struct {
	ID       string `kit:"id"`
	SelfLink string `kit:"self_link"`
}

// ---- gcp_compute_network ----
//
// A network's ID is its name.

type networkIn struct {
	Project               string `kit:"project,replace" why:"a network lives in one project"`
	Name                  string `kit:"name,replace" why:"Compute Engine cannot rename a network"`
	AutoCreateSubnetworks bool   `kit:"auto_create_subnetworks,replace" why:"regionctl never converts a network between auto and custom mode"`
	RoutingMode           string `kit:"routing_mode,replace" why:"regionctl sets the routing mode only when it creates the network"`
}

type networkCall = call[networkIn, linkOut]

type networkHandler struct{}

func (networkHandler) get(ctx context.Context, e *env, name string) (*computepb.Network, error) {
	return getOrNil(ctx, e.d, func() (*computepb.Network, error) {
		return e.cl.networks.Get(ctx, &computepb.GetNetworkRequest{Project: e.project, Network: name})
	})
}

func (h networkHandler) Find(ctx context.Context, c *networkCall) (string, error) {
	n, err := h.get(ctx, c.Env, c.In.Name)
	if err != nil || n == nil || !matchLabels(c.Meta, descriptionLabels(n.GetDescription())) {
		return "", err
	}
	return n.GetName(), nil
}

func (h networkHandler) Create(ctx context.Context, c *networkCall) (string, error) {
	name := c.In.Name
	return c.Env.computeCreate(ctx, c.Meta, "network", name,
		func() (map[string]string, bool, error) {
			n, err := h.get(ctx, c.Env, name)
			return descriptionLabels(n.GetDescription()), n != nil, err
		},
		func() (*compute.Operation, error) {
			return c.Env.cl.networks.Insert(ctx, &computepb.InsertNetworkRequest{
				Project: c.Env.project, RequestId: requestID(c.Meta),
				NetworkResource: &computepb.Network{
					Name: proto.String(name), Description: proto.String(description(c.Meta)),
					AutoCreateSubnetworks: proto.Bool(c.In.AutoCreateSubnetworks),
					RoutingConfig:         &computepb.NetworkRoutingConfig{RoutingMode: proto.String(c.In.RoutingMode)},
				},
			})
		})
}

func (h networkHandler) Read(ctx context.Context, c *networkCall) (*kit.Live[networkIn, linkOut], error) {
	n, err := h.get(ctx, c.Env, c.ID)
	if err != nil || n == nil {
		return nil, err
	}
	return h.live(c, n), nil
}

func (networkHandler) live(c *networkCall, n *computepb.Network) *kit.Live[networkIn, linkOut] {
	mode := n.GetRoutingConfig().GetRoutingMode()
	if n.GetRoutingConfig() == nil { // not reported: keep the recorded value
		mode = c.Prev.RoutingMode
	}
	in := networkIn{Project: c.Env.project, Name: n.GetName(), AutoCreateSubnetworks: n.GetAutoCreateSubnetworks(), RoutingMode: mode}
	return c.Found(in, linkOut{ID: n.GetName(), SelfLink: selfLinkOr(n.GetSelfLink(), "networks", c.Env.project, "", n.GetName())})
}

func (networkHandler) Delete(ctx context.Context, c *networkCall) error {
	return c.Env.computeDelete(ctx, "network", c.ID, true, func() (*compute.Operation, error) {
		return c.Env.cl.networks.Delete(ctx, &computepb.DeleteNetworkRequest{Project: c.Env.project, Network: c.ID})
	})
}

// ---- gcp_compute_subnetwork ----
//
// A subnetwork's ID is its name; its region comes from the region input.

type subnetIn struct {
	Project               string           `kit:"project,replace" why:"a subnetwork lives in one project"`
	Region                string           `kit:"region,replace" why:"a subnetwork lives in one region"`
	Name                  string           `kit:"name,replace" why:"Compute Engine cannot rename a subnetwork"`
	Network               string           `kit:"network,replace" why:"a subnetwork belongs to one network"`
	IPCidrRange           string           `kit:"ip_cidr_range,replace" why:"regionctl never resizes a subnetwork in place"`
	SecondaryRanges       []secondaryRange `kit:"secondary_ranges,replace" why:"GKE clusters use the secondary ranges; regionctl never changes them in place"`
	PrivateIPGoogleAccess bool             `kit:"private_ip_google_access,replace" why:"regionctl sets Private Google Access only when it creates the subnetwork"`
}

// secondaryRange is a named secondary range (pods, services).
type secondaryRange struct {
	RangeName   string `kit:"range_name"`
	IPCidrRange string `kit:"ip_cidr_range"`
}

type subnetCall = call[subnetIn, linkOut]

type subnetHandler struct{}

func (subnetHandler) get(ctx context.Context, e *env, name string) (*computepb.Subnetwork, error) {
	return getOrNil(ctx, e.d, func() (*computepb.Subnetwork, error) {
		return e.cl.subnets.Get(ctx, &computepb.GetSubnetworkRequest{Project: e.project, Region: e.loc, Subnetwork: name})
	})
}

func (h subnetHandler) Find(ctx context.Context, c *subnetCall) (string, error) {
	s, err := h.get(ctx, c.Env, c.In.Name)
	if err != nil || s == nil || !matchLabels(c.Meta, descriptionLabels(s.GetDescription())) {
		return "", err
	}
	return s.GetName(), nil
}

func (h subnetHandler) Create(ctx context.Context, c *subnetCall) (string, error) {
	name := c.In.Name
	var ranges []*computepb.SubnetworkSecondaryRange
	for _, r := range c.In.SecondaryRanges {
		ranges = append(ranges, &computepb.SubnetworkSecondaryRange{RangeName: proto.String(r.RangeName), IpCidrRange: proto.String(r.IPCidrRange)})
	}
	return c.Env.computeCreate(ctx, c.Meta, "subnetwork", name,
		func() (map[string]string, bool, error) {
			s, err := h.get(ctx, c.Env, name)
			return descriptionLabels(s.GetDescription()), s != nil, err
		},
		func() (*compute.Operation, error) {
			return c.Env.cl.subnets.Insert(ctx, &computepb.InsertSubnetworkRequest{
				Project: c.Env.project, Region: c.Env.loc, RequestId: requestID(c.Meta),
				SubnetworkResource: &computepb.Subnetwork{
					Name: proto.String(name), Description: proto.String(description(c.Meta)),
					Network: proto.String(c.In.Network), IpCidrRange: proto.String(c.In.IPCidrRange),
					SecondaryIpRanges:     ranges,
					PrivateIpGoogleAccess: proto.Bool(c.In.PrivateIPGoogleAccess),
				},
			})
		})
}

func (h subnetHandler) Read(ctx context.Context, c *subnetCall) (*kit.Live[subnetIn, linkOut], error) {
	s, err := h.get(ctx, c.Env, c.ID)
	if err != nil || s == nil {
		return nil, err
	}
	return h.live(c, s), nil
}

func (subnetHandler) live(c *subnetCall, s *computepb.Subnetwork) *kit.Live[subnetIn, linkOut] {
	ranges := s.GetSecondaryIpRanges()
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].GetRangeName() < ranges[j].GetRangeName() })
	in := subnetIn{
		Project: c.Env.project, Region: cmp.Or(lastSegment(s.GetRegion()), c.Env.loc), Name: s.GetName(),
		Network: sameLink(s.GetNetwork(), c.Prev.Network), IPCidrRange: s.GetIpCidrRange(),
		PrivateIPGoogleAccess: s.GetPrivateIpGoogleAccess(),
	}
	for _, r := range ranges {
		in.SecondaryRanges = append(in.SecondaryRanges, secondaryRange{RangeName: r.GetRangeName(), IPCidrRange: r.GetIpCidrRange()})
	}
	return c.Found(in, linkOut{ID: s.GetName(), SelfLink: selfLinkOr(s.GetSelfLink(), "subnetworks", c.Env.project, c.Env.loc, s.GetName())})
}

func (subnetHandler) Delete(ctx context.Context, c *subnetCall) error {
	return c.Env.computeDelete(ctx, "subnetwork", c.ID, true, func() (*compute.Operation, error) {
		return c.Env.cl.subnets.Delete(ctx, &computepb.DeleteSubnetworkRequest{Project: c.Env.project, Region: c.Env.loc, Subnetwork: c.ID})
	})
}

// ---- gcp_compute_router (with its Cloud NAT) ----
//
// A router's ID is its name. Cloud NAT is part of the router object in the
// Compute API (router.nats), so one resource holds both.

type routerIn struct {
	Project             string `kit:"project,replace" why:"a router lives in one project"`
	Region              string `kit:"region,replace" why:"a router lives in one region"`
	Name                string `kit:"name,replace" why:"Compute Engine cannot rename a router"`
	Network             string `kit:"network,replace" why:"a router belongs to one network"`
	NatName             string `kit:"nat_name,replace" why:"regionctl writes the router's Cloud NAT only when it creates the router"`
	NatIPAllocateOption string `kit:"nat_ip_allocate_option,replace" why:"regionctl writes the router's Cloud NAT only when it creates the router"`
	NatSourceRanges     string `kit:"nat_source_ranges,replace" why:"regionctl writes the router's Cloud NAT only when it creates the router"`
}

type routerCall = call[routerIn, linkOut]

type routerHandler struct{}

func (routerHandler) get(ctx context.Context, e *env, name string) (*computepb.Router, error) {
	return getOrNil(ctx, e.d, func() (*computepb.Router, error) {
		return e.cl.routers.Get(ctx, &computepb.GetRouterRequest{Project: e.project, Region: e.loc, Router: name})
	})
}

func (h routerHandler) Find(ctx context.Context, c *routerCall) (string, error) {
	r, err := h.get(ctx, c.Env, c.In.Name)
	if err != nil || r == nil || !matchLabels(c.Meta, descriptionLabels(r.GetDescription())) {
		return "", err
	}
	return r.GetName(), nil
}

func (h routerHandler) Create(ctx context.Context, c *routerCall) (string, error) {
	name := c.In.Name
	return c.Env.computeCreate(ctx, c.Meta, "router", name,
		func() (map[string]string, bool, error) {
			r, err := h.get(ctx, c.Env, name)
			return descriptionLabels(r.GetDescription()), r != nil, err
		},
		func() (*compute.Operation, error) {
			return c.Env.cl.routers.Insert(ctx, &computepb.InsertRouterRequest{
				Project: c.Env.project, Region: c.Env.loc, RequestId: requestID(c.Meta),
				RouterResource: &computepb.Router{
					Name: proto.String(name), Description: proto.String(description(c.Meta)),
					Network: proto.String(c.In.Network),
					Nats: []*computepb.RouterNat{{
						Name:                          proto.String(c.In.NatName),
						NatIpAllocateOption:           proto.String(c.In.NatIPAllocateOption),
						SourceSubnetworkIpRangesToNat: proto.String(c.In.NatSourceRanges),
					}},
				},
			})
		})
}

func (h routerHandler) Read(ctx context.Context, c *routerCall) (*kit.Live[routerIn, linkOut], error) {
	r, err := h.get(ctx, c.Env, c.ID)
	if err != nil || r == nil {
		return nil, err
	}
	return h.live(c, r), nil
}

func (routerHandler) live(c *routerCall, r *computepb.Router) *kit.Live[routerIn, linkOut] {
	in := routerIn{
		Project: c.Env.project, Region: cmp.Or(lastSegment(r.GetRegion()), c.Env.loc), Name: r.GetName(),
		Network: sameLink(r.GetNetwork(), c.Prev.Network),
	}
	if nats := r.GetNats(); len(nats) > 0 { // regionctl makes exactly one
		n := nats[0]
		in.NatName, in.NatIPAllocateOption, in.NatSourceRanges = n.GetName(), n.GetNatIpAllocateOption(), n.GetSourceSubnetworkIpRangesToNat()
	}
	return c.Found(in, linkOut{ID: r.GetName(), SelfLink: selfLinkOr(r.GetSelfLink(), "routers", c.Env.project, c.Env.loc, r.GetName())})
}

func (routerHandler) Delete(ctx context.Context, c *routerCall) error {
	return c.Env.computeDelete(ctx, "router", c.ID, false, func() (*compute.Operation, error) {
		return c.Env.cl.routers.Delete(ctx, &computepb.DeleteRouterRequest{Project: c.Env.project, Region: c.Env.loc, Router: c.ID})
	})
}

// ---- gcp_compute_address ----
//
// A regional static address; its ID is its name.

type addressIn struct {
	Project     string `kit:"project,replace" why:"an address lives in one project"`
	Region      string `kit:"region,replace" why:"an address lives in one region"`
	Name        string `kit:"name,replace" why:"Compute Engine cannot rename an address"`
	AddressType string `kit:"address_type,replace" why:"an address is internal or external for life"`
	// NetworkTier is set for external addresses, Subnetwork for internal ones.
	NetworkTier *string `kit:"network_tier,omitempty,replace" why:"Compute Engine cannot move an address to another network tier"`
	Subnetwork  *string `kit:"subnetwork,omitempty,replace" why:"an internal address belongs to one subnetwork"`
}

type addressOut struct {
	ID       string `kit:"id"`
	Address  string `kit:"address"`
	Status   string `kit:"status"`
	SelfLink string `kit:"self_link"`
}

type addressCall = call[addressIn, addressOut]

type addressHandler struct{}

func (addressHandler) get(ctx context.Context, e *env, name string) (*computepb.Address, error) {
	return getOrNil(ctx, e.d, func() (*computepb.Address, error) {
		return e.cl.addresses.Get(ctx, &computepb.GetAddressRequest{Project: e.project, Region: e.loc, Address: name})
	})
}

func (h addressHandler) Find(ctx context.Context, c *addressCall) (string, error) {
	a, err := h.get(ctx, c.Env, c.In.Name)
	if err != nil || a == nil || !matchLabels(c.Meta, a.GetLabels()) {
		return "", err
	}
	return a.GetName(), nil
}

func (h addressHandler) Create(ctx context.Context, c *addressCall) (string, error) {
	name := c.In.Name
	return c.Env.computeCreate(ctx, c.Meta, "address", name,
		func() (map[string]string, bool, error) {
			a, err := h.get(ctx, c.Env, name)
			return a.GetLabels(), a != nil, err
		},
		func() (*compute.Operation, error) {
			res := &computepb.Address{
				Name: proto.String(name), Description: proto.String(description(c.Meta)), Labels: labels(c.Meta),
				AddressType: proto.String(c.In.AddressType), NetworkTier: c.In.NetworkTier, Subnetwork: c.In.Subnetwork,
			}
			return c.Env.cl.addresses.Insert(ctx, &computepb.InsertAddressRequest{Project: c.Env.project, Region: c.Env.loc, RequestId: requestID(c.Meta), AddressResource: res})
		})
}

func (h addressHandler) Read(ctx context.Context, c *addressCall) (*kit.Live[addressIn, addressOut], error) {
	a, err := h.get(ctx, c.Env, c.ID)
	if err != nil || a == nil {
		return nil, err
	}
	return h.live(c, a), nil
}

func (addressHandler) live(c *addressCall, a *computepb.Address) *kit.Live[addressIn, addressOut] {
	in := addressIn{Project: c.Env.project, Region: cmp.Or(lastSegment(a.GetRegion()), c.Env.loc), Name: a.GetName(), AddressType: a.GetAddressType()}
	if a.GetAddressType() == "INTERNAL" {
		in.Subnetwork = proto.String(sameLink(a.GetSubnetwork(), deref(c.Prev.Subnetwork)))
	} else {
		in.NetworkTier = proto.String(cmp.Or(a.GetNetworkTier(), "PREMIUM")) // PREMIUM is the API's default
	}
	out := addressOut{
		ID: a.GetName(), Address: a.GetAddress(), Status: a.GetStatus(),
		SelfLink: selfLinkOr(a.GetSelfLink(), "addresses", c.Env.project, c.Env.loc, a.GetName()),
	}
	return c.Found(in, out)
}

func (addressHandler) Delete(ctx context.Context, c *addressCall) error {
	return c.Env.computeDelete(ctx, "address", c.ID, false, func() (*compute.Operation, error) {
		return c.Env.cl.addresses.Delete(ctx, &computepb.DeleteAddressRequest{Project: c.Env.project, Region: c.Env.loc, Address: c.ID})
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
