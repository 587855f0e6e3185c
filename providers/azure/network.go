package azure

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/network/armnetwork/v9"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/regionctl/regionctl/providers/kit"
)

// groupID is the ARM ID of a resource group.
func groupID(sub, group string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + group
}

// sameID reports an ID read from the cloud the way it was recorded when
// the two name the same object: ARM IDs compare case-insensitively, and a
// differently cased copy must not look like a change.
func sameID(live, recorded string) string {
	if recorded != "" && strings.EqualFold(live, recorded) {
		return recorded
	}
	return live
}

// parseARM parses an ARM ID held by input name.
func parseARM(name, id string) (*arm.ResourceID, error) {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil, fmt.Errorf("input %s = %q is not an Azure resource ID: %w", name, id, err)
	}
	return r, nil
}

// parseID parses a call's ID; nil when it is no ARM ID (it names nothing).
func parseID(id string) *arm.ResourceID {
	r, err := arm.ParseResourceID(id)
	if err != nil {
		return nil
	}
	return r
}

// inUse reports whether Azure refused a call because the object is still
// in use by one that is being deleted (a subnet's NICs, an IP's load
// balancer) or in another operation.
func inUse(err error) bool {
	switch errorCode(err) {
	case "InUseSubnetCannotBeDeleted", "PublicIPAddressInUse", "InUseNetworkSecurityGroupCannotBeDeleted", "AnotherOperationInProgress":
		return true
	}
	return false
}

// retryInUse retries fn while the object is still in use, for at most a
// few minutes (seconds in the sandbox).
func (e *env) retryInUse(ctx context.Context, fn func() error) error {
	limit := 10 * time.Minute
	if e.d.sandbox {
		limit = 5 * time.Second
	}
	b := kit.Backoff{Initial: e.d.pollDefault, Multiplier: 1, Jitter: jitter}
	return kit.Retry{Backoff: b, For: limit, Retryable: inUse}.Do(ctx, fn)
}

// deleteLRO runs a delete and treats "already gone" as done.
func deleteLRO[T any](ctx context.Context, e *env, start func(ctx context.Context) (*runtime.Poller[T], error)) error {
	return e.retryInUse(ctx, func() error {
		_, err := run(ctx, e.d, start)
		if isNotFound(err) {
			return nil
		}
		return err
	})
}

// createOurs is what every create of a tagged object shares after a failed
// PUT: when an object of ours is there (the reply was lost, or our own
// first attempt still runs), it is the result, waited on until its
// provisioning state settles; anything else fails the create.
func createOurs[T any](ctx context.Context, e *env, what string, putErr error, get func() (obj *T, ours bool, state *string, id string, err error)) (string, error) {
	obj, ours, state, id, gerr := get()
	if gerr != nil || obj == nil || !ours {
		return "", putErr
	}
	if !conflictInProgress(putErr) {
		// Only ARM's own Failed state taints it; any other error leaves it
		// for the next refresh to read.
		return id, markFailed(state, putErr)
	}
	return id, settleState(ctx, e.d, what, func() (*string, bool, error) {
		obj, _, st, _, err := get()
		return st, obj != nil, err
	})
}

// nameOut are the outputs of resource groups, virtual networks and subnets.
type nameOut struct {
	ID   string `kit:"id"`
	Name string `kit:"name"`
}

// ---- azure_resource_group ----
//
// A resource group's ID is its ARM ID.

type groupIn struct {
	Location string `kit:"location,replace" why:"ARM cannot move a resource group to another location"`
	Name     string `kit:"name,replace" why:"ARM cannot rename a resource group"`
	// SubscriptionID is set only when the spec names one
	// (spec.overrides.azure.subscriptionId).
	SubscriptionID *string `kit:"subscription_id,omitempty,replace" why:"a resource group lives in one subscription"`
}

type groupCall = call[groupIn, nameOut]

type groupHandler struct{}

func (groupHandler) get(ctx context.Context, e *env, name string) (*armresources.ResourceGroup, error) {
	out, err := e.cl.groups.Get(ctx, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.ResourceGroup, nil
}

func deleting(state *string) bool { return strings.EqualFold(deref(state), "Deleting") }

func (h groupHandler) Find(ctx context.Context, c *groupCall) (string, error) {
	g, err := h.get(ctx, c.Env, c.In.Name)
	if err != nil || g == nil || !matchTags(c.Meta, g.Tags) || g.Properties != nil && deleting(g.Properties.ProvisioningState) {
		return "", err
	}
	return deref(g.ID), nil
}

func (h groupHandler) Create(ctx context.Context, c *groupCall) (string, error) {
	name := c.In.Name
	g, err := h.get(ctx, c.Env, name)
	if err != nil {
		return "", err
	}
	if g != nil && !matchTags(c.Meta, g.Tags) {
		return "", notOurs("resource group", name, g.Tags)
	}
	if g != nil {
		return deref(g.ID), nil
	}
	out, err := c.Env.cl.groups.CreateOrUpdate(ctx, name, armresources.ResourceGroup{Location: to(c.In.Location), Tags: tags(c.Meta)}, nil)
	if err != nil {
		return "", err
	}
	return deref(out.ID), nil
}

func (h groupHandler) Read(ctx context.Context, c *groupCall) (*kit.Live[groupIn, nameOut], error) {
	rid := parseID(c.ID)
	if rid == nil {
		return nil, nil
	}
	g, err := h.get(ctx, c.Env, rid.ResourceGroupName)
	if err != nil || g == nil {
		return nil, err
	}
	return h.live(c, rid, g), nil
}

func (groupHandler) live(c *groupCall, rid *arm.ResourceID, g *armresources.ResourceGroup) *kit.Live[groupIn, nameOut] {
	in := groupIn{Location: normLocation(deref(g.Location)), Name: deref(g.Name)}
	if deref(c.Prev.SubscriptionID) != "" {
		in.SubscriptionID = to(rid.SubscriptionID)
	}
	return c.Found(in, nameOut{ID: deref(g.ID), Name: deref(g.Name)})
}

// Delete refuses to delete a group that still holds a virtual network, a
// public IP or an AKS cluster: deleting a resource group deletes
// everything in it, and regionctl deletes its own objects first, so what
// is left is someone else's (or a leak worth looking at).
func (groupHandler) Delete(ctx context.Context, c *groupCall) error {
	rid := parseID(c.ID)
	if rid == nil {
		return nil
	}
	name := rid.ResourceGroupName
	left, err := c.Env.groupContents(ctx, name)
	if isNotFound(err) && errorCode(err) == "ResourceGroupNotFound" {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list what resource group %s still holds: %w", name, err)
	}
	if len(left) > 0 {
		slices.Sort(left)
		return fmt.Errorf("resource group %s still holds %s; deleting the group would delete them too, so move or delete them first",
			name, strings.Join(left, ", "))
	}
	return deleteLRO(ctx, c.Env, func(ctx context.Context) (*runtime.Poller[armresources.ResourceGroupsClientDeleteResponse], error) {
		return c.Env.cl.groups.BeginDelete(ctx, name, nil)
	})
}

// groupContents lists the virtual networks, public IPs and AKS clusters in
// a resource group, as "type name".
func (e *env) groupContents(ctx context.Context, group string) ([]string, error) {
	var out []string
	vnets := e.cl.vnets.NewListPager(group, nil)
	for vnets.More() {
		page, err := vnets.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Value {
			out = append(out, "virtual network "+deref(v.Name))
		}
	}
	pips := e.cl.pips.NewListPager(group, nil)
	for pips.More() {
		page, err := pips.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Value {
			out = append(out, "public IP "+deref(p.Name))
		}
	}
	clusters := e.cl.clusters.NewListByResourceGroupPager(group, nil)
	for clusters.More() {
		page, err := clusters.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Value {
			out = append(out, "AKS cluster "+deref(m.Name))
		}
	}
	return out, nil
}

// ---- azure_virtual_network ----

type vnetIn struct {
	ResourceGroupID string   `kit:"resource_group_id,replace" why:"a virtual network lives in one resource group"`
	Location        string   `kit:"location,replace" why:"a virtual network lives in one location"`
	Name            string   `kit:"name,replace" why:"ARM cannot rename a virtual network"`
	AddressSpace    []string `kit:"address_space,replace,set" why:"regionctl never PUTs an existing network again (a PUT without its subnets would delete them)"`
}

type vnetCall = call[vnetIn, nameOut]

type vnetHandler struct{}

func (vnetHandler) get(ctx context.Context, e *env, group, name string) (*armnetwork.VirtualNetwork, error) {
	out, err := e.cl.vnets.Get(ctx, group, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.VirtualNetwork, nil
}

func (h vnetHandler) Find(ctx context.Context, c *vnetCall) (string, error) {
	rg := parseID(c.In.ResourceGroupID)
	if rg == nil {
		return "", nil
	}
	v, err := h.get(ctx, c.Env, rg.ResourceGroupName, c.In.Name)
	if err != nil || v == nil || !matchTags(c.Meta, v.Tags) {
		return "", err
	}
	return deref(v.ID), nil
}

func (h vnetHandler) Create(ctx context.Context, c *vnetCall) (string, error) {
	rg, err := parseARM("resource_group_id", c.In.ResourceGroupID)
	if err != nil {
		return "", err
	}
	group, name := rg.ResourceGroupName, c.In.Name
	v, err := h.get(ctx, c.Env, group, name)
	if err != nil {
		return "", err
	}
	if v != nil && !matchTags(c.Meta, v.Tags) {
		return "", notOurs("virtual network", name, v.Tags)
	}
	if v != nil {
		// Never PUT an existing network again: a PUT without its subnets
		// would delete them.
		return deref(v.ID), nil
	}
	out, err := run(ctx, c.Env.d, func(ctx context.Context) (*runtime.Poller[armnetwork.VirtualNetworksClientCreateOrUpdateResponse], error) {
		return c.Env.cl.vnets.BeginCreateOrUpdate(ctx, group, name, armnetwork.VirtualNetwork{
			Location: to(c.In.Location), Tags: tags(c.Meta),
			Properties: &armnetwork.VirtualNetworkPropertiesFormat{
				AddressSpace: &armnetwork.AddressSpace{AddressPrefixes: ptrList(c.In.AddressSpace)},
			},
		}, nil)
	})
	if err != nil {
		return createOurs(ctx, c.Env, "virtual network "+name, err, func() (*armnetwork.VirtualNetwork, bool, *string, string, error) {
			v, err := h.get(ctx, c.Env, group, name)
			if v == nil || err != nil {
				return nil, false, nil, "", err
			}
			var st *string
			if v.Properties != nil {
				st = (*string)(v.Properties.ProvisioningState)
			}
			return v, matchTags(c.Meta, v.Tags), st, deref(v.ID), nil
		})
	}
	return deref(out.ID), nil
}

func (h vnetHandler) Read(ctx context.Context, c *vnetCall) (*kit.Live[vnetIn, nameOut], error) {
	rid := parseID(c.ID)
	if rid == nil {
		return nil, nil
	}
	v, err := h.get(ctx, c.Env, rid.ResourceGroupName, rid.Name)
	if err != nil || v == nil {
		return nil, err
	}
	return h.live(c, rid, v), nil
}

func (vnetHandler) live(c *vnetCall, rid *arm.ResourceID, v *armnetwork.VirtualNetwork) *kit.Live[vnetIn, nameOut] {
	in := vnetIn{
		ResourceGroupID: sameID(groupID(rid.SubscriptionID, rid.ResourceGroupName), c.Prev.ResourceGroupID),
		Location:        normLocation(deref(v.Location)), Name: deref(v.Name),
	}
	if v.Properties != nil && v.Properties.AddressSpace != nil {
		in.AddressSpace = fromPtrList(v.Properties.AddressSpace.AddressPrefixes)
	}
	return c.Found(in, nameOut{ID: deref(v.ID), Name: deref(v.Name)})
}

func (vnetHandler) Delete(ctx context.Context, c *vnetCall) error {
	rid := parseID(c.ID)
	if rid == nil {
		return nil
	}
	return deleteLRO(ctx, c.Env, func(ctx context.Context) (*runtime.Poller[armnetwork.VirtualNetworksClientDeleteResponse], error) {
		return c.Env.cl.vnets.BeginDelete(ctx, rid.ResourceGroupName, rid.Name, nil)
	})
}

// ---- azure_subnet ----
//
// Subnets take no tags; Find and an interrupted create adopt the subnet
// of the wanted name in the (regionctl-made) virtual network.

type subnetIn struct {
	VirtualNetworkID string `kit:"virtual_network_id,replace" why:"a subnet belongs to one virtual network"`
	Name             string `kit:"name,replace" why:"ARM cannot rename a subnet"`
	CIDR             string `kit:"cidr,replace" why:"AKS nodes use the subnet; regionctl never resizes it in place"`
}

type subnetCall = call[subnetIn, nameOut]

type subnetHandler struct{}

func (subnetHandler) get(ctx context.Context, e *env, group, vnet, name string) (*armnetwork.Subnet, error) {
	out, err := e.cl.subnets.Get(ctx, group, vnet, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.Subnet, nil
}

func subnetCIDR(s *armnetwork.Subnet) string {
	if s.Properties == nil {
		return ""
	}
	if s.Properties.AddressPrefix != nil {
		return *s.Properties.AddressPrefix
	}
	if len(s.Properties.AddressPrefixes) > 0 {
		return deref(s.Properties.AddressPrefixes[0])
	}
	return ""
}

func (h subnetHandler) Find(ctx context.Context, c *subnetCall) (string, error) {
	vn := parseID(c.In.VirtualNetworkID)
	if vn == nil {
		return "", nil
	}
	s, err := h.get(ctx, c.Env, vn.ResourceGroupName, vn.Name, c.In.Name)
	if err != nil || s == nil {
		return "", err
	}
	return deref(s.ID), nil
}

func (h subnetHandler) Create(ctx context.Context, c *subnetCall) (string, error) {
	vn, err := parseARM("virtual_network_id", c.In.VirtualNetworkID)
	if err != nil {
		return "", err
	}
	group, vnet, name, cidr := vn.ResourceGroupName, vn.Name, c.In.Name, c.In.CIDR
	s, err := h.get(ctx, c.Env, group, vnet, name)
	if err != nil {
		return "", err
	}
	if s != nil {
		if got := subnetCIDR(s); got != cidr {
			return "", fmt.Errorf("subnet %s of %s already exists with CIDR %s, not %s", name, vnet, got, cidr)
		}
		return deref(s.ID), nil
	}
	out, err := run(ctx, c.Env.d, func(ctx context.Context) (*runtime.Poller[armnetwork.SubnetsClientCreateOrUpdateResponse], error) {
		return c.Env.cl.subnets.BeginCreateOrUpdate(ctx, group, vnet, name, armnetwork.Subnet{
			Properties: &armnetwork.SubnetPropertiesFormat{AddressPrefix: to(cidr)},
		}, nil)
	})
	if err != nil {
		return createOurs(ctx, c.Env, "subnet "+name, err, func() (*armnetwork.Subnet, bool, *string, string, error) {
			s, err := h.get(ctx, c.Env, group, vnet, name)
			if s == nil || err != nil {
				return nil, false, nil, "", err
			}
			var st *string
			if s.Properties != nil {
				st = (*string)(s.Properties.ProvisioningState)
			}
			return s, true, st, deref(s.ID), nil
		})
	}
	return deref(out.ID), nil
}

func (h subnetHandler) Read(ctx context.Context, c *subnetCall) (*kit.Live[subnetIn, nameOut], error) {
	rid := parseID(c.ID)
	if rid == nil || rid.Parent == nil {
		return nil, nil
	}
	s, err := h.get(ctx, c.Env, rid.ResourceGroupName, rid.Parent.Name, rid.Name)
	if err != nil || s == nil {
		return nil, err
	}
	return h.live(c, rid, s), nil
}

func (subnetHandler) live(c *subnetCall, rid *arm.ResourceID, s *armnetwork.Subnet) *kit.Live[subnetIn, nameOut] {
	in := subnetIn{VirtualNetworkID: sameID(rid.Parent.String(), c.Prev.VirtualNetworkID), Name: deref(s.Name), CIDR: subnetCIDR(s)}
	return c.Found(in, nameOut{ID: deref(s.ID), Name: deref(s.Name)})
}

func (subnetHandler) Delete(ctx context.Context, c *subnetCall) error {
	rid := parseID(c.ID)
	if rid == nil || rid.Parent == nil {
		return nil
	}
	return deleteLRO(ctx, c.Env, func(ctx context.Context) (*runtime.Poller[armnetwork.SubnetsClientDeleteResponse], error) {
		return c.Env.cl.subnets.BeginDelete(ctx, rid.ResourceGroupName, rid.Parent.Name, rid.Name, nil)
	})
}

// ---- azure_public_ip ----

type pipIn struct {
	ResourceGroupID string   `kit:"resource_group_id,replace" why:"a public IP lives in one resource group"`
	Location        string   `kit:"location,replace" why:"a public IP lives in one location"`
	Name            string   `kit:"name,replace" why:"ARM cannot rename a public IP"`
	SKU             *string  `kit:"sku,omitempty,replace" why:"regionctl never changes a public IP's SKU in place"`
	Allocation      *string  `kit:"allocation,omitempty,replace" why:"regionctl never changes a static IP to dynamic"`
	Zones           []string `kit:"zones,replace,set" why:"Azure cannot move a public IP to other zones"`
}

type pipOut struct {
	ID        string  `kit:"id"`
	Name      string  `kit:"name"`
	IPAddress *string `kit:"ip_address,omitempty"`
}

type pipCall = call[pipIn, pipOut]

type pipHandler struct{}

func (pipHandler) get(ctx context.Context, e *env, group, name string) (*armnetwork.PublicIPAddress, error) {
	out, err := e.cl.pips.Get(ctx, group, name, nil)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &out.PublicIPAddress, nil
}

func (h pipHandler) Find(ctx context.Context, c *pipCall) (string, error) {
	rg := parseID(c.In.ResourceGroupID)
	if rg == nil {
		return "", nil
	}
	p, err := h.get(ctx, c.Env, rg.ResourceGroupName, c.In.Name)
	if err != nil || p == nil || !matchTags(c.Meta, p.Tags) {
		return "", err
	}
	return deref(p.ID), nil
}

func (h pipHandler) Create(ctx context.Context, c *pipCall) (string, error) {
	rg, err := parseARM("resource_group_id", c.In.ResourceGroupID)
	if err != nil {
		return "", err
	}
	group, name := rg.ResourceGroupName, c.In.Name
	p, err := h.get(ctx, c.Env, group, name)
	if err != nil {
		return "", err
	}
	if p != nil && !matchTags(c.Meta, p.Tags) {
		return "", notOurs("public IP address", name, p.Tags)
	}
	if p != nil {
		return deref(p.ID), nil
	}
	out, err := run(ctx, c.Env.d, func(ctx context.Context) (*runtime.Poller[armnetwork.PublicIPAddressesClientCreateOrUpdateResponse], error) {
		return c.Env.cl.pips.BeginCreateOrUpdate(ctx, group, name, armnetwork.PublicIPAddress{
			Location: to(c.In.Location), Tags: tags(c.Meta),
			SKU:   &armnetwork.PublicIPAddressSKU{Name: to(armnetwork.PublicIPAddressSKUName(deref(c.In.SKU))), Tier: to(armnetwork.PublicIPAddressSKUTierRegional)},
			Zones: ptrList(c.In.Zones),
			Properties: &armnetwork.PublicIPAddressPropertiesFormat{
				PublicIPAllocationMethod: to(armnetwork.IPAllocationMethod(deref(c.In.Allocation))),
				PublicIPAddressVersion:   to(armnetwork.IPVersionIPv4),
			},
		}, nil)
	})
	if err != nil {
		return createOurs(ctx, c.Env, "public IP address "+name, err, func() (*armnetwork.PublicIPAddress, bool, *string, string, error) {
			p, err := h.get(ctx, c.Env, group, name)
			if p == nil || err != nil {
				return nil, false, nil, "", err
			}
			var st *string
			if p.Properties != nil {
				st = (*string)(p.Properties.ProvisioningState)
			}
			return p, matchTags(c.Meta, p.Tags), st, deref(p.ID), nil
		})
	}
	return deref(out.ID), nil
}

func (h pipHandler) Read(ctx context.Context, c *pipCall) (*kit.Live[pipIn, pipOut], error) {
	rid := parseID(c.ID)
	if rid == nil {
		return nil, nil
	}
	p, err := h.get(ctx, c.Env, rid.ResourceGroupName, rid.Name)
	if err != nil || p == nil {
		return nil, err
	}
	return h.live(c, rid, p), nil
}

func (pipHandler) live(c *pipCall, rid *arm.ResourceID, p *armnetwork.PublicIPAddress) *kit.Live[pipIn, pipOut] {
	in := pipIn{
		ResourceGroupID: sameID(groupID(rid.SubscriptionID, rid.ResourceGroupName), c.Prev.ResourceGroupID),
		Location:        normLocation(deref(p.Location)), Name: deref(p.Name), Zones: fromPtrList(p.Zones),
	}
	if p.SKU != nil {
		in.SKU = to(string(deref(p.SKU.Name)))
	}
	out := pipOut{ID: deref(p.ID), Name: deref(p.Name)}
	if p.Properties != nil {
		in.Allocation = to(string(deref(p.Properties.PublicIPAllocationMethod)))
		out.IPAddress = to(deref(p.Properties.IPAddress))
	}
	return c.Found(in, out)
}

func (pipHandler) Delete(ctx context.Context, c *pipCall) error {
	rid := parseID(c.ID)
	if rid == nil {
		return nil
	}
	return deleteLRO(ctx, c.Env, func(ctx context.Context) (*runtime.Poller[armnetwork.PublicIPAddressesClientDeleteResponse], error) {
		return c.Env.cl.pips.BeginDelete(ctx, rid.ResourceGroupName, rid.Name, nil)
	})
}
